package image

import (
	"fmt"
	"math"
	"slices"

	"github.com/zk2kraft/zk2kraft/kafka"
	"github.com/zk2kraft/zk2kraft/translate/records"
)

// Directory ids Kafka reserves (server-common DirectoryId.java).
var (
	DirMigrating  = kafka.UUID{}
	DirUnassigned = kafka.UUID{15: 1}
	DirLost       = kafka.UUID{15: 2}
)

// ApplyError is returned for a record that contradicts the image.
type ApplyError struct {
	Type   string // record type name
	Reason string
}

func (e *ApplyError) Error() string { return "apply " + e.Type + ": " + e.Reason }

func reject(r records.Record, format string, args ...any) error {
	return &ApplyError{Type: r.TypeName(), Reason: fmt.Sprintf(format, args...)}
}

// Apply replays one record onto the image, as Kafka's controller and
// MetadataDelta do. A record that contradicts the image returns an
// *ApplyError and changes nothing.
//
// Transactions: while one is open, Apply journals what each record replaces;
// AbortTransactionRecord undoes the transaction's records (the cost is
// proportional to them), EndTransactionRecord drops the journal.
func (im *Image) Apply(v records.Versioned) error {
	if v.Record == nil {
		return &ApplyError{Type: "nil", Reason: "no record"}
	}
	switch r := v.Record.(type) {
	case *records.TopicRecord:
		return im.applyTopic(r)
	case *records.PartitionRecord:
		return im.applyPartition(r)
	case *records.PartitionChangeRecord:
		return im.applyPartitionChange(r)
	case *records.RemoveTopicRecord:
		return im.applyRemoveTopic(r)
	case *records.ConfigRecord:
		return im.applyConfig(r)
	case *records.ClientQuotaRecord:
		return im.applyQuota(r)
	case *records.UserScramCredentialRecord:
		if r.Mechanism != 1 && r.Mechanism != 2 {
			return reject(r, "user %q: unknown SCRAM mechanism %d (want 1 SCRAM-SHA-256 or 2 SCRAM-SHA-512)", r.Name, r.Mechanism)
		}
		im.putScram(ScramKey{r.Name, r.Mechanism}, &ScramCredential{
			Name: r.Name, Mechanism: r.Mechanism, Salt: slices.Clone(r.Salt),
			StoredKey: slices.Clone(r.StoredKey), ServerKey: slices.Clone(r.ServerKey), Iterations: r.Iterations,
		})
		return nil
	case *records.RemoveUserScramCredentialRecord:
		k := ScramKey{r.Name, r.Mechanism}
		if im.scram[k] == nil {
			return reject(r, "no SCRAM credential for user %q mechanism %d", r.Name, r.Mechanism)
		}
		im.putScram(k, nil)
		return nil
	case *records.AccessControlEntryRecord:
		return im.applyACL(r)
	case *records.RemoveAccessControlEntryRecord:
		if im.acls[r.Id] == nil {
			return reject(r, "no ACL with id %s", r.Id)
		}
		im.putACL(r.Id, nil)
		return nil
	case *records.ProducerIdsRecord:
		if r.NextProducerId <= im.nextProducerID {
			return reject(r, "next producer id %d is not greater than the current %d", r.NextProducerId, im.nextProducerID)
		}
		im.save(undo{kind: undoProducerID, obj: im.nextProducerID})
		im.nextProducerID = r.NextProducerId
		return nil
	case *records.DelegationTokenRecord:
		if r.TokenId == "" {
			return reject(r, "empty token id")
		}
		im.putToken(r.TokenId, &DelegationToken{
			TokenID: r.TokenId, Owner: r.Owner, Requester: r.Requester, Renewers: slices.Clone(r.Renewers),
			IssueTimestamp: r.IssueTimestamp, MaxTimestamp: r.MaxTimestamp, ExpirationTimestamp: r.ExpirationTimestamp,
		})
		return nil
	case *records.RemoveDelegationTokenRecord:
		if im.tokens[r.TokenId] == nil {
			return reject(r, "no delegation token %q", r.TokenId)
		}
		im.putToken(r.TokenId, nil)
		return nil
	case *records.FeatureLevelRecord:
		if r.Name == MetadataVersionFeature {
			if _, ok := MetadataVersionFromLevel(r.FeatureLevel); !ok {
				return reject(r, "metadata.version level %d is not a known metadata version (1…22)", r.FeatureLevel)
			}
		}
		old, had := im.features[r.Name]
		im.save(undo{kind: undoFeature, key: r.Name, obj: old, had: had})
		if r.FeatureLevel == 0 {
			delete(im.features, r.Name)
		} else {
			im.features[r.Name] = r.FeatureLevel
		}
		return nil
	case *records.ZkMigrationStateRecord:
		if r.ZkMigrationState < 0 || r.ZkMigrationState > 3 {
			return reject(r, "unknown ZkMigrationState %d (want 0 NONE, 1 MIGRATION, 2 PRE_MIGRATION or 3 POST_MIGRATION)", r.ZkMigrationState)
		}
		im.save(undo{kind: undoZkState, i8: im.zkMigrationState})
		im.zkMigrationState = r.ZkMigrationState
		return nil
	case *records.RegisterBrokerRecord:
		return im.applyRegisterBroker(r)
	case *records.UnregisterBrokerRecord:
		b := im.brokers[r.BrokerId]
		if b == nil {
			return reject(r, "no registration for broker %d", r.BrokerId)
		}
		if b.Epoch != r.BrokerEpoch {
			return reject(r, "broker %d is registered with epoch %d, not %d", r.BrokerId, b.Epoch, r.BrokerEpoch)
		}
		im.putBroker(r.BrokerId, nil)
		return nil
	case *records.FenceBrokerRecord:
		return im.changeBroker(r, r.Id, r.Epoch, 1, 0, nil)
	case *records.UnfenceBrokerRecord:
		return im.changeBroker(r, r.Id, r.Epoch, -1, 0, nil)
	case *records.BrokerRegistrationChangeRecord:
		if r.Fenced < -1 || r.Fenced > 1 {
			return reject(r, "broker %d: unknown value %d for Fenced (want -1, 0 or 1)", r.BrokerId, r.Fenced)
		}
		if r.InControlledShutdown < 0 || r.InControlledShutdown > 1 {
			return reject(r, "broker %d: unknown value %d for InControlledShutdown (want 0 or 1)", r.BrokerId, r.InControlledShutdown)
		}
		var logDirs []kafka.UUID
		if r.LogDirs != nil && v.Version >= 2 {
			logDirs = slices.Clone(r.LogDirs)
		}
		return im.changeBroker(r, r.BrokerId, r.BrokerEpoch, r.Fenced, r.InControlledShutdown, logDirs)
	case *records.RegisterControllerRecord:
		c := &Controller{ID: r.ControllerId, IncarnationID: r.IncarnationId, ZkMigrationReady: r.ZkMigrationReady}
		for _, e := range r.EndPoints {
			c.Endpoints = append(c.Endpoints, Endpoint{e.Name, e.Host, e.Port, e.SecurityProtocol})
		}
		for _, f := range r.Features {
			c.Features = append(c.Features, FeatureRange{f.Name, f.MinSupportedVersion, f.MaxSupportedVersion})
		}
		im.save(undo{kind: undoController, idx: r.ControllerId, obj: im.controllers[r.ControllerId]})
		im.controllers[r.ControllerId] = c
		return nil
	case *records.BeginTransactionRecord:
		if im.inTxn {
			return reject(r, "transaction %q is still open", im.txnName)
		}
		name := ""
		if r.Name != nil {
			name = *r.Name
		}
		im.saveTxn()
		im.inTxn, im.txnName, im.txnMark = true, name, len(im.journal)
		return nil
	case *records.EndTransactionRecord:
		if !im.inTxn {
			return reject(r, "no open transaction")
		}
		im.saveTxn()
		im.inTxn, im.txnName, im.txnMark = false, "", 0
		if !im.journaling() {
			im.clearJournal()
		}
		return nil
	case *records.AbortTransactionRecord:
		if !im.inTxn {
			return reject(r, "no open transaction")
		}
		im.rollback(im.txnMark)
		im.saveTxn()
		im.inTxn, im.txnName, im.txnMark = false, "", 0
		if !im.journaling() {
			im.clearJournal()
		}
		return nil
	case *records.NoOpRecord:
		return nil
	}
	return &ApplyError{Type: v.Record.TypeName(), Reason: "record type not supported by the image"}
}

