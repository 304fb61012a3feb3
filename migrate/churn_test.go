package migrate_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/zk2kraft/zk2kraft/dualwrite"
	"github.com/zk2kraft/zk2kraft/image"
	"github.com/zk2kraft/zk2kraft/migrate"
	"github.com/zk2kraft/zk2kraft/quorum/client"
	"github.com/zk2kraft/zk2kraft/testenv"
	"github.com/zk2kraft/zk2kraft/translate/records"
	"github.com/zk2kraft/zk2kraft/verify"
)

// TestMigrateUnderChurnToCutover runs the whole migration while the cluster
// changes in every way a live one does (testenv.Churn, which keeps the
// seeder's record up to date), with the mirror running; churn stops when
// verification starts (changes frozen for the cutover window). At the end
// the quorum equals the seeder's record object by object.
func TestMigrateUnderChurnToCutover(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: needs ZooKeeper")
	}
	env := testenv.Start(t, testenv.Options{Nodes: 3})
	c := newCluster(t, env, "/churn", testenv.SeedSpec{Brokers: 3, Topics: 100, PartitionsPerTopic: 5, ReplicationFactor: 3, EdgeCases: true})
	churnConn := env.Connect(t)
	cctx, stopChurn := context.WithCancel(t.Context())
	type result struct {
		log *testenv.ChurnLog
		err error
	}
	done := make(chan result, 1)
	go func() {
		log, err := testenv.Churn(cctx, churnConn, c.seeded, testenv.ChurnOptions{Rate: 100, Seed: 42})
		done <- result{log, err}
	}()
	var churned *testenv.ChurnLog
	stop := func() {
		if churned != nil {
			return
		}
		stopChurn()
		r := <-done
		if r.err != nil && cctx.Err() == nil {
			t.Errorf("churn: %v", r.err)
		}
		churned = r.log
		if churned == nil {
			churned = &testenv.ChurnLog{}
		}
	}
	defer stop()

	o := c.options()
	o.Yes = true
	o.StartMirror = migrate.DualWrite(dualwrite.Options{ZK: c.zk, Quorum: c.q, Translate: translateOpts, Logger: quietLogger()}, time.Minute)
	o.OnPhase = func(p migrate.PhaseReport) {
		if p.Name == string(migrate.PhaseMirroring) && p.Status == "done" {
			time.Sleep(3 * time.Second) // the mirror carries live changes
		}
		if p.Name == string(migrate.PhaseVerified) && p.Status == "running" {
			stop()
		}
	}
	rep, err := migrate.Run(t.Context(), o)
	stop()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("churn: %d changes %v; mirror: %+v", churned.Changes, churned.ByKind, rep.Mirror)
	if churned.Changes < 20 {
		t.Errorf("only %d changes made during the migration", churned.Changes)
	}
	if rep.Mirror == nil || rep.Mirror.Applied == 0 {
		t.Errorf("the mirror applied nothing: %+v", rep.Mirror)
	}
	if rep.State != migrate.StateCutover || !rep.Verify.Parity {
		t.Fatalf("state %s, verify %+v", rep.State, rep.Verify)
	}
	assertParity(t, c, c.seeded)
}

// TestVerifyUnderChurn: while the cluster keeps changing and the mirror keeps
// up, verification never reports a false mismatch; a real one (the quorum
// lost a delegation token ZooKeeper still has) is confirmed once two
// comparisons agree, and parity is never declared while it stands.
func TestVerifyUnderChurn(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: needs ZooKeeper")
	}
	env := testenv.Start(t, testenv.Options{Nodes: 3})
	c := newCluster(t, env, "/vchurn", testenv.SeedSpec{Brokers: 3, Topics: 50, PartitionsPerTopic: 5, ReplicationFactor: 3, EdgeCases: true})
	ctx := t.Context()
	o := c.options()
	o.StartMirror = migrate.DualWrite(dualwrite.Options{ZK: c.zk, Quorum: c.q, Translate: translateOpts, Logger: quietLogger()}, time.Minute)
	m, err := migrate.New(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, err := m.Check(ctx); err != nil {
		t.Fatal(err)
	}
	for _, step := range []func(context.Context) error{m.Snapshot, m.Translate, m.Copy, m.StartMirror} {
		if err := step(ctx); err != nil {
			t.Fatal(err)
		}
	}
	churnConn := env.Connect(t)
	cctx, stopChurn := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		_, err := testenv.Churn(cctx, churnConn, c.seeded, testenv.ChurnOptions{Rate: 50, Seed: 7})
		done <- err
	}()
	defer func() { stopChurn(); <-done }()

	vo := verify.Options{ZK: c.zk, Quorum: c.q, Translate: translateOpts, MaxRounds: 6, Timeout: 30 * time.Second, Interval: 50 * time.Millisecond, Logger: quietLogger()}
	res, err := verify.Run(ctx, vo)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Mismatches) > 0 {
		t.Fatalf("false mismatches under churn: %v", res.Mismatches)
	}
	t.Logf("under churn: %s after %d rounds, last round %d in flight", res.Status, len(res.Rounds), len(res.InFlight))

	// A real mismatch: the quorum loses a token (the mirror never touches
	// tokens the churn does not change).
	tok := c.seeded.DelegationTokens[0].TokenID
	if _, err := c.q.Append(ctx, []records.Versioned{{Record: &records.RemoveDelegationTokenRecord{TokenId: tok}}}, nil, client.AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	// Still under churn: the mismatch is confirmed (records the mirror
	// appends meanwhile touch other objects), nothing else is.
	res, err = verify.Run(ctx, vo)
	if err != nil {
		t.Fatal(err)
	}
	if res.Parity {
		t.Fatal("parity declared while the quorum misses a token")
	}
	if res.Status != verify.StatusDifferences || len(res.Mismatches) != 1 || res.Mismatches[0].Section != image.SectionDelegationTokens ||
		!strings.Contains(res.Mismatches[0].Object, tok) {
		t.Fatalf("under churn: %s, mismatches %v, in flight %v", res.Status, res.Mismatches, res.InFlight)
	}
}
