package image

import (
	"fmt"
	"slices"
	"strings"

	"github.com/zk2kraft/zk2kraft/kafka"
	"github.com/zk2kraft/zk2kraft/translate/records"
)

// Sections of the image, in MetadataImage.write order.
const (
	SectionFeatures         = "features"
	SectionCluster          = "cluster"
	SectionTopics           = "topics"
	SectionConfigs          = "configs"
	SectionClientQuotas     = "clientQuotas"
	SectionProducerIDs      = "producerIds"
	SectionACLs             = "acls"
	SectionScram            = "scram"
	SectionDelegationTokens = "delegationTokens"
)

// Sections lists every section in write order.
var Sections = []string{
	SectionFeatures, SectionCluster, SectionTopics, SectionConfigs, SectionClientQuotas,
	SectionProducerIDs, SectionACLs, SectionScram, SectionDelegationTokens,
}

// Records writes the whole image as records, in Kafka's MetadataImage.write
// order (features with metadata.version first, then ZkMigrationStateRecord;
// cluster; topics; configs; client quotas; producer ids; ACLs; SCRAM;
// delegation tokens), at the record versions the image's metadata.version
// selects. Objects inside a section are sorted (topics by name, partitions
// by id, ...) so that the output is deterministic. What the metadata.version
// cannot express is left out; RecordsWithLosses says what.
func (im *Image) Records() []records.Versioned {
	out, _ := im.RecordsWithLosses()
	return out
}

// RecordsWithLosses is Records plus a description of everything the image's
// metadata.version cannot express (Kafka's ImageWriterOptions loss handler).
func (im *Image) RecordsWithLosses() ([]records.Versioned, []string) {
	w := &writer{mv: im.writeVersion()}
	for _, s := range Sections {
		im.writeSection(w, s)
	}
	return w.out, w.losses
}

// SectionRecords writes one section only.
func (im *Image) SectionRecords(section string) []records.Versioned {
	w := &writer{mv: im.writeVersion()}
	im.writeSection(w, section)
	return w.out
}

// EachSectionRecord gives fn the records SectionRecords returns, one at a
// time, without holding them all.
func (im *Image) EachSectionRecord(section string, fn func(records.Versioned)) {
	im.writeSection(&writer{mv: im.writeVersion(), each: fn}, section)
}

func (im *Image) writeVersion() MetadataVersion {
	mv, ok := im.MetadataVersion()
	if !ok {
		return MetadataVersion{Name: "none", Level: 0}
	}
	return mv
}

type writer struct {
	mv     MetadataVersion
	out    []records.Versioned
	losses []string
	// each, when set, takes every record instead of out (a section is
	// streamed, not held: a million partitions' records, say).
	each func(records.Versioned)
}

func (w *writer) add(r records.Record, version int16) {
	if w.each != nil {
		w.each(records.Versioned{Record: r, Version: version})
		return
	}
	w.out = append(w.out, records.Versioned{Record: r, Version: version})
}

func (w *writer) loss(format string, args ...any) {
	w.losses = append(w.losses, fmt.Sprintf(format, args...))
}