func (im *Image) applyTopic(r *records.TopicRecord) error {
	if r.Name == "" {
		return reject(r, "empty topic name")
	}
	if r.TopicId.IsZero() {
		return reject(r, "topic %q has the zero topic id", r.Name)
	}
	if t := im.topicsByID[r.TopicId]; t != nil {
		return reject(r, "topic id %s of %q is already used by topic %q", r.TopicId, r.Name, t.Name)
	}
	if t := im.topicsByName[r.Name]; t != nil {
		return reject(r, "topic %q already exists with id %s", r.Name, t.ID)
	}
	t := &Topic{Name: r.Name, ID: r.TopicId}
	im.save(undo{kind: undoTopicAdded, uuid: r.TopicId})
	im.topicsByID[r.TopicId] = t
	im.topicsByName[r.Name] = t
	return nil
}

func validLRS(s int8) bool { return s == 0 || s == 1 }

func (im *Image) applyPartition(r *records.PartitionRecord) error {
	t := im.topicsByID[r.TopicId]
	if t == nil {
		return reject(r, "partition %d of unknown topic id %s", r.PartitionId, r.TopicId)
	}
	if r.PartitionId < 0 {
		return reject(r, "topic %q: negative partition id %d", t.Name, r.PartitionId)
	}
	if len(r.Directories) > 0 && len(r.Directories) != len(r.Replicas) {
		return reject(r, "%s-%d: %d directories for %d replicas", t.Name, r.PartitionId, len(r.Directories), len(r.Replicas))
	}
	if !validLRS(r.LeaderRecoveryState) {
		return reject(r, "%s-%d: unknown leader recovery state %d (want 0 or 1)", t.Name, r.PartitionId, r.LeaderRecoveryState)
	}
	// Replicas and ISR share one allocation.
	buf := make([]int32, len(r.Replicas)+len(r.Isr))
	copy(buf, r.Replicas)
	copy(buf[len(r.Replicas):], r.Isr)
	p := Partition{
		ID:                  r.PartitionId,
		Leader:              r.Leader,
		LeaderEpoch:         r.LeaderEpoch,
		PartitionEpoch:      r.PartitionEpoch,
		LeaderRecoveryState: r.LeaderRecoveryState,
		Replicas:            buf[:len(r.Replicas):len(r.Replicas)],
		ISR:                 buf[len(r.Replicas):],
		AddingReplicas:      cloneNonEmpty(r.AddingReplicas),
		RemovingReplicas:    cloneNonEmpty(r.RemovingReplicas),
		Directories:         compactDirs(r.Directories),
		ELR:                 cloneNonEmpty(r.EligibleLeaderReplicas),
		LastKnownELR:        cloneNonEmpty(r.LastKnownElr),
	}
	i, found := t.find(r.PartitionId)
	if found {
		if im.journaling() {
			old := t.Partitions[i]
			im.save(undo{kind: undoPartitionSet, uuid: t.ID, idx: int32(i), obj: &old})
		}
		t.Partitions[i] = p
		return nil
	}
	im.save(undo{kind: undoPartitionInserted, uuid: t.ID, idx: int32(i)})
	if i == len(t.Partitions) {
		t.Partitions = append(t.Partitions, p) // the common case: partitions in order
	} else {
		t.Partitions = slices.Insert(t.Partitions, i, p)
	}
	im.partitions++
	return nil
}

