package records

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/zk2kraft/zk2kraft/kafka"
)

var specUUID = kafka.UUID{0x1d, 0x1e, 0x9b, 0x1d, 0x5c, 0x5b, 0x4a, 0x2f, 0x8a, 0x6b, 0x0c, 0x7e, 0x3f, 0x2d, 0x1a, 0x09}

func strp(s string) *string { return &s }

// readHex reads a testdata .hex file: hex digits, whitespace, # comments.
func readHex(t testing.TB, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var digits strings.Builder
	for _, line := range strings.Split(string(raw), "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		digits.WriteString(strings.Join(strings.Fields(line), ""))
	}
	b, err := hex.DecodeString(digits.String())
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return b
}

func goldenPartition(lrs int8) *PartitionRecord {
	p := NewPartitionRecord()
	p.PartitionId = 0
	p.TopicId = specUUID
	p.Replicas = []int32{1, 2, 3}
	p.Isr = []int32{1, 2}
	p.RemovingReplicas = []int32{}
	p.AddingReplicas = []int32{}
	p.Leader = 1
	p.LeaderRecoveryState = lrs
	p.LeaderEpoch = 5
	p.PartitionEpoch = 7
	return p
}

// goldenCases are the worked examples of spec §4.6.
func goldenCases() []struct {
	file string
	size int
	v    Versioned
	json string
} {
	p1 := goldenPartition(0)
	p1.Directories = []kafka.UUID{{}, {}, {}}
	return []struct {
		file string
		size int
		v    Versioned
		json string
	}{
		{"topic_record_v0.hex", 24, Versioned{&TopicRecord{Name: "foo", TopicId: specUUID}, 0},
			`{"type":"TOPIC_RECORD","version":0,"data":{"name":"foo","topicId":"HR6bHVxbSi-Kawx-Py0aCQ"}}`},
		{"partition_record_v0.hex", 63, Versioned{goldenPartition(1), 0},
			`{"type":"PARTITION_RECORD","version":0,"data":{"partitionId":0,"topicId":"HR6bHVxbSi-Kawx-Py0aCQ","replicas":[1,2,3],"isr":[1,2],"removingReplicas":[],"addingReplicas":[],"leader":1,"leaderRecoveryState":1,"leaderEpoch":5,"partitionEpoch":7}}`},
		{"partition_record_v1.hex", 109, Versioned{p1, 1},
			`{"type":"PARTITION_RECORD","version":1,"data":{"partitionId":0,"topicId":"HR6bHVxbSi-Kawx-Py0aCQ","replicas":[1,2,3],"isr":[1,2],"removingReplicas":[],"addingReplicas":[],"leader":1,"leaderEpoch":5,"partitionEpoch":7,"directories":["AAAAAAAAAAAAAAAAAAAAAA","AAAAAAAAAAAAAAAAAAAAAA","AAAAAAAAAAAAAAAAAAAAAA"]}}`},
		{"client_quota_record_v0.hex", 40, Versioned{&ClientQuotaRecord{
			Entity: []ClientQuotaRecordEntityData{{EntityType: "user", EntityName: nil}},
			Key:    "consumer_byte_rate", Value: 900.0}, 0},
			`{"type":"CLIENT_QUOTA_RECORD","version":0,"data":{"entity":[{"entityType":"user","entityName":null}],"key":"consumer_byte_rate","value":900.0,"remove":false}}`},
		{"config_record_v0.hex", 31, Versioned{&ConfigRecord{ResourceType: 2, ResourceName: "foo", Name: "retention.ms", Value: strp("86400000")}, 0},
			`{"type":"CONFIG_RECORD","version":0,"data":{"resourceType":2,"resourceName":"foo","name":"retention.ms","value":"86400000"}}`},
		{"zk_migration_state_record_v0.hex", 5, Versioned{&ZkMigrationStateRecord{ZkMigrationState: 1}, 0},
			`{"type":"ZK_MIGRATION_STATE_RECORD","version":0,"data":{"zkMigrationState":1}}`},
		{"partition_change_record_v2.hex", 73, Versioned{func() Record {
			c := NewPartitionChangeRecord()
			c.PartitionId, c.TopicId, c.Isr, c.Leader = 1, specUUID, []int32{1, 2}, 2
			c.AddingReplicas, c.LeaderRecoveryState = []int32{}, 1
			c.Directories, c.EligibleLeaderReplicas = []kafka.UUID{specUUID}, []int32{3}
			return c
		}(), 2},
			`{"type":"PARTITION_CHANGE_RECORD","version":2,"data":{"partitionId":1,"topicId":"HR6bHVxbSi-Kawx-Py0aCQ","isr":[1,2],"leader":2,"addingReplicas":[],"leaderRecoveryState":1,"directories":["HR6bHVxbSi-Kawx-Py0aCQ"],"eligibleLeaderReplicas":[3]}}`},
		{"register_broker_record_v3.hex", 96, Versioned{&RegisterBrokerRecord{BrokerId: 1, IsMigratingZkBroker: true, IncarnationId: specUUID, BrokerEpoch: 5,
			EndPoints: []RegisterBrokerRecordBrokerEndpoint{{Name: "PLAINTEXT", Host: "h", Port: 9092, SecurityProtocol: 0}},
			Features:  []RegisterBrokerRecordBrokerFeature{{Name: "metadata.version", MinSupportedVersion: 1, MaxSupportedVersion: 21}},
			Rack:      nil, Fenced: false, LogDirs: []kafka.UUID{specUUID}}, 3},
			`{"type":"REGISTER_BROKER_RECORD","version":3,"data":{"brokerId":1,"isMigratingZkBroker":true,"incarnationId":"HR6bHVxbSi-Kawx-Py0aCQ","brokerEpoch":5,"endPoints":[{"name":"PLAINTEXT","host":"h","port":9092,"securityProtocol":0}],"features":[{"name":"metadata.version","minSupportedVersion":1,"maxSupportedVersion":21}],"rack":null,"fenced":false,"inControlledShutdown":false,"logDirs":["HR6bHVxbSi-Kawx-Py0aCQ"]}}`},
		{"access_control_entry_record_v0.hex", 41, Versioned{&AccessControlEntryRecord{Id: specUUID, ResourceType: 2, ResourceName: "foo", PatternType: 3, Principal: "User:alice", Host: "*", Operation: 3, PermissionType: 3}, 0},
			`{"type":"ACCESS_CONTROL_ENTRY_RECORD","version":0,"data":{"id":"HR6bHVxbSi-Kawx-Py0aCQ","resourceType":2,"resourceName":"foo","patternType":3,"principal":"User:alice","host":"*","operation":3,"permissionType":3}}`},
		{"feature_level_record_v0.hex", 23, Versioned{&FeatureLevelRecord{Name: "metadata.version", FeatureLevel: 21}, 0},
			`{"type":"FEATURE_LEVEL_RECORD","version":0,"data":{"name":"metadata.version","featureLevel":21}}`},
	}
}

