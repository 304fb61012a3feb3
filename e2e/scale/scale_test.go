// Package scale_test measures the whole migration at 100k, 300k and 1M
// partitions: `zk2kraft migrate` as its own process against a seeded 3-node
// ZooKeeper ensemble and a 3-node quorum of `zk2kraft quorum run`
// processes, reporting each phase's time, rate and the migrating process's
// peak RSS. Opt-in (seeding a million partitions takes minutes):
//
//	make bench-scale
//	ZK2KRAFT_SCALE=1 go test -run '^$' -bench ScaleMigration -benchtime 1x -timeout 90m ./e2e/scale
//
// ZK2KRAFT_SCALE_PARTITIONS=100000,300000 picks the sizes.
package scale_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/zk2kraft/zk2kraft/migrate"
	"github.com/zk2kraft/zk2kraft/quorum/client"
	"github.com/zk2kraft/zk2kraft/testenv"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testenv.RemoveBinaries()
	os.Exit(code)
}

const partitionsPerTopic = 50

func sizes(b *testing.B) []int {
	s := os.Getenv("ZK2KRAFT_SCALE_PARTITIONS")
	if s == "" {
		return []int{100_000, 300_000, 1_000_000}
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < partitionsPerTopic {
			b.Fatalf("ZK2KRAFT_SCALE_PARTITIONS: %q: want partition counts of at least %d", f, partitionsPerTopic)
		}
		out = append(out, n)
	}
	return out
}

// BenchmarkScaleMigration: for each size, a fresh ensemble seeded with
// size/50 topics of 50 partitions (RF 3, 30 brokers), then
// `zk2kraft migrate --until verified --no-mirror` into a fresh quorum.
func BenchmarkScaleMigration(b *testing.B) {
	if os.Getenv("ZK2KRAFT_SCALE") == "" {
		b.Skip("set ZK2KRAFT_SCALE=1 (make bench-scale)")
	}
	bin := testenv.Zk2kraftBinary(b)
	var rows []string
	for _, n := range sizes(b) {
		b.Run(fmt.Sprintf("partitions=%d", n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				rows = append(rows, runScale(b, bin, n))
			}
		})
	}
	b.Logf("\n| partitions | %s | total s | peak RSS MiB |\n%s", strings.Join(phaseNames, " s | ")+" s", strings.Join(rows, "\n"))
}

var phaseNames = []string{"check", "snapshot", "translate", "copy", "verified"}

func runScale(b *testing.B, bin string, partitions int) string {
	b.StopTimer()
	ctx := b.Context()
	// ZooKeeper keeps the whole tree on its heap: ~1.2 KiB per partition
	// with the JVM's slack.
	heap := max(512, partitions/1000*3)
	env := testenv.Start(b, testenv.Options{Nodes: 3, HeapMB: heap})
	conn := env.Connect(b)
	t0 := time.Now()
	seeded, err := testenv.Seed(ctx, conn, testenv.SeedSpec{Brokers: 30, Topics: partitions / partitionsPerTopic,
		PartitionsPerTopic: partitionsPerTopic, ReplicationFactor: 3, Chroot: "/scale", Concurrency: 32, PersistentBrokers: true})
	if err != nil {
		b.Fatal(err)
	}
	clusterID := seeded.ClusterID.ID
	seeded = nil // the migrating process is measured, not this one
	b.Logf("seeded %d partitions in %v", partitions, time.Since(t0).Round(time.Second))

	q := startQuorum(b, bin, clusterID)
	args := []string{"migrate", "--zk", env.ConnectString() + "/scale", "--quorum", strings.Join(q.apis, ","),
		"--until", "verified", "--no-mirror", "--assign-topic-ids", "--pass-through-encrypted-passwords",
		"--output", "json", "--log-level", "debug", "--verify-timeout", "10m"}
	b.StartTimer()
	rep, peaks, maxRSS := runMeasured(b, bin, args)
	b.StopTimer()
	if rep.State != migrate.StateVerified || rep.Verify == nil || !rep.Verify.Parity {
		b.Fatalf("migration ended in state %q, verify %+v", rep.State, rep.Verify)
	}
	if got := rep.Kinds["partitions"]; got != partitions {
		b.Fatalf("migrated %d partitions, seeded %d", got, partitions)
	}
	row := fmt.Sprintf("| %d |", partitions)
	for _, name := range phaseNames {
		p := phaseOf(rep, name)
		b.ReportMetric(p.Seconds, name+"-s")
		b.ReportMetric(float64(peaks[name])/(1<<20), name+"-peak-RSS-MiB")
		if p.Rate > 0 {
			b.ReportMetric(p.Rate, name+"-"+p.Unit+"/s")
		}
		row += fmt.Sprintf(" %.1f (%s, %d MiB) |", p.Seconds, rate(p), peaks[name]>>20)
		b.Logf("%-9s %6.1fs  %8d %-8s %10.0f/s  peak RSS %5d MiB", name, p.Seconds, p.Items, p.Unit, p.Rate, peaks[name]>>20)
	}
	compareReads(b, bin, env, phaseOf(rep, "check").Items)
	b.ReportMetric(rep.Seconds, "total-s")
	b.ReportMetric(float64(maxRSS)/(1<<20), "peak-RSS-MiB")
	for i, rss := range q.peakRSS() {
		b.Logf("quorum node %d: peak RSS %d MiB", i+1, rss>>20)
	}
	b.Logf("total %.1fs, zk2kraft migrate peak RSS %d MiB", rep.Seconds, maxRSS>>20)
	return row + fmt.Sprintf(" %.1f | %d |", rep.Seconds, maxRSS>>20)
}

