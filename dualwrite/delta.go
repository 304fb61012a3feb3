package dualwrite

import (
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"

	"github.com/zk2kraft/zk2kraft/image"
	"github.com/zk2kraft/zk2kraft/kafka"
	"github.com/zk2kraft/zk2kraft/translate"
	"github.com/zk2kraft/zk2kraft/translate/records"
	"github.com/zk2kraft/zk2kraft/zkreader"
)

// deltas computes, for one object, the records that turn the view's version
// of it into what ZooKeeper holds now. What ZooKeeper holds is translated
// with translate itself (a snapshot holding only that object), so the
// mirror's records follow the same rules (spec §2) as the copy and the
// expected image verify builds. The records are what a KRaft controller
// writes for such a change: TopicRecord + PartitionRecords for a new topic,
// PartitionRecords for new partitions, RemoveTopicRecord, PartitionChangeRecord
// with only the changed fields (a full PartitionRecord when a change record
// cannot reach the state, e.g. a partition epoch that moved by more than
// one), ConfigRecord (null value for a deleted key), ClientQuotaRecord
// (Remove for a deleted key), ACL and SCRAM add/remove records,
// ProducerIdsRecord, DelegationTokenRecord and its removal.
type deltas struct {
	m    *model
	v    *view
	opts translate.Options
	log  *slog.Logger
}

func v0(r records.Record) records.Versioned { return records.Versioned{Record: r} }

// translateMini translates a snapshot holding a few objects.
func (d *deltas) translateMini(s *zkreader.Snapshot, assigned map[string]kafka.UUID) ([]records.Versioned, error) {
	zkreader.SortSnapshot(s)
	o := d.opts
	o.Progress = nil
	if assigned != nil {
		o.AssignedTopicIDs = assigned
	}
	res, err := translate.Translate(s, o)
	if err != nil {
		return nil, err
	}
	var out []records.Versioned
	for _, b := range res.Logical {
		out = append(out, b...)
	}
	return out, nil
}

// compute returns the records for one object.
func (d *deltas) compute(k objKey) ([]records.Versioned, error) {
	switch k.kind {
	case kindTopic:
		return d.topic(k.name)
	case kindPartition:
		return d.partition(k.name, k.part)
	case kindTopicConfig:
		return d.topicConfig(k.name)
	case kindBrokerConfig:
		return d.brokerConfig(k.name)
	case kindQuota:
		return d.quota(k.name)
	case kindACL:
		return d.acl(k.name)
	case kindProducerID:
		return d.producerID()
	case kindToken:
		return d.token(k.name)
	}
	return nil, fmt.Errorf("unknown object kind %d", k.kind)
}

// topicWant is a topic as ZooKeeper holds it, translated.
type topicWant struct {
	present bool
	id      kafka.UUID
	parts   []*records.PartitionRecord // sorted by id
	cfg     map[string]string
}

func (d *deltas) topicSnap(name string, only *int32, withConfig bool) *zkreader.Snapshot {
	s := &zkreader.Snapshot{}
	if t := d.m.topicSnapshot(name, only); t != nil {
		s.Topics = []zkreader.Topic{*t}
	}
	if withConfig {
		if c := d.m.topicCfg[name]; c != nil {
			s.TopicConfigs = []zkreader.EntityConfig{*c}
		}
	}
	if d.m.pending[name] {
		s.PendingDeletions = []string{name}
	}
	return s
}

// assignedID gives a topic whose znode has no id the id the quorum knows it by.
func (d *deltas) assignedID(name string) map[string]kafka.UUID {
	if t := d.v.im.TopicByName(name); t != nil {
		ids := make(map[string]kafka.UUID, len(d.opts.AssignedTopicIDs)+1)
		for k, v := range d.opts.AssignedTopicIDs {
			ids[k] = v
		}
		ids[name] = t.ID
		return ids
	}
	return nil
}

func (d *deltas) wantTopic(name string, only *int32, withConfig bool) (topicWant, error) {
	recs, err := d.translateMini(d.topicSnap(name, only, withConfig), d.assignedID(name))
	if err != nil {
		return topicWant{}, err
	}
	w := topicWant{cfg: map[string]string{}}
	for _, r := range recs {
		switch x := r.Record.(type) {
		case *records.TopicRecord:
			w.present, w.id = true, x.TopicId
		case *records.PartitionRecord:
			w.parts = append(w.parts, x)
		case *records.ConfigRecord:
			if x.Value != nil {
				w.cfg[x.Name] = *x.Value
			}
		}
	}
	sort.Slice(w.parts, func(i, j int) bool { return w.parts[i].PartitionId < w.parts[j].PartitionId })
	return w, nil
}

