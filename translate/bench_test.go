package translate

import (
	"fmt"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/zk2kraft/zk2kraft/kafka"
	"github.com/zk2kraft/zk2kraft/translate/records"
	"github.com/zk2kraft/zk2kraft/zkreader"
)

// syntheticSnapshot builds topics × partitions with replication factor rf
// over 12 brokers, every partition with a state znode, in memory.
func syntheticSnapshot(topics, partitions, rf int) *zkreader.Snapshot {
	const brokers = 12
	s := &zkreader.Snapshot{TakenAt: time.Unix(1700000000, 0).UTC()}
	for b := int32(1); b <= brokers; b++ {
		s.Brokers = append(s.Brokers, zkreader.Broker{ID: b, Version: 5, Endpoints: []zkreader.Endpoint{{Listener: "PLAINTEXT", SecurityProtocol: "PLAINTEXT", Host: fmt.Sprintf("b%d", b), Port: 9092}}, Stat: zkreader.Stat{Czxid: int64(b)}})
	}
	s.Topics = make([]zkreader.Topic, topics)
	for t := range s.Topics {
		name := fmt.Sprintf("topic-%05d", t)
		id := kafka.DerivedUUID("bench", name)
		ps := make([]zkreader.Partition, partitions)
		reps := make([]int32, partitions*rf)
		for p := range ps {
			r := reps[p*rf : (p+1)*rf : (p+1)*rf]
			for i := range r {
				r[i] = int32((t+p+i)%brokers) + 1
			}
			ps[p] = zkreader.Partition{ID: int32(p), Replicas: r, State: &zkreader.PartitionState{
				Version: 1, Leader: r[0], LeaderEpoch: 3, ControllerEpoch: 7, ISR: r, Stat: zkreader.Stat{Version: 5}}}
		}
		s.Topics[t] = zkreader.Topic{Name: name, Version: 3, TopicID: &id, Partitions: ps}
		if t%10 == 0 {
			s.TopicConfigs = append(s.TopicConfigs, zkreader.EntityConfig{Name: name, Config: map[string]string{"retention.ms": "86400000"}})
		}
	}
	return s
}

// cpuSeconds is the process's user+system CPU time: on a shared machine it
// says more than the wall clock.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkTranslate1M translates 20,000 topics × 50 partitions (RF 3),
// 1,000,000 partitions. Goal: under 5 s.
func BenchmarkTranslate1M(b *testing.B) {
	snap := syntheticSnapshot(20000, 50, 3)
	runtime.GC()
	b.ResetTimer()
	cpu0 := cpuSeconds()
	var res *Result
	var err error
	for i := 0; i < b.N; i++ {
		if res, err = Translate(snap, Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric((cpuSeconds()-cpu0)/float64(b.N), "cpu-s/translation")
	sec := b.Elapsed().Seconds() / float64(b.N)
	n := 0
	for _, bt := range res.Log() {
		n += len(bt)
	}
	b.ReportMetric(sec, "s/translation")
	b.ReportMetric(float64(n)/sec, "records/s")
	b.ReportMetric(1e6/sec, "partitions/s")
	b.ReportMetric(float64(len(res.Batches)), "controller-batches")
}

// BenchmarkTranslateAndEncode1M adds framing every record (what the copy
// writes), on one goroutine.
func BenchmarkTranslateAndEncode1M(b *testing.B) {
	snap := syntheticSnapshot(20000, 50, 3)
	b.ResetTimer()
	var n int
	var bytes int
	for i := 0; i < b.N; i++ {
		res, err := Translate(snap, Options{})
		if err != nil {
			b.Fatal(err)
		}
		var buf []byte
		n, bytes = 0, 0
		for _, bt := range res.Copy() {
			for _, v := range bt {
				if buf, err = records.AppendFrame(buf[:0], v); err != nil {
					b.Fatal(err)
				}
				n++
				bytes += len(buf)
			}
		}
	}
	sec := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(sec, "s/op-total")
	b.ReportMetric(float64(n)/sec, "records/s")
	b.ReportMetric(float64(bytes)/1e6, "MB-framed")
}

// BenchmarkImage1M applies the 1,000,000-partition copy to an image and
// writes it back as checkpoint records; reports the apply rate and the
// image's heap bytes per partition.
func BenchmarkImage1M(b *testing.B) {
	snap := syntheticSnapshot(20000, 50, 3)
	res, err := Translate(snap, Options{})
	if err != nil {
		b.Fatal(err)
	}
	log := res.Log()
	snap = nil
	n := 0
	for _, bt := range log {
		n += len(bt)
	}
	var perPartition float64
	var writeSec float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		before := heapInUse()
		b.StartTimer()
		cpu0 := cpuSeconds()
		im, err := res.Image()
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		b.ReportMetric(float64(n)/(cpuSeconds()-cpu0), "applied-records/cpu-s")
		perPartition = float64(heapInUse()-before) / float64(im.NumPartitions())
		start := time.Now()
		recs := im.Records()
		writeSec = time.Since(start).Seconds()
		if len(recs) < 1_000_000 {
			b.Fatalf("%d records", len(recs))
		}
		runtime.KeepAlive(im)
		b.StartTimer()
	}
	sec := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(float64(n)/sec, "applied-records/s")
	b.ReportMetric(perPartition, "heap-bytes/partition")
	b.ReportMetric(1e6/writeSec, "image-write-partitions/s")
}
