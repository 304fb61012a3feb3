package testenv

// The seeder's own JSON encoders, written from kafka-migration-spec.md §1
// (Kafka's ZkData encoders), independent of zkreader's parsers so that a read
// of a seeded cluster cross-checks both.

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/zk2kraft/zk2kraft/kafka"
	"github.com/zk2kraft/zk2kraft/zkreader"
)

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("testenv: encode %T: %v", v, err)) // only static Go values are encoded
	}
	return b
}

func jsonInts(v []int32) string {
	if v == nil {
		v = []int32{}
	}
	return string(mustJSON(v))
}

// encodeClusterID: {"version":"1","id":"<id>"} (version is a string).
func encodeClusterID(id string) []byte {
	return mustJSON(map[string]any{"version": "1", "id": id})
}

// encodeController: v2 {"version":2,"brokerid":N,"timestamp":"<ms>","kraftControllerEpoch":E}.
func encodeController(brokerID int32, timestamp string, kraftEpoch int32) []byte {
	return mustJSON(map[string]any{"version": 2, "brokerid": brokerID, "timestamp": timestamp, "kraftControllerEpoch": kraftEpoch})
}

// encodeBroker writes a v5 (or v4/v2/v1 by b.Version) broker registration.
func encodeBroker(b zkreader.Broker) []byte {
	m := map[string]any{"version": b.Version, "jmx_port": b.JMXPort, "timestamp": b.Timestamp}
	// host/port are the first PLAINTEXT endpoint, or null/-1 without one.
	m["host"], m["port"] = nil, -1
	for _, e := range b.Endpoints {
		if e.SecurityProtocol == "PLAINTEXT" {
			m["host"], m["port"] = e.Host, e.Port
			break
		}
	}
	if b.Version >= 2 {
		eps := make([]string, len(b.Endpoints))
		for i, e := range b.Endpoints {
			eps[i] = fmt.Sprintf("%s://%s:%d", e.Listener, e.Host, e.Port)
		}
		m["endpoints"] = eps
	}
	if b.Version >= 3 && b.Rack != nil {
		m["rack"] = *b.Rack
	}
	if b.Version >= 4 {
		lm := map[string]string{}
		for _, e := range b.Endpoints {
			lm[e.Listener] = e.SecurityProtocol
		}
		m["listener_security_protocol_map"] = lm
	}
	if b.Version >= 5 {
		fs := map[string]any{}
		for _, f := range b.Features {
			fs[f.Name] = map[string]int16{"min_version": f.MinVersion, "max_version": f.MaxVersion}
		}
		m["features"] = fs
	}
	return mustJSON(m)
}

// encodeTopic writes /brokers/topics/<t> at t.Version: v1 partitions only;
// v2 adds adding_replicas/removing_replicas (always both objects, a key only
// for a non-empty list); v3 adds topic_id when known.
func encodeTopic(t zkreader.Topic) []byte {
	parts := map[string][]int32{}
	adding := map[string][]int32{}
	removing := map[string][]int32{}
	for _, p := range t.Partitions {
		k := strconv.Itoa(int(p.ID))
		parts[k] = p.Replicas
		if len(p.AddingReplicas) > 0 {
			adding[k] = p.AddingReplicas
		}
		if len(p.RemovingReplicas) > 0 {
			removing[k] = p.RemovingReplicas
		}
	}
	m := map[string]any{"version": t.Version, "partitions": parts}
	if t.Version >= 2 {
		m["adding_replicas"] = adding
		m["removing_replicas"] = removing
	}
	if t.Version >= 3 && t.TopicID != nil {
		m["topic_id"] = t.TopicID.String()
	}
	return mustJSON(m)
}

// encodePartitionState: {"version":1,"leader":L,"leader_epoch":E,
// "controller_epoch":C,"isr":[...]} plus "leader_recovery_state" only when
// not RECOVERED (0).
func encodePartitionState(s zkreader.PartitionState) []byte {
	isr := s.ISR
	if isr == nil {
		isr = []int32{}
	}
	m := map[string]any{"version": 1, "leader": s.Leader, "leader_epoch": s.LeaderEpoch, "controller_epoch": s.ControllerEpoch, "isr": isr}
	if s.LeaderRecoveryState != 0 {
		m["leader_recovery_state"] = s.LeaderRecoveryState
	}
	return mustJSON(m)
}

// encodeConfig: {"version":1,"config":{...}} with string values.
func encodeConfig(cfg map[string]string) []byte {
	if cfg == nil {
		cfg = map[string]string{}
	}
	return mustJSON(map[string]any{"version": 1, "config": cfg})
}

// encodeScram: salt=<b64>,stored_key=<b64>,server_key=<b64>,iterations=<n>
// (standard base64 with padding).
func encodeScram(c zkreader.ScramCredential) string {
	enc := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("salt=%s,stored_key=%s,server_key=%s,iterations=%d", enc(c.Salt), enc(c.StoredKey), enc(c.ServerKey), c.Iterations)
}

// encodeACLs: {"version":1,"acls":[{"principal":..,"permissionType":..,"operation":..,"host":..}]}.
func encodeACLs(entries []zkreader.ACLEntry) []byte {
	acls := make([]map[string]string, len(entries))
	for i, e := range entries {
		acls[i] = map[string]string{"principal": e.Principal, "permissionType": e.PermissionType, "operation": e.Operation, "host": e.Host}
	}
	return mustJSON(map[string]any{"version": 1, "acls": acls})
}

// encodeProducerIDBlock: block_start/block_end are strings.
func encodeProducerIDBlock(b zkreader.ProducerIDBlock) []byte {
	return mustJSON(map[string]any{"version": b.Version, "broker": b.Broker,
		"block_start": strconv.FormatInt(b.BlockStart, 10), "block_end": strconv.FormatInt(b.BlockEnd, 10)})
}

// encodeFeatures: v2 {"version":2,"status":1,"features":{"<n>":{"max_version_level":L}}};
// v1 also writes min_version_level.
func encodeFeatures(f zkreader.Features) []byte {
	fs := map[string]any{}
	for _, l := range f.Features {
		e := map[string]int16{"max_version_level": l.MaxVersionLevel}
		if f.Version == 1 && l.MinVersionLevel != nil {
			e["min_version_level"] = *l.MinVersionLevel
		}
		fs[l.Name] = e
	}
	return mustJSON(map[string]any{"version": f.Version, "status": f.Status, "features": fs})
}

// encodeDelegationToken: v3 with sanitized principals.
func encodeDelegationToken(t zkreader.DelegationToken) []byte {
	renewers := make([]string, len(t.Renewers))
	for i, r := range t.Renewers {
		renewers[i] = kafka.Sanitize(r)
	}
	return mustJSON(map[string]any{"version": 3, "owner": kafka.Sanitize(t.Owner), "tokenRequester": kafka.Sanitize(t.Requester),
		"renewers": renewers, "issueTimestamp": t.IssueTimestamp, "maxTimestamp": t.MaxTimestamp,
		"expiryTimestamp": t.ExpiryTimestamp, "tokenId": t.TokenID})
}

// encodeMigration: {"version":0,"kraft_controller_id":..,"kraft_controller_epoch":..,
// "kraft_metadata_offset":..,"kraft_metadata_epoch":..}.
func encodeMigration(m zkreader.MigrationZnode) []byte {
	return mustJSON(map[string]any{"version": m.Version, "kraft_controller_id": m.KRaftControllerID,
		"kraft_controller_epoch": m.KRaftControllerEpoch, "kraft_metadata_offset": m.KRaftMetadataOffset,
		"kraft_metadata_epoch": m.KRaftMetadataEpoch})
}
