package testenv

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zk2kraft/zk2kraft/kafka"
	"github.com/zk2kraft/zk2kraft/zkreader"
)

// ChurnKind is one kind of change the churn generator makes.
type ChurnKind string

// Churn kinds. Each writes what a live Kafka cluster (its controller,
// brokers and admin tools) writes for that change.
const (
	ChurnCreateTopic     ChurnKind = "create-topic"      // /config/topics/<t> then the topic, partitions and states
	ChurnDeleteTopic     ChurnKind = "delete-topic"      // /admin/delete_topics/<t>, recursive removal, marker removal
	ChurnAddPartitions   ChurnKind = "add-partitions"    // topic znode rewritten, new partitions and states
	ChurnMoveLeader      ChurnKind = "move-leader"       // new leader from the ISR, leader_epoch+1
	ChurnShrinkISR       ChurnKind = "shrink-isr"        // a follower leaves the ISR
	ChurnExpandISR       ChurnKind = "expand-isr"        // a replica rejoins the ISR
	ChurnControllerMove  ChurnKind = "controller-move"   // a new controller: /controller_epoch+1, /controller rewritten
	ChurnTopicConfig     ChurnKind = "topic-config"      // /config/topics/<t> + /config/changes notification
	ChurnBrokerConfig    ChurnKind = "broker-config"     // /config/brokers/<id|<default>> + notification
	ChurnQuota           ChurnKind = "quota"             // /config/users|clients|ips/... + notification
	ChurnACL             ChurnKind = "acl"               // add or remove an ACL entry + /kafka-acl*-changes
	ChurnScram           ChurnKind = "scram"             // add or remove a SCRAM user + notification
	ChurnProducerIDBlock ChurnKind = "producer-id-block" // the next block of 1000 producer ids
)

// AllChurnKinds lists every kind.
var AllChurnKinds = []ChurnKind{ChurnCreateTopic, ChurnDeleteTopic, ChurnAddPartitions, ChurnMoveLeader, ChurnShrinkISR,
	ChurnExpandISR, ChurnControllerMove, ChurnTopicConfig, ChurnBrokerConfig, ChurnQuota, ChurnACL, ChurnScram, ChurnProducerIDBlock}

// ChurnOptions configure Churn.
type ChurnOptions struct {
	Rate       float64       // changes per second (default 20)
	Duration   time.Duration // stop after this long (0: no limit)
	MaxChanges int           // stop after this many changes (0: no limit)
	Seed       uint64        // seeds the choice of changes (same seed, same sequence on the same state)
	Kinds      []ChurnKind   // the kinds to make (default AllChurnKinds)
	// Protected topics are never deleted, given partitions or reconfigured
	// (default: __consumer_offsets and the edge-case topics, so the edge
	// cases survive); their leaders and ISRs still change.
	Protected []string
}

// ChurnEvent is one write the generator made.
type ChurnEvent struct {
	Seq    int       `json:"seq"`
	Kind   ChurnKind `json:"kind"`
	Op     string    `json:"op"`   // create, set, delete, multi
	Path   string    `json:"path"` // the main znode (without chroot)
	Zxid   int64     `json:"zxid"` // the write's zxid (mzxid/czxid, or the parent's pzxid for a delete); 0 if unknown
	Time   time.Time `json:"time"`
	Detail string    `json:"detail,omitempty"`
}

// ChurnLog is everything a Churn run did.
type ChurnLog struct {
	Events  []ChurnEvent      `json:"events"`
	Changes int               `json:"changes"` // logical changes (a topic deletion is one change of three writes)
	ByKind  map[ChurnKind]int `json:"byKind"`
	Elapsed time.Duration     `json:"elapsed"`
}

// Churn changes the cluster like a live one at opts.Rate changes per second
// until opts.Duration, opts.MaxChanges or ctx ends it, and updates expected
// (the model Seed returned, or a later one) in place after every write, so
// that it always describes ZooKeeper's state. expected must not be read
// concurrently while Churn runs. Controller-side writes (partition states,
// topic znodes) are fenced like a controller's: a Multi that checks
// /controller_epoch's version, and partition states are set conditionally on
// their version, so each write's partition epoch is known exactly.
//
// An error ends the run; the log holds every write made until then and
// expected matches ZooKeeper up to the failed change (whose writes are
// atomic or logged step by step).
func Churn(ctx context.Context, conn *zk.Conn, expected *zkreader.Snapshot, opts ChurnOptions) (*ChurnLog, error) {
	if opts.Rate <= 0 {
		opts.Rate = 20
	}
	if len(opts.Kinds) == 0 {
		opts.Kinds = AllChurnKinds
	}
	if opts.Protected == nil {
		opts.Protected = []string{TopicOffsets, TopicLegacyV1, TopicLegacyV2, TopicReassigning, TopicOffline, TopicRecovering, TopicStateless, TopicPendingDelete, LongTopicName}
	}
	for _, k := range opts.Kinds {
		known := false
		for _, a := range AllChurnKinds {
			known = known || a == k
		}
		if !known {
			return nil, fmt.Errorf("churn: unknown kind %q", k)
		}
	}
	if expected == nil || expected.ControllerEpoch == nil || len(expected.Brokers) == 0 {
		return nil, errors.New("churn: expected must be a seeded cluster's model (controller epoch and brokers)")
	}
	c := &churner{conn: conn, snap: expected, opts: opts, log: &ChurnLog{ByKind: map[ChurnKind]int{}},
		rng: rand.New(rand.NewPCG(opts.Seed, 0x2b7e151628aed2a6)), protected: map[string]bool{}}
	for _, p := range opts.Protected {
		c.protected[p] = true
	}
	start := time.Now()
	if opts.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opts.Duration)
		defer cancel()
	}
	tick := time.NewTicker(time.Duration(float64(time.Second) / opts.Rate))
	defer tick.Stop()
	var err error
	for opts.MaxChanges == 0 || c.log.Changes < opts.MaxChanges {
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
		if ctx.Err() != nil {
			break
		}
		if err = c.one(); err != nil {
			break
		}
	}
	c.log.Elapsed = time.Since(start)
	return c.log, err
}