func TestGoldenFrames(t *testing.T) {
	for _, tc := range goldenCases() {
		t.Run(tc.file, func(t *testing.T) {
			want := readHex(t, tc.file)
			if len(want) != tc.size {
				t.Fatalf("golden file has %d bytes, spec says %d", len(want), tc.size)
			}
			got, err := AppendFrame(nil, tc.v)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("encoding differs\n got %x\nwant %x", got, want)
			}
			dec, err := DecodeFrame(want)
			if err != nil {
				t.Fatal(err)
			}
			if dec.Version != tc.v.Version || !reflect.DeepEqual(dec.Record, tc.v.Record) {
				t.Fatalf("decoded %#v v%d, want %#v v%d", dec.Record, dec.Version, tc.v.Record, tc.v.Version)
			}
			js, err := MarshalJSONLine(dec, JSONOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if string(js) != tc.json {
				t.Fatalf("json\n got %s\nwant %s", js, tc.json)
			}
			back, err := UnmarshalJSONLine(js)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back, dec) {
				t.Fatalf("json round trip: got %#v want %#v", back.Record, dec.Record)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	p := NewPartitionRecord()
	if p.PartitionId != -1 || p.Leader != -1 || p.LeaderEpoch != -1 || p.PartitionEpoch != -1 || p.LeaderRecoveryState != 0 || p.EligibleLeaderReplicas != nil {
		t.Errorf("PartitionRecord defaults: %+v", p)
	}
	c := NewPartitionChangeRecord()
	if c.Leader != -2 || c.LeaderRecoveryState != -1 || c.Isr != nil || c.Replicas != nil || c.Directories != nil {
		t.Errorf("PartitionChangeRecord defaults: %+v", c)
	}
	b := NewRegisterBrokerRecord()
	if !b.Fenced || b.InControlledShutdown || b.IsMigratingZkBroker || b.Rack == nil || *b.Rack != "" {
		t.Errorf("RegisterBrokerRecord defaults: %+v", b)
	}
	if NewProducerIdsRecord().BrokerEpoch != -1 {
		t.Error("ProducerIdsRecord BrokerEpoch default")
	}
	if NewBeginTransactionRecord().Name != nil {
		t.Error("BeginTransactionRecord Name default must be null")
	}
	// An all-default PartitionChangeRecord writes no tagged fields.
	got, err := NewPartitionChangeRecord().AppendTo(nil, 0)
	if err != nil || len(got) != 4+16+1 || got[20] != 0 {
		t.Errorf("default PartitionChangeRecord: %x %v", got, err)
	}
}

func TestTypeNamesAndKeys(t *testing.T) {
	want := map[int16]string{0: "REGISTER_BROKER_RECORD", 2: "TOPIC_RECORD", 3: "PARTITION_RECORD", 17: "BROKER_REGISTRATION_CHANGE_RECORD", 21: "ZK_MIGRATION_STATE_RECORD", 27: "REGISTER_CONTROLLER_RECORD"}
	for k, name := range want {
		r, err := NewRecord(k)
		if err != nil || r.TypeName() != name || r.APIKey() != k {
			t.Errorf("NewRecord(%d) = %v %v, want %s", k, r, err, name)
		}
	}
	for _, k := range []int16{6, 13, 16, 28, -1} {
		if _, err := NewRecord(k); err == nil {
			t.Errorf("NewRecord(%d): want error", k)
		}
	}
	if len(MetadataAPIKeys) != 25 || len(ControlTypes) != 5 {
		t.Errorf("have %d metadata and %d control types", len(MetadataAPIKeys), len(ControlTypes))
	}
	ctl := map[int16]string{2: "LEADER_CHANGE", 3: "SNAPSHOT_HEADER", 4: "SNAPSHOT_FOOTER", 5: "KRAFT_VERSION", 6: "KRAFT_VOTERS"}
	for ct, name := range ctl {
		r, err := NewControlRecord(ct)
		if err != nil || r.TypeName() != name || r.APIKey() != -1 || r.(ControlRecord).ControlType() != ct {
			t.Errorf("NewControlRecord(%d) = %v %v", ct, r, err)
		}
	}
}

func TestDecodeFrameErrors(t *testing.T) {
	topic := readHex(t, "topic_record_v0.hex")
	cases := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "frame version"},
		{"frame version 0", append([]byte{0}, topic[1:]...), "preview release of KRaft"},
		{"frame version 2", append([]byte{2}, topic[1:]...), "unknown frame version 2"},
		{"unknown api key", []byte{1, 6, 0, 0}, "unknown metadata record api key 6"},
		{"unsupported version", []byte{1, 2, 1, 0}, "TOPIC_RECORD version 1 is not supported"},
		{"trailing garbage", append(append([]byte{}, topic...), 0xde, 0xad), "2 byte(s) of garbage after TOPIC_RECORD v0"},
		{"truncated uuid", topic[:10], "field TopicId"},
		{"string longer than data", []byte{1, 2, 0, 0x7f, 'a'}, "field Name"},
		{"huge array", []byte{1, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x0f}, "field Replicas"},
		{"null non-nullable string", []byte{1, 2, 0, 0}, "field Name"},
		{"bad tagged size", append(append([]byte{}, readHex(t, "partition_record_v0.hex")[:59]...), 1, 0, 2, 1, 0), "LeaderRecoveryState"},
		{"nested field path", func() []byte {
			b := NewRegisterBrokerRecord()
			b.EndPoints = []RegisterBrokerRecordBrokerEndpoint{{Name: "A", Host: "h"}, {Name: "B", Host: "hostname"}}
			enc, _ := AppendFrame(nil, Versioned{b, 0})
			return enc[:len(enc)-14] // cut inside the second endpoint's host
		}(), "field EndPoints[1].Host: unexpected end of data"},
		{"tagged size past end", append(append([]byte{}, topic[:23]...), 1, 5, 9, 1), "tagged fields"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeFrame(tc.in)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestUnknownTaggedFieldsSkipped(t *testing.T) {
	topic := readHex(t, "topic_record_v0.hex")
	in := append(append([]byte{}, topic[:23]...), 2, 5, 2, 'a', 'b', 9, 0)
	v, err := DecodeFrame(in)
	if err != nil {
		t.Fatal(err)
	}
	if got := v.Record.(*TopicRecord); got.Name != "foo" || got.TopicId != specUUID {
		t.Fatalf("got %+v", got)
	}
	// A known tag in a version that does not define it is unknown too:
	// PartitionRecord v0 with tag 1 (EligibleLeaderReplicas is v2+).
	p := readHex(t, "partition_record_v0.hex")
	in = append(append([]byte{}, p[:59]...), 2, 0, 1, 1, 1, 5, 4, 0, 0, 0, 9)
	v, err = DecodeFrame(in)
	if err != nil {
		t.Fatal(err)
	}
	if got := v.Record.(*PartitionRecord); got.LeaderRecoveryState != 1 || got.EligibleLeaderReplicas != nil {
		t.Fatalf("got %+v", got)
	}
}

func TestFieldNotInVersion(t *testing.T) {
	p := goldenPartition(0)
	p.Directories = []kafka.UUID{{1}}
	if _, err := p.AppendTo(nil, 0); !errors.Is(err, ErrUnsupportedVersion) || !strings.Contains(err.Error(), "Directories") {
		t.Errorf("Directories at v0: err = %v", err)
	}
	p = goldenPartition(0)
	p.EligibleLeaderReplicas = []int32{}
	if _, err := p.AppendTo(nil, 1); err == nil {
		t.Error("EligibleLeaderReplicas at v1: want error")
	}
	if _, err := p.AppendTo(nil, 2); err != nil {
		t.Errorf("EligibleLeaderReplicas at v2: %v", err)
	}
	if _, err := p.AppendTo(nil, 3); !errors.Is(err, ErrUnsupportedVersion) {
		t.Errorf("v3: err = %v", err)
	}
	b := NewRegisterBrokerRecord()
	b.IsMigratingZkBroker = true
	if _, err := b.AppendTo(nil, 1); err == nil {
		t.Error("IsMigratingZkBroker at v1: want error")
	}
	if _, err := MarshalJSONLine(Versioned{b, 1}, JSONOptions{}); err == nil {
		t.Error("JSON of IsMigratingZkBroker at v1: want error")
	}
	if _, err := AppendFrame(nil, Versioned{NewSnapshotHeaderRecord(), 0}); err == nil {
		t.Error("framing a control record: want error")
	}
}

func TestNilArraysEncodeEmpty(t *testing.T) {
	p := goldenPartition(0)
	p.RemovingReplicas, p.AddingReplicas = nil, nil
	a, _ := p.AppendTo(nil, 0)
	b, _ := goldenPartition(0).AppendTo(nil, 0)
	if !bytes.Equal(a, b) {
		t.Fatalf("nil non-nullable arrays must encode as empty: %x vs %x", a, b)
	}
	c := NewPartitionChangeRecord()
	c.Isr = []int32{}
	enc, _ := c.AppendTo(nil, 0)
	// tagged section: 1 field, tag 0, size 1, empty array 01.
	if !bytes.HasSuffix(enc, []byte{1, 0, 1, 1}) {
		t.Fatalf("empty (non-null) tagged Isr: %x", enc)
	}
	var back PartitionChangeRecord
	if _, err := back.ReadFrom(enc, 0); err != nil || back.Isr == nil || len(back.Isr) != 0 || back.Replicas != nil {
		t.Fatalf("decoded %+v %v", back, err)
	}
}

func TestSecretsRedacted(t *testing.T) {
	s := &UserScramCredentialRecord{Name: "alice", Mechanism: 1, Salt: []byte("salty"), StoredKey: []byte{1, 2}, ServerKey: []byte{3, 4}, Iterations: 4096}
	js, err := MarshalJSONLine(Versioned{s, 0}, JSONOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"type":"USER_SCRAM_CREDENTIAL_RECORD","version":0,"data":{"name":"alice","mechanism":1,"salt":"<redacted>","storedKey":"<redacted>","serverKey":"<redacted>","iterations":4096}}`
	if string(js) != want {
		t.Fatalf("got  %s\nwant %s", js, want)
	}
	if _, err := UnmarshalJSONLine(js); err == nil || !strings.Contains(err.Error(), "redacted") {
		t.Fatalf("reading a redacted line: err = %v", err)
	}
	js, _ = MarshalJSONLine(Versioned{s, 0}, JSONOptions{ShowSecrets: true})
	if !strings.Contains(string(js), `"salt":"c2FsdHk="`) {
		t.Fatalf("shown: %s", js)
	}
	back, err := UnmarshalJSONLine(js)
	if err != nil || !reflect.DeepEqual(back.Record, s) {
		t.Fatalf("round trip %v %+v", err, back.Record)
	}
	c := &ConfigRecord{ResourceType: 4, ResourceName: "0", Name: "listener.name.sasl_ssl.ssl.keystore.password", Value: strp("hunter2")}
	js, _ = MarshalJSONLine(Versioned{c, 0}, JSONOptions{})
	if strings.Contains(string(js), "hunter2") || !strings.Contains(string(js), Redacted) {
		t.Fatalf("sensitive config shown: %s", js)
	}
	if *c.Value != "hunter2" {
		t.Fatal("redaction modified the record")
	}
	js, _ = MarshalJSONLine(Versioned{c, 0}, JSONOptions{ShowSecrets: true})
	if !strings.Contains(string(js), "hunter2") {
		t.Fatalf("ShowSecrets: %s", js)
	}
}

func TestJavaDoubleFormat(t *testing.T) {
	for _, tc := range []struct {
		f    float64
		want string
	}{
		{900, "900.0"}, {0, "0.0"}, {1, "1.0"}, {-2.5, "-2.5"}, {0.001, "0.001"}, {1.5e-4, "1.5E-4"},
		{1e7, "1.0E7"}, {9999999, "9999999.0"}, {12345678.9, "1.23456789E7"}, {123.456, "123.456"},
		{1048576, "1048576.0"}, {0.1, "0.1"}, {1.7976931348623157e308, "1.7976931348623157E308"},
	} {
		if got := string(appendJSONFloat(nil, tc.f)); got != tc.want {
			t.Errorf("%v: got %s want %s", tc.f, got, tc.want)
		}
		back, err := jsonFloat([]byte(appendJSONFloat(nil, tc.f)))
		if err != nil || back != tc.f {
			t.Errorf("%v: read back %v %v", tc.f, back, err)
		}
	}
}

func TestJSONStringEscapes(t *testing.T) {
	c := &ConfigRecord{ResourceType: 2, ResourceName: "a\"b\\c\n\x01é", Name: "x", Value: nil}
	js, err := MarshalJSONLine(Versioned{c, 0}, JSONOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(js), `"resourceName":"a\"b\\c\n\u0001é"`) || !strings.Contains(string(js), `"value":null`) {
		t.Fatalf("got %s", js)
	}
	back, err := UnmarshalJSONLine(js)
	if err != nil || !reflect.DeepEqual(back.Record, c) {
		t.Fatalf("round trip: %v %+v", err, back.Record)
	}
}

func TestUnmarshalJSONLineErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"type":"NOPE","version":0,"data":{}}`, "unknown record type"},
		{`{"type":"TOPIC_RECORD","version":3,"data":{}}`, "version 3"},
		{`{"type":"TOPIC_RECORD","version":0,"data":{"name":"x"}}`, `"topicId" is mandatory`},
		{`{"type":"TOPIC_RECORD","version":0,"data":{"name":1,"topicId":"HR6bHVxbSi-Kawx-Py0aCQ"}}`, `"name"`},
		{`{"type":"FEATURE_LEVEL_RECORD","version":0,"data":{"name":"x","featureLevel":40000}}`, "out of range"},
		{`{"type":"TOPIC_RECORD"}`, "want an object"},
		{`not json`, "unmarshal json line"},
	} {
		if _, err := UnmarshalJSONLine([]byte(tc.in)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.in, err, tc.want)
		}
	}
	// Tagged fields may be missing and take their default.
	v, err := UnmarshalJSONLine([]byte(`{"type":"PARTITION_CHANGE_RECORD","version":0,"data":{"partitionId":3,"topicId":"HR6bHVxbSi-Kawx-Py0aCQ"}}`))
	if err != nil || v.Record.(*PartitionChangeRecord).Leader != -2 {
		t.Fatalf("%v %+v", err, v.Record)
	}
}
