package migrate_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zk2kraft/zk2kraft/dualwrite"
	"github.com/zk2kraft/zk2kraft/image"
	"github.com/zk2kraft/zk2kraft/migrate"
	"github.com/zk2kraft/zk2kraft/quorum"
	"github.com/zk2kraft/zk2kraft/quorum/client"
	"github.com/zk2kraft/zk2kraft/quorum/quorumtest"
	"github.com/zk2kraft/zk2kraft/testenv"
	"github.com/zk2kraft/zk2kraft/translate"
	"github.com/zk2kraft/zk2kraft/translate/records"
	"github.com/zk2kraft/zk2kraft/verify"
	"github.com/zk2kraft/zk2kraft/zkreader"
)

// cluster is a seeded ZooKeeper ensemble and an in-process 3-node quorum
// bootstrapped with the ensemble's cluster id.
type cluster struct {
	env    *testenv.Env
	conn   *zk.Conn // the seeding session: keeps the ephemeral broker znodes alive
	seeded *zkreader.Snapshot
	zk     zkreader.Options
	chroot string
	lc     *quorum.LocalCluster
	q      *client.Client
	dir    string
}

var translateOpts = translate.Options{PassThroughEncryptedPasswords: true}

func newCluster(t *testing.T, env *testenv.Env, chroot string, spec testenv.SeedSpec) *cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: needs ZooKeeper")
	}
	ctx := t.Context()
	c := &cluster{env: env, chroot: chroot, dir: t.TempDir()}
	c.conn = env.Connect(t)
	spec.Chroot = chroot
	seeded, err := testenv.Seed(ctx, c.conn, spec)
	if err != nil {
		t.Fatal(err)
	}
	c.seeded = seeded
	c.zk = zkreader.Options{Connect: strings.Join(env.Servers(), ",") + chroot}
	c.startQuorum(t, seeded.ClusterID.ID)
	return c
}

func (c *cluster) startQuorum(t *testing.T, clusterID string) {
	t.Helper()
	c.lc, c.q = quorumtest.Start(t, 3, c.dir, clusterID)
}

func (c *cluster) options() migrate.Options {
	return migrate.Options{ZK: c.zk, Quorum: c.q, Translate: translateOpts, AssignTopicIDs: true, VerifyTimeout: 30 * time.Second, KRaftControllerID: 3000}
}

// dump is every znode under root: data and Stat version (what a ZooKeeper
// controller and a rollback depend on).
func dump(t *testing.T, conn *zk.Conn, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	var walk func(p string)
	walk = func(p string) {
		data, st, err := conn.Get(p)
		if err != nil {
			t.Fatalf("get %s: %v", p, err)
		}
		out[p] = fmt.Sprintf("v%d c%d e%x %q", st.Version, st.Cversion, st.EphemeralOwner, data)
		kids, _, err := conn.Children(p)
		if err != nil {
			t.Fatalf("children %s: %v", p, err)
		}
		for _, k := range kids {
			if p == "/" {
				walk("/" + k)
			} else {
				walk(p + "/" + k)
			}
		}
	}
	walk(root)
	delete(out, "/zookeeper")
	for k := range out {
		if strings.HasPrefix(k, "/zookeeper/") {
			delete(out, k)
		}
	}
	return out
}

func diffDumps(a, b map[string]string) []string {
	var out []string
	for k, v := range a {
		if w, ok := b[k]; !ok {
			out = append(out, "removed "+k)
		} else if v != w {
			out = append(out, fmt.Sprintf("changed %s: %s -> %s", k, v, w))
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			out = append(out, "added "+k)
		}
	}
	sort.Strings(out)
	return out
}