type churner struct {
	conn      *zk.Conn
	snap      *zkreader.Snapshot
	opts      ChurnOptions
	log       *ChurnLog
	rng       *rand.Rand
	protected map[string]bool
	created   int
}

// errNotApplicable: the chosen kind has nothing to act on now.
var errNotApplicable = errors.New("not applicable")

// one makes one change of a random applicable kind.
func (c *churner) one() error {
	kinds := append([]ChurnKind(nil), c.opts.Kinds...)
	c.rng.Shuffle(len(kinds), func(i, k int) { kinds[i], kinds[k] = kinds[k], kinds[i] })
	for _, k := range kinds {
		err := c.do(k)
		if errors.Is(err, errNotApplicable) {
			continue
		}
		if err != nil {
			return fmt.Errorf("churn %s: %w", k, err)
		}
		c.log.Changes++
		c.log.ByKind[k]++
		return nil
	}
	return errors.New("churn: no kind applicable to the current state")
}

func (c *churner) do(k ChurnKind) error {
	switch k {
	case ChurnCreateTopic:
		return c.createTopic()
	case ChurnDeleteTopic:
		return c.deleteTopic()
	case ChurnAddPartitions:
		return c.addPartitions()
	case ChurnMoveLeader, ChurnShrinkISR, ChurnExpandISR:
		return c.partitionChange(k)
	case ChurnControllerMove:
		return c.controllerMove()
	case ChurnTopicConfig:
		return c.topicConfig()
	case ChurnBrokerConfig:
		return c.brokerConfig()
	case ChurnQuota:
		return c.quota()
	case ChurnACL:
		return c.acl()
	case ChurnScram:
		return c.scram()
	case ChurnProducerIDBlock:
		return c.producerIDBlock()
	}
	return errNotApplicable
}

func (c *churner) full(p string) string { return c.snap.Chroot + p }

func (c *churner) record(k ChurnKind, op, p string, zxid int64, detail string) {
	c.log.Events = append(c.log.Events, ChurnEvent{Seq: len(c.log.Events) + 1, Kind: k, Op: op, Path: p, Zxid: zxid, Time: time.Now(), Detail: detail})
}

// zxidOf returns the mzxid of p now (for creates, whose reply has no Stat).
func (c *churner) zxidOf(p string) int64 {
	_, st, err := c.conn.Exists(c.full(p))
	if err != nil || st == nil {
		return 0
	}
	return st.Mzxid
}

// pzxidOf returns the pzxid of p (the zxid of its last child change).
func (c *churner) pzxidOf(p string) int64 {
	_, st, err := c.conn.Exists(c.full(p))
	if err != nil || st == nil {
		return 0
	}
	return st.Pzxid
}

// multi runs ops and returns the first error naming its path.
func (c *churner) multi(ops ...any) ([]zk.MultiResponse, error) {
	resp, err := c.conn.Multi(ops...)
	for i, r := range resp {
		if r.Error != nil && r.Error != zk.ErrAPIError {
			return resp, fmt.Errorf("op %d: %w", i, r.Error)
		}
	}
	return resp, err
}

// fence is the check a ZooKeeper-mode controller adds to each write.
func (c *churner) fence() *zk.CheckVersionRequest {
	return &zk.CheckVersionRequest{Path: c.full("/controller_epoch"), Version: c.snap.ControllerEpoch.Stat.Version}
}

// zkACL is the ACL of the znodes churn creates (open, like a cluster
// without zookeeper.set.acl).
func (c *churner) zkACL() []zk.ACL { return zk.WorldACL(zk.PermAll) }

func (c *churner) brokerIDs() []int32 {
	ids := make([]int32, len(c.snap.Brokers))
	for i, b := range c.snap.Brokers {
		ids[i] = b.ID
	}
	return ids
}

func (c *churner) topicIndex(name string) int {
	i := sort.Search(len(c.snap.Topics), func(i int) bool { return c.snap.Topics[i].Name >= name })
	if i < len(c.snap.Topics) && c.snap.Topics[i].Name == name {
		return i
	}
	return -1
}

func (c *churner) pendingDeletion(name string) bool {
	for _, p := range c.snap.PendingDeletions {
		if p == name {
			return true
		}
	}
	return false
}

