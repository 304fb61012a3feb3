package zkreader

// One parser per znode kind. Each takes the znode path (without chroot), its
// data and Stat, and returns the typed value plus findings. A parser never
// panics and never echoes znode values (they may be secrets).
//
// What the model holds for a bad znode: when a znode cannot be used as Kafka
// would use it (malformed JSON, a missing required field, a wrong type, a
// number out of range, a bad znode name), the parser returns nil and a Blocker
// finding with Code "malformed-znode" (or "invalid-znode-name") naming the
// path, the field and what was expected. The bulk reader then leaves the
// object out of the typed lists (for a partition state: Partition.State stays
// nil), so the finding is the only trace of it; the pre-flight check turns
// every such finding into a blocker. Strings that are not valid UTF-8 and
// keys that appear twice in one object are malformed too (decodeJSON). The exception is /migration, which is
// always returned (Valid=false, Raw kept) because its presence matters.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/zk2kraft/zk2kraft/kafka"
)

// ParseClusterID parses /cluster/id: {"version":"1","id":"<id>"}.
func ParseClusterID(path string, data []byte, st Stat) (*ClusterID, []Finding) {
	var j struct {
		Version *string `json:"version"`
		ID      *string `json:"id"`
	}
	if f := decodeJSON(path, data, &j, `JSON object {"version":"1","id":"<cluster id>"}`); f != nil {
		return nil, f
	}
	if j.ID == nil {
		return nil, []Finding{missing(path, "id", "string cluster id")}
	}
	if *j.ID == "" {
		return nil, []Finding{malformed(path, "id", "non-empty cluster id", "cluster id is empty")}
	}
	c := &ClusterID{ID: *j.ID, Stat: st}
	if j.Version != nil {
		c.Version = *j.Version
	}
	return c, nil
}

// ParseControllerEpoch parses /controller_epoch: a decimal integer.
func ParseControllerEpoch(path string, data []byte, st Stat) (*ControllerEpoch, []Finding) {
	s := strings.TrimSpace(string(data))
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return nil, []Finding{malformed(path, "", "decimal 32-bit integer", "controller epoch is not a decimal 32-bit integer")}
	}
	return &ControllerEpoch{Epoch: int32(n), Stat: st}, nil
}

// ParseController parses /controller (v1 without, v2 with kraftControllerEpoch).
func ParseController(path string, data []byte, st Stat) (*Controller, []Finding) {
	var j struct {
		Version   *int            `json:"version"`
		BrokerID  *int32          `json:"brokerid"`
		Timestamp json.RawMessage `json:"timestamp"`
		KRaft     *int32          `json:"kraftControllerEpoch"`
	}
	if f := decodeJSON(path, data, &j, `JSON object {"version":2,"brokerid":<int>,...}`); f != nil {
		return nil, f
	}
	if j.Version == nil {
		return nil, []Finding{missing(path, "version", "integer 1 or 2")}
	}
	if j.BrokerID == nil {
		return nil, []Finding{missing(path, "brokerid", "32-bit integer")}
	}
	c := &Controller{Version: *j.Version, BrokerID: *j.BrokerID, KRaftControllerEpoch: -1, Stat: st}
	if j.KRaft != nil {
		c.KRaftControllerEpoch = *j.KRaft
	}
	ts, ok := stringOrNumber(j.Timestamp)
	if !ok {
		return nil, []Finding{malformed(path, "timestamp", "string of milliseconds", "wrong type")}
	}
	c.Timestamp = ts
	return c, nil
}

// stringOrNumber accepts a JSON string or number (or absence) as text.
func stringOrNumber(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", true
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, true
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String(), true
	}
	return "", false
}

var securityProtocols = map[string]bool{"PLAINTEXT": true, "SSL": true, "SASL_PLAINTEXT": true, "SASL_SSL": true}

// endpointRE is Kafka's EndPoint.uriParseExp: "NAME://host:port" with an
// optional [IPv6] host.
var endpointRE = regexp.MustCompile(`^(.*)://\[?([0-9a-zA-Z\-%._:]*)\]?:(-?[0-9]+)$`)

