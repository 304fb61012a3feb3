package zkreader

import (
	"strings"
	"testing"
)

// TestHostileJSON: input encoding/json would accept with a silent change
// (invalid UTF-8 turned into U+FFFD, the last of duplicate keys kept) or
// reject with a vague message (a number out of range, absurd nesting)
// yields a finding naming the znode, the field and what was expected.
func TestHostileJSON(t *testing.T) {
	const state = "/brokers/topics/t/partitions/0/state"
	deep := strings.Repeat("[", 100_000)
	cases := []struct {
		name, path, data string
		field            string
		expected         string // substring of Finding.Expected
		message          string // substring of Finding.Message
	}{
		{"config value invalid UTF-8", "/config/topics/t", "{\"version\":1,\"config\":{\"cleanup.policy\":\"del\xffete\"}}",
			"config.cleanup.policy", "UTF-8", "not valid UTF-8"},
		{"config key invalid UTF-8", "/config/topics/t", "{\"version\":1,\"config\":{\"a\xc3\":\"x\"}}",
			"config", "UTF-8", "key is not valid UTF-8"},
		{"acl host invalid UTF-8", "/kafka-acl/Topic/t", "{\"version\":1,\"acls\":[{\"principal\":\"User:a\",\"permissionType\":\"Allow\",\"operation\":\"Read\",\"host\":\"\xed\xa0\x80\"}]}",
			"acls[0].host", "UTF-8", "not valid UTF-8"},
		{"state unknown key invalid UTF-8", state, "{\"version\":1,\"leader\":1,\"leader_epoch\":1,\"controller_epoch\":1,\"isr\":[1],\"\xff\":1}",
			"", "UTF-8", "key is not valid UTF-8"},
		{"topic invalid UTF-8 outside strings", "/brokers/topics/t", "{\"version\":1,\xff\"partitions\":{}}",
			"", "JSON object", "not valid UTF-8"},
		{"state duplicate leader", state, `{"version":1,"leader":1,"leader":2,"leader_epoch":1,"controller_epoch":1,"isr":[1,2]}`,
			"leader", "each key once", "more than once"},
		{"state duplicate escaped key", state, `{"version":1,"leader":1,"le\u0061der":2,"leader_epoch":1,"controller_epoch":1,"isr":[1,2]}`,
			"leader", "each key once", "more than once"},
		{"topic duplicate partition", "/brokers/topics/t", `{"version":3,"partitions":{"0":[1],"1":[1],"0":[2]}}`,
			"partitions.0", "each key once", "more than once"},
		{"topic duplicate version", "/brokers/topics/t", `{"version":3,"partitions":{"0":[1]},"version":1}`,
			"version", "each key once", "more than once"},
		{"config duplicate key", "/config/topics/t", `{"version":1,"config":{"retention.ms":"1","retention.ms":"2"}}`,
			"config.retention.ms", "each key once", "more than once"},
		{"acl duplicate key in an entry", "/kafka-acl/Topic/t", `{"version":1,"acls":[{"principal":"User:a","permissionType":"Allow","operation":"Read","host":"*","host":"h"}]}`,
			"acls[0].host", "each key once", "more than once"},
		{"state leader 2^40", state, `{"version":1,"leader":1099511627776,"leader_epoch":1,"controller_epoch":1,"isr":[1]}`,
			"leader", "32-bit", "out of range"},
		{"state epoch 1e400", state, `{"version":1,"leader":1,"leader_epoch":1e400,"controller_epoch":1,"isr":[1]}`,
			"leader_epoch", "32-bit", "not an integer"},
		{"state isr beyond 32 bits", state, `{"version":1,"leader":1,"leader_epoch":1,"controller_epoch":1,"isr":[4294967297]}`,
			"isr", "32-bit", "out of range"},
		{"topic replica 2^40", "/brokers/topics/t", `{"version":3,"partitions":{"0":[1099511627776]}}`,
			"partitions.0", "32-bit", "out of range"},
		{"topic partition -1", "/brokers/topics/t", `{"version":3,"partitions":{"-1":[1]}}`,
			"partitions.-1", "non-negative partition number", "not a partition number"},
		{"topic deeply nested", "/brokers/topics/t", deep, "", "JSON object", "nested more than"},
		{"topic deeply nested value", "/brokers/topics/t", `{"version":3,"partitions":{"0":[1]},"x":` + deep, "", "JSON object", "nested more than"},
		{"producer block broker 2^40", "/latest_producer_id_block", `{"version":1,"broker":1099511627776,"block_start":"0","block_end":"999"}`,
			"broker", "32-bit", "out of range"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ok, f := parseByPath(c.path, []byte(c.data))
			if ok {
				t.Fatalf("hostile znode accepted")
			}
			if len(f) != 1 {
				t.Fatalf("want exactly one finding, got %v", f)
			}
			got := f[0]
			if got.Code != CodeMalformed || got.Severity != Blocker || got.Path != c.path || got.Field != c.field ||
				!strings.Contains(got.Expected, c.expected) || !strings.Contains(got.Message, c.message) {
				t.Fatalf("finding %+v\nwant path %s field %q expected ~%q message ~%q", got, c.path, c.field, c.expected, c.message)
			}
		})
	}
}