func (d *deltas) topic(name string) ([]records.Versioned, error) {
	w, err := d.wantTopic(name, nil, true)
	if err != nil {
		return nil, err
	}
	cur := d.v.im.TopicByName(name)
	var out []records.Versioned
	if !w.present {
		if cur != nil {
			out = append(out, v0(&records.RemoveTopicRecord{TopicId: cur.ID}))
		}
		return out, nil
	}
	if cur != nil && cur.ID != w.id {
		out = append(out, v0(&records.RemoveTopicRecord{TopicId: cur.ID}))
		cur = nil
	}
	if cur != nil {
		// A partition ZooKeeper no longer assigns cannot be removed by
		// itself in KRaft: the topic is written again.
		i := 0
		for _, cp := range cur.Partitions {
			for i < len(w.parts) && w.parts[i].PartitionId < cp.ID {
				i++
			}
			if i == len(w.parts) || w.parts[i].PartitionId != cp.ID {
				d.log.Warn("mirror: partition vanished from the topic's assignment; rewriting the topic", "topic", name, "partition", cp.ID)
				out = append(out, v0(&records.RemoveTopicRecord{TopicId: cur.ID}))
				cur = nil
				break
			}
		}
	}
	if cur == nil {
		if other := d.v.im.TopicByID(w.id); other != nil && other.Name != name {
			d.log.Warn("mirror: topic id already used by another topic; not mirrored until that topic is gone",
				"topic", name, "topic_id", w.id.String(), "other", other.Name)
			return out, nil
		}
		out = append(out, v0(&records.TopicRecord{Name: name, TopicId: w.id}))
		out = append(out, configDelta(kafka.ConfigResourceTopic, name, nil, w.cfg)...)
		for _, p := range w.parts {
			out = append(out, v0(p))
		}
		return out, nil
	}
	for _, p := range w.parts {
		if r, ok := partitionDelta(name, cur, p); ok {
			out = append(out, r)
		}
	}
	out = append(out, configDelta(kafka.ConfigResourceTopic, name, d.v.im.Config(image.ConfigResource{Type: kafka.ConfigResourceTopic, Name: name}), w.cfg)...)
	return out, nil
}

// partition handles a change of one partition state; anything that is not
// a plain change of a partition of a topic the view has with the same id
// is handled as a topic change.
func (d *deltas) partition(name string, p int32) ([]records.Versioned, error) {
	cur := d.v.im.TopicByName(name)
	if cur == nil || cur.Partition(p) == nil {
		return d.topic(name)
	}
	w, err := d.wantTopic(name, &p, false)
	if err != nil {
		return nil, err
	}
	if !w.present || w.id != cur.ID || len(w.parts) != 1 {
		return d.topic(name)
	}
	if r, ok := partitionDelta(name, cur, w.parts[0]); ok {
		return []records.Versioned{r}, nil
	}
	return nil, nil
}

func (d *deltas) topicConfig(name string) ([]records.Versioned, error) {
	cur := d.v.im.TopicByName(name)
	if cur == nil {
		return d.topic(name)
	}
	none := int32(-1)
	w, err := d.wantTopic(name, &none, true)
	if err != nil {
		return nil, err
	}
	if !w.present || w.id != cur.ID {
		return d.topic(name)
	}
	return configDelta(kafka.ConfigResourceTopic, name, d.v.im.Config(image.ConfigResource{Type: kafka.ConfigResourceTopic, Name: name}), w.cfg), nil
}