// ParseBroker parses /brokers/ids/<id> (versions 1–5).
func ParseBroker(path string, data []byte, st Stat) (*Broker, []Finding) {
	id, err := strconv.ParseInt(lastElem(path), 10, 32)
	if err != nil || id < 0 {
		return nil, []Finding{{Severity: Blocker, Code: CodeInvalidName, Path: path, Expected: "non-negative 32-bit broker id",
			Message: "broker registration znode name is not a broker id", Remedy: "delete the stray znode under /brokers/ids"}}
	}
	var j struct {
		Version   *int              `json:"version"`
		Host      *string           `json:"host"`
		Port      *int32            `json:"port"`
		JMXPort   *int32            `json:"jmx_port"`
		Timestamp json.RawMessage   `json:"timestamp"`
		Endpoints []string          `json:"endpoints"`
		Rack      *string           `json:"rack"`
		Protocols map[string]string `json:"listener_security_protocol_map"`
		Features  map[string]struct {
			Min *int16 `json:"min_version"`
			Max *int16 `json:"max_version"`
		} `json:"features"`
	}
	if f := decodeJSON(path, data, &j, `JSON object {"version":<1-5>,"endpoints":[...],...}`); f != nil {
		return nil, f
	}
	if j.Version == nil {
		return nil, []Finding{missing(path, "version", "integer 1 to 5")}
	}
	b := &Broker{ID: int32(id), Version: *j.Version, Port: -1, JMXPort: -1, Rack: j.Rack, Stat: st}
	if j.Host != nil {
		b.Host = *j.Host
	}
	if j.Port != nil {
		b.Port = *j.Port
	}
	if j.JMXPort != nil {
		b.JMXPort = *j.JMXPort
	}
	ts, ok := stringOrNumber(j.Timestamp)
	if !ok {
		return nil, []Finding{malformed(path, "timestamp", "string of milliseconds", "wrong type")}
	}
	b.Timestamp = ts
	if b.Version < 1 {
		return nil, []Finding{malformed(path, "version", "integer >= 1", "unsupported broker registration version %d", b.Version)}
	}
	if b.Version == 1 {
		if b.Host == "" || b.Port < 0 {
			return nil, []Finding{malformed(path, "host", "host and port (version 1)", "version 1 registration without host/port")}
		}
		b.Endpoints = []Endpoint{{Listener: "PLAINTEXT", SecurityProtocol: "PLAINTEXT", Host: b.Host, Port: b.Port}}
	} else {
		if j.Endpoints == nil {
			return nil, []Finding{missing(path, "endpoints", `array of "LISTENER://host:port" strings`)}
		}
		b.Endpoints = make([]Endpoint, 0, len(j.Endpoints))
		for i, e := range j.Endpoints {
			m := endpointRE.FindStringSubmatch(e)
			field := fmt.Sprintf("endpoints[%d]", i)
			if m == nil {
				return nil, []Finding{malformed(path, field, `"LISTENER://host:port"`, "endpoint is not LISTENER://host:port")}
			}
			port, err := strconv.ParseInt(m[3], 10, 32)
			if err != nil || port < 0 || port > 65535 {
				return nil, []Finding{malformed(path, field, "port in [0, 65535]", "endpoint port out of range")}
			}
			listener := m[1]
			proto := ""
			if j.Protocols != nil {
				proto = j.Protocols[listener]
			} else if securityProtocols[strings.ToUpper(listener)] {
				proto = strings.ToUpper(listener)
			}
			if proto == "" {
				return nil, []Finding{malformed(path, "listener_security_protocol_map", "an entry for listener "+listener,
					"listener %q has no security protocol", listener)}
			}
			if !securityProtocols[proto] {
				return nil, []Finding{malformed(path, "listener_security_protocol_map."+listener, "PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL",
					"unknown security protocol %q", proto)}
			}
			b.Endpoints = append(b.Endpoints, Endpoint{Listener: listener, SecurityProtocol: proto, Host: m[2], Port: int32(port)})
		}
	}
	for name, f := range j.Features {
		if f.Min == nil || f.Max == nil {
			return nil, []Finding{missing(path, "features."+name, `{"min_version":<int16>,"max_version":<int16>}`)}
		}
		b.Features = append(b.Features, BrokerFeature{Name: name, MinVersion: *f.Min, MaxVersion: *f.Max})
	}
	sort.Slice(b.Features, func(i, k int) bool { return b.Features[i].Name < b.Features[k].Name })
	return b, nil
}

