package dualwrite

import (
	"strings"
	"testing"

	"github.com/zk2kraft/zk2kraft/image"
	"github.com/zk2kraft/zk2kraft/kafka"
	"github.com/zk2kraft/zk2kraft/translate"
	"github.com/zk2kraft/zk2kraft/translate/records"
	"github.com/zk2kraft/zk2kraft/zkreader"
)

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		path string
		want parsedPath
	}{
		{"/brokers/topics", parsedPath{kind: pTopicList}},
		{"/brokers/topics/orders", parsedPath{kind: pTopic, topic: "orders"}},
		{"/brokers/topics/orders/partitions/7/state", parsedPath{kind: pState, topic: "orders", part: 7}},
		{"/brokers/topics/orders/partitions/x/state", parsedPath{kind: pUnknown}},
		{"/brokers/topics/orders/partitions/7", parsedPath{kind: pUnknown}},
		{"/admin/delete_topics", parsedPath{kind: pDeleteList}},
		{"/config/topics/orders", parsedPath{kind: pTopicConfig, topic: "orders", name: "orders"}},
		{"/config/brokers/<default>", parsedPath{kind: pBrokerConfig, name: "<default>"}},
		{"/config/users/alice", parsedPath{kind: pUser, name: "alice", quota: "users/alice"}},
		{"/config/users/alice/clients", parsedPath{kind: pUserClientList, name: "alice"}},
		{"/config/users/alice/clients/app", parsedPath{kind: pUserClient, name: "app", quota: "users/alice/clients/app"}},
		{"/config/clients/app", parsedPath{kind: pClient, name: "app", quota: "clients/app"}},
		{"/config/ips/1.2.3.4", parsedPath{kind: pIP, name: "1.2.3.4", quota: "ips/1.2.3.4"}},
		{"/kafka-acl", parsedPath{kind: pACLTypeList}},
		{"/kafka-acl/Topic", parsedPath{kind: pACLList, name: "Topic"}},
		{"/kafka-acl/Topic/orders", parsedPath{kind: pACL, name: "orders"}},
		{"/kafka-acl-extended/prefixed/Group/g-", parsedPath{kind: pACL, name: "g-"}},
		{"/latest_producer_id_block", parsedPath{kind: pProducerID}},
		{"/delegation_token/tokens/t1", parsedPath{kind: pToken, name: "t1"}},
		{"/config/changes/config_change_0000000001", parsedPath{kind: pUnknown}},
		{"/isr_change_notification/isr_change_1", parsedPath{kind: pUnknown}},
	} {
		if got := classify(tc.path); got != tc.want {
			t.Errorf("classify(%q) = %+v, want %+v", tc.path, got, tc.want)
		}
	}
}

func FuzzClassify(f *testing.F) {
	for _, s := range []string{"/brokers/topics/a/partitions/0/state", "/config/users/a/clients/b", "/kafka-acl-extended/prefixed/Topic/x", "//", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		pp := classify(p)
		if pp.kind == pState && (pp.part < 0 || pp.topic == "") {
			t.Fatalf("classify(%q) = %+v", p, pp)
		}
		if pp.quota != "" {
			if _, err := zkreader.ParseQuotaEntity("/config/" + pp.quota); err != nil && !strings.Contains(err.Error(), "name") {
				t.Fatalf("quota path %q of %q: %v", pp.quota, p, err)
			}
		}
	})
}

func TestSeqSet(t *testing.T) {
	s := newSeqSet()
	if _, ok := s.min(); ok {
		t.Fatal("empty set has a minimum")
	}
	for _, v := range []uint64{5, 3, 3, 9} {
		s.add(v)
	}
	s.remove(3)
	if m, _ := s.min(); m != 3 {
		t.Fatalf("min %d, want 3 (one 3 left)", m)
	}
	s.remove(3)
	if m, _ := s.min(); m != 5 {
		t.Fatalf("min %d, want 5", m)
	}
	s.remove(5)
	s.remove(9)
	if _, ok := s.min(); ok || s.len() != 0 {
		t.Fatal("set not empty")
	}
}

// viewWith builds a view holding one topic with one partition.
func viewWith(t *testing.T, p *records.PartitionRecord) (*view, *image.Topic) {
	t.Helper()
	im := image.New()
	id := kafka.DerivedUUID("t")
	for _, r := range []records.Record{&records.TopicRecord{Name: "t", TopicId: id}, p} {
		if err := im.Apply(records.Versioned{Record: r}); err != nil {
			t.Fatal(err)
		}
	}
	return newView(im), im.TopicByName("t")
}

