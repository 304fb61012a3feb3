package testenv

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/zk2kraft/zk2kraft/zkreader"
)

// DiffSnapshots compares the data of two snapshots object by object and
// returns one human-readable line per difference (nil when equal). It ignores
// Stat (except a partition state's Stat.Version, the partition epoch),
// Source, TakenAt, MaxZxid, ZnodesRead and Findings; nil and empty lists or
// maps are equal, and client quotas without values are ignored (a user znode
// that holds only SCRAM credentials). SCRAM secrets are never printed.
func DiffSnapshots(want, got *zkreader.Snapshot) []string {
	d := &differ{}
	if want == nil || got == nil {
		if want != got {
			d.add("snapshot: want %v, got %v", want != nil, got != nil)
		}
		return d.out
	}
	if want.Chroot != got.Chroot {
		d.add("chroot: want %q, got %q", want.Chroot, got.Chroot)
	}
	d.object("/cluster/id", want.ClusterID, got.ClusterID)
	d.object("/controller", want.Controller, got.Controller)
	d.object("/controller_epoch", want.ControllerEpoch, got.ControllerEpoch)
	d.object("/latest_producer_id_block", want.ProducerIDBlock, got.ProducerIDBlock)
	d.object("/feature", want.Features, got.Features)
	d.object("/migration", want.Migration, got.Migration)
	d.object("/admin/reassign_partitions", want.LegacyReassignment, got.LegacyReassignment)

	keyed(d, "broker", want.Brokers, got.Brokers, func(b zkreader.Broker) string { return fmt.Sprintf("/brokers/ids/%d", b.ID) },
		func(where string, w, g zkreader.Broker) { d.fields(where, w, g) })
	keyed(d, "topic", want.Topics, got.Topics, func(t zkreader.Topic) string { return "/brokers/topics/" + t.Name }, d.topic)
	d.stringSet("/admin/delete_topics", want.PendingDeletions, got.PendingDeletions)
	keyed(d, "topic config", want.TopicConfigs, got.TopicConfigs, func(c zkreader.EntityConfig) string { return "/config/topics/" + c.Name },
		func(where string, w, g zkreader.EntityConfig) { d.fields(where, w, g) })
	keyed(d, "broker config", want.BrokerConfigs, got.BrokerConfigs, func(c zkreader.EntityConfig) string { return "/config/brokers/" + c.Name },
		func(where string, w, g zkreader.EntityConfig) { d.fields(where, w, g) })
	keyed(d, "quota", nonEmptyQuotas(want.Quotas), nonEmptyQuotas(got.Quotas), func(q zkreader.ClientQuota) string { return q.Path },
		func(where string, w, g zkreader.ClientQuota) { d.fields(where, w, g) })
	keyed(d, "SCRAM credential", want.Scram, got.Scram, func(c zkreader.ScramCredential) string { return c.Path + " " + c.Mechanism },
		func(where string, w, g zkreader.ScramCredential) { d.fields(where, w, g) })
	keyed(d, "ACL resource", want.ACLs, got.ACLs, func(a zkreader.ACLResource) string { return a.Path },
		func(where string, w, g zkreader.ACLResource) { d.acl(where, w, g) })
	keyed(d, "delegation token", want.DelegationTokens, got.DelegationTokens, func(t zkreader.DelegationToken) string { return "/delegation_token/tokens/" + t.TokenID },
		func(where string, w, g zkreader.DelegationToken) { d.fields(where, w, g) })
	return d.out
}

type differ struct{ out []string }

func (d *differ) add(format string, args ...any) { d.out = append(d.out, fmt.Sprintf(format, args...)) }

// object compares two optional singletons.
func (d *differ) object(where string, want, got any) {
	wv, gv := reflect.ValueOf(want), reflect.ValueOf(got)
	switch {
	case wv.IsNil() && gv.IsNil():
	case wv.IsNil():
		d.add("%s: unexpected (want none)", where)
	case gv.IsNil():
		d.add("%s: missing", where)
	default:
		d.fields(where, wv.Elem().Interface(), gv.Elem().Interface())
	}
}