// ParseTopic parses /brokers/topics/<name> (versions 1–3). Partitions come
// back sorted by id with State nil; the partition states are separate znodes.
func ParseTopic(path string, data []byte, st Stat) (*Topic, []Finding) {
	f, ok := fastTopic(data)
	if !ok {
		var fs []Finding
		if f, fs = slowTopic(path, data); fs != nil {
			return nil, fs
		}
	}
	if !f.hasVersion {
		return nil, []Finding{missing(path, "version", "integer 1 to 3")}
	}
	if !f.hasParts {
		return nil, []Finding{missing(path, "partitions", `object {"<partition>":[<broker ids>]}`)}
	}
	t := &Topic{Name: lastElem(path), Version: f.version, Stat: st}
	if f.topicID != nil {
		id, err := kafka.ParseUUID(*f.topicID)
		if err != nil || id.IsZero() {
			return nil, []Finding{malformed(path, "topic_id", "22-character base64url topic id", "topic_id is not a valid Kafka Uuid")}
		}
		t.TopicID = &id
	}
	t.Partitions = make([]Partition, 0, len(f.parts))
	for _, pl := range f.parts {
		p, err := strconv.ParseInt(pl.key, 10, 32)
		if err != nil || p < 0 {
			return nil, []Finding{malformed(path, "partitions."+pl.key, "non-negative partition number as key", "partition key is not a partition number")}
		}
		if pl.reps == nil {
			return nil, []Finding{malformed(path, "partitions."+pl.key, "array of broker ids", "replica list is null")}
		}
		if fs := checkBrokerList(path, "partitions."+pl.key, pl.reps); fs != nil {
			return nil, fs
		}
		t.Partitions = append(t.Partitions, Partition{ID: int32(p), Replicas: pl.reps})
	}
	sort.Slice(t.Partitions, func(a, b int) bool { return t.Partitions[a].ID < t.Partitions[b].ID })
	for i := 1; i < len(t.Partitions); i++ {
		if t.Partitions[i].ID == t.Partitions[i-1].ID {
			return nil, []Finding{malformed(path, "partitions", "distinct partition numbers", "partition %d appears twice", t.Partitions[i].ID)}
		}
	}
	for _, side := range []struct {
		field string
		l     []partList
	}{{"adding_replicas", f.adding}, {"removing_replicas", f.removing}} {
		for _, pl := range side.l {
			field := side.field + "." + pl.key
			p, err := strconv.ParseInt(pl.key, 10, 32)
			if err != nil {
				return nil, []Finding{malformed(path, field, "partition number as key", "key is not a partition number")}
			}
			i := sort.Search(len(t.Partitions), func(i int) bool { return t.Partitions[i].ID >= int32(p) })
			if i == len(t.Partitions) || t.Partitions[i].ID != int32(p) {
				return nil, []Finding{malformed(path, field, "a partition present in \"partitions\"", "reassignment entry for partition %d which is not in the assignment", p)}
			}
			if fs := checkBrokerList(path, field, pl.reps); fs != nil {
				return nil, fs
			}
			if len(pl.reps) == 0 {
				continue // the encoder never writes empty lists; the decoder maps them to none
			}
			for _, r := range pl.reps {
				if !containsInt32(t.Partitions[i].Replicas, r) {
					return nil, []Finding{malformed(path, field, "replicas that are part of the full replica list", "replica %d is not in partitions.%d", r, p)}
				}
			}
			if side.field == "adding_replicas" {
				t.Partitions[i].AddingReplicas = pl.reps
			} else {
				t.Partitions[i].RemovingReplicas = pl.reps
			}
		}
	}
	if !LegalTopicName(t.Name) {
		return t, []Finding{{Severity: Warning, Code: CodeInvalidName, Path: path, Expected: "1 to 249 characters of [a-zA-Z0-9._-], not . or ..",
			Message: "topic name is not one Kafka's API accepts (the znode was written behind Kafka's back); the migration copies the topic as it is, but clients and tools may refuse the name",
			Remedy:  "recreate the topic under a legal name, or accept that admin tools may not handle it"}}
	}
	return t, nil
}

