package dualwrite

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zk2kraft/zk2kraft/kafka"
	"github.com/zk2kraft/zk2kraft/zkreader"
)

// churner makes live-cluster changes of every kind the mirror handles, the
// way a ZooKeeper-mode Kafka cluster writes them: topic creation (topic
// znode, then partition state znodes), deletion (marked under
// /admin/delete_topics, then removed bottom-up), partition additions,
// leader/ISR changes, topic and broker configs set and deleted, quotas,
// SCRAM credentials, ACLs added and removed, producer-id blocks, delegation
// tokens. (A minimal stand-in until testenv.Churn lands.)
//
// One goroutine decides the changes (it keeps the topics' assignments,
// leaders and ISRs, so it never reads them back) and hands each to one of
// several writer goroutines by the object it touches: changes to one object
// are written in order by one writer, changes to different objects are
// written concurrently (go-zookeeper pipelines the requests of many
// goroutines on one session). Configs, quotas and ACLs are read at most once
// per run (by the writer owning them) and then kept, so a change is a write
// or two, not a read and a write.
type churner struct {
	conns   []*zk.Conn
	chroot  string
	rnd     *rand.Rand
	brokers []int32
	topics  map[string]*churnTopic
	names   []string // topics this churner may touch
	own     []string // topics it created (and may delete or extend)
	next    int
	pid     int64
	prefix  string // of the topics it creates
	writers int    // changes written concurrently (default 64)
	// fixedObjects: no topic is created, deleted or given partitions, so
	// the changes touch a fixed set of objects.
	fixedObjects bool

	mu      sync.Mutex
	ops     map[string]int       // changes made, by kind ("raced": one found another writer's change)
	cfgs    map[string]*churnCfg // znodes read or written so far (configs, quotas, ACLs)
	lat     []time.Duration      // each change's write time
	blocked time.Duration        // the generator waited for room (maxQueued changes not yet written)
}

type churnTopic struct {
	id     kafka.UUID
	parts  map[int32][]int32
	leader map[int32]int32
	epoch  map[int32]int32
	isr    map[int32][]int32
	own    bool
}

// churnCfg is what the churner knows of a config or ACL znode. Only the
// writer owning its object reads or writes it.
type churnCfg struct {
	exists bool
	cfg    map[string]string
	acls   []aclJSON
}

// churnChange is one change: its kind, the object it touches (changes to
// one object are written in order) and its writes.
type churnChange struct {
	kind string
	key  string
	do   func(conn *zk.Conn) error
}

func newChurner(conn *zk.Conn, chroot string, seed uint64, snap *zkreader.Snapshot) *churner {
	c := &churner{conns: []*zk.Conn{conn}, chroot: chroot, rnd: rand.New(rand.NewPCG(seed, seed^0x9e3779b9)), topics: map[string]*churnTopic{},
		brokers: []int32{1, 2, 3}, pid: 1 << 20, ops: map[string]int{}, cfgs: map[string]*churnCfg{}, writers: 64}
	if snap != nil {
		pending := map[string]bool{}
		for _, p := range snap.PendingDeletions {
			pending[p] = true
		}
		for _, t := range snap.Topics {
			if t.TopicID == nil || pending[t.Name] || !strings.HasPrefix(t.Name, "topic-") {
				continue
			}
			ct := &churnTopic{id: *t.TopicID, parts: map[int32][]int32{}, leader: map[int32]int32{}, epoch: map[int32]int32{}, isr: map[int32][]int32{}}
			ok := true
			for _, p := range t.Partitions {
				if p.State == nil || len(p.AddingReplicas) > 0 {
					ok = false
					break
				}
				ct.parts[p.ID] = p.Replicas
				ct.leader[p.ID] = p.State.Leader
				ct.epoch[p.ID] = p.State.LeaderEpoch
				ct.isr[p.ID] = p.State.ISR
			}
			if ok {
				c.topics[t.Name] = ct
				c.names = append(c.names, t.Name)
			}
		}
		sort.Strings(c.names)
	}
	return c
}

func (c *churner) full(p string) string { return c.chroot + p }

