package datadir_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/zk2kraft/zk2kraft/internal/hugepages"
	"github.com/zk2kraft/zk2kraft/testenv"
	"github.com/zk2kraft/zk2kraft/zkreader"
	"github.com/zk2kraft/zk2kraft/zkreader/datadir"
)

// peak samples the live heap every 5 ms and, on Linux, resets and reads the
// process's peak RSS (VmHWM) around a measured step.
type peak struct {
	stopc chan struct{}
	wg    sync.WaitGroup
	base  uint64
	max   uint64
}

func heapBytes() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func startPeak() *peak {
	runtime.GC()
	os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) // resets VmHWM
	p := &peak{stopc: make(chan struct{}), base: heapBytes()}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			p.max = max(p.max, heapBytes())
			select {
			case <-p.stopc:
				return
			case <-t.C:
			}
		}
	}()
	return p
}

// cpuTime is the process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// stop returns the peak heap growth and the peak RSS (0 if unknown), in bytes.
func (p *peak) stop() (heap, rss uint64) {
	close(p.stopc)
	p.wg.Wait()
	p.max = max(p.max, heapBytes())
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmHWM:" {
				kb, _ := strconv.ParseUint(f[1], 10, 64)
				rss = kb << 10
			}
		}
	}
	return p.max - p.base, rss
}

// fingerprint hashes the JSON of a snapshot's model (Stats and findings
// included; Source, TakenAt and MaxZxid blanked), so two reads can be
// compared without keeping both in memory.
func fingerprint(s *zkreader.Snapshot) [32]byte {
	h := sha256.New()
	json.NewEncoder(h).Encode(stable(s))
	return [32]byte(h.Sum(nil))
}

// benchOfflineVsOnline reads the same tree online (multiRead) and offline
// from the server's data dir, checks they are identical, and reports both.
// The online read's model is dropped before the offline read, so the peak
// RSS measured is the offline read's (plus the test binary's baseline).
func benchOfflineVsOnline(b *testing.B, connect, dataDir, chroot string, partitions int) {
	ctx := context.Background()
	p := startPeak()
	t0 := time.Now()
	online, err := zkreader.Read(ctx, zkreader.Options{Connect: connect + chroot, Mode: zkreader.ModeMultiRead})
	onTook := time.Since(t0)
	onHeap, _ := p.stop()
	if err != nil {
		b.Fatal(err)
	}
	onRead, onPrint := online.ZnodesRead, fingerprint(online)
	online = nil
	var offline *zkreader.Snapshot
	var rep *datadir.Report
	var offTook, offCPU, coldTook time.Duration
	var offHeap, offRSS uint64
	for i := 0; i < 2; i++ { // cold then warm; the warm one is reported
		offline = nil
		debug.FreeOSMemory()
		p = startPeak()
		t0 = time.Now()
		c0 := cpuTime()
		offline, rep, err = datadir.Read(ctx, datadir.Options{DataDir: dataDir, Chroot: chroot})
		offTook, offCPU = time.Since(t0), cpuTime()-c0
		if i == 0 {
			coldTook = offTook
		}
		offHeap, offRSS = p.stop()
		if err != nil {
			b.Fatal(err)
		}
	}
	if fingerprint(offline) != onPrint {
		b.Fatal("offline and online reads differ")
	}
	b.Logf("%d partitions, %d znodes read: online multiRead %v (%.0f znodes/s, peak heap +%.0f MiB); offline %v (the first of two: %v), CPU %v (%.0f znodes/s, peak heap +%.0f MiB, peak RSS %.0f MiB): snapshot %s load %v, %d txns replayed in %v, build %v, tree %d znodes; models identical",
		partitions, onRead, onTook.Round(time.Millisecond), float64(onRead)/onTook.Seconds(), float64(onHeap)/(1<<20),
		offTook.Round(time.Millisecond), coldTook.Round(time.Millisecond), offCPU.Round(time.Millisecond), float64(offline.ZnodesRead)/offTook.Seconds(), float64(offHeap)/(1<<20), float64(offRSS)/(1<<20),
		rep.Snapshot[strings.LastIndexByte(rep.Snapshot, '/')+1:], rep.Load.Round(time.Millisecond), rep.Txns, rep.Replay.Round(time.Millisecond), rep.Build.Round(time.Millisecond), rep.Znodes)
	b.ReportMetric(float64(onRead)/onTook.Seconds(), "online-znodes/s")
	b.ReportMetric(float64(offline.ZnodesRead)/offTook.Seconds(), "znodes/s")
	b.ReportMetric(float64(rep.Znodes)/offTook.Seconds(), "tree-znodes/s")
	b.ReportMetric(offTook.Seconds(), "offline-s")
	b.ReportMetric(coldTook.Seconds(), "offline-first-s")
	b.ReportMetric(offCPU.Seconds(), "offline-cpu-s")
	b.ReportMetric(float64(rep.Znodes)/offCPU.Seconds(), "tree-znodes/cpu-s")
	b.ReportMetric(onTook.Seconds(), "online-s")
	b.ReportMetric(float64(offHeap)/(1<<20), "offline-peak-heap-MiB")
	b.ReportMetric(float64(offRSS)/(1<<20), "peak-RSS-MiB")
}

