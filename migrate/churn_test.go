package migrate_test

import (
	"context"
	"testing"
	"time"

	"github.com/zk2kraft/zk2kraft/dualwrite"
	"github.com/zk2kraft/zk2kraft/migrate"
	"github.com/zk2kraft/zk2kraft/testenv"
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
