package dualwrite

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/zk2kraft/zk2kraft/image"
	"github.com/zk2kraft/zk2kraft/kafka"
	"github.com/zk2kraft/zk2kraft/translate/records"
)

// view is the mirror's idea of the quorum's image: what is committed plus
// what it has decided to append. Deltas are computed against it and applied
// to it as soon as they are made, so the next delta builds on them. Besides
// the image it keeps lookups the image does not offer in O(1) (quotas by
// entity, SCRAM by user, ACLs by resource).
type view struct {
	im     *image.Image
	quotas map[string]map[string]float64 // image.EntityKey -> values
	scram  map[image.ScramKey]image.ScramCredential
	acls   map[aclResource]map[aclEntry]kafka.UUID
	aclIDs map[kafka.UUID]aclRef
	tokens map[string]image.DelegationToken
}

type aclResource struct {
	resourceType int8
	name         string
	patternType  int8
}

type aclEntry struct {
	principal, host string
	operation, perm int8
}

type aclRef struct {
	res   aclResource
	entry aclEntry
}

// newView indexes an image (which the view then owns).
func newView(im *image.Image) *view {
	v := &view{im: im, quotas: map[string]map[string]float64{}, scram: map[image.ScramKey]image.ScramCredential{},
		acls: map[aclResource]map[aclEntry]kafka.UUID{}, aclIDs: map[kafka.UUID]aclRef{}, tokens: map[string]image.DelegationToken{}}
	for _, q := range im.QuotaEntities() {
		vals := make(map[string]float64, len(q.Values))
		for k, x := range q.Values {
			vals[k] = x
		}
		v.quotas[image.EntityKey(q.Entity)] = vals
	}
	for _, s := range im.ScramCredentials() {
		v.scram[image.ScramKey{Name: s.Name, Mechanism: s.Mechanism}] = *s
	}
	for _, a := range im.ACLs() {
		v.addACL(a.ID, aclResource{a.ResourceType, a.ResourceName, a.PatternType}, aclEntry{a.Principal, a.Host, a.Operation, a.PermissionType})
	}
	for _, t := range im.DelegationTokens() {
		v.tokens[t.TokenID] = *t
	}
	return v
}

func (v *view) addACL(id kafka.UUID, res aclResource, e aclEntry) {
	m := v.acls[res]
	if m == nil {
		m = map[aclEntry]kafka.UUID{}
		v.acls[res] = m
	}
	m[e] = id
	v.aclIDs[id] = aclRef{res, e}
}

// apply applies one record to the image and the lookups. A record the image
// rejects changes nothing and returns the image's error.
func (v *view) apply(rec records.Versioned) error {
	if err := v.im.Apply(rec); err != nil {
		return err
	}
	switch r := rec.Record.(type) {
	case *records.ClientQuotaRecord:
		parts := make([]image.EntityPart, len(r.Entity))
		for i, e := range r.Entity {
			parts[i] = image.EntityPart{Type: e.EntityType, Name: e.EntityName}
		}
		slices.SortFunc(parts, func(a, b image.EntityPart) int { return kafka.QuotaEntityRank(a.Type) - kafka.QuotaEntityRank(b.Type) })
		k := image.EntityKey(parts)
		vals := v.quotas[k]
		if r.Remove {
			if vals != nil {
				delete(vals, r.Key)
				if len(vals) == 0 {
					delete(v.quotas, k)
				}
			}
			return nil
		}
		if vals == nil {
			vals = map[string]float64{}
			v.quotas[k] = vals
		}
		vals[r.Key] = r.Value
	case *records.UserScramCredentialRecord:
		v.scram[image.ScramKey{Name: r.Name, Mechanism: r.Mechanism}] = image.ScramCredential{Name: r.Name, Mechanism: r.Mechanism,
			Salt: slices.Clone(r.Salt), StoredKey: slices.Clone(r.StoredKey), ServerKey: slices.Clone(r.ServerKey), Iterations: r.Iterations}
	case *records.RemoveUserScramCredentialRecord:
		delete(v.scram, image.ScramKey{Name: r.Name, Mechanism: r.Mechanism})
	case *records.AccessControlEntryRecord:
		v.addACL(r.Id, aclResource{r.ResourceType, r.ResourceName, r.PatternType}, aclEntry{r.Principal, r.Host, r.Operation, r.PermissionType})
	case *records.RemoveAccessControlEntryRecord:
		if ref, ok := v.aclIDs[r.Id]; ok {
			delete(v.aclIDs, r.Id)
			if m := v.acls[ref.res]; m != nil {
				delete(m, ref.entry)
				if len(m) == 0 {
					delete(v.acls, ref.res)
				}
			}
		}
	case *records.DelegationTokenRecord:
		v.tokens[r.TokenId] = image.DelegationToken{TokenID: r.TokenId, Owner: r.Owner, Requester: r.Requester,
			Renewers: slices.Clone(r.Renewers), IssueTimestamp: r.IssueTimestamp, MaxTimestamp: r.MaxTimestamp, ExpirationTimestamp: r.ExpirationTimestamp}
	case *records.RemoveDelegationTokenRecord:
		delete(v.tokens, r.TokenId)
	}
	return nil
}

// objects lists every object the view holds, as mirror object keys, so a
// full resync also visits objects ZooKeeper no longer has.
func (v *view) objects() []objKey {
	var out []objKey
	for _, t := range v.im.Topics() {
		out = append(out, objKey{kind: kindTopic, name: t.Name})
	}
	for _, r := range v.im.ConfigResources() {
		if r.Type == kafka.ConfigResourceBroker {
			name := r.Name
			if name == "" {
				name = kafka.DefaultEntity
			}
			out = append(out, objKey{kind: kindBrokerConfig, name: name})
		}
	}
	seen := map[string]bool{}
	for _, q := range v.im.QuotaEntities() {
		parts := make([]entityPart, len(q.Entity))
		for i, p := range q.Entity {
			parts[i] = entityPart{p.Type, p.Name}
		}
		if p, ok := quotaPathOf(parts); ok && !seen[p] {
			seen[p] = true
			out = append(out, objKey{kind: kindQuota, name: p})
		}
	}
	for k := range v.scram {
		n := k.Name
		if p, ok := quotaPathOf([]entityPart{{kafka.QuotaEntityUser, &n}}); ok && !seen[p] {
			seen[p] = true
			out = append(out, objKey{kind: kindQuota, name: p})
		}
	}
	for res := range v.acls {
		if p, ok := aclPath(res.resourceType, res.patternType, res.name); ok {
			out = append(out, objKey{kind: kindACL, name: p})
		}
	}
	for id := range v.tokens {
		out = append(out, objKey{kind: kindToken, name: id})
	}
	out = append(out, objKey{kind: kindProducerID})
	return out
}

func equalInt32s(a, b []int32) bool { return slices.Equal(a, b) }

func sameScram(a, b image.ScramCredential) bool {
	return a.Iterations == b.Iterations && bytes.Equal(a.Salt, b.Salt) && bytes.Equal(a.StoredKey, b.StoredKey) && bytes.Equal(a.ServerKey, b.ServerKey)
}

func describe(rec records.Versioned) string {
	switch r := rec.Record.(type) {
	case *records.TopicRecord:
		return fmt.Sprintf("TopicRecord %s %s", r.Name, r.TopicId)
	case *records.PartitionRecord:
		return fmt.Sprintf("PartitionRecord %s-%d", r.TopicId, r.PartitionId)
	case *records.PartitionChangeRecord:
		return fmt.Sprintf("PartitionChangeRecord %s-%d", r.TopicId, r.PartitionId)
	}
	return rec.Record.TypeName()
}
