package testenv

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/zk2kraft/zk2kraft/zkreader"
)

func smallModel(t *testing.T) *zkreader.Snapshot {
	t.Helper()
	spec := SeedSpec{Preset: "small", Chroot: "/kafka"}
	if err := spec.defaults(); err != nil {
		t.Fatal(err)
	}
	_, snap := newGenerator(spec, 7).build()
	snap.Chroot = spec.Chroot
	return snap
}

// clone deep-copies a snapshot through JSON.
func clone(t *testing.T, s *zkreader.Snapshot) *zkreader.Snapshot {
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var c zkreader.Snapshot
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return &c
}

func TestDiffSnapshots(t *testing.T) {
	base := smallModel(t)
	cases := []struct {
		name   string
		mutate func(s *zkreader.Snapshot)
		want   []string // substrings of the diff; none: equal
	}{
		{"identical", func(s *zkreader.Snapshot) {}, nil},
		{"stat, source and findings ignored", func(s *zkreader.Snapshot) {
			s.Source, s.MaxZxid, s.ZnodesRead = "zk://x", 99, 1234
			s.Topics[0].Stat.Mzxid = 5
			s.Brokers[0].Stat.Czxid = 77
			s.Findings = append(s.Findings, zkreader.Finding{Code: "x"})
		}, nil},
		{"nil vs empty lists", func(s *zkreader.Snapshot) {
			for i := range s.Topics {
				for k := range s.Topics[i].Partitions {
					if s.Topics[i].Partitions[k].AddingReplicas == nil {
						s.Topics[i].Partitions[k].AddingReplicas = []int32{}
					}
				}
			}
		}, nil},
		{"empty quota ignored", func(s *zkreader.Snapshot) {
			s.Quotas = append(s.Quotas, zkreader.ClientQuota{Path: "/config/users/bob", Values: map[string]float64{}})
		}, nil},
		{"partition epoch", func(s *zkreader.Snapshot) { s.Topics[0].Partitions[0].State.Stat.Version++ },
			[]string{"partition epoch (Stat.Version)"}},
		{"leader", func(s *zkreader.Snapshot) { s.Topics[0].Partitions[0].State.Leader = 99 }, []string{"Leader: want", "got 99"}},
		{"missing topic", func(s *zkreader.Snapshot) { s.Topics = s.Topics[1:] }, []string{"topic /brokers/topics/" + base.Topics[0].Name + ": missing"}},
		{"missing state", func(s *zkreader.Snapshot) { s.Topics[0].Partitions[0].State = nil }, []string{"/state: missing"}},
		{"topic id", func(s *zkreader.Snapshot) { s.Topics[len(s.Topics)-1].TopicID = nil }, []string{"TopicID: want"}},
		{"config value", func(s *zkreader.Snapshot) { s.TopicConfigs[0].Config["retention.ms"] = "1" }, []string{"/config/topics/"}},
		{"unexpected ACL", func(s *zkreader.Snapshot) {
			s.ACLs = append(s.ACLs, zkreader.ACLResource{Path: "/kafka-acl/Topic/x", ResourceType: "Topic", PatternType: "LITERAL", Name: "x"})
		}, []string{"ACL resource /kafka-acl/Topic/x: unexpected"}},
		{"ACL entry", func(s *zkreader.Snapshot) { s.ACLs[0].Entries[0].Host = "10.9.9.9" }, []string{`unexpected "`}},
		{"SCRAM secret not printed", func(s *zkreader.Snapshot) { s.Scram[0].Salt = []byte("secret-salt") }, []string{"Salt differs"}},
		{"pending deletion", func(s *zkreader.Snapshot) { s.PendingDeletions = nil }, []string{`/admin/delete_topics: missing "deleted-topic"`}},
		{"controller epoch", func(s *zkreader.Snapshot) { s.ControllerEpoch.Epoch = 8 }, []string{"/controller_epoch: Epoch: want 7, got 8"}},
		{"migration appears", func(s *zkreader.Snapshot) { s.Migration = &zkreader.MigrationZnode{} }, []string{"/migration: unexpected"}},
		{"quota value", func(s *zkreader.Snapshot) { s.Quotas[0].Values["producer_byte_rate"] = 1 }, []string{"Values: want"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := clone(t, base)
			c.mutate(got)
			diff := DiffSnapshots(base, got)
			if len(c.want) == 0 {
				if len(diff) != 0 {
					t.Fatalf("want no differences, got:\n%s", strings.Join(diff, "\n"))
				}
				return
			}
			all := strings.Join(diff, "\n")
			for _, w := range c.want {
				if !strings.Contains(all, w) {
					t.Errorf("want %q in diff:\n%s", w, all)
				}
			}
			if strings.Contains(all, "secret-salt") {
				t.Errorf("diff prints a SCRAM secret:\n%s", all)
			}
		})
	}
}
