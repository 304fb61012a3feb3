package preflight

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/zk2kraft/zk2kraft/kafka"
	"github.com/zk2kraft/zk2kraft/zkreader"
)

func healthy() *zkreader.Snapshot {
	id := kafka.DerivedUUID("topic", "orders")
	mv := func(max int16) []zkreader.BrokerFeature {
		return []zkreader.BrokerFeature{{Name: "metadata.version", MinVersion: 1, MaxVersion: max}}
	}
	s := &zkreader.Snapshot{
		Source:          "zk://h:2181",
		ClusterID:       &zkreader.ClusterID{ID: "HR6bHVxbSi-Kawx-Py0aCQ", Version: "1"},
		Controller:      &zkreader.Controller{Version: 2, BrokerID: 1, KRaftControllerEpoch: -1},
		ControllerEpoch: &zkreader.ControllerEpoch{Epoch: 5},
		ProducerIDBlock: &zkreader.ProducerIDBlock{Version: 1, BlockEnd: 999},
	}
	for i := int32(1); i <= 3; i++ {
		s.Brokers = append(s.Brokers, zkreader.Broker{ID: i, Version: 5, Features: mv(21),
			Endpoints: []zkreader.Endpoint{{Listener: "PLAINTEXT", SecurityProtocol: "PLAINTEXT", Host: "h", Port: 9092}}})
	}
	t := zkreader.Topic{Name: "orders", Version: 3, TopicID: &id}
	for p := int32(0); p < 3; p++ {
		t.Partitions = append(t.Partitions, zkreader.Partition{ID: p, Replicas: []int32{1, 2, 3},
			State: &zkreader.PartitionState{Version: 1, Leader: 1, LeaderEpoch: 2, ControllerEpoch: 5, ISR: []int32{1, 2, 3}}})
	}
	s.Topics = []zkreader.Topic{t}
	return s
}

func codes(r Report) map[string]zkreader.Finding {
	m := map[string]zkreader.Finding{}
	for _, f := range r.Findings {
		m[f.Code] = f
	}
	return m
}

func TestHealthyClusterHasNoBlockerOrWarning(t *testing.T) {
	r := Check(healthy(), Options{})
	if !r.OK || r.Summary.Blockers != 0 || r.Summary.Warnings != 0 {
		t.Fatalf("healthy cluster: %+v", r.Findings)
	}
	if r.Summary.Brokers != 3 || r.Summary.Partitions != 3 {
		t.Fatalf("summary %+v", r.Summary)
	}
	if f := codes(r)[CodeBrokersToRegister]; f.Severity != zkreader.Info || !strings.Contains(f.Message, "1, 2, 3") || len(f.Paths) != 3 {
		t.Fatalf("brokers to register: %+v", f)
	}
}

