package quorum_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/zk2kraft/zk2kraft/quorum"
	"github.com/zk2kraft/zk2kraft/quorum/client"
	"github.com/zk2kraft/zk2kraft/quorum/quorumtest"
)

func testLogger() *slog.Logger {
	if os.Getenv("QUORUM_TEST_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func kvOpts(extra ...func(*quorum.Config)) []func(*quorum.Config) {
	return append([]func(*quorum.Config){func(c *quorum.Config) {
		c.NewMachine = quorum.NewKVMachine
		c.Logger = testLogger()
	}}, extra...)
}

func startKV(t *testing.T, n int, extra ...func(*quorum.Config)) (*quorum.LocalCluster, *client.Client) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: real raft quorum on loopback")
	}
	return quorumtest.Start(t, n, "", "test-cluster-1", kvOpts(extra...)...)
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// waitKV waits until node i (running) has key k = v.
func waitKV(t *testing.T, lc *quorum.LocalCluster, i int, k, v string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if n := lc.Node(i); n != nil {
			if got, ok := quorum.KVGet(n, k); ok && got == v {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	got := "<absent>"
	if n := lc.Node(i); n != nil {
		got, _ = quorum.KVGet(n, k)
	}
	t.Fatalf("node %d: %s = %q, want %q", i+1, k, got, v)
}

func appendKV(t *testing.T, c *client.Client, kvs ...string) client.Offsets {
	t.Helper()
	off, err := c.AppendBatch(ctxT(t, 15*time.Second), quorum.TestBatch(kvs...), nil, client.AppendOptions{})
	if err != nil {
		t.Fatalf("append %v: %v", kvs, err)
	}
	return off
}

func TestLeaderElectedAndBatchesAppliedEverywhere(t *testing.T) {
	lc, c := startKV(t, 3)
	if lc.Leader() < 0 {
		t.Fatal("no leader")
	}
	var last client.Offsets
	for i := 0; i < 20; i++ {
		off := appendKV(t, c, fmt.Sprintf("k%d=a", i), fmt.Sprintf("k%d=b", i))
		if off.Records != 2 || off.Base != int64(2*i) || off.Last != int64(2*i+1) {
			t.Fatalf("batch %d: offsets %+v, want base %d last %d", i, off, 2*i, 2*i+1)
		}
		if off.Epoch <= 0 {
			t.Fatalf("batch %d: epoch %d, want the raft term (> 0)", i, off.Epoch)
		}
		last = off
	}
	for i := 0; i < 3; i++ {
		waitKV(t, lc, i, "k19", "b")
		if err := lc.Node(i).WaitOffset(ctxT(t, 5*time.Second), last.Last); err != nil {
			t.Fatalf("node %d: %v", i+1, err)
		}
		if p := lc.Node(i).Position(); p.LastOffset != 39 || p.NextOffset != 40 {
			t.Fatalf("node %d position %+v, want last offset 39", i+1, p)
		}
	}
	st, err := c.Status(ctxT(t, 5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if st.State != "Leader" || len(st.Voters) != 3 || st.ClusterID != "test-cluster-1" || st.Position.LastOffset != 39 {
		t.Fatalf("status %+v", st)
	}
}

func TestAppendIdempotentAndPreconditions(t *testing.T) {
	lc, c := startKV(t, 3)
	ctx := ctxT(t, 20*time.Second)
	first, err := c.AppendBatch(ctx, quorum.TestBatch("a=1", "b=1"), map[string]string{"phase": "copying"}, client.AppendOptions{Token: "tok-1"})
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.AppendBatch(ctx, quorum.TestBatch("a=1", "b=1"), map[string]string{"phase": "copying"}, client.AppendOptions{Token: "tok-1"})
	if err != nil {
		t.Fatal(err)
	}
	if !again.Duplicate || again.Base != first.Base || again.Last != first.Last {
		t.Fatalf("retry with the same token: %+v, want a duplicate of %+v", again, first)
	}
	if p := lc.Node(lc.Leader()).Position(); p.NextOffset != 2 {
		t.Fatalf("next offset %d after a duplicate append, want 2", p.NextOffset)
	}

	// ExpectedOffset: wrong offset refused, right one applied.
	_, err = c.AppendBatch(ctx, quorum.TestBatch("c=1"), nil, client.AppendOptions{ExpectedOffset: client.Offset(7)})
	var pe *client.PreconditionError
	if !errors.As(err, &pe) {
		t.Fatalf("append at expected offset 7 (next is 2): err %v, want PreconditionError", err)
	}
	if off, err := c.AppendBatch(ctx, quorum.TestBatch("c=1"), nil, client.AppendOptions{ExpectedOffset: client.Offset(2)}); err != nil || off.Base != 2 {
		t.Fatalf("append at expected offset 2: %+v %v", off, err)
	}

	// If on Meta: a compare-and-set of the phase.
	if _, err := c.AppendBatch(ctx, nil, map[string]string{"phase": "copied"}, client.AppendOptions{If: map[string]string{"phase": "copying"}}); err != nil {
		t.Fatalf("CAS copying->copied: %v", err)
	}
	_, err = c.AppendBatch(ctx, quorum.TestBatch("d=1"), map[string]string{"phase": "copied"}, client.AppendOptions{If: map[string]string{"phase": "copying"}})
	if !errors.As(err, &pe) {
		t.Fatalf("second CAS copying->copied: err %v, want PreconditionError", err)
	}
	mv, err := c.Meta(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if mv.Meta["phase"] != "copied" || mv.Position.NextOffset != 3 {
		t.Fatalf("meta %+v", mv)
	}
	for i := 0; i < 3; i++ {
		if _, ok := quorum.KVGet(lc.Node(i), "d"); ok {
			t.Fatalf("node %d applied a batch whose precondition failed", i+1)
		}
	}
}

func TestContradictionReportedNodeStaysUp(t *testing.T) {
	lc, c := startKV(t, 3)
	ctx := ctxT(t, 20*time.Second)
	appendKV(t, c, "x=1")
	for i := 0; i < 3; i++ { // the rollback starts from a snapshot and replays the log after it
		waitKV(t, lc, i, "x", "1")
		if err := lc.Node(i).Snapshot(); err != nil {
			t.Fatal(err)
		}
	}
	appendKV(t, c, "w=1")
	// The first two records apply before the third contradicts the state:
	// the whole batch must be undone on every node.
	_, err := c.AppendBatch(ctx, quorum.TestBatch("x=2", "y=1", "!partition for unknown topic"), map[string]string{"pos": "9"}, client.AppendOptions{})
	var re *client.RejectedError
	if !errors.As(err, &re) || !strings.Contains(re.Error(), "contradicts") {
		t.Fatalf("contradicting batch: err %v, want RejectedError", err)
	}
	off := appendKV(t, c, "z=1")
	if off.Base != 2 {
		t.Fatalf("after a rejected batch the next offset is %d, want 2 (rejected batches take no offsets)", off.Base)
	}
	for i := 0; i < 3; i++ {
		waitKV(t, lc, i, "z", "1")
		n := lc.Node(i)
		st := n.Status()
		if st.FSMErrors.Count != 1 || !strings.Contains(st.FSMErrors.LastError, "contradicts") {
			t.Fatalf("node %d: FSM errors %+v, want 1 contradiction", i+1, st.FSMErrors)
		}
		if _, ok := quorum.KVGet(n, "y"); ok {
			t.Fatalf("node %d applied part of a rejected batch", i+1)
		}
		if x, _ := quorum.KVGet(n, "x"); x != "1" {
			t.Fatalf("node %d: x = %q after the rejected batch, want 1", i+1, x)
		}
		if w, _ := quorum.KVGet(n, "w"); w != "1" {
			t.Fatalf("node %d: w = %q after the rollback, want 1", i+1, w)
		}
		if st.Diverged != "" {
			t.Fatalf("node %d: %s", i+1, st.Diverged)
		}
		if n.Meta()["pos"] != "" {
			t.Fatalf("node %d applied the meta of a rejected batch", i+1)
		}
	}
}

func TestKillLeaderNothingLost(t *testing.T) {
	lc, c := startKV(t, 3)
	for i := 0; i < 50; i++ {
		appendKV(t, c, fmt.Sprintf("k%d=v", i))
	}
	old := lc.Leader()
	if err := lc.Kill(old); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	// Writes go on through the client, which finds the new leader.
	appendKV(t, c, "after=1")
	t.Logf("first write after killing the leader: %v", time.Since(start))
	nl := lc.Leader()
	if nl < 0 || nl == old {
		t.Fatalf("leader %d after killing %d", nl, old)
	}
	m := quorum.KVMap(lc.Node(nl))
	for i := 0; i < 50; i++ {
		if m[fmt.Sprintf("k%d", i)] != "v" {
			t.Fatalf("committed key k%d lost after failover", i)
		}
	}
	if err := lc.Restart(ctxT(t, 10*time.Second), old); err != nil {
		t.Fatal(err)
	}
	waitKV(t, lc, old, "after", "1")
	waitKV(t, lc, old, "k49", "v")
}

func TestFollowerCatchesUpFromLogAndSnapshot(t *testing.T) {
	lc, c := startKV(t, 3, func(cfg *quorum.Config) {
		cfg.SnapshotThreshold = 16
		cfg.TrailingLogs = 4
	})
	appendKV(t, c, "a=1")
	f := (lc.Leader() + 1) % 3
	waitKV(t, lc, f, "a", "1")

	// From the log: a few entries while down, no compaction past them.
	if err := lc.Kill(f); err != nil {
		t.Fatal(err)
	}
	appendKV(t, c, "b=1")
	if err := lc.Restart(ctxT(t, 10*time.Second), f); err != nil {
		t.Fatal(err)
	}
	waitKV(t, lc, f, "b", "1")

	// From a snapshot: many entries while down, then the leader snapshots
	// and compacts its log beyond the follower's last index.
	if err := lc.Kill(f); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 60; i++ {
		appendKV(t, c, fmt.Sprintf("s%d=%d", i, i))
	}
	if err := lc.Node(lc.Leader()).Snapshot(); err != nil {
		t.Fatal(err)
	}
	if err := lc.Restart(ctxT(t, 10*time.Second), f); err != nil {
		t.Fatal(err)
	}
	waitKV(t, lc, f, "s59", "59")
	// raft records the installed snapshot just after the FSM restored it.
	for deadline := time.Now().Add(3 * time.Second); lc.Node(f).Status().LastSnapshot == ""; {
		if time.Now().After(deadline) {
			t.Fatalf("follower caught up without installing a snapshot: %+v", lc.Node(f).Status())
		}
		time.Sleep(10 * time.Millisecond)
	}
	want := quorum.KVMap(lc.Node(lc.Leader()))
	got := quorum.KVMap(lc.Node(f))
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("follower state after snapshot install differs:\n got %v\nwant %v", got, want)
	}
	if p, lp := lc.Node(f).Position(), lc.Node(lc.Leader()).Position(); p.NextOffset != lp.NextOffset {
		t.Fatalf("follower next offset %d, leader %d", p.NextOffset, lp.NextOffset)
	}
}

func TestFullRestartRecoversFromDisk(t *testing.T) {
	lc, c := startKV(t, 3, func(cfg *quorum.Config) { cfg.SnapshotThreshold = 1 << 20 })
	for i := 0; i < 30; i++ {
		appendKV(t, c, fmt.Sprintf("k%d=%d", i, i))
	}
	// Half the state goes into snapshots, the rest stays in the log.
	for i := 0; i < 3; i++ {
		waitKV(t, lc, i, "k29", "29")
		if err := lc.Node(i).Snapshot(); err != nil {
			t.Fatal(err)
		}
	}
	for i := 30; i < 40; i++ {
		appendKV(t, c, fmt.Sprintf("k%d=%d", i, i))
	}
	if _, err := c.AppendBatch(ctxT(t, 5*time.Second), nil, map[string]string{"mirror.zxid": "0x42"}, client.AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		waitKV(t, lc, i, "k39", "39")
	}
	want := quorum.KVMap(lc.Node(0))
	wantPos := lc.Node(0).Position()
	lc.Close()
	for i := 0; i < 3; i++ {
		if err := lc.Restart(ctxT(t, 10*time.Second), i); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := lc.WaitLeader(ctxT(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	mv, err := c.Meta(ctxT(t, 10*time.Second)) // consistent: every committed entry applied on the leader
	if err != nil {
		t.Fatal(err)
	}
	if mv.Meta["mirror.zxid"] != "0x42" || mv.Position.NextOffset != wantPos.NextOffset {
		t.Fatalf("after full restart: meta %v position %+v, want zxid 0x42 next offset %d", mv.Meta, mv.Position, wantPos.NextOffset)
	}
	for i := 0; i < 3; i++ {
		waitKV(t, lc, i, "k39", "39")
		if got := quorum.KVMap(lc.Node(i)); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("node %d state after full restart differs", i+1)
		}
	}
}

func TestCutOffLeaderStepsDownUncommittedNeverApplied(t *testing.T) {
	lc, c := startKV(t, 3)
	appendKV(t, c, "before=1")
	old := lc.Leader()
	lastBefore := lc.Node(old).Status().LastIndex
	lc.Disconnect(old)
	// The cut-off leader takes an entry into its log that it can never commit.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	_, err := lc.Node(old).Append(ctx, quorum.EncodeEntry(quorum.Entry{ExpectedOffset: -1, Batch: quorum.TestBatch("lost=1")}))
	cancel()
	if err == nil {
		t.Fatal("a leader cut off from its quorum committed an entry")
	}
	if !errors.Is(err, raft.ErrLeadershipLost) {
		t.Fatalf("append on the cut-off leader: %v, want leadership lost (the entry must have entered its log)", err)
	}
	if last := lc.Node(old).Status().LastIndex; last <= lastBefore {
		t.Fatalf("cut-off leader's last index %d, was %d: the entry never reached its log", last, lastBefore)
	}
	// It steps down; the others elect a leader that takes writes.
	deadline := time.Now().Add(5 * time.Second)
	for lc.Node(old).IsLeader() {
		if time.Now().After(deadline) {
			t.Fatal("cut-off leader did not step down")
		}
		time.Sleep(10 * time.Millisecond)
	}
	appendKV(t, c, "after=1")
	lc.Reconnect(old)
	for i := 0; i < 3; i++ {
		waitKV(t, lc, i, "after", "1")
	}
	appendKV(t, c, "later=1")
	for i := 0; i < 3; i++ {
		waitKV(t, lc, i, "later", "1")
		if _, ok := quorum.KVGet(lc.Node(i), "lost"); ok {
			t.Fatalf("node %d applied the cut-off leader's uncommitted entry", i+1)
		}
	}
}

func TestClusterIDMismatchRefused(t *testing.T) {
	lc, c := startKV(t, 3)
	appendKV(t, c, "a=1")
	f := (lc.Leader() + 1) % 3
	if err := lc.Kill(f); err != nil {
		t.Fatal(err)
	}
	// The same data dir under another cluster id: refused at start.
	err := lc.RestartWith(ctxT(t, 5*time.Second), f, func(cfg *quorum.Config) { cfg.ClusterID = "other-cluster" })
	if !errors.Is(err, quorum.ErrClusterIDMismatch) {
		t.Fatalf("restart with another cluster id: err %v, want ErrClusterIDMismatch", err)
	}
	// A fresh node of another cluster at the same address: the quorum and it
	// refuse each other's raft connections.
	err = lc.RestartWith(ctxT(t, 5*time.Second), f, func(cfg *quorum.Config) {
		cfg.ClusterID = "other-cluster"
		cfg.DataDir = t.TempDir()
	})
	if err != nil {
		t.Fatal(err)
	}
	appendKV(t, c, "b=1")
	time.Sleep(1500 * time.Millisecond)
	if _, ok := quorum.KVGet(lc.Node(f), "a"); ok {
		t.Fatal("a node of another cluster received the quorum's log")
	}
	if st := lc.Node(f).Status(); st.State == "Leader" || st.ClusterID != "other-cluster" {
		t.Fatalf("foreign node status %+v", st)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func TestJSONAppendAndFollowerReadYourWrites(t *testing.T) {
	lc, _ := startKV(t, 3)
	leader := lc.Leader()
	// Plain HTTP/JSON, as curl would send it.
	body := fmt.Sprintf(`{"token":"json-1","meta":{"src":"curl"},"batch":%q}`, base64.StdEncoding.EncodeToString(quorum.TestBatch("j=1")))
	resp, err := http.Post("http://"+lc.APIAddrs()[leader]+"/v1/append", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var res quorum.AppendResult
	json.NewDecoder(resp.Body).Decode(&res)
	resp.Body.Close()
	if resp.StatusCode != 200 || res.Records != 1 {
		t.Fatalf("JSON append: HTTP %d %+v", resp.StatusCode, res)
	}
	// A follower answers a read with min_offset only once it applied it.
	f := (leader + 1) % 3
	resp, err = http.Get(fmt.Sprintf("http://%s/v1/meta?min_offset=%d&wait_ms=5000", lc.APIAddrs()[f], res.LastOffset))
	if err != nil {
		t.Fatal(err)
	}
	var mv quorum.MetaView
	json.NewDecoder(resp.Body).Decode(&mv)
	resp.Body.Close()
	if resp.StatusCode != 200 || mv.Meta["src"] != "curl" || mv.Position.LastOffset < res.LastOffset {
		t.Fatalf("follower read: HTTP %d %+v", resp.StatusCode, mv)
	}
	// A consistent read on a follower is redirected.
	resp, err = http.Get("http://" + lc.APIAddrs()[f] + "/v1/meta?consistent=true")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMisdirectedRequest {
		t.Fatalf("consistent read on a follower: HTTP %d, want 421", resp.StatusCode)
	}
	// A malformed batch never enters the log.
	bad := quorum.TestBatch("x=1")
	bad[len(bad)-2] ^= 0xff
	resp, err = http.Post("http://"+lc.APIAddrs()[leader]+"/v1/append", quorum.ContentTypeEntry, bytes.NewReader(quorum.EncodeEntry(quorum.Entry{ExpectedOffset: -1, Batch: bad})))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("corrupt batch: HTTP %d, want 400", resp.StatusCode)
	}
	// A data dir belongs to one node id.
	if err := lc.Kill(f); err != nil {
		t.Fatal(err)
	}
	err = lc.RestartWith(ctxT(t, 5*time.Second), f, func(cfg *quorum.Config) { cfg.NodeID = lc.Node(leader).ID() })
	if err == nil || !strings.Contains(err.Error(), "belongs to node") {
		t.Fatalf("data dir under another node id: %v", err)
	}
}