func TestPartitionDelta(t *testing.T) {
	id := kafka.DerivedUUID("t")
	base := func() *records.PartitionRecord {
		return &records.PartitionRecord{PartitionId: 0, TopicId: id, Replicas: []int32{1, 2, 3}, Isr: []int32{1, 2, 3},
			AddingReplicas: []int32{}, RemovingReplicas: []int32{}, Leader: 1, LeaderEpoch: 4, PartitionEpoch: 10}
	}
	for _, tc := range []struct {
		name   string
		change func(w *records.PartitionRecord)
		want   string // record type written, "" none
	}{
		{"unchanged", func(w *records.PartitionRecord) {}, ""},
		{"isr shrink", func(w *records.PartitionRecord) { w.Isr = []int32{1}; w.PartitionEpoch = 11 }, "PARTITION_CHANGE_RECORD"},
		{"leader election", func(w *records.PartitionRecord) { w.Leader = 2; w.LeaderEpoch = 5; w.PartitionEpoch = 11 }, "PARTITION_CHANGE_RECORD"},
		{"partition epoch jump", func(w *records.PartitionRecord) { w.Isr = []int32{1}; w.PartitionEpoch = 13 }, "PARTITION_RECORD"},
		{"leader epoch jump", func(w *records.PartitionRecord) { w.Leader = 3; w.LeaderEpoch = 7; w.PartitionEpoch = 11 }, "PARTITION_RECORD"},
		{"epoch bump without a leader change", func(w *records.PartitionRecord) { w.LeaderEpoch = 5; w.PartitionEpoch = 11 }, "PARTITION_RECORD"},
		{"reassignment", func(w *records.PartitionRecord) {
			w.Replicas = []int32{1, 2, 3, 4}
			w.AddingReplicas = []int32{4}
			w.PartitionEpoch = 11
		}, "PARTITION_RECORD"},
		{"recovering", func(w *records.PartitionRecord) { w.LeaderRecoveryState = 1; w.PartitionEpoch = 11 }, "PARTITION_CHANGE_RECORD"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, topic := viewWith(t, base())
			w := base()
			tc.change(w)
			rec, ok := partitionDelta("t", topic, w)
			got := ""
			if ok {
				got = rec.Record.TypeName()
			}
			if got != tc.want {
				t.Fatalf("record %q, want %q", got, tc.want)
			}
			if !ok {
				return
			}
			// Replaying it must give exactly what ZooKeeper holds.
			if err := v.apply(rec); err != nil {
				t.Fatal(err)
			}
			if p := v.im.TopicByName("t").Partition(0); !samePartition(p, w) {
				t.Fatalf("after %s: %+v, want %+v", got, *p, *w)
			}
		})
	}
}

func TestConfigDelta(t *testing.T) {
	cur := map[string]string{"a": "1", "b": "2", "c": "3"}
	want := map[string]string{"a": "1", "b": "20", "d": "4"}
	out := configDelta(kafka.ConfigResourceTopic, "t", cur, want)
	var got []string
	for _, r := range out {
		c := r.Record.(*records.ConfigRecord)
		v := "null"
		if c.Value != nil {
			v = *c.Value
		}
		got = append(got, c.Name+"="+v)
	}
	if strings.Join(got, ",") != "b=20,c=null,d=4" {
		t.Fatalf("config delta %v", got)
	}
}