// Ops returns the changes made so far, by kind.
func (c *churner) Ops() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.ops))
	for k, v := range c.ops {
		out[k] = v
	}
	return out
}

func (c *churner) ensure(conn *zk.Conn, p string) error {
	if p == "/" || p == "" {
		return nil
	}
	if ok, _, err := conn.Exists(c.full(p)); err == nil && ok {
		return nil
	}
	if err := c.ensure(conn, path.Dir(p)); err != nil {
		return err
	}
	_, err := conn.Create(c.full(p), nil, 0, zk.WorldACL(zk.PermAll))
	if err != nil && !errors.Is(err, zk.ErrNodeExists) {
		return fmt.Errorf("create %s: %w", p, err)
	}
	return nil
}

// write creates or overwrites a znode; exists says which to try first.
func (c *churner) write(conn *zk.Conn, p string, data []byte, exists bool) error {
	for attempt := 0; ; attempt++ {
		var err error
		if exists {
			_, err = conn.Set(c.full(p), data, -1)
			if errors.Is(err, zk.ErrNoNode) {
				exists = false
				continue
			}
		} else {
			_, err = conn.Create(c.full(p), data, 0, zk.WorldACL(zk.PermAll))
			if errors.Is(err, zk.ErrNodeExists) {
				exists = true
				continue
			}
			if errors.Is(err, zk.ErrNoNode) && attempt < 5 {
				if err = c.ensure(conn, path.Dir(p)); err != nil {
					return err
				}
				continue
			}
		}
		if (errors.Is(err, zk.ErrNodeExists) || errors.Is(err, zk.ErrNoNode)) && attempt < 5 {
			continue
		}
		if err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
		return nil
	}
}

// put overwrites or creates a znode.
func (c *churner) put(conn *zk.Conn, p string, data []byte) error {
	return c.write(conn, p, data, true)
}

// create creates a znode (or overwrites it if it is there after all).
func (c *churner) create(conn *zk.Conn, p string, data []byte) error {
	return c.write(conn, p, data, false)
}

func (c *churner) del(conn *zk.Conn, p string) error {
	err := conn.Delete(c.full(p), -1)
	if err != nil && !errors.Is(err, zk.ErrNoNode) && !errors.Is(err, zk.ErrNotEmpty) {
		return fmt.Errorf("delete %s: %w", p, err)
	}
	return nil
}

// known returns what the churner knows of a config or ACL znode, reading it
// the first time.
func (c *churner) known(conn *zk.Conn, p string) (*churnCfg, error) {
	c.mu.Lock()
	k := c.cfgs[p]
	c.mu.Unlock()
	if k != nil {
		return k, nil
	}
	k = &churnCfg{cfg: map[string]string{}}
	data, _, err := conn.Get(c.full(p))
	switch {
	case errors.Is(err, zk.ErrNoNode):
	case err != nil:
		return nil, fmt.Errorf("read %s: %w", p, err)
	default:
		k.exists = true
		var v struct {
			Config map[string]string `json:"config"`
			ACLs   []aclJSON         `json:"acls"`
		}
		if json.Unmarshal(data, &v) == nil {
			if v.Config != nil {
				k.cfg = v.Config
			}
			k.acls = v.ACLs
		}
	}
	c.mu.Lock()
	c.cfgs[p] = k
	c.mu.Unlock()
	return k, nil
}

