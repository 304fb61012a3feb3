package dualwrite

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"path"
	"sort"
	"strings"
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
type churner struct {
	conn    *zk.Conn
	chroot  string
	rnd     *rand.Rand
	brokers []int32
	topics  map[string]*churnTopic
	names   []string // topics this churner may touch
	next    int
	pid     int64
	ops     map[string]int
	prefix  string // of the topics it creates
}

type churnTopic struct {
	id     kafka.UUID
	parts  map[int32][]int32
	leader map[int32]int32
	epoch  map[int32]int32
	isr    map[int32][]int32
	own    bool
}

func newChurner(conn *zk.Conn, chroot string, seed uint64, snap *zkreader.Snapshot) *churner {
	c := &churner{conn: conn, chroot: chroot, rnd: rand.New(rand.NewPCG(seed, seed^0x9e3779b9)), topics: map[string]*churnTopic{},
		brokers: []int32{1, 2, 3}, pid: 1 << 20, ops: map[string]int{}}
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

func (c *churner) ensure(p string) error {
	if p == "/" || p == "" {
		return nil
	}
	if ok, _, err := c.conn.Exists(c.full(p)); err == nil && ok {
		return nil
	}
	if err := c.ensure(path.Dir(p)); err != nil {
		return err
	}
	_, err := c.conn.Create(c.full(p), nil, 0, zk.WorldACL(zk.PermAll))
	if err != nil && !errors.Is(err, zk.ErrNodeExists) {
		return fmt.Errorf("create %s: %w", p, err)
	}
	return nil
}

// put creates or overwrites a znode (another writer may race it).
func (c *churner) put(p string, data []byte) error {
	for attempt := 0; ; attempt++ {
		_, err := c.conn.Set(c.full(p), data, -1)
		if errors.Is(err, zk.ErrNoNode) {
			if err = c.ensure(path.Dir(p)); err != nil {
				return err
			}
			_, err = c.conn.Create(c.full(p), data, 0, zk.WorldACL(zk.PermAll))
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

func (c *churner) del(p string) error {
	err := c.conn.Delete(c.full(p), -1)
	if err != nil && !errors.Is(err, zk.ErrNoNode) && !errors.Is(err, zk.ErrNotEmpty) {
		return fmt.Errorf("delete %s: %w", p, err)
	}
	return nil
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

// step makes one change (sometimes a few znode writes, as Kafka does).
func (c *churner) step(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r := c.rnd.IntN(100)
	var kind string
	var err error
	switch {
	case r < 30 && len(c.names) > 0:
		kind, err = "partition-state", c.stateChange()
	case r < 38:
		kind, err = "create-topic", c.createTopic()
	case r < 42 && len(c.ownTopics()) > 3:
		kind, err = "delete-topic", c.deleteTopic()
	case r < 45 && len(c.ownTopics()) > 0:
		kind, err = "add-partitions", c.addPartitions()
	case r < 55 && len(c.names) > 0:
		kind, err = "topic-config", c.topicConfig()
	case r < 62:
		kind, err = "broker-config", c.brokerConfig()
	case r < 72:
		kind, err = "quota", c.quota()
	case r < 78:
		kind, err = "scram", c.scram()
	case r < 90:
		kind, err = "acl", c.acl()
	case r < 94:
		kind, err = "producer-id", c.producerID()
	default:
		kind, err = "delegation-token", c.token()
	}
	c.ops[kind]++
	return err
}

func (c *churner) ownTopics() []string {
	var out []string
	for _, n := range c.names {
		if c.topics[n].own {
			out = append(out, n)
		}
	}
	return out
}

func (c *churner) pick() (string, *churnTopic) {
	n := c.names[c.rnd.IntN(len(c.names))]
	return n, c.topics[n]
}

func (c *churner) stateChange() error {
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
	return c.put(statePath(name, p), c.stateJSON(t, p))
}

func contains(s []int32, v int32) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func (c *churner) createTopic() error {
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
	if c.rnd.IntN(2) == 0 {
		if err := c.put(pathConfigTopics+"/"+name, c.configJSON(map[string]string{"retention.ms": fmt.Sprint(c.rnd.IntN(1e6))})); err != nil {
			return err
		}
	}
	if err := c.put(pathTopics+"/"+name, c.topicJSON(t)); err != nil {
		return err
	}
	for p := range t.parts {
		if err := c.put(statePath(name, p), c.stateJSON(t, p)); err != nil {
			return err
		}
	}
	c.topics[name] = t
	c.names = append(c.names, name)
	return nil
}

func (c *churner) deleteTopic() error {
	own := c.ownTopics()
	name := own[c.rnd.IntN(len(own))]
	t := c.topics[name]
	if err := c.put(pathDeleteTopics+"/"+name, nil); err != nil {
		return err
	}
	for p := range t.parts {
		if err := c.del(statePath(name, p)); err != nil {
			return err
		}
		if err := c.del(fmt.Sprintf("%s/%s/partitions/%d", pathTopics, name, p)); err != nil {
			return err
		}
	}
	for _, p := range []string{pathTopics + "/" + name + "/partitions", pathTopics + "/" + name, pathConfigTopics + "/" + name, pathDeleteTopics + "/" + name} {
		if err := c.del(p); err != nil {
			return err
		}
	}
	delete(c.topics, name)
	for i, n := range c.names {
		if n == name {
			c.names = append(c.names[:i], c.names[i+1:]...)
			break
		}
	}
	return nil
}

func (c *churner) addPartitions() error {
	own := c.ownTopics()
	name := own[c.rnd.IntN(len(own))]
	t := c.topics[name]
	p := int32(len(t.parts))
	t.parts[p] = c.replicas(2)
	t.leader[p] = t.parts[p][0]
	t.isr[p] = t.parts[p]
	if err := c.put(pathTopics+"/"+name, c.topicJSON(t)); err != nil {
		return err
	}
	return c.put(statePath(name, p), c.stateJSON(t, p))
}

var configKeys = []string{"retention.ms", "cleanup.policy", "segment.bytes", "max.message.bytes"}

func (c *churner) readConfig(p string) map[string]string {
	data, _, err := c.conn.Get(c.full(p))
	cfg := map[string]string{}
	if err != nil {
		return cfg
	}
	var v struct {
		Config map[string]string `json:"config"`
	}
	if json.Unmarshal(data, &v) == nil && v.Config != nil {
		cfg = v.Config
	}
	return cfg
}

func (c *churner) editConfig(p string, keys []string, value func() string) error {
	cfg := c.readConfig(p)
	k := keys[c.rnd.IntN(len(keys))]
	if _, ok := cfg[k]; ok && c.rnd.IntN(2) == 0 {
		delete(cfg, k)
	} else {
		cfg[k] = value()
	}
	if len(cfg) == 0 && c.rnd.IntN(2) == 0 {
		return c.del(p)
	}
	return c.put(p, c.configJSON(cfg))
}

func (c *churner) topicConfig() error {
	name, _ := c.pick()
	return c.editConfig(pathConfigTopics+"/"+name, configKeys, func() string { return fmt.Sprint(c.rnd.IntN(1 << 30)) })
}

func (c *churner) brokerConfig() error {
	names := []string{"1", "2", "3", kafka.DefaultEntity}
	return c.editConfig(pathConfigBroker+"/"+names[c.rnd.IntN(len(names))], []string{"log.cleaner.threads", "num.io.threads", "message.max.bytes"},
		func() string { return fmt.Sprint(1 + c.rnd.IntN(64)) })
}

func (c *churner) quota() error {
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
	cfg := c.readConfig(p)
	if c.rnd.IntN(6) == 0 {
		// delete the whole znode (and any /clients below it)
		kids, _, _ := c.conn.Children(c.full(p + "/clients"))
		for _, k := range kids {
			if err := c.del(p + "/clients/" + k); err != nil {
				return err
			}
		}
		if err := c.del(p + "/clients"); err != nil && !errors.Is(err, zk.ErrNotEmpty) {
			return err
		}
		err := c.del(p)
		if errors.Is(err, zk.ErrNotEmpty) {
			return nil
		}
		return err
	}
	k := keys[c.rnd.IntN(len(keys))]
	if _, ok := cfg[k]; ok && c.rnd.IntN(3) == 0 {
		delete(cfg, k)
	} else {
		cfg[k] = fmt.Sprint(1000 * (1 + c.rnd.IntN(100)))
	}
	return c.put(p, c.configJSON(cfg))
}

func (c *churner) scram() error {
	p := pathConfigUsers + "/churn-user-" + fmt.Sprint(c.rnd.IntN(8))
	cfg := c.readConfig(p)
	mech := []string{"SCRAM-SHA-256", "SCRAM-SHA-512"}[c.rnd.IntN(2)]
	if _, ok := cfg[mech]; ok && c.rnd.IntN(3) == 0 {
		delete(cfg, mech)
	} else {
		b := func(n int) string {
			x := make([]byte, n)
			for i := range x {
				x[i] = byte(c.rnd.IntN(256))
			}
			return base64.StdEncoding.EncodeToString(x)
		}
		cfg[mech] = fmt.Sprintf("salt=%s,stored_key=%s,server_key=%s,iterations=%d", b(16), b(32), b(32), 4096+c.rnd.IntN(4096))
	}
	return c.put(p, c.configJSON(cfg))
}

type aclJSON struct {
	Principal      string `json:"principal"`
	PermissionType string `json:"permissionType"`
	Operation      string `json:"operation"`
	Host           string `json:"host"`
}

func (c *churner) acl() error {
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
	var cur struct {
		ACLs []aclJSON `json:"acls"`
	}
	if data, _, err := c.conn.Get(c.full(p)); err == nil {
		json.Unmarshal(data, &cur)
	}
	if len(cur.ACLs) > 0 && c.rnd.IntN(3) == 0 {
		cur.ACLs = append(cur.ACLs[:0:0], cur.ACLs[1:]...)
		if len(cur.ACLs) == 0 {
			return c.del(p)
		}
	} else {
		e := aclJSON{Principal: fmt.Sprintf("User:churn-%d", c.rnd.IntN(5)), PermissionType: []string{"Allow", "Deny"}[c.rnd.IntN(2)],
			Operation: []string{"Read", "Write", "Describe", "All"}[c.rnd.IntN(4)], Host: "*"}
		for _, x := range cur.ACLs {
			if x == e {
				return nil
			}
		}
		cur.ACLs = append(cur.ACLs, e)
	}
	return c.put(p, mustJSON(map[string]any{"version": 1, "acls": cur.ACLs}))
}

func (c *churner) producerID() error {
	c.pid += 1000
	return c.put(pathProducerID, mustJSON(map[string]any{"version": 1, "broker": 1 + c.rnd.IntN(3),
		"block_start": fmt.Sprint(c.pid), "block_end": fmt.Sprint(c.pid + 999)}))
}

func (c *churner) token() error {
	id := fmt.Sprintf("churn-token-%d", c.rnd.IntN(6))
	p := pathTokens + "/" + id
	if c.rnd.IntN(3) == 0 {
		return c.del(p)
	}
	now := time.Now().UnixMilli()
	return c.put(p, mustJSON(map[string]any{"version": 3, "owner": "User%3Aalice", "tokenRequester": "User%3Aalice",
		"renewers": []string{"User%3Abob"}, "issueTimestamp": now, "maxTimestamp": now + 86400000,
		"expiryTimestamp": now + 3600000 + int64(c.rnd.IntN(1000)), "tokenId": id}))
}

// run makes n changes (n <= 0: until ctx ends) at most rate per second
// (rate <= 0: as fast as it can).
func (c *churner) run(ctx context.Context, n int, rate float64) (int, error) {
	start := time.Now()
	done := 0
	for n <= 0 || done < n {
		if rate > 0 {
			due := start.Add(time.Duration(float64(done) / rate * float64(time.Second)))
			if d := time.Until(due); d > 0 {
				select {
				case <-ctx.Done():
					return done, nil
				case <-time.After(d):
				}
			}
		}
		if err := c.step(ctx); err != nil {
			if ctx.Err() != nil {
				return done, nil
			}
			if errors.Is(err, zk.ErrConnectionClosed) || errors.Is(err, zk.ErrNoServer) || errors.Is(err, zk.ErrSessionExpired) {
				time.Sleep(50 * time.Millisecond)
				continue
			}
			if errors.Is(err, zk.ErrNoNode) || errors.Is(err, zk.ErrNodeExists) || errors.Is(err, zk.ErrNotEmpty) {
				// Another churner raced this one on a shared znode.
				c.ops["raced"]++
				continue
			}
			return done, err
		}
		done++
	}
	return done, nil
}