// keyed matches two lists by key and reports missing, unexpected and
// differing objects.
func keyed[T any](d *differ, what string, want, got []T, key func(T) string, cmp func(where string, w, g T)) {
	gm := make(map[string]T, len(got))
	for _, g := range got {
		gm[key(g)] = g
	}
	seen := make(map[string]bool, len(want))
	for _, w := range want {
		k := key(w)
		seen[k] = true
		g, ok := gm[k]
		if !ok {
			d.add("%s %s: missing", what, k)
			continue
		}
		cmp(k, w, g)
	}
	var extra []string
	for k := range gm {
		if !seen[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	for _, k := range extra {
		d.add("%s %s: unexpected", what, k)
	}
}

// secretFields are never printed.
var secretFields = map[string]bool{"Salt": true, "StoredKey": true, "ServerKey": true}

// fields compares the exported fields of two structs except Stat.
func (d *differ) fields(where string, want, got any) {
	wv, gv := reflect.ValueOf(want), reflect.ValueOf(got)
	t := wv.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() || f.Name == "Stat" {
			continue
		}
		a, b := wv.Field(i).Interface(), gv.Field(i).Interface()
		if equalLoose(a, b) {
			continue
		}
		if secretFields[f.Name] {
			d.add("%s: %s differs", where, f.Name)
			continue
		}
		d.add("%s: %s: want %s, got %s", where, f.Name, show(a), show(b))
	}
}

func (d *differ) topic(where string, w, g zkreader.Topic) {
	if w.Version != g.Version {
		d.add("%s: Version: want %d, got %d", where, w.Version, g.Version)
	}
	if !equalLoose(w.TopicID, g.TopicID) {
		d.add("%s: TopicID: want %s, got %s", where, show(w.TopicID), show(g.TopicID))
	}
	keyed(d, "partition", w.Partitions, g.Partitions, func(p zkreader.Partition) string { return fmt.Sprintf("%s/partitions/%d", where, p.ID) },
		func(pw string, a, b zkreader.Partition) {
			for _, c := range []struct {
				name string
				a, b []int32
			}{{"Replicas", a.Replicas, b.Replicas}, {"AddingReplicas", a.AddingReplicas, b.AddingReplicas}, {"RemovingReplicas", a.RemovingReplicas, b.RemovingReplicas}} {
				if !equalLoose(c.a, c.b) {
					d.add("%s: %s: want %v, got %v", pw, c.name, c.a, c.b)
				}
			}
			sw := pw + "/state"
			switch {
			case a.State == nil && b.State == nil:
			case a.State == nil:
				d.add("%s: unexpected (want no state znode)", sw)
			case b.State == nil:
				d.add("%s: missing", sw)
			default:
				d.fields(sw, *a.State, *b.State)
				if a.State.Stat.Version != b.State.Stat.Version {
					d.add("%s: partition epoch (Stat.Version): want %d, got %d", sw, a.State.Stat.Version, b.State.Stat.Version)
				}
			}
		})
}

func (d *differ) acl(where string, w, g zkreader.ACLResource) {
	if w.ResourceType != g.ResourceType || w.PatternType != g.PatternType || w.Name != g.Name {
		d.add("%s: resource: want %s/%s/%q, got %s/%s/%q", where, w.ResourceType, w.PatternType, w.Name, g.ResourceType, g.PatternType, g.Name)
	}
	key := func(e zkreader.ACLEntry) string {
		return fmt.Sprintf("%s %s %s from %s", e.Principal, e.PermissionType, e.Operation, e.Host)
	}
	var ws, gs []string
	for _, e := range w.Entries {
		ws = append(ws, key(e))
	}
	for _, e := range g.Entries {
		gs = append(gs, key(e))
	}
	d.stringSet(where+" entries", ws, gs)
}

// stringSet compares two lists as sets.
func (d *differ) stringSet(where string, want, got []string) {
	wm, gm := map[string]bool{}, map[string]bool{}
	for _, s := range want {
		wm[s] = true
	}
	for _, s := range got {
		gm[s] = true
	}
	var missing, extra []string
	for s := range wm {
		if !gm[s] {
			missing = append(missing, s)
		}
	}
	for s := range gm {
		if !wm[s] {
			extra = append(extra, s)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	for _, s := range missing {
		d.add("%s: missing %q", where, s)
	}
	for _, s := range extra {
		d.add("%s: unexpected %q", where, s)
	}
}

func nonEmptyQuotas(qs []zkreader.ClientQuota) []zkreader.ClientQuota {
	var out []zkreader.ClientQuota
	for _, q := range qs {
		if len(q.Values) > 0 {
			out = append(out, q)
		}
	}
	return out
}

// equalLoose is reflect.DeepEqual with nil and empty slices/maps equal,
// recursively, and Stat fields ignored inside nested structs.
func equalLoose(a, b any) bool {
	return looseValue(reflect.ValueOf(a), reflect.ValueOf(b))
}

func looseValue(a, b reflect.Value) bool {
	if !a.IsValid() || !b.IsValid() {
		return a.IsValid() == b.IsValid()
	}
	if a.Type() != b.Type() {
		return false
	}
	switch a.Kind() {
	case reflect.Slice:
		if a.Len() != b.Len() {
			return false
		}
		for i := 0; i < a.Len(); i++ {
			if !looseValue(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Map:
		if a.Len() != b.Len() {
			return false
		}
		for _, k := range a.MapKeys() {
			bv := b.MapIndex(k)
			if !bv.IsValid() || !looseValue(a.MapIndex(k), bv) {
				return false
			}
		}
		return true
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		return looseValue(a.Elem(), b.Elem())
	case reflect.Struct:
		for i := 0; i < a.NumField(); i++ {
			f := a.Type().Field(i)
			if !f.IsExported() || f.Name == "Stat" {
				continue
			}
			if !looseValue(a.Field(i), b.Field(i)) {
				return false
			}
		}
		return true
	default:
		return a.Interface() == b.Interface()
	}
}

// show renders a value for a diff line: pointers dereferenced, byte slices
// as strings, maps sorted by key.
func show(v any) string {
	rv := reflect.ValueOf(v)
	if !rv.IsValid() {
		return "none"
	}
	if rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return "none"
		}
		return show(rv.Elem().Interface())
	}
	switch x := v.(type) {
	case []byte:
		return fmt.Sprintf("%q", x)
	case string:
		return fmt.Sprintf("%q", x)
	case fmt.Stringer:
		return x.String()
	}
	if rv.Kind() == reflect.Map {
		keys := rv.MapKeys()
		parts := make([]string, 0, len(keys))
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%v:%s", k.Interface(), show(rv.MapIndex(k).Interface())))
		}
		sort.Strings(parts)
		return "{" + strings.Join(parts, " ") + "}"
	}
	return fmt.Sprintf("%+v", v)
}
