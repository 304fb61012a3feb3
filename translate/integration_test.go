package translate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/zk2kraft/zk2kraft/image"
	"github.com/zk2kraft/zk2kraft/kafka"
	"github.com/zk2kraft/zk2kraft/testenv"
	"github.com/zk2kraft/zk2kraft/zkreader"
)

// TestTranslateSeededCluster seeds a real 3-node ensemble with every edge
// case, reads it back with zkreader, translates it and checks every object of
// the resulting image against the seeder's own record of what it wrote.
func TestTranslateSeededCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("needs ZooKeeper")
	}
	env := testenv.Start(t, testenv.Options{Nodes: 3})
	conn := env.Connect(t) // keeps the ephemeral broker znodes alive
	seed, err := testenv.Seed(t.Context(), conn, testenv.SeedSpec{Preset: "small", Chroot: "/kafka"})
	if err != nil {
		t.Fatal(err)
	}
	read, err := zkreader.Read(t.Context(), zkreader.Options{Connect: env.ConnectString() + "/kafka"})
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{PassThroughEncryptedPasswords: true} // the seeder's ciphertext is opaque bytes
	res, err := Translate(read, opts)
	if err != nil {
		t.Fatal(err)
	}
	im, err := res.Image()
	if err != nil {
		t.Fatal(err)
	}

	pending := map[string]bool{}
	for _, p := range seed.PendingDeletions {
		pending[p] = true
	}
	readTopics := map[string]*zkreader.Topic{}
	for i := range read.Topics {
		readTopics[read.Topics[i].Name] = &read.Topics[i]
	}
	migrated := 0
	for _, st := range seed.Topics {
		got := im.TopicByName(st.Name)
		switch {
		case pending[st.Name]:
			if got != nil {
				t.Errorf("topic %s pending deletion was migrated", st.Name)
			}
			continue
		case st.TopicID == nil:
			if got != nil {
				t.Errorf("topic %s without id was migrated", st.Name)
			}
			continue
		}
		migrated++
		if got == nil || got.ID != *st.TopicID {
			t.Errorf("topic %s: got %+v, want id %s", st.Name, got, st.TopicID)
			continue
		}
		if len(got.Partitions) != len(st.Partitions) {
			t.Errorf("topic %s: %d partitions, want %d", st.Name, len(got.Partitions), len(st.Partitions))
			continue
		}
		for _, sp := range st.Partitions {
			gp := got.Partition(sp.ID)
			where := fmt.Sprintf("%s-%d", st.Name, sp.ID)
			if gp == nil {
				t.Errorf("%s missing", where)
				continue
			}
			eq(t, where+" replicas", gp.Replicas, sp.Replicas)
			eq(t, where+" adding", gp.AddingReplicas, nilIfEmpty(sp.AddingReplicas))
			eq(t, where+" removing", gp.RemovingReplicas, nilIfEmpty(sp.RemovingReplicas))
			if sp.State == nil {
				eq(t, where+" isr (no state)", gp.ISR, sp.Replicas)
				eq(t, where+" leader (no state)", gp.Leader, sp.Replicas[0])
				eq(t, where+" leader epoch (no state)", gp.LeaderEpoch, int32(0))
				eq(t, where+" partition epoch (no state)", gp.PartitionEpoch, int32(0))
				continue
			}
			eq(t, where+" isr", gp.ISR, sp.State.ISR)
			eq(t, where+" leader", gp.Leader, sp.State.Leader)
			eq(t, where+" leader epoch", gp.LeaderEpoch, sp.State.LeaderEpoch)
			eq(t, where+" leader recovery state", gp.LeaderRecoveryState, sp.State.LeaderRecoveryState)
			// Partition epoch = the state znode's version in ZooKeeper.
			rp := readTopics[st.Name].Partitions[slices.IndexFunc(readTopics[st.Name].Partitions, func(p zkreader.Partition) bool { return p.ID == sp.ID })]
			eq(t, where+" partition epoch", gp.PartitionEpoch, rp.State.Stat.Version)
			if sp.State.Stat.Version != 0 {
				eq(t, where+" partition epoch (seeder)", gp.PartitionEpoch, sp.State.Stat.Version)
			}
		}
	}
	if got := len(im.Topics()); got != migrated || migrated == 0 {
		t.Errorf("%d topics in the image, want %d", got, migrated)
	}

	for _, c := range seed.TopicConfigs {
		want := c.Config
		if pending[c.Name] || im.TopicByName(c.Name) == nil {
			want = nil
		}
		eqConfig(t, im.Config(image.ConfigResource{Type: 2, Name: c.Name}), want, "topic "+c.Name)
	}
	for _, c := range seed.BrokerConfigs {
		name := c.Name
		if name == kafka.DefaultEntity {
			name = ""
		}
		eqConfig(t, im.Config(image.ConfigResource{Type: 4, Name: name}), c.Config, "broker "+c.Name)
	}
	nq := 0
	for _, q := range seed.Quotas {
		if len(q.Values) == 0 {
			continue
		}
		parts := make([]image.EntityPart, len(q.Entity))
		for i, p := range q.Entity {
			parts[i] = image.EntityPart{Type: p.Type, Name: p.Name}
		}
		key := image.EntityKey(parts)
		var got map[string]float64
		for _, e := range im.QuotaEntities() {
			if image.EntityKey(e.Entity) == key {
				got = e.Values
			}
		}
		eq(t, "quota "+key, got, q.Values)
		nq += len(q.Values)
	}
	eq(t, "quota count", im.Counts()[image.SectionClientQuotas], nq)
	scram := map[string]*image.ScramCredential{}
	for _, c := range im.ScramCredentials() {
		scram[fmt.Sprintf("%s/%d", c.Name, c.Mechanism)] = c
	}
	for _, s := range seed.Scram {
		c := scram[fmt.Sprintf("%s/%d", s.User, kafka.ScramMechanismCodes[s.Mechanism])]
		if c == nil || !bytes.Equal(c.Salt, s.Salt) || !bytes.Equal(c.StoredKey, s.StoredKey) || !bytes.Equal(c.ServerKey, s.ServerKey) || c.Iterations != s.Iterations {
			t.Errorf("SCRAM %s %s missing or different", s.User, s.Mechanism)
		}
	}
	eq(t, "scram count", len(im.ScramCredentials()), len(seed.Scram))
	acls := map[kafka.UUID]*image.ACL{}
	for _, a := range im.ACLs() {
		acls[a.ID] = a
	}
	nACL := 0
	for _, r := range seed.ACLs {
		for _, e := range r.Entries {
			nACL++
			rt, pt := kafka.ResourceTypeCodes[r.ResourceType], kafka.PatternTypeCodes[r.PatternType]
			op, perm := kafka.OperationCodes[e.Operation], kafka.PermissionTypeCodes[e.PermissionType]
			a := acls[ACLID(rt, r.Name, pt, e.Principal, e.Host, op, perm)]
			if a == nil || a.ResourceName != r.Name || a.Principal != e.Principal || a.Host != e.Host || a.Operation != op || a.PermissionType != perm {
				t.Errorf("ACL %s %v missing or different: %+v", r.Path, e, a)
			}
		}
	}
	eq(t, "acl count", len(acls), nACL)
	if seed.ProducerIDBlock != nil {
		eq(t, "next producer id", im.NextProducerID(), seed.ProducerIDBlock.BlockEnd+1)
	}
	toks := map[string]*image.DelegationToken{}
	for _, d := range im.DelegationTokens() {
		toks[d.TokenID] = d
	}
	for _, d := range seed.DelegationTokens {
		g := toks[d.TokenID]
		if g == nil || g.Owner != d.Owner || g.Requester != d.Requester || !reflect.DeepEqual(g.Renewers, nonNilStrings(d.Renewers)) || g.ExpirationTimestamp != d.ExpiryTimestamp || g.MaxTimestamp != d.MaxTimestamp {
			t.Errorf("token %s: got %+v want %+v", d.TokenID, g, d)
		}
	}
	eq(t, "token count", len(toks), len(seed.DelegationTokens))
	readBrokers := map[int32]zkreader.Broker{}
	for _, b := range read.Brokers {
		readBrokers[b.ID] = b
	}
	for _, sb := range seed.Brokers {
		b := im.Broker(sb.ID)
		if b == nil {
			t.Errorf("broker %d not registered", sb.ID)
			continue
		}
		eq(t, fmt.Sprintf("broker %d epoch", sb.ID), b.Epoch, readBrokers[sb.ID].Stat.Czxid)
		eq(t, fmt.Sprintf("broker %d rack", sb.ID), b.Rack, sb.Rack)
		var eps []string
		for _, e := range sb.Endpoints {
			eps = append(eps, fmt.Sprintf("%s %s:%d %d", e.Listener, e.Host, e.Port, SecurityProtocolCodes[e.SecurityProtocol]))
		}
		var got []string
		for _, e := range b.Endpoints {
			got = append(got, fmt.Sprintf("%s %s:%d %d", e.Name, e.Host, e.Port, e.SecurityProtocol))
		}
		eq(t, fmt.Sprintf("broker %d endpoints", sb.ID), got, eps)
		if !b.IsMigratingZkBroker || !b.Fenced {
			t.Errorf("broker %d: %+v", sb.ID, b)
		}
	}
	eq(t, "broker count", len(im.Brokers()), len(seed.Brokers))

	// The seeder's model translates to the same image, except what only
	// ZooKeeper knows (broker epochs = czxids, hence incarnation ids).
	resSeed, err := Translate(seed, opts)
	if err != nil {
		t.Fatal(err)
	}
	imSeed, err := resSeed.Image()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range image.Diff(imSeed, im) {
		if d.Section == image.SectionCluster && (d.Field == "epoch" || d.Field == "incarnationId") {
			continue
		}
		t.Errorf("seed vs read: %s", d)
	}
	if !res.Blocked() {
		t.Error("the seeded cluster has topics without id: translation must block")
	}
}

