package testenv

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zk2kraft/zk2kraft/kafka"
	"github.com/zk2kraft/zk2kraft/progress"
	"github.com/zk2kraft/zk2kraft/zkreader"
)

// SeedSpec says what Seed writes. A Preset fills the scale fields that are
// zero; explicit fields win.
type SeedSpec struct {
	// Preset: "small" (every edge case at a tiny scale: 3 brokers, 4 topics ×
	// 3 partitions), "medium" (~10,000 partitions), "large" (100,000
	// partitions). Presets turn EdgeCases on.
	Preset             string
	Brokers            int // broker ids 1..Brokers
	Topics             int // plain v3 topics "topic-00000"...
	PartitionsPerTopic int
	ReplicationFactor  int // capped at Brokers
	// Chroot puts the whole cluster under a path, e.g. "/kafka".
	Chroot string
	// EdgeCases adds what a real cluster has besides plain topics: topics
	// without a topic id (v1, v2), a reassignment in flight, an offline
	// partition, a RECOVERING partition, a partition without state, a topic
	// pending deletion, __consumer_offsets, a 249-character topic name,
	// topic/broker/default configs (with an encrypted password), quotas,
	// SCRAM credentials, ACLs of every resource type (literal and prefixed),
	// delegation tokens, change notifications.
	EdgeCases bool
	// DigestAuth "user:pass": the seeding connection authenticates with it
	// and every znode gets a digest ACL that only this user may use.
	DigestAuth string
	// Migration adds a /migration znode: "" none, "valid" (the initial
	// state a migrating KRaft controller writes: every field -1), "null" (the
	// znode with no data, a known cause of hung migrations).
	Migration string
	// PersistentBrokers writes /brokers/ids/<id> and /controller as
	// persistent znodes. By default they are ephemeral, as Kafka writes them,
	// and live as long as the seeding session: keep conn open while the
	// cluster should look alive.
	PersistentBrokers bool
	// Concurrency is the number of Multi requests in flight (default 16).
	Concurrency int
	// Progress receives "seed" progress events (znodes written).
	Progress progress.Func `json:"-"`
}

func (s *SeedSpec) defaults() error {
	type scale struct{ b, t, p, rf int }
	var sc scale
	switch s.Preset {
	case "":
	case "small":
		sc = scale{3, 4, 3, 3}
	case "medium":
		sc = scale{6, 500, 20, 3}
	case "large":
		sc = scale{12, 2000, 50, 3}
	default:
		return fmt.Errorf("seed: preset %q: want small, medium or large", s.Preset)
	}
	if s.Preset != "" {
		s.EdgeCases = true
		if s.Brokers == 0 {
			s.Brokers = sc.b
		}
		if s.Topics == 0 {
			s.Topics = sc.t
		}
		if s.PartitionsPerTopic == 0 {
			s.PartitionsPerTopic = sc.p
		}
		if s.ReplicationFactor == 0 {
			s.ReplicationFactor = sc.rf
		}
	}
	if s.Brokers == 0 {
		s.Brokers = 3
	}
	if s.PartitionsPerTopic == 0 {
		s.PartitionsPerTopic = 1
	}
	if s.ReplicationFactor == 0 {
		s.ReplicationFactor = 3
	}
	if s.ReplicationFactor > s.Brokers {
		s.ReplicationFactor = s.Brokers
	}
	if s.Brokers < 1 || s.Topics < 0 || s.PartitionsPerTopic < 1 || s.ReplicationFactor < 1 {
		return fmt.Errorf("seed: want Brokers >= 1, Topics >= 0, PartitionsPerTopic >= 1, ReplicationFactor >= 1")
	}
	if s.Concurrency <= 0 {
		s.Concurrency = 16
	}
	if s.Chroot != "" {
		if !strings.HasPrefix(s.Chroot, "/") || s.Chroot == "/" || strings.HasSuffix(s.Chroot, "/") {
			return fmt.Errorf("seed: chroot %q: want an absolute path like /kafka", s.Chroot)
		}
	}
	if s.DigestAuth != "" && !strings.Contains(s.DigestAuth, ":") {
		return fmt.Errorf("seed: DigestAuth: want user:pass")
	}
	switch s.Migration {
	case "", "valid", "null":
	default:
		return fmt.Errorf("seed: Migration %q: want \"\", valid or null", s.Migration)
	}
	return nil
}

// znodeWrite is one znode the seeder creates, then optionally updates (each
// update bumps its Stat.Version, e.g. a partition epoch).
type znodeWrite struct {
	path    string // without chroot
	data    []byte // nil: no data
	flags   int32
	updates [][]byte
}

// seedPlan is what Seed writes: first serial (in order, parents first), then
// parallel groups (each in order; groups are independent of each other).
type seedPlan struct {
	serial []znodeWrite
	groups [][]znodeWrite
}

func (p *seedPlan) count() int64 {
	n := int64(len(p.serial))
	for _, g := range p.groups {
		n += int64(len(g))
	}
	return n
}

