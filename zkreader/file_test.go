package zkreader

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/zk2kraft/zk2kraft/kafka"
)

func sampleSnapshot() *Snapshot {
	id := kafka.DerivedUUID("t", "foo")
	rack := "r1"
	s := &Snapshot{
		Source: "zk://127.0.0.1:2181/kafka", Chroot: "/kafka", TakenAt: time.Unix(1700000000, 0).UTC(), MaxZxid: 0x10000002a, ZnodesRead: 42,
		ClusterID:       &ClusterID{ID: "HR6bHVxbSi-Kawx-Py0aCQ", Version: "1", Stat: Stat{Czxid: 2, Mzxid: 2}},
		Controller:      &Controller{Version: 2, BrokerID: 1, Timestamp: "1", KRaftControllerEpoch: -1},
		ControllerEpoch: &ControllerEpoch{Epoch: 7, Stat: Stat{Version: 7}},
		Brokers:         []Broker{{ID: 1, Version: 5, Port: 9092, JMXPort: -1, Endpoints: []Endpoint{{"PLAINTEXT", "PLAINTEXT", "h", 9092}}, Rack: &rack}},
		Topics: []Topic{{Name: "foo", Version: 3, TopicID: &id, Partitions: []Partition{
			{ID: 0, Replicas: []int32{1, 2}, AddingReplicas: []int32{2}, State: &PartitionState{Version: 1, Leader: 1, LeaderEpoch: 3, ISR: []int32{1}, Stat: Stat{Version: 9, Mzxid: 77}}},
		}}},
		TopicConfigs:  []EntityConfig{{Name: "foo", Config: map[string]string{"retention.ms": "1"}}},
		BrokerConfigs: []EntityConfig{},
		Quotas:        []ClientQuota{{Path: "/config/ips/<default>", Entity: []QuotaEntityPart{{Type: "ip"}}, Values: map[string]float64{"connection_creation_rate": 1.5}}},
		Scram:         []ScramCredential{{Path: "/config/users/a", User: "a", Mechanism: "SCRAM-SHA-256", Salt: []byte{1}, StoredKey: []byte{2}, ServerKey: []byte{3}, Iterations: 4096}},
		ACLs:          []ACLResource{{Path: "/kafka-acl/Topic/foo", ResourceType: "Topic", PatternType: "LITERAL", Name: "foo", Entries: []ACLEntry{{"User:a", "Allow", "Read", "*"}}}},
		Migration:     &MigrationZnode{Raw: []byte("null"), KRaftControllerID: -1},
		Findings:      []Finding{{Severity: Blocker, Code: CodeMalformed, Path: "/migration", Message: "x"}},
	}
	return s
}

func TestSaveLoadRoundTrip(t *testing.T) {
	s := sampleSnapshot()
	var buf bytes.Buffer
	if err := Save(&buf, s); err != nil {
		t.Fatal(err)
	}
	got, err := Load(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, s) {
		t.Fatalf("round trip differs:\n got %+v\nwant %+v", got, s)
	}
}

func TestLoadRejectsDamage(t *testing.T) {
	var buf bytes.Buffer
	if err := Save(&buf, sampleSnapshot()); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	// every truncation
	for n := 0; n < len(good); n++ {
		if _, err := Load(bytes.NewReader(good[:n])); !errors.Is(err, ErrBadSnapshotFile) {
			t.Fatalf("truncated to %d of %d bytes: err %v", n, len(good), err)
		}
	}
	// every single-byte corruption
	for i := 0; i < len(good); i++ {
		bad := bytes.Clone(good)
		bad[i] ^= 0x5a
		if _, err := Load(bytes.NewReader(bad)); !errors.Is(err, ErrBadSnapshotFile) {
			t.Fatalf("byte %d flipped: err %v", i, err)
		}
	}
	if _, err := Load(bytes.NewReader(append(bytes.Clone(good), 0))); err == nil || !strings.Contains(err.Error(), "after the trailer") {
		t.Fatalf("trailing data: %v", err)
	}
	v2 := bytes.Clone(good)
	v2[len(fileMagic)+1] = 2
	if _, err := Load(bytes.NewReader(v2)); err == nil || !strings.Contains(err.Error(), "version 2") {
		t.Fatalf("version: %v", err)
	}
}

func FuzzLoad(f *testing.F) {
	var buf bytes.Buffer
	Save(&buf, sampleSnapshot())
	f.Add(buf.Bytes())
	f.Add([]byte(fileMagic + "\x00\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Load(bytes.NewReader(b))
		if err == nil {
			// whatever loads must save and load again to the same thing
			var out bytes.Buffer
			if err := Save(&out, s); err != nil {
				t.Fatal(err)
			}
			if _, err := Load(&out); err != nil {
				t.Fatal(err)
			}
		} else if !errors.Is(err, ErrBadSnapshotFile) {
			t.Fatalf("error does not wrap ErrBadSnapshotFile: %v", err)
		}
	})
}

// BenchmarkSaveLoad100k: writing and reading a 100,000-partition snapshot file.
func BenchmarkSaveLoad100k(b *testing.B) {
	s := sampleSnapshot()
	s.Topics = nil
	for t := 0; t < 2000; t++ {
		id := kafka.DerivedUUID("t", string(rune(t)))
		tp := Topic{Name: "topic-" + strings.Repeat("x", 10) + string(rune('a'+t%26)) + string(rune('a'+t/26%26)) + string(rune('a'+t/676)), Version: 3, TopicID: &id}
		for p := int32(0); p < 50; p++ {
			tp.Partitions = append(tp.Partitions, Partition{ID: p, Replicas: []int32{1, 2, 3},
				State: &PartitionState{Version: 1, Leader: 1, LeaderEpoch: 5, ControllerEpoch: 3, ISR: []int32{1, 2, 3}, Stat: Stat{Czxid: 1 << 33, Mzxid: 1<<33 + int64(p), Ctime: 1700000000000, Mtime: 1700000000000, Version: 4}}})
		}
		s.Topics = append(s.Topics, tp)
	}
	for i := 0; i < b.N; i++ {
		var buf bytes.Buffer
		start := time.Now()
		if err := Save(&buf, s); err != nil {
			b.Fatal(err)
		}
		save := time.Since(start)
		size := buf.Len()
		start = time.Now()
		if _, err := Load(&buf); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(save.Seconds(), "save-s")
		b.ReportMetric(time.Since(start).Seconds(), "load-s")
		b.ReportMetric(float64(size)/100000, "file-B/partition")
	}
}