// partitionDelta returns the record that turns the view's partition into
// want: a PartitionChangeRecord with only the changed fields when replaying
// it gives exactly want (Kafka's merge bumps the partition epoch by one and
// the leader epoch by one on a leader change), else a full PartitionRecord.
func partitionDelta(topic string, cur *image.Topic, want *records.PartitionRecord) (records.Versioned, bool) {
	cp := cur.Partition(want.PartitionId)
	if cp == nil {
		return v0(want), true
	}
	if samePartition(cp, want) {
		return records.Versioned{}, false
	}
	ch := &records.PartitionChangeRecord{PartitionId: want.PartitionId, TopicId: cur.ID, Leader: -2, LeaderRecoveryState: -1}
	if !equalInt32s(cp.Replicas, want.Replicas) {
		ch.Replicas = nonNil(want.Replicas)
	}
	if !equalInt32s(cp.ISR, want.Isr) {
		ch.Isr = nonNil(want.Isr)
	}
	if len(cp.AddingReplicas) != 0 || len(want.AddingReplicas) != 0 {
		if !equalInt32s(cp.AddingReplicas, want.AddingReplicas) {
			ch.AddingReplicas = nonNil(want.AddingReplicas)
		}
	}
	if len(cp.RemovingReplicas) != 0 || len(want.RemovingReplicas) != 0 {
		if !equalInt32s(cp.RemovingReplicas, want.RemovingReplicas) {
			ch.RemovingReplicas = nonNil(want.RemovingReplicas)
		}
	}
	if cp.Leader != want.Leader {
		ch.Leader = want.Leader
	}
	if cp.LeaderRecoveryState != want.LeaderRecoveryState {
		ch.LeaderRecoveryState = want.LeaderRecoveryState
	}
	if cp.Directories == nil && cp.ELR == nil && cp.LastKnownELR == nil {
		// Replay the change on a scratch image holding just this partition.
		scratch := image.New()
		pr := &records.PartitionRecord{PartitionId: cp.ID, TopicId: cur.ID, Replicas: cp.Replicas, Isr: nonNil(cp.ISR),
			AddingReplicas: nonNil(cp.AddingReplicas), RemovingReplicas: nonNil(cp.RemovingReplicas), Leader: cp.Leader,
			LeaderEpoch: cp.LeaderEpoch, PartitionEpoch: cp.PartitionEpoch, LeaderRecoveryState: cp.LeaderRecoveryState}
		if scratch.Apply(v0(&records.TopicRecord{Name: topic, TopicId: cur.ID})) == nil &&
			scratch.Apply(v0(pr)) == nil && scratch.Apply(v0(ch)) == nil {
			if got := scratch.TopicByID(cur.ID).Partition(cp.ID); got != nil && samePartition(got, want) {
				return v0(ch), true
			}
		}
	}
	return v0(want), true
}

// samePartition reports whether the image's partition is what a v0
// PartitionRecord want gives.
func samePartition(p *image.Partition, w *records.PartitionRecord) bool {
	return equalInt32s(p.Replicas, w.Replicas) && equalInt32s(p.ISR, w.Isr) &&
		equalInt32s(nilIfEmpty(p.AddingReplicas), nilIfEmpty(w.AddingReplicas)) &&
		equalInt32s(nilIfEmpty(p.RemovingReplicas), nilIfEmpty(w.RemovingReplicas)) &&
		p.Leader == w.Leader && p.LeaderEpoch == w.LeaderEpoch && p.PartitionEpoch == w.PartitionEpoch &&
		p.LeaderRecoveryState == w.LeaderRecoveryState && p.Directories == nil && p.ELR == nil && p.LastKnownELR == nil
}

func nilIfEmpty(s []int32) []int32 {
	if len(s) == 0 {
		return nil
	}
	return s
}

func nonNil(s []int32) []int32 {
	if s == nil {
		return []int32{}
	}
	return s
}

// configDelta returns ConfigRecords turning cur into want: a null value for
// a key want lacks, the value for a key that is new or changed.
func configDelta(resType int8, resName string, cur, want map[string]string) []records.Versioned {
	var out []records.Versioned
	keys := map[string]bool{}
	for k := range cur {
		keys[k] = true
	}
	for k := range want {
		keys[k] = true
	}
	for _, k := range sortedKeys(keys) {
		cv, cok := cur[k]
		wv, wok := want[k]
		switch {
		case !wok:
			out = append(out, v0(&records.ConfigRecord{ResourceType: resType, ResourceName: resName, Name: k}))
		case !cok || cv != wv:
			val := wv
			out = append(out, v0(&records.ConfigRecord{ResourceType: resType, ResourceName: resName, Name: k, Value: &val}))
		}
	}
	return out
}