// pickTopic picks a topic that churn may change (not protected, not being
// deleted; with a topic id when needID).
func (c *churner) pickTopic(needID bool) (int, bool) {
	var cand []int
	for i, t := range c.snap.Topics {
		if c.protected[t.Name] || c.pendingDeletion(t.Name) || (needID && t.TopicID == nil) {
			continue
		}
		cand = append(cand, i)
	}
	if len(cand) == 0 {
		return 0, false
	}
	return cand[c.rng.IntN(len(cand))], true
}

func (c *churner) newReplicas(p int) []int32 {
	ids := c.brokerIDs()
	rf := 3
	if rf > len(ids) {
		rf = len(ids)
	}
	start := c.rng.IntN(len(ids))
	r := make([]int32, rf)
	for k := range r {
		r[k] = ids[(start+p+k)%len(ids)]
	}
	return r
}

func (c *churner) createTopic() error {
	c.created++
	name := fmt.Sprintf("churn-%d-%d", c.opts.Seed, c.created)
	for c.topicIndex(name) >= 0 {
		c.created++
		name = fmt.Sprintf("churn-%d-%d", c.opts.Seed, c.created)
	}
	id := kafka.DerivedUUID("churn-topic", name, strconv.FormatInt(time.Now().UnixNano(), 10))
	nparts := 1 + c.rng.IntN(6)
	t := zkreader.Topic{Name: name, Version: 3, TopicID: &id}
	for p := 0; p < nparts; p++ {
		reps := c.newReplicas(p)
		t.Partitions = append(t.Partitions, zkreader.Partition{ID: int32(p), Replicas: reps,
			State: &zkreader.PartitionState{Version: 1, Leader: reps[0], LeaderEpoch: 0, ControllerEpoch: c.snap.ControllerEpoch.Epoch, ISR: append([]int32(nil), reps...)}})
	}
	cfg := map[string]string{}
	if c.rng.IntN(2) == 0 {
		cfg["retention.ms"] = strconv.Itoa(3600000 * (1 + c.rng.IntN(48)))
	}
	// AdminZkClient.createTopicWithAssignment: the config znode first, then
	// the topic znode; the controller then creates partitions and states.
	cp := "/config/topics/" + name
	if _, err := c.conn.Create(c.full(cp), encodeConfig(cfg), 0, c.zkACL()); err != nil {
		return fmt.Errorf("create %s: %w", cp, err)
	}
	c.snap.TopicConfigs = insertConfig(c.snap.TopicConfigs, zkreader.EntityConfig{Name: name, Config: cfg})
	c.record(ChurnCreateTopic, "create", cp, c.zxidOf(cp), "")
	tp := "/brokers/topics/" + name
	if _, err := c.conn.Create(c.full(tp), encodeTopic(t), 0, c.zkACL()); err != nil {
		return fmt.Errorf("create %s: %w", tp, err)
	}
	withState := t
	t.Partitions = nil
	for _, p := range withState.Partitions {
		q := p
		q.State = nil
		t.Partitions = append(t.Partitions, q)
	}
	c.insertTopic(t)
	c.record(ChurnCreateTopic, "create", tp, c.zxidOf(tp), fmt.Sprintf("%d partitions", nparts))
	ops := []any{c.fence(), &zk.CreateRequest{Path: c.full(tp + "/partitions"), Acl: c.zkACL()}}
	for _, p := range withState.Partitions {
		pp := fmt.Sprintf("%s/partitions/%d", tp, p.ID)
		ops = append(ops, &zk.CreateRequest{Path: c.full(pp), Acl: c.zkACL()},
			&zk.CreateRequest{Path: c.full(pp + "/state"), Data: encodePartitionState(*p.State), Acl: c.zkACL()})
	}
	if _, err := c.multi(ops...); err != nil {
		return fmt.Errorf("create partitions of %s: %w", name, err)
	}
	c.snap.Topics[c.topicIndex(name)] = withState
	c.record(ChurnCreateTopic, "multi", tp+"/partitions", c.pzxidOf(tp+"/partitions"), "partitions and states")
	return nil
}

func (c *churner) insertTopic(t zkreader.Topic) {
	i := sort.Search(len(c.snap.Topics), func(i int) bool { return c.snap.Topics[i].Name >= t.Name })
	c.snap.Topics = append(c.snap.Topics, zkreader.Topic{})
	copy(c.snap.Topics[i+1:], c.snap.Topics[i:])
	c.snap.Topics[i] = t
}

func insertConfig(list []zkreader.EntityConfig, e zkreader.EntityConfig) []zkreader.EntityConfig {
	for i := range list {
		if list[i].Name == e.Name {
			list[i] = e
			return list
		}
	}
	list = append(list, e)
	sort.Slice(list, func(i, k int) bool { return list[i].Name < list[k].Name })
	return list
}