func cloneNonEmpty(s []int32) []int32 {
	if len(s) == 0 {
		return nil
	}
	return slices.Clone(s)
}

// compactDirs returns nil when every directory is MIGRATING (the default a
// v0 record implies), else a copy.
func compactDirs(d []kafka.UUID) []kafka.UUID {
	for _, u := range d {
		if u != DirMigrating {
			return slices.Clone(d)
		}
	}
	return nil
}

// applyPartitionChange merges a PartitionChangeRecord as Kafka's
// PartitionRegistration.merge does: only non-null fields change; a leader
// change bumps the leader epoch; every change bumps the partition epoch.
func (im *Image) applyPartitionChange(r *records.PartitionChangeRecord) error {
	t := im.topicsByID[r.TopicId]
	if t == nil {
		return reject(r, "change to partition %d of unknown topic id %s", r.PartitionId, r.TopicId)
	}
	i, found := t.find(r.PartitionId)
	if !found {
		return reject(r, "change to unknown partition %s-%d", t.Name, r.PartitionId)
	}
	if r.Replicas != nil && len(r.Directories) > 0 && len(r.Replicas) != len(r.Directories) {
		return reject(r, "%s-%d: %d directories for %d replicas", t.Name, r.PartitionId, len(r.Directories), len(r.Replicas))
	}
	if r.LeaderRecoveryState != -1 && !validLRS(r.LeaderRecoveryState) {
		return reject(r, "%s-%d: unknown leader recovery state %d (want -1, 0 or 1)", t.Name, r.PartitionId, r.LeaderRecoveryState)
	}
	old := &t.Partitions[i]
	if r.Replicas == nil && len(r.Directories) > 0 && len(r.Directories) != len(old.Replicas) {
		return reject(r, "%s-%d: %d directories for %d replicas", t.Name, r.PartitionId, len(r.Directories), len(old.Replicas))
	}
	p := clonePartition(old)
	if r.Replicas != nil {
		p.Replicas = slices.Clone(r.Replicas)
	}
	switch {
	case len(r.Directories) > 0:
		p.Directories = compactDirs(r.Directories)
	case r.Replicas != nil:
		// DirectoryId.createDirectoriesFrom: kept replicas keep their
		// directory, new ones get UNASSIGNED.
		oldDirs := old.DirectoriesOrMigrating()
		dirs := make([]kafka.UUID, len(r.Replicas))
		for j, b := range r.Replicas {
			dirs[j] = DirUnassigned
			for k, ob := range old.Replicas {
				if ob == b {
					dirs[j] = oldDirs[k]
					break
				}
			}
		}
		p.Directories = compactDirs(dirs)
	}
	if r.Isr != nil {
		p.ISR = slices.Clone(r.Isr)
	}
	if r.RemovingReplicas != nil {
		p.RemovingReplicas = cloneNonEmpty(r.RemovingReplicas)
	}
	if r.AddingReplicas != nil {
		p.AddingReplicas = cloneNonEmpty(r.AddingReplicas)
	}
	if r.Leader != -2 {
		p.Leader = r.Leader
		p.LeaderEpoch = old.LeaderEpoch + 1
	}
	if r.LeaderRecoveryState != -1 {
		p.LeaderRecoveryState = r.LeaderRecoveryState
	}
	if r.EligibleLeaderReplicas != nil {
		p.ELR = cloneNonEmpty(r.EligibleLeaderReplicas)
	}
	if r.LastKnownElr != nil {
		p.LastKnownELR = cloneNonEmpty(r.LastKnownElr)
	}
	p.PartitionEpoch = old.PartitionEpoch + 1
	if im.journaling() {
		saved := *old
		im.save(undo{kind: undoPartitionSet, uuid: t.ID, idx: int32(i), obj: &saved})
	}
	t.Partitions[i] = p
	return nil
}

