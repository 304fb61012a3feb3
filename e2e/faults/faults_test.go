// Package faults_test is the fault matrix: the whole migration (check,
// snapshot, translate, copy, dual-write under churn, verify, cutover) on a
// real 3-node ZooKeeper ensemble and a real 3-node raft quorum, once per
// fault, each ending in parity between ZooKeeper and the quorum with one
// copy of the cluster in the quorum's log.
package faults_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/zk2kraft/zk2kraft/dualwrite"
	"github.com/zk2kraft/zk2kraft/image"
	"github.com/zk2kraft/zk2kraft/migrate"
	"github.com/zk2kraft/zk2kraft/progress"
	"github.com/zk2kraft/zk2kraft/quorum"
	"github.com/zk2kraft/zk2kraft/quorum/client"
	"github.com/zk2kraft/zk2kraft/quorum/quorumtest"
	"github.com/zk2kraft/zk2kraft/testenv"
	"github.com/zk2kraft/zk2kraft/translate"
	"github.com/zk2kraft/zk2kraft/translate/batch"
	"github.com/zk2kraft/zk2kraft/translate/records"
	"github.com/zk2kraft/zk2kraft/verify"
	"github.com/zk2kraft/zk2kraft/zkreader"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testenv.RemoveBinaries()
	os.Exit(code)
}

var translateOpts = translate.Options{PassThroughEncryptedPasswords: true, MaxBatchRecords: 40}

// seedSpec is each case's cluster: ~600 partitions with every edge case,
// copied in ~40 batches so that a fault can land in the middle of the copy.
var seedSpec = testenv.SeedSpec{Brokers: 3, Topics: 60, PartitionsPerTopic: 10, ReplicationFactor: 3, EdgeCases: true}

// fixture is one case's cluster: a chroot on the shared ensemble, its own
// 3-node quorum, and churn (a live Kafka cluster's writes) until the
// migration starts verifying.
type fixture struct {
	t         *testing.T
	env       *testenv.Env
	chroot    string
	zk        zkreader.Options // what the tool connects to (maybe through proxies)
	lc        *quorum.LocalCluster
	q         *client.Client
	proxies   []*testenv.ClientProxy
	logs      *nodeLogs
	quorumDir string // node N's data dir is quorumDir/node-N

	stopOnce  sync.Once
	stopChurn func() int
	churned   int
}

type fixtureOptions struct {
	proxies   bool                           // the tool reaches ZooKeeper through ClientProxies
	session   time.Duration                  // the tool's ZooKeeper session timeout (0: default)
	quorumDir func(t *testing.T, dir string) // prepares the quorum's data dirs dir/node-N (optional)
}

func newFixture(t *testing.T, env *testenv.Env, chroot string, o fixtureOptions) *fixture {
	t.Helper()
	f := &fixture{t: t, env: env, chroot: chroot, logs: &nodeLogs{}}
	conn := env.Connect(t)
	spec := seedSpec
	spec.Chroot = chroot
	seeded, err := testenv.Seed(t.Context(), conn, spec)
	if err != nil {
		t.Fatal(err)
	}
	connect := env.ConnectString()
	if o.proxies {
		f.proxies, connect = env.ClientProxies(t)
	}
	f.zk = zkreader.Options{Connect: connect + chroot, SessionTimeout: o.session}
	dir := t.TempDir()
	f.quorumDir = dir
	if o.quorumDir != nil {
		o.quorumDir(t, dir)
	}
	f.lc, f.q = quorumtest.Start(t, 3, dir, seeded.ClusterID.ID, func(c *quorum.Config) {
		c.Logger = f.logs.logger(c.NodeID)
	})
	f.stopChurn = f.churn(seeded)
	t.Cleanup(func() { f.stop() })
	return f
}

