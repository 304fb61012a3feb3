package translate

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/zk2kraft/zk2kraft/translate/records"
	"github.com/zk2kraft/zk2kraft/zkreader"
)

// FuzzTranslate feeds arbitrary snapshot models to Translate: it must never
// panic, and what it emits must always replay into an image and encode —
// anything it cannot translate becomes a finding or a skip instead.
func FuzzTranslate(f *testing.F) {
	edge, err := os.ReadFile("testdata/edge-snapshot.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(edge)
	f.Add([]byte(`{"topics":[{"name":"a","topicId":"AAAAAAAAAAAAAAAAAAAAAQ","partitions":[{"id":0,"replicas":[1]}]},{"name":"a","topicId":"AAAAAAAAAAAAAAAAAAAAAg","partitions":[]}]}`))
	f.Add([]byte(`{"brokers":[{"id":-1,"endpoints":[{"listener":"A","securityProtocol":"SSL","host":"h","port":1}]},{"id":1,"endpoints":[{"listener":"A","securityProtocol":"SSL","host":"h","port":1}]},{"id":1,"endpoints":[]}]}`))
	f.Add([]byte(`{"quotas":[{"path":"/config/users/a","entity":[{"type":"group","name":"x"}],"values":{"k":1}},{"path":"/config/ips/a","entity":[{"type":"ip"},{"type":"user"}],"values":{"k":1}}]}`))
	f.Add([]byte(`{"scram":[{"path":"/config/users/a","user":"a","mechanism":"SCRAM-SHA-256","salt":"AQ==","storedKey":"AQ==","serverKey":"AQ==","iterations":1},{"path":"/config/users/a","user":"a","mechanism":"SCRAM-SHA-256","salt":"Ag==","storedKey":"AQ==","serverKey":"AQ==","iterations":1}]}`))
	f.Add([]byte(`{"acls":[{"path":"/kafka-acl/Topic/x","resourceType":"Topic","patternType":"LITERAL","name":"x","entries":[{"principal":"User:a","permissionType":"Allow","operation":"Read","host":"*"},{"principal":"User:a","permissionType":"Allow","operation":"Read","host":"*"}]}],"producerIdBlock":{"blockStart":5,"blockEnd":-10}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var snap zkreader.Snapshot
		if json.Unmarshal(data, &snap) != nil {
			return
		}
		res, err := Translate(&snap, Options{PasswordEncoderSecret: "secret"})
		if err != nil {
			t.Fatalf("Translate error for a snapshot: %v", err)
		}
		if _, err := res.Image(); err != nil {
			t.Fatalf("translation does not replay: %v", err)
		}
		for _, b := range res.Log() {
			for _, v := range b {
				if _, err := records.AppendFrame(nil, v); err != nil {
					t.Fatalf("translation does not encode: %v", err)
				}
			}
		}
	})
}