// compareReads times `zk2kraft check` on the same tree read online (a
// multiRead of the ensemble) and offline (the ZooKeeper node's own data
// dir, at one zxid, no load on the ensemble), each as its own process.
func compareReads(b *testing.B, bin string, env *testenv.Env, znodes int64) {
	for _, src := range []struct {
		name string
		args []string
	}{
		{"online", []string{"--zk", env.ConnectString() + "/scale"}},
		{"offline", []string{"--zk-data-dir", env.DataDir(1), "--chroot", "/scale"}},
	} {
		args := append([]string{"check", "--output", "json"}, src.args...)
		cmd := exec.CommandContext(b.Context(), bin, args...)
		cmd.Env = append(os.Environ(), "ZK2KRAFT_CONFIG=/dev/null")
		var stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = io.Discard, &stderr
		t0 := time.Now()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		stop := sampleHWM(cmd.Process.Pid)
		err := cmd.Wait()
		took := time.Since(t0)
		rss := stop()
		if err != nil && cmd.ProcessState.ExitCode() != 1 { // 1: findings
			b.Fatalf("check %s: %v\n%s", src.name, err, stderr.String())
		}
		b.ReportMetric(took.Seconds(), "check-"+src.name+"-s")
		b.ReportMetric(float64(znodes)/took.Seconds(), "check-"+src.name+"-znodes/s")
		b.ReportMetric(float64(rss)/(1<<20), "check-"+src.name+"-peak-RSS-MiB")
		b.Logf("zk2kraft check %-7s (%s): %.2fs for the whole command, %.0f znodes/s, peak RSS %d MiB", src.name, src.args[0], took.Seconds(), float64(znodes)/took.Seconds(), rss>>20)
	}
}

func rate(p migrate.PhaseReport) string {
	if p.Rate <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.0fk %s/s", p.Rate/1000, p.Unit)
}

func phaseOf(rep *migrate.Report, name string) migrate.PhaseReport {
	for _, p := range rep.Phases {
		if p.Name == name {
			return *p
		}
	}
	return migrate.PhaseReport{Name: name}
}

