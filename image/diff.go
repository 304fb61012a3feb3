package image

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strconv"

	"github.com/zk2kraft/zk2kraft/kafka"
	"github.com/zk2kraft/zk2kraft/translate/records"
)

// Difference is one object or field that differs between two images.
// Secrets are never shown: a differing SCRAM salt or key reads "[redacted]".
type Difference struct {
	Section string `json:"section"`
	Object  string `json:"object"`          // e.g. "orders-3", "topic:orders", "broker 1"
	Field   string `json:"field,omitempty"` // "" when the whole object is missing or extra
	Want    string `json:"want"`
	Got     string `json:"got"`
}

func (d Difference) String() string {
	f := ""
	if d.Field != "" {
		f = " " + d.Field
	}
	return fmt.Sprintf("%s %s%s: want %s, got %s", d.Section, d.Object, f, d.Want, d.Got)
}

const (
	present = "present"
	absent  = "absent"
)

type differ struct{ out []Difference }

func (d *differ) add(section, object, field, want, got string) {
	d.out = append(d.out, Difference{section, object, field, want, got})
}

func (d *differ) field(section, object, field string, want, got any) {
	if same(want, got) {
		return
	}
	w, g := render(want), render(got)
	if w != g {
		d.add(section, object, field, w, g)
	}
}

// same reports, without rendering, that two values of a common field type
// render alike (a million equal partitions are compared, not printed); for
// other types it reports false and the renderings decide.
func same(want, got any) bool {
	switch w := want.(type) {
	case int32:
		g, ok := got.(int32)
		return ok && w == g
	case int16:
		g, ok := got.(int16)
		return ok && w == g
	case int8:
		g, ok := got.(int8)
		return ok && w == g
	case int64:
		g, ok := got.(int64)
		return ok && w == g
	case bool:
		g, ok := got.(bool)
		return ok && w == g
	case string:
		g, ok := got.(string)
		return ok && w == g
	case *string:
		g, ok := got.(*string)
		return ok && (w == nil) == (g == nil) && (w == nil || *w == *g)
	case []int32:
		g, ok := got.([]int32)
		return ok && slices.Equal(w, g) // nil and empty render alike
	case []kafka.UUID:
		g, ok := got.([]kafka.UUID)
		return ok && slices.Equal(w, g)
	}
	return false
}

// samePartition reports that two partitions have equal fields (the common
// case, decided without naming the partition).
func samePartition(w, g *Partition) bool {
	return slices.Equal(w.Replicas, g.Replicas) && slices.Equal(w.ISR, g.ISR) &&
		slices.Equal(w.AddingReplicas, g.AddingReplicas) && slices.Equal(w.RemovingReplicas, g.RemovingReplicas) &&
		w.Leader == g.Leader && w.LeaderEpoch == g.LeaderEpoch && w.PartitionEpoch == g.PartitionEpoch &&
		w.LeaderRecoveryState == g.LeaderRecoveryState && slices.Equal(w.ELR, g.ELR) && slices.Equal(w.LastKnownELR, g.LastKnownELR) &&
		same(w.DirectoriesOrMigrating(), g.DirectoriesOrMigrating())
}

func render(v any) string {
	switch x := v.(type) {
	case *string:
		if x == nil {
			return "null"
		}
		return strconv.Quote(*x)
	case string:
		return strconv.Quote(x)
	case []int32:
		if x == nil {
			x = []int32{}
		}
		return fmt.Sprint(x)
	case Secret:
		return "[redacted sha256:" + shortHash(x) + "]"
	}
	return fmt.Sprint(v)
}

func shortHash(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:4])
}