func (im *Image) applyRemoveTopic(r *records.RemoveTopicRecord) error {
	t := im.topicsByID[r.TopicId]
	if t == nil {
		return reject(r, "unknown topic id %s", r.TopicId)
	}
	res := ConfigResource{kafka.ConfigResourceTopic, t.Name}
	im.save(undo{kind: undoTopicRemoved, obj: &topicRemoval{topic: t, config: im.configs[res]}})
	delete(im.topicsByID, t.ID)
	delete(im.topicsByName, t.Name)
	im.partitions -= len(t.Partitions)
	// MetadataDelta.replay(RemoveTopicRecord) also drops the topic's configs.
	delete(im.configs, res)
	return nil
}

func (im *Image) applyConfig(r *records.ConfigRecord) error {
	switch r.ResourceType {
	case 2, 4, 8, 16:
	default:
		return reject(r, "unknown config resource type %d (want 2 topic, 4 broker, 8 broker logger or 16 client metrics)", r.ResourceType)
	}
	if r.Name == "" {
		return reject(r, "resource %s: empty config name", ConfigResource{r.ResourceType, r.ResourceName})
	}
	key := ConfigResource{r.ResourceType, r.ResourceName}
	m := im.configs[key]
	old, had := m[r.Name]
	if im.journaling() {
		im.save(undo{kind: undoConfig, obj: &configUndo{res: key, key: r.Name, old: old, had: had}})
	}
	if r.Value == nil {
		if m != nil {
			delete(m, r.Name)
			if len(m) == 0 {
				delete(im.configs, key)
			}
		}
		return nil
	}
	if m == nil {
		m = map[string]string{}
		im.configs[key] = m
	}
	m[r.Name] = *r.Value
	return nil
}

