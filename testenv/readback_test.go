package testenv

// An independent check of what is in ZooKeeper: raw go-zookeeper Gets and
// json.Unmarshal into generic values, compared with an expected model. It
// uses no seeder encoder and no zkreader parser.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/go-zookeeper/zk"

	"github.com/zk2kraft/zk2kraft/kafka"
	"github.com/zk2kraft/zk2kraft/zkreader"
)

type readBack struct {
	conn     *zk.Conn
	chroot   string
	problems []string
}

func (r *readBack) bad(format string, args ...any) {
	r.problems = append(r.problems, fmt.Sprintf(format, args...))
}

func (r *readBack) get(p string) ([]byte, *zk.Stat, bool) {
	data, st, err := r.conn.Get(r.chroot + p)
	if err == zk.ErrNoNode {
		return nil, nil, false
	}
	if err != nil {
		r.bad("get %s: %v", p, err)
		return nil, nil, false
	}
	return data, st, true
}

func (r *readBack) children(p string) []string {
	c, _, err := r.conn.Children(r.chroot + p)
	if err != nil && err != zk.ErrNoNode {
		r.bad("children %s: %v", p, err)
	}
	sort.Strings(c)
	return c
}

// object unmarshals a znode's JSON object (numbers kept as json.Number).
func (r *readBack) object(p string) (map[string]any, *zk.Stat) {
	data, st, ok := r.get(p)
	if !ok {
		r.bad("%s: missing", p)
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		r.bad("%s: not a JSON object: %v", p, err)
		return nil, nil
	}
	return m, st
}

func (r *readBack) eq(p, field string, got, want any) {
	if fmt.Sprint(got) != fmt.Sprint(want) {
		r.bad("%s: %s = %v, want %v", p, field, got, want)
	}
}

// num checks that field is a JSON number with value want.
func (r *readBack) num(p string, m map[string]any, field string, want int64) {
	n, ok := m[field].(json.Number)
	if !ok {
		r.bad("%s: %s is %T, want a JSON number", p, field, m[field])
		return
	}
	r.eq(p, field, n.String(), strconv.FormatInt(want, 10))
}

// str checks that field is a JSON string with value want.
func (r *readBack) str(p string, m map[string]any, field string, want string) {
	s, ok := m[field].(string)
	if !ok {
		r.bad("%s: %s is %T, want a JSON string", p, field, m[field])
		return
	}
	r.eq(p, field, s, want)
}

func ints(v any) []int32 {
	a, _ := v.([]any)
	out := []int32{}
	for _, x := range a {
		n, _ := x.(json.Number)
		i, _ := n.Int64()
		out = append(out, int32(i))
	}
	return out
}

func showInts(v []int32) string {
	if len(v) == 0 {
		return "[]"
	}
	return fmt.Sprint(v)
}

func (r *readBack) set(p string, got, want []string) {
	sort.Strings(want)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		r.bad("%s children = %v, want %v", p, got, want)
	}
}