// Diff compares two images object by object, section by section (features,
// cluster, topics and partitions, configs, client quotas, producer ids, ACLs,
// SCRAM, delegation tokens). ACLs are compared by content, not by id (ids
// differ between tools: Kafka makes random ones). The result is sorted by
// section order, then object.
func Diff(want, got *Image) []Difference {
	d := &differ{}
	// features
	for _, name := range unionKeys(want.features, got.features) {
		w, wok := want.features[name]
		g, gok := got.features[name]
		d.field(SectionFeatures, "feature "+name, "level", levelString(w, wok), levelString(g, gok))
	}
	d.field(SectionFeatures, "zk.migration.state", "state", want.zkMigrationState, got.zkMigrationState)

	// cluster
	for _, id := range unionKeys(want.brokers, got.brokers) {
		w, g := want.brokers[id], got.brokers[id]
		obj := fmt.Sprintf("broker %d", id)
		if w == nil || g == nil {
			d.add(SectionCluster, obj, "", presence(w != nil), presence(g != nil))
			continue
		}
		d.field(SectionCluster, obj, "epoch", w.Epoch, g.Epoch)
		d.field(SectionCluster, obj, "incarnationId", w.IncarnationID, g.IncarnationID)
		d.field(SectionCluster, obj, "endpoints", w.Endpoints, g.Endpoints)
		d.field(SectionCluster, obj, "features", w.Features, g.Features)
		d.field(SectionCluster, obj, "rack", w.Rack, g.Rack)
		d.field(SectionCluster, obj, "fenced", w.Fenced, g.Fenced)
		d.field(SectionCluster, obj, "inControlledShutdown", w.InControlledShutdown, g.InControlledShutdown)
		d.field(SectionCluster, obj, "isMigratingZkBroker", w.IsMigratingZkBroker, g.IsMigratingZkBroker)
		d.field(SectionCluster, obj, "logDirs", w.LogDirs, g.LogDirs)
	}
	for _, id := range unionKeys(want.controllers, got.controllers) {
		w, g := want.controllers[id], got.controllers[id]
		obj := fmt.Sprintf("controller %d", id)
		if w == nil || g == nil {
			d.add(SectionCluster, obj, "", presence(w != nil), presence(g != nil))
			continue
		}
		d.field(SectionCluster, obj, "incarnationId", w.IncarnationID, g.IncarnationID)
		d.field(SectionCluster, obj, "zkMigrationReady", w.ZkMigrationReady, g.ZkMigrationReady)
		d.field(SectionCluster, obj, "endpoints", w.Endpoints, g.Endpoints)
		d.field(SectionCluster, obj, "features", w.Features, g.Features)
	}

	// topics and partitions
	for _, name := range unionKeys(want.topicsByName, got.topicsByName) {
		w, g := want.topicsByName[name], got.topicsByName[name]
		obj := "topic " + name
		if w == nil || g == nil {
			d.add(SectionTopics, obj, "", presence(w != nil), presence(g != nil))
			continue
		}
		d.field(SectionTopics, obj, "topicId", w.ID, g.ID)
		diffPartitions(d, w, g)
	}

	// configs
	for _, res := range unionKeysFunc(want.configs, got.configs, compareResource) {
		wm, gm := want.configs[res], got.configs[res]
		for _, k := range unionKeys(wm, gm) {
			wv, wok := wm[k]
			gv, gok := gm[k]
			if records.IsSensitiveConfig(k) {
				// Password configs: show only whether and that they differ.
				if wok != gok || wv != gv {
					d.add(SectionConfigs, res.String(), k, optSecret(wv, wok), optSecret(gv, gok))
				}
				continue
			}
			d.field(SectionConfigs, res.String(), k, optString(wv, wok), optString(gv, gok))
		}
	}

	// client quotas
	for _, k := range unionKeys(want.quotas, got.quotas) {
		var wv, gv map[string]float64
		if q := want.quotas[k]; q != nil {
			wv = q.Values
		}
		if q := got.quotas[k]; q != nil {
			gv = q.Values
		}
		for _, key := range unionKeys(wv, gv) {
			w, wok := wv[key]
			g, gok := gv[key]
			d.field(SectionClientQuotas, k, key, optFloat(w, wok), optFloat(g, gok))
		}
	}

	// producer ids
	d.field(SectionProducerIDs, "nextProducerId", "", want.nextProducerID, got.nextProducerID)

	// ACLs by content
	wa, ga := aclCounts(want), aclCounts(got)
	for _, k := range unionKeys(wa, ga) {
		if wa[k] != ga[k] {
			d.add(SectionACLs, k, "", countString(wa[k]), countString(ga[k]))
		}
	}

	// SCRAM
	for _, k := range unionKeysFunc(want.scram, got.scram, func(a, b ScramKey) int {
		if a.Mechanism != b.Mechanism {
			return int(a.Mechanism) - int(b.Mechanism)
		}
		return cmpString(a.Name, b.Name)
	}) {
		w, g := want.scram[k], got.scram[k]
		obj := fmt.Sprintf("user %s mechanism %d", k.Name, k.Mechanism)
		if w == nil || g == nil {
			d.add(SectionScram, obj, "", presence(w != nil), presence(g != nil))
			continue
		}
		for _, f := range []struct {
			name string
			w, g Secret
		}{{"salt", w.Salt, g.Salt}, {"storedKey", w.StoredKey, g.StoredKey}, {"serverKey", w.ServerKey, g.ServerKey}} {
			if !bytes.Equal(f.w, f.g) {
				d.add(SectionScram, obj, f.name, render(f.w), render(f.g))
			}
		}
		d.field(SectionScram, obj, "iterations", w.Iterations, g.Iterations)
	}

	// delegation tokens
	for _, id := range unionKeys(want.tokens, got.tokens) {
		w, g := want.tokens[id], got.tokens[id]
		obj := "token " + id
		if w == nil || g == nil {
			d.add(SectionDelegationTokens, obj, "", presence(w != nil), presence(g != nil))
			continue
		}
		d.field(SectionDelegationTokens, obj, "owner", w.Owner, g.Owner)
		d.field(SectionDelegationTokens, obj, "requester", w.Requester, g.Requester)
		d.field(SectionDelegationTokens, obj, "renewers", w.Renewers, g.Renewers)
		d.field(SectionDelegationTokens, obj, "issueTimestamp", w.IssueTimestamp, g.IssueTimestamp)
		d.field(SectionDelegationTokens, obj, "maxTimestamp", w.MaxTimestamp, g.MaxTimestamp)
		d.field(SectionDelegationTokens, obj, "expirationTimestamp", w.ExpirationTimestamp, g.ExpirationTimestamp)
	}
	return d.out
}