// Seed writes a Kafka 3.x ZooKeeper-mode cluster's znodes through conn and
// returns what it wrote as the model zkreader reads (Stat left zero except
// partition-state versions = partition epochs, /controller_epoch's version
// and the ephemeral owners). The target paths must not exist yet.
func Seed(ctx context.Context, conn *zk.Conn, spec SeedSpec) (*zkreader.Snapshot, error) {
	if err := spec.defaults(); err != nil {
		return nil, err
	}
	acl := zk.WorldACL(zk.PermAll)
	if spec.DigestAuth != "" {
		user, pass, _ := strings.Cut(spec.DigestAuth, ":")
		if err := conn.AddAuth("digest", []byte(spec.DigestAuth)); err != nil {
			return nil, fmt.Errorf("seed: add digest auth: %w", err)
		}
		acl = zk.DigestACL(zk.PermAll, user, pass)
	}
	g := newGenerator(spec, conn.SessionID())
	plan, snap := g.build()
	w := &seedWriter{conn: conn, chroot: spec.Chroot, acl: acl, tracker: progress.NewTracker(spec.Progress, "seed", "znodes", plan.count())}
	if spec.Chroot != "" {
		if err := w.ensurePath(ctx, spec.Chroot); err != nil {
			return nil, err
		}
	}
	if err := w.writeGroup(ctx, plan.serial); err != nil {
		return nil, err
	}
	if err := w.writeParallel(ctx, plan.groups, spec.Concurrency); err != nil {
		return nil, err
	}
	w.tracker.Finish()
	snap.Chroot = spec.Chroot
	snap.TakenAt = time.Now()
	return snap, nil
}

// seedWriter writes znodes with Multi requests of up to multiOps operations
// (100: a 50-partition topic in one request; measured ~15% faster than 50).
type seedWriter struct {
	conn    *zk.Conn
	chroot  string
	acl     []zk.ACL
	tracker *progress.Tracker
}

const multiOps = 100

func (w *seedWriter) full(p string) string {
	if w.chroot == "" {
		return p
	}
	return w.chroot + p
}

// ensurePath creates p and its parents (no data) when missing.
func (w *seedWriter) ensurePath(ctx context.Context, p string) error {
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	cur := ""
	for _, part := range parts {
		cur += "/" + part
		if _, err := w.conn.Create(cur, nil, 0, w.acl); err != nil && err != zk.ErrNodeExists {
			return fmt.Errorf("seed: create %s: %w", cur, err)
		}
	}
	return ctx.Err()
}

