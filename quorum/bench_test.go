package quorum_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/zk2kraft/zk2kraft/internal/hugepages"
	"github.com/zk2kraft/zk2kraft/kafka"
	"github.com/zk2kraft/zk2kraft/quorum"
	"github.com/zk2kraft/zk2kraft/quorum/client"
	"github.com/zk2kraft/zk2kraft/quorum/quorumtest"
	"github.com/zk2kraft/zk2kraft/translate/records"
)

// benchBatches pre-encodes count batches of size records each: a batch of 1
// is a topic config change (what the mirror appends), a larger batch creates
// topics of up to 1,000 partitions (what the copy phase appends).
func benchBatches(b *testing.B, prefix string, size, count int) [][]byte {
	b.Helper()
	out := make([][]byte, 0, count)
	for i := 0; i < count; i++ {
		var recs []records.Versioned
		if size == 1 {
			v := fmt.Sprint(i)
			recs = []records.Versioned{{Record: &records.ConfigRecord{ResourceType: 2, ResourceName: "bench", Name: "retention.ms", Value: &v}}}
		} else {
			for t := 0; len(recs) < size; t++ {
				name := fmt.Sprintf("%s-%d-%d", prefix, i, t)
				id := kafka.DerivedUUID(name)
				recs = append(recs, records.Versioned{Record: &records.TopicRecord{Name: name, TopicId: id}})
				for p := 0; p < 999 && len(recs) < size; p++ {
					recs = append(recs, records.Versioned{Record: &records.PartitionRecord{
						PartitionId: int32(p), TopicId: id, Replicas: []int32{1, 2, 3}, Isr: []int32{1, 2, 3}, Leader: int32(1 + p%3),
					}, Version: mv.PartitionRecordVersion()})
				}
			}
		}
		enc, err := quorum.EncodeBatch(recs, 0, 0, time.Now().UnixMilli())
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, enc)
	}
	return out
}

func benchCluster(b *testing.B) (*quorum.LocalCluster, *client.Client) {
	b.Helper()
	hugepages.AdviseHeap(4 << 30) // as zk2kraft quorum run does (ZK2KRAFT_HUGEPAGES=off: not)
	lc, c := quorumtest.Start(b, 3, "", "MkU3OEVBNTcwNTJENDM2Qg", func(c *quorum.Config) {
		c.Logger = testLogger()
		c.SnapshotThreshold = 1 << 30
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.Append(ctx, featureRecords(), nil, client.AppendOptions{}); err != nil {
		b.Fatal(err)
	}
	return lc, c
}

// BenchmarkCommit: committed records/s and commit latency (append sent to
// the reply that the batch is committed and applied on the leader) on a
// 3-node loopback quorum, with 1 append in flight (latency) and with 4
// (throughput).
func BenchmarkCommit(b *testing.B) {
	for _, tc := range []struct {
		size, count, inflight int
	}{
		{1, 1000, 1},
		{100, 500, 1},
		{10000, 50, 1},
		{10000, 60, 4},
	} {
		b.Run(fmt.Sprintf("batch=%d/inflight=%d", tc.size, tc.inflight), func(b *testing.B) {
			lc, c := benchCluster(b)
			batches := benchBatches(b, "bench", tc.size, tc.count)
			b.ResetTimer()
			for n := 0; n < b.N; n++ {
				lat := make([]time.Duration, len(batches))
				var wg sync.WaitGroup
				next := make(chan int)
				term0 := lc.Node(lc.Leader()).Status().Term
				start := time.Now()
				cpu0 := cpuTime()
				var failed error
				var mu sync.Mutex
				for w := 0; w < tc.inflight; w++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for i := range next {
							t0 := time.Now()
							ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
							_, err := c.AppendBatch(ctx, batches[i], nil, client.AppendOptions{})
							cancel()
							lat[i] = time.Since(t0)
							if err != nil {
								mu.Lock()
								failed = err
								mu.Unlock()
							}
						}
					}()
				}
				for i := range batches {
					next <- i
				}
				close(next)
				wg.Wait()
				elapsed := time.Since(start)
				cpu := cpuTime() - cpu0
				if failed != nil {
					b.Fatal(failed)
				}
				slices.Sort(lat)
				recs := float64(tc.size * len(batches))
				b.ReportMetric(recs/elapsed.Seconds(), "records/s")
				b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
				b.ReportMetric(cpu.Seconds()*1e6/recs, "cpu-µs/record")
				if l := lc.Leader(); l >= 0 {
					b.ReportMetric(float64(lc.Node(l).Status().Term-term0), "elections")
				}
			}
		})
	}
}

// cpuTime is the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkFailover: time from killing the leader to the first append that a
// new leader commits, with a client appending all along.
func BenchmarkFailover(b *testing.B) {
	lc, c := benchCluster(b)
	batch := benchBatches(b, "failover", 1, 1)[0]
	var times []time.Duration
	for round := 0; round < 3; round++ {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if _, err := c.AppendBatch(ctx, batch, nil, client.AppendOptions{}); err != nil {
			b.Fatal(err)
		}
		old := lc.Leader()
		t0 := time.Now()
		if err := lc.Kill(old); err != nil {
			b.Fatal(err)
		}
		if _, err := c.AppendBatch(ctx, batch, nil, client.AppendOptions{}); err != nil {
			b.Fatal(err)
		}
		times = append(times, time.Since(t0))
		if err := lc.Restart(ctx, old); err != nil {
			b.Fatal(err)
		}
		cancel()
		time.Sleep(500 * time.Millisecond) // let the restarted node catch up
	}
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)/2].Milliseconds()), "failover-p50-ms")
	b.ReportMetric(float64(times[len(times)-1].Milliseconds()), "failover-max-ms")
}

// BenchmarkMachineApply: one node's state machine applying 10,000-record
// batches (decode + image), the part of a commit every node repeats; a
// steadier figure than BenchmarkCommit on a busy machine.
func BenchmarkMachineApply(b *testing.B) {
	batches := benchBatches(b, "apply", 10000, 20)
	features, err := quorum.EncodeBatch(featureRecords(), 0, 0, 1)
	if err != nil {
		b.Fatal(err)
	}
	var m quorum.Machine
	next := len(batches)
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		if next == len(batches) {
			b.StopTimer()
			m = quorum.NewMetadataMachine()
			if _, err := m.ApplyBatch(features, 0, 1); err != nil {
				b.Fatal(err)
			}
			next = 0
			b.StartTimer()
		}
		if _, err := m.ApplyBatch(batches[next], 1, 1); err != nil {
			b.Fatal(err)
		}
		next++
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*10000), "ns/record")
}