// TestHostileJSONNotOverEager: keys repeated in different objects, escapes
// and non-ASCII text are fine.
func TestHostileJSONNotOverEager(t *testing.T) {
	for _, c := range []struct{ path, data string }{
		{"/brokers/topics/t", `{"version":3,"partitions":{"0":[1,2]},"adding_replicas":{"0":[2]},"removing_replicas":{"0":[1]}}`},
		{"/config/topics/t", `{"version":1,"config":{"a":"é ü \u00e9 \"q\" \\","b":"日本"}}`},
		{"/kafka-acl/Topic/t", `{"version":1,"acls":[{"principal":"User:a","permissionType":"Allow","operation":"Read","host":"*"},{"principal":"User:a","permissionType":"Allow","operation":"Write","host":"*"}]}`},
		{"/brokers/topics/t/partitions/0/state", `{"version":1,"leader":1,"leader_epoch":1,"controller_epoch":1,"isr":[1],"x":{"leader":1,"y":[{"leader":2}]}}`},
	} {
		if ok, f := parseByPath(c.path, []byte(c.data)); !ok || f != nil {
			t.Errorf("%s %s: %v", c.path, c.data, f)
		}
	}
	// a config object with many keys (the map branch of the duplicate check)
	var b strings.Builder
	b.WriteString(`{"version":1,"config":{`)
	for i := 0; i < 100; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`"k` + itoa(i) + `":"v"`)
	}
	if ok, f := parseByPath("/config/topics/t", []byte(b.String()+`}}`)); !ok || f != nil {
		t.Errorf("100 keys: %v", f)
	}
	_, f := parseByPath("/config/topics/t", []byte(b.String()+`,"k57":"w"}}`))
	if len(f) != 1 || f[0].Field != "config.k57" {
		t.Errorf("duplicate among 100 keys: %v", f)
	}
}

// TestTopicNames: a topic whose name Kafka's API would refuse is read (the
// migration copies it) with a warning naming it; a legal name has none.
func TestTopicNames(t *testing.T) {
	const data = `{"version":3,"partitions":{"0":[1]}}`
	legal := strings.Repeat("aZ09._-", 36)[:249]
	for _, c := range []struct {
		name string
		warn bool
	}{
		{legal, false}, {"a", false}, {"..a", false},
		{legal + "x", true}, {"has space", true}, {"t:1", true}, {"ünï", true}, {"a+b", true},
	} {
		path := "/brokers/topics/" + c.name
		for _, fast := range []bool{true, false} {
			var tp *Topic
			var fs []Finding
			if fast {
				var ok bool
				if tp, ok = fastTopicModel(path, []byte(data), Stat{}); !ok {
					if !c.warn {
						t.Errorf("%q: the fast path refused a legal name", c.name)
					}
					continue
				}
			} else {
				tp, fs = ParseTopic(path, []byte(data), Stat{})
			}
			if tp == nil || tp.Name != c.name || len(tp.Partitions) != 1 {
				t.Fatalf("%q (fast %v): topic %+v", c.name, fast, tp)
			}
			if c.warn && fast {
				t.Errorf("%q: the fast path accepted an illegal name", c.name)
			}
			if got := len(fs) == 1 && fs[0].Severity == Warning && fs[0].Code == CodeInvalidName && fs[0].Path == path &&
				strings.Contains(fs[0].Expected, "249"); got != (c.warn && !fast) || (!c.warn && len(fs) != 0) {
				t.Errorf("%q (fast %v): findings %v", c.name, fast, fs)
			}
		}
	}
}