func nilIfEmpty(s []int32) []int32 {
	if len(s) == 0 {
		return nil
	}
	return s
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func eq(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: got %v, want %v", what, got, want)
	}
}

func eqConfig(t *testing.T, got, want map[string]string, what string) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("config %s: got %v, want %v", what, got, want)
	}
}

// TestAssignTopicIDs writes ids into the seeded cluster's id-less topics,
// conditionally on their versions, and checks idempotence and that a re-read
// translates without the blocker.
func TestAssignTopicIDs(t *testing.T) {
	if testing.Short() {
		t.Skip("needs ZooKeeper")
	}
	env := testenv.Start(t, testenv.Options{Nodes: 3})
	conn := env.Connect(t)
	if _, err := testenv.Seed(t.Context(), conn, testenv.SeedSpec{Preset: "small", Chroot: "/assign"}); err != nil {
		t.Fatal(err)
	}
	read := func() *zkreader.Snapshot {
		s, err := zkreader.Read(t.Context(), zkreader.Options{Connect: env.ConnectString() + "/assign"})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	before := read()
	versions := map[string]int32{}
	for _, tp := range before.Topics {
		versions[tp.Name] = tp.Stat.Version
	}
	ids, err := AssignTopicIDs(t.Context(), conn, "/assign", before)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{testenv.TopicLegacyV1, testenv.TopicLegacyV2}
	var got []string
	for n := range ids {
		got = append(got, n)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("assigned %v, want %v", got, want)
	}
	for _, n := range want {
		data, st, err := conn.Get("/assign/brokers/topics/" + n)
		if err != nil {
			t.Fatal(err)
		}
		var z struct {
			Version    int                `json:"version"`
			TopicID    string             `json:"topic_id"`
			Partitions map[string][]int32 `json:"partitions"`
		}
		if err := json.Unmarshal(data, &z); err != nil {
			t.Fatal(err)
		}
		if z.Version != 3 || z.TopicID != ids[n].String() || len(z.Partitions) == 0 || st.Version != versions[n]+1 {
			t.Errorf("%s: znode %s (version %d, was %d)", n, data, st.Version, versions[n])
		}
	}
	// Idempotent: a second run keeps the ids and writes nothing.
	again, err := AssignTopicIDs(t.Context(), conn, "/assign", before)
	if err != nil || !reflect.DeepEqual(again, ids) {
		t.Fatalf("second run: %v %v", again, err)
	}
	after := read()
	for _, tp := range after.Topics {
		if id, ok := ids[tp.Name]; ok {
			if tp.TopicID == nil || *tp.TopicID != id || tp.Stat.Version != versions[tp.Name]+1 {
				t.Errorf("%s after re-read: id %v version %d", tp.Name, tp.TopicID, tp.Stat.Version)
			}
		}
		if tp.Name != testenv.TopicLegacyV1 && tp.Name != testenv.TopicLegacyV2 && tp.Stat.Version != versions[tp.Name] {
			t.Errorf("%s was written", tp.Name)
		}
	}
	res, err := Translate(after, Options{PassThroughEncryptedPasswords: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range res.Findings {
		if f.Code == "topic-without-id" {
			t.Errorf("still blocked: %v", f)
		}
	}
	im, err := res.Image()
	if err != nil {
		t.Fatal(err)
	}
	if tp := im.TopicByName(testenv.TopicLegacyV1); tp == nil || tp.ID != ids[testenv.TopicLegacyV1] {
		t.Errorf("legacy topic not migrated with its assigned id: %+v", tp)
	}
}

func TestWithTopicID(t *testing.T) {
	id := kafka.DerivedUUID("x")
	existing := kafka.DerivedUUID("y")
	cases := []struct {
		in      string
		want    string
		changed bool
		err     string
	}{
		{`{"version":1,"partitions":{"0":[1,2]}}`, `{"version":3,"partitions":{"0":[1,2]},"adding_replicas":{},"removing_replicas":{},"topic_id":"` + id.String() + `"}`, true, ""},
		{`{"version":2,"partitions":{"0":[1,2,3]},"adding_replicas":{"0":[3]},"removing_replicas":{"0":[1]}}`, `{"version":3,"partitions":{"0":[1,2,3]},"adding_replicas":{"0":[3]},"removing_replicas":{"0":[1]},"topic_id":"` + id.String() + `"}`, true, ""},
		{`{"version":3,"partitions":{"0":[1]},"adding_replicas":{},"removing_replicas":{},"topic_id":"` + existing.String() + `"}`, "", false, ""},
		{`{"version":3,"partitions":{"0":[1]},"topic_id":null}`, `{"version":3,"partitions":{"0":[1]},"adding_replicas":{},"removing_replicas":{},"topic_id":"` + id.String() + `"}`, true, ""},
		{`not json`, "", false, "not a JSON object"},
		{`{"version":1}`, "", false, "partitions: missing"},
		{`{"version":1,"partitions":[1]}`, "", false, "field partitions"},
		{`{"version":3,"partitions":{},"topic_id":"short"}`, "", false, "topic_id"},
	}
	for _, c := range cases {
		out, got, changed, err := WithTopicID([]byte(c.in), id)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: err %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || changed != c.changed {
			t.Errorf("%s: changed %v err %v", c.in, changed, err)
			continue
		}
		if changed && (string(out) != c.want || got != id) {
			t.Errorf("%s:\n got  %s\n want %s", c.in, out, c.want)
		}
		if !changed && got != existing {
			t.Errorf("%s: existing id not kept: %v", c.in, got)
		}
	}
}

func FuzzWithTopicID(f *testing.F) {
	f.Add([]byte(`{"version":1,"partitions":{"0":[1,2]}}`))
	f.Add([]byte(`{"version":3,"partitions":{"0":[1]},"topic_id":"AAAAAAAAAAAAAAAAAAAAAA"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		out, _, changed, err := WithTopicID(data, kafka.DerivedUUID("f"))
		if err != nil || !changed {
			return
		}
		// A rewritten znode is valid JSON and keeps its id on a second pass.
		_, id, again, err := WithTopicID(out, kafka.DerivedUUID("g"))
		if err != nil || again || id != kafka.DerivedUUID("f") {
			t.Fatalf("rewrite of %q not stable: %s %v %v", data, out, again, err)
		}
	})
}