// remember records what a config or ACL znode now holds (after its write).
func (c *churner) remember(p string, k *churnCfg) {
	c.mu.Lock()
	c.cfgs[p] = k
	c.mu.Unlock()
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func (c *churner) topicJSON(t *churnTopic) []byte {
	parts := map[string][]int32{}
	for p, r := range t.parts {
		parts[fmt.Sprint(p)] = r
	}
	return mustJSON(map[string]any{"version": 3, "partitions": parts, "adding_replicas": map[string]any{},
		"removing_replicas": map[string]any{}, "topic_id": t.id.String()})
}

func (c *churner) stateJSON(t *churnTopic, p int32) []byte {
	return mustJSON(map[string]any{"version": 1, "leader": t.leader[p], "leader_epoch": t.epoch[p], "controller_epoch": 3, "isr": t.isr[p]})
}

func (c *churner) replicas(n int) []int32 {
	out := append([]int32(nil), c.brokers...)
	c.rnd.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out[:n]
}

func (c *churner) configJSON(cfg map[string]string) []byte {
	return mustJSON(map[string]any{"version": 1, "config": cfg})
}

// next decides the next change (no I/O).
func (c *churner) nextChange() churnChange {
	r := c.rnd.IntN(100)
	if c.fixedObjects && r >= 30 && r < 45 {
		r = c.rnd.IntN(30) // a partition state change instead
	}
	switch {
	case r < 30 && len(c.names) > 0:
		return c.stateChange()
	case r < 38:
		return c.createTopic()
	case r < 42 && len(c.own) > 3:
		return c.deleteTopic()
	case r < 45 && len(c.own) > 0:
		return c.addPartitions()
	case r < 55 && len(c.names) > 0:
		return c.topicConfig()
	case r < 62:
		return c.brokerConfig()
	case r < 72:
		return c.quota()
	case r < 78:
		return c.scram()
	case r < 90:
		return c.acl()
	case r < 91: // one znode, written serially (a broker's conditional set): kept rare
		return c.producerID()
	default:
		return c.token()
	}
}

func topicKey(name string) string { return "topic:" + name }

func (c *churner) pick() (string, *churnTopic) {
	n := c.names[c.rnd.IntN(len(c.names))]
	return n, c.topics[n]
}

func (c *churner) stateChange() churnChange {
	name, t := c.pick()
	var ps []int32
	for p := range t.parts {
		ps = append(ps, p)
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
	p := ps[c.rnd.IntN(len(ps))]
	reps := t.parts[p]
	switch c.rnd.IntN(3) {
	case 0: // leader election
		t.leader[p] = reps[c.rnd.IntN(len(reps))]
		t.epoch[p]++
		t.isr[p] = append([]int32(nil), reps...)
	case 1: // ISR shrink
		if len(t.isr[p]) > 1 {
			isr := []int32{t.leader[p]}
			t.isr[p] = isr
		} else {
			t.isr[p] = append([]int32(nil), reps...)
		}
	default: // leader election with a jump in epoch (coalesced changes)
		t.leader[p] = reps[0]
		t.epoch[p] += 2
	}
	if !contains(t.isr[p], t.leader[p]) {
		t.isr[p] = append(t.isr[p], t.leader[p])
	}
	sp, data := statePath(name, p), c.stateJSON(t, p)
	return churnChange{kind: "partition-state", key: topicKey(name), do: func(conn *zk.Conn) error { return c.put(conn, sp, data) }}
}

func contains(s []int32, v int32) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func (c *churner) createTopic() churnChange {
	c.next++
	name := fmt.Sprintf("churn%s-%d-%05d", c.prefix, c.rnd.IntN(1000), c.next)
	var id kafka.UUID
	for i := range id {
		id[i] = byte(c.rnd.IntN(256))
	}
	id[0] |= 1
	t := &churnTopic{id: id, parts: map[int32][]int32{}, leader: map[int32]int32{}, epoch: map[int32]int32{}, isr: map[int32][]int32{}, own: true}
	n := 1 + c.rnd.IntN(3)
	for p := int32(0); p < int32(n); p++ {
		t.parts[p] = c.replicas(2)
		t.leader[p] = t.parts[p][0]
		t.isr[p] = t.parts[p]
	}
	type write struct {
		path string
		data []byte
	}
	var writes []write
	cfgPath := pathConfigTopics + "/" + name
	var cfg *churnCfg
	if c.rnd.IntN(2) == 0 {
		cfg = &churnCfg{exists: true, cfg: map[string]string{"retention.ms": fmt.Sprint(c.rnd.IntN(1e6))}}
		writes = append(writes, write{cfgPath, c.configJSON(cfg.cfg)})
	}
	writes = append(writes, write{pathTopics + "/" + name, c.topicJSON(t)}, write{pathTopics + "/" + name + "/partitions", nil})
	for p := int32(0); p < int32(n); p++ {
		writes = append(writes, write{fmt.Sprintf("%s/%s/partitions/%d", pathTopics, name, p), nil}, write{statePath(name, p), c.stateJSON(t, p)})
	}
	c.topics[name] = t
	c.names = append(c.names, name)
	c.own = append(c.own, name)
	return churnChange{kind: "create-topic", key: topicKey(name), do: func(conn *zk.Conn) error {
		// The admin's writes (config, topic znode), then the controller's
		// (partitions and their states), each in one multi.
		n := 1
		if cfg != nil {
			n = 2
		}
		for _, ws := range [][]write{writes[:n], writes[n:]} {
			ops := make([]any, len(ws))
			for i, w := range ws {
				ops[i] = &zk.CreateRequest{Path: c.full(w.path), Data: w.data, Acl: zk.WorldACL(zk.PermAll)}
			}
			if _, err := conn.Multi(ops...); err != nil {
				if retryableChurn(err) {
					return err
				}
				// Some are there already (a retry, another writer): one by one.
				for _, w := range ws {
					if err := c.create(conn, w.path, w.data); err != nil {
						return err
					}
				}
			}
		}
		if cfg == nil {
			cfg = &churnCfg{cfg: map[string]string{}}
		}
		c.remember(cfgPath, cfg)
		return nil
	}}
}

func removeName(names []string, name string) []string {
	for i, n := range names {
		if n == name {
			return append(names[:i], names[i+1:]...)
		}
	}
	return names
}

func (c *churner) deleteTopic() churnChange {
	name := c.own[c.rnd.IntN(len(c.own))]
	t := c.topics[name]
	dels := []string{}
	for p := range t.parts {
		dels = append(dels, statePath(name, p), fmt.Sprintf("%s/%s/partitions/%d", pathTopics, name, p))
	}
	cfgPath := pathConfigTopics + "/" + name
	dels = append(dels, pathTopics+"/"+name+"/partitions", pathTopics+"/"+name, cfgPath, pathDeleteTopics+"/"+name)
	delete(c.topics, name)
	c.names = removeName(c.names, name)
	c.own = removeName(c.own, name)
	return churnChange{kind: "delete-topic", key: topicKey(name), do: func(conn *zk.Conn) error {
		// The admin marks it; the controller removes it bottom-up (one
		// multi), then the mark.
		if err := c.create(conn, pathDeleteTopics+"/"+name, nil); err != nil {
			return err
		}
		c.mu.Lock()
		cfg := c.cfgs[cfgPath]
		c.mu.Unlock()
		var ops []any
		for _, p := range dels[:len(dels)-1] {
			if p != cfgPath || cfg == nil || cfg.exists {
				ops = append(ops, &zk.DeleteRequest{Path: c.full(p), Version: -1})
			}
		}
		_, err := conn.Multi(ops...)
		if retryableChurn(err) {
			return err
		}
		if err != nil {
			// Some are gone already (a retry, another writer): one by one.
			for _, p := range dels[:len(dels)-1] {
				if err := c.del(conn, p); err != nil {
					return err
				}
			}
		}
		if err := c.del(conn, dels[len(dels)-1]); err != nil {
			return err
		}
		c.remember(cfgPath, &churnCfg{cfg: map[string]string{}})
		return nil
	}}
}

func (c *churner) addPartitions() churnChange {
	name := c.own[c.rnd.IntN(len(c.own))]
	t := c.topics[name]
	p := int32(len(t.parts))
	t.parts[p] = c.replicas(2)
	t.leader[p] = t.parts[p][0]
	t.isr[p] = t.parts[p]
	topic, state := c.topicJSON(t), c.stateJSON(t, p)
	return churnChange{kind: "add-partitions", key: topicKey(name), do: func(conn *zk.Conn) error {
		if err := c.put(conn, pathTopics+"/"+name, topic); err != nil {
			return err
		}
		if err := c.create(conn, fmt.Sprintf("%s/%s/partitions/%d", pathTopics, name, p), nil); err != nil {
			return err
		}
		return c.create(conn, statePath(name, p), state)
	}}
}

var configKeys = []string{"retention.ms", "cleanup.policy", "segment.bytes", "max.message.bytes"}

// editConfig sets or removes one key of a config znode (removing the znode
// when it ends up empty, half the time).
func (c *churner) editConfig(kind, key, p string, keys []string, value string) churnChange {
	k := keys[c.rnd.IntN(len(keys))]
	removeKey, removeEmpty := c.rnd.IntN(2) == 0, c.rnd.IntN(2) == 0
	return c.setKey(kind, key, p, k, value, removeKey, removeEmpty)
}

// setKey sets key k of config znode p to value, or removes it when remove
// and it is there; with dropEmpty, a config left empty removes the znode.
func (c *churner) setKey(kind, objKey, p, k, value string, remove, dropEmpty bool) churnChange {
	return churnChange{kind: kind, key: objKey, do: func(conn *zk.Conn) error {
		cur, err := c.known(conn, p)
		if err != nil {
			return err
		}
		cfg := make(map[string]string, len(cur.cfg)+1)
		for ck, cv := range cur.cfg {
			cfg[ck] = cv
		}
		if _, ok := cfg[k]; ok && remove {
			delete(cfg, k)
		} else {
			cfg[k] = value
		}
		if len(cfg) == 0 && dropEmpty {
			if err := c.del(conn, p); err != nil {
				return err
			}
			c.remember(p, &churnCfg{cfg: cfg})
			return nil
		}
		if err := c.write(conn, p, c.configJSON(cfg), cur.exists); err != nil {
			return err
		}
		c.remember(p, &churnCfg{exists: true, cfg: cfg})
		return nil
	}}
}

func (c *churner) topicConfig() churnChange {
	name, _ := c.pick()
	return c.editConfig("topic-config", topicKey(name), pathConfigTopics+"/"+name, configKeys, fmt.Sprint(c.rnd.IntN(1<<30)))
}

func (c *churner) brokerConfig() churnChange {
	names := []string{"1", "2", "3", kafka.DefaultEntity}
	p := pathConfigBroker + "/" + names[c.rnd.IntN(len(names))]
	return c.editConfig("broker-config", p, p, []string{"log.cleaner.threads", "num.io.threads", "message.max.bytes"}, fmt.Sprint(1+c.rnd.IntN(64)))
}

// entityKey is the object a quota or SCRAM znode belongs to: its entity
// (/config/users/<user>, also for /config/users/<user>/clients/<client>).
func entityKey(p string) string {
	el := strings.SplitN(strings.TrimPrefix(p, "/"), "/", 4)
	if len(el) < 3 {
		return p
	}
	return "/" + strings.Join(el[:3], "/")
}

func (c *churner) quota() churnChange {
	paths := []string{
		pathConfigUsers + "/churn-user-" + fmt.Sprint(c.rnd.IntN(8)),
		pathConfigUsers + "/" + kafka.Sanitize("user/"+fmt.Sprint(c.rnd.IntN(3))+"@prod"),
		pathConfigClient + "/churn-client-" + fmt.Sprint(c.rnd.IntN(8)),
		pathConfigUsers + "/churn-user-" + fmt.Sprint(c.rnd.IntN(4)) + "/clients/app-" + fmt.Sprint(c.rnd.IntN(4)),
		pathConfigIPs + "/10.0.0." + fmt.Sprint(c.rnd.IntN(8)),
		pathConfigClient + "/" + kafka.DefaultEntity,
	}
	p := paths[c.rnd.IntN(len(paths))]
	keys := []string{"producer_byte_rate", "consumer_byte_rate", "request_percentage"}
	if strings.HasPrefix(p, pathConfigIPs) {
		keys = []string{"connection_creation_rate"}
	}
	if c.rnd.IntN(6) == 0 {
		// delete the whole znode (and any /clients below it)
		return churnChange{kind: "quota", key: entityKey(p), do: func(conn *zk.Conn) error {
			kids, _, _ := conn.Children(c.full(p + "/clients"))
			for _, k := range kids {
				if err := c.del(conn, p+"/clients/"+k); err != nil {
					return err
				}
				c.remember(p+"/clients/"+k, &churnCfg{cfg: map[string]string{}})
			}
			if err := c.del(conn, p+"/clients"); err != nil {
				return err
			}
			// Deleted unless it still has children (left by another writer).
			if err := c.del(conn, p); err != nil {
				return err
			}
			c.mu.Lock()
			delete(c.cfgs, p) // read it again if it is used again
			c.mu.Unlock()
			return nil
		}}
	}
	k := keys[c.rnd.IntN(len(keys))]
	removeKey := c.rnd.IntN(3) == 0
	value := fmt.Sprint(1000 * (1 + c.rnd.IntN(100)))
	return c.setKey("quota", entityKey(p), p, k, value, removeKey, false)
}

func (c *churner) scram() churnChange {
	p := pathConfigUsers + "/churn-user-" + fmt.Sprint(c.rnd.IntN(8))
	mech := []string{"SCRAM-SHA-256", "SCRAM-SHA-512"}[c.rnd.IntN(2)]
	remove := c.rnd.IntN(3) == 0
	b := func(n int) string {
		x := make([]byte, n)
		for i := range x {
			x[i] = byte(c.rnd.IntN(256))
		}
		return base64.StdEncoding.EncodeToString(x)
	}
	cred := fmt.Sprintf("salt=%s,stored_key=%s,server_key=%s,iterations=%d", b(16), b(32), b(32), 4096+c.rnd.IntN(4096))
	return c.setKey("scram", entityKey(p), p, mech, cred, remove, false)
}

type aclJSON struct {
	Principal      string `json:"principal"`
	PermissionType string `json:"permissionType"`
	Operation      string `json:"operation"`
	Host           string `json:"host"`
}

func (c *churner) acl() churnChange {
	types := []string{"Topic", "Group", "Cluster", "TransactionalId", "User"}
	typ := types[c.rnd.IntN(len(types))]
	name := fmt.Sprintf("churn-res-%d", c.rnd.IntN(6))
	if typ == "Cluster" {
		name = "kafka-cluster"
	}
	p := pathACLLiteral + "/" + typ + "/" + name
	if c.rnd.IntN(3) == 0 {
		p = pathACLPrefixed + "/" + typ + "/" + name
	}
	remove := c.rnd.IntN(3) == 0
	e := aclJSON{Principal: fmt.Sprintf("User:churn-%d", c.rnd.IntN(5)), PermissionType: []string{"Allow", "Deny"}[c.rnd.IntN(2)],
		Operation: []string{"Read", "Write", "Describe", "All"}[c.rnd.IntN(4)], Host: "*"}
	return churnChange{kind: "acl", key: p, do: func(conn *zk.Conn) error {
		cur, err := c.known(conn, p)
		if err != nil {
			return err
		}
		var acls []aclJSON
		if len(cur.acls) > 0 && remove {
			acls = append(acls, cur.acls[1:]...)
			if len(acls) == 0 {
				if err := c.del(conn, p); err != nil {
					return err
				}
				c.remember(p, &churnCfg{})
				return nil
			}
		} else {
			for _, x := range cur.acls {
				if x == e {
					return nil
				}
			}
			acls = append(append(acls, cur.acls...), e)
		}
		if err := c.write(conn, p, mustJSON(map[string]any{"version": 1, "acls": acls}), cur.exists); err != nil {
			return err
		}
		c.remember(p, &churnCfg{exists: true, acls: acls})
		return nil
	}}
}

func (c *churner) producerID() churnChange {
	c.pid += 1000
	data := mustJSON(map[string]any{"version": 1, "broker": 1 + c.rnd.IntN(3),
		"block_start": fmt.Sprint(c.pid), "block_end": fmt.Sprint(c.pid + 999)})
	return churnChange{kind: "producer-id", key: pathProducerID, do: func(conn *zk.Conn) error { return c.put(conn, pathProducerID, data) }}
}

func (c *churner) token() churnChange {
	id := fmt.Sprintf("churn-token-%d", c.rnd.IntN(6))
	p := pathTokens + "/" + id
	if c.rnd.IntN(3) == 0 {
		return churnChange{kind: "delegation-token", key: p, do: func(conn *zk.Conn) error { return c.del(conn, p) }}
	}
	now := time.Now().UnixMilli()
	data := mustJSON(map[string]any{"version": 3, "owner": "User%3Aalice", "tokenRequester": "User%3Aalice",
		"renewers": []string{"User%3Abob"}, "issueTimestamp": now, "maxTimestamp": now + 86400000,
		"expiryTimestamp": now + 3600000 + int64(c.rnd.IntN(1000)), "tokenId": id})
	return churnChange{kind: "delegation-token", key: p, do: func(conn *zk.Conn) error { return c.put(conn, p, data) }}
}

// retryableChurn reports whether a write failed with the connection (the
// same write is tried again).
func retryableChurn(err error) bool {
	return errors.Is(err, zk.ErrConnectionClosed) || errors.Is(err, zk.ErrNoServer) || errors.Is(err, zk.ErrSessionExpired) ||
		errors.Is(err, zk.ErrSessionMoved)
}

// churnLane is the changes waiting for one object: they are written one
// after the other, by one goroutine while any wait.
type churnLane struct {
	queue []churnChange
}

// run makes n changes (n <= 0: until ctx ends) at most rate per second
// (rate <= 0: as fast as it can), at most c.writers of them in flight and
// at most maxQueued decided and not yet written. It returns the changes
// made; a change begun is finished even if ctx ends.
func (c *churner) run(ctx context.Context, n int, rate float64) (int, error) {
	const maxQueued = 4096
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		firstErr error
		done     int
		queued   int
		lanes    = map[string]*churnLane{}
		room     = sync.NewCond(&c.mu)
		slots    = make(chan struct{}, max(c.writers, 1))
	)
	// write writes one change, again after a connection loss (each of
	// its writes is idempotent); it reports whether it was made.
	write := func(ch churnChange, conn *zk.Conn) error {
		slots <- struct{}{}
		defer func() { <-slots }()
		start := time.Now()
		for {
			err := ch.do(conn)
			switch {
			case err == nil:
				c.mu.Lock()
				c.lat = append(c.lat, time.Since(start))
				c.mu.Unlock()
				return nil
			case ctx.Err() != nil:
				return ctx.Err()
			case retryableChurn(err):
				time.Sleep(50 * time.Millisecond)
			default:
				return err
			}
		}
	}
	drain := func(key string, l *churnLane) {
		defer wg.Done()
		h := fnv.New32a()
		h.Write([]byte(key))
		conn := c.conns[h.Sum32()%uint32(len(c.conns))]
		c.mu.Lock()
		for len(l.queue) > 0 {
			ch := l.queue[0]
			l.queue = l.queue[1:]
			var err error
			if ctx.Err() == nil { // else not begun: dropped
				c.mu.Unlock()
				err = write(ch, conn)
				c.mu.Lock()
				switch {
				case err == nil:
					c.ops[ch.kind]++
					done++
				case errors.Is(err, zk.ErrNoNode) || errors.Is(err, zk.ErrNodeExists) || errors.Is(err, zk.ErrNotEmpty):
					c.ops["raced"]++ // another writer raced this one on a shared znode
				case ctx.Err() == nil:
					if firstErr == nil {
						firstErr = fmt.Errorf("%s: %w", ch.kind, err)
					}
					cancel()
				}
			}
			queued--
			room.Signal()
		}
		delete(lanes, key)
		c.mu.Unlock()
	}
	stop := context.AfterFunc(ctx, func() {
		c.mu.Lock()
		room.Broadcast()
		c.mu.Unlock()
	})
	defer stop()
	start := time.Now()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	made := 0
generate:
	for (n <= 0 || made < n) && ctx.Err() == nil {
		if rate > 0 {
			for time.Since(start) < time.Duration(float64(made)/rate*float64(time.Second)) {
				select {
				case <-ctx.Done():
					break generate
				case <-tick.C:
				}
			}
		}
		ch := c.nextChange()
		made++
		c.mu.Lock()
		if queued >= maxQueued {
			bs := time.Now()
			for queued >= maxQueued && ctx.Err() == nil {
				room.Wait()
			}
			c.blocked += time.Since(bs)
		}
		queued++
		l := lanes[ch.key]
		if l == nil {
			l = &churnLane{}
			lanes[ch.key] = l
			wg.Add(1)
			go drain(ch.key, l)
		}
		l.queue = append(l.queue, ch)
		c.mu.Unlock()
	}
	wg.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	return done, firstErr
}
