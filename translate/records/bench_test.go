package records

import (
	"testing"

	"github.com/zk2kraft/zk2kraft/kafka"
)

// benchMix is a PartitionRecord-heavy mix like a translated cluster: per
// topic one TopicRecord, a few ConfigRecords and 30 PartitionRecords (RF 3).
func benchMix() []Versioned {
	var out []Versioned
	for t := 0; t < 100; t++ {
		id := kafka.DerivedUUID("bench", string(rune('a'+t%26)), string(rune(t)))
		out = append(out, Versioned{&TopicRecord{Name: "orders-events-" + string(rune('a'+t%26)), TopicId: id}, 0})
		for c := 0; c < 2; c++ {
			out = append(out, Versioned{&ConfigRecord{ResourceType: 2, ResourceName: "orders", Name: "retention.ms", Value: strp("604800000")}, 0})
		}
		for p := 0; p < 30; p++ {
			r := NewPartitionRecord()
			r.PartitionId, r.TopicId = int32(p), id
			r.Replicas = []int32{int32(p % 7), int32((p + 1) % 7), int32((p + 2) % 7)}
			r.Isr = r.Replicas
			r.Leader, r.LeaderEpoch, r.PartitionEpoch = r.Replicas[0], 3, 5
			out = append(out, Versioned{r, 0})
		}
	}
	return out
}

// BenchmarkEncodeFrames measures framed records encoded per second on one
// core (AppendFrame into a reused buffer).
func BenchmarkEncodeFrames(b *testing.B) {
	mix := benchMix()
	buf := make([]byte, 0, 1<<16)
	for _, v := range mix { // warm up
		buf, _ = AppendFrame(buf[:0], v)
	}
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for i := 0; i < b.N; i++ {
		// Several passes per iteration so that -benchtime 1x measures
		// something.
		for pass := 0; pass < 300; pass++ {
			for _, v := range mix {
				var err error
				buf, err = AppendFrame(buf[:0], v)
				if err != nil {
					b.Fatal(err)
				}
				n++
			}
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkDecodeFrames measures framed records decoded per second.
func BenchmarkDecodeFrames(b *testing.B) {
	var frames [][]byte
	for _, v := range benchMix() {
		f, _ := AppendFrame(nil, v)
		frames = append(frames, f)
	}
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for i := 0; i < b.N; i++ {
		for pass := 0; pass < 100; pass++ {
			for _, f := range frames {
				if _, err := DecodeFrame(f); err != nil {
					b.Fatal(err)
				}
				n++
			}
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkPartitionRecordBytes reports the framed size of one PartitionRecord
// v0 with replication factor 3 (the bytes-per-partition figure, before batch
// overhead).
func BenchmarkPartitionRecordBytes(b *testing.B) {
	r := NewPartitionRecord()
	r.PartitionId, r.TopicId = 17, kafka.DerivedUUID("t")
	r.Replicas, r.Isr = []int32{1, 2, 3}, []int32{1, 2, 3}
	r.RemovingReplicas, r.AddingReplicas = []int32{}, []int32{}
	r.Leader, r.LeaderEpoch, r.PartitionEpoch = 1, 0, 0
	var size int
	for i := 0; i < b.N; i++ {
		f, err := AppendFrame(nil, Versioned{r, 0})
		if err != nil {
			b.Fatal(err)
		}
		size = len(f)
	}
	b.ReportMetric(float64(size), "bytes/partition")
}

// BenchmarkJSONLines measures Kafka-style JSON lines written per second for
// the PartitionRecord-heavy mix.
func BenchmarkJSONLines(b *testing.B) {
	mix := benchMix()
	var buf []byte
	for _, v := range mix { // warm up
		buf, _ = AppendJSONLine(buf[:0], v, JSONOptions{})
	}
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for i := 0; i < b.N; i++ {
		for pass := 0; pass < 30; pass++ {
			for _, v := range mix {
				var err error
				if buf, err = AppendJSONLine(buf[:0], v, JSONOptions{}); err != nil {
					b.Fatal(err)
				}
				n++
			}
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
}
