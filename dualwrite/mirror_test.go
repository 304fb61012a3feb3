package dualwrite

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zk2kraft/zk2kraft/image"
	"github.com/zk2kraft/zk2kraft/metrics"
	"github.com/zk2kraft/zk2kraft/quorum"
	"github.com/zk2kraft/zk2kraft/quorum/client"
	"github.com/zk2kraft/zk2kraft/testenv"
	"github.com/zk2kraft/zk2kraft/translate"
	"github.com/zk2kraft/zk2kraft/zkreader"
)

// fixture is a seeded ZooKeeper ensemble, a 3-node quorum holding the copy
// of the seeded cluster, and a session making changes.
type fixture struct {
	t       testing.TB
	env     *testenv.Env
	conn    *zk.Conn // the "cluster": seeds, keeps brokers alive, churns
	lc      *quorum.LocalCluster
	q       *client.Client
	snap    *zkreader.Snapshot
	connect string // what the mirror dials (may be proxies)
	chroot  string
	auth    string
	// churnRuns counts churnParallel calls (each gets its own seed and topic prefix).
	churnRuns int
}

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("MIRROR_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func newFixture(t testing.TB, spec testenv.SeedSpec) *fixture {
	t.Helper()
	return newFixtureOn(t, testenv.Options{Nodes: 3}, spec)
}

