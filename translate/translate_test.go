package translate

import (
	"bufio"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/zk2kraft/zk2kraft/kafka"
	"github.com/zk2kraft/zk2kraft/progress"
	"github.com/zk2kraft/zk2kraft/translate/records"
	"github.com/zk2kraft/zk2kraft/zkreader"
)

func sp(s string) *string { return &s }

func uid(s string) *kafka.UUID { u := kafka.DerivedUUID("test-topic", s); return &u }

func mustTranslate(t *testing.T, snap *zkreader.Snapshot, opts Options) *Result {
	t.Helper()
	res, err := Translate(snap, opts)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// types renders the logical batches as type names, for compact assertions.
func types(res *Result) [][]string {
	var out [][]string
	for _, b := range res.Logical {
		var names []string
		for _, v := range b {
			names = append(names, v.Record.TypeName())
		}
		out = append(out, names)
	}
	return out
}

func findingCodes(res *Result) []string {
	var out []string
	for _, f := range res.Findings {
		out = append(out, string(f.Severity)+":"+f.Code)
	}
	return out
}

// Spec §6 case 1: empty ZooKeeper.
func TestKafkaCase1EmptyZk(t *testing.T) {
	res := mustTranslate(t, &zkreader.Snapshot{}, Options{})
	if len(res.Logical) != 0 || len(res.Batches) != 0 || len(res.BrokerIDs) != 0 {
		t.Fatalf("logical %v batches %d broker ids %v", types(res), len(res.Batches), res.BrokerIDs)
	}
	// The framing still exists: begin, MIGRATION + end.
	if c := res.Copy(); len(c) != 2 {
		t.Fatalf("copy of an empty cluster = %d batches, want 2", len(c))
	}
}

// Spec §6 case 2: topic with configs, no partition state.
func TestKafkaCase2TopicConfigsNoState(t *testing.T) {
	snap := &zkreader.Snapshot{
		Topics: []zkreader.Topic{{Name: "test", TopicID: uid("test"), Partitions: []zkreader.Partition{
			{ID: 0, Replicas: []int32{0, 1, 2}}, {ID: 1, Replicas: []int32{1, 2, 0}}, {ID: 2, Replicas: []int32{2, 0, 1}}}}},
		TopicConfigs: []zkreader.EntityConfig{{Name: "test", Config: map[string]string{"retention.ms": "300000", "flush.ms": "60000"}}},
	}
	res := mustTranslate(t, snap, Options{})
	want := [][]string{{"TOPIC_RECORD", "CONFIG_RECORD", "CONFIG_RECORD", "PARTITION_RECORD", "PARTITION_RECORD", "PARTITION_RECORD"}}
	if got := types(res); !reflect.DeepEqual(got, want) {
		t.Fatalf("batches %v, want %v", got, want)
	}
	b := res.Logical[0]
	c1, c2 := b[1].Record.(*records.ConfigRecord), b[2].Record.(*records.ConfigRecord)
	if c1.ResourceType != 2 || c1.ResourceName != "test" || c1.Name != "flush.ms" || *c1.Value != "60000" || c2.Name != "retention.ms" || *c2.Value != "300000" {
		t.Errorf("configs %+v %+v", c1, c2)
	}
	p1 := b[4].Record.(*records.PartitionRecord)
	wantP := &records.PartitionRecord{PartitionId: 1, TopicId: *uid("test"), Replicas: []int32{1, 2, 0}, Isr: []int32{1, 2, 0},
		RemovingReplicas: []int32{}, AddingReplicas: []int32{}, Leader: 1, LeaderEpoch: 0, PartitionEpoch: 0}
	if !reflect.DeepEqual(p1, wantP) {
		t.Errorf("p1 = %+v\nwant %+v", p1, wantP)
	}
	if b[4].Version != 0 {
		t.Errorf("PartitionRecord version %d, want 0 (Kafka's migration writes v0)", b[4].Version)
	}
	if got := findingCodes(res); !reflect.DeepEqual(got, []string{"warning:no-brokers", "warning:partition-state-missing"}) {
		t.Errorf("findings %v", got)
	}
	if !reflect.DeepEqual(res.BrokerIDs, []int32{0, 1, 2}) {
		t.Errorf("broker ids %v", res.BrokerIDs)
	}
}

// Spec §6 case 3: partition state present; partition epoch = Stat.version.
func TestKafkaCase3PartitionState(t *testing.T) {
	snap := &zkreader.Snapshot{Topics: []zkreader.Topic{{Name: "test", TopicID: uid("test"), Partitions: []zkreader.Partition{
		{ID: 0, Replicas: []int32{0, 1, 2}, State: &zkreader.PartitionState{Leader: 0, LeaderEpoch: 5, ControllerEpoch: 1, ISR: []int32{0, 1, 2}}},
		{ID: 1, Replicas: []int32{1, 2, 3}, State: &zkreader.PartitionState{Leader: 1, LeaderEpoch: 5, ControllerEpoch: 1, ISR: []int32{1, 2, 3}, LeaderRecoveryState: 1, Stat: zkreader.Stat{Version: 3}}},
	}}}}
	res := mustTranslate(t, snap, Options{})
	p0 := res.Logical[0][1].Record.(*records.PartitionRecord)
	p1 := res.Logical[0][2].Record.(*records.PartitionRecord)
	if p0.Leader != 0 || p0.LeaderEpoch != 5 || !reflect.DeepEqual(p0.Isr, []int32{0, 1, 2}) || p0.PartitionEpoch != 0 || p0.LeaderRecoveryState != 0 {
		t.Errorf("p0 %+v", p0)
	}
	if p1.Leader != 1 || p1.PartitionEpoch != 3 || p1.LeaderRecoveryState != 1 {
		t.Errorf("p1 %+v", p1)
	}
	frame, err := records.AppendFrame(nil, res.Logical[0][2])
	if err != nil || !strings.HasSuffix(string(frame), "\x01\x00\x01\x01") {
		t.Errorf("RECOVERING partition frame tail % x (%v), want tagged field 01 00 01 01", frame[len(frame)-4:], err)
	}
}

func passwordVectors(t *testing.T) [][3]string {
	t.Helper()
	f, err := os.Open("testdata/password-vectors.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out [][3]string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "#") {
			continue
		}
		p := strings.Split(sc.Text(), "\t")
		out = append(out, [3]string{p[0], p[1], p[2]})
	}
	return out
}

