package testenv

import (
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zk2kraft/zk2kraft/kafka"
	"github.com/zk2kraft/zk2kraft/zkreader"
)

// TestSeedReadBack seeds a real ensemble and reads every znode back with
// raw go-zookeeper Gets (readback_test.go), not through the seeder's code.
func TestSeedReadBack(t *testing.T) {
	env := Start(t, Options{Nodes: 3})
	cases := []struct {
		name string
		spec SeedSpec
	}{
		{"small at the root", SeedSpec{Preset: "small"}},
		{"small under /kafka", SeedSpec{Preset: "small", Chroot: "/kafka"}},
		{"custom scale, nested chroot, persistent brokers", SeedSpec{Brokers: 5, Topics: 20, PartitionsPerTopic: 7, ReplicationFactor: 2, Chroot: "/clusters/b", PersistentBrokers: true}},
		{"valid /migration", SeedSpec{Preset: "small", Chroot: "/mig-valid", Migration: "valid"}},
		{"null /migration", SeedSpec{Preset: "small", Chroot: "/mig-null", Migration: "null"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			conn := env.Connect(t)
			snap, err := Seed(t.Context(), conn, c.spec)
			if err != nil {
				t.Fatal(err)
			}
			owner := conn.SessionID()
			if c.spec.PersistentBrokers {
				owner = 0
			}
			if snap.Brokers[0].Stat.EphemeralOwner != owner || snap.Controller.Stat.EphemeralOwner != owner {
				t.Errorf("model ephemeral owners %d/%d, want %d", snap.Brokers[0].Stat.EphemeralOwner, snap.Controller.Stat.EphemeralOwner, owner)
			}
			reader := env.Connect(t)
			for _, p := range verifyZooKeeper(reader, snap) {
				t.Error(p)
			}
			if c.spec.Migration == "" && snap.Migration != nil {
				t.Error("model has /migration without the option")
			}
		})
	}
	t.Run("digest auth", func(t *testing.T) { testSeedDigestAuth(t, env) })
	t.Run("read-back detects drift", func(t *testing.T) { testReadBackDetectsDrift(t, env) })
}