func (im *Image) writeSection(w *writer, s string) {
	switch s {
	case SectionFeatures:
		im.writeFeatures(w)
	case SectionCluster:
		im.writeCluster(w)
	case SectionTopics:
		im.writeTopics(w)
	case SectionConfigs:
		for _, res := range im.ConfigResources() {
			m := im.configs[res]
			for _, k := range sortedKeys(m) {
				v := m[k]
				w.add(&records.ConfigRecord{ResourceType: res.Type, ResourceName: res.Name, Name: k, Value: &v}, 0)
			}
		}
	case SectionClientQuotas:
		for _, q := range im.QuotaEntities() {
			for _, k := range sortedKeys(q.Values) {
				ent := make([]records.ClientQuotaRecordEntityData, len(q.Entity))
				for i, p := range cloneEntity(q.Entity) {
					ent[i] = records.ClientQuotaRecordEntityData{EntityType: p.Type, EntityName: p.Name}
				}
				w.add(&records.ClientQuotaRecord{Entity: ent, Key: k, Value: q.Values[k]}, 0)
			}
		}
	case SectionProducerIDs:
		// ProducerIdsImage.write: broker id and epoch are not kept.
		if im.nextProducerID >= 0 {
			w.add(&records.ProducerIdsRecord{BrokerId: -1, BrokerEpoch: -1, NextProducerId: im.nextProducerID}, 0)
		}
	case SectionACLs:
		for _, a := range im.ACLs() {
			w.add(&records.AccessControlEntryRecord{
				Id: a.ID, ResourceType: a.ResourceType, ResourceName: a.ResourceName, PatternType: a.PatternType,
				Principal: a.Principal, Host: a.Host, Operation: a.Operation, PermissionType: a.PermissionType,
			}, 0)
		}
	case SectionScram:
		creds := im.ScramCredentials()
		if len(creds) > 0 && !w.mv.ScramSupported() {
			w.loss("%d SCRAM credential(s): metadata.version %s < 3.5-IV2", len(creds), w.mv)
			return
		}
		for _, c := range creds {
			w.add(&records.UserScramCredentialRecord{
				Name: c.Name, Mechanism: c.Mechanism, Salt: slices.Clone(c.Salt),
				StoredKey: slices.Clone(c.StoredKey), ServerKey: slices.Clone(c.ServerKey), Iterations: c.Iterations,
			}, 0)
		}
	case SectionDelegationTokens:
		toks := im.DelegationTokens()
		if len(toks) > 0 && !w.mv.DelegationTokenSupported() {
			w.loss("%d delegation token(s): metadata.version %s < 3.6-IV2", len(toks), w.mv)
			return
		}
		for _, t := range toks {
			w.add(&records.DelegationTokenRecord{
				Owner: t.Owner, Requester: t.Requester, Renewers: slices.Clone(t.Renewers),
				IssueTimestamp: t.IssueTimestamp, MaxTimestamp: t.MaxTimestamp,
				ExpirationTimestamp: t.ExpirationTimestamp, TokenId: t.TokenID,
			}, 0)
		}
	}
}

// writeFeatures is FeaturesImage.write: metadata.version first (v0), the
// other finalized features (sorted by name), then ZkMigrationStateRecord
// when the version supports migration.
func (im *Image) writeFeatures(w *writer) {
	if l, ok := im.features[MetadataVersionFeature]; ok {
		w.add(&records.FeatureLevelRecord{Name: MetadataVersionFeature, FeatureLevel: l}, 0)
	}
	for _, name := range sortedKeys(im.features) {
		if name != MetadataVersionFeature {
			w.add(&records.FeatureLevelRecord{Name: name, FeatureLevel: im.features[name]}, 0)
		}
	}
	if w.mv.MigrationSupported() {
		w.add(&records.ZkMigrationStateRecord{ZkMigrationState: im.zkMigrationState}, 0)
	} else if im.zkMigrationState != kafka.MigrationStateNone {
		w.loss("ZkMigrationState %d: metadata.version %s < 3.4-IV0", im.zkMigrationState, w.mv)
	}
}