// verifyZooKeeper reads the cluster back and compares it with want.
func verifyZooKeeper(conn *zk.Conn, want *zkreader.Snapshot) []string {
	r := &readBack{conn: conn, chroot: want.Chroot}
	for _, p := range []string{"/consumers", "/brokers/ids", "/brokers/topics", "/config/changes", "/admin/delete_topics",
		"/brokers/seqid", "/isr_change_notification", "/latest_producer_id_block", "/log_dir_event_notification",
		"/config/topics", "/config/clients", "/config/users", "/config/brokers", "/config/ips"} {
		if _, _, ok := r.get(p); !ok {
			r.bad("%s: missing (ZkData.PersistentZkPaths)", p)
		}
	}
	if m, _ := r.object("/cluster/id"); m != nil {
		r.str("/cluster/id", m, "version", "1")
		r.str("/cluster/id", m, "id", want.ClusterID.ID)
		if len(want.ClusterID.ID) != 22 {
			r.bad("/cluster/id: id %q is not a 22-char UUID", want.ClusterID.ID)
		}
	}
	if m, st := r.object("/controller"); m != nil {
		r.num("/controller", m, "version", 2)
		r.num("/controller", m, "brokerid", int64(want.Controller.BrokerID))
		r.str("/controller", m, "timestamp", want.Controller.Timestamp)
		r.num("/controller", m, "kraftControllerEpoch", -1)
		r.eq("/controller", "ephemeralOwner", st.EphemeralOwner, want.Controller.Stat.EphemeralOwner)
	}
	if data, st, ok := r.get("/controller_epoch"); ok {
		r.eq("/controller_epoch", "data", string(data), fmt.Sprint(want.ControllerEpoch.Epoch))
		r.eq("/controller_epoch", "Stat.Version", st.Version, want.ControllerEpoch.Stat.Version)
	} else {
		r.bad("/controller_epoch: missing")
	}
	r.brokers(want)
	r.topics(want)
	r.set("/admin/delete_topics", r.children("/admin/delete_topics"), append([]string(nil), want.PendingDeletions...))
	r.configs("/config/topics", want.TopicConfigs)
	r.configs("/config/brokers", want.BrokerConfigs)
	r.quotas(want)
	r.acls(want)
	if b := want.ProducerIDBlock; b != nil {
		if m, _ := r.object("/latest_producer_id_block"); m != nil {
			r.num("/latest_producer_id_block", m, "version", 1)
			r.num("/latest_producer_id_block", m, "broker", int64(b.Broker))
			r.str("/latest_producer_id_block", m, "block_start", strconv.FormatInt(b.BlockStart, 10))
			r.str("/latest_producer_id_block", m, "block_end", strconv.FormatInt(b.BlockEnd, 10))
		}
	}
	if f := want.Features; f != nil {
		if m, _ := r.object("/feature"); m != nil {
			r.num("/feature", m, "version", 2)
			r.num("/feature", m, "status", 1)
			fs, _ := m["features"].(map[string]any)
			if len(fs) != len(f.Features) {
				r.bad("/feature: %d features, want %d", len(fs), len(f.Features))
			}
			for _, l := range f.Features {
				e, _ := fs[l.Name].(map[string]any)
				if e == nil {
					r.bad("/feature: feature %s missing", l.Name)
					continue
				}
				r.num("/feature "+l.Name, e, "max_version_level", int64(l.MaxVersionLevel))
				if _, has := e["min_version_level"]; has {
					r.bad("/feature %s: min_version_level in a v2 znode", l.Name)
				}
			}
		}
	}
	for _, tok := range want.DelegationTokens {
		p := "/delegation_token/tokens/" + tok.TokenID
		if m, _ := r.object(p); m != nil {
			r.num(p, m, "version", 3)
			r.str(p, m, "owner", kafka.Sanitize(tok.Owner))
			r.str(p, m, "tokenRequester", kafka.Sanitize(tok.Requester))
			r.str(p, m, "tokenId", tok.TokenID)
			r.num(p, m, "issueTimestamp", tok.IssueTimestamp)
			r.num(p, m, "maxTimestamp", tok.MaxTimestamp)
			r.num(p, m, "expiryTimestamp", tok.ExpiryTimestamp)
			var renewers []string
			for _, x := range m["renewers"].([]any) {
				renewers = append(renewers, x.(string))
			}
			var wantR []string
			for _, x := range tok.Renewers {
				wantR = append(wantR, kafka.Sanitize(x))
			}
			r.eq(p, "renewers", renewers, wantR)
		}
	}
	if want.Migration == nil {
		if _, _, ok := r.get("/migration"); ok {
			r.bad("/migration: present, want none")
		}
	} else if data, _, ok := r.get("/migration"); !ok {
		r.bad("/migration: missing")
	} else if !bytes.Equal(data, want.Migration.Raw) {
		r.bad("/migration: data %q, want %q", data, want.Migration.Raw)
	}
	return r.problems
}

func (r *readBack) brokers(want *zkreader.Snapshot) {
	var ids []string
	for _, b := range want.Brokers {
		ids = append(ids, strconv.Itoa(int(b.ID)))
	}
	r.set("/brokers/ids", r.children("/brokers/ids"), ids)
	for _, b := range want.Brokers {
		p := fmt.Sprintf("/brokers/ids/%d", b.ID)
		m, st := r.object(p)
		if m == nil {
			continue
		}
		r.eq(p, "ephemeralOwner", st.EphemeralOwner, b.Stat.EphemeralOwner)
		r.num(p, m, "version", 5)
		r.str(p, m, "host", b.Host)
		r.num(p, m, "port", int64(b.Port))
		r.num(p, m, "jmx_port", int64(b.JMXPort))
		r.str(p, m, "timestamp", b.Timestamp)
		var eps []string
		for _, e := range m["endpoints"].([]any) {
			eps = append(eps, e.(string))
		}
		var wantEps []string
		lm, _ := m["listener_security_protocol_map"].(map[string]any)
		for _, e := range b.Endpoints {
			wantEps = append(wantEps, fmt.Sprintf("%s://%s:%d", e.Listener, e.Host, e.Port))
			r.eq(p, "listener_security_protocol_map."+e.Listener, lm[e.Listener], e.SecurityProtocol)
		}
		r.eq(p, "endpoints", eps, wantEps)
		if b.Rack != nil {
			r.str(p, m, "rack", *b.Rack)
		} else if _, has := m["rack"]; has {
			r.bad("%s: rack present, want none", p)
		}
		fs, ok := m["features"].(map[string]any)
		if !ok {
			r.bad("%s: features is %T, want an object", p, m["features"])
		}
		if len(fs) != len(b.Features) {
			r.bad("%s: %d features, want %d", p, len(fs), len(b.Features))
		}
		for _, f := range b.Features {
			e, _ := fs[f.Name].(map[string]any)
			if e == nil {
				r.bad("%s: feature %s missing", p, f.Name)
				continue
			}
			r.num(p+" feature "+f.Name, e, "min_version", int64(f.MinVersion))
			r.num(p+" feature "+f.Name, e, "max_version", int64(f.MaxVersion))
		}
	}
}