// assertParity checks the quorum's image object by object against the
// seeder's record (what it wrote, translated) and against a fresh read.
func assertParity(t *testing.T, c *cluster, want *zkreader.Snapshot) {
	t.Helper()
	ctx := t.Context()
	got, _, err := c.q.Image(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := zkreader.Read(ctx, c.zk)
	if err != nil {
		t.Fatal(err)
	}
	if want != nil {
		for _, d := range testenv.DiffSnapshots(want, fresh) {
			if strings.HasPrefix(d, "/controller") || strings.HasPrefix(d, "/migration") {
				continue // the cutover's own writes (checked on their own)
			}
			t.Errorf("ZooKeeper differs from the seeder's record: %s", d)
		}
	}
	src := fresh
	if want != nil {
		src = want
	}
	exp, _, err := verify.Expected(src, got, translateOpts)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, d := range image.Diff(exp, got) {
		if want != nil && d.Section == image.SectionCluster {
			continue // the seeder's record has no broker czxids (registration epochs)
		}
		t.Errorf("quorum differs: %s", d)
		if n++; n > 30 {
			t.Fatal("too many differences")
		}
	}
	if len(got.Topics()) == 0 || got.NumPartitions() == 0 {
		t.Fatalf("quorum image has %d topics, %d partitions", len(got.Topics()), got.NumPartitions())
	}
}

func TestMigrateToCutoverAndFencing(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: needs ZooKeeper")
	}
	env := testenv.Start(t, testenv.Options{Nodes: 3})
	c := newCluster(t, env, "/kafka", testenv.SeedSpec{Preset: "small"})
	ctx := t.Context()
	admin := env.Connect(t)
	epochData, epochStat, err := admin.Get("/kafka/controller_epoch")
	if err != nil {
		t.Fatal(err)
	}

	// Without --yes the migration stops before the point of no return.
	o := c.options()
	rep, err := migrate.Run(ctx, o)
	if !errors.Is(err, migrate.ErrConfirmationNeeded) {
		t.Fatalf("without Yes: err %v, want ErrConfirmationNeeded", err)
	}
	if rep.State != migrate.StateVerified {
		t.Fatalf("state %q, want verified", rep.State)
	}
	// A KRaft controller id that is a broker's id is refused before the claim.
	o.Yes = true
	o.KRaftControllerID = c.seeded.Brokers[0].ID
	if _, err := migrate.Run(ctx, o); err == nil || !strings.Contains(err.Error(), "must differ from every broker id") {
		t.Fatalf("controller id = broker id: err %v", err)
	}
	if st, _ := migrate.LoadState(ctx, c.q); st.State != migrate.StateVerified {
		t.Fatalf("state after the refused cutover: %q, want verified", st.State)
	}
	o.KRaftControllerID = 3000
	rep, err = migrate.Run(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if rep.State != migrate.StateCutover || rep.Cutover == nil {
		t.Fatalf("state %q cutover %+v", rep.State, rep.Cutover)
	}
	assertParity(t, c, c.seeded)

	// /controller is the quorum's, persistent, with its epoch; the epoch
	// went up by one.
	data, st, err := admin.Get("/kafka/controller")
	if err != nil {
		t.Fatal(err)
	}
	ctl, _ := zkreader.ParseController("/controller", data, zkreader.Stat{})
	if st.EphemeralOwner != 0 || ctl == nil || !ctl.IsKRaft() || ctl.BrokerID != rep.Cutover.KRaftControllerID {
		t.Errorf("/controller = %s (ephemeral owner %x), want a persistent KRaft controller %d", data, st.EphemeralOwner, rep.Cutover.KRaftControllerID)
	}
	newEpoch, newStat, _ := admin.Get("/kafka/controller_epoch")
	if string(newEpoch) == string(epochData) || newStat.Version != epochStat.Version+1 {
		t.Errorf("/controller_epoch %s v%d -> %s v%d, want +1", epochData, epochStat.Version, newEpoch, newStat.Version)
	}
	mdata, _, err := admin.Get("/kafka/migration")
	if err != nil {
		t.Fatal(err)
	}
	mig, _ := zkreader.ParseMigration("/migration", mdata, zkreader.Stat{})
	if mig == nil || !mig.Valid || mig.KRaftMetadataOffset <= 0 {
		t.Errorf("/migration = %s, want version 0 with the quorum offset", mdata)
	}

	// A ZooKeeper-mode controller writes conditioned on the controller epoch
	// version it knows (KafkaZkClient's checkedEphemeral/multi with
	// CheckOp): fenced.
	statePath := "/kafka/brokers/topics/" + c.seeded.Topics[0].Name + "/partitions/0/state"
	_, sst, err := admin.Get(statePath)
	if err != nil {
		t.Fatal(err)
	}
	_, err = admin.Multi(&zk.CheckVersionRequest{Path: "/kafka/controller_epoch", Version: epochStat.Version},
		&zk.SetDataRequest{Path: statePath, Data: []byte(`{"controller_epoch":1,"leader":1,"version":1,"leader_epoch":99,"isr":[1]}`), Version: sst.Version})
	if !errors.Is(err, zk.ErrBadVersion) {
		t.Errorf("old-epoch controller write: err %v, want %v", err, zk.ErrBadVersion)
	}
	// The quorum's log ends POST_MIGRATION.
	got, _, _ := c.q.Image(ctx)
	if s := got.ZkMigrationState(); s != 3 {
		t.Errorf("ZkMigrationState %d, want 3 (POST_MIGRATION)", s)
	}
	// A rerun changes nothing and says it is done.
	rep2, err := migrate.Run(ctx, o)
	if err != nil || rep2.State != migrate.StateCutover {
		t.Errorf("rerun after cutover: %v, state %q", err, rep2.State)
	}
	// Abort is refused past the point of no return.
	if _, err := migrate.Abort(ctx, migrate.AbortOptions{ZK: c.zk, Quorum: c.q}); !errors.Is(err, migrate.ErrPastNoReturn) {
		t.Errorf("abort after cutover: %v, want ErrPastNoReturn", err)
	}
}

// TestMigrateOverTLS runs the whole migration, mirror included, through
// ZooKeeper's secure client port with a CA and a client certificate.
func TestMigrateOverTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: needs ZooKeeper")
	}
	env := testenv.Start(t, testenv.Options{Nodes: 1, TLS: true})
	c := newCluster(t, env, "/tls", testenv.SeedSpec{Preset: "small"})
	files := env.TLSFiles()
	c.zk = zkreader.Options{Connect: strings.Join(env.SecureServers(), ",") + "/tls",
		TLS: zkreader.TLSOptions{CAFile: files.CA, CertFile: files.ClientCert, KeyFile: files.ClientKey}}
	o := c.options()
	o.Yes = true
	o.StartMirror = migrate.DualWrite(dualwrite.Options{ZK: c.zk, Quorum: c.q, Translate: translateOpts, Logger: quietLogger()}, time.Minute)
	rep, err := migrate.Run(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	if rep.State != migrate.StateCutover || rep.Verify == nil || !rep.Verify.Parity || rep.Mirror == nil {
		t.Fatalf("state %s, verify %+v, mirror %+v", rep.State, rep.Verify, rep.Mirror)
	}
	assertParity(t, c, c.seeded)
}

