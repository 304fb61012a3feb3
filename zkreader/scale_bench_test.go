package zkreader_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zk2kraft/zk2kraft/testenv"
	"github.com/zk2kraft/zk2kraft/zkreader"
)

// BenchmarkScaleSnapshot reads 1,000,000 partitions (~2.04 million znodes)
// online with multiRead. testenv's JVMs have a 256 MiB heap, too small for
// that tree, so this benchmark runs its own standalone ZooKeeper with a
// 4 GiB heap. Opt-in (seeding takes minutes): make bench-scale, i.e.
//
//	ZK2KRAFT_SCALE=1 go test -run '^$' -bench Scale -benchtime 1x -timeout 90m ./zkreader
func BenchmarkScaleSnapshot(b *testing.B) {
	if os.Getenv("ZK2KRAFT_SCALE") == "" {
		b.Skip("set ZK2KRAFT_SCALE=1 (make bench-scale)")
	}
	addr := bigStandaloneZK(b, "4g")
	conn, _, err := zk.Connect([]string{addr}, 30*time.Second, zk.WithLogInfo(false))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	ctx := context.Background()
	start := time.Now()
	want, err := testenv.Seed(ctx, conn, testenv.SeedSpec{Brokers: 12, Topics: 20000, PartitionsPerTopic: 50, ReplicationFactor: 3,
		Chroot: "/scale", PersistentBrokers: true, Concurrency: 32})
	if err != nil {
		b.Fatal(err)
	}
	partitions := 0
	for _, t := range want.Topics {
		partitions += len(t.Partitions)
	}
	b.Logf("seeded %d partitions in %v", partitions, time.Since(start).Round(time.Second))
	for _, run := range []string{"cold", "warm"} {
		runtime.GC()
		peak := &heapPeak{}
		peak.start()
		t0 := time.Now()
		got, err := zkreader.Read(ctx, zkreader.Options{Connect: addr + "/scale", Mode: zkreader.ModeMultiRead})
		took := time.Since(t0)
		ph := peak.stop()
		if err != nil {
			b.Fatal(err)
		}
		if d := testenv.DiffSnapshots(want, got); len(d) > 0 {
			b.Fatalf("differs: %v", d[:min(5, len(d))])
		}
		b.Logf("%s: %d partitions, %d znodes in %v = %.0f znodes/s, peak heap growth %.0f MiB = %.0f B/partition",
			run, partitions, got.ZnodesRead, took.Round(time.Millisecond), float64(got.ZnodesRead)/took.Seconds(), float64(ph)/(1<<20), float64(ph)/float64(partitions))
		if run == "warm" {
			b.ReportMetric(took.Seconds(), "s/snapshot")
			b.ReportMetric(float64(got.ZnodesRead)/took.Seconds(), "znodes/s")
			b.ReportMetric(float64(ph)/float64(partitions), "peak-heap-B/partition")
		}
	}
}

// bigStandaloneZK starts a standalone ZooKeeper with the given JVM heap on a
// dynamic loopback port and stops it when the benchmark ends.
func bigStandaloneZK(b *testing.B, heap string) string {
	b.Helper()
	dir := b.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cfg := fmt.Sprintf("tickTime=2000\ndataDir=%s/data\nclientPort=%d\nclientPortAddress=127.0.0.1\nmaxClientCnxns=0\nforceSync=no\nadmin.enableServer=false\n4lw.commands.whitelist=*\nsnapCount=10000000\n", dir, port)
	os.WriteFile(filepath.Join(dir, "zoo.cfg"), []byte(cfg), 0o644)
	logf, _ := os.Create(filepath.Join(dir, "server.log"))
	cmd := exec.Command("java", "-Xmx"+heap, "-XX:+UseParallelGC", "-Djute.maxbuffer=67108864", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
		"-cp", "/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-simple.jar",
		"org.apache.zookeeper.server.quorum.QuorumPeerMain", filepath.Join(dir, "zoo.cfg"))
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		logf.Close()
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			continue
		}
		c.Write([]byte("srvr"))
		buf := make([]byte, 4096)
		c.SetReadDeadline(time.Now().Add(time.Second))
		n, _ := c.Read(buf)
		c.Close()
		if strings.Contains(string(buf[:n]), "Mode: ") {
			return addr
		}
	}
	log, _ := os.ReadFile(filepath.Join(dir, "server.log"))
	b.Fatalf("zookeeper did not start:\n%s", log)
	return ""
}