func (r *readBack) topics(want *zkreader.Snapshot) {
	var names []string
	for _, t := range want.Topics {
		names = append(names, t.Name)
	}
	r.set("/brokers/topics", r.children("/brokers/topics"), names)
	for _, t := range want.Topics {
		p := "/brokers/topics/" + t.Name
		m, _ := r.object(p)
		if m == nil {
			continue
		}
		r.num(p, m, "version", int64(t.Version))
		id, hasID := m["topic_id"].(string)
		switch {
		case t.TopicID == nil && hasID:
			r.bad("%s: topic_id %q present, want none", p, id)
		case t.TopicID != nil && id != t.TopicID.String():
			r.bad("%s: topic_id %q, want %q", p, id, t.TopicID.String())
		}
		parts, _ := m["partitions"].(map[string]any)
		adding, hasAdding := m["adding_replicas"].(map[string]any)
		removing, hasRemoving := m["removing_replicas"].(map[string]any)
		if t.Version >= 2 && (!hasAdding || !hasRemoving) {
			r.bad("%s: v%d without adding_replicas/removing_replicas objects", p, t.Version)
		}
		if t.Version == 1 && (hasAdding || hasRemoving) {
			r.bad("%s: v1 with adding/removing replicas", p)
		}
		if len(parts) != len(t.Partitions) {
			r.bad("%s: %d partitions, want %d", p, len(parts), len(t.Partitions))
		}
		var pids []string
		for _, part := range t.Partitions {
			k := strconv.Itoa(int(part.ID))
			pids = append(pids, k)
			r.eq(p, "partitions."+k, showInts(ints(parts[k])), showInts(part.Replicas))
			r.eq(p, "adding_replicas."+k, showInts(ints(adding[k])), showInts(part.AddingReplicas))
			r.eq(p, "removing_replicas."+k, showInts(ints(removing[k])), showInts(part.RemovingReplicas))
			if _, has := adding[k]; has && len(part.AddingReplicas) == 0 {
				r.bad("%s: adding_replicas has an empty entry for %s", p, k)
			}
		}
		r.set(p+"/partitions", r.children(p+"/partitions"), pids)
		for _, part := range t.Partitions {
			sp := fmt.Sprintf("%s/partitions/%d/state", p, part.ID)
			if part.State == nil {
				if _, _, ok := r.get(sp); ok {
					r.bad("%s: present, want no state znode", sp)
				}
				continue
			}
			sm, st := r.object(sp)
			if sm == nil {
				continue
			}
			s := part.State
			r.num(sp, sm, "version", 1)
			r.num(sp, sm, "leader", int64(s.Leader))
			r.num(sp, sm, "leader_epoch", int64(s.LeaderEpoch))
			r.num(sp, sm, "controller_epoch", int64(s.ControllerEpoch))
			r.eq(sp, "isr", showInts(ints(sm["isr"])), showInts(s.ISR))
			if s.LeaderRecoveryState != 0 {
				r.num(sp, sm, "leader_recovery_state", int64(s.LeaderRecoveryState))
			} else if _, has := sm["leader_recovery_state"]; has {
				r.bad("%s: leader_recovery_state written while RECOVERED", sp)
			}
			r.eq(sp, "Stat.Version (partition epoch)", st.Version, s.Stat.Version)
		}
	}
}

func (r *readBack) config(p string) map[string]any {
	m, _ := r.object(p)
	if m == nil {
		return nil
	}
	r.num(p, m, "version", 1)
	cfg, ok := m["config"].(map[string]any)
	if !ok {
		r.bad("%s: config is %T, want an object", p, m["config"])
	}
	return cfg
}

func (r *readBack) configs(dir string, want []zkreader.EntityConfig) {
	var names []string
	for _, c := range want {
		names = append(names, c.Name)
	}
	r.set(dir, r.children(dir), names)
	for _, c := range want {
		p := dir + "/" + c.Name
		cfg := r.config(p)
		if len(cfg) != len(c.Config) {
			r.bad("%s: %d keys, want %d", p, len(cfg), len(c.Config))
		}
		for k, v := range c.Config {
			s, ok := cfg[k].(string)
			if !ok {
				r.bad("%s: config %s is %T, want a string", p, k, cfg[k])
				continue
			}
			r.eq(p, "config."+k, s, v)
		}
	}
}