func TestMigrateRefusesOtherClusterID(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: needs ZooKeeper")
	}
	env := testenv.Start(t, testenv.Options{Nodes: 1})
	c := newCluster(t, env, "/k", testenv.SeedSpec{Brokers: 1, Topics: 2, PartitionsPerTopic: 2})
	c.lc.Close()
	c.dir = t.TempDir()
	c.startQuorum(t, "AAAAAAAAAAAAAAAAAAAAAA")
	_, err := migrate.Run(t.Context(), c.options())
	if !errors.Is(err, migrate.ErrClusterID) {
		t.Fatalf("err %v, want ErrClusterID", err)
	}
	if mv, _ := c.q.Meta(t.Context()); mv.Position.NextOffset != 0 || len(mv.Meta) != 0 {
		t.Errorf("the refused quorum was written: %+v", mv)
	}
}

func TestDryRunWritesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: needs ZooKeeper")
	}
	env := testenv.Start(t, testenv.Options{Nodes: 1})
	c := newCluster(t, env, "/dry", testenv.SeedSpec{Preset: "small"})
	admin := env.Connect(t)
	before := dump(t, admin, "/")
	o := c.options()
	o.DryRun, o.Yes = true, true
	rep, err := migrate.Run(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Plan == nil || rep.Plan.Records == 0 || len(rep.Plan.RecordsPerType) == 0 || rep.Plan.EstimateSeconds <= 0 {
		t.Fatalf("plan %+v", rep.Plan)
	}
	for _, d := range diffDumps(before, dump(t, admin, "/")) {
		t.Errorf("dry run changed ZooKeeper: %s", d)
	}
	mv, err := c.q.Meta(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if mv.Position.NextOffset != 0 || mv.Position.AppliedEntries != 0 || len(mv.Meta) != 0 {
		t.Errorf("dry run wrote to the quorum: %+v", mv)
	}
}

func TestAbortRestoresZooKeeper(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: needs ZooKeeper")
	}
	env := testenv.Start(t, testenv.Options{Nodes: 1})
	c := newCluster(t, env, "/ab", testenv.SeedSpec{Preset: "small"})
	admin := env.Connect(t)
	before := dump(t, admin, "/")
	o := c.options()
	o.Until = migrate.PhaseVerified
	if _, err := migrate.Run(t.Context(), o); err != nil {
		t.Fatal(err)
	}
	wiped := false
	rep, err := migrate.Abort(t.Context(), migrate.AbortOptions{ZK: c.zk, Quorum: c.q, Wipe: func(context.Context) error {
		wiped = true
		return c.lc.Close()
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.ZKUntouched || !rep.QuorumWiped || !wiped {
		t.Errorf("abort report %+v", rep)
	}
	for _, d := range diffDumps(before, dump(t, admin, "/")) {
		t.Errorf("ZooKeeper not as before: %s", d)
	}
	// The ZooKeeper-mode controller keeps working: its conditional write on
	// the controller epoch version it holds succeeds.
	_, est, _ := admin.Get("/ab/controller_epoch")
	statePath := "/ab/brokers/topics/" + c.seeded.Topics[0].Name + "/partitions/0/state"
	data, sst, _ := admin.Get(statePath)
	if _, err := admin.Multi(&zk.CheckVersionRequest{Path: "/ab/controller_epoch", Version: est.Version},
		&zk.SetDataRequest{Path: statePath, Data: data, Version: sst.Version}); err != nil {
		t.Errorf("ZooKeeper controller write after abort: %v", err)
	}
}

func TestCutoverRefusedWithoutParity(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: needs ZooKeeper")
	}
	env := testenv.Start(t, testenv.Options{Nodes: 1})
	c := newCluster(t, env, "/np", testenv.SeedSpec{Preset: "small"})
	admin := env.Connect(t)
	ctx := t.Context()
	o := c.options()
	o.Until = migrate.PhaseCopy
	if _, err := migrate.Run(ctx, o); err != nil {
		t.Fatal(err)
	}
	// A change the quorum never sees (no mirror): no parity.
	name := c.seeded.Topics[0].Name
	cfgPath := "/np/config/topics/" + name
	if _, err := admin.Set(cfgPath, []byte(`{"version":1,"config":{"retention.ms":"12345"}}`), -1); err != nil {
		t.Fatal(err)
	}
	before := dump(t, admin, "/")
	o.Until, o.Yes, o.VerifyRounds = migrate.PhaseCutover, true, 3
	rep, err := migrate.Run(ctx, o)
	if !errors.Is(err, migrate.ErrNoParity) {
		t.Fatalf("err %v, want ErrNoParity", err)
	}
	// No mirror runs: the change is newer than the quorum's position, so it
	// stays "in flight" and parity never comes.
	if rep.Verify == nil || rep.Verify.Parity || len(rep.Verify.Mismatches)+len(rep.Verify.InFlight) == 0 {
		t.Fatalf("no difference reported: %+v", rep.Verify)
	}
	found := false
	for _, d := range append(rep.Verify.Mismatches, rep.Verify.InFlight...) {
		if d.Section == image.SectionConfigs && strings.Contains(d.Object, name) && d.Field == "retention.ms" {
			found = true
		}
	}
	if !found {
		t.Errorf("mismatches %v: want the retention.ms change of %s", rep.Verify.Mismatches, name)
	}
	for _, d := range diffDumps(before, dump(t, admin, "/")) {
		t.Errorf("refused cutover changed ZooKeeper: %s", d)
	}
	// The step API refuses the same way.
	m, err := migrate.New(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, err := m.Cutover(ctx, true); err == nil {
		t.Error("Cutover in state copied succeeded")
	}
	if _, err := m.Cutover(ctx, false); !errors.Is(err, migrate.ErrConfirmationNeeded) {
		t.Errorf("unconfirmed cutover: %v", err)
	}
}

// unused import guard for records in some builds
var _ = records.Versioned{}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
