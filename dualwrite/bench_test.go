package dualwrite

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/zk2kraft/zk2kraft/testenv"
)

// churnParallel makes n changes at rate changes/s in total (rate <= 0: as
// fast as it can) with one churner writing on sessions sessions (the
// fixture's and sessions-1 more), its own topic prefix per call.
func (f *fixture) churnParallel(ctx context.Context, tb testing.TB, sessions, n int, rate float64) int {
	f.churnRuns++
	c := newChurner(f.conn, f.chroot, uint64(100+f.churnRuns), f.snap)
	c.prefix = fmt.Sprint(f.churnRuns)
	for s := 1; s < sessions; s++ {
		conn, err := f.env.Dial(ctx)
		if err != nil {
			tb.Fatal(err)
		}
		defer conn.Close()
		c.conns = append(c.conns, conn)
	}
	done, err := c.run(ctx, n, rate)
	if err != nil {
		tb.Errorf("churn: %v", err)
	}
	tb.Logf("churn: %d changes %v", done, c.Ops())
	sort.Slice(c.lat, func(i, j int) bool { return c.lat[i] < c.lat[j] })
	if len(c.lat) > 0 {
		tb.Logf("churn latency p50 %s p99 %s max %s; generator blocked %s", c.lat[len(c.lat)/2], c.lat[len(c.lat)*99/100], c.lat[len(c.lat)-1], c.blocked)
	}
	return done
}

// BenchmarkMirrorLag: 1,000 changes/s of mixed kinds on a 3-node ensemble
// and a 3-node quorum for 10 s; lag is from the znode's mtime (the ZooKeeper
// write) to the quorum commit of its records. ZK2KRAFT_MIRROR_RATE=N sets
// another rate (to see how the lag grows with the load on the 2 cores).
func BenchmarkMirrorLag(b *testing.B) {
	rate := 1000.0
	if v := os.Getenv("ZK2KRAFT_MIRROR_RATE"); v != "" {
		r, err := strconv.ParseFloat(v, 64)
		if err != nil || r <= 0 {
			b.Fatalf("ZK2KRAFT_MIRROR_RATE=%q: want changes per second", v)
		}
		rate = r
	}
	f := newFixture(b, testenv.SeedSpec{Preset: "small"})
	r := f.startMirror(Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	f.churnParallel(ctx, b, 4, int(15*rate), rate) // warm-up (15 s: ZooKeeper's JIT settles)
	if err := r.m.WaitPosition(ctx, f.zkZxid()); err != nil {
		b.Fatal(err)
	}
	r.m.ResetLag()
	before := r.m.Stats()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		n := f.churnParallel(ctx, b, 4, int(10*rate), rate)
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
	f, r, ctx := benchMirrorCaughtUp(b)
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
		n := f.churnParallel(ctx, b, 4, 20000, 0)
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

// BenchmarkMirrorCatchUpRestart: the mirror is stopped while the cluster
// makes 20,000 changes; a new mirror walks the tree and writes the
// difference. How fast it drains the queued changes (from its start until
// its position covers ZooKeeper's newest zxid).
func BenchmarkMirrorCatchUpRestart(b *testing.B) {
	f, r, ctx := benchMirrorCaughtUp(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := r.stop(); err != nil {
			b.Fatal(err)
		}
		n := f.churnParallel(ctx, b, 4, 20000, 0)
		target := f.zkZxid()
		start := time.Now()
		r = f.startMirror(Options{})
		if err := r.m.WaitPosition(ctx, target); err != nil {
			b.Fatal(err)
		}
		d := time.Since(start)
		s := r.m.Stats()
		b.ReportMetric(float64(n)/d.Seconds(), "queued-changes/s")
		b.ReportMetric(d.Seconds()*1000, "catch-up-ms")
		b.Logf("%d changes made while the mirror was stopped, caught up in %s; stats %+v", n, d.Round(time.Millisecond), s)
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

// BenchmarkChurn: how many changes/s the churn generator makes on the
// 3-node ensemble with no mirror running (what the lag benchmark can ask for).
func BenchmarkChurn(b *testing.B) {
	f := newFixture(b, testenv.SeedSpec{Preset: "small"})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		n := f.churnParallel(ctx, b, 4, 10000, 0)
		d := time.Since(start)
		b.ReportMetric(float64(n)/d.Seconds(), "changes/s")
	}
}

// benchMirrorCaughtUp starts a fixture with the small seed and a mirror,
// and waits until the mirror has caught up with ZooKeeper; ctx bounds the
// benchmark (5 minutes).
func benchMirrorCaughtUp(b *testing.B) (*fixture, *running, context.Context) {
	f := newFixture(b, testenv.SeedSpec{Preset: "small"})
	r := f.startMirror(Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	b.Cleanup(cancel)
	if err := r.m.WaitPosition(ctx, f.zkZxid()); err != nil {
		b.Fatal(err)
	}
	return f, r, ctx
}
