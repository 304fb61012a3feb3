package zkreader

import (
	"context"
	"encoding/json"
	"testing"
)

func kafkaTree(prefix string) map[string]string {
	return map[string]string{
		prefix + "/cluster/id":                                  `{"version":"1","id":"HR6bHVxbSi-Kawx-Py0aCQ"}`,
		prefix + "/controller_epoch":                            `7`,
		prefix + "/controller":                                  `{"version":2,"brokerid":1,"timestamp":"1700000000000","kraftControllerEpoch":-1}`,
		prefix + "/brokers/ids/1":                               `{"version":5,"host":"h1","port":9092,"jmx_port":-1,"timestamp":"1","endpoints":["PLAINTEXT://h1:9092"],"listener_security_protocol_map":{"PLAINTEXT":"PLAINTEXT"},"features":{}}`,
		prefix + "/brokers/topics/foo":                          `{"version":3,"partitions":{"0":[1,2,3],"1":[2,3,1]},"adding_replicas":{},"removing_replicas":{},"topic_id":"HR6bHVxbSi-Kawx-Py0aCQ"}`,
		prefix + "/brokers/topics/foo/partitions/0/state":       `{"version":1,"leader":1,"leader_epoch":12,"controller_epoch":7,"isr":[1,2,3]}`,
		prefix + "/brokers/topics/foo/partitions/1/state":       `{"version":1,"leader":2,"leader_epoch":1,"controller_epoch":7,"isr":[2,3]`,
		prefix + "/config/topics/foo":                           `{"version":1,"config":{"retention.ms":"1000"}}`,
		prefix + "/config/users/alice":                          `{"version":1,"config":{"producer_byte_rate":"1024","SCRAM-SHA-256":"salt=c2FsdA==,stored_key=a2V5,server_key=c2s=,iterations=4096"}}`,
		prefix + "/config/users/alice/clients/app":              `{"version":1,"config":{"consumer_byte_rate":"10"}}`,
		prefix + "/kafka-acl/Topic/foo":                         `{"version":1,"acls":[{"principal":"User:alice","permissionType":"Allow","operation":"Read","host":"*"}]}`,
		prefix + "/kafka-acl-extended/prefixed/Group/g":         `{"version":1,"acls":[{"principal":"User:bob","permissionType":"Deny","operation":"Read","host":"*"}]}`,
		prefix + "/latest_producer_id_block":                    `{"version":1,"broker":1,"block_start":"0","block_end":"999"}`,
	}
}

func TestSmokeReadStandalone(t *testing.T) {
	addr := standaloneZK(t)
	c := zkConnect(t, addr)
	putTree(t, c, kafkaTree("/kafka"), nil)
	for _, mode := range []Mode{ModeMultiRead, ModeGet} {
		snap, err := Read(context.Background(), Options{Connect: addr + "/kafka", Mode: mode})
		if err != nil {
			t.Fatal(mode, err)
		}
		b, _ := json.MarshalIndent(snap, "", " ")
		t.Logf("%s: %s", mode, b)
	}
}