// writeCluster is ClusterImage.write: brokers (BrokerRegistration.toRecord),
// then controllers.
func (im *Image) writeCluster(w *writer) {
	ver := w.mv.RegisterBrokerRecordVersion()
	for _, b := range im.Brokers() {
		r := &records.RegisterBrokerRecord{
			BrokerId: b.ID, IncarnationId: b.IncarnationID, BrokerEpoch: b.Epoch, Fenced: b.Fenced,
			InControlledShutdown: b.InControlledShutdown, IsMigratingZkBroker: b.IsMigratingZkBroker,
		}
		if b.Rack != nil {
			rack := *b.Rack
			r.Rack = &rack
		}
		for _, e := range b.Endpoints {
			r.EndPoints = append(r.EndPoints, records.RegisterBrokerRecordBrokerEndpoint{Name: e.Name, Host: e.Host, Port: e.Port, SecurityProtocol: e.SecurityProtocol})
		}
		for _, f := range b.Features {
			r.Features = append(r.Features, records.RegisterBrokerRecordBrokerFeature{Name: f.Name, MinSupportedVersion: f.Min, MaxSupportedVersion: f.Max})
		}
		if len(b.LogDirs) > 0 {
			if w.mv.DirectoryAssignmentSupported() {
				r.LogDirs = slices.Clone(b.LogDirs)
			} else {
				w.loss("broker %d log directories: metadata.version %s < 3.7-IV2", b.ID, w.mv)
			}
		}
		if b.IsMigratingZkBroker && ver < 2 {
			w.loss("broker %d isMigratingZkBroker: metadata.version %s < 3.4-IV0", b.ID, w.mv)
		}
		if b.InControlledShutdown && ver < 1 {
			w.loss("broker %d inControlledShutdown: metadata.version %s < 3.3-IV3", b.ID, w.mv)
		}
		w.add(r, ver)
	}
	ctls := im.Controllers()
	if len(ctls) > 0 && !w.mv.ControllerRegistrationSupported() {
		w.loss("%d controller registration(s): metadata.version %s < 3.7-IV0", len(ctls), w.mv)
		return
	}
	for _, c := range ctls {
		r := &records.RegisterControllerRecord{ControllerId: c.ID, IncarnationId: c.IncarnationID, ZkMigrationReady: c.ZkMigrationReady}
		for _, e := range c.Endpoints {
			r.EndPoints = append(r.EndPoints, records.RegisterControllerRecordControllerEndpoint{Name: e.Name, Host: e.Host, Port: e.Port, SecurityProtocol: e.SecurityProtocol})
		}
		for _, f := range c.Features {
			r.Features = append(r.Features, records.RegisterControllerRecordControllerFeature{Name: f.Name, MinSupportedVersion: f.Min, MaxSupportedVersion: f.Max})
		}
		w.add(r, 0)
	}
}

// writeTopics is TopicsImage.write: per topic a TopicRecord, then one
// PartitionRecord per partition (PartitionRegistration.toRecord): v0 below
// 3.7-IV2, v1 with directories (MIGRATING when unknown) from 3.7-IV2, v2 with
// the ELR fields from 4.0-IV0.
func (im *Image) writeTopics(w *writer) {
	pv := w.mv.PartitionRecordVersion()
	topics := im.Topics()
	n := len(topics)
	for _, t := range topics {
		n += len(t.Partitions)
	}
	if w.each == nil {
		w.out = slices.Grow(w.out, n)
	}
	for _, t := range topics {
		w.add(&records.TopicRecord{Name: t.Name, TopicId: t.ID}, 0)
		for i := range t.Partitions {
			p := &t.Partitions[i]
			r := &records.PartitionRecord{
				PartitionId: p.ID, TopicId: t.ID, Replicas: nonNil(p.Replicas), Isr: nonNil(p.ISR),
				RemovingReplicas: nonNil(p.RemovingReplicas), AddingReplicas: nonNil(p.AddingReplicas),
				Leader: p.Leader, LeaderRecoveryState: p.LeaderRecoveryState, LeaderEpoch: p.LeaderEpoch,
				PartitionEpoch: p.PartitionEpoch,
			}
			if pv >= 1 {
				r.Directories = p.DirectoriesOrMigrating()
			} else if p.Directories != nil {
				w.loss("%s-%d directory assignment: metadata.version %s < 3.7-IV2", t.Name, p.ID, w.mv)
			}
			if pv >= 2 {
				if len(p.ELR) > 0 {
					r.EligibleLeaderReplicas = slices.Clone(p.ELR)
				}
				if len(p.LastKnownELR) > 0 {
					r.LastKnownElr = slices.Clone(p.LastKnownELR)
				}
			}
			w.add(r, pv)
		}
	}
}

func nonNil(s []int32) []int32 {
	if s == nil {
		return []int32{}
	}
	return s
}

// describeACL renders an ACL's content (without its id).
func describeACL(a *ACL) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s:%s:%s %s@%s %s %s", enumName(kafka.ResourceTypeCodes, a.ResourceType),
		enumName(kafka.PatternTypeCodes, a.PatternType), a.ResourceName, a.Principal, a.Host,
		enumName(kafka.OperationCodes, a.Operation), enumName(kafka.PermissionTypeCodes, a.PermissionType))
	return b.String()
}

func enumName(codes map[string]int8, c int8) string {
	for k, v := range codes {
		if v == c {
			return k
		}
	}
	return fmt.Sprintf("code%d", c)
}