func countPartitions(s *zkreader.Snapshot) int {
	n := 0
	for _, t := range s.Topics {
		n += len(t.Partitions)
	}
	return n
}

// BenchmarkDataDir seeds 100,000 partitions into a standalone server that
// snapshots every ~1,000 transactions, then reads the tree online
// (multiRead) and offline from the server's data dir in the same run.
func BenchmarkDataDir(b *testing.B) {
	hugepages.AdviseHeap(4 << 30) // first thing, as the zk2kraft command does (ZK2KRAFT_HUGEPAGES=off: not)
	env := testenv.Start(b, testenv.Options{Nodes: 1, SnapCount: 1000, HeapMB: 1024})
	conn := env.Connect(b)
	ctx := context.Background()
	start := time.Now()
	want, err := testenv.Seed(ctx, conn, testenv.SeedSpec{Brokers: 6, Topics: 2000, PartitionsPerTopic: 50, ReplicationFactor: 3, Chroot: "/kafka"})
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded in %v", time.Since(start).Round(time.Second))
	partitions := countPartitions(want)
	want = nil
	for b.Loop() {
		benchOfflineVsOnline(b, env.ConnectString(), env.DataDir(1), "/kafka", partitions)
	}
	if keep := os.Getenv("ZK2KRAFT_BENCH_KEEP_DATADIR"); keep != "" {
		copyDir(b, env.DataDir(1), keep) // for profiling BenchmarkDataDirFiles
	}
}

// BenchmarkDataDirFiles reads the data dir in $ZK2KRAFT_BENCH_DATADIR (e.g.
// one BenchmarkDataDir kept with ZK2KRAFT_BENCH_KEEP_DATADIR); for profiling
// the offline read alone.
func BenchmarkDataDirFiles(b *testing.B) {
	dir := os.Getenv("ZK2KRAFT_BENCH_DATADIR")
	if dir == "" {
		b.Skip("set ZK2KRAFT_BENCH_DATADIR")
	}
	for b.Loop() {
		c0 := cpuTime()
		s, rep, err := datadir.Read(context.Background(), datadir.Options{DataDir: dir, Chroot: os.Getenv("ZK2KRAFT_BENCH_CHROOT")})
		b.ReportMetric((cpuTime() - c0).Seconds(), "cpu-s")
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(s.ZnodesRead), "znodes")
		b.ReportMetric(float64(rep.Znodes), "tree-znodes")
		b.ReportMetric(rep.Load.Seconds(), "load-s")
		b.ReportMetric(rep.Replay.Seconds(), "replay-s")
		b.ReportMetric(rep.Build.Seconds(), "build-s")
	}
}

// BenchmarkScaleDataDir is BenchmarkDataDir at 1,000,000 partitions (~2
// million znodes) on a standalone server with a 4 GiB heap that snapshots
// every ~10,000 transactions. Opt-in (seeding takes minutes): make
// bench-scale, i.e.
//
//	ZK2KRAFT_SCALE=1 go test -run '^$' -bench Scale -benchtime 1x -timeout 90m ./zkreader/datadir
func BenchmarkScaleDataDir(b *testing.B) {
	if os.Getenv("ZK2KRAFT_SCALE") == "" {
		b.Skip("set ZK2KRAFT_SCALE=1 (make bench-scale)")
	}
	hugepages.AdviseHeap(4 << 30) // first thing, as the zk2kraft command does (ZK2KRAFT_HUGEPAGES=off: not)
	env := testenv.Start(b, testenv.Options{Nodes: 1, SnapCount: 10000, HeapMB: 4096, StartTimeout: 2 * time.Minute})
	conn := env.Connect(b)
	ctx := context.Background()
	start := time.Now()
	want, err := testenv.Seed(ctx, conn, testenv.SeedSpec{Brokers: 12, Topics: 20000, PartitionsPerTopic: 50, ReplicationFactor: 3,
		Chroot: "/scale", Concurrency: 32})
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded in %v", time.Since(start).Round(time.Second))
	partitions := countPartitions(want)
	want = nil
	for b.Loop() {
		benchOfflineVsOnline(b, env.ConnectString(), env.DataDir(1), "/scale", partitions)
	}
	if keep := os.Getenv("ZK2KRAFT_BENCH_KEEP_DATADIR"); keep != "" {
		copyDir(b, env.DataDir(1), keep) // for profiling BenchmarkDataDirFiles
	}
}