// churn changes the cluster at 100 changes/s on its own session, straight
// to the ensemble (the Kafka cluster is not behind the tool's proxies). A
// ZooKeeper fault can fail a write whose outcome is then unknown: churn
// reads the tree again and goes on from what it finds.
func (f *fixture) churn(expected *zkreader.Snapshot) (stop func() int) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		total := 0
		defer func() { done <- total }()
		conn, err := f.env.Dial(ctx)
		if err != nil {
			return
		}
		defer conn.Close()
		for seed := uint64(1); ctx.Err() == nil; seed++ {
			log, err := testenv.Churn(ctx, conn, expected, testenv.ChurnOptions{Rate: 100, Seed: seed})
			if log != nil {
				total += log.Changes
			}
			if err == nil || ctx.Err() != nil {
				return
			}
			for ctx.Err() == nil {
				time.Sleep(500 * time.Millisecond)
				snap, err := zkreader.Read(ctx, zkreader.Options{Connect: f.env.ConnectString() + f.chroot})
				if err == nil {
					expected = snap
					break
				}
			}
		}
	}()
	return func() int { cancel(); return <-done }
}

func (f *fixture) stop() {
	f.stopOnce.Do(func() { f.churned = f.stopChurn() })
}

// options are the migration's, to the cutover, with the mirror.
func (f *fixture) options() migrate.Options {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	return migrate.Options{
		ZK: f.zk, Quorum: f.q, Translate: translateOpts, AssignTopicIDs: true, Yes: true,
		VerifyTimeout: time.Minute, KRaftControllerID: 3000, Logger: quiet,
		StartMirror: migrate.DualWrite(dualwrite.Options{ZK: f.zk, Quorum: f.q, Translate: translateOpts, Logger: quiet}, 2*time.Minute),
	}
}

// fault is what a case does to the system: inject starts the fault and
// returns the repair (nil: none), run by the fixture after hold.
type fault struct {
	name string
	// at: the phase whose start injects the fault, and for the copy the
	// number of records copied first.
	at      migrate.Phase
	after   int64
	atEnd   bool // when phase at ends (the mirroring phase ends with the mirror running and caught up)
	hold    time.Duration
	opts    fixtureOptions
	inject  func(t *testing.T, f *fixture) (repair func())
	check   func(t *testing.T, f *fixture, rep *migrate.Report) // extra assertions (optional)
	mirrors bool                                                // the mirror must have applied changes
}