func diffPartitions(d *differ, w, g *Topic) {
	i, j := 0, 0
	for i < len(w.Partitions) || j < len(g.Partitions) {
		switch {
		case j >= len(g.Partitions) || (i < len(w.Partitions) && w.Partitions[i].ID < g.Partitions[j].ID):
			d.add(SectionTopics, fmt.Sprintf("%s-%d", w.Name, w.Partitions[i].ID), "", present, absent)
			i++
		case i >= len(w.Partitions) || g.Partitions[j].ID < w.Partitions[i].ID:
			d.add(SectionTopics, fmt.Sprintf("%s-%d", g.Name, g.Partitions[j].ID), "", absent, present)
			j++
		default:
			wp, gp := &w.Partitions[i], &g.Partitions[j]
			if samePartition(wp, gp) {
				i++
				j++
				continue
			}
			obj := fmt.Sprintf("%s-%d", w.Name, wp.ID)
			d.field(SectionTopics, obj, "replicas", wp.Replicas, gp.Replicas)
			d.field(SectionTopics, obj, "isr", wp.ISR, gp.ISR)
			d.field(SectionTopics, obj, "addingReplicas", wp.AddingReplicas, gp.AddingReplicas)
			d.field(SectionTopics, obj, "removingReplicas", wp.RemovingReplicas, gp.RemovingReplicas)
			d.field(SectionTopics, obj, "leader", wp.Leader, gp.Leader)
			d.field(SectionTopics, obj, "leaderEpoch", wp.LeaderEpoch, gp.LeaderEpoch)
			d.field(SectionTopics, obj, "partitionEpoch", wp.PartitionEpoch, gp.PartitionEpoch)
			d.field(SectionTopics, obj, "leaderRecoveryState", wp.LeaderRecoveryState, gp.LeaderRecoveryState)
			d.field(SectionTopics, obj, "directories", wp.DirectoriesOrMigrating(), gp.DirectoriesOrMigrating())
			d.field(SectionTopics, obj, "eligibleLeaderReplicas", wp.ELR, gp.ELR)
			d.field(SectionTopics, obj, "lastKnownElr", wp.LastKnownELR, gp.LastKnownELR)
			i++
			j++
		}
	}
}

