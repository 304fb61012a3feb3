package zkreader

import (
	"reflect"
	"strings"
	"testing"

	"github.com/zk2kraft/zk2kraft/kafka"
)

// parseByPath dispatches to the parser for a znode path, the way the bulk
// reader does; it returns whether a value came back and the findings.
func parseByPath(path string, data []byte) (bool, []Finding) {
	st := Stat{Czxid: 1, Mzxid: 2, Version: 3}
	switch {
	case path == "/cluster/id":
		v, f := ParseClusterID(path, data, st)
		return v != nil, f
	case path == "/controller":
		v, f := ParseController(path, data, st)
		return v != nil, f
	case path == "/controller_epoch":
		v, f := ParseControllerEpoch(path, data, st)
		return v != nil, f
	case path == "/migration":
		v, f := ParseMigration(path, data, st)
		return v != nil && v.Valid, f
	case path == "/feature":
		v, f := ParseFeatures(path, data, st)
		return v != nil, f
	case path == "/latest_producer_id_block":
		v, f := ParseProducerIDBlock(path, data, st)
		return v != nil, f
	case strings.HasPrefix(path, "/brokers/ids/"):
		v, f := ParseBroker(path, data, st)
		return v != nil, f
	case strings.HasSuffix(path, "/state"):
		v, f := ParsePartitionState(path, data, st)
		return v != nil, f
	case strings.HasPrefix(path, "/brokers/topics/"):
		v, f := ParseTopic(path, data, st)
		return v != nil, f
	case strings.HasPrefix(path, "/config/topics/"), strings.HasPrefix(path, "/config/brokers/"):
		v, f := ParseEntityConfig(path, data, st)
		return v != nil, f
	case strings.HasPrefix(path, "/config/users/") && strings.Count(path, "/") == 3:
		v, _, f := ParseUserConfig(path, data, st)
		return v != nil, f
	case strings.HasPrefix(path, "/config/"):
		v, f := ParseQuotaConfig(path, data, st)
		return v != nil, f
	case strings.HasPrefix(path, "/kafka-acl"):
		v, f := ParseACLs(path, data, st)
		return v != nil, f
	case strings.HasPrefix(path, "/delegation_token/tokens/"):
		v, f := ParseDelegationToken(path, data, st)
		return v != nil, f
	}
	panic("no parser for " + path)
}

const scramOK = "salt=c2FsdA==,stored_key=c3RvcmVkLWtleQ==,server_key=c2VydmVyLWtleQ==,iterations=4096"

