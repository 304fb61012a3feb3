package zkreader_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zk2kraft/zk2kraft/testenv"
	"github.com/zk2kraft/zk2kraft/zkreader"
)

// BenchmarkSnapshot seeds one 3-node ensemble with 100,000 partitions
// (testenv preset "large", ~206,000 znodes) and measures, in the same run:
// zkreader with multiRead, zkreader with the pipelined-get fallback, a
// minimal raw pipelined Get loop on go-zookeeper (the fallback's baseline),
// and a peer's full dump of the same tree with Python kazoo's async API.
// Run: make bench, or
//
//	go test -run '^$' -bench Snapshot -benchtime 1x ./zkreader
func BenchmarkSnapshot(b *testing.B) {
	ctx := context.Background()
	env := testenv.Start(b, testenv.Options{Nodes: 3})
	conn := env.Connect(b)
	seedStart := time.Now()
	want, err := testenv.Seed(ctx, conn, testenv.SeedSpec{Preset: "large", Chroot: "/bench", PersistentBrokers: true})
	if err != nil {
		b.Fatal(err)
	}
	partitions := 0
	for _, t := range want.Topics {
		partitions += len(t.Partitions)
	}
	b.Logf("seeded %d topics, %d partitions in %v", len(want.Topics), partitions, time.Since(seedStart).Round(time.Millisecond))
	connect := env.ConnectString() + "/bench"
	var snap *zkreader.Snapshot

	read := func(b *testing.B, mode zkreader.Mode) {
		var got *zkreader.Snapshot
		// a first, cold read: the servers' JIT has not compiled this path yet
		coldStart := time.Now()
		cold, err := zkreader.Read(ctx, zkreader.Options{Connect: connect, Mode: mode})
		if err != nil {
			b.Fatal(err)
		}
		coldTook := time.Since(coldStart)
		b.ReportMetric(float64(cold.ZnodesRead)/coldTook.Seconds(), "cold-znodes/s")
		b.Logf("%s cold: %d znodes in %v = %.0f znodes/s", mode, cold.ZnodesRead, coldTook.Round(time.Millisecond), float64(cold.ZnodesRead)/coldTook.Seconds())
		cold = nil
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			runtime.GC()
			peak := &heapPeak{}
			peak.start()
			cpu0 := processCPU()
			start := time.Now()
			got, err = zkreader.Read(ctx, zkreader.Options{Connect: connect, Mode: mode})
			took := time.Since(start)
			cpu := processCPU() - cpu0
			peakHeap := peak.stop()
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(took.Seconds(), "s/snapshot")
			b.ReportMetric(float64(got.ZnodesRead)/took.Seconds(), "znodes/s")
			b.ReportMetric(float64(peakHeap)/float64(partitions), "peak-heap-B/partition")
			b.ReportMetric(float64(cpu.Microseconds())/float64(got.ZnodesRead), "client-cpu-µs/znode")
			b.Logf("%s: %d znodes in %v = %.0f znodes/s; client CPU %v; peak heap growth %.1f MiB = %.0f B/partition",
				mode, got.ZnodesRead, took.Round(time.Millisecond), float64(got.ZnodesRead)/took.Seconds(), cpu.Round(time.Millisecond),
				float64(peakHeap)/(1<<20), float64(peakHeap)/float64(partitions))
		}
		if d := testenv.DiffSnapshots(want, got); len(d) > 0 {
			b.Fatalf("%s read differs from the seed: %v", mode, d[:min(len(d), 5)])
		}
		snap = got
	}
	b.Run("zkreader-multiread", func(b *testing.B) { read(b, zkreader.ModeMultiRead) })
	b.Run("zkreader-get-fallback", func(b *testing.B) { read(b, zkreader.ModeGet) })

	// the paths zkreader reads: every topic, partition listing and state, plus the rest
	paths, lists := readPaths(snap)
	b.Run("raw-get-loop", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			n, took := rawGetLoop(b, env.Servers(), "/bench", paths, lists, 3, 64)
			b.ReportMetric(took.Seconds(), "s/snapshot")
			b.ReportMetric(float64(n)/took.Seconds(), "znodes/s")
			b.Logf("raw go-zookeeper Get loop (3 conns x 64 goroutines): %d znodes in %v = %.0f znodes/s", n, took.Round(time.Millisecond), float64(n)/took.Seconds())
		}
	})
	b.Run("peer-kazoo-async", func(b *testing.B) {
		if _, err := os.Stat("/usr/bin/python3"); err != nil {
			b.Skip("no /usr/bin/python3")
		}
		for i := 0; i < b.N; i++ {
			out, err := exec.Command("/usr/bin/python3", "testdata/kazoo_dump.py", env.ConnectString(), "/bench").Output()
			if err != nil {
				b.Skipf("kazoo dump failed (python3-kazoo installed?): %v", err)
			}
			var r struct {
				Znodes  int64   `json:"znodes"`
				Seconds float64 `json:"seconds"`
			}
			if err := json.Unmarshal(out, &r); err != nil {
				b.Fatalf("kazoo output %q: %v", out, err)
			}
			b.ReportMetric(r.Seconds, "s/snapshot")
			b.ReportMetric(float64(r.Znodes)/r.Seconds, "znodes/s")
			b.Logf("kazoo async full dump: %d znodes in %.2fs = %.0f znodes/s", r.Znodes, r.Seconds, float64(r.Znodes)/r.Seconds)
		}
	})
}