// deleteTopic deletes a topic the way Kafka does: the admin client creates
// /admin/delete_topics/<t>; the controller removes the topic's znodes and
// its config, then the marker.
func (c *churner) deleteTopic() error {
	i, ok := c.pickTopic(false)
	if !ok {
		return errNotApplicable
	}
	t := c.snap.Topics[i]
	marker := "/admin/delete_topics/" + t.Name
	if _, err := c.conn.Create(c.full(marker), nil, 0, c.zkACL()); err != nil {
		return fmt.Errorf("create %s: %w", marker, err)
	}
	c.snap.PendingDeletions = append(c.snap.PendingDeletions, t.Name)
	sort.Strings(c.snap.PendingDeletions)
	c.record(ChurnDeleteTopic, "create", marker, c.zxidOf(marker), "")
	// The controller's removal: states, partitions, the topic, its config.
	tp := "/brokers/topics/" + t.Name
	ops := []any{c.fence()}
	for _, p := range t.Partitions {
		pp := fmt.Sprintf("%s/partitions/%d", tp, p.ID)
		if p.State != nil {
			ops = append(ops, &zk.DeleteRequest{Path: c.full(pp + "/state"), Version: -1})
		}
		ops = append(ops, &zk.DeleteRequest{Path: c.full(pp), Version: -1})
	}
	ops = append(ops, &zk.DeleteRequest{Path: c.full(tp + "/partitions"), Version: -1}, &zk.DeleteRequest{Path: c.full(tp), Version: -1})
	hasConfig := false
	for _, cfg := range c.snap.TopicConfigs {
		hasConfig = hasConfig || cfg.Name == t.Name
	}
	if hasConfig {
		ops = append(ops, &zk.DeleteRequest{Path: c.full("/config/topics/" + t.Name), Version: -1})
	}
	if _, err := c.multi(ops...); err != nil {
		return fmt.Errorf("delete %s: %w", tp, err)
	}
	c.snap.Topics = append(c.snap.Topics[:i], c.snap.Topics[i+1:]...)
	for k := range c.snap.TopicConfigs {
		if c.snap.TopicConfigs[k].Name == t.Name {
			c.snap.TopicConfigs = append(c.snap.TopicConfigs[:k], c.snap.TopicConfigs[k+1:]...)
			break
		}
	}
	c.record(ChurnDeleteTopic, "multi", tp, c.pzxidOf("/brokers/topics"), "topic, partitions, states and config removed")
	if err := c.conn.Delete(c.full(marker), -1); err != nil {
		return fmt.Errorf("delete %s: %w", marker, err)
	}
	for k, p := range c.snap.PendingDeletions {
		if p == t.Name {
			c.snap.PendingDeletions = append(c.snap.PendingDeletions[:k], c.snap.PendingDeletions[k+1:]...)
			break
		}
	}
	c.record(ChurnDeleteTopic, "delete", marker, c.pzxidOf("/admin/delete_topics"), "")
	return nil
}

func (c *churner) addPartitions() error {
	i, ok := c.pickTopic(true)
	if !ok {
		return errNotApplicable
	}
	t := c.snap.Topics[i]
	if len(t.Partitions) >= 64 {
		return errNotApplicable
	}
	add := 1 + c.rng.IntN(3)
	next := t
	next.Partitions = append([]zkreader.Partition(nil), t.Partitions...)
	var newParts []zkreader.Partition
	for k := 0; k < add; k++ {
		id := int32(len(t.Partitions) + k)
		for _, p := range t.Partitions {
			if p.ID >= id {
				id = p.ID + 1 + int32(k)
			}
		}
		reps := c.newReplicas(int(id))
		np := zkreader.Partition{ID: id, Replicas: reps, State: &zkreader.PartitionState{Version: 1, Leader: reps[0],
			ControllerEpoch: c.snap.ControllerEpoch.Epoch, ISR: append([]int32(nil), reps...)}}
		newParts = append(newParts, np)
		next.Partitions = append(next.Partitions, np)
	}
	tp := "/brokers/topics/" + t.Name
	ops := []any{c.fence(), &zk.SetDataRequest{Path: c.full(tp), Data: encodeTopic(next), Version: -1}}
	for _, p := range newParts {
		pp := fmt.Sprintf("%s/partitions/%d", tp, p.ID)
		ops = append(ops, &zk.CreateRequest{Path: c.full(pp), Acl: c.zkACL()},
			&zk.CreateRequest{Path: c.full(pp + "/state"), Data: encodePartitionState(*p.State), Acl: c.zkACL()})
	}
	resp, err := c.multi(ops...)
	if err != nil {
		return fmt.Errorf("add partitions to %s: %w", tp, err)
	}
	c.snap.Topics[i] = next
	var zxid int64
	if len(resp) > 1 && resp[1].Stat != nil {
		zxid = resp[1].Stat.Mzxid
	}
	c.record(ChurnAddPartitions, "multi", tp, zxid, fmt.Sprintf("%d -> %d partitions", len(t.Partitions), len(next.Partitions)))
	return nil
}