// TestDeltasFromModel drives the object deltas from a model, as the mirror
// does after reads: a new topic, its deletion, quota and SCRAM changes, ACLs
// and a producer-id block.
func TestDeltasFromModel(t *testing.T) {
	md := newModel()
	v := newView(image.New())
	d := &deltas{m: md, v: v, opts: translate.Options{}, log: testLogger(t)}
	apply := func(k objKey) []string {
		t.Helper()
		out, err := d.compute(k)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, r := range out {
			if err := v.apply(r); err != nil {
				t.Fatalf("%s: %v", describe(r), err)
			}
			names = append(names, r.Record.TypeName())
		}
		return names
	}
	id := kafka.DerivedUUID("orders")
	md.topics["orders"] = &topicZK{topic: &zkreader.Topic{Name: "orders", Version: 3, TopicID: &id,
		Partitions: []zkreader.Partition{{ID: 0, Replicas: []int32{1, 2}}, {ID: 1, Replicas: []int32{2, 1}}}},
		states: map[int32]*zkreader.PartitionState{0: {Leader: 1, LeaderEpoch: 3, ISR: []int32{1, 2}, Stat: zkreader.Stat{Version: 5}}}}
	md.topicCfg["orders"] = &zkreader.EntityConfig{Name: "orders", Config: map[string]string{"retention.ms": "1000"}}
	if got := strings.Join(apply(objKey{kind: kindTopic, name: "orders"}), ","); got != "TOPIC_RECORD,CONFIG_RECORD,PARTITION_RECORD,PARTITION_RECORD" {
		t.Fatalf("new topic: %s", got)
	}
	if got := apply(objKey{kind: kindTopic, name: "orders"}); len(got) != 0 {
		t.Fatalf("second delta of an unchanged topic: %v", got)
	}
	// Partition 1's state appears with a shrunk ISR (partition epoch 0 -> 1):
	// a change record; then a leader epoch that jumped: a full record.
	md.topics["orders"].states[1] = &zkreader.PartitionState{Leader: 2, LeaderEpoch: 0, ISR: []int32{2}, Stat: zkreader.Stat{Version: 1}}
	if got := strings.Join(apply(objKey{kind: kindPartition, name: "orders", part: 1}), ","); got != "PARTITION_CHANGE_RECORD" {
		t.Fatalf("state change: %s", got)
	}
	md.topics["orders"].states[1] = &zkreader.PartitionState{Leader: 1, LeaderEpoch: 3, ISR: []int32{1}, Stat: zkreader.Stat{Version: 2}}
	if got := strings.Join(apply(objKey{kind: kindPartition, name: "orders", part: 1}), ","); got != "PARTITION_RECORD" {
		t.Fatalf("state jump: %s", got)
	}
	md.pending["orders"] = true
	if got := strings.Join(apply(objKey{kind: kindTopic, name: "orders"}), ","); got != "REMOVE_TOPIC_RECORD" {
		t.Fatalf("pending deletion: %s", got)
	}

	alice := "alice"
	md.quotas["users/alice"] = &quotaZK{quota: &zkreader.ClientQuota{Path: "/config/users/alice", Entity: []zkreader.QuotaEntityPart{{Type: "user", Name: &alice}},
		Values: map[string]float64{"producer_byte_rate": 100}},
		scram: []zkreader.ScramCredential{{Path: "/config/users/alice", User: "alice", Mechanism: "SCRAM-SHA-256", Salt: []byte{1}, StoredKey: []byte{2}, ServerKey: []byte{3}, Iterations: 4096}}}
	if got := strings.Join(apply(objKey{kind: kindQuota, name: "users/alice"}), ","); got != "CLIENT_QUOTA_RECORD,USER_SCRAM_CREDENTIAL_RECORD" {
		t.Fatalf("quota + scram: %s", got)
	}
	delete(md.quotas, "users/alice")
	if got := strings.Join(apply(objKey{kind: kindQuota, name: "users/alice"}), ","); got != "CLIENT_QUOTA_RECORD,REMOVE_USER_SCRAM_CREDENTIAL_RECORD" {
		t.Fatalf("quota + scram removed: %s", got)
	}
	if len(v.quotas) != 0 || len(v.scram) != 0 {
		t.Fatalf("view still holds quotas %v scram %v", v.quotas, v.scram)
	}

	p := "/kafka-acl/Topic/orders"
	md.acls[p] = &zkreader.ACLResource{Path: p, ResourceType: "Topic", PatternType: "LITERAL", Name: "orders",
		Entries: []zkreader.ACLEntry{{Principal: "User:a", PermissionType: "Allow", Operation: "Read", Host: "*"}, {Principal: "User:b", PermissionType: "Deny", Operation: "Write", Host: "*"}}}
	if got := apply(objKey{kind: kindACL, name: p}); len(got) != 2 {
		t.Fatalf("acls added: %v", got)
	}
	md.acls[p].Entries = md.acls[p].Entries[:1]
	if got := strings.Join(apply(objKey{kind: kindACL, name: p}), ","); got != "REMOVE_ACCESS_CONTROL_ENTRY_RECORD" {
		t.Fatalf("acl removed: %s", got)
	}

	md.producerID = &zkreader.ProducerIDBlock{Version: 1, Broker: 1, BlockStart: 1000, BlockEnd: 1999}
	if got := strings.Join(apply(objKey{kind: kindProducerID}), ","); got != "PRODUCER_IDS_RECORD" || v.im.NextProducerID() != 2000 {
		t.Fatalf("producer ids: %s next %d", got, v.im.NextProducerID())
	}
	md.producerID = &zkreader.ProducerIDBlock{Version: 1, Broker: 1, BlockStart: 0, BlockEnd: 999}
	if got := apply(objKey{kind: kindProducerID}); len(got) != 0 {
		t.Fatalf("an older producer-id block was written: %v", got)
	}
}