func TestTraps(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(s *zkreader.Snapshot)
		code   string
		sev    zkreader.Severity
		path   string
	}{
		{"wrong chroot", func(s *zkreader.Snapshot) { *s = zkreader.Snapshot{} }, CodeNoKafkaMetadata, zkreader.Blocker, "/"},
		{"cluster id missing", func(s *zkreader.Snapshot) { s.ClusterID = nil }, CodeClusterIDMissing, zkreader.Blocker, "/cluster/id"},
		{"cluster id not a uuid", func(s *zkreader.Snapshot) { s.ClusterID.ID = "my-cluster" }, CodeClusterIDInvalid, zkreader.Blocker, "/cluster/id"},
		{"topic without id", func(s *zkreader.Snapshot) { s.Topics[0].TopicID = nil }, CodeTopicWithoutID, zkreader.Blocker, "/brokers/topics/orders"},
		{"pending deletion", func(s *zkreader.Snapshot) { s.PendingDeletions = []string{"orders"} }, CodePendingDeletion, zkreader.Warning, "/admin/delete_topics/orders"},
		{"reassignment", func(s *zkreader.Snapshot) { s.Topics[0].Partitions[1].AddingReplicas = []int32{3} }, CodeReassignment, zkreader.Warning, "/brokers/topics/orders/partitions/1"},
		{"legacy reassignment", func(s *zkreader.Snapshot) {
			s.LegacyReassignment = &zkreader.RawZnode{Path: "/admin/reassign_partitions"}
		}, CodeLegacyReassignment, zkreader.Warning, "/admin/reassign_partitions"},
		{"offline", func(s *zkreader.Snapshot) { s.Topics[0].Partitions[2].State.Leader = -1 }, CodeOfflinePartition, zkreader.Warning, "/brokers/topics/orders/partitions/2/state"},
		{"empty isr", func(s *zkreader.Snapshot) { s.Topics[0].Partitions[0].State.ISR = []int32{} }, CodeEmptyISR, zkreader.Warning, "/brokers/topics/orders/partitions/0/state"},
		{"isr member unregistered", func(s *zkreader.Snapshot) { s.Topics[0].Partitions[0].State.ISR = []int32{1, 9} }, CodeUnknownBroker, zkreader.Warning, "/brokers/topics/orders/partitions/0"},
		{"replica unregistered", func(s *zkreader.Snapshot) { s.Brokers = s.Brokers[:2] }, CodeUnknownBroker, zkreader.Warning, "/brokers/topics/orders/partitions/0"},
		{"state missing", func(s *zkreader.Snapshot) { s.Topics[0].Partitions[1].State = nil }, CodeStateMissing, zkreader.Warning, "/brokers/topics/orders/partitions/1/state"},
		{"partition gap", func(s *zkreader.Snapshot) { s.Topics[0].Partitions[2].ID = 7 }, CodePartitionGap, zkreader.Warning, "/brokers/topics/orders"},
		{"controller epoch ahead", func(s *zkreader.Snapshot) { s.Topics[0].Partitions[0].State.ControllerEpoch = 9 }, CodeControllerEpochAhead, zkreader.Warning, "/brokers/topics/orders/partitions/0/state"},
		{"no brokers", func(s *zkreader.Snapshot) { s.Brokers = nil }, CodeNoBrokers, zkreader.Blocker, "/brokers/ids"},
		{"old registration", func(s *zkreader.Snapshot) { s.Brokers[1].Version = 4 }, CodeBrokerOldRegistration, zkreader.Blocker, "/brokers/ids/2"},
		{"old software", func(s *zkreader.Snapshot) { s.Brokers[2].Features[0].MaxVersion = 8 }, CodeBrokerSoftwareTooOld, zkreader.Blocker, "/brokers/ids/3"},
		{"no common listener", func(s *zkreader.Snapshot) { s.Brokers[0].Endpoints[0].Listener = "INTERNAL" }, CodeNoCommonListener, zkreader.Blocker, "/brokers/ids/1"},
		{"migration started", func(s *zkreader.Snapshot) {
			s.Migration = &zkreader.MigrationZnode{Valid: true, KRaftControllerID: 3000, KRaftMetadataOffset: 100}
		}, CodeMigrationStarted, zkreader.Blocker, "/migration"},
		{"migration null data", func(s *zkreader.Snapshot) { s.Migration = &zkreader.MigrationZnode{} }, CodeMigrationZnodeInvalid, zkreader.Blocker, "/migration"},
		{"kraft controller", func(s *zkreader.Snapshot) { s.Controller.KRaftControllerEpoch = 3 }, CodeKRaftController, zkreader.Blocker, "/controller"},
		{"no controller", func(s *zkreader.Snapshot) { s.Controller = nil }, CodeNoController, zkreader.Warning, "/controller"},
		{"password configs", func(s *zkreader.Snapshot) {
			s.BrokerConfigs = []zkreader.EntityConfig{{Name: "1", Config: map[string]string{"listener.name.x.ssl.key.password": "keyFactoryAlgorithm:..."}}}
		}, CodePasswordConfigs, zkreader.Warning, "/config/brokers/1"},
		{"unknown quota key", func(s *zkreader.Snapshot) {
			s.Quotas = []zkreader.ClientQuota{{Path: "/config/clients/a", Values: map[string]float64{"bogus": 1}}}
		}, CodeUnknownQuotaKey, zkreader.Warning, "/config/clients/a"},
		{"scram iterations", func(s *zkreader.Snapshot) {
			s.Scram = []zkreader.ScramCredential{{Path: "/config/users/a", Iterations: 1000}}
		}, CodeScramIterations, zkreader.Warning, "/config/users/a"},
		{"cluster acl name", func(s *zkreader.Snapshot) {
			s.ACLs = []zkreader.ACLResource{{Path: "/kafka-acl/Cluster/foo", ResourceType: "Cluster", Name: "foo", Entries: []zkreader.ACLEntry{{}}}}
		}, CodeACLClusterName, zkreader.Warning, "/kafka-acl/Cluster/foo"},
		{"malformed znode passes through", func(s *zkreader.Snapshot) {
			s.Findings = []zkreader.Finding{{Severity: zkreader.Blocker, Code: zkreader.CodeMalformed, Path: "/brokers/topics/x", Message: "m"}}
		}, zkreader.CodeMalformed, zkreader.Blocker, "/brokers/topics/x"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := healthy()
			c.mutate(s)
			r := Check(s, Options{})
			f, ok := codes(r)[c.code]
			if !ok {
				t.Fatalf("no %s finding in %+v", c.code, r.Findings)
			}
			if f.Severity != c.sev || f.Path != c.path || f.Message == "" || f.Remedy == "" {
				t.Fatalf("finding %+v, want severity %s path %s with message and remedy", f, c.sev, c.path)
			}
			if r.OK != (r.Summary.Blockers == 0) || (c.sev == zkreader.Blocker && r.OK) {
				t.Fatalf("OK=%v with %d blockers", r.OK, r.Summary.Blockers)
			}
		})
	}
}

func TestAssignTopicIDsDowngrades(t *testing.T) {
	s := healthy()
	s.Topics[0].TopicID = nil
	r := Check(s, Options{AssignTopicIDs: true})
	if f := codes(r)[CodeTopicWithoutID]; f.Severity != zkreader.Warning || !r.OK {
		t.Fatalf("%+v", f)
	}
}

func TestGroupCapsPathsAndReportJSON(t *testing.T) {
	s := healthy()
	for i := range s.Topics[0].Partitions {
		s.Topics[0].Partitions[i].State.Leader = -1
	}
	r := Check(s, Options{MaxPaths: 2})
	f := codes(r)[CodeOfflinePartition]
	if len(f.Paths) != 2 || !strings.Contains(f.Message, "3 znode") {
		t.Fatalf("%+v", f)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(b, &back); err != nil || back["ok"] != true || back["summary"].(map[string]any)["warnings"].(float64) < 1 {
		t.Fatalf("%s", b)
	}
}