// partitionChange moves a leader or changes an ISR with a fenced,
// conditional setData: the partition epoch (zkVersion) increments.
func (c *churner) partitionChange(k ChurnKind) error {
	type ref struct{ t, p int }
	var cand []ref
	for ti, t := range c.snap.Topics {
		if c.pendingDeletion(t.Name) {
			continue
		}
		for pi, p := range t.Partitions {
			s := p.State
			if s == nil || s.Leader < 0 || len(p.AddingReplicas) > 0 || len(p.RemovingReplicas) > 0 {
				continue
			}
			switch k {
			case ChurnMoveLeader, ChurnShrinkISR:
				if len(s.ISR) >= 2 {
					cand = append(cand, ref{ti, pi})
				}
			case ChurnExpandISR:
				if len(s.ISR) < len(p.Replicas) {
					cand = append(cand, ref{ti, pi})
				}
			}
		}
	}
	if len(cand) == 0 {
		return errNotApplicable
	}
	r := cand[c.rng.IntN(len(cand))]
	t := &c.snap.Topics[r.t]
	p := &t.Partitions[r.p]
	next := *p.State
	next.ISR = append([]int32(nil), p.State.ISR...)
	next.ControllerEpoch = c.snap.ControllerEpoch.Epoch
	var detail string
	switch k {
	case ChurnMoveLeader:
		var others []int32
		for _, id := range next.ISR {
			if id != next.Leader {
				others = append(others, id)
			}
		}
		next.Leader = others[c.rng.IntN(len(others))]
		next.LeaderEpoch++
		detail = fmt.Sprintf("leader %d -> %d, leader epoch %d", p.State.Leader, next.Leader, next.LeaderEpoch)
	case ChurnShrinkISR:
		var keep []int32
		removed := int32(-1)
		for _, id := range next.ISR {
			if id != next.Leader && removed < 0 {
				removed = id
				continue
			}
			keep = append(keep, id)
		}
		next.ISR = keep
		detail = fmt.Sprintf("ISR -%d", removed)
	case ChurnExpandISR:
		in := map[int32]bool{}
		for _, id := range next.ISR {
			in[id] = true
		}
		for _, id := range p.Replicas {
			if !in[id] {
				next.ISR = append(next.ISR, id)
				detail = fmt.Sprintf("ISR +%d", id)
				break
			}
		}
	}
	sp := fmt.Sprintf("/brokers/topics/%s/partitions/%d/state", t.Name, p.ID)
	resp, err := c.multi(c.fence(), &zk.SetDataRequest{Path: c.full(sp), Data: encodePartitionState(next), Version: p.State.Stat.Version})
	if err != nil {
		return fmt.Errorf("set %s (version %d): %w", sp, p.State.Stat.Version, err)
	}
	st := resp[1].Stat
	next.Stat = zkreader.Stat{Version: st.Version, Mzxid: st.Mzxid, Czxid: st.Czxid, Ctime: st.Ctime, Mtime: st.Mtime}
	p.State = &next
	c.record(k, "set", sp, st.Mzxid, fmt.Sprintf("%s, partition epoch %d", detail, st.Version))
	return nil
}

// controllerMove elects a new controller: /controller_epoch is bumped
// conditionally on its version and /controller names the new broker.
func (c *churner) controllerMove() error {
	ids := c.brokerIDs()
	ce := c.snap.ControllerEpoch
	next := ce.Epoch + 1
	st, err := c.conn.Set(c.full("/controller_epoch"), []byte(strconv.Itoa(int(next))), ce.Stat.Version)
	if err != nil {
		return fmt.Errorf("set /controller_epoch (version %d): %w", ce.Stat.Version, err)
	}
	ce.Epoch, ce.Stat.Version, ce.Stat.Mzxid = next, st.Version, st.Mzxid
	c.record(ChurnControllerMove, "set", "/controller_epoch", st.Mzxid, fmt.Sprintf("epoch %d", next))
	broker := ids[c.rng.IntN(len(ids))]
	ts := strconv.FormatInt(time.Now().UnixMilli(), 10)
	if err := c.conn.Delete(c.full("/controller"), -1); err != nil && err != zk.ErrNoNode {
		return fmt.Errorf("delete /controller: %w", err)
	}
	if _, err := c.conn.Create(c.full("/controller"), encodeController(broker, ts, -1), zk.FlagEphemeral, c.zkACL()); err != nil {
		return fmt.Errorf("create /controller: %w", err)
	}
	c.snap.Controller = &zkreader.Controller{Version: 2, BrokerID: broker, Timestamp: ts, KRaftControllerEpoch: -1,
		Stat: zkreader.Stat{EphemeralOwner: c.conn.SessionID()}}
	c.record(ChurnControllerMove, "create", "/controller", c.zxidOf("/controller"), fmt.Sprintf("broker %d", broker))
	return nil
}

// notify writes a /config/changes notification (AdminZkClient).
func (c *churner) notify(k ChurnKind, entityPath string) error {
	data := []byte(`{"version":2,"entity_path":` + strconv.Quote(entityPath) + `}`)
	p, err := c.conn.Create(c.full("/config/changes/config_change_"), data, zk.FlagSequence, c.zkACL())
	if err != nil {
		return fmt.Errorf("create config change notification: %w", err)
	}
	p = strings.TrimPrefix(p, c.snap.Chroot)
	c.record(k, "create", p, c.zxidOf(p), entityPath)
	return nil
}

// setConfig writes /config/<dir>/<name> (create or set) and its notification.
func (c *churner) setConfig(k ChurnKind, p string, cfg map[string]string, entityPath string) error {
	data := encodeConfig(cfg)
	st, err := c.conn.Set(c.full(p), data, -1)
	op := "set"
	var zxid int64
	if err == zk.ErrNoNode {
		op = "create"
		if err = c.ensureParents(p); err == nil {
			_, err = c.conn.Create(c.full(p), data, 0, c.zkACL())
		}
		zxid = c.zxidOf(p)
	} else if err == nil {
		zxid = st.Mzxid
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", op, p, err)
	}
	c.record(k, op, p, zxid, "")
	return c.notify(k, entityPath)
}

