package dualwrite

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zk2kraft/zk2kraft/quorum/client"
	"github.com/zk2kraft/zk2kraft/testenv"
	"github.com/zk2kraft/zk2kraft/translate/records"
	"github.com/zk2kraft/zk2kraft/zkreader"
)

func TestMirrorSurvivesSessionExpiry(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: ZooKeeper ensemble and quorum")
	}
	f := newFixture(t, testenv.SeedSpec{Preset: "small"})
	proxies, connect := f.env.ClientProxies(t)
	f.connect = connect
	opts := Options{}
	opts.ZK.SessionTimeout = 2 * time.Second
	r := f.startMirror(opts)
	f.churnDuring(5, 2500, 600, func() {
		time.Sleep(time.Second)
		for _, p := range proxies {
			p.Block()
		}
		time.Sleep(6 * time.Second) // > session timeout: the servers expire the session
		for _, p := range proxies {
			p.Unblock()
		}
	})
	f.checkParity(r)
	s := r.m.Stats()
	t.Logf("stats: %+v", s)
	if s.Expired == 0 || s.Walks < 2 {
		t.Fatalf("no session expiry happened (expired %d, walks %d)", s.Expired, s.Walks)
	}
}

// TestMirrorProcessKill9 runs `zk2kraft mirror` as a separate process, kills
// it with SIGKILL at several points during churn and runs it again: the last
// run converges, and its committed position is sound (once mirror.zxid is
// past ZooKeeper's newest zxid, the quorum equals ZooKeeper).
func TestMirrorProcessKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: ZooKeeper ensemble and quorum")
	}
	bin := filepath.Join(t.TempDir(), "zk2kraft")
	build := exec.Command("go", "build", "-o", bin, "github.com/zk2kraft/zk2kraft/cmd/zk2kraft")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	f := newFixture(t, testenv.SeedSpec{Preset: "small"})
	start := func() *exec.Cmd {
		cmd := exec.Command(bin, "mirror", "--zk", f.connect, "--quorum", strings.Join(f.lc.APIAddrs(), ","),
			"--from-zxid", formatZxid(f.snap.MaxZxid), "--log-level", "info")
		cmd.Env = append(os.Environ(), "ZK2KRAFT_CONFIG=/dev/null")
		if os.Getenv("MIRROR_TEST_LOG") != "" {
			cmd.Stderr = os.Stderr
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	cur := start()
	t.Cleanup(func() { cur.Process.Kill(); cur.Wait() })
	f.churnDuring(6, 2500, 700, func() {
		for i := 0; i < 3; i++ {
			time.Sleep(time.Duration(400+300*i) * time.Millisecond)
			cur.Process.Signal(syscall.SIGKILL)
			cur.Wait()
			cur = start()
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	target := f.zkZxid()
	for {
		mv, err := f.q.Meta(ctx)
		if err == nil {
			if z, err := zkreader.ParseZxid(mv.Meta[MetaZxid]); err == nil && z >= target {
				break
			}
		}
		if ctx.Err() != nil {
			t.Fatalf("mirror position never reached 0x%x (meta %v)", target, mv.Meta)
		}
		time.Sleep(50 * time.Millisecond)
	}
	f.compare(ctx)
	cur.Process.Signal(syscall.SIGTERM)
	if err := cur.Wait(); err != nil {
		t.Errorf("mirror after SIGTERM: %v", err)
	}
}

// TestMirrorQuorumOutage: the quorum loses its majority while the cluster
// keeps changing. The mirror keeps reading; its backlog is bounded by the
// objects touched, not the changes made; it drains once the quorum is back.
func TestMirrorQuorumOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: ZooKeeper ensemble and quorum")
	}
	f := newFixture(t, testenv.SeedSpec{Preset: "small"})
	r := f.startMirror(Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := r.m.WaitPosition(ctx, f.zkZxid()); err != nil {
		t.Fatal(err)
	}
	leader := f.lc.Leader()
	var down []int
	for n := 0; n < 3 && len(down) < 2; n++ {
		if n != leader {
			if err := f.lc.Kill(n); err != nil {
				t.Fatal(err)
			}
			down = append(down, n)
		}
	}
	before := r.m.Stats()
	// Changes to a fixed set of objects (no topic created or deleted, each
	// of which would add objects), many to each object.
	c := newChurner(f.conn, f.chroot, 8, f.snap)
	c.fixedObjects = true
	if n, err := c.run(ctx, 3000, 0); err != nil {
		t.Fatalf("churn after %d changes: %v", n, err)
	}
	t.Logf("churn: %v", c.Ops())
	time.Sleep(500 * time.Millisecond) // let the last events be read
	during := r.m.Stats()
	seen := during.Seen - before.Seen
	t.Logf("outage: %d watch events, backlog %d, position 0x%x -> 0x%x", seen, during.Backlog, before.Position, during.Position)
	if during.Backlog >= int(seen)/2 {
		t.Errorf("backlog %d grows with the changes (%d events), not with the objects", during.Backlog, seen)
	}
	if during.Position != before.Position {
		t.Errorf("position moved while the quorum had no majority")
	}
	for _, d := range down {
		if err := f.lc.Restart(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	f.checkParity(r)
}

// TestMirrorRecoversFromRejectedBatch: another writer removes a topic from
// the quorum behind the mirror's back; the mirror's next change to it is
// rejected by the quorum (unknown topic), so it reloads the quorum's image,
// recomputes every object and writes the topic again.
func TestMirrorRecoversFromRejectedBatch(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: ZooKeeper ensemble and quorum")
	}
	f := newFixture(t, testenv.SeedSpec{Preset: "small"})
	r := f.startMirror(Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := r.m.WaitPosition(ctx, f.zkZxid()); err != nil {
		t.Fatal(err)
	}
	var victim *zkreader.Topic
	for i := range f.snap.Topics {
		tp := &f.snap.Topics[i]
		if tp.TopicID != nil && strings.HasPrefix(tp.Name, "topic-") && len(tp.Partitions) > 0 && tp.Partitions[0].State != nil {
			victim = tp
			break
		}
	}
	if victim == nil {
		t.Fatal("no plain topic in the seed")
	}
	if _, err := f.q.Append(ctx, []records.Versioned{{Record: &records.RemoveTopicRecord{TopicId: *victim.TopicID}}}, nil, client.AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	st := victim.Partitions[0].State
	data := mustJSON(map[string]any{"version": 1, "leader": victim.Partitions[0].Replicas[0], "leader_epoch": st.LeaderEpoch + 1,
		"controller_epoch": 9, "isr": victim.Partitions[0].Replicas})
	if _, err := f.conn.Set(statePath(victim.Name, 0), data, -1); err != nil {
		t.Fatal(err)
	}
	f.checkParity(r)
	if s := r.m.Stats(); s.Rejected == 0 {
		t.Errorf("no batch was rejected: %+v", s)
	}
}

// TestMirrorTakeOver: a second mirror started while the first still runs
// takes the quorum over; the first stops at its next append with
// ErrTakenOver instead of interleaving its batches with the second's.
func TestMirrorTakeOver(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: ZooKeeper ensemble and quorum")
	}
	f := newFixture(t, testenv.SeedSpec{Preset: "small"})
	first := f.startMirror(Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	f.churn(ctx, 9, 300, 0)
	if err := first.m.WaitPosition(ctx, f.zkZxid()); err != nil {
		t.Fatal(err)
	}
	second := f.startMirror(Options{})
	f.churn(ctx, 10, 500, 0)
	select {
	case err := <-first.done:
		first.done <- err
		if !errors.Is(err, ErrTakenOver) {
			t.Fatalf("first mirror stopped with %v, want ErrTakenOver", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the first mirror kept running after the second took over")
	}
	f.checkParity(second)
}

// TestWaitCaughtUpUnderChurn: the mirror starts while the cluster keeps
// changing and its link to ZooKeeper is slow (20 ms each way), so a change or
// two is nearly always pending. WaitCaughtUp (what migrate waits on before it
// goes on) must return once the tree read and everything seen by its end is
// committed, not wait for an empty backlog; and what it returned on must
// hold up: the quorum reaches parity once the churn stops.
func TestWaitCaughtUpUnderChurn(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: ZooKeeper ensemble and quorum")
	}
	f := newFixture(t, testenv.SeedSpec{Preset: "small"})
	proxies, connect := f.env.ClientProxies(t)
	for _, p := range proxies {
		p.SetLatency(20 * time.Millisecond)
	}
	f.connect = connect
	var r *running
	var waited time.Duration
	var werr error
	var backlogAtReturn int
	f.churnDuring(9, 2000, 100, func() {
		time.Sleep(time.Second)
		r = f.startMirror(Options{})
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		start := time.Now()
		werr = r.m.WaitCaughtUp(ctx, f.snap.MaxZxid)
		waited = time.Since(start)
		s := r.m.Stats()
		backlogAtReturn = s.Backlog
		if werr == nil && (s.Walking || s.Walks == 0 || s.Position < f.snap.MaxZxid) {
			t.Errorf("WaitCaughtUp returned with the walk not done or the position behind: %+v", s)
		}
	})
	if werr != nil {
		t.Fatalf("WaitCaughtUp under churn through a slow link: %v", werr)
	}
	t.Logf("caught up after %v, with %d changes pending", waited.Round(time.Millisecond), backlogAtReturn)
	for _, p := range proxies {
		p.SetLatency(0)
	}
	f.checkParity(r)
}
