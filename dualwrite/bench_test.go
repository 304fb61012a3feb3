package dualwrite

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zk2kraft/zk2kraft/testenv"
)

// churnParallel runs workers churners (each on its own session, own topic
// prefix) making n changes in total at rate changes/s in total.
func (f *fixture) churnParallel(ctx context.Context, tb testing.TB, workers, n int, rate float64) int {
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	for w := 0; w < workers; w++ {
		conn := f.conn
		if w > 0 {
			c, err := f.env.Dial(ctx)
			if err != nil {
				tb.Fatal(err)
			}
			defer c.Close()
			conn = c
		}
		wg.Add(1)
		go func(w int, conn *zk.Conn) {
			defer wg.Done()
			c := newChurner(conn, f.chroot, uint64(100+w), f.snap)
			c.prefix = fmt.Sprint(w)
			done, err := c.run(ctx, n/workers, rate/float64(workers))
			if err != nil {
				tb.Errorf("churn: %v", err)
			}
			mu.Lock()
			total += done
			mu.Unlock()
		}(w, conn)
	}
	wg.Wait()
	return total
}

// BenchmarkMirrorLag: 1,000 changes/s of mixed kinds on a 3-node ensemble
// and a 3-node quorum for 10 s; lag is from the znode's mtime (the ZooKeeper
// write) to the quorum commit of its records.
func BenchmarkMirrorLag(b *testing.B) {
	f := newFixture(b, testenv.SeedSpec{Preset: "small"})
	r := f.startMirror(Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	f.churnParallel(ctx, b, 8, 1000, 1000) // warm-up
	if err := r.m.WaitPosition(ctx, f.zkZxid()); err != nil {
		b.Fatal(err)
	}
	r.m.ResetLag()
	before := r.m.Stats()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		n := f.churnParallel(ctx, b, 8, 10000, 1000)
		churnTime := time.Since(start)
		if err := r.m.WaitPosition(ctx, f.zkZxid()); err != nil {
			b.Fatal(err)
		}
		total := time.Since(start)
		s := r.m.Stats()
		b.ReportMetric(float64(n)/churnTime.Seconds(), "changes/s")
		b.ReportMetric(float64(s.Applied-before.Applied)/total.Seconds(), "applied/s")
		b.ReportMetric(float64(s.LagP50.Microseconds())/1000, "lag-p50-ms")
		b.ReportMetric(float64(s.LagP99.Microseconds())/1000, "lag-p99-ms")
		b.ReportMetric(float64(s.LagMax.Microseconds())/1000, "lag-max-ms")
		b.ReportMetric(float64(s.EventP50.Microseconds())/1000, "event-lag-p50-ms")
		b.ReportMetric(float64(s.EventP99.Microseconds())/1000, "event-lag-p99-ms")
		b.ReportMetric(float64(s.CommitP50.Microseconds())/1000, "commit-p50-ms")
		b.ReportMetric(float64(s.ReadP50.Microseconds())/1000, "reread-p50-ms")
		b.ReportMetric(float64(s.WaitP50.Microseconds())/1000, "dirty-to-cut-p50-ms")
		b.ReportMetric(float64(s.Batches-before.Batches), "batches")
		b.Logf("changes %d in %s (%.0f/s), caught up after %s; stats %+v", n, churnTime.Round(time.Millisecond), float64(n)/churnTime.Seconds(), total.Round(time.Millisecond), s)
	}
}

// BenchmarkMirrorCatchUp: the quorum loses its majority while the cluster
// makes 20,000 changes; once the quorum is back, how fast the mirror drains
// the queued changes.
func BenchmarkMirrorCatchUp(b *testing.B) {
	f := newFixture(b, testenv.SeedSpec{Preset: "small"})
	r := f.startMirror(Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := r.m.WaitPosition(ctx, f.zkZxid()); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		leader := f.lc.Leader()
		var down []int
		for n := 0; n < 3 && len(down) < 2; n++ {
			if n != leader {
				if err := f.lc.Kill(n); err != nil {
					b.Fatal(err)
				}
				down = append(down, n)
			}
		}
		before := r.m.Stats()
		n := f.churnParallel(ctx, b, 8, 20000, 0)
		seen := r.m.Stats().Seen - before.Seen
		for _, d := range down {
			if err := f.lc.Restart(ctx, d); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := f.lc.WaitLeader(ctx); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if err := r.m.WaitPosition(ctx, f.zkZxid()); err != nil {
			b.Fatal(err)
		}
		d := time.Since(start)
		s := r.m.Stats()
		b.ReportMetric(float64(n)/d.Seconds(), "queued-changes/s")
		b.ReportMetric(float64(seen)/d.Seconds(), "queued-events/s")
		b.ReportMetric(d.Seconds()*1000, "catch-up-ms")
		b.Logf("%d changes (%d watch events) queued during the outage, drained in %s; stats %+v", n, seen, d.Round(time.Millisecond), s)
	}
	b.StopTimer()
	f.compare(ctx)
}

// BenchmarkMirrorStart: a mirror starting on a copied 10,000-partition
// cluster (preset medium) reads the whole tree with watches and compares it
// with the quorum's image; how long until it is caught up.
// MIRROR_BENCH_PRESET=large runs it on 100,000 partitions.
func BenchmarkMirrorStart(b *testing.B) {
	preset := "medium"
	if p := os.Getenv("MIRROR_BENCH_PRESET"); p != "" {
		preset = p
	}
	f := newFixture(b, testenv.SeedSpec{Preset: preset})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		r := f.startMirror(Options{})
		if err := r.m.WaitPosition(ctx, f.zkZxid()); err != nil {
			b.Fatal(err)
		}
		d := time.Since(start)
		s := r.m.Stats()
		b.ReportMetric(d.Seconds()*1000, "start-ms")
		b.ReportMetric(float64(f.snap.ZnodesRead)/d.Seconds(), "znodes/s")
		b.Logf("caught up in %s over %d znodes; %d records written (the copy was complete); stats %+v", d.Round(time.Millisecond), f.snap.ZnodesRead, s.Records, s)
		if err := r.stop(); err != nil {
			b.Fatal(err)
		}
	}
}