// ensureParents creates missing parents of p (no data), as Kafka's
// createRecursive does.
func (c *churner) ensureParents(p string) error {
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	cur := ""
	for _, part := range parts[:len(parts)-1] {
		cur += "/" + part
		if _, err := c.conn.Create(c.full(cur), nil, 0, c.zkACL()); err != nil && err != zk.ErrNodeExists {
			return err
		}
	}
	return nil
}

func (c *churner) topicConfig() error {
	i, ok := c.pickTopic(false)
	if !ok {
		return errNotApplicable
	}
	name := c.snap.Topics[i].Name
	cfg := map[string]string{}
	for _, e := range c.snap.TopicConfigs {
		if e.Name == name {
			for k, v := range e.Config {
				cfg[k] = v
			}
		}
	}
	keys := []string{"retention.ms", "segment.bytes", "cleanup.policy", "min.insync.replicas"}
	key := keys[c.rng.IntN(len(keys))]
	if _, has := cfg[key]; has && c.rng.IntN(3) == 0 {
		delete(cfg, key)
	} else {
		cfg[key] = map[string]string{"retention.ms": strconv.Itoa(60000 * (1 + c.rng.IntN(10000))), "segment.bytes": strconv.Itoa(1 << (20 + c.rng.IntN(10))),
			"cleanup.policy": []string{"delete", "compact", "compact,delete"}[c.rng.IntN(3)], "min.insync.replicas": strconv.Itoa(1 + c.rng.IntN(2))}[key]
	}
	if err := c.setConfig(ChurnTopicConfig, "/config/topics/"+name, cfg, "topics/"+name); err != nil {
		return err
	}
	c.snap.TopicConfigs = insertConfig(c.snap.TopicConfigs, zkreader.EntityConfig{Name: name, Config: cfg})
	return nil
}

func (c *churner) brokerConfig() error {
	names := []string{kafka.DefaultEntity}
	for _, id := range c.brokerIDs() {
		names = append(names, strconv.Itoa(int(id)))
	}
	name := names[c.rng.IntN(len(names))]
	cfg := map[string]string{}
	for _, e := range c.snap.BrokerConfigs {
		if e.Name == name {
			for k, v := range e.Config {
				cfg[k] = v
			}
		}
	}
	key := []string{"log.cleaner.threads", "num.io.threads", "log.retention.ms", "message.max.bytes"}[c.rng.IntN(4)]
	cfg[key] = strconv.Itoa(1 + c.rng.IntN(64))
	if err := c.setConfig(ChurnBrokerConfig, "/config/brokers/"+name, cfg, "brokers/"+name); err != nil {
		return err
	}
	c.snap.BrokerConfigs = insertConfig(c.snap.BrokerConfigs, zkreader.EntityConfig{Name: name, Config: cfg})
	return nil
}

// userZnodeConfig is the full config of /config/users/<u> from the model:
// quota values and SCRAM credentials.
func (c *churner) userZnodeConfig(p string) map[string]string {
	cfg := map[string]string{}
	for _, q := range c.snap.Quotas {
		if q.Path == p {
			for k, v := range q.Values {
				cfg[k] = strconv.FormatFloat(v, 'f', -1, 64)
			}
		}
	}
	for _, s := range c.snap.Scram {
		if s.Path == p {
			cfg[s.Mechanism] = encodeScram(s)
		}
	}
	return cfg
}

func (c *churner) quota() error {
	type ent struct {
		path   string
		entity []zkreader.QuotaEntityPart
		keys   []string
	}
	userKeys := []string{"producer_byte_rate", "consumer_byte_rate", "request_percentage", "controller_mutation_rate"}
	n := c.rng.IntN(1000)
	name := fmt.Sprintf("churn-user/%d@x", n)
	client := fmt.Sprintf("churn-client-%d", n)
	ip := fmt.Sprintf("10.%d.%d.%d", n%200, c.rng.IntN(250), 1+c.rng.IntN(250))
	choices := []ent{
		{"/config/users/" + kafka.Sanitize(name), []zkreader.QuotaEntityPart{userPart(strp(name))}, userKeys},
		{"/config/clients/" + kafka.Sanitize(client), []zkreader.QuotaEntityPart{clientPart(strp(client))}, userKeys},
		{"/config/users/" + kafka.Sanitize(name) + "/clients/" + kafka.Sanitize(client), []zkreader.QuotaEntityPart{userPart(strp(name)), clientPart(strp(client))}, userKeys},
		{"/config/ips/" + kafka.Sanitize(ip), []zkreader.QuotaEntityPart{ipPart(strp(ip))}, []string{"connection_creation_rate"}},
	}
	// Half the time change an existing quota instead.
	if len(c.snap.Quotas) > 0 && c.rng.IntN(2) == 0 {
		q := c.snap.Quotas[c.rng.IntN(len(c.snap.Quotas))]
		keys := userKeys
		if q.Entity[0].Type == kafka.QuotaEntityIP {
			keys = []string{"connection_creation_rate"}
		}
		choices = []ent{{q.Path, q.Entity, keys}}
	}
	e := choices[c.rng.IntN(len(choices))]
	cfg := map[string]string{}
	values := map[string]float64{}
	for _, q := range c.snap.Quotas {
		if q.Path == e.path {
			for k, v := range q.Values {
				values[k] = v
			}
		}
	}
	key := e.keys[c.rng.IntN(len(e.keys))]
	if _, has := values[key]; has && len(values) > 1 && c.rng.IntN(3) == 0 {
		delete(values, key)
	} else {
		values[key] = float64(1+c.rng.IntN(100000)) / 4
	}
	isUser := len(e.entity) == 1 && e.entity[0].Type == kafka.QuotaEntityUser
	if isUser {
		cfg = c.userZnodeConfig(e.path) // keep the user's SCRAM keys
	}
	for k := range cfg {
		if _, isScram := kafka.ScramMechanismCodes[k]; !isScram {
			delete(cfg, k)
		}
	}
	for k, v := range values {
		cfg[k] = strconv.FormatFloat(v, 'f', -1, 64)
	}
	if err := c.setConfig(ChurnQuota, e.path, cfg, strings.TrimPrefix(e.path, "/config/")); err != nil {
		return err
	}
	c.setQuota(zkreader.ClientQuota{Path: e.path, Entity: e.entity, Values: values})
	return nil
}