// runMigration runs the migration in process with fault injected at its
// point; the repair runs hold later, in the background, and is waited for.
func (f *fixture) runMigration(fl fault) *migrate.Report {
	t := f.t
	o := f.options()
	var once sync.Once
	repaired := make(chan struct{})
	fired := false
	fire := func() {
		once.Do(func() {
			fired = true
			t.Logf("fault: %s", fl.name)
			repair := fl.inject(t, f)
			go func() {
				defer close(repaired)
				if repair != nil {
					time.Sleep(fl.hold)
					repair()
					t.Logf("fault repaired: %s", fl.name)
				}
			}()
		})
	}
	o.OnPhase = func(p migrate.PhaseReport) {
		if p.Status != "running" {
			if p.Name == string(fl.at) && fl.atEnd {
				fire()
			}
			if p.Name == string(migrate.PhaseMirroring) && p.Status == "done" {
				time.Sleep(2 * time.Second) // the mirror carries live changes
			}
			return
		}
		if p.Name == string(fl.at) && fl.after == 0 && !fl.atEnd {
			fire()
		}
		if p.Name == string(migrate.PhaseVerified) {
			once.Do(func() { close(repaired) }) // (when the fault never fired)
			<-repaired                          // the fault is over before the cluster is frozen for the cutover
			f.stop()
		}
	}
	o.Progress = func(e progress.Event) {
		if fl.after > 0 && e.Phase == string(fl.at) && e.Done >= fl.after {
			fire()
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	rep, err := migrate.Run(ctx, o)
	f.stop()
	once.Do(func() { close(repaired) }) // never fired
	<-repaired
	if err != nil {
		t.Fatalf("migration under %q: %v", fl.name, err)
	}
	if !fired {
		t.Fatalf("the fault was never injected (at %s after %d)", fl.at, fl.after)
	}
	return rep
}

// assertParity: the quorum image equals the translation of a fresh read of
// ZooKeeper, object by object, and the quorum's log holds one copy of the
// cluster (one completed "ZK Migration" transaction).
func (f *fixture) assertParity(rep *migrate.Report) (begins, aborts int) {
	t := f.t
	t.Helper()
	if rep.State != migrate.StateCutover || rep.Verify == nil || !rep.Verify.Parity {
		t.Fatalf("migration ended in state %q, verify %+v", rep.State, rep.Verify)
	}
	ctx := t.Context()
	got, _, err := f.q.Image(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := zkreader.Read(ctx, zkreader.Options{Connect: f.env.ConnectString() + f.chroot})
	if err != nil {
		t.Fatal(err)
	}
	exp, _, err := verify.Expected(fresh, got, translateOpts)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, d := range image.Diff(exp, got) {
		t.Errorf("quorum differs from ZooKeeper: %s", d)
		if n++; n > 20 {
			t.Fatal("too many differences")
		}
	}
	if len(got.Topics()) < seedSpec.Topics/2 || got.NumPartitions() == 0 {
		t.Fatalf("quorum image has %d topics, %d partitions", len(got.Topics()), got.NumPartitions())
	}
	begins, aborts = countTransactions(t, f.q)
	if begins-aborts != 1 {
		t.Errorf("the log holds %d migration transactions and %d aborts: want one completed copy", begins, aborts)
	}
	t.Logf("parity: %d topics, %d partitions; churn %d changes; mirror applied %d (walks %d, expired %d, reconnects %d); transactions %d, aborts %d",
		len(got.Topics()), got.NumPartitions(), f.churned, mirrorApplied(rep), mirrorStat(rep).Walks, mirrorStat(rep).Expired, mirrorStat(rep).Reconnects, begins, aborts)
	return begins, aborts
}

func mirrorStat(rep *migrate.Report) dualwrite.Stats {
	if rep.Mirror == nil {
		return dualwrite.Stats{}
	}
	return *rep.Mirror
}

func mirrorApplied(rep *migrate.Report) int64 { return mirrorStat(rep).Applied }

// countTransactions reads the quorum's whole log and counts the copy's
// BeginTransactionRecords and the AbortTransactionRecords.
func countTransactions(t *testing.T, q *client.Client) (begins, aborts int) {
	t.Helper()
	from := int64(0)
	for {
		data, next, err := q.Records(t.Context(), from, 0)
		if err != nil {
			t.Fatal(err)
		}
		for len(data) > 0 {
			b, n, err := batch.Decode(data)
			if err != nil {
				t.Fatal(err)
			}
			data = data[n:]
			recs, err := batch.DecodeRecords(&b)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range recs {
				switch m := r.Record.(type) {
				case *records.BeginTransactionRecord:
					if m.Name != nil && *m.Name == "ZK Migration" {
						begins++
					}
				case *records.AbortTransactionRecord:
					aborts++
				}
			}
		}
		if next <= from {
			return begins, aborts
		}
		from = next
	}
}

// nodeLogs keeps every quorum node's log lines, to find the errors a fault
// must produce.
type nodeLogs struct {
	mu  sync.Mutex
	buf map[string]*bytes.Buffer
}

func (l *nodeLogs) logger(node string) *slog.Logger {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buf == nil {
		l.buf = map[string]*bytes.Buffer{}
	}
	if l.buf[node] == nil {
		l.buf[node] = &bytes.Buffer{}
	}
	return slog.New(slog.NewTextHandler(lockedWriter{l, l.buf[node]}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func (l *nodeLogs) text(node string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b := l.buf[node]; b != nil {
		return b.String()
	}
	return ""
}

type lockedWriter struct {
	l *nodeLogs
	b *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.l.mu.Lock()
	defer w.l.mu.Unlock()
	return w.b.Write(p)
}

func zkLeader(t *testing.T, env *testenv.Env) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	l, err := env.WaitLeader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func zkFollower(t *testing.T, env *testenv.Env) int {
	l := zkLeader(t, env)
	return l%env.Nodes() + 1
}

// quorumLeader is the index (0-based) of the quorum's leader.
func quorumLeader(t *testing.T, f *fixture) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	l, err := f.lc.WaitLeader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Error(err)
	}
}

// TestFaultMatrix runs the migration once per fault. Each case ends in
// parity, with one copy in the quorum's log.
func TestFaultMatrix(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: ZooKeeper ensemble and raft quorum")
	}
	env := testenv.Start(t, testenv.Options{Nodes: 3})
	cases := []fault{
		{
			name: "zookeeper follower killed during the snapshot", at: migrate.PhaseSnapshot, hold: 4 * time.Second,
			inject: func(t *testing.T, f *fixture) func() {
				i := zkFollower(t, f.env)
				must(t, f.env.Kill(i))
				return func() { must(t, f.env.Start(i)) }
			},
		},
		{
			name: "zookeeper leader killed during the dual-write", at: migrate.PhaseMirroring, atEnd: true, hold: 3 * time.Second, mirrors: true,
			inject: func(t *testing.T, f *fixture) func() {
				i := zkLeader(t, f.env)
				must(t, f.env.Kill(i))
				return func() { must(t, f.env.Start(i)) }
			},
		},
		{
			name: "zookeeper leader partitioned away during the copy", at: migrate.PhaseCopy, after: 200, hold: 6 * time.Second, mirrors: true,
			inject: func(t *testing.T, f *fixture) func() {
				i := zkLeader(t, f.env)
				must(t, f.env.Partition(i))
				return func() {
					must(t, f.env.Heal(i))
					ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
					defer cancel()
					must(t, f.env.WaitServing(ctx, time.Minute, i))
				}
			},
		},
		{
			name: "zookeeper session expired during the dual-write", at: migrate.PhaseMirroring, atEnd: true, hold: 6 * time.Second, mirrors: true,
			opts: fixtureOptions{proxies: true, session: 2 * time.Second},
			inject: func(t *testing.T, f *fixture) func() {
				for _, p := range f.proxies {
					p.Block()
				}
				return func() {
					for _, p := range f.proxies {
						p.Unblock()
					}
				}
			},
			check: func(t *testing.T, f *fixture, rep *migrate.Report) {
				if s := mirrorStat(rep); s.Expired == 0 || s.Walks < 2 {
					t.Errorf("the mirror's session did not expire (expired %d, walks %d)", s.Expired, s.Walks)
				}
			},
		},
		{
			name: "slow zookeeper (40 ms round trips)", at: migrate.PhaseCheck, mirrors: true,
			opts: fixtureOptions{proxies: true},
			inject: func(t *testing.T, f *fixture) func() {
				for _, p := range f.proxies {
					p.SetLatency(20 * time.Millisecond)
				}
				return nil
			},
			check: func(t *testing.T, f *fixture, rep *migrate.Report) {
				if s := mirrorStat(rep); s.LagP50 < 20*time.Millisecond {
					t.Errorf("mirror lag p50 %v: the latency was not in the path", s.LagP50)
				}
			},
		},
		{
			name: "quorum follower killed during the copy", at: migrate.PhaseCopy, after: 200, hold: 3 * time.Second,
			inject: func(t *testing.T, f *fixture) func() {
				i := (quorumLeader(t, f) + 1) % f.lc.Size() // a follower (indexes are 0-based)
				must(t, f.lc.Kill(i))
				return func() { must(t, f.lc.Restart(context.Background(), i)) }
			},
		},
		{
			name: "quorum leader killed during the copy", at: migrate.PhaseCopy, after: 200, hold: 3 * time.Second,
			inject: func(t *testing.T, f *fixture) func() {
				i := quorumLeader(t, f)
				must(t, f.lc.Kill(i))
				return func() { must(t, f.lc.Restart(context.Background(), i)) }
			},
		},
		{
			name: "quorum leader killed during the dual-write", at: migrate.PhaseMirroring, atEnd: true, hold: 3 * time.Second, mirrors: true,
			inject: func(t *testing.T, f *fixture) func() {
				i := quorumLeader(t, f)
				must(t, f.lc.Kill(i))
				return func() { must(t, f.lc.Restart(context.Background(), i)) }
			},
		},
		diskFull(),
	}
	for i, fl := range cases {
		t.Run(fl.name, func(t *testing.T) {
			f := newFixture(t, env, fmt.Sprintf("/fault%c", 'a'+i), fl.opts)
			rep := f.runMigration(fl)
			f.assertParity(rep)
			if fl.mirrors && mirrorApplied(rep) == 0 {
				t.Errorf("the mirror applied no change during the fault")
			}
			if fl.check != nil {
				fl.check(t, f, rep)
			}
		})
	}
	t.Run("zk2kraft killed", func(t *testing.T) { testProcessKills(t, env) })
}

// testProcessKills runs `zk2kraft migrate` as its own process, kills it
// with SIGKILL at each phase in turn (with the cluster changing until
// verification starts), and runs the same command again: the rerun
// converges to parity, with one copy in the log.
func testProcessKills(t *testing.T, env *testenv.Env) {
	bin := testenv.Zk2kraftBinary(t)
	cases := []struct {
		name, marker string
		delay        time.Duration
		stateDir     bool
		wantAborts   int // a mid-copy kill without a saved snapshot restarts the copy (AbortTransactionRecord)
	}{
		{"during the check", "phase started|phase=check", 0, false, 0},
		{"during the snapshot", "phase started|phase=snapshot", 0, false, 0},
		{"during the translation", "phase started|phase=translate", 0, false, 0},
		{"during the copy, resumed from the saved snapshot", "copy batch committed|batch=5 ", 0, true, 0},
		{"during the copy, restarted from a new read", "copy batch committed|batch=5 ", 0, false, 1},
		{"when the copy ended", "phase ended|phase=copy", 0, false, 0},
		{"during the dual-write", "phase started|phase=mirroring", 1500 * time.Millisecond, false, 0},
		{"during verify", "phase started|phase=verified", 0, false, 0},
		{"in the cutover, before the claim", "cutover started: past the point of no return", 0, false, 0},
		{"in the cutover, after the claim", "ZooKeeper controller role claimed", 0, false, 0},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, env, fmt.Sprintf("/kill%c", 'a'+i), fixtureOptions{})
			args := []string{"migrate", "--zk", f.zk.Connect, "--quorum", strings.Join(f.lc.APIAddrs(), ","),
				"--yes", "--pass-through-encrypted-passwords", "--assign-topic-ids", "--max-batch-records", "40",
				"--kraft-controller-id", "3000", "--output", "json", "--log-level", "debug", "--verify-timeout", "60s"}
			if tc.stateDir {
				args = append(args, "--state-dir", t.TempDir())
			}
			seen := killAt(t, bin, args, tc.marker, tc.delay, func(line string) {
				if containsAll(line, []string{"phase started", "phase=verified"}) {
					f.stop() // the cluster is frozen for verification and the cutover
				}
			})
			if !seen {
				t.Fatalf("the run ended without logging %q", tc.marker)
			}
			f.stop()
			st, err := migrate.LoadState(t.Context(), f.q)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("killed in state %q (copy batch %d of %d)", st.State, st.CopyNext, st.CopyTotal)
			rerun := exec.CommandContext(t.Context(), bin, args...)
			rerun.Env = append(os.Environ(), "ZK2KRAFT_CONFIG=/dev/null")
			var stderr bytes.Buffer
			rerun.Stderr = &stderr
			out, err := rerun.Output()
			if err != nil {
				lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
				t.Fatalf("rerun: %v\n%s\nstderr (end):\n%s", err, out, strings.Join(lines[max(0, len(lines)-8):], "\n"))
			}
			var rep migrate.Report
			if err := json.Unmarshal(out, &rep); err != nil {
				t.Fatalf("rerun output: %v\n%s", err, out)
			}
			if _, aborts := f.assertParity(&rep); aborts != tc.wantAborts {
				t.Errorf("%d aborted copies in the log, want %d", aborts, tc.wantAborts)
			}
		})
	}
}

// killAt starts the command and kills it with SIGKILL delay after a stderr
// line contains every |-separated part of marker; every line before it goes
// to onLine. It reports whether the marker was seen.
func killAt(t *testing.T, bin string, args []string, marker string, delay time.Duration, onLine func(string)) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "ZK2KRAFT_CONFIG=/dev/null")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	seen := false
	sc := bufio.NewScanner(stderr)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		onLine(sc.Text())
		if containsAll(sc.Text(), strings.Split(marker, "|")) {
			seen = true
			break
		}
	}
	go io.Copy(io.Discard, stderr)
	if seen {
		time.Sleep(delay)
		cmd.Process.Signal(syscall.SIGKILL)
	}
	cmd.Wait()
	return seen
}

func containsAll(s string, subs []string) bool {
	for _, x := range subs {
		if !strings.Contains(s, x) {
			return false
		}
	}
	return true
}