func testSeedDigestAuth(t *testing.T, env *Env) {
	conn := env.Connect(t)
	snap, err := Seed(t.Context(), conn, SeedSpec{Preset: "small", Chroot: "/secure", DigestAuth: "kafka:s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	anon := env.Connect(t)
	for _, p := range []string{"/secure", "/secure/brokers/topics", "/secure/config/users/alice"} {
		if _, _, err := anon.Get(p); err != zk.ErrNoAuth {
			t.Errorf("unauthenticated get %s: err %v, want %v", p, err, zk.ErrNoAuth)
		}
	}
	authed := env.Connect(t)
	if err := authed.AddAuth("digest", []byte("kafka:s3cret")); err != nil {
		t.Fatal(err)
	}
	acl, _, err := authed.GetACL("/secure/brokers/topics/" + TopicOffsets)
	if err != nil || len(acl) != 1 || acl[0].Scheme != "digest" || !strings.HasPrefix(acl[0].ID, "kafka:") {
		t.Errorf("ACL of a topic znode = %+v, %v; want one digest ACL for kafka", acl, err)
	}
	for _, p := range verifyZooKeeper(authed, snap) {
		t.Error(p)
	}
}

// TestSeedLargeRate seeds 100,000 partitions; the issue asks for well under
// a minute.
func TestSeedLargeRate(t *testing.T) {
	env := Start(t, Options{Nodes: 3})
	conn := env.Connect(t)
	start := time.Now()
	snap, err := Seed(t.Context(), conn, SeedSpec{Preset: "large"})
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	parts := 0
	for _, tp := range snap.Topics {
		parts += len(tp.Partitions)
	}
	if parts < 100_000 {
		t.Fatalf("large preset has %d partitions, want >= 100000", parts)
	}
	t.Logf("seeded %d partitions in %v", parts, took)
	if took > 60*time.Second {
		t.Errorf("seeding %d partitions took %v, want well under a minute", parts, took)
	}
	// Spot checks by raw reads.
	reader := env.Connect(t)
	kids, _, err := reader.Children("/brokers/topics")
	if err != nil || len(kids) != len(snap.Topics) {
		t.Fatalf("/brokers/topics has %d children (%v), want %d", len(kids), err, len(snap.Topics))
	}
	last := snap.Topics[len(snap.Topics)-1]
	if _, st, err := reader.Get("/brokers/topics/" + last.Name + "/partitions/3/state"); err != nil || st.Version != last.Partitions[3].State.Stat.Version {
		t.Errorf("%s/3 state: %v, version %v, want %d", last.Name, err, st, last.Partitions[3].State.Stat.Version)
	}
}

// TestSeedModel checks the expected model the seeder builds (no ZooKeeper).
func TestSeedModel(t *testing.T) {
	spec := SeedSpec{Preset: "small"}
	if err := spec.defaults(); err != nil {
		t.Fatal(err)
	}
	_, snap := newGenerator(spec, 42).build()
	byName := map[string]zkreader.Topic{}
	for _, tp := range snap.Topics {
		byName[tp.Name] = tp
	}
	checks := []struct {
		name string
		ok   bool
	}{
		{"v1 topic without id", byName[TopicLegacyV1].Version == 1 && byName[TopicLegacyV1].TopicID == nil},
		{"v2 topic without id", byName[TopicLegacyV2].Version == 2 && byName[TopicLegacyV2].TopicID == nil},
		{"reassignment adding 3 removing 1", len(byName[TopicReassigning].Partitions[0].AddingReplicas) == 1 && byName[TopicReassigning].Partitions[0].AddingReplicas[0] == 3 && byName[TopicReassigning].Partitions[0].RemovingReplicas[0] == 1},
		{"offline partition", byName[TopicOffline].Partitions[0].State.Leader == -1},
		{"recovering partition", byName[TopicRecovering].Partitions[0].State.LeaderRecoveryState == 1},
		{"partition without state", byName[TopicStateless].Partitions[1].State == nil},
		{"pending deletion", len(snap.PendingDeletions) == 1 && snap.PendingDeletions[0] == TopicPendingDelete},
		{"__consumer_offsets has 50 partitions", len(byName[TopicOffsets].Partitions) == 50},
		{"249-char topic", len(LongTopicName) == 249 && byName[LongTopicName].Name == LongTopicName},
		{"partition epochs > 0 exist", byName[TopicOffline].Partitions[0].State.Stat.Version == 4},
		{"controller epoch 7, version 7", snap.ControllerEpoch.Epoch == 7 && snap.ControllerEpoch.Stat.Version == 7},
		{"SCRAM for alice (2), bob, svc@etl", len(snap.Scram) == 4},
		{"ACLs for every resource type", aclTypes(snap) == len(kafka.ResourceTypeOrder)},
		{"no /migration", snap.Migration == nil},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("model: %s: not so", c.name)
		}
	}
}

func aclTypes(s *zkreader.Snapshot) int {
	m := map[string]bool{}
	for _, a := range s.ACLs {
		m[a.ResourceType] = true
	}
	return len(m)
}

func TestEncoders(t *testing.T) {
	id, _ := kafka.ParseUUID("HR6bHVxbSi-Kawx-Py0aCQ")
	parts := []zkreader.Partition{{ID: 0, Replicas: []int32{1, 2, 3}, AddingReplicas: []int32{3}, RemovingReplicas: []int32{1}}, {ID: 1, Replicas: []int32{2, 3, 1}}}
	cases := []struct {
		name string
		got  []byte
		want string
	}{
		{"topic v3", encodeTopic(zkreader.Topic{Version: 3, TopicID: &id, Partitions: parts}),
			`{"adding_replicas":{"0":[3]},"partitions":{"0":[1,2,3],"1":[2,3,1]},"removing_replicas":{"0":[1]},"topic_id":"HR6bHVxbSi-Kawx-Py0aCQ","version":3}`},
		{"topic v2", encodeTopic(zkreader.Topic{Version: 2, Partitions: parts[1:]}), `{"adding_replicas":{},"partitions":{"1":[2,3,1]},"removing_replicas":{},"version":2}`},
		{"topic v1", encodeTopic(zkreader.Topic{Version: 1, Partitions: parts[1:]}), `{"partitions":{"1":[2,3,1]},"version":1}`},
		{"state recovered", encodePartitionState(zkreader.PartitionState{Leader: 1, LeaderEpoch: 12, ControllerEpoch: 7, ISR: []int32{1, 2, 3}}),
			`{"controller_epoch":7,"isr":[1,2,3],"leader":1,"leader_epoch":12,"version":1}`},
		{"state recovering", encodePartitionState(zkreader.PartitionState{Leader: 1, LeaderEpoch: 2, ControllerEpoch: 7, ISR: []int32{1}, LeaderRecoveryState: 1}),
			`{"controller_epoch":7,"isr":[1],"leader":1,"leader_epoch":2,"leader_recovery_state":1,"version":1}`},
		{"offline empty isr", encodePartitionState(zkreader.PartitionState{Leader: -1}), `{"controller_epoch":0,"isr":[],"leader":-1,"leader_epoch":0,"version":1}`},
		{"cluster id", encodeClusterID("HR6bHVxbSi-Kawx-Py0aCQ"), `{"id":"HR6bHVxbSi-Kawx-Py0aCQ","version":"1"}`},
		{"controller", encodeController(1, "1700000000000", -1), `{"brokerid":1,"kraftControllerEpoch":-1,"timestamp":"1700000000000","version":2}`},
		{"producer id block", encodeProducerIDBlock(zkreader.ProducerIDBlock{Version: 1, Broker: 1, BlockStart: 0, BlockEnd: 999}), `{"block_end":"999","block_start":"0","broker":1,"version":1}`},
		{"config", encodeConfig(map[string]string{"retention.ms": "1"}), `{"config":{"retention.ms":"1"},"version":1}`},
		{"empty config", encodeConfig(nil), `{"config":{},"version":1}`},
		{"acl", encodeACLs([]zkreader.ACLEntry{{Principal: "User:alice", PermissionType: "Allow", Operation: "Read", Host: "*"}}),
			`{"acls":[{"host":"*","operation":"Read","permissionType":"Allow","principal":"User:alice"}],"version":1}`},
		{"scram", []byte(encodeScram(zkreader.ScramCredential{Salt: []byte("ab"), StoredKey: []byte("c"), ServerKey: []byte("d"), Iterations: 4096})),
			`salt=YWI=,stored_key=Yw==,server_key=ZA==,iterations=4096`},
		{"features v2", encodeFeatures(zkreader.Features{Version: 2, Status: 1, Features: []zkreader.FeatureLevel{{Name: "metadata.version", MaxVersionLevel: 14}}}),
			`{"features":{"metadata.version":{"max_version_level":14}},"status":1,"version":2}`},
		{"delegation token", encodeDelegationToken(zkreader.DelegationToken{TokenID: "t", Owner: "User:alice", Requester: "User:bob", Renewers: []string{"User:x"}, IssueTimestamp: 1, MaxTimestamp: 3, ExpiryTimestamp: 2}),
			`{"expiryTimestamp":2,"issueTimestamp":1,"maxTimestamp":3,"owner":"User%3Aalice","renewers":["User%3Ax"],"tokenId":"t","tokenRequester":"User%3Abob","version":3}`},
	}
	for _, c := range cases {
		if string(c.got) != c.want {
			t.Errorf("%s:\n got  %s\n want %s", c.name, c.got, c.want)
		}
	}
	host := "h"
	b := encodeBroker(zkreader.Broker{Version: 5, JMXPort: -1, Timestamp: "5", Rack: &host,
		Endpoints: []zkreader.Endpoint{{Listener: "SSL", SecurityProtocol: "SSL", Host: "h", Port: 9093}, {Listener: "CLIENT", SecurityProtocol: "PLAINTEXT", Host: "h", Port: 9092}}})
	want := `{"endpoints":["SSL://h:9093","CLIENT://h:9092"],"features":{},"host":"h","jmx_port":-1,"listener_security_protocol_map":{"CLIENT":"PLAINTEXT","SSL":"SSL"},"port":9092,"rack":"h","timestamp":"5","version":5}`
	if string(b) != want {
		t.Errorf("broker v5:\n got  %s\n want %s", b, want)
	}
}

// testReadBackDetectsDrift proves the read-back check fails when ZooKeeper
// differs from the model.
func testReadBackDetectsDrift(t *testing.T, env *Env) {
	conn := env.Connect(t)
	snap, err := Seed(t.Context(), conn, SeedSpec{Preset: "small", Chroot: "/drift"})
	if err != nil {
		t.Fatal(err)
	}
	if p := verifyZooKeeper(conn, snap); len(p) != 0 {
		t.Fatalf("clean seed: %v", p)
	}
	state := "/drift/brokers/topics/" + TopicOffsets + "/partitions/0/state"
	if _, err := conn.Set(state, []byte(`{"version":1,"leader":2,"leader_epoch":0,"controller_epoch":7,"isr":[2]}`), -1); err != nil {
		t.Fatal(err)
	}
	if err := conn.Delete("/drift/kafka-acl/Group/billing", -1); err != nil {
		t.Fatal(err)
	}
	problems := strings.Join(verifyZooKeeper(conn, snap), "\n")
	for _, want := range []string{"leader = 2", "partition epoch", "/kafka-acl/Group/billing: missing"} {
		if !strings.Contains(problems, want) {
			t.Errorf("drift not reported: want %q in:\n%s", want, problems)
		}
	}
}