func (c *churner) setQuota(q zkreader.ClientQuota) {
	for i := range c.snap.Quotas {
		if c.snap.Quotas[i].Path == q.Path {
			c.snap.Quotas[i].Values = q.Values
			return
		}
	}
	c.snap.Quotas = append(c.snap.Quotas, q)
	sort.Slice(c.snap.Quotas, func(i, k int) bool { return c.snap.Quotas[i].Path < c.snap.Quotas[k].Path })
}

func (c *churner) scram() error {
	// Remove a credential of a churn user, or add one.
	var churnCreds []int
	for i, s := range c.snap.Scram {
		if strings.HasPrefix(s.User, "churn-") {
			churnCreds = append(churnCreds, i)
		}
	}
	if len(churnCreds) > 0 && c.rng.IntN(3) == 0 {
		i := churnCreds[c.rng.IntN(len(churnCreds))]
		cred := c.snap.Scram[i]
		c.snap.Scram = append(c.snap.Scram[:i], c.snap.Scram[i+1:]...)
		cfg := c.userZnodeConfig(cred.Path)
		if err := c.setConfig(ChurnScram, cred.Path, cfg, strings.TrimPrefix(cred.Path, "/config/")); err != nil {
			return err
		}
		return nil
	}
	user := fmt.Sprintf("churn-scram/%d", c.rng.IntN(1000))
	mech := []string{"SCRAM-SHA-256", "SCRAM-SHA-512"}[c.rng.IntN(2)]
	p := "/config/users/" + kafka.Sanitize(user)
	cred := scramCredential(user, mech, int32(4096*(1+c.rng.IntN(4))))
	cred.Salt = derivedBytes(24, "churn-salt", user, mech, strconv.Itoa(c.log.Changes))
	cred.Path = p
	replaced := false
	for i := range c.snap.Scram {
		if c.snap.Scram[i].Path == p && c.snap.Scram[i].Mechanism == mech {
			c.snap.Scram[i], replaced = cred, true
		}
	}
	if !replaced {
		c.snap.Scram = append(c.snap.Scram, cred)
		sort.Slice(c.snap.Scram, func(i, k int) bool {
			if c.snap.Scram[i].Path != c.snap.Scram[k].Path {
				return c.snap.Scram[i].Path < c.snap.Scram[k].Path
			}
			return c.snap.Scram[i].Mechanism < c.snap.Scram[k].Mechanism
		})
	}
	return c.setConfig(ChurnScram, p, c.userZnodeConfig(p), strings.TrimPrefix(p, "/config/"))
}