// heapPeak samples the live heap while a read runs.
type heapPeak struct {
	base uint64
	max  atomic.Uint64
	done chan struct{}
	wg   sync.WaitGroup
}

func (h *heapPeak) start() {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	h.base = m.HeapAlloc
	h.done = make(chan struct{})
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			if m.HeapAlloc > h.max.Load() {
				h.max.Store(m.HeapAlloc)
			}
			select {
			case <-h.done:
				return
			case <-t.C:
			}
		}
	}()
}

// stop returns the peak heap growth over the baseline.
func (h *heapPeak) stop() uint64 {
	close(h.done)
	h.wg.Wait()
	if m := h.max.Load(); m > h.base {
		return m - h.base
	}
	return 0
}

// readPaths lists the znodes zkreader reads with getData (paths) and
// getChildren (lists), from a snapshot of the tree.
func readPaths(s *zkreader.Snapshot) (paths, lists []string) {
	paths = append(paths, "/cluster/id", "/controller", "/controller_epoch", "/latest_producer_id_block", "/feature", "/migration")
	lists = append(lists, "/brokers/ids", "/brokers/topics", "/admin/delete_topics", "/config/topics", "/config/brokers",
		"/config/users", "/config/clients", "/config/ips", "/kafka-acl", "/kafka-acl-extended/prefixed", "/delegation_token/tokens")
	for _, br := range s.Brokers {
		paths = append(paths, "/brokers/ids/"+strconv.Itoa(int(br.ID)))
	}
	for _, t := range s.Topics {
		tp := "/brokers/topics/" + t.Name
		paths = append(paths, tp)
		lists = append(lists, tp+"/partitions")
		for _, p := range t.Partitions {
			paths = append(paths, tp+"/partitions/"+strconv.Itoa(int(p.ID))+"/state")
		}
	}
	for _, c := range s.TopicConfigs {
		paths = append(paths, "/config/topics/"+c.Name)
	}
	for _, c := range s.BrokerConfigs {
		paths = append(paths, "/config/brokers/"+c.Name)
	}
	for _, q := range s.Quotas {
		paths = append(paths, q.Path)
	}
	for _, a := range s.ACLs {
		paths = append(paths, a.Path)
	}
	return paths, lists
}

// rawGetLoop is the minimal pipelined Get loop: conns go-zookeeper
// connections (one per server), each shared by workers goroutines doing
// synchronous Get/Children calls, over the given paths.
func rawGetLoop(b *testing.B, servers []string, chroot string, paths, lists []string, conns, workers int) (int64, time.Duration) {
	var cs []*zk.Conn
	for i := 0; i < conns; i++ {
		c, _, err := zk.Connect([]string{servers[i%len(servers)]}, 10*time.Second, zk.WithLogInfo(false))
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		cs = append(cs, c)
	}
	// wait for the sessions
	for _, c := range cs {
		if _, _, err := c.Exists(chroot); err != nil {
			b.Fatal(err)
		}
	}
	type job struct {
		path string
		list bool
	}
	jobs := make(chan job, 4096)
	var n atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for _, c := range cs {
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func(c *zk.Conn) {
				defer wg.Done()
				for j := range jobs {
					var err error
					if j.list {
						_, _, err = c.Children(chroot + j.path)
					} else {
						_, _, err = c.Get(chroot + j.path)
					}
					if err != nil && err != zk.ErrNoNode {
						b.Error(err)
						return
					}
					n.Add(1)
				}
			}(c)
		}
	}
	for _, p := range lists {
		jobs <- job{p, true}
	}
	for _, p := range paths {
		jobs <- job{p, false}
	}
	close(jobs)
	wg.Wait()
	return n.Load(), time.Since(start)
}

// processCPU is this process's user+system CPU time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