func aclCounts(im *Image) map[string]int {
	m := make(map[string]int, len(im.acls))
	for _, a := range im.acls {
		m[describeACL(a)]++
	}
	return m
}

func countString(n int) string {
	switch n {
	case 0:
		return absent
	case 1:
		return present
	}
	return fmt.Sprintf("%d copies", n)
}

func presence(ok bool) string {
	if ok {
		return present
	}
	return absent
}

func levelString(l int16, ok bool) string {
	if !ok {
		return absent
	}
	return strconv.Itoa(int(l))
}

func optString(v string, ok bool) string {
	if !ok {
		return absent
	}
	return strconv.Quote(v)
}

func optSecret(v string, ok bool) string {
	if !ok {
		return absent
	}
	return render(Secret(v))
}

func optFloat(v float64, ok bool) string {
	if !ok {
		return absent
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

type ordered interface {
	~int32 | ~string
}

func unionKeys[K ordered, V1, V2 any](a map[K]V1, b map[K]V2) []K {
	keys := make([]K, 0, len(a)+len(b))
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	return keys
}

func unionKeysFunc[K comparable, V any](a, b map[K]V, cmp func(K, K) int) []K {
	keys := make([]K, 0, len(a)+len(b))
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, cmp)
	return keys
}

// Counts returns the number of objects per section, plus "partitions",
// "brokers" and "controllers".
func (im *Image) Counts() map[string]int {
	nConfigs, nQuotas := 0, 0
	for _, m := range im.configs {
		nConfigs += len(m)
	}
	for _, q := range im.quotas {
		nQuotas += len(q.Values)
	}
	pids := 0
	if im.nextProducerID >= 0 {
		pids = 1
	}
	return map[string]int{
		SectionFeatures:         len(im.features),
		SectionCluster:          len(im.brokers) + len(im.controllers),
		"brokers":               len(im.brokers),
		"controllers":           len(im.controllers),
		SectionTopics:           len(im.topicsByID),
		"partitions":            im.partitions,
		SectionConfigs:          nConfigs,
		SectionClientQuotas:     nQuotas,
		SectionProducerIDs:      pids,
		SectionACLs:             len(im.acls),
		SectionScram:            len(im.scram),
		SectionDelegationTokens: len(im.tokens),
	}
}

// Digests returns, per section, the SHA-256 (hex) of the section's records
// as Records writes and frames them. Two images with equal digests hold the
// same records; compare two runs at a glance. ACL ids are part of the acls
// digest.
// A section whose records cannot be encoded gets "error: ..." instead.
func (im *Image) Digests() map[string]string {
	out := make(map[string]string, len(Sections))
	var buf []byte
	for _, s := range Sections {
		h := sha256.New()
		var encErr error
		im.EachSectionRecord(s, func(v records.Versioned) {
			if encErr != nil {
				return
			}
			buf, encErr = records.AppendFrame(buf[:0], v)
			if encErr != nil {
				encErr = fmt.Errorf("encode %s: %v", v.Record.TypeName(), encErr)
				return
			}
			var n [4]byte
			n[0], n[1], n[2], n[3] = byte(len(buf)>>24), byte(len(buf)>>16), byte(len(buf)>>8), byte(len(buf))
			h.Write(n[:])
			h.Write(buf)
		})
		if encErr != nil {
			out[s] = "error: " + encErr.Error()
			continue
		}
		out[s] = hex.EncodeToString(h.Sum(nil))
	}
	return out
}