// LegalTopicName reports whether Kafka's Topic.validate accepts name: 1 to
// 249 characters of [a-zA-Z0-9._-], and neither "." nor "..".
func LegalTopicName(name string) bool {
	if name == "" || len(name) > 249 || name == "." || name == ".." {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// slowTopic decodes a topic znode with encoding/json (precise findings).
func slowTopic(path string, data []byte) (topicFields, []Finding) {
	var j struct {
		Version  *int                       `json:"version"`
		Parts    map[string]json.RawMessage `json:"partitions"`
		Adding   map[string]json.RawMessage `json:"adding_replicas"`
		Removing map[string]json.RawMessage `json:"removing_replicas"`
		TopicID  *string                    `json:"topic_id"`
	}
	var f topicFields
	if fs := decodeJSON(path, data, &j, `JSON object {"version":<1-3>,"partitions":{...}}`); fs != nil {
		return f, fs
	}
	if j.Version != nil {
		f.version, f.hasVersion = *j.Version, true
	}
	f.topicID = j.TopicID
	const ids = "array of 32-bit integer broker ids"
	for _, side := range []struct {
		field string
		raw   map[string]json.RawMessage
		dst   *[]partList
	}{{"partitions", j.Parts, &f.parts}, {"adding_replicas", j.Adding, &f.adding}, {"removing_replicas", j.Removing, &f.removing}} {
		m, fs := decodeMapOf[[]int32](path, side.field, side.raw, ids)
		if fs != nil {
			return f, fs
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys) // findings do not depend on map order
		for _, k := range keys {
			*side.dst = append(*side.dst, partList{key: k, reps: m[k]})
		}
	}
	f.hasParts = j.Parts != nil
	return f, nil
}

func checkBrokerList(path, field string, ids []int32) []Finding {
	for i, r := range ids {
		if r < 0 {
			return []Finding{malformed(path, field, "non-negative broker ids", "broker id %d is negative", r)}
		}
		for _, q := range ids[:i] {
			if q == r {
				return []Finding{malformed(path, field, "distinct broker ids", "broker id %d appears twice", r)}
			}
		}
	}
	return nil
}

func containsInt32(s []int32, v int32) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// ParsePartitionState parses /brokers/topics/<t>/partitions/<p>/state.
func ParsePartitionState(path string, data []byte, st Stat) (*PartitionState, []Finding) {
	f, ok := fastPartitionState(data)
	if !ok {
		var fs []Finding
		if f, fs = slowPartitionState(path, data); fs != nil {
			return nil, fs
		}
	}
	switch {
	case !f.hasVersion:
		return nil, []Finding{missing(path, "version", "integer 1")}
	case !f.hasLeader:
		return nil, []Finding{missing(path, "leader", "32-bit broker id (-1 when offline)")}
	case !f.hasEpoch:
		return nil, []Finding{missing(path, "leader_epoch", "32-bit integer")}
	case !f.hasCtlEpoch:
		return nil, []Finding{missing(path, "controller_epoch", "32-bit integer")}
	case !f.hasISR:
		return nil, []Finding{missing(path, "isr", "array of broker ids")}
	}
	if f.leader < -2 {
		return nil, []Finding{malformed(path, "leader", "broker id, -1 (none) or -2 (deleting)", "leader %d out of range", f.leader)}
	}
	if fs := checkBrokerList(path, "isr", f.isr); fs != nil {
		return nil, fs
	}
	if f.hasLRS && f.lrs != 0 && f.lrs != 1 {
		return nil, []Finding{malformed(path, "leader_recovery_state", "0 (RECOVERED) or 1 (RECOVERING)", "unknown leader recovery state %d", f.lrs)}
	}
	return &PartitionState{Version: f.version, Leader: f.leader, LeaderEpoch: f.epoch, ControllerEpoch: f.ctlEpoch,
		ISR: f.isr, LeaderRecoveryState: f.lrs, Stat: st}, nil
}

// slowPartitionState decodes a state znode with encoding/json (precise findings).
func slowPartitionState(path string, data []byte) (stateFields, []Finding) {
	var j struct {
		Version *int    `json:"version"`
		Leader  *int32  `json:"leader"`
		Epoch   *int32  `json:"leader_epoch"`
		CtlEp   *int32  `json:"controller_epoch"`
		ISR     []int32 `json:"isr"`
		LRS     *int8   `json:"leader_recovery_state"`
	}
	if fs := decodeJSON(path, data, &j, `JSON object {"version":1,"leader":..,"leader_epoch":..,"controller_epoch":..,"isr":[..]}`); fs != nil {
		return stateFields{}, fs
	}
	f := stateFields{isr: j.ISR, hasISR: j.ISR != nil}
	if j.Version != nil {
		f.version, f.hasVersion = *j.Version, true
	}
	if j.Leader != nil {
		f.leader, f.hasLeader = *j.Leader, true
	}
	if j.Epoch != nil {
		f.epoch, f.hasEpoch = *j.Epoch, true
	}
	if j.CtlEp != nil {
		f.ctlEpoch, f.hasCtlEpoch = *j.CtlEp, true
	}
	if j.LRS != nil {
		f.lrs, f.hasLRS = *j.LRS, true
	}
	return f, nil
}

// parseConfigMap decodes {"version":1,"config":{...}}; null data is an empty
// config (as Kafka's ConfigEntityZNode.decode reads it).
func parseConfigMap(path string, data []byte) (map[string]string, []Finding) {
	if isNullData(data) {
		return map[string]string{}, nil
	}
	var j struct {
		Config map[string]json.RawMessage `json:"config"`
	}
	if f := decodeJSON(path, data, &j, `JSON object {"version":1,"config":{"<key>":"<string value>"}}`); f != nil {
		return nil, f
	}
	cfg, f := decodeMapOf[string](path, "config", j.Config, "string value")
	if f != nil {
		return nil, f
	}
	if cfg == nil {
		cfg = map[string]string{}
	}
	return cfg, nil
}

// ParseEntityConfig parses /config/topics/<topic> or /config/brokers/<id|<default>>.
// A broker config znode whose name is neither a broker id nor <default> is an
// invalid name (Kafka's migration parses it as an integer and fails).
func ParseEntityConfig(path string, data []byte, st Stat) (*EntityConfig, []Finding) {
	name := lastElem(path)
	if strings.HasPrefix(path, "/config/brokers/") && name != kafka.DefaultEntity {
		if _, err := strconv.ParseInt(name, 10, 32); err != nil {
			return nil, []Finding{{Severity: Blocker, Code: CodeInvalidName, Path: path, Expected: "broker id or <default>",
				Message: "broker config znode name is not a broker id", Remedy: "delete the stray znode under /config/brokers"}}
		}
	}
	cfg, f := parseConfigMap(path, data)
	if f != nil {
		return nil, f
	}
	return &EntityConfig{Name: name, Config: cfg, Stat: st}, nil
}

// ParseQuotaEntity derives a quota entity from a config znode path:
// /config/users/<u>, /config/clients/<c>, /config/ips/<ip> or
// /config/users/<u>/clients/<c>. Names are desanitized; <default> is nil.
func ParseQuotaEntity(path string) ([]QuotaEntityPart, error) {
	parts := strings.Split(strings.TrimPrefix(path, "/config/"), "/")
	part := func(typ, raw string) (QuotaEntityPart, error) {
		if raw == kafka.DefaultEntity {
			return QuotaEntityPart{Type: typ}, nil
		}
		if raw == "" {
			return QuotaEntityPart{}, fmt.Errorf("empty %s name", typ)
		}
		n, err := kafka.Desanitize(raw)
		if err != nil {
			return QuotaEntityPart{}, fmt.Errorf("%s name is not URL-encoded (Kafka's Sanitizer form)", typ)
		}
		return QuotaEntityPart{Type: typ, Name: &n}, nil
	}
	if !strings.HasPrefix(path, "/config/") {
		return nil, fmt.Errorf("not a quota config path")
	}
	switch {
	case len(parts) == 2 && parts[0] == "users":
		p, err := part(kafka.QuotaEntityUser, parts[1])
		return []QuotaEntityPart{p}, err
	case len(parts) == 2 && parts[0] == "clients":
		p, err := part(kafka.QuotaEntityClientID, parts[1])
		return []QuotaEntityPart{p}, err
	case len(parts) == 2 && parts[0] == "ips":
		p, err := part(kafka.QuotaEntityIP, parts[1])
		return []QuotaEntityPart{p}, err
	case len(parts) == 4 && parts[0] == "users" && parts[2] == "clients":
		u, err := part(kafka.QuotaEntityUser, parts[1])
		if err != nil {
			return nil, err
		}
		c, err := part(kafka.QuotaEntityClientID, parts[3])
		return []QuotaEntityPart{u, c}, err
	}
	return nil, fmt.Errorf("not a quota config path")
}

// ParseUserConfig parses /config/users/<sanitizedUser>: SCRAM credentials
// (keys SCRAM-SHA-256/512) and the remaining keys as quota values. The quota
// is returned even when it has no values (the caller decides whether an empty
// quota is worth keeping).
func ParseUserConfig(path string, data []byte, st Stat) (*ClientQuota, []ScramCredential, []Finding) {
	return parseQuotaConfig(path, data, st, true)
}

// ParseQuotaConfig parses /config/clients/<c>, /config/ips/<ip> and
// /config/users/<u>/clients/<c>: every key is a quota value (a double).
func ParseQuotaConfig(path string, data []byte, st Stat) (*ClientQuota, []Finding) {
	q, _, f := parseQuotaConfig(path, data, st, false)
	return q, f
}

func parseQuotaConfig(path string, data []byte, st Stat, scram bool) (*ClientQuota, []ScramCredential, []Finding) {
	entity, err := ParseQuotaEntity(path)
	if err != nil {
		return nil, nil, []Finding{{Severity: Blocker, Code: CodeInvalidName, Path: path, Expected: "URL-encoded entity name or <default>",
			Message: err.Error(), Remedy: "rename or delete the znode"}}
	}
	cfg, f := parseConfigMap(path, data)
	if f != nil {
		return nil, nil, f
	}
	q := &ClientQuota{Path: path, Entity: entity, Values: make(map[string]float64, len(cfg)), Stat: st}
	var creds []ScramCredential
	for k, v := range cfg {
		if _, isScram := kafka.ScramMechanismCodes[k]; isScram && scram && len(entity) == 1 {
			user := ""
			if entity[0].Name != nil {
				user = *entity[0].Name
			} else {
				return nil, nil, []Finding{malformed(path, "config."+k, "no SCRAM credential for the <default> user", "SCRAM credential on the default user entity")}
			}
			c, f := ParseScramCredential(path, k, v)
			if f != nil {
				return nil, nil, f
			}
			c.User, c.Stat = user, st
			creds = append(creds, *c)
			continue
		}
		x, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, nil, []Finding{malformed(path, "config."+k, "decimal number (quota value)", "quota value is not a finite number")}
		}
		q.Values[k] = x
	}
	sort.Slice(creds, func(i, k int) bool { return creds[i].Mechanism < creds[k].Mechanism })
	return q, creds, nil
}

// ParseScramCredential parses "salt=<b64>,stored_key=<b64>,server_key=<b64>,iterations=<n>"
// (Kafka's ScramCredentialUtils format). Findings never contain the value.
func ParseScramCredential(path, mechanism, value string) (*ScramCredential, []Finding) {
	field := "config." + mechanism
	const want = "salt=<base64>,stored_key=<base64>,server_key=<base64>,iterations=<int>"
	props := map[string]string{}
	for _, tok := range strings.Split(value, ",") {
		k, v, ok := strings.Cut(tok, "=")
		if !ok {
			return nil, []Finding{malformed(path, field, want, "SCRAM credential token without '='")}
		}
		props[k] = v
	}
	if len(props) != 4 {
		return nil, []Finding{malformed(path, field, want, "SCRAM credential has %d distinct tokens, want 4", len(props))}
	}
	c := &ScramCredential{Path: path, Mechanism: mechanism}
	for _, k := range []string{"salt", "stored_key", "server_key"} {
		v, ok := props[k]
		if !ok {
			return nil, []Finding{malformed(path, field, want, "SCRAM credential lacks %q", k)}
		}
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil || len(b) == 0 {
			return nil, []Finding{malformed(path, field, want, "SCRAM credential %q is not standard base64", k)}
		}
		switch k {
		case "salt":
			c.Salt = b
		case "stored_key":
			c.StoredKey = b
		case "server_key":
			c.ServerKey = b
		}
	}
	it, ok := props["iterations"]
	if !ok {
		return nil, []Finding{malformed(path, field, want, "SCRAM credential lacks \"iterations\"")}
	}
	n, err := strconv.ParseInt(it, 10, 32)
	if err != nil || n <= 0 {
		return nil, []Finding{malformed(path, field, want, "SCRAM iterations is not a positive 32-bit integer")}
	}
	c.Iterations = int32(n)
	return c, nil
}

// ParseACLs parses /kafka-acl/<Type>/<name> (LITERAL) or
// /kafka-acl-extended/prefixed/<Type>/<name> (PREFIXED). Entries come back
// sorted, enum names canonical.
func ParseACLs(path string, data []byte, st Stat) (*ACLResource, []Finding) {
	var pattern, rest string
	switch {
	case strings.HasPrefix(path, "/kafka-acl/"):
		pattern, rest = "LITERAL", strings.TrimPrefix(path, "/kafka-acl/")
	case strings.HasPrefix(path, "/kafka-acl-extended/prefixed/"):
		pattern, rest = "PREFIXED", strings.TrimPrefix(path, "/kafka-acl-extended/prefixed/")
	default:
		return nil, []Finding{{Severity: Blocker, Code: CodeInvalidName, Path: path, Expected: "/kafka-acl/<Type>/<name> or /kafka-acl-extended/prefixed/<Type>/<name>", Message: "not an ACL znode path"}}
	}
	typ, name, ok := strings.Cut(rest, "/")
	if !ok || name == "" || strings.Contains(name, "/") {
		return nil, []Finding{{Severity: Blocker, Code: CodeInvalidName, Path: path, Expected: "<Type>/<resource name>", Message: "not an ACL resource znode path"}}
	}
	canonType, _, ok := kafka.LookupEnum(kafka.ResourceTypeCodes, typ)
	if !ok {
		return nil, []Finding{{Severity: Warning, Code: CodeUnknownACLType, Path: path, Expected: strings.Join(kafka.ResourceTypeOrder, ", "),
			Message: fmt.Sprintf("unknown ACL resource type %q: Kafka skips it and so does the migration", typ)}}
	}
	var j struct {
		Version *int `json:"version"`
		ACLs    []struct {
			Principal  *string `json:"principal"`
			Permission *string `json:"permissionType"`
			Operation  *string `json:"operation"`
			Host       *string `json:"host"`
		} `json:"acls"`
	}
	if f := decodeJSON(path, data, &j, `JSON object {"version":1,"acls":[...]}`); f != nil {
		return nil, f
	}
	if j.Version == nil {
		return nil, []Finding{missing(path, "version", "integer 1")}
	}
	if *j.Version != 1 {
		return nil, []Finding{malformed(path, "version", "1", "unsupported ACL znode version %d", *j.Version)}
	}
	if j.ACLs == nil {
		return nil, []Finding{missing(path, "acls", "array of ACL entries")}
	}
	r := &ACLResource{Path: path, ResourceType: canonType, PatternType: pattern, Name: name, Stat: st,
		Entries: make([]ACLEntry, 0, len(j.ACLs))}
	for i, a := range j.ACLs {
		at := func(f string) string { return fmt.Sprintf("acls[%d].%s", i, f) }
		switch {
		case a.Principal == nil:
			return nil, []Finding{missing(path, at("principal"), `"<type>:<name>"`)}
		case a.Permission == nil:
			return nil, []Finding{missing(path, at("permissionType"), "Allow or Deny")}
		case a.Operation == nil:
			return nil, []Finding{missing(path, at("operation"), "an ACL operation name")}
		case a.Host == nil:
			return nil, []Finding{missing(path, at("host"), "host or *")}
		}
		if pt, pn, ok := strings.Cut(*a.Principal, ":"); !ok || pt == "" || pn == "" {
			return nil, []Finding{malformed(path, at("principal"), `"<type>:<name>"`, "principal is not <type>:<name>")}
		}
		perm, _, ok := kafka.LookupEnum(kafka.PermissionTypeCodes, *a.Permission)
		if !ok {
			return nil, []Finding{malformed(path, at("permissionType"), "Allow or Deny", "unknown permission type %q", *a.Permission)}
		}
		op, _, ok := kafka.LookupEnum(kafka.OperationCodes, *a.Operation)
		if !ok {
			return nil, []Finding{malformed(path, at("operation"), "an ACL operation (Read, Write, ...)", "unknown operation %q", *a.Operation)}
		}
		r.Entries = append(r.Entries, ACLEntry{Principal: *a.Principal, PermissionType: perm, Operation: op, Host: *a.Host})
	}
	SortACLEntries(r.Entries)
	return r, nil
}

// SortACLEntries sorts entries by principal, permission, operation, host.
func SortACLEntries(e []ACLEntry) {
	sort.Slice(e, func(i, k int) bool {
		a, b := e[i], e[k]
		if a.Principal != b.Principal {
			return a.Principal < b.Principal
		}
		if a.PermissionType != b.PermissionType {
			return a.PermissionType < b.PermissionType
		}
		if a.Operation != b.Operation {
			return a.Operation < b.Operation
		}
		return a.Host < b.Host
	})
}

// ParseProducerIDBlock parses /latest_producer_id_block. Kafka creates the
// znode empty; empty data returns (nil, nil): no block allocated yet.
func ParseProducerIDBlock(path string, data []byte, st Stat) (*ProducerIDBlock, []Finding) {
	if isNullData(data) {
		return nil, nil
	}
	var j struct {
		Version *int    `json:"version"`
		Broker  *int32  `json:"broker"`
		Start   *string `json:"block_start"`
		End     *string `json:"block_end"`
	}
	if f := decodeJSON(path, data, &j, `JSON object {"version":1,"broker":..,"block_start":"<long>","block_end":"<long>"}`); f != nil {
		return nil, f
	}
	switch {
	case j.Version == nil:
		return nil, []Finding{missing(path, "version", "integer 1")}
	case j.Broker == nil:
		return nil, []Finding{missing(path, "broker", "32-bit broker id")}
	case j.Start == nil:
		return nil, []Finding{missing(path, "block_start", "64-bit integer as a string")}
	case j.End == nil:
		return nil, []Finding{missing(path, "block_end", "64-bit integer as a string")}
	}
	start, err := strconv.ParseInt(*j.Start, 10, 64)
	if err != nil || start < 0 {
		return nil, []Finding{malformed(path, "block_start", "non-negative 64-bit integer as a string", "block_start is not a number")}
	}
	end, err := strconv.ParseInt(*j.End, 10, 64)
	if err != nil || end < start || end == math.MaxInt64 {
		return nil, []Finding{malformed(path, "block_end", "64-bit integer >= block_start as a string", "block_end is not a number >= block_start")}
	}
	return &ProducerIDBlock{Version: *j.Version, Broker: *j.Broker, BlockStart: start, BlockEnd: end, Stat: st}, nil
}

// ParseDelegationToken parses /delegation_token/tokens/<id>. A token znode
// without data is returned as (nil, info finding): Kafka skips it.
func ParseDelegationToken(path string, data []byte, st Stat) (*DelegationToken, []Finding) {
	if isNullData(data) {
		return nil, []Finding{{Severity: Info, Code: CodeEmptyZnode, Path: path, Message: "delegation token znode has no data; Kafka ignores it and so does the migration"}}
	}
	var j struct {
		Version   *int     `json:"version"`
		Owner     *string  `json:"owner"`
		Requester *string  `json:"tokenRequester"`
		Renewers  []string `json:"renewers"`
		Issue     *int64   `json:"issueTimestamp"`
		Max       *int64   `json:"maxTimestamp"`
		Expiry    *int64   `json:"expiryTimestamp"`
		TokenID   *string  `json:"tokenId"`
	}
	if f := decodeJSON(path, data, &j, `JSON object {"version":3,"owner":..,"renewers":[..],...}`); f != nil {
		return nil, f
	}
	switch {
	case j.Version == nil:
		return nil, []Finding{missing(path, "version", "integer 1 to 3")}
	case j.Owner == nil:
		return nil, []Finding{missing(path, "owner", "sanitized principal")}
	case j.Issue == nil:
		return nil, []Finding{missing(path, "issueTimestamp", "64-bit milliseconds")}
	case j.Max == nil:
		return nil, []Finding{missing(path, "maxTimestamp", "64-bit milliseconds")}
	case j.Expiry == nil:
		return nil, []Finding{missing(path, "expiryTimestamp", "64-bit milliseconds")}
	case j.TokenID == nil:
		return nil, []Finding{missing(path, "tokenId", "string")}
	}
	principal := func(field, s string) (string, []Finding) {
		p, err := kafka.Desanitize(s)
		if err != nil {
			return "", []Finding{malformed(path, field, "URL-encoded principal", "principal is not URL-encoded")}
		}
		if pt, pn, ok := strings.Cut(p, ":"); !ok || pt == "" || pn == "" {
			return "", []Finding{malformed(path, field, `"<type>:<name>" principal`, "principal is not <type>:<name>")}
		}
		return p, nil
	}
	t := &DelegationToken{Version: *j.Version, TokenID: *j.TokenID, IssueTimestamp: *j.Issue, MaxTimestamp: *j.Max,
		ExpiryTimestamp: *j.Expiry, Renewers: []string{}, Stat: st}
	var f []Finding
	if t.Owner, f = principal("owner", *j.Owner); f != nil {
		return nil, f
	}
	t.Requester = t.Owner
	if j.Requester != nil {
		if t.Requester, f = principal("tokenRequester", *j.Requester); f != nil {
			return nil, f
		}
	}
	for i, r := range j.Renewers {
		p, f := principal(fmt.Sprintf("renewers[%d]", i), r)
		if f != nil {
			return nil, f
		}
		t.Renewers = append(t.Renewers, p)
	}
	return t, nil
}

// ParseFeatures parses /feature (v1 with min_version_level, v2 without).
func ParseFeatures(path string, data []byte, st Stat) (*Features, []Finding) {
	var j struct {
		Version  *int `json:"version"`
		Status   *int `json:"status"`
		Features map[string]struct {
			Min *int16 `json:"min_version_level"`
			Max *int16 `json:"max_version_level"`
		} `json:"features"`
	}
	if f := decodeJSON(path, data, &j, `JSON object {"version":2,"status":1,"features":{...}}`); f != nil {
		return nil, f
	}
	switch {
	case j.Version == nil:
		return nil, []Finding{missing(path, "version", "integer 1 or 2")}
	case j.Status == nil:
		return nil, []Finding{missing(path, "status", "0 (disabled) or 1 (enabled)")}
	}
	if *j.Status != 0 && *j.Status != 1 {
		return nil, []Finding{malformed(path, "status", "0 (disabled) or 1 (enabled)", "unknown feature status %d", *j.Status)}
	}
	fs := &Features{Version: *j.Version, Status: *j.Status, Features: []FeatureLevel{}, Stat: st}
	for name, l := range j.Features {
		if l.Max == nil {
			return nil, []Finding{missing(path, "features."+name+".max_version_level", "16-bit integer")}
		}
		if fs.Version == 1 && l.Min == nil {
			return nil, []Finding{missing(path, "features."+name+".min_version_level", "16-bit integer (version 1)")}
		}
		fs.Features = append(fs.Features, FeatureLevel{Name: name, MinVersionLevel: l.Min, MaxVersionLevel: *l.Max})
	}
	sort.Slice(fs.Features, func(i, k int) bool { return fs.Features[i].Name < fs.Features[k].Name })
	return fs, nil
}

// ParseMigration parses /migration. It always returns the znode (Raw kept,
// Valid=false when the data is null or malformed) because its mere presence
// matters; a bad one also yields a blocker finding.
func ParseMigration(path string, data []byte, st Stat) (*MigrationZnode, []Finding) {
	m := &MigrationZnode{Raw: bytes.Clone(data), Stat: st, KRaftControllerID: -1, KRaftControllerEpoch: -1, KRaftMetadataOffset: -1, KRaftMetadataEpoch: -1}
	if isNullData(data) {
		return m, []Finding{malformed(path, "", `JSON object {"version":0,"kraft_controller_id":..,...}`, "/migration exists with null data")}
	}
	var j struct {
		Version *int   `json:"version"`
		ID      *int32 `json:"kraft_controller_id"`
		Epoch   *int32 `json:"kraft_controller_epoch"`
		Offset  *int64 `json:"kraft_metadata_offset"`
		MEpoch  *int32 `json:"kraft_metadata_epoch"`
	}
	if f := decodeJSON(path, data, &j, `JSON object {"version":0,"kraft_controller_id":..,...}`); f != nil {
		return m, f
	}
	switch {
	case j.Version == nil:
		return m, []Finding{missing(path, "version", "integer 0")}
	case j.ID == nil:
		return m, []Finding{missing(path, "kraft_controller_id", "32-bit integer")}
	case j.Epoch == nil:
		return m, []Finding{missing(path, "kraft_controller_epoch", "32-bit integer")}
	case j.Offset == nil:
		return m, []Finding{missing(path, "kraft_metadata_offset", "64-bit integer")}
	case j.MEpoch == nil:
		return m, []Finding{missing(path, "kraft_metadata_epoch", "32-bit integer")}
	}
	m.Version = *j.Version
	if m.Version != 0 {
		return m, []Finding{malformed(path, "version", "0", "unsupported /migration version %d", m.Version)}
	}
	m.KRaftControllerID, m.KRaftControllerEpoch, m.KRaftMetadataOffset, m.KRaftMetadataEpoch = *j.ID, *j.Epoch, *j.Offset, *j.MEpoch
	m.Valid = true
	return m, nil
}