// quotas checks every expected quota and SCRAM credential, and that no
// other user/client/ip znode carries quota or SCRAM keys.
func (r *readBack) quotas(want *zkreader.Snapshot) {
	expected := map[string]map[string]string{} // path -> key -> canonical value
	for _, q := range want.Quotas {
		if expected[q.Path] == nil {
			expected[q.Path] = map[string]string{}
		}
		for k, v := range q.Values {
			expected[q.Path][k] = strconv.FormatFloat(v, 'g', -1, 64)
		}
		// The entity must match the path's desanitized names.
		parts := strings.Split(strings.TrimPrefix(q.Path, "/config/"), "/")
		for i, e := range q.Entity {
			raw := parts[1+2*i]
			if e.Name == nil {
				r.eq(q.Path, "entity default", raw, kafka.DefaultEntity)
			} else {
				r.eq(q.Path, "entity name", raw, kafka.Sanitize(*e.Name))
			}
		}
	}
	scram := map[string]zkreader.ScramCredential{}
	for _, c := range want.Scram {
		if expected[c.Path] == nil {
			expected[c.Path] = map[string]string{}
		}
		expected[c.Path][c.Mechanism] = "scram"
		scram[c.Path+" "+c.Mechanism] = c
		r.eq(c.Path, "user", c.Path, "/config/users/"+kafka.Sanitize(c.User))
	}
	// Every znode under users (and users/x/clients), clients, ips.
	var all []string
	for _, dir := range []string{"/config/users", "/config/clients", "/config/ips"} {
		for _, c := range r.children(dir) {
			all = append(all, dir+"/"+c)
			if dir == "/config/users" {
				for _, cc := range r.children(dir + "/" + c + "/clients") {
					all = append(all, dir+"/"+c+"/clients/"+cc)
				}
			}
		}
	}
	for _, p := range all {
		data, _, ok := r.get(p)
		if !ok {
			continue
		}
		exp := expected[p]
		delete(expected, p)
		if len(data) == 0 {
			if len(exp) > 0 {
				r.bad("%s: no data, want %v", p, exp)
			}
			continue
		}
		cfg := r.config(p)
		if len(cfg) != len(exp) {
			r.bad("%s: %d keys, want %d", p, len(cfg), len(exp))
		}
		for k, v := range cfg {
			s, _ := v.(string)
			want, ok := exp[k]
			switch {
			case !ok:
				r.bad("%s: unexpected key %s", p, k)
			case want == "scram":
				c := scram[p+" "+k]
				b64 := base64.StdEncoding.EncodeToString
				exp := fmt.Sprintf("salt=%s,stored_key=%s,server_key=%s,iterations=%d", b64(c.Salt), b64(c.StoredKey), b64(c.ServerKey), c.Iterations)
				if s != exp {
					r.bad("%s: %s credential differs from the expected one", p, k)
				}
			default:
				f, err := strconv.ParseFloat(s, 64)
				if err != nil || strconv.FormatFloat(f, 'g', -1, 64) != want {
					r.bad("%s: %s = %q, want %s", p, k, s, want)
				}
			}
		}
	}
	for p := range expected {
		r.bad("%s: missing", p)
	}
}

func (r *readBack) acls(want *zkreader.Snapshot) {
	wantPaths := map[string]zkreader.ACLResource{}
	for _, a := range want.ACLs {
		wantPaths[a.Path] = a
	}
	for _, base := range []string{"/kafka-acl", "/kafka-acl-extended/prefixed"} {
		for _, rt := range r.children(base) {
			for _, name := range r.children(base + "/" + rt) {
				p := base + "/" + rt + "/" + name
				w, ok := wantPaths[p]
				delete(wantPaths, p)
				if !ok {
					r.bad("%s: unexpected ACL resource", p)
					continue
				}
				m, _ := r.object(p)
				if m == nil {
					continue
				}
				r.num(p, m, "version", 1)
				var got, exp []string
				for _, x := range m["acls"].([]any) {
					e := x.(map[string]any)
					got = append(got, fmt.Sprintf("%v|%v|%v|%v", e["principal"], e["permissionType"], e["operation"], e["host"]))
				}
				for _, e := range w.Entries {
					exp = append(exp, fmt.Sprintf("%v|%v|%v|%v", e.Principal, e.PermissionType, e.Operation, e.Host))
				}
				sort.Strings(got)
				sort.Strings(exp)
				r.eq(p, "acls", got, exp)
				wantType := rt
				wantPattern := "LITERAL"
				if base != "/kafka-acl" {
					wantPattern = "PREFIXED"
				}
				r.eq(p, "resource", w.ResourceType+"/"+w.PatternType+"/"+w.Name, wantType+"/"+wantPattern+"/"+name)
			}
		}
	}
	for p := range wantPaths {
		r.bad("%s: missing ACL resource", p)
	}
}