// Spec §6 case 4: broker configs with a password and <default>.
func TestKafkaCase4BrokerConfigs(t *testing.T) {
	vec := passwordVectors(t)[0] // secret "secret", password "secret"
	snap := &zkreader.Snapshot{BrokerConfigs: []zkreader.EntityConfig{
		{Name: "<default>", Config: map[string]string{"default.replication.factor": "3"}},
		{Name: "1", Config: map[string]string{"default.replication.factor": "1", "ssl.keystore.password": vec[2]}},
	}}
	res := mustTranslate(t, snap, Options{PasswordEncoderSecret: vec[0]})
	var got []string
	for _, b := range res.Logical {
		var s []string
		for _, v := range b {
			c := v.Record.(*records.ConfigRecord)
			s = append(s, fmt.Sprintf("%d|%s|%s|%s", c.ResourceType, c.ResourceName, c.Name, *c.Value))
		}
		got = append(got, strings.Join(s, " "))
	}
	want := []string{"4|1|default.replication.factor|1 4|1|ssl.keystore.password|secret", "4||default.replication.factor|3"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	if !reflect.DeepEqual(res.BrokerIDs, []int32{1}) {
		t.Errorf("broker ids %v, want [1]", res.BrokerIDs)
	}

	// Without the secret: not copied, reported as a skip and a blocker.
	res = mustTranslate(t, snap, Options{})
	if n := len(res.Logical[0]); n != 1 {
		t.Fatalf("without a secret broker 1 has %d configs, want 1", n)
	}
	if !res.Blocked() || !hasSkip(res, "password-config") {
		t.Fatalf("missing blocker/skip: %v %v", res.Findings, res.Skipped)
	}
	for _, f := range res.Findings {
		if strings.Contains(f.String(), vec[2][:40]) {
			t.Fatal("finding shows the ciphertext")
		}
	}
	// Wrong secret: same.
	res = mustTranslate(t, snap, Options{PasswordEncoderSecret: "wrong"})
	if !res.Blocked() || len(res.Logical[0]) != 1 {
		t.Fatalf("wrong secret accepted: %v", res.Findings)
	}
	// Kafka's NOOP behaviour on request.
	res = mustTranslate(t, snap, Options{PassThroughEncryptedPasswords: true})
	if res.Blocked() || *res.Logical[0][1].Record.(*records.ConfigRecord).Value != vec[2] {
		t.Fatalf("pass-through did not copy the ciphertext: %v", res.Findings)
	}
}

func hasSkip(res *Result, kind string) bool {
	for _, s := range res.Skipped {
		if s.Kind == kind {
			return true
		}
	}
	return false
}

func quota(path string, values map[string]float64, parts ...zkreader.QuotaEntityPart) zkreader.ClientQuota {
	return zkreader.ClientQuota{Path: path, Entity: parts, Values: values}
}

func qp(typ string, name *string) zkreader.QuotaEntityPart {
	return zkreader.QuotaEntityPart{Type: typ, Name: name}
}

func entityString(e []records.ClientQuotaRecordEntityData) string {
	var s []string
	for _, p := range e {
		n := "null"
		if p.EntityName != nil {
			n = *p.EntityName
		}
		s = append(s, p.EntityType+"="+n)
	}
	return strings.Join(s, ",")
}

// Spec §6 cases 5 and 6: client quota entities, defaults, sanitized names.
func TestKafkaCase5And6ClientQuotas(t *testing.T) {
	pb := map[string]float64{"producer_byte_rate": 100000}
	cc := map[string]float64{"connection_creation_rate": 10}
	snap := &zkreader.Snapshot{Quotas: []zkreader.ClientQuota{
		quota("/config/users/<default>", pb, qp("user", nil)),
		quota("/config/users/user1", pb, qp("user", sp("user1"))),
		quota("/config/users/user1/clients/clientA", pb, qp("user", sp("user1")), qp("client-id", sp("clientA"))),
		quota("/config/users/<default>/clients/<default>", pb, qp("user", nil), qp("client-id", nil)),
		quota("/config/users/<default>/clients/clientA", pb, qp("user", nil), qp("client-id", sp("clientA"))),
		quota("/config/clients/<default>", pb, qp("client-id", nil)),
		quota("/config/clients/clientB", pb, qp("client-id", sp("clientB"))),
		quota("/config/ips/1.1.1.1", cc, qp("ip", sp("1.1.1.1"))),
		quota("/config/ips/<default>", cc, qp("ip", nil)),
		quota("/config/users/user%2F1%40prod", map[string]float64{"consumer_byte_rate": 1000}, qp("user", sp("user/1@prod"))),
		quota("/config/users/user%2F1%40prod/clients/client%2F1%40domain", map[string]float64{"consumer_byte_rate": 800, "producer_byte_rate": 100},
			qp("user", sp("user/1@prod")), qp("client-id", sp("client/1@domain"))),
	}}
	res := mustTranslate(t, snap, Options{})
	var got []string
	for _, b := range res.Logical {
		for _, v := range b {
			q := v.Record.(*records.ClientQuotaRecord)
			got = append(got, fmt.Sprintf("%s %s=%v", entityString(q.Entity), q.Key, q.Value))
		}
	}
	// Kafka's order: users, clients, users/<u>/clients/<c>, ips; children sorted.
	want := []string{
		"user=null producer_byte_rate=100000",
		"user=user/1@prod consumer_byte_rate=1000",
		"user=user1 producer_byte_rate=100000",
		"client-id=null producer_byte_rate=100000",
		"client-id=clientB producer_byte_rate=100000",
		"user=null,client-id=null producer_byte_rate=100000",
		"user=null,client-id=clientA producer_byte_rate=100000",
		"user=user/1@prod,client-id=client/1@domain consumer_byte_rate=800",
		"user=user/1@prod,client-id=client/1@domain producer_byte_rate=100",
		"user=user1,client-id=clientA producer_byte_rate=100000",
		"ip=1.1.1.1 connection_creation_rate=10",
		"ip=null connection_creation_rate=10",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(res.Logical) != 11 {
		t.Errorf("%d logical batches, want 11 (one per znode)", len(res.Logical))
	}
}

// Spec §6 case 7: SCRAM only, no quota record.
func TestKafkaCase7ScramOnly(t *testing.T) {
	salt := make([]byte, 1024)
	snap := &zkreader.Snapshot{
		Quotas: []zkreader.ClientQuota{quota("/config/users/alice", map[string]float64{}, qp("user", sp("alice")))},
		Scram: []zkreader.ScramCredential{{Path: "/config/users/alice", User: "alice", Mechanism: "SCRAM-SHA-256",
			Salt: salt, StoredKey: []byte{1, 2}, ServerKey: []byte{3, 4}, Iterations: 4096}},
	}
	res := mustTranslate(t, snap, Options{})
	if got := types(res); !reflect.DeepEqual(got, [][]string{{"USER_SCRAM_CREDENTIAL_RECORD"}}) {
		t.Fatalf("batches %v", got)
	}
	r := res.Logical[0][0].Record.(*records.UserScramCredentialRecord)
	if r.Name != "alice" || r.Mechanism != 1 || len(r.Salt) != 1024 || r.Iterations != 4096 || len(res.BrokerIDs) != 0 {
		t.Fatalf("record %+v", r)
	}
}

// Spec §6 case 8: producer id block.
func TestKafkaCase8ProducerID(t *testing.T) {
	snap := &zkreader.Snapshot{ProducerIDBlock: &zkreader.ProducerIDBlock{Version: 1, Broker: 3, BlockStart: 2000, BlockEnd: 2999}}
	res := mustTranslate(t, snap, Options{})
	want := &records.ProducerIdsRecord{BrokerId: 3, BrokerEpoch: -1, NextProducerId: 3000}
	if len(res.Logical) != 1 || !reflect.DeepEqual(res.Logical[0][0].Record, want) {
		t.Fatalf("got %v", types(res))
	}
}

// Spec §6 case 9: literal and prefixed ACLs, Kafka's sort order.
func TestKafkaCase9ACLs(t *testing.T) {
	foo, bar := "foo-5f3f0e02-uuid", "bar-5f3f0e02-uuid"
	snap := &zkreader.Snapshot{ACLs: []zkreader.ACLResource{
		{Path: "/kafka-acl-extended/prefixed/Topic/bar-", ResourceType: "Topic", PatternType: "PREFIXED", Name: "bar-",
			Entries: []zkreader.ACLEntry{{Principal: "User:*", PermissionType: "Allow", Operation: "Read", Host: "*"}}},
		{Path: "/kafka-acl/Topic/" + bar, ResourceType: "Topic", PatternType: "LITERAL", Name: bar,
			Entries: []zkreader.ACLEntry{{Principal: "User:alice", PermissionType: "Allow", Operation: "Describe", Host: "*"}}},
		{Path: "/kafka-acl/Topic/" + foo, ResourceType: "Topic", PatternType: "LITERAL", Name: foo, Entries: []zkreader.ACLEntry{
			{Principal: "User:alice", PermissionType: "Allow", Operation: "Read", Host: "*"},
			{Principal: "User:alice", PermissionType: "Allow", Operation: "Write", Host: "192.168.0.1"}}},
	}}
	res := mustTranslate(t, snap, Options{})
	var got []string
	ids := map[kafka.UUID]bool{}
	for _, b := range res.Logical {
		for _, v := range b {
			a := v.Record.(*records.AccessControlEntryRecord)
			ids[a.Id] = true
			got = append(got, fmt.Sprintf("%s %d %s %s %d %d %d", a.ResourceName, a.PatternType, a.Principal, a.Host, a.Operation, a.PermissionType, a.ResourceType))
		}
	}
	want := []string{
		foo + " 3 User:alice * 3 3 2",
		foo + " 3 User:alice 192.168.0.1 4 3 2",
		bar + " 3 User:alice * 8 3 2",
		"bar- 4 User:* * 3 3 2",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(ids) != 4 {
		t.Fatalf("ids not distinct: %v", ids)
	}
	// Derived ids: a second run gives the same ids.
	res2 := mustTranslate(t, snap, Options{})
	if !reflect.DeepEqual(res.Logical, res2.Logical) {
		t.Fatal("ACL ids differ between runs")
	}
}

func TestACLOrderAllTypesAndBatchCut(t *testing.T) {
	var res []zkreader.ACLResource
	for _, typ := range []string{"User", "DelegationToken", "TransactionalId", "Cluster", "Group", "Topic"} {
		for _, pat := range []string{"PREFIXED", "LITERAL"} {
			for _, name := range []string{"a", "b", "\U0001F600", "\uFB01"} {
				res = append(res, zkreader.ACLResource{ResourceType: typ, PatternType: pat, Name: name,
					Entries: []zkreader.ACLEntry{{Principal: "User:x", PermissionType: "Deny", Operation: "All", Host: "*"}}})
			}
		}
	}
	var entries []zkreader.ACLEntry
	for i := 0; i < 250; i++ {
		entries = append(entries, zkreader.ACLEntry{Principal: fmt.Sprintf("User:u%03d", i), PermissionType: "Allow", Operation: "Read", Host: "*"})
	}
	res = append(res, zkreader.ACLResource{ResourceType: "Group", PatternType: "LITERAL", Name: "big", Entries: entries})
	out := mustTranslate(t, &zkreader.Snapshot{ACLs: res}, Options{})
	var order []string
	sizes := map[string][]int{}
	for _, b := range out.Logical {
		a := b[0].Record.(*records.AccessControlEntryRecord)
		key := fmt.Sprintf("%d/%d/%s", a.ResourceType, a.PatternType, a.ResourceName)
		if len(order) == 0 || order[len(order)-1] != key {
			order = append(order, key)
		}
		sizes[key] = append(sizes[key], len(b))
	}
	// Java's UTF-16 order puts U+1F600 (surrogates D83D...) below U+FB01;
	// descending: U+FB01, U+1F600, b, a.
	if got := order[:4]; !reflect.DeepEqual(got, []string{"2/3/\uFB01", "2/3/\U0001F600", "2/3/b", "2/3/a"}) {
		t.Fatalf("first resources %q", got)
	}
	if order[4] != "2/4/\uFB01" || order[10] != "3/3/big" {
		t.Fatalf("order %q", order)
	}
	if got := sizes["3/3/big"]; !reflect.DeepEqual(got, []int{100, 100, 50}) {
		t.Fatalf("ACL batch sizes %v, want [100 100 50]", got)
	}
}

// Spec §6 case 10: delegation token.
func TestKafkaCase10DelegationToken(t *testing.T) {
	snap := &zkreader.Snapshot{DelegationTokens: []zkreader.DelegationToken{{Version: 3, TokenID: "tok1", Owner: "User:alice",
		Requester: "User:alice", Renewers: []string{"User:alice"}, IssueTimestamp: 0, MaxTimestamp: 100, ExpiryTimestamp: 1000}}}
	res := mustTranslate(t, snap, Options{})
	want := &records.DelegationTokenRecord{Owner: "User:alice", Requester: "User:alice", Renewers: []string{"User:alice"},
		IssueTimestamp: 0, MaxTimestamp: 100, ExpirationTimestamp: 1000, TokenId: "tok1"}
	if len(res.Logical) != 1 || !reflect.DeepEqual(res.Logical[0][0].Record, want) {
		t.Fatalf("got %+v", res.Logical)
	}
}

// Spec §6 case 11 and §2.2: pending deletions, topics without ids.
func TestPendingDeletionAndMissingIDs(t *testing.T) {
	snap := &zkreader.Snapshot{
		Topics: []zkreader.Topic{
			{Name: "gone", TopicID: uid("gone"), Partitions: []zkreader.Partition{{ID: 0, Replicas: []int32{1}}}},
			{Name: "old", Partitions: []zkreader.Partition{{ID: 0, Replicas: []int32{1}}}},
			{Name: "ok", TopicID: uid("ok"), Partitions: []zkreader.Partition{{ID: 0, Replicas: []int32{1}}}},
		},
		PendingDeletions: []string{"gone"},
		TopicConfigs:     []zkreader.EntityConfig{{Name: "orphan", Config: map[string]string{"retention.ms": "1"}}},
	}
	res := mustTranslate(t, snap, Options{})
	if !hasSkip(res, "orphan-topic-config") {
		t.Error("config of a topic that does not exist was dropped silently")
	}
	if len(res.Logical) != 1 || res.Logical[0][0].Record.(*records.TopicRecord).Name != "ok" {
		t.Fatalf("topics %v", types(res))
	}
	if !hasSkip(res, "topic-pending-deletion") || !hasSkip(res, "topic-without-id") || !res.Blocked() {
		t.Fatalf("skips %v findings %v", res.Skipped, res.Findings)
	}
	assigned := kafka.DerivedUUID("x")
	res = mustTranslate(t, snap, Options{AssignedTopicIDs: map[string]kafka.UUID{"old": assigned}})
	if res.Blocked() || len(res.Logical) != 2 || res.Logical[1][0].Record.(*records.TopicRecord).TopicId != assigned {
		t.Fatalf("assigned id not used: %v %v", types(res), res.Findings)
	}
}

func TestBrokerRegistrations(t *testing.T) {
	snap := &zkreader.Snapshot{
		ClusterID: &zkreader.ClusterID{ID: "abc"},
		Brokers: []zkreader.Broker{{ID: 2, Version: 5, Rack: sp("r1"), Stat: zkreader.Stat{Czxid: 77},
			Endpoints: []zkreader.Endpoint{{Listener: "INTERNAL", SecurityProtocol: "SASL_SSL", Host: "h2", Port: 9093}, {Listener: "PLAINTEXT", SecurityProtocol: "PLAINTEXT", Host: "h2", Port: 9092}}}},
	}
	for _, c := range []struct {
		mv      string
		version int16
	}{{"3.9-IV0", 3}, {"3.6-IV1", 2}} {
		res := mustTranslate(t, snap, Options{MetadataVersion: c.mv})
		if len(res.Registrations) != 1 || res.Registrations[0].Version != c.version {
			t.Fatalf("%s: registrations %+v", c.mv, res.Registrations)
		}
		r := res.Registrations[0].Record.(*records.RegisterBrokerRecord)
		want := &records.RegisterBrokerRecord{BrokerId: 2, IsMigratingZkBroker: true, IncarnationId: IncarnationID("abc", 2, 77), BrokerEpoch: 77,
			EndPoints: []records.RegisterBrokerRecordBrokerEndpoint{{Name: "INTERNAL", Host: "h2", Port: 9093, SecurityProtocol: 3}, {Name: "PLAINTEXT", Host: "h2", Port: 9092, SecurityProtocol: 0}},
			Features:  []records.RegisterBrokerRecordBrokerFeature{{Name: "metadata.version", MinSupportedVersion: res.MetadataVersion.Level, MaxSupportedVersion: res.MetadataVersion.Level}},
			Rack:      sp("r1"), Fenced: true}
		if !reflect.DeepEqual(r, want) {
			t.Fatalf("%s: got %+v\nwant %+v", c.mv, r, want)
		}
	}
	snap.Brokers[0].Endpoints[0].SecurityProtocol = "WEIRD"
	res := mustTranslate(t, snap, Options{})
	if len(res.Registrations) != 0 || !res.Blocked() {
		t.Fatal("unknown security protocol accepted")
	}
}

func TestMetadataVersionChoice(t *testing.T) {
	for _, bad := range []string{"3.5-IV2", "4.0-IV0", "nonsense"} {
		if _, err := Translate(&zkreader.Snapshot{}, Options{MetadataVersion: bad}); err == nil {
			t.Errorf("metadata version %s accepted", bad)
		} else if bad != "nonsense" && !errors.Is(err, ErrUnsupportedMetadataVersion) {
			t.Errorf("%s: %v", bad, err)
		}
	}
	res := mustTranslate(t, &zkreader.Snapshot{}, Options{})
	if res.MetadataVersion.Name != "3.9-IV0" {
		t.Fatalf("default %v", res.MetadataVersion)
	}
	fl := res.Bootstrap()[1].Record.(*records.FeatureLevelRecord)
	if fl.FeatureLevel != 21 {
		t.Fatalf("bootstrap feature level %d", fl.FeatureLevel)
	}
}

// KRaftMigrationDriverTest.testCoalesceMigrationRecords.
func TestCoalesceLikeKafka(t *testing.T) {
	mk := func(n int) []records.Versioned {
		out := make([]records.Versioned, n)
		for i := range out {
			out[i] = records.Versioned{Record: &records.NoOpRecord{}}
		}
		return out
	}
	cases := []struct {
		min     int
		logical []int
		want    []int
	}{
		{200, []int{0, 0, 1, 0}, []int{1}},
		{200, []int{1, 1, 1, 1}, []int{4}},
		{200, []int{201}, []int{201}},
		{200, []int{200, 1}, []int{200, 1}},
		{1000, []int{999}, []int{999}},
		{1000, []int{1000, 1}, []int{1000, 1}},
		{1000, []int{1000, 1000, 1000}, []int{1000, 1000, 1000}},
		{200, []int{25000}, []int{10000, 10000, 5000}}, // MAX_RECORDS_PER_BATCH
		// filling (min >= max, migrate's copy): no batch split into full + remainder
		{10000, []int{4000, 4000, 4000, 4000}, []int{8000, 8000}},
		{10000, []int{5000, 5000, 1}, []int{10000, 1}},
		{10000, []int{51, 9990, 51}, []int{51, 9990, 51}},
		{10000, []int{100, 25000}, []int{100, 10000, 10000, 5000}},
	}
	for _, c := range cases {
		var logical [][]records.Versioned
		for _, n := range c.logical {
			logical = append(logical, mk(n))
		}
		out, err := coalesce(logical, c.min, MaxRecordsPerBatch, DefaultMaxBatchBytes)
		if err != nil {
			t.Fatal(err)
		}
		var got []int
		for _, b := range out {
			got = append(got, len(b))
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("min %d %v: got %v, want %v", c.min, c.logical, got, c.want)
		}
	}
}

func TestBatchByteLimit(t *testing.T) {
	var logical [][]records.Versioned
	for i := 0; i < 50; i++ {
		logical = append(logical, []records.Versioned{{Record: &records.TopicRecord{Name: fmt.Sprintf("topic-%03d", i), TopicId: kafka.DerivedUUID("t", fmt.Sprint(i))}}})
	}
	const limit = 512
	out, err := coalesce(logical, 200, MaxRecordsPerBatch, limit)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, b := range out {
		size := RecordBatchOverhead
		for i, v := range b {
			f, _ := records.AppendFrame(nil, v)
			size += RecordSize(len(f), i)
		}
		if size > limit {
			t.Fatalf("batch of %d bytes > %d", size, limit)
		}
		total += len(b)
	}
	if total != 50 || len(out) < 3 {
		t.Fatalf("%d records in %d batches", total, len(out))
	}
	// The worked example in spec §4.6: a 24-byte TopicRecord frame makes a 31-byte record (92-byte batch).
	if got := RecordBatchOverhead + RecordSize(24, 0); got != 92 {
		t.Fatalf("batch size %d, want 92", got)
	}
	if _, err := coalesce(logical, 200, MaxRecordsPerBatch, 70); err == nil {
		t.Fatal("a record larger than the batch limit was accepted")
	}
}

func TestPasswordDecodeJCEVectors(t *testing.T) {
	for _, v := range passwordVectors(t) {
		got, err := DecodePassword(v[0], v[2])
		if err != nil || got != v[1] {
			t.Errorf("DecodePassword(%q) = %q, %v; want %q", v[0], got, err, v[1])
		}
		if _, err := DecodePassword(v[0]+"x", v[2]); !errors.Is(err, ErrPasswordDecode) {
			t.Errorf("wrong secret accepted: %v", err)
		}
	}
}

// A stored value without keyFactoryAlgorithm uses Kafka's default
// (PBKDF2WithHmacSHA512, else PBKDF2WithHmacSHA1).
func TestPasswordDefaultKeyFactory(t *testing.T) {
	for _, v := range passwordVectors(t) {
		var kept []string
		for _, tok := range strings.Split(v[2], ",") {
			if !strings.HasPrefix(tok, "keyFactoryAlgorithm:") {
				kept = append(kept, tok)
			}
		}
		got, err := DecodePassword(v[0], strings.Join(kept, ","))
		if err != nil || got != v[1] {
			t.Errorf("without keyFactoryAlgorithm: %q %v, want %q", got, err, v[1])
		}
	}
	if _, err := DecodePassword("s", strings.Replace(passwordVectors(t)[0][2], "iterations:4096", "iterations:2147483647", 1)); !errors.Is(err, ErrPasswordDecode) {
		t.Errorf("absurd iteration count accepted: %v", err)
	}
}

func TestPasswordEncodeRoundTrip(t *testing.T) {
	for _, s := range []PasswordEncoderSettings{{}, {CipherAlgorithm: "AES/GCM/NoPadding", KeyLength: 256}, {KeyFactoryAlgorithm: "PBKDF2WithHmacSHA1", Iterations: 10}} {
		enc, err := EncodePassword("sec", "pa$$wörd", s, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(enc, "pa$$") || !LooksEncodedPassword(enc) {
			t.Fatalf("encoded %q", enc)
		}
		got, err := DecodePassword("sec", enc)
		if err != nil || got != "pa$$wörd" {
			t.Fatalf("%+v: %q %v", s, got, err)
		}
	}
	for _, bad := range []string{"", "keyFactoryAlgorithm:MD5", "garbage,with:colons"} {
		if _, err := DecodePassword("s", bad); !errors.Is(err, ErrPasswordDecode) {
			t.Errorf("DecodePassword(%q) = %v", bad, err)
		}
	}
}

func FuzzDecodePassword(f *testing.F) {
	f.Add("keyFactoryAlgorithm:PBKDF2WithHmacSHA1,cipherAlgorithm:AES/CBC/PKCS5Padding,keyLength:128,salt:AAAA,iterations:1,encryptedPassword:AAAAAAAAAAAAAAAAAAAAAA==,passwordLength:1,initializationVector:AAAAAAAAAAAAAAAAAAAAAA==")
	f.Add("keyFactoryAlgorithm:PBKDF2WithHmacSHA1,cipherAlgorithm:AES/GCM/NoPadding,keyLength:128,salt:AAAA,iterations:1,encryptedPassword:AAAA,passwordLength:1,initializationVector:AAAAAAAAAAAAAAAA,authenticationTagLength:128")
	f.Fuzz(func(t *testing.T, s string) {
		if strings.Count(s, "iterations:") > 1 || strings.Contains(s, "iterations:") && !strings.Contains(s, "iterations:1,") {
			return // keep PBKDF2 cheap
		}
		_, err := DecodePassword("secret", s)
		if err != nil && !errors.Is(err, ErrPasswordDecode) {
			t.Fatalf("error does not wrap ErrPasswordDecode: %v", err)
		}
	})
}

func TestProgressEvents(t *testing.T) {
	var last progress.Event
	res := mustTranslate(t, loadEdge(t), Options{Progress: func(e progress.Event) { last = e }})
	n := 0
	for _, b := range res.Logical {
		n += len(b)
	}
	if !last.Final || last.Phase != "translate" || last.Done != int64(n) || last.Total < int64(n)/2 {
		t.Fatalf("final event %+v, want done %d", last, n)
	}
}