// TestMalformedZnodes: each malformed znode yields its precise finding and no value.
func TestMalformedZnodes(t *testing.T) {
	cases := []struct {
		name, path, data string
		code, field      string
		expected         string // substring of Finding.Expected
	}{
		{"cluster id not JSON", "/cluster/id", `{"version":"1","id":`, CodeMalformed, "", "JSON object"},
		{"cluster id missing id", "/cluster/id", `{"version":"1"}`, CodeMalformed, "id", "cluster id"},
		{"cluster id wrong type", "/cluster/id", `{"version":"1","id":5}`, CodeMalformed, "id", "string"},
		{"controller epoch not a number", "/controller_epoch", `seven`, CodeMalformed, "", "decimal"},
		{"controller epoch out of range", "/controller_epoch", `4294967296`, CodeMalformed, "", "32-bit"},
		{"controller missing brokerid", "/controller", `{"version":2,"timestamp":"1"}`, CodeMalformed, "brokerid", "32-bit"},
		{"controller brokerid string", "/controller", `{"version":2,"brokerid":"1"}`, CodeMalformed, "brokerid", "32-bit"},
		{"broker id not numeric", "/brokers/ids/abc", `{"version":4,"endpoints":[]}`, CodeInvalidName, "", "broker id"},
		{"broker missing endpoints", "/brokers/ids/1", `{"version":4,"host":"h","port":9092}`, CodeMalformed, "endpoints", "LISTENER"},
		{"broker bad endpoint", "/brokers/ids/1", `{"version":4,"endpoints":["h1:9092"]}`, CodeMalformed, "endpoints[0]", "LISTENER"},
		{"broker listener without protocol", "/brokers/ids/1", `{"version":4,"endpoints":["CLIENT://h:1"],"listener_security_protocol_map":{"OTHER":"SSL"}}`, CodeMalformed, "listener_security_protocol_map", "CLIENT"},
		{"broker port out of range", "/brokers/ids/1", `{"version":4,"endpoints":["PLAINTEXT://h:70000"]}`, CodeMalformed, "endpoints[0]", "65535"},
		{"broker jmx_port float", "/brokers/ids/1", `{"version":4,"jmx_port":1.5,"endpoints":["PLAINTEXT://h:1"]}`, CodeMalformed, "jmx_port", "32-bit"},
		{"topic null data", "/brokers/topics/t", ``, CodeMalformed, "", "JSON object"},
		{"topic missing partitions", "/brokers/topics/t", `{"version":3}`, CodeMalformed, "partitions", "object"},
		{"topic partition key not numeric", "/brokers/topics/t", `{"version":3,"partitions":{"x":[1]}}`, CodeMalformed, "partitions.x", "partition number"},
		{"topic replica not int", "/brokers/topics/t", `{"version":3,"partitions":{"0":["1"]}}`, CodeMalformed, "partitions.0", "integer"},
		{"topic replica too big", "/brokers/topics/t", `{"version":3,"partitions":{"0":[3000000000]}}`, CodeMalformed, "partitions.0", "integer"},
		{"topic duplicate replica", "/brokers/topics/t", `{"version":3,"partitions":{"0":[1,1]}}`, CodeMalformed, "partitions.0", "distinct"},
		{"topic bad topic id", "/brokers/topics/t", `{"version":3,"partitions":{"0":[1]},"topic_id":"nope"}`, CodeMalformed, "topic_id", "base64url"},
		{"topic adding for unknown partition", "/brokers/topics/t", `{"version":3,"partitions":{"0":[1,2]},"adding_replicas":{"5":[2]}}`, CodeMalformed, "adding_replicas.5", "present"},
		{"topic adding not in replicas", "/brokers/topics/t", `{"version":3,"partitions":{"0":[1,2]},"adding_replicas":{"0":[3]}}`, CodeMalformed, "adding_replicas.0", "full replica list"},
		{"state missing leader", "/brokers/topics/t/partitions/0/state", `{"version":1,"leader_epoch":1,"controller_epoch":1,"isr":[1]}`, CodeMalformed, "leader", "broker id"},
		{"state missing isr", "/brokers/topics/t/partitions/0/state", `{"version":1,"leader":1,"leader_epoch":1,"controller_epoch":1}`, CodeMalformed, "isr", "broker ids"},
		{"state isr wrong type", "/brokers/topics/t/partitions/0/state", `{"version":1,"leader":1,"leader_epoch":1,"controller_epoch":1,"isr":"1,2"}`, CodeMalformed, "isr", "integers"},
		{"state leader epoch out of range", "/brokers/topics/t/partitions/0/state", `{"version":1,"leader":1,"leader_epoch":2147483648,"controller_epoch":1,"isr":[1]}`, CodeMalformed, "leader_epoch", "32-bit"},
		{"state bad recovery state", "/brokers/topics/t/partitions/0/state", `{"version":1,"leader":1,"leader_epoch":1,"controller_epoch":1,"isr":[1],"leader_recovery_state":7}`, CodeMalformed, "leader_recovery_state", "RECOVERING"},
		{"state leader below -2", "/brokers/topics/t/partitions/0/state", `{"version":1,"leader":-5,"leader_epoch":1,"controller_epoch":1,"isr":[1]}`, CodeMalformed, "leader", "-1"},
		{"topic config value not a string", "/config/topics/t", `{"version":1,"config":{"retention.ms":86400000}}`, CodeMalformed, "config.retention.ms", "string"},
		{"broker config bad name", "/config/brokers/broker-1", `{"version":1,"config":{}}`, CodeInvalidName, "", "broker id"},
		{"quota value not numeric", "/config/clients/app", `{"version":1,"config":{"producer_byte_rate":"fast"}}`, CodeMalformed, "config.producer_byte_rate", "number"},
		{"user quota value not numeric", "/config/users/alice", `{"version":1,"config":{"consumer_byte_rate":"1e"}}`, CodeMalformed, "config.consumer_byte_rate", "number"},
		{"ip quota NaN", "/config/ips/1.2.3.4", `{"version":1,"config":{"connection_creation_rate":"NaN"}}`, CodeMalformed, "config.connection_creation_rate", "number"},
		{"scram three tokens", "/config/users/alice", `{"version":1,"config":{"SCRAM-SHA-256":"salt=c2FsdA==,stored_key=a2V5,iterations=4096"}}`, CodeMalformed, "config.SCRAM-SHA-256", "salt="},
		{"scram bad base64", "/config/users/alice", `{"version":1,"config":{"SCRAM-SHA-512":"salt=!!!,stored_key=a2V5,server_key=a2V5,iterations=4096"}}`, CodeMalformed, "config.SCRAM-SHA-512", "salt="},
		{"scram bad iterations", "/config/users/alice", `{"version":1,"config":{"SCRAM-SHA-512":"salt=c2FsdA==,stored_key=a2V5,server_key=a2V5,iterations=x"}}`, CodeMalformed, "config.SCRAM-SHA-512", "iterations"},
		{"quota entity bad escape", "/config/users/bad%zz", `{"version":1,"config":{}}`, CodeInvalidName, "", "URL-encoded"},
		{"acl version 2", "/kafka-acl/Topic/t", `{"version":2,"acls":[]}`, CodeMalformed, "version", "1"},
		{"acl unknown operation", "/kafka-acl/Topic/t", `{"version":1,"acls":[{"principal":"User:a","permissionType":"Allow","operation":"Fly","host":"*"}]}`, CodeMalformed, "acls[0].operation", "operation"},
		{"acl unknown permission", "/kafka-acl/Topic/t", `{"version":1,"acls":[{"principal":"User:a","permissionType":"Maybe","operation":"Read","host":"*"}]}`, CodeMalformed, "acls[0].permissionType", "Allow"},
		{"acl principal without type", "/kafka-acl/Group/g", `{"version":1,"acls":[{"principal":"alice","permissionType":"Allow","operation":"Read","host":"*"}]}`, CodeMalformed, "acls[0].principal", "<type>:<name>"},
		{"acl missing host", "/kafka-acl-extended/prefixed/Topic/t", `{"version":1,"acls":[{"principal":"User:a","permissionType":"Allow","operation":"Read"}]}`, CodeMalformed, "acls[1-1].host", ""},
		{"acl unknown resource type", "/kafka-acl/Planet/earth", `{"version":1,"acls":[]}`, CodeUnknownACLType, "", "Topic"},
		{"migration null", "/migration", ``, CodeMalformed, "", "kraft_controller_id"},
		{"migration missing offset", "/migration", `{"version":0,"kraft_controller_id":1,"kraft_controller_epoch":1,"kraft_metadata_epoch":1}`, CodeMalformed, "kraft_metadata_offset", "64-bit"},
		{"migration version 1", "/migration", `{"version":1,"kraft_controller_id":1,"kraft_controller_epoch":1,"kraft_metadata_offset":1,"kraft_metadata_epoch":1}`, CodeMalformed, "version", "0"},
		{"feature missing status", "/feature", `{"version":2,"features":{}}`, CodeMalformed, "status", "enabled"},
		{"feature v1 missing min", "/feature", `{"version":1,"status":1,"features":{"metadata.version":{"max_version_level":7}}}`, CodeMalformed, "features.metadata.version.min_version_level", "16-bit"},
		{"producer block number not string", "/latest_producer_id_block", `{"version":1,"broker":1,"block_start":0,"block_end":"999"}`, CodeMalformed, "block_start", "string"},
		{"producer block end before start", "/latest_producer_id_block", `{"version":1,"broker":1,"block_start":"1000","block_end":"999"}`, CodeMalformed, "block_end", ">= block_start"},
		{"token missing owner", "/delegation_token/tokens/t1", `{"version":3,"renewers":[],"issueTimestamp":1,"maxTimestamp":2,"expiryTimestamp":2,"tokenId":"t1"}`, CodeMalformed, "owner", "principal"},
		{"token renewer bad", "/delegation_token/tokens/t1", `{"version":3,"owner":"User%3Aa","renewers":["nobody"],"issueTimestamp":1,"maxTimestamp":2,"expiryTimestamp":2,"tokenId":"t1"}`, CodeMalformed, "renewers[0]", "principal"},
		{"json array instead of object", "/brokers/topics/t", `[1,2]`, CodeMalformed, "", "JSON object"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ok, f := parseByPath(c.path, []byte(c.data))
			if ok {
				t.Fatalf("malformed znode accepted")
			}
			if len(f) != 1 {
				t.Fatalf("want exactly one finding, got %v", f)
			}
			got := f[0]
			field := c.field
			if field == "acls[1-1].host" {
				field = "acls[0].host"
			}
			if got.Code != c.code || got.Path != c.path || got.Field != field || !strings.Contains(got.Expected, c.expected) || got.Message == "" {
				t.Fatalf("finding %+v\nwant code %s path %s field %q expected ~%q", got, c.code, c.path, field, c.expected)
			}
			if c.code == CodeMalformed && got.Severity != Blocker {
				t.Errorf("severity %s, want blocker", got.Severity)
			}
		})
	}
}