func (im *Image) applyQuota(r *records.ClientQuotaRecord) error {
	if len(r.Entity) == 0 {
		return reject(r, "key %q: empty entity", r.Key)
	}
	parts := make([]EntityPart, 0, len(r.Entity))
	seen := map[string]bool{}
	for _, e := range r.Entity {
		if kafka.QuotaEntityRank(e.EntityType) == 3 {
			return reject(r, "unknown quota entity type %q (want user, client-id or ip)", e.EntityType)
		}
		if seen[e.EntityType] {
			return reject(r, "entity type %q appears twice", e.EntityType)
		}
		seen[e.EntityType] = true
		p := EntityPart{Type: e.EntityType}
		if e.EntityName != nil {
			n := *e.EntityName
			p.Name = &n
		}
		parts = append(parts, p)
	}
	if seen[kafka.QuotaEntityIP] && len(parts) > 1 {
		return reject(r, "an ip entity cannot be combined with other entity types")
	}
	if !r.Remove && (math.IsNaN(r.Value) || math.IsInf(r.Value, 0)) {
		return reject(r, "entity %s key %q: value %v is not a finite number", EntityKey(parts), r.Key, r.Value)
	}
	slices.SortFunc(parts, func(a, b EntityPart) int { return kafka.QuotaEntityRank(a.Type) - kafka.QuotaEntityRank(b.Type) })
	k := EntityKey(parts)
	old := im.quotas[k]
	if r.Remove {
		if old == nil {
			return nil
		}
		if _, ok := old.Values[r.Key]; !ok {
			return nil
		}
	}
	// Replace the entity (saved objects are never modified).
	q := &QuotaEntity{Entity: parts, Values: map[string]float64{}}
	if old != nil {
		q.Entity = old.Entity
		for kk, vv := range old.Values {
			q.Values[kk] = vv
		}
	}
	if r.Remove {
		delete(q.Values, r.Key)
	} else {
		q.Values[r.Key] = r.Value
	}
	im.save(undo{kind: undoQuota, key: k, obj: old})
	if len(q.Values) == 0 {
		delete(im.quotas, k)
	} else {
		im.quotas[k] = q
	}
	return nil
}

func (im *Image) applyACL(r *records.AccessControlEntryRecord) error {
	if r.Id.IsZero() {
		return reject(r, "zero ACL id")
	}
	if old := im.acls[r.Id]; old != nil {
		return reject(r, "ACL id %s already exists", r.Id)
	}
	if r.ResourceType < 2 || r.ResourceType > 7 {
		return reject(r, "ACL %s: unknown resource type %d (want 2…7)", r.Id, r.ResourceType)
	}
	if r.PatternType != 3 && r.PatternType != 4 {
		return reject(r, "ACL %s: unknown pattern type %d (want 3 LITERAL or 4 PREFIXED)", r.Id, r.PatternType)
	}
	if r.Operation < 2 || r.Operation > 14 {
		return reject(r, "ACL %s: unknown operation %d (want 2…14)", r.Id, r.Operation)
	}
	if r.PermissionType != 2 && r.PermissionType != 3 {
		return reject(r, "ACL %s: unknown permission type %d (want 2 DENY or 3 ALLOW)", r.Id, r.PermissionType)
	}
	im.putACL(r.Id, &ACL{
		ID: r.Id, ResourceType: r.ResourceType, ResourceName: r.ResourceName, PatternType: r.PatternType,
		Principal: r.Principal, Host: r.Host, Operation: r.Operation, PermissionType: r.PermissionType,
	})
	return nil
}