func (d *deltas) brokerConfig(name string) ([]records.Versioned, error) {
	s := &zkreader.Snapshot{}
	if c := d.m.brokerCfg[name]; c != nil {
		s.BrokerConfigs = []zkreader.EntityConfig{*c}
	}
	recs, err := d.translateMini(s, nil)
	if err != nil {
		return nil, err
	}
	resName := name
	if name == kafka.DefaultEntity {
		resName = ""
	}
	want := map[string]string{}
	for _, r := range recs {
		if c, ok := r.Record.(*records.ConfigRecord); ok && c.Value != nil && c.ResourceName == resName {
			want[c.Name] = *c.Value
		}
	}
	res := image.ConfigResource{Type: kafka.ConfigResourceBroker, Name: resName}
	return configDelta(kafka.ConfigResourceBroker, resName, d.v.im.Config(res), want), nil
}

func (d *deltas) quota(rel string) ([]records.Versioned, error) {
	parts, err := zkreader.ParseQuotaEntity("/config/" + rel)
	if err != nil {
		d.log.Warn("mirror: quota znode with an invalid name is not mirrored", "path", "/config/"+rel, "err", err)
		return nil, nil
	}
	s := &zkreader.Snapshot{}
	if q := d.m.quotas[rel]; q != nil {
		if q.quota != nil && len(q.quota.Values) > 0 {
			s.Quotas = []zkreader.ClientQuota{*q.quota}
		}
		s.Scram = q.scram
	}
	recs, err := d.translateMini(s, nil)
	if err != nil {
		return nil, err
	}
	entity := make([]records.ClientQuotaRecordEntityData, len(parts))
	iparts := make([]image.EntityPart, len(parts))
	for i, p := range parts {
		entity[i] = records.ClientQuotaRecordEntityData{EntityType: p.Type, EntityName: p.Name}
		iparts[i] = image.EntityPart{Type: p.Type, Name: p.Name}
	}
	slices.SortFunc(iparts, func(a, b image.EntityPart) int { return kafka.QuotaEntityRank(a.Type) - kafka.QuotaEntityRank(b.Type) })
	wantVals := map[string]float64{}
	wantScram := map[int8]image.ScramCredential{}
	for _, r := range recs {
		switch x := r.Record.(type) {
		case *records.ClientQuotaRecord:
			wantVals[x.Key] = x.Value
		case *records.UserScramCredentialRecord:
			wantScram[x.Mechanism] = image.ScramCredential{Name: x.Name, Mechanism: x.Mechanism, Salt: x.Salt, StoredKey: x.StoredKey, ServerKey: x.ServerKey, Iterations: x.Iterations}
		}
	}
	var out []records.Versioned
	cur := d.v.quotas[image.EntityKey(iparts)]
	keys := map[string]bool{}
	for k := range cur {
		keys[k] = true
	}
	for k := range wantVals {
		keys[k] = true
	}
	for _, k := range sortedKeys(keys) {
		cv, cok := cur[k]
		wv, wok := wantVals[k]
		switch {
		case !wok:
			out = append(out, v0(&records.ClientQuotaRecord{Entity: entity, Key: k, Remove: true}))
		case !cok || cv != wv:
			out = append(out, v0(&records.ClientQuotaRecord{Entity: entity, Key: k, Value: wv}))
		}
	}
	// SCRAM credentials live on /config/users/<user> only.
	if len(parts) == 1 && parts[0].Type == kafka.QuotaEntityUser && parts[0].Name != nil {
		user := *parts[0].Name
		for _, mech := range []int8{1, 2} {
			c, have := d.v.scram[image.ScramKey{Name: user, Mechanism: mech}]
			w, want := wantScram[mech]
			switch {
			case want && (!have || !sameScram(c, w)):
				out = append(out, v0(&records.UserScramCredentialRecord{Name: user, Mechanism: mech, Salt: w.Salt, StoredKey: w.StoredKey, ServerKey: w.ServerKey, Iterations: w.Iterations}))
			case !want && have:
				out = append(out, v0(&records.RemoveUserScramCredentialRecord{Name: user, Mechanism: mech}))
			}
		}
	}
	return out, nil
}