// writeGroup writes znodes in order, multiOps operations per Multi.
func (w *seedWriter) writeGroup(ctx context.Context, group []znodeWrite) error {
	var ops []any
	var paths []string
	created := 0
	flush := func() error {
		if len(ops) == 0 {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("seed: %w", err)
		}
		resp, err := w.multi(ctx, ops, paths[0])
		for i, r := range resp {
			if r.Error != nil && r.Error != zk.ErrAPIError {
				return fmt.Errorf("seed: write %s: %w", paths[i], r.Error)
			}
		}
		if err != nil {
			return fmt.Errorf("seed: multi write starting at %s: %w", paths[0], err)
		}
		w.tracker.Add(int64(created))
		ops, paths, created = ops[:0], paths[:0], 0
		return nil
	}
	for _, zw := range group {
		full := w.full(zw.path)
		ops = append(ops, &zk.CreateRequest{Path: full, Data: zw.data, Acl: w.acl, Flags: zw.flags})
		paths = append(paths, full)
		created++
		for v, d := range zw.updates {
			ops = append(ops, &zk.SetDataRequest{Path: full, Data: d, Version: int32(v)})
			paths = append(paths, full)
		}
		if len(ops) >= multiOps {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// multi sends one Multi whose first operation creates first. When the
// connection drops under it (a server busy with a million znodes can drop
// a client), its outcome is unknown: a Multi is atomic, so whether first
// exists tells, and it is sent again if it was not applied.
func (w *seedWriter) multi(ctx context.Context, ops []any, first string) ([]zk.MultiResponse, error) {
	for attempt := 1; ; attempt++ {
		resp, err := w.conn.Multi(ops...)
		if attempt == 10 || !(errors.Is(err, zk.ErrConnectionClosed) || errors.Is(err, zk.ErrNoServer)) {
			return resp, err
		}
		applied := false
		for {
			if ctx.Err() != nil {
				return resp, err
			}
			ok, _, eerr := w.conn.Exists(first)
			if eerr == nil {
				applied = ok
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		if applied {
			return make([]zk.MultiResponse, len(ops)), nil
		}
	}
}

func (w *seedWriter) writeParallel(ctx context.Context, groups [][]znodeWrite, workers int) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := make(chan []znodeWrite)
	var wg sync.WaitGroup
	var once sync.Once
	var firstErr error
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for g := range ch {
				if err := w.writeGroup(ctx, g); err != nil {
					once.Do(func() { firstErr = err; cancel() })
				}
			}
		}()
	}
	for _, g := range groups {
		select {
		case ch <- g:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	close(ch)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

// generator builds the plan and the expected model together, so that both
// always describe the same znodes.
type generator struct {
	spec      SeedSpec
	session   int64
	snap      *zkreader.Snapshot
	plan      seedPlan
	now       int64 // ms, fixed for the whole seed
	ctrlEpoch int32
}

func newGenerator(spec SeedSpec, session int64) *generator {
	return &generator{spec: spec, session: session, now: time.Now().UnixMilli(), ctrlEpoch: 7,
		snap: &zkreader.Snapshot{Source: "testenv.Seed", Brokers: []zkreader.Broker{}, Topics: []zkreader.Topic{},
			TopicConfigs: []zkreader.EntityConfig{}, BrokerConfigs: []zkreader.EntityConfig{}, Quotas: []zkreader.ClientQuota{},
			Scram: []zkreader.ScramCredential{}, ACLs: []zkreader.ACLResource{}, Findings: []zkreader.Finding{}}}
}

func (g *generator) serial(p string, data []byte, updates ...[]byte) {
	g.plan.serial = append(g.plan.serial, znodeWrite{path: p, data: data, updates: updates})
}

func (g *generator) build() (seedPlan, *zkreader.Snapshot) {
	// ZkData.PersistentZkPaths (KafkaZkClient.createTopLevelPaths) plus the
	// parents the cluster's other znodes need.
	for _, p := range []string{"/consumers", "/brokers", "/brokers/ids", "/brokers/topics", "/config", "/config/changes",
		"/admin", "/admin/delete_topics", "/isr_change_notification", "/log_dir_event_notification",
		"/config/topics", "/config/clients", "/config/users", "/config/brokers", "/config/ips"} {
		g.serial(p, nil)
	}
	g.serial("/brokers/seqid", nil)
	g.clusterAndController()
	g.brokers()
	g.producerIDBlock()
	g.features()
	if g.spec.EdgeCases {
		g.edgeCases()
	}
	g.plainTopics()
	if g.spec.Migration != "" {
		g.migration()
	}
	g.sortSnapshot()
	return g.plan, g.snap
}

func (g *generator) clusterAndController() {
	id := kafka.DerivedUUID("cluster-id", g.spec.Chroot).String()
	g.serial("/cluster", nil)
	g.serial("/cluster/id", encodeClusterID(id))
	g.snap.ClusterID = &zkreader.ClusterID{ID: id, Version: "1"}
	// A ZooKeeper controller creates /controller_epoch with 0 and bumps it
	// (conditionally on its version) at every election.
	var ups [][]byte
	for e := int32(1); e <= g.ctrlEpoch; e++ {
		ups = append(ups, []byte(fmt.Sprint(e)))
	}
	g.serial("/controller_epoch", []byte("0"), ups...)
	g.snap.ControllerEpoch = &zkreader.ControllerEpoch{Epoch: g.ctrlEpoch, Stat: zkreader.Stat{Version: g.ctrlEpoch}}
	ts := fmt.Sprint(g.now)
	g.plan.serial = append(g.plan.serial, znodeWrite{path: "/controller", data: encodeController(1, ts, -1), flags: g.ephemeralFlag()})
	g.snap.Controller = &zkreader.Controller{Version: 2, BrokerID: 1, Timestamp: ts, KRaftControllerEpoch: -1, Stat: zkreader.Stat{EphemeralOwner: g.ephemeralOwner()}}
}

func (g *generator) ephemeralFlag() int32 {
	if g.spec.PersistentBrokers {
		return 0
	}
	return zk.FlagEphemeral
}

func (g *generator) ephemeralOwner() int64 {
	if g.spec.PersistentBrokers {
		return 0
	}
	return g.session
}

// brokers registers brokers 1..N with v5 registrations: three listeners
// with a listener map, a rack on all but the last broker, features on odd ids.
func (g *generator) brokers() {
	for id := int32(1); id <= int32(g.spec.Brokers); id++ {
		host := fmt.Sprintf("broker-%d.kafka.example", id)
		b := zkreader.Broker{ID: id, Version: 5, Host: host, Port: 9092, JMXPort: 9999, Timestamp: fmt.Sprint(g.now + int64(id)),
			Endpoints: []zkreader.Endpoint{
				{Listener: "PLAINTEXT", SecurityProtocol: "PLAINTEXT", Host: host, Port: 9092},
				{Listener: "SSL", SecurityProtocol: "SSL", Host: host, Port: 9093},
				{Listener: "REPLICATION", SecurityProtocol: "SASL_SSL", Host: host, Port: 9094},
			},
			Stat: zkreader.Stat{EphemeralOwner: g.ephemeralOwner()}}
		if id%2 == 0 {
			b.JMXPort = -1
		}
		if id != int32(g.spec.Brokers) || g.spec.Brokers == 1 {
			r := fmt.Sprintf("rack-%c", 'a'+rune((id-1)%3))
			b.Rack = &r
		}
		if id%2 == 1 {
			b.Features = []zkreader.BrokerFeature{{Name: "group.version", MinVersion: 0, MaxVersion: 1}, {Name: "metadata.version", MinVersion: 1, MaxVersion: 21}}
		}
		g.plan.serial = append(g.plan.serial, znodeWrite{path: fmt.Sprintf("/brokers/ids/%d", id), data: encodeBroker(b), flags: g.ephemeralFlag()})
		g.snap.Brokers = append(g.snap.Brokers, b)
	}
}

func (g *generator) producerIDBlock() {
	b := zkreader.ProducerIDBlock{Version: 1, Broker: 1, BlockStart: 5000, BlockEnd: 5999}
	g.serial("/latest_producer_id_block", encodeProducerIDBlock(b))
	g.snap.ProducerIDBlock = &b
}

func (g *generator) features() {
	f := zkreader.Features{Version: 2, Status: 1, Features: []zkreader.FeatureLevel{{Name: "group.version", MaxVersionLevel: 1}, {Name: "metadata.version", MaxVersionLevel: 14}}}
	g.serial("/feature", encodeFeatures(f))
	g.snap.Features = &f
}

func (g *generator) migration() {
	m := zkreader.MigrationZnode{}
	if g.spec.Migration == "valid" {
		m = zkreader.MigrationZnode{Valid: true, Version: 0, KRaftControllerID: -1, KRaftControllerEpoch: -1, KRaftMetadataOffset: -1, KRaftMetadataEpoch: -1}
		m.Raw = encodeMigration(m)
	}
	g.serial("/migration", m.Raw)
	g.snap.Migration = &m
}

// replicasFor spreads replicas round-robin over the brokers.
func (g *generator) replicasFor(topicIdx, p int) []int32 {
	n := g.spec.Brokers
	rf := g.spec.ReplicationFactor
	r := make([]int32, rf)
	for k := 0; k < rf; k++ {
		r[k] = int32((topicIdx+p+k)%n + 1)
	}
	return r
}

// topicSpec is one topic to write: the model plus how to write it.
type topicSpec struct {
	topic     zkreader.Topic
	noState   map[int32]bool // partitions without a state znode
	epochBump map[int32]int  // partition -> number of updates of its state
}

// addTopic plans a topic's znodes as one parallel group: the topic znode,
// /partitions, and per partition /partitions/<p> and its state.
func (g *generator) addTopic(ts topicSpec) {
	t := ts.topic
	group := []znodeWrite{
		{path: "/brokers/topics/" + t.Name, data: encodeTopic(t)},
		{path: "/brokers/topics/" + t.Name + "/partitions"},
	}
	for i := range t.Partitions {
		p := &t.Partitions[i]
		pp := fmt.Sprintf("/brokers/topics/%s/partitions/%d", t.Name, p.ID)
		group = append(group, znodeWrite{path: pp})
		if ts.noState[p.ID] || p.State == nil {
			p.State = nil
			continue
		}
		// The partition epoch is the state znode's version: the seeder
		// writes the state, then updates it n times (a controller's ISR and
		// leader changes), each update bumping the version.
		n := ts.epochBump[p.ID]
		st := *p.State
		var ups [][]byte
		for k := 0; k < n; k++ {
			ups = append(ups, encodePartitionState(st))
		}
		group = append(group, znodeWrite{path: pp + "/state", data: encodePartitionState(st), updates: ups})
		p.State.Stat.Version = int32(n)
	}
	g.plan.groups = append(g.plan.groups, group)
	g.snap.Topics = append(g.snap.Topics, t)
}

// newPartitions builds count partitions with states from the replica layout.
func (g *generator) newPartitions(topicIdx, count int) []zkreader.Partition {
	ps := make([]zkreader.Partition, count)
	for p := 0; p < count; p++ {
		reps := g.replicasFor(topicIdx, p)
		isr := append([]int32(nil), reps...)
		if p%11 == 5 && len(isr) > 1 {
			isr = isr[:len(isr)-1] // a shrunk ISR
		}
		ps[p] = zkreader.Partition{ID: int32(p), Replicas: reps,
			State: &zkreader.PartitionState{Version: 1, Leader: reps[0], LeaderEpoch: int32(p % 5), ControllerEpoch: g.ctrlEpoch - int32(p%3), ISR: isr}}
	}
	return ps
}

func (g *generator) plainTopics() {
	for i := 0; i < g.spec.Topics; i++ {
		name := fmt.Sprintf("topic-%05d", i)
		id := kafka.DerivedUUID("topic", name)
		t := zkreader.Topic{Name: name, Version: 3, TopicID: &id, Partitions: g.newPartitions(i, g.spec.PartitionsPerTopic)}
		bumps := map[int32]int{}
		for _, p := range t.Partitions {
			if p.ID%7 == 3 {
				bumps[p.ID] = 1 + int(p.ID)%3
			}
		}
		g.addTopic(topicSpec{topic: t, epochBump: bumps})
		if i%10 == 0 && g.spec.EdgeCases {
			g.topicConfig(name, map[string]string{"retention.ms": "86400000", "cleanup.policy": "delete"})
		}
	}
}

func (g *generator) topicConfig(name string, cfg map[string]string) {
	g.serial("/config/topics/"+name, encodeConfig(cfg))
	g.snap.TopicConfigs = append(g.snap.TopicConfigs, zkreader.EntityConfig{Name: name, Config: cfg})
}

func (g *generator) brokerConfig(name string, cfg map[string]string) {
	g.serial("/config/brokers/"+name, encodeConfig(cfg))
	g.snap.BrokerConfigs = append(g.snap.BrokerConfigs, zkreader.EntityConfig{Name: name, Config: cfg})
}

// LongTopicName is the 249-character topic name (Kafka's maximum) the
// edge cases include.
var LongTopicName = "long-topic-name-" + strings.Repeat("x", 249-len("long-topic-name-")-4) + "-end"

// Edge-case topic names.
const (
	TopicLegacyV1      = "legacy-v1-topic"    // version 1, no topic id
	TopicLegacyV2      = "legacy-v2-topic"    // version 2, no topic id
	TopicReassigning   = "reassigning-topic"  // partition 0: reassignment in flight
	TopicOffline       = "offline-topic"      // partition 0: leader -1
	TopicRecovering    = "recovering-topic"   // partition 0: leader_recovery_state 1
	TopicStateless     = "stateless-topic"    // partition 1: no state znode
	TopicPendingDelete = "deleted-topic"      // listed under /admin/delete_topics
	TopicOffsets       = "__consumer_offsets" // 50 partitions, compacted
)

func (g *generator) edgeCases() {
	// Topics without a topic id, written by Kafka <= 2.3 (v1) and 2.4-2.7 (v2).
	g.addTopic(topicSpec{topic: zkreader.Topic{Name: TopicLegacyV1, Version: 1, Partitions: g.newPartitions(1, 2)}})
	g.addTopic(topicSpec{topic: zkreader.Topic{Name: TopicLegacyV2, Version: 2, Partitions: g.newPartitions(2, 2)}})

	// A reassignment in flight on partition 0 (KIP-455): from origin to
	// target, replicas = (target ++ origin).distinct.
	{
		id := kafka.DerivedUUID("topic", TopicReassigning)
		ps := g.newPartitions(3, 2)
		// brokers 1,2 -> 2,3 (adding 3, removing 1); with two brokers 1 -> 2.
		origin, target := []int32{1}, []int32{1}
		switch {
		case g.spec.Brokers >= 3:
			origin, target = []int32{1, 2}, []int32{2, 3}
		case g.spec.Brokers == 2:
			origin, target = []int32{1}, []int32{2}
		}
		reps, adding, removing := unionReplicas(target, origin)
		ps[0].Replicas, ps[0].AddingReplicas, ps[0].RemovingReplicas = reps, adding, removing
		ps[0].State.Leader, ps[0].State.ISR = origin[0], append([]int32(nil), origin...)
		g.addTopic(topicSpec{topic: zkreader.Topic{Name: TopicReassigning, Version: 3, TopicID: &id, Partitions: ps}, epochBump: map[int32]int{0: 2}})
		// The deprecated (pre-2.4) request znode, still handled by a ZK controller.
		raw := []byte(fmt.Sprintf(`{"version":1,"partitions":[{"topic":%q,"partition":0,"replicas":%s}]}`, TopicReassigning, jsonInts(target)))
		g.serial("/admin/reassign_partitions", raw)
		g.snap.LegacyReassignment = &zkreader.RawZnode{Path: "/admin/reassign_partitions", Data: raw}
	}
	// An offline partition: leader -1, the ISR keeps the last leader.
	{
		id := kafka.DerivedUUID("topic", TopicOffline)
		ps := g.newPartitions(4, 2)
		ps[0].State.Leader, ps[0].State.ISR, ps[0].State.LeaderEpoch = -1, []int32{ps[0].Replicas[0]}, 9
		g.addTopic(topicSpec{topic: zkreader.Topic{Name: TopicOffline, Version: 3, TopicID: &id, Partitions: ps}, epochBump: map[int32]int{0: 4}})
	}
	// A partition elected uncleanly that has not recovered yet.
	{
		id := kafka.DerivedUUID("topic", TopicRecovering)
		ps := g.newPartitions(5, 1)
		ps[0].State.LeaderRecoveryState, ps[0].State.ISR = 1, []int32{ps[0].Replicas[0]}
		g.addTopic(topicSpec{topic: zkreader.Topic{Name: TopicRecovering, Version: 3, TopicID: &id, Partitions: ps}, epochBump: map[int32]int{0: 1}})
	}
	// A partition whose state znode is missing.
	{
		id := kafka.DerivedUUID("topic", TopicStateless)
		g.addTopic(topicSpec{topic: zkreader.Topic{Name: TopicStateless, Version: 3, TopicID: &id, Partitions: g.newPartitions(6, 2)}, noState: map[int32]bool{1: true}})
	}
	// A topic pending deletion: the controller moved its leaders to -2.
	{
		id := kafka.DerivedUUID("topic", TopicPendingDelete)
		ps := g.newPartitions(7, 2)
		for i := range ps {
			ps[i].State.Leader = -2
			ps[i].State.LeaderEpoch++
		}
		g.addTopic(topicSpec{topic: zkreader.Topic{Name: TopicPendingDelete, Version: 3, TopicID: &id, Partitions: ps}, epochBump: map[int32]int{0: 1, 1: 1}})
		g.serial("/admin/delete_topics/"+TopicPendingDelete, nil)
		g.snap.PendingDeletions = append(g.snap.PendingDeletions, TopicPendingDelete)
	}
	// __consumer_offsets and the longest legal topic name.
	{
		id := kafka.DerivedUUID("topic", TopicOffsets)
		g.addTopic(topicSpec{topic: zkreader.Topic{Name: TopicOffsets, Version: 3, TopicID: &id, Partitions: g.newPartitions(8, 50)}})
		g.topicConfig(TopicOffsets, map[string]string{"cleanup.policy": "compact", "compression.type": "producer", "segment.bytes": "104857600"})
		lid := kafka.DerivedUUID("topic", LongTopicName)
		g.addTopic(topicSpec{topic: zkreader.Topic{Name: LongTopicName, Version: 3, TopicID: &lid, Partitions: g.newPartitions(9, 1)}})
		g.topicConfig(LongTopicName, map[string]string{"max.message.bytes": "2097152"})
	}

	// Broker configs: per broker, the cluster default, an encrypted password
	// (EncryptingPasswordEncoder's key:value form, opaque here) and a broker
	// whose dynamic configs were all removed (empty config).
	g.brokerConfig("1", map[string]string{
		"log.cleaner.threads":                "2",
		"listener.name.ssl.ssl.key.password": EncryptedPasswordValue,
	})
	g.brokerConfig(kafka.DefaultEntity, map[string]string{"log.retention.ms": "604800000", "min.insync.replicas": "2", "unclean.leader.election.enable": "false"})
	if g.spec.Brokers >= 2 {
		g.brokerConfig("2", map[string]string{})
	}

	g.quotasAndScram()
	g.acls()
	g.delegationTokens()
	g.notifications()
}

// EncryptedPasswordValue is a password config as a ZooKeeper-mode broker
// stores it (EncryptingPasswordEncoder: comma-separated key:value). The
// values are fixed opaque bytes, not a real ciphertext.
const EncryptedPasswordValue = "keyFactoryAlgorithm:PBKDF2WithHmacSHA512,cipherAlgorithm:AES/CBC/PKCS5Padding,keyLength:128," +
	"salt:c2VlZC1zYWx0LW5vdC1hLXJlYWwtc2FsdC0wMTIzNDU2Nzg5,iterations:4096," +
	"encryptedPassword:b3BhcXVlLWNpcGhlcnRleHQ=,passwordLength:12,initializationVector:aXYtMDEyMzQ1Njc4OWFi"

// unionReplicas returns Kafka's (target ++ origin).distinct and the adding
// (target -- origin) and removing (origin -- target) lists.
func unionReplicas(target, origin []int32) (reps, adding, removing []int32) {
	seen := map[int32]bool{}
	for _, r := range append(append([]int32{}, target...), origin...) {
		if !seen[r] {
			seen[r] = true
			reps = append(reps, r)
		}
	}
	in := func(s []int32, v int32) bool {
		for _, x := range s {
			if x == v {
				return true
			}
		}
		return false
	}
	for _, r := range target {
		if !in(origin, r) {
			adding = append(adding, r)
		}
	}
	for _, r := range origin {
		if !in(target, r) {
			removing = append(removing, r)
		}
	}
	return
}

func strp(s string) *string { return &s }

// quotaZnode plans one /config/users|clients|ips znode.
func (g *generator) quotaZnode(p string, entity []zkreader.QuotaEntityPart, values map[string]string, scram map[string]zkreader.ScramCredential) {
	cfg := map[string]string{}
	for k, v := range values {
		cfg[k] = v
	}
	mechs := make([]string, 0, len(scram))
	for m := range scram {
		mechs = append(mechs, m)
	}
	sort.Strings(mechs)
	for _, m := range mechs {
		c := scram[m]
		cfg[m] = encodeScram(c)
		c.Path, c.Mechanism = p, m
		g.snap.Scram = append(g.snap.Scram, c)
	}
	g.serial(p, encodeConfig(cfg))
	if len(values) > 0 {
		q := zkreader.ClientQuota{Path: p, Entity: entity, Values: map[string]float64{}}
		for k, v := range values {
			var f float64
			fmt.Sscan(v, &f)
			q.Values[k] = f
		}
		g.snap.Quotas = append(g.snap.Quotas, q)
	}
}

// scramCredential derives a deterministic credential (random-looking bytes).
func scramCredential(user, mech string, iterations int32) zkreader.ScramCredential {
	keyLen := 32
	if mech == "SCRAM-SHA-512" {
		keyLen = 64
	}
	return zkreader.ScramCredential{User: user, Mechanism: mech, Iterations: iterations,
		Salt:      derivedBytes(24, "salt", user, mech),
		StoredKey: derivedBytes(keyLen, "stored", user, mech),
		ServerKey: derivedBytes(keyLen, "server", user, mech)}
}

func derivedBytes(n int, parts ...string) []byte {
	var out []byte
	for i := 0; len(out) < n; i++ {
		u := kafka.DerivedUUID(append(parts, fmt.Sprint(i))...)
		out = append(out, u[:]...)
	}
	return out[:n]
}

func userPart(name *string) zkreader.QuotaEntityPart {
	return zkreader.QuotaEntityPart{Type: kafka.QuotaEntityUser, Name: name}
}

func clientPart(name *string) zkreader.QuotaEntityPart {
	return zkreader.QuotaEntityPart{Type: kafka.QuotaEntityClientID, Name: name}
}

func ipPart(name *string) zkreader.QuotaEntityPart {
	return zkreader.QuotaEntityPart{Type: kafka.QuotaEntityIP, Name: name}
}

// Quota and SCRAM entity names the edge cases use (desanitized).
const (
	QuotaUserURL   = "user/1@prod"     // stored as user%2F1%40prod
	QuotaUserDN    = "CN=bob,O=acme"   // stored as CN%3Dbob%2CO%3Dacme
	QuotaClientURL = "client/1@domain" // stored as client%2F1%40domain
	QuotaIPv6      = "2001:db8::1"     // stored as 2001%3Adb8%3A%3A1
)

func (g *generator) quotasAndScram() {
	def := kafka.DefaultEntity
	users := "/config/users/"
	// users
	g.quotaZnode(users+def, []zkreader.QuotaEntityPart{userPart(nil)}, map[string]string{"producer_byte_rate": "1048576", "consumer_byte_rate": "2097152"}, nil)
	g.quotaZnode(users+kafka.Sanitize(QuotaUserURL), []zkreader.QuotaEntityPart{userPart(strp(QuotaUserURL))}, map[string]string{"producer_byte_rate": "102400", "request_percentage": "50.5"}, nil)
	g.quotaZnode(users+kafka.Sanitize(QuotaUserDN), []zkreader.QuotaEntityPart{userPart(strp(QuotaUserDN))}, map[string]string{"controller_mutation_rate": "10"}, nil)
	g.quotaZnode(users+"alice", []zkreader.QuotaEntityPart{userPart(strp("alice"))}, map[string]string{"consumer_byte_rate": "4096"},
		map[string]zkreader.ScramCredential{
			"SCRAM-SHA-256": scramCredential("alice", "SCRAM-SHA-256", 4096),
			"SCRAM-SHA-512": scramCredential("alice", "SCRAM-SHA-512", 8192),
		})
	g.quotaZnode(users+"bob", nil, nil, map[string]zkreader.ScramCredential{"SCRAM-SHA-512": scramCredential("bob", "SCRAM-SHA-512", 4096)})
	g.quotaZnode(users+kafka.Sanitize("svc@etl"), nil, nil, map[string]zkreader.ScramCredential{"SCRAM-SHA-256": scramCredential("svc@etl", "SCRAM-SHA-256", 4096)})
	// user+client: the intermediate /clients znodes have no data; carol's
	// own znode exists only as a parent (no data).
	g.serial(users+"alice/clients", nil)
	g.quotaZnode(users+"alice/clients/app-1", []zkreader.QuotaEntityPart{userPart(strp("alice")), clientPart(strp("app-1"))}, map[string]string{"producer_byte_rate": "2048"}, nil)
	g.serial(users+def+"/clients", nil)
	g.quotaZnode(users+def+"/clients/"+def, []zkreader.QuotaEntityPart{userPart(nil), clientPart(nil)}, map[string]string{"consumer_byte_rate": "1000"}, nil)
	u := kafka.Sanitize(QuotaUserURL)
	g.serial(users+u+"/clients", nil)
	g.quotaZnode(users+u+"/clients/"+kafka.Sanitize(QuotaClientURL), []zkreader.QuotaEntityPart{userPart(strp(QuotaUserURL)), clientPart(strp(QuotaClientURL))}, map[string]string{"request_percentage": "25"}, nil)
	g.serial(users+"carol", nil)
	g.serial(users+"carol/clients", nil)
	g.quotaZnode(users+"carol/clients/mobile-app", []zkreader.QuotaEntityPart{userPart(strp("carol")), clientPart(strp("mobile-app"))}, map[string]string{"consumer_byte_rate": "65536", "producer_byte_rate": "32768"}, nil)
	// clients
	g.quotaZnode("/config/clients/"+def, []zkreader.QuotaEntityPart{clientPart(nil)}, map[string]string{"producer_byte_rate": "512000"}, nil)
	g.quotaZnode("/config/clients/"+kafka.Sanitize(QuotaClientURL), []zkreader.QuotaEntityPart{clientPart(strp(QuotaClientURL))}, map[string]string{"consumer_byte_rate": "8192"}, nil)
	// ips
	g.quotaZnode("/config/ips/"+def, []zkreader.QuotaEntityPart{ipPart(nil)}, map[string]string{"connection_creation_rate": "100"}, nil)
	g.quotaZnode("/config/ips/192.168.0.1", []zkreader.QuotaEntityPart{ipPart(strp("192.168.0.1"))}, map[string]string{"connection_creation_rate": "5"}, nil)
	g.quotaZnode("/config/ips/"+kafka.Sanitize(QuotaIPv6), []zkreader.QuotaEntityPart{ipPart(strp(QuotaIPv6))}, map[string]string{"connection_creation_rate": "2.5"}, nil)
}

// acls writes literal and prefixed ACLs for every resource type.
func (g *generator) acls() {
	g.serial("/kafka-acl", nil)
	g.serial("/kafka-acl-extended", nil)
	g.serial("/kafka-acl-extended/prefixed", nil)
	for _, rt := range kafka.ResourceTypeOrder {
		g.serial("/kafka-acl/"+rt, nil)
		if rt != "Cluster" {
			g.serial("/kafka-acl-extended/prefixed/"+rt, nil)
		}
	}
	e := func(principal, perm, op, host string) zkreader.ACLEntry {
		return zkreader.ACLEntry{Principal: principal, PermissionType: perm, Operation: op, Host: host}
	}
	type res struct {
		rt, pattern, name string
		entries           []zkreader.ACLEntry
	}
	all := []res{
		{"Topic", "LITERAL", "orders", []zkreader.ACLEntry{e("User:alice", "Allow", "Read", "*"), e("User:alice", "Allow", "Describe", "*"), e("User:bob", "Deny", "Write", "10.0.0.7")}},
		{"Topic", "LITERAL", "*", []zkreader.ACLEntry{e("User:admin", "Allow", "All", "*")}},
		{"Topic", "LITERAL", LongTopicName, []zkreader.ACLEntry{e("User:*", "Allow", "Describe", "*")}},
		{"Topic", "PREFIXED", "payments-", []zkreader.ACLEntry{e("User:svc@etl", "Allow", "Write", "*"), e("User:svc@etl", "Allow", "Create", "*")}},
		{"Group", "LITERAL", "billing", []zkreader.ACLEntry{e("User:alice", "Allow", "Read", "*")}},
		{"Group", "PREFIXED", "etl-", []zkreader.ACLEntry{e("User:svc@etl", "Allow", "Read", "*"), e("User:svc@etl", "Allow", "Delete", "*")}},
		{"Cluster", "LITERAL", "kafka-cluster", []zkreader.ACLEntry{e("User:admin", "Allow", "ClusterAction", "*"), e("User:alice", "Allow", "IdempotentWrite", "*"), e("User:ops", "Allow", "AlterConfigs", "*"), e("User:ops", "Allow", "DescribeConfigs", "*"), e("User:ops", "Allow", "Alter", "*")}},
		{"TransactionalId", "LITERAL", "tx-1", []zkreader.ACLEntry{e("User:alice", "Allow", "Write", "*"), e("User:alice", "Allow", "Describe", "*")}},
		{"TransactionalId", "PREFIXED", "tx-", []zkreader.ACLEntry{e("User:svc@etl", "Allow", "Write", "*")}},
		{"DelegationToken", "LITERAL", "token-1", []zkreader.ACLEntry{e("User:alice", "Allow", "Describe", "*")}},
		{"DelegationToken", "PREFIXED", "tok", []zkreader.ACLEntry{e("User:ops", "Allow", "Describe", "*")}},
		{"User", "LITERAL", "User:alice", []zkreader.ACLEntry{e("User:ops", "Allow", "CreateTokens", "*"), e("User:ops", "Allow", "DescribeTokens", "*")}},
		{"User", "PREFIXED", "User:svc", []zkreader.ACLEntry{e("User:ops", "Allow", "DescribeTokens", "*")}},
	}
	for _, r := range all {
		p := "/kafka-acl/" + r.rt + "/" + r.name
		if r.pattern == "PREFIXED" {
			p = "/kafka-acl-extended/prefixed/" + r.rt + "/" + r.name
		}
		g.serial(p, encodeACLs(r.entries))
		entries := append([]zkreader.ACLEntry(nil), r.entries...)
		zkreader.SortACLEntries(entries)
		g.snap.ACLs = append(g.snap.ACLs, zkreader.ACLResource{Path: p, ResourceType: r.rt, PatternType: r.pattern, Name: r.name, Entries: entries})
	}
}

func (g *generator) delegationTokens() {
	g.serial("/delegation_token", nil)
	g.serial("/delegation_token/tokens", nil)
	g.serial("/delegation_token/token_changes", nil)
	toks := []zkreader.DelegationToken{
		{Version: 3, TokenID: "token-1", Owner: "User:alice", Requester: "User:ops", Renewers: []string{"User:alice", "User:bob"},
			IssueTimestamp: g.now - 3600_000, MaxTimestamp: g.now + 7*86400_000, ExpiryTimestamp: g.now + 86400_000},
		{Version: 3, TokenID: "token-2", Owner: "User:svc@etl", Requester: "User:svc@etl", Renewers: []string{},
			IssueTimestamp: g.now - 60_000, MaxTimestamp: g.now + 86400_000, ExpiryTimestamp: g.now + 3600_000},
	}
	for _, t := range toks {
		g.serial("/delegation_token/tokens/"+t.TokenID, encodeDelegationToken(t))
		g.snap.DelegationTokens = append(g.snap.DelegationTokens, t)
	}
}

// notifications writes the change notifications a live cluster leaves
// (sequential znodes; not part of the model: they are not migrated).
func (g *generator) notifications() {
	seq := func(p string, data []byte) {
		g.plan.serial = append(g.plan.serial, znodeWrite{path: p, data: data, flags: zk.FlagSequence})
	}
	seq("/config/changes/config_change_", []byte(`{"version":2,"entity_path":"topics/`+TopicOffsets+`"}`))
	seq("/config/changes/config_change_", []byte(`{"version":2,"entity_path":"brokers/<default>"}`))
	seq("/config/changes/config_change_", []byte(`{"version":2,"entity_path":"users/alice/clients/app-1"}`))
	g.serial("/kafka-acl-changes", nil)
	g.serial("/kafka-acl-extended-changes", nil)
	seq("/kafka-acl-changes/acl_changes_", []byte("TOPIC:orders"))
	seq("/kafka-acl-extended-changes/acl_changes_", []byte(`{"version":1,"resourceType":"TOPIC","name":"payments-","patternType":"PREFIXED"}`))
	seq("/delegation_token/token_changes/token_change_", []byte("token-1"))
	seq("/isr_change_notification/isr_change_", []byte(`{"version":1,"partitions":[{"topic":"`+TopicOffsets+`","partition":0}]}`))
}

func (g *generator) sortSnapshot() {
	s := g.snap
	sort.Slice(s.Brokers, func(i, k int) bool { return s.Brokers[i].ID < s.Brokers[k].ID })
	sort.Slice(s.Topics, func(i, k int) bool { return s.Topics[i].Name < s.Topics[k].Name })
	sort.Slice(s.TopicConfigs, func(i, k int) bool { return s.TopicConfigs[i].Name < s.TopicConfigs[k].Name })
	sort.Slice(s.BrokerConfigs, func(i, k int) bool { return s.BrokerConfigs[i].Name < s.BrokerConfigs[k].Name })
	sort.Slice(s.Quotas, func(i, k int) bool { return s.Quotas[i].Path < s.Quotas[k].Path })
	sort.Slice(s.Scram, func(i, k int) bool {
		if s.Scram[i].Path != s.Scram[k].Path {
			return s.Scram[i].Path < s.Scram[k].Path
		}
		return s.Scram[i].Mechanism < s.Scram[k].Mechanism
	})
	sort.Slice(s.ACLs, func(i, k int) bool { return s.ACLs[i].Path < s.ACLs[k].Path })
	sort.Slice(s.DelegationTokens, func(i, k int) bool { return s.DelegationTokens[i].TokenID < s.DelegationTokens[k].TokenID })
	sort.Strings(s.PendingDeletions)
}