// acl adds an entry to a resource (creating it) or removes one (deleting
// the resource when it becomes empty), with a CAS on the resource's version
// and a change notification, as AclAuthorizer does.
func (c *churner) acl() error {
	ops := []string{"Read", "Write", "Describe", "Create", "Delete", "Alter"}
	if len(c.snap.ACLs) > 0 && c.rng.IntN(3) == 0 {
		i := c.rng.IntN(len(c.snap.ACLs))
		r := c.snap.ACLs[i]
		k := c.rng.IntN(len(r.Entries))
		entries := append(append([]zkreader.ACLEntry(nil), r.Entries[:k]...), r.Entries[k+1:]...)
		_, st, err := c.conn.Get(c.full(r.Path))
		if err != nil {
			return fmt.Errorf("get %s: %w", r.Path, err)
		}
		if len(entries) == 0 {
			if err := c.conn.Delete(c.full(r.Path), st.Version); err != nil {
				return fmt.Errorf("delete %s: %w", r.Path, err)
			}
			c.snap.ACLs = append(c.snap.ACLs[:i], c.snap.ACLs[i+1:]...)
			c.record(ChurnACL, "delete", r.Path, c.pzxidOf(parentPath(r.Path)), "last entry removed")
		} else {
			nst, err := c.conn.Set(c.full(r.Path), encodeACLs(entries), st.Version)
			if err != nil {
				return fmt.Errorf("set %s: %w", r.Path, err)
			}
			c.snap.ACLs[i].Entries = entries
			c.record(ChurnACL, "set", r.Path, nst.Mzxid, "entry removed")
		}
		return c.aclNotify(r)
	}
	rt := kafka.ResourceTypeOrder[c.rng.IntN(len(kafka.ResourceTypeOrder))]
	pattern := "LITERAL"
	name := fmt.Sprintf("churn-%d", c.rng.IntN(50))
	if rt == "Cluster" {
		name = "kafka-cluster"
	} else if c.rng.IntN(2) == 0 {
		pattern = "PREFIXED"
	}
	p := "/kafka-acl/" + rt + "/" + name
	if pattern == "PREFIXED" {
		p = "/kafka-acl-extended/prefixed/" + rt + "/" + name
	}
	entry := zkreader.ACLEntry{Principal: fmt.Sprintf("User:churn-%d", c.rng.IntN(20)), PermissionType: []string{"Allow", "Deny"}[c.rng.IntN(2)],
		Operation: ops[c.rng.IntN(len(ops))], Host: "*"}
	idx := -1
	for i, r := range c.snap.ACLs {
		if r.Path == p {
			idx = i
		}
	}
	if idx >= 0 {
		r := c.snap.ACLs[idx]
		for _, e := range r.Entries {
			if e == entry {
				return errNotApplicable
			}
		}
		entries := append(append([]zkreader.ACLEntry(nil), r.Entries...), entry)
		zkreader.SortACLEntries(entries)
		_, st, err := c.conn.Get(c.full(p))
		if err != nil {
			return fmt.Errorf("get %s: %w", p, err)
		}
		nst, err := c.conn.Set(c.full(p), encodeACLs(entries), st.Version)
		if err != nil {
			return fmt.Errorf("set %s: %w", p, err)
		}
		c.snap.ACLs[idx].Entries = entries
		c.record(ChurnACL, "set", p, nst.Mzxid, "entry added")
		return c.aclNotify(c.snap.ACLs[idx])
	}
	if err := c.ensureParents(p); err != nil {
		return fmt.Errorf("parents of %s: %w", p, err)
	}
	if _, err := c.conn.Create(c.full(p), encodeACLs([]zkreader.ACLEntry{entry}), 0, c.zkACL()); err != nil {
		return fmt.Errorf("create %s: %w", p, err)
	}
	r := zkreader.ACLResource{Path: p, ResourceType: rt, PatternType: pattern, Name: name, Entries: []zkreader.ACLEntry{entry}}
	c.snap.ACLs = append(c.snap.ACLs, r)
	sort.Slice(c.snap.ACLs, func(i, k int) bool { return c.snap.ACLs[i].Path < c.snap.ACLs[k].Path })
	c.record(ChurnACL, "create", p, c.zxidOf(p), "resource created")
	return c.aclNotify(r)
}

func (c *churner) aclNotify(r zkreader.ACLResource) error {
	enumName := strings.ToUpper(camelToSnake(r.ResourceType))
	var p string
	var data []byte
	if r.PatternType == "LITERAL" {
		p, data = "/kafka-acl-changes/acl_changes_", []byte(enumName+":"+r.Name)
	} else {
		p = "/kafka-acl-extended-changes/acl_changes_"
		data = []byte(`{"version":1,"resourceType":"` + enumName + `","name":` + strconv.Quote(r.Name) + `,"patternType":"PREFIXED"}`)
	}
	if err := c.ensureParents(p + "x"); err != nil {
		return err
	}
	got, err := c.conn.Create(c.full(p), data, zk.FlagSequence, c.zkACL())
	if err != nil {
		return fmt.Errorf("create %s: %w", p, err)
	}
	got = strings.TrimPrefix(got, c.snap.Chroot)
	c.record(ChurnACL, "create", got, c.zxidOf(got), string(data))
	return nil
}

// camelToSnake turns "TransactionalId" into "Transactional_Id".
func camelToSnake(s string) string {
	var b strings.Builder
	for i, r := range s {
		if i > 0 && r >= 'A' && r <= 'Z' {
			b.WriteByte('_')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func parentPath(p string) string {
	if i := strings.LastIndexByte(p, '/'); i > 0 {
		return p[:i]
	}
	return "/"
}

// producerIDBlock allocates the next block as ProducerIdManager does: a
// conditional setData on /latest_producer_id_block.
func (c *churner) producerIDBlock() error {
	b := c.snap.ProducerIDBlock
	if b == nil {
		return errNotApplicable
	}
	_, st, err := c.conn.Get(c.full("/latest_producer_id_block"))
	if err != nil {
		return fmt.Errorf("get /latest_producer_id_block: %w", err)
	}
	ids := c.brokerIDs()
	next := zkreader.ProducerIDBlock{Version: 1, Broker: ids[c.rng.IntN(len(ids))], BlockStart: b.BlockEnd + 1, BlockEnd: b.BlockEnd + 1000}
	nst, err := c.conn.Set(c.full("/latest_producer_id_block"), encodeProducerIDBlock(next), st.Version)
	if err != nil {
		return fmt.Errorf("set /latest_producer_id_block: %w", err)
	}
	next.Stat = zkreader.Stat{Version: nst.Version, Mzxid: nst.Mzxid}
	*b = next
	c.record(ChurnProducerIDBlock, "set", "/latest_producer_id_block", nst.Mzxid, fmt.Sprintf("%d-%d", next.BlockStart, next.BlockEnd))
	return nil
}