func (im *Image) applyRegisterBroker(r *records.RegisterBrokerRecord) error {
	if r.BrokerId < 0 {
		return reject(r, "negative broker id %d", r.BrokerId)
	}
	b := &Broker{
		ID: r.BrokerId, Epoch: r.BrokerEpoch, IncarnationID: r.IncarnationId, Fenced: r.Fenced,
		InControlledShutdown: r.InControlledShutdown, IsMigratingZkBroker: r.IsMigratingZkBroker,
		LogDirs: slices.Clone(r.LogDirs),
	}
	if len(b.LogDirs) == 0 {
		b.LogDirs = nil
	}
	if r.Rack != nil {
		rack := *r.Rack
		b.Rack = &rack
	}
	names := map[string]bool{}
	for _, e := range r.EndPoints {
		if names[e.Name] {
			return reject(r, "broker %d: listener %q appears twice", r.BrokerId, e.Name)
		}
		names[e.Name] = true
		b.Endpoints = append(b.Endpoints, Endpoint{e.Name, e.Host, e.Port, e.SecurityProtocol})
	}
	for _, f := range r.Features {
		b.Features = append(b.Features, FeatureRange{f.Name, f.MinSupportedVersion, f.MaxSupportedVersion})
	}
	im.putBroker(r.BrokerId, b)
	return nil
}

// changeBroker applies a fencing (1 fence, -1 unfence, 0 none) and
// controlled-shutdown (1 yes, 0 none) change, as ClusterControlManager
// replayRegistrationChange does.
func (im *Image) changeBroker(r records.Record, id int32, epoch int64, fenced, shutdown int8, logDirs []kafka.UUID) error {
	old := im.brokers[id]
	if old == nil {
		return reject(r, "no registration for broker %d", id)
	}
	if old.Epoch != epoch {
		return reject(r, "broker %d is registered with epoch %d, not %d", id, old.Epoch, epoch)
	}
	b := *old
	switch fenced {
	case 1:
		b.Fenced = true
	case -1:
		b.Fenced = false
	}
	if shutdown == 1 {
		b.InControlledShutdown = true
	}
	if logDirs != nil {
		b.LogDirs = logDirs
	}
	im.putBroker(id, &b)
	return nil
}

// Journaled replacements of whole objects (nil deletes).

func (im *Image) putBroker(id int32, b *Broker) {
	im.save(undo{kind: undoBroker, idx: id, obj: im.brokers[id]})
	if b == nil {
		delete(im.brokers, id)
	} else {
		im.brokers[id] = b
	}
}

func (im *Image) putScram(k ScramKey, c *ScramCredential) {
	im.save(undo{kind: undoScram, obj: &scramUndo{key: k, old: im.scram[k]}})
	if c == nil {
		delete(im.scram, k)
	} else {
		im.scram[k] = c
	}
}

func (im *Image) putACL(id kafka.UUID, a *ACL) {
	im.save(undo{kind: undoACL, uuid: id, obj: im.acls[id]})
	if a == nil {
		delete(im.acls, id)
	} else {
		im.acls[id] = a
	}
}

func (im *Image) putToken(id string, t *DelegationToken) {
	im.save(undo{kind: undoToken, key: id, obj: im.tokens[id]})
	if t == nil {
		delete(im.tokens, id)
	} else {
		im.tokens[id] = t
	}
}

func (im *Image) saveTxn() {
	im.save(undo{kind: undoTxn, obj: &txnState{inTxn: im.inTxn, name: im.txnName, mark: im.txnMark}})
}
