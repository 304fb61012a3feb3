package batch

import (
	"hash/crc32"
	"testing"

	"github.com/zk2kraft/zk2kraft/kafka"
	"github.com/zk2kraft/zk2kraft/translate/records"
)

// BenchmarkBuildBatches measures the whole encode path on one core: framing
// a PartitionRecord-heavy mix (RF 3) and packing it into 8 MiB batches with
// their CRCs. Reports records/s, MB/s and bytes per partition (batch
// overhead included).
func BenchmarkBuildBatches(b *testing.B) {
	const n = 1_000_000
	var mix []records.Versioned
	for t := 0; t < 100; t++ {
		id := kafka.DerivedUUID("bench", string(rune('a'+t)))
		mix = append(mix, records.Versioned{Record: &records.TopicRecord{Name: "topic-" + string(rune('a'+t)), TopicId: id}, Version: 0})
		for p := 0; p < 99; p++ {
			r := records.NewPartitionRecord()
			r.PartitionId, r.TopicId = int32(p), id
			r.Replicas = []int32{int32(p % 9), int32((p + 1) % 9), int32((p + 2) % 9)}
			r.Isr, r.Leader, r.LeaderEpoch, r.PartitionEpoch = r.Replicas, r.Replicas[0], 2, 4
			mix = append(mix, records.Versioned{Record: r, Version: 0})
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	var total int
	for i := 0; i < b.N; i++ {
		bl := NewBuilder(BuilderOptions{AppendTimeMs: 1})
		for j := 0; j < n; j++ {
			if err := bl.Append(mix[j%len(mix)]); err != nil {
				b.Fatal(err)
			}
			if j%65536 == 0 {
				for _, bt := range bl.Take() {
					total += len(bt)
				}
			}
		}
		bl.Flush()
		for _, bt := range bl.Take() {
			total += len(bt)
		}
	}
	sec := b.Elapsed().Seconds()
	b.ReportMetric(float64(n*b.N)/sec, "records/s")
	b.ReportMetric(float64(total)/sec/1e6, "MB/s")
	b.ReportMetric(float64(total)/float64(n*b.N), "bytes/record")
}

// BenchmarkCRC32C measures the batch checksum alone over 8 MiB.
func BenchmarkCRC32C(b *testing.B) {
	buf := make([]byte, 8<<20)
	b.SetBytes(int64(len(buf)))
	for i := 0; i < b.N*20; i++ {
		crc32.Checksum(buf, castagnoli)
	}
	b.ReportMetric(float64(len(buf)*20*b.N)/b.Elapsed().Seconds()/1e6, "MB/s")
}

// BenchmarkBytesPerPartition reports the log bytes one PartitionRecord v0
// (RF 3) costs inside a full batch: its batch record, frame included.
func BenchmarkBytesPerPartition(b *testing.B) {
	r := records.NewPartitionRecord()
	r.PartitionId, r.TopicId = 17, kafka.DerivedUUID("t")
	r.Replicas, r.Isr = []int32{1, 2, 3}, []int32{1, 2, 3}
	r.Leader, r.LeaderEpoch, r.PartitionEpoch = 1, 0, 0
	var size int
	for i := 0; i < b.N; i++ {
		rec, err := DataRecord(records.Versioned{Record: r, Version: 0})
		if err != nil {
			b.Fatal(err)
		}
		size = RecordSize(&rec, 1000)
	}
	b.ReportMetric(float64(size), "bytes/partition")
}