// aclResourceOf maps an ACL znode path to its resource.
func aclResourceOf(p string) (aclResource, bool) {
	var rest string
	var pattern int8
	switch {
	case strings.HasPrefix(p, pathACLPrefixed+"/"):
		rest, pattern = strings.TrimPrefix(p, pathACLPrefixed+"/"), kafka.PatternTypeCodes["PREFIXED"]
	case strings.HasPrefix(p, pathACLLiteral+"/"):
		rest, pattern = strings.TrimPrefix(p, pathACLLiteral+"/"), kafka.PatternTypeCodes["LITERAL"]
	default:
		return aclResource{}, false
	}
	typ, name, ok := strings.Cut(rest, "/")
	if !ok {
		return aclResource{}, false
	}
	_, code, ok := kafka.LookupEnum(kafka.ResourceTypeCodes, typ)
	if !ok {
		return aclResource{}, false
	}
	return aclResource{resourceType: code, name: name, patternType: pattern}, true
}

func (d *deltas) acl(p string) ([]records.Versioned, error) {
	res, ok := aclResourceOf(p)
	if !ok {
		return nil, nil
	}
	s := &zkreader.Snapshot{}
	if a := d.m.acls[p]; a != nil {
		s.ACLs = []zkreader.ACLResource{*a}
	}
	recs, err := d.translateMini(s, nil)
	if err != nil {
		return nil, err
	}
	want := map[aclEntry]*records.AccessControlEntryRecord{}
	for _, r := range recs {
		if a, ok := r.Record.(*records.AccessControlEntryRecord); ok {
			want[aclEntry{a.Principal, a.Host, a.Operation, a.PermissionType}] = a
		}
	}
	cur := d.v.acls[res]
	var out []records.Versioned
	var gone []aclEntry
	for e := range cur {
		if want[e] == nil {
			gone = append(gone, e)
		}
	}
	sort.Slice(gone, func(i, j int) bool { return cur[gone[i]].String() < cur[gone[j]].String() })
	for _, e := range gone {
		out = append(out, v0(&records.RemoveAccessControlEntryRecord{Id: cur[e]}))
	}
	var added []*records.AccessControlEntryRecord
	for e, a := range want {
		if _, have := cur[e]; !have {
			if _, used := d.v.aclIDs[a.Id]; used {
				d.log.Warn("mirror: ACL id already used; entry not mirrored", "path", p, "id", a.Id.String())
				continue
			}
			added = append(added, a)
		}
	}
	sort.Slice(added, func(i, j int) bool { return added[i].Id.String() < added[j].Id.String() })
	for _, a := range added {
		out = append(out, v0(a))
	}
	return out, nil
}

func (d *deltas) producerID() ([]records.Versioned, error) {
	if d.m.producerID == nil {
		return nil, nil // KRaft has no way to forget a producer-id block
	}
	recs, err := d.translateMini(&zkreader.Snapshot{ProducerIDBlock: d.m.producerID}, nil)
	if err != nil {
		return nil, err
	}
	for _, r := range recs {
		if p, ok := r.Record.(*records.ProducerIdsRecord); ok {
			cur := d.v.im.NextProducerID()
			if p.NextProducerId > cur {
				return []records.Versioned{r}, nil
			}
			if p.NextProducerId < cur {
				d.log.Warn("mirror: /latest_producer_id_block went backwards; KRaft never hands out a producer id twice, so it is not mirrored",
					"next_producer_id_zk", p.NextProducerId, "next_producer_id_quorum", cur)
			}
		}
	}
	return nil, nil
}

func (d *deltas) token(id string) ([]records.Versioned, error) {
	s := &zkreader.Snapshot{}
	if t := d.m.tokens[id]; t != nil {
		s.DelegationTokens = []zkreader.DelegationToken{*t}
	}
	recs, err := d.translateMini(s, nil)
	if err != nil {
		return nil, err
	}
	cur, have := d.v.tokens[id]
	for _, r := range recs {
		if t, ok := r.Record.(*records.DelegationTokenRecord); ok && t.TokenId == id {
			if have && cur.Owner == t.Owner && cur.Requester == t.Requester && slices.Equal(cur.Renewers, t.Renewers) &&
				cur.IssueTimestamp == t.IssueTimestamp && cur.MaxTimestamp == t.MaxTimestamp && cur.ExpirationTimestamp == t.ExpirationTimestamp {
				return nil, nil
			}
			return []records.Versioned{r}, nil
		}
	}
	if have {
		return []records.Versioned{v0(&records.RemoveDelegationTokenRecord{TokenId: id})}, nil
	}
	return nil, nil
}