// runMeasured runs the command, samples its RSS every 20 ms, and returns
// its report, the peak RSS seen in each phase (by the "phase started" lines
// it logs) and the peak RSS of the whole run (from the kernel, at exit).
func runMeasured(b *testing.B, bin string, args []string) (*migrate.Report, map[string]int64, int64) {
	cmd := exec.CommandContext(b.Context(), bin, args...)
	cmd.Env = append(os.Environ(), "ZK2KRAFT_CONFIG=/dev/null")
	var out bytes.Buffer
	cmd.Stdout = &out
	stderr, err := cmd.StderrPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	var mu sync.Mutex
	var maxRSS int64 // VmHWM: the kernel's peak, sampled until the exit
	phase := "start"
	peaks := map[string]int64{}
	var tail []string
	logDone := make(chan struct{})
	logPath := filepath.Join(os.TempDir(), fmt.Sprintf("zk2kraft-scale-%s.log", strings.ReplaceAll(b.Name(), "/", "-")))
	logFile, err := os.Create(logPath)
	if err != nil {
		b.Fatal(err)
	}
	defer logFile.Close()
	b.Logf("zk2kraft's log: %s", logPath)
	go func() {
		defer close(logDone)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(logFile, line)
			mu.Lock()
			if strings.Contains(line, "phase started") {
				if i := strings.Index(line, "phase="); i >= 0 {
					phase = strings.Fields(line[i+len("phase="):])[0]
				}
			}
			tail = append(tail[max(0, len(tail)-20):], line)
			mu.Unlock()
		}
	}()
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		status := fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stopSampling:
				return
			case <-tick.C:
			}
			rss := statusKB(status, "VmRSS:") << 10
			hwm := statusKB(status, "VmHWM:") << 10
			mu.Lock()
			peaks[phase] = max(peaks[phase], rss)
			maxRSS = max(maxRSS, hwm)
			mu.Unlock()
		}
	}()
	<-logDone
	err = cmd.Wait()
	close(stopSampling)
	<-sampled
	if err != nil {
		b.Fatalf("%s: %v\n%s\n%s", strings.Join(args[:1], " "), err, out.String(), strings.Join(tail, "\n"))
	}
	var rep migrate.Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		b.Fatalf("report: %v\n%s", err, out.String())
	}
	// (not the rusage's ru_maxrss: a child started from this big test
	// process inherits its RSS high-water mark at fork)
	return &rep, peaks, maxRSS
}

// sampleHWM samples a process's VmHWM (peak RSS) every 10 ms until stop,
// which returns the last value seen.
func sampleHWM(pid int) (stop func() int64) {
	status := fmt.Sprintf("/proc/%d/status", pid)
	done := make(chan struct{})
	result := make(chan int64, 1)
	go func() {
		var peak int64
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			peak = max(peak, statusKB(status, "VmHWM:")<<10)
			select {
			case <-done:
				result <- peak
				return
			case <-tick.C:
			}
		}
	}()
	return func() int64 { close(done); return <-result }
}

// statusKB reads a "Key:  N kB" line of a /proc status file (0 if gone).
func statusKB(path, key string) int64 {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, key) {
			f := strings.Fields(line[len(key):])
			if len(f) > 0 {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				return n
			}
		}
	}
	return 0
}

// procQuorum is three `zk2kraft quorum run` processes on loopback.
type procQuorum struct {
	apis  []string
	procs []*exec.Cmd
}

func startQuorum(b *testing.B, bin, clusterID string) *procQuorum {
	b.Helper()
	dir := b.TempDir()
	q := &procQuorum{}
	var raft []string
	for i := 0; i < 3; i++ {
		raft = append(raft, freeAddr(b))
		q.apis = append(q.apis, freeAddr(b))
	}
	var voters []string
	for i, r := range raft {
		voters = append(voters, fmt.Sprintf("%d@%s", i+1, r))
	}
	for i := 0; i < 3; i++ {
		logf, err := os.Create(filepath.Join(dir, fmt.Sprintf("node-%d.log", i+1)))
		if err != nil {
			b.Fatal(err)
		}
		cmd := exec.Command(bin, "quorum", "run", "--node-id", strconv.Itoa(i+1), "--bind", raft[i], "--api", q.apis[i],
			"--data-dir", filepath.Join(dir, fmt.Sprintf("node-%d", i+1)), "--voters", strings.Join(voters, ","),
			"--cluster-id", clusterID, "--log-level", "warn")
		cmd.Env = append(os.Environ(), "ZK2KRAFT_CONFIG=/dev/null")
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		q.procs = append(q.procs, cmd)
		b.Cleanup(func() {
			cmd.Process.Signal(syscall.SIGKILL)
			cmd.Wait()
			logf.Close()
		})
	}
	c, err := client.New(q.apis, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(b.Context(), time.Minute)
	defer cancel()
	if _, err := c.WaitReady(ctx); err != nil {
		b.Fatalf("quorum: %v", err)
	}
	return q
}

func (q *procQuorum) peakRSS() []int64 {
	var out []int64
	for _, p := range q.procs {
		out = append(out, statusKB(fmt.Sprintf("/proc/%d/status", p.Process.Pid), "VmHWM:")<<10)
	}
	return out
}

func freeAddr(b *testing.B) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