// TestFindingsNeverLeakSecrets: a bad SCRAM credential or quota value is not echoed.
func TestFindingsNeverLeakSecrets(t *testing.T) {
	secret := "c2VjcmV0LXNhbHQtdmFsdWU="
	for _, data := range []string{
		`{"version":1,"config":{"SCRAM-SHA-256":"salt=` + secret + `,stored_key=` + secret + `,iterations=4096"}}`,
		`{"version":1,"config":{"SCRAM-SHA-1":"salt=` + secret + `"}}`,
		`{"version":1,"config":{"SCRAM-SHA-512":"salt=` + secret + `,stored_key=` + secret + `,server_key=` + secret + `,iterations=0"}}`,
	} {
		_, _, f := ParseUserConfig("/config/users/alice", []byte(data), Stat{})
		if len(f) == 0 {
			t.Fatalf("no finding for %s", data)
		}
		for _, x := range f {
			if strings.Contains(x.String(), secret) || strings.Contains(x.Expected+x.Message+x.Field, secret) {
				t.Fatalf("finding leaks the secret: %v", x)
			}
		}
	}
}

func TestParseValid(t *testing.T) {
	st := Stat{Czxid: 10, Mzxid: 11, Version: 4}
	tp, f := ParseTopic("/brokers/topics/foo", []byte(`{"version":3,"partitions":{"1":[2,3,1],"0":[1,2,3,4]},"adding_replicas":{"0":[4]},"removing_replicas":{"0":[1]},"topic_id":"HR6bHVxbSi-Kawx-Py0aCQ","new_field":{"x":1}}`), st)
	if f != nil {
		t.Fatal(f)
	}
	id, _ := kafka.ParseUUID("HR6bHVxbSi-Kawx-Py0aCQ")
	want := &Topic{Name: "foo", Version: 3, TopicID: &id, Stat: st, Partitions: []Partition{
		{ID: 0, Replicas: []int32{1, 2, 3, 4}, AddingReplicas: []int32{4}, RemovingReplicas: []int32{1}},
		{ID: 1, Replicas: []int32{2, 3, 1}},
	}}
	if !reflect.DeepEqual(tp, want) {
		t.Fatalf("topic\n got %+v\nwant %+v", tp, want)
	}
	// v1 topic without id
	tp, f = ParseTopic("/brokers/topics/old", []byte(`{"version":1,"partitions":{"0":[1]}}`), st)
	if f != nil || tp.TopicID != nil || tp.Version != 1 {
		t.Fatal(tp, f)
	}

	ps, f := ParsePartitionState("/brokers/topics/foo/partitions/0/state", []byte(`{"controller_epoch":7,"leader":-1,"version":1,"leader_epoch":12,"isr":[],"leader_recovery_state":1}`), st)
	if f != nil || ps.Leader != -1 || ps.LeaderEpoch != 12 || ps.ControllerEpoch != 7 || len(ps.ISR) != 0 || ps.LeaderRecoveryState != 1 || ps.Stat.Version != 4 {
		t.Fatal(ps, f)
	}

	b, f := ParseBroker("/brokers/ids/3", []byte(`{"version":5,"host":null,"port":-1,"jmx_port":9999,"timestamp":"17","endpoints":["CLIENT://[::1]:9092","REPL://h:9093"],"listener_security_protocol_map":{"CLIENT":"SASL_SSL","REPL":"PLAINTEXT"},"rack":"r1","features":{"b":{"min_version":1,"max_version":2},"a":{"min_version":0,"max_version":1}}}`), st)
	if f != nil || b.ID != 3 || len(b.Endpoints) != 2 || b.Endpoints[0] != (Endpoint{"CLIENT", "SASL_SSL", "::1", 9092}) || *b.Rack != "r1" || b.Features[0].Name != "a" || b.JMXPort != 9999 || b.Port != -1 {
		t.Fatalf("%+v %v", b, f)
	}
	b, f = ParseBroker("/brokers/ids/0", []byte(`{"version":1,"host":"h","port":9092,"jmx_port":-1,"timestamp":"1"}`), st)
	if f != nil || b.Endpoints[0] != (Endpoint{"PLAINTEXT", "PLAINTEXT", "h", 9092}) {
		t.Fatal(b, f)
	}

	q, creds, f := ParseUserConfig("/config/users/user%2F1%40prod", []byte(`{"version":1,"config":{"producer_byte_rate":"1024.5","SCRAM-SHA-512":"`+scramOK+`"}}`), st)
	if f != nil || *q.Entity[0].Name != "user/1@prod" || q.Values["producer_byte_rate"] != 1024.5 || len(q.Values) != 1 {
		t.Fatal(q, f)
	}
	if len(creds) != 1 || creds[0].User != "user/1@prod" || creds[0].Mechanism != "SCRAM-SHA-512" || string(creds[0].Salt) != "salt" || string(creds[0].ServerKey) != "server-key" || creds[0].Iterations != 4096 {
		t.Fatalf("%+v", creds)
	}
	q, f = ParseQuotaConfig("/config/users/<default>/clients/client%2F1", []byte(`{"version":1,"config":{"consumer_byte_rate":"5"}}`), st)
	if f != nil || len(q.Entity) != 2 || q.Entity[0].Name != nil || q.Entity[0].Type != "user" || *q.Entity[1].Name != "client/1" || q.Entity[1].Type != "client-id" {
		t.Fatal(q, f)
	}

	acl, f := ParseACLs("/kafka-acl-extended/prefixed/TRANSACTIONAL_ID/tx-", []byte(`{"version":1,"acls":[{"principal":"User:b","permissionType":"DENY","operation":"WRITE","host":"*"},{"principal":"User:a","permissionType":"Allow","operation":"Describe","host":"10.0.0.1"}]}`), st)
	if f != nil || acl.ResourceType != "TransactionalId" || acl.PatternType != "PREFIXED" || acl.Name != "tx-" || acl.Entries[0].Principal != "User:a" || acl.Entries[1].PermissionType != "Deny" || acl.Entries[1].Operation != "Write" {
		t.Fatalf("%+v %v", acl, f)
	}

	m, f := ParseMigration("/migration", []byte(`{"version":0,"kraft_controller_id":3000,"kraft_controller_epoch":1,"kraft_metadata_offset":100,"kraft_metadata_epoch":2}`), st)
	if f != nil || !m.Valid || m.KRaftControllerID != 3000 || m.KRaftMetadataOffset != 100 {
		t.Fatal(m, f)
	}
	c, f := ParseController("/controller", []byte(`{"version":1,"brokerid":2,"timestamp":"5"}`), st)
	if f != nil || c.IsKRaft() || c.BrokerID != 2 || c.Timestamp != "5" {
		t.Fatal(c, f)
	}
	c, _ = ParseController("/controller", []byte(`{"version":2,"brokerid":3000,"timestamp":"5","kraftControllerEpoch":4}`), st)
	if !c.IsKRaft() {
		t.Fatal("KRaft controller not recognised")
	}
	tok, f := ParseDelegationToken("/delegation_token/tokens/t1", []byte(`{"version":1,"owner":"User%3Aalice","renewers":["User%3Abob"],"issueTimestamp":1,"maxTimestamp":3,"expiryTimestamp":2,"tokenId":"t1"}`), st)
	if f != nil || tok.Owner != "User:alice" || tok.Requester != "User:alice" || tok.Renewers[0] != "User:bob" {
		t.Fatal(tok, f)
	}
	pb, f := ParseProducerIDBlock("/latest_producer_id_block", nil, st)
	if pb != nil || f != nil {
		t.Fatal("empty producer id block znode must be (nil, nil)")
	}
	cfg, f := ParseEntityConfig("/config/brokers/<default>", nil, st)
	if f != nil || cfg.Name != "<default>" || len(cfg.Config) != 0 {
		t.Fatal(cfg, f)
	}
}

