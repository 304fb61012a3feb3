package checkpoint

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/zk2kraft/zk2kraft/kafka"
	"github.com/zk2kraft/zk2kraft/translate/records"
)

// BenchmarkCheckpoint1MPartitions writes and reads back a snapshot of one
// million PartitionRecords (RF 3, 1000 topics): records/s both ways on one
// core and the file's bytes per partition.
func BenchmarkCheckpoint1MPartitions(b *testing.B) {
	const topics, perTopic = 1000, 1000
	recs := make([]records.Versioned, 0, topics*(perTopic+1))
	parts := make([]records.PartitionRecord, topics*perTopic)
	for t := 0; t < topics; t++ {
		id := kafka.DerivedUUID("bench", string(rune(t)))
		recs = append(recs, records.Versioned{Record: &records.TopicRecord{Name: "topic", TopicId: id}, Version: 0})
		for p := 0; p < perTopic; p++ {
			r := &parts[t*perTopic+p]
			*r = records.PartitionRecord{PartitionId: int32(p), TopicId: id, Replicas: []int32{1, 2, 3}, Isr: []int32{1, 2, 3},
				Leader: 1, LeaderEpoch: 0, PartitionEpoch: 0}
			recs = append(recs, records.Versioned{Record: r, Version: 0})
		}
	}
	path := filepath.Join(b.TempDir(), FileName(SnapshotID{EndOffset: int64(len(recs)), Epoch: 1}))
	b.ResetTimer()
	var writeSec, readSec float64
	var size int64
	for i := 0; i < b.N; i++ {
		start := b.Elapsed()
		if err := WriteFile(context.Background(), path, 1, recs, Options{AppendTimeMs: 1}); err != nil {
			b.Fatal(err)
		}
		mid := b.Elapsed()
		s, err := Read(path)
		if err != nil || len(s.Records) != len(recs) {
			b.Fatalf("read: %v", err)
		}
		writeSec += (mid - start).Seconds()
		readSec += (b.Elapsed() - mid).Seconds()
		st, _ := os.Stat(path)
		size = st.Size()
	}
	b.ReportMetric(float64(len(recs)*b.N)/writeSec, "write-records/s")
	b.ReportMetric(float64(len(recs)*b.N)/readSec, "read-records/s")
	b.ReportMetric(float64(size)/float64(topics*perTopic), "file-bytes/partition")
}