// newFixtureOn seeds an ensemble started with envOpts and copies it into a
// fresh 3-node quorum.
func newFixtureOn(t testing.TB, envOpts testenv.Options, spec testenv.SeedSpec) *fixture {
	t.Helper()
	env := testenv.Start(t, envOpts)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	conn := env.Connect(t)
	if _, err := testenv.Seed(ctx, conn, spec); err != nil {
		t.Fatalf("seed: %v", err)
	}
	f := &fixture{t: t, env: env, conn: conn, connect: env.ConnectString() + spec.Chroot, chroot: spec.Chroot, auth: spec.DigestAuth}
	snap, err := zkreader.Read(ctx, zkreader.Options{Connect: env.ConnectString() + spec.Chroot, Auth: spec.DigestAuth})
	if err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	f.snap = snap
	res, err := translate.Translate(snap, translate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	lc, err := quorum.StartLocalCluster(ctx, 3, t.TempDir(), snap.ClusterID.ID, func(c *quorum.Config) { c.Logger = testLogger(t) })
	if err != nil {
		t.Fatalf("quorum: %v", err)
	}
	t.Cleanup(func() { lc.Close() })
	f.lc = lc
	q, err := client.New(lc.APIAddrs(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(q.Close)
	f.q = q
	for i, b := range res.Log() {
		if _, err := q.Append(ctx, b, nil, client.AppendOptions{Token: fmt.Sprintf("copy:%d", i)}); err != nil {
			t.Fatalf("copy batch %d: %v", i, err)
		}
	}
	return f
}

type running struct {
	m      *Mirror
	cancel context.CancelFunc
	done   chan error
}

func (f *fixture) startMirror(opts Options) *running {
	f.t.Helper()
	opts.ZK.Connect = f.connect
	opts.ZK.Auth = f.auth
	opts.Quorum = f.q
	opts.FromZxid = f.snap.MaxZxid
	if opts.Logger == nil {
		opts.Logger = testLogger(f.t)
	}
	m, err := New(opts)
	if err != nil {
		f.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{m: m, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- m.Run(ctx) }()
	f.t.Cleanup(func() { r.stop() })
	return r
}

func (r *running) stop() error {
	r.cancel()
	select {
	case err := <-r.done:
		r.done <- err
		return err
	case <-time.After(30 * time.Second):
		return fmt.Errorf("mirror did not stop within 30s")
	}
}

// zkZxid is the newest zxid any server has applied.
func (f *fixture) zkZxid() int64 {
	var z int64
	for _, s := range f.env.Servers() {
		if v, err := serverZxid(s, nil); err == nil {
			z = max(z, v)
		}
	}
	return z
}

// checkParity waits until the mirror has caught up with ZooKeeper, then
// compares the quorum's image with the image translated from a fresh read,
// object by object.
func (f *fixture) checkParity(r *running) {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	target := f.zkZxid()
	if err := r.m.WaitPosition(ctx, target); err != nil {
		f.t.Fatalf("mirror did not catch up: %v (stats %+v)", err, r.m.Stats())
	}
	f.compare(ctx)
}

func (f *fixture) compare(ctx context.Context) {
	f.t.Helper()
	snap, err := zkreader.Read(ctx, zkreader.Options{Connect: f.env.ConnectString() + f.chroot, Auth: f.auth})
	if err != nil {
		f.t.Fatalf("fresh read: %v", err)
	}
	res, err := translate.Translate(snap, translate.Options{})
	if err != nil {
		f.t.Fatal(err)
	}
	want, err := res.Image()
	if err != nil {
		f.t.Fatal(err)
	}
	got, _, err := f.q.Image(ctx)
	if err != nil {
		f.t.Fatal(err)
	}
	diffs := image.Diff(want, got)
	if len(diffs) > 0 {
		var b strings.Builder
		for i, d := range diffs {
			if i == 40 {
				fmt.Fprintf(&b, "... and %d more\n", len(diffs)-40)
				break
			}
			fmt.Fprintf(&b, "  %s\n", d)
		}
		f.t.Fatalf("quorum image differs from ZooKeeper in %d places:\n%s", len(diffs), b.String())
	}
	counts := got.Counts()
	f.t.Logf("parity: %d topics, %d partitions, %d configs, %d quotas, %d scram, %d acls, %d tokens",
		counts[image.SectionTopics], counts["partitions"], counts[image.SectionConfigs], counts[image.SectionClientQuotas],
		counts[image.SectionScram], counts[image.SectionACLs], counts[image.SectionDelegationTokens])
}

func (f *fixture) churn(ctx context.Context, seed uint64, n int, rate float64) *churner {
	f.t.Helper()
	c := newChurner(f.conn, f.chroot, seed, f.snap)
	done, err := c.run(ctx, n, rate)
	if err != nil {
		f.t.Fatalf("churn after %d changes: %v", done, err)
	}
	f.t.Logf("churn: %d changes %v", done, c.Ops())
	return c
}

// churnToParity makes n changes as fast as ZooKeeper takes them, then checks
// that the mirror r brought the quorum to parity and applied something.
func (f *fixture) churnToParity(r *running, seed uint64, n int) {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	f.churn(ctx, seed, n, 0)
	f.checkParity(r)
	if s := r.m.Stats(); s.Applied == 0 {
		f.t.Fatalf("nothing applied: %+v", s)
	}
}

// churnDuring runs churn in the background while fault runs.
func (f *fixture) churnDuring(seed uint64, n int, rate float64, fault func()) {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	var cerr error
	var c *churner
	wg.Add(1)
	go func() {
		defer wg.Done()
		c = newChurner(f.conn, f.chroot, seed, f.snap)
		_, cerr = c.run(ctx, n, rate)
	}()
	fault()
	wg.Wait()
	if cerr != nil {
		f.t.Fatalf("churn: %v", cerr)
	}
	f.t.Logf("churn: %v", c.Ops())
}

func TestMirrorChurnParity(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: ZooKeeper ensemble and quorum")
	}
	f := newFixture(t, testenv.SeedSpec{Preset: "small"})
	mt := metrics.New("test", "test")
	r := f.startMirror(Options{Metrics: mt})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	f.churn(ctx, 1, 3000, 0)
	f.checkParity(r)
	s := r.m.Stats()
	t.Logf("stats: %+v", s)
	if s.Seen == 0 || s.Applied == 0 || s.Records == 0 {
		t.Fatalf("mirror saw or applied nothing: %+v", s)
	}
	// The figures are Prometheus metrics too.
	families, err := mt.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range families {
		for _, m := range mf.GetMetric() {
			switch {
			case m.GetCounter() != nil:
				got[mf.GetName()] += m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				got[mf.GetName()] += m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				got[mf.GetName()] += float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	for _, name := range []string{"zk2kraft_mirror_changes_seen_total", "zk2kraft_mirror_changes_applied_total",
		"zk2kraft_mirror_change_lag_seconds", "zk2kraft_mirror_position_zxid", "zk2kraft_records_written_total",
		"zk2kraft_quorum_commit_duration_seconds"} {
		if got[name] <= 0 {
			t.Errorf("metric %s = %v, want > 0", name, got[name])
		}
	}
	if got["zk2kraft_mirror_changes_seen_total"] != float64(s.Seen) {
		t.Errorf("changes seen: metric %v, stats %d", got["zk2kraft_mirror_changes_seen_total"], s.Seen)
	}
	// A second mirror on the same registry reuses the collectors.
	if _, err := New(Options{ZK: zkreader.Options{Connect: "127.0.0.1:1"}, Quorum: f.q, Metrics: mt}); err != nil {
		t.Fatal(err)
	}
}

func TestMirrorSurvivesZooKeeperNodeKill(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: ZooKeeper ensemble and quorum")
	}
	f := newFixture(t, testenv.SeedSpec{Preset: "small"})
	r := f.startMirror(Options{})
	f.churnDuring(2, 2500, 800, func() {
		time.Sleep(500 * time.Millisecond)
		// Kill the server the mirror is connected to.
		victim := 1
		for i, s := range f.env.Servers() {
			if s == r.m.conn.Server() {
				victim = i + 1
			}
		}
		if err := f.env.Kill(victim); err != nil {
			t.Errorf("kill: %v", err)
			return
		}
		time.Sleep(1500 * time.Millisecond)
		if err := f.env.Start(victim); err != nil {
			t.Errorf("restart: %v", err)
		}
	})
	f.checkParity(r)
	if s := r.m.Stats(); s.Reconnects == 0 {
		t.Errorf("the mirror never reconnected: %+v", s)
	}
}

func TestMirrorSurvivesQuorumLeaderKill(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: ZooKeeper ensemble and quorum")
	}
	f := newFixture(t, testenv.SeedSpec{Preset: "small"})
	r := f.startMirror(Options{})
	f.churnDuring(3, 2500, 800, func() {
		time.Sleep(700 * time.Millisecond)
		leader := f.lc.Leader()
		if err := f.lc.Kill(leader); err != nil {
			t.Errorf("kill leader: %v", err)
			return
		}
		time.Sleep(1500 * time.Millisecond)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := f.lc.Restart(ctx, leader); err != nil {
			t.Errorf("restart: %v", err)
		}
	})
	f.checkParity(r)
}

func TestMirrorRestartResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: ZooKeeper ensemble and quorum")
	}
	f := newFixture(t, testenv.SeedSpec{Preset: "small"})
	r := f.startMirror(Options{})
	f.churnDuring(4, 2500, 800, func() {
		for i := 0; i < 3; i++ {
			time.Sleep(time.Duration(300+200*i) * time.Millisecond)
			if err := r.stop(); err != nil {
				t.Errorf("stop: %v", err)
			}
			r = f.startMirror(Options{})
		}
	})
	f.checkParity(r)
	mv, err := f.q.Meta(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if mv.Meta[MetaOwner] != r.m.Owner() {
		t.Errorf("owner %q, want the last mirror %q", mv.Meta[MetaOwner], r.m.Owner())
	}
}

// TestMirrorChrootAndDigestAuth: a cluster under a chroot whose znodes only
// a digest user may read.
func TestMirrorChrootAndDigestAuth(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: ZooKeeper ensemble and quorum")
	}
	f := newFixture(t, testenv.SeedSpec{Preset: "small", Chroot: "/kafka", DigestAuth: "kafka:s3cret"})
	f.churnToParity(f.startMirror(Options{}), 7, 800)
}