// fuzzParsers feeds data to every parser; none may panic, and a nil value
// must always come with a finding (never a silent drop).
func fuzzParsers(t *testing.T, data []byte) {
	paths := []string{"/cluster/id", "/controller", "/controller_epoch", "/migration", "/feature", "/latest_producer_id_block",
		"/brokers/ids/1", "/brokers/topics/t", "/brokers/topics/t/partitions/0/state", "/config/topics/t", "/config/brokers/1",
		"/config/users/alice", "/config/users/alice/clients/app", "/config/ips/<default>", "/kafka-acl/Topic/t", "/delegation_token/tokens/x"}
	for _, p := range paths {
		ok, f := parseByPath(p, data)
		if !ok && len(f) == 0 && p != "/latest_producer_id_block" {
			t.Fatalf("%s: no value and no finding for %q", p, data)
		}
		for _, x := range f {
			if x.Path != p || x.Message == "" || x.Severity == "" {
				t.Fatalf("%s: bad finding %+v", p, x)
			}
		}
	}
}

func FuzzParsers(f *testing.F) {
	for _, s := range []string{
		`{"version":3,"partitions":{"0":[1,2]},"adding_replicas":{"0":[2]},"topic_id":"HR6bHVxbSi-Kawx-Py0aCQ"}`,
		`{"version":1,"leader":1,"leader_epoch":1,"controller_epoch":1,"isr":[1]}`,
		`{"version":5,"endpoints":["PLAINTEXT://h:1"],"features":{"a":{"min_version":1,"max_version":2}}}`,
		`{"version":1,"config":{"SCRAM-SHA-256":"` + scramOK + `","producer_byte_rate":"1"}}`,
		`{"version":1,"acls":[{"principal":"User:a","permissionType":"Allow","operation":"Read","host":"*"}]}`,
		`{"version":0,"kraft_controller_id":1,"kraft_controller_epoch":1,"kraft_metadata_offset":1,"kraft_metadata_epoch":1}`,
		`{"version":"1","id":"x"}`, `7`, ``, `null`, `{"version":2,"status":1,"features":{"m":{"max_version_level":1}}}`,
		`{"version":3,"owner":"User%3Aa","tokenRequester":"User%3Ab","renewers":[],"issueTimestamp":1,"maxTimestamp":2,"expiryTimestamp":2,"tokenId":"x"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(fuzzParsers)
}

func BenchmarkParsePartitionState(b *testing.B) {
	data := []byte(`{"controller_epoch":7,"leader":1,"version":1,"leader_epoch":12,"isr":[1,2,3]}`)
	for i := 0; i < b.N; i++ {
		if s, f := ParsePartitionState("/brokers/topics/t/partitions/0/state", data, Stat{}); s == nil || f != nil {
			b.Fatal(f)
		}
	}
}

// FuzzFastPathAgrees: whenever the fast JSON path accepts a partition state
// or topic znode, encoding/json reads exactly the same fields from it.
func FuzzFastPathAgrees(f *testing.F) {
	for _, s := range []string{
		`{"controller_epoch":7,"leader":1,"version":1,"leader_epoch":12,"isr":[1,2,3]}`,
		` { "version" : 1 , "leader" : -1 , "leader_epoch" : 0 , "controller_epoch" : 0 , "isr" : [ ] , "leader_recovery_state" : 1 } `,
		`{"version":3,"partitions":{"0":[1,2,3],"1":[2,3,1]},"adding_replicas":{"0":[3]},"removing_replicas":{},"topic_id":"HR6bHVxbSi-Kawx-Py0aCQ"}`,
		`{"version":1,"partitions":{"00":[1],"0":[2]}}`,
		`{"version":1,"leader":01,"leader_epoch":1e2,"controller_epoch":1.0,"isr":[2147483648]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if fast, ok := fastPartitionState(data); ok {
			slow, fs := slowPartitionState("/s", data)
			if fs != nil {
				t.Fatalf("fast path accepted what encoding/json rejects: %q: %v", data, fs)
			}
			if !reflect.DeepEqual(fast, slow) {
				t.Fatalf("%q:\nfast %+v\nslow %+v", data, fast, slow)
			}
		}
		if fast, ok := fastTopic(data); ok {
			slow, fs := slowTopic("/t", data)
			if fs != nil {
				t.Fatalf("fast path accepted what encoding/json rejects: %q: %v", data, fs)
			}
			asMap := func(l []partList) map[string][]int32 {
				m := map[string][]int32{}
				for _, p := range l {
					m[p.key] = append([]int32{}, p.reps...)
				}
				return m
			}
			if fast.version != slow.version || fast.hasVersion != slow.hasVersion || fast.hasParts != slow.hasParts ||
				(fast.topicID == nil) != (slow.topicID == nil) || (fast.topicID != nil && *fast.topicID != *slow.topicID) ||
				!reflect.DeepEqual(asMap(fast.parts), asMap(slow.parts)) || !reflect.DeepEqual(asMap(fast.adding), asMap(slow.adding)) ||
				!reflect.DeepEqual(asMap(fast.removing), asMap(slow.removing)) {
				t.Fatalf("%q:\nfast %+v\nslow %+v", data, fast, slow)
			}
		}
	})
}

// FuzzZnodeNames: parsers that read meaning from the znode name (broker
// ids, quota entities, ACL resources, topic names) never panic and never
// drop a znode without a finding.
func FuzzZnodeNames(f *testing.F) {
	f.Add("1", []byte(`{"version":1,"config":{"producer_byte_rate":"1"}}`))
	f.Add("user%2F1%40prod", []byte(`{"version":1,"acls":[]}`))
	f.Add("<default>", []byte(`{"version":5,"endpoints":["PLAINTEXT://h:1"]}`))
	f.Add("bad%zz", []byte(`{"version":3,"partitions":{"0":[1]}}`))
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		for _, prefix := range []string{"/brokers/ids/", "/brokers/topics/", "/config/topics/", "/config/brokers/", "/config/users/",
			"/config/clients/", "/config/ips/", "/config/users/u/clients/", "/kafka-acl/Topic/", "/kafka-acl-extended/prefixed/Group/", "/kafka-acl/"} {
			p := prefix + name
			ok, fs := parseByPath(p, data)
			if !ok && len(fs) == 0 {
				t.Fatalf("%s: no value and no finding", p)
			}
		}
	})
}
