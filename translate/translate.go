// Package translate turns a zkreader.Snapshot of a ZooKeeper-mode Kafka
// cluster into the KRaft metadata records Kafka's own ZooKeeper migration
// (KIP-866, branch 3.9) writes, following kafka-migration-spec.md §2 exactly:
//
//   - the copy (ZkMigrationClient.readAllMetadata): topics with their configs
//     and partitions, broker configs, client quotas and SCRAM credentials,
//     the producer-id block, ACLs, delegation tokens — as logical batches in
//     Kafka's order, then grouped into controller writes the way the driver's
//     BufferingBatchConsumer (≥ 200 records) and QuorumController (≤ 10,000
//     records per batch) group them, never over a byte limit;
//   - the framing around it (BeginTransactionRecord "ZK Migration", the copy,
//     ZkMigrationStateRecord MIGRATION, EndTransactionRecord), the bootstrap
//     records a migrating controller starts from, and a RegisterBrokerRecord
//     for each /brokers/ids/<id> as Kafka's controller writes it when that ZK
//     broker registers as a migrating broker;
//   - the image those records build (package image), whose Records() are the
//     content of a checkpoint (MetadataImage.write order).
//
// Everything Kafka does not migrate is listed in Result.Skipped with the
// reason, and every choice where zk2kraft differs from Kafka is a Finding or
// documented here:
//
//   - ACL ids are derived from the entry's content (kafka.DerivedUUID), not
//     random, so output is deterministic and a re-run never duplicates an ACL.
//   - A topic without a topic id is a blocker (Kafka's migration crashes);
//     Options.AssignedTopicIDs (see AssignTopicIDs) supplies ids.
//   - Password configs are decrypted with Options.PasswordEncoderSecret. With
//     no secret (or the wrong one) the value is NOT copied and a blocker finding
//     says so: Kafka's NOOP encoder would copy the ciphertext, which KRaft-mode
//     brokers would then use as the password. PassThroughEncryptedPasswords
//     restores Kafka's behaviour.
//   - Broker registrations: BrokerEpoch is the ZooKeeper broker epoch (the
//     czxid of /brokers/ids/<id>; Kafka's controller uses the record's log
//     offset, unknown before the quorum writes it), IncarnationId is derived
//     from the cluster id, broker id and that czxid (a new ZooKeeper session
//     of the broker is a new incarnation), Fenced is true (a new incarnation
//     is fenced until it heartbeats; no broker heartbeats to this quorum),
//     Features is what a migrating ZK broker sends: metadata.version with
//     min = max = its inter.broker.protocol.version, taken to be the target
//     metadata version as Kafka requires.
//   - PartitionRecord is written at v0 in the copy, as Kafka's migration does
//     at every metadata version; the checkpoint (an image) carries v1 with
//     MIGRATING directories at MV ≥ 3.7-IV2, as a Kafka controller's own
//     snapshot of the same state would.
package translate

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/zk2kraft/zk2kraft/image"
	"github.com/zk2kraft/zk2kraft/kafka"
	"github.com/zk2kraft/zk2kraft/progress"
	"github.com/zk2kraft/zk2kraft/translate/records"
	"github.com/zk2kraft/zk2kraft/zkreader"
)

// Batching defaults (spec §2.1).
const (
	// DefaultMinBatchRecords is zookeeper.metadata.migration.min.batch.size.
	DefaultMinBatchRecords = 200
	// MaxRecordsPerBatch is QuorumController.MAX_RECORDS_PER_BATCH.
	MaxRecordsPerBatch = 10000
	// DefaultMaxBatchBytes is KafkaRaftClient.MAX_BATCH_SIZE_BYTES (8 MiB).
	DefaultMaxBatchBytes = 8 << 20
	// ACLBatchSize is ZkMigrationClient.MaxBatchSize: ACL logical batches
	// are cut every 100 records.
	ACLBatchSize = 100
	// RecordBatchOverhead is the RecordBatch v2 header size.
	RecordBatchOverhead = 61
)

// Transaction names Kafka writes.
const (
	MigrationTransactionName = "ZK Migration"
	BootstrapTransactionName = "Bootstrap records"
)

// Options of a translation.
type Options struct {
	// MetadataVersion is the target metadata.version ("3.9-IV0" when empty).
	// Kafka 3.9 migrates only at 3.6-IV1 … 3.9-IV0.
	MetadataVersion string
	// PasswordEncoderSecret is the brokers' password.encoder.secret, used to
	// decrypt dynamic password configs. Never logged.
	PasswordEncoderSecret string
	// PassThroughEncryptedPasswords copies password configs that cannot be
	// decrypted as stored (Kafka's NOOP encoder) instead of leaving them out.
	PassThroughEncryptedPasswords bool
	// AssignedTopicIDs gives ids to topics whose znode has none.
	AssignedTopicIDs map[string]kafka.UUID
	// Now is the clock for checkpoint timestamps (default: the snapshot's
	// TakenAt, so output is deterministic).
	Now func() time.Time
	// MinBatchRecords is the buffering consumer's minimum (default 200).
	// At MaxBatchRecords or more, batches are filled: a logical batch
	// (a topic with its partitions, say) that would take the buffer over
	// MaxBatchRecords goes into the next batch.
	MinBatchRecords int
	// MaxBatchRecords caps records per controller batch (default 10,000).
	MaxBatchRecords int
	// MaxBatchBytes caps the encoded size of a RecordBatch holding one
	// controller batch (default 8 MiB). A batch is cut before a record
	// that would take it over.
	MaxBatchBytes int
	// Progress receives "translate" events (records).
	Progress progress.Func
}

// Skip is one thing that is not migrated, and why.
type Skip struct {
	Path   string `json:"path"`
	Kind   string `json:"kind"`
	Reason string `json:"reason"`
}

// Result of a translation.
type Result struct {
	MetadataVersion image.MetadataVersion
	// Registrations holds one RegisterBrokerRecord per /brokers/ids/<id>, as
	// Kafka's controller writes them when the ZK brokers register (before
	// the copy).
	Registrations []records.Versioned
	// Logical holds the logical batches of readAllMetadata (§2 steps 1–6) in
	// Kafka's order.
	Logical [][]records.Versioned
	// Batches holds the copy grouped into controller writes.
	Batches [][]records.Versioned
	// BrokerIDs are the broker ids readAllMetadata's brokerIdConsumer sees
	// (replicas, adding replicas, broker config ids), sorted.
	BrokerIDs []int32
	Skipped   []Skip
	Findings  []zkreader.Finding
	// Counts is the number of records per record type over Log().
	Counts map[string]int

	now  func() time.Time
	opts Options
}

// Blocked reports whether a finding blocks the migration.
func (r *Result) Blocked() bool {
	for _, f := range r.Findings {
		if f.Severity == zkreader.Blocker {
			return true
		}
	}
	return false
}

// Now returns the timestamp to put on output files.
func (r *Result) Now() time.Time { return r.now() }

// Bootstrap returns the records a controller formatted at the target version
// writes when it activates on an empty log with migration enabled
// (ActivationRecordsGenerator.recordsForEmptyLog): FeatureLevelRecord
// metadata.version and ZkMigrationStateRecord PRE_MIGRATION, in a
// "Bootstrap records" transaction.
func (r *Result) Bootstrap() []records.Versioned {
	name := BootstrapTransactionName
	return []records.Versioned{
		{Record: &records.BeginTransactionRecord{Name: &name}},
		{Record: &records.FeatureLevelRecord{Name: image.MetadataVersionFeature, FeatureLevel: r.MetadataVersion.Level}},
		{Record: &records.ZkMigrationStateRecord{ZkMigrationState: kafka.MigrationStatePreMigration}},
		{Record: &records.EndTransactionRecord{}},
	}
}

// Copy returns the copy as Kafka's driver writes it: a BeginTransactionRecord
// "ZK Migration" batch, the controller batches, then ZkMigrationStateRecord
// MIGRATION with EndTransactionRecord.
func (r *Result) Copy() [][]records.Versioned {
	name := MigrationTransactionName
	out := make([][]records.Versioned, 0, len(r.Batches)+2)
	out = append(out, []records.Versioned{{Record: &records.BeginTransactionRecord{Name: &name}}})
	out = append(out, r.Batches...)
	out = append(out, []records.Versioned{
		{Record: &records.ZkMigrationStateRecord{ZkMigrationState: kafka.MigrationStateMigration}},
		{Record: &records.EndTransactionRecord{}},
	})
	return out
}

// Log returns the whole metadata log of a migrated quorum, as batches:
// bootstrap, broker registrations, then the copy.
func (r *Result) Log() [][]records.Versioned {
	out := [][]records.Versioned{r.Bootstrap()}
	if len(r.Registrations) > 0 {
		out = append(out, r.Registrations)
	}
	return append(out, r.Copy()...)
}

// Image replays Log() into a new image.
func (r *Result) Image() (*image.Image, error) {
	return imageOf(r.Log())
}

// TakeImage is Image for a caller that needs only the image: the result
// gives up its records (Registrations, Logical, Batches are empty after it)
// and each batch is let go once applied, so that a large cluster's records
// and its image are not held in full at the same time.
func (r *Result) TakeImage() (*image.Image, error) {
	log := r.Log()
	r.Registrations, r.Logical, r.Batches = nil, nil, nil
	return imageOf(log)
}

// imageOf applies log to a new image, dropping each batch once applied.
// The copy's transaction markers are left out: the log is whole, so the
// transaction ends committed, and inside one the image would keep an undo
// entry per partition it will never need.
func imageOf(log [][]records.Versioned) (*image.Image, error) {
	im := image.New()
	for i, b := range log {
		for _, v := range b {
			switch v.Record.(type) {
			case *records.BeginTransactionRecord, *records.EndTransactionRecord:
				continue
			}
			if err := im.Apply(v); err != nil {
				return nil, fmt.Errorf("build image: %w", err)
			}
		}
		log[i] = nil
	}
	return im, nil
}

// SnapshotBatchRecords is the records per data batch Kafka's snapshot
// writer uses (SnapshotEmitter's batch size).
const SnapshotBatchRecords = 1024

// ErrUnsupportedMetadataVersion is returned for a target version Kafka 3.9
// cannot migrate to.
var ErrUnsupportedMetadataVersion = errors.New("unsupported metadata version")

// ResolveMetadataVersion parses a --metadata-version value (default 3.9-IV0)
// and checks that Kafka 3.9 can migrate to it (3.6-IV1 … 3.9-IV0).
func ResolveMetadataVersion(s string) (image.MetadataVersion, error) {
	if s == "" {
		return image.LatestProduction, nil
	}
	mv, err := image.ParseMetadataVersion(s)
	if err != nil {
		return mv, err
	}
	if !mv.AtLeast(image.MV3_6_IV1) {
		return mv, fmt.Errorf("%w: metadata version %s does not support ZK migrations (Kafka 3.9 needs 3.6-IV1 or newer)", ErrUnsupportedMetadataVersion, mv)
	}
	if mv.AtLeast(image.MV4_0_IV0) {
		return mv, fmt.Errorf("%w: metadata version %s is Kafka 4.0, which has no ZooKeeper migration (newest: 3.9-IV0)", ErrUnsupportedMetadataVersion, mv)
	}
	return mv, nil
}

// Translate translates a snapshot. It returns an error only for unusable
// options; problems in the snapshot become findings (a blocker for anything
// Kafka's migration would crash on) and skips. The records share slices
// (replica lists, SCRAM bytes) with snap: do not modify snap while the
// result is in use.
func Translate(snap *zkreader.Snapshot, opts Options) (*Result, error) {
	if snap == nil {
		return nil, errors.New("translate: nil snapshot")
	}
	mv, err := ResolveMetadataVersion(opts.MetadataVersion)
	if err != nil {
		return nil, fmt.Errorf("translate: --metadata-version: %w", err)
	}
	if opts.MinBatchRecords <= 0 {
		opts.MinBatchRecords = DefaultMinBatchRecords
	}
	if opts.MaxBatchRecords <= 0 {
		opts.MaxBatchRecords = MaxRecordsPerBatch
	}
	if opts.MaxBatchBytes <= 0 {
		opts.MaxBatchBytes = DefaultMaxBatchBytes
	}
	if opts.MaxBatchBytes < RecordBatchOverhead+64 {
		return nil, fmt.Errorf("translate: max batch bytes %d is too small (minimum %d)", opts.MaxBatchBytes, RecordBatchOverhead+64)
	}
	now := opts.Now
	if now == nil {
		taken := snap.TakenAt
		now = func() time.Time { return taken }
	}
	t := &translator{snap: snap, opts: opts, mv: mv, brokerIDs: map[int32]bool{},
		res: &Result{MetadataVersion: mv, now: now, opts: opts, Counts: map[string]int{}}}
	t.tracker = progress.NewTracker(opts.Progress, "translate", "records", estimateRecords(snap))
	t.registrations()
	t.topics()
	t.brokerConfigs()
	t.clientQuotas()
	t.producerID()
	t.acls()
	t.delegationTokens()
	t.notMigrated()

	res := t.res
	res.Batches, err = coalesce(res.Logical, opts.MinBatchRecords, opts.MaxBatchRecords, opts.MaxBatchBytes)
	if err != nil {
		return nil, fmt.Errorf("translate: %w", err)
	}
	for id := range t.brokerIDs {
		res.BrokerIDs = append(res.BrokerIDs, id)
	}
	slices.Sort(res.BrokerIDs)
	for _, b := range res.Log() {
		for _, v := range b {
			res.Counts[v.Record.TypeName()]++
		}
	}
	t.tracker.Finish()
	return res, nil
}

// estimateRecords is the number of records a snapshot translates to, about.
func estimateRecords(s *zkreader.Snapshot) int64 {
	n := len(s.Topics) + len(s.Scram) + len(s.DelegationTokens) + 1
	for _, t := range s.Topics {
		n += len(t.Partitions)
	}
	for _, c := range s.TopicConfigs {
		n += len(c.Config)
	}
	for _, c := range s.BrokerConfigs {
		n += len(c.Config)
	}
	for _, q := range s.Quotas {
		n += len(q.Values)
	}
	for _, a := range s.ACLs {
		n += len(a.Entries)
	}
	return int64(n)
}

type translator struct {
	snap      *zkreader.Snapshot
	opts      Options
	mv        image.MetadataVersion
	res       *Result
	brokerIDs map[int32]bool
	tracker   *progress.Tracker
	// slab hands out PartitionRecords a chunk at a time (a million
	// partitions were a million allocations).
	slab []records.PartitionRecord
}

func (t *translator) newPartitionRecord() *records.PartitionRecord {
	if len(t.slab) == 0 {
		t.slab = make([]records.PartitionRecord, 1024)
	}
	r := &t.slab[0]
	t.slab = t.slab[1:]
	return r
}

func (t *translator) emit(batch []records.Versioned) {
	if len(batch) == 0 {
		return
	}
	t.res.Logical = append(t.res.Logical, batch)
	t.tracker.Add(int64(len(batch)))
}

func (t *translator) skip(path, kind, reason string) {
	t.res.Skipped = append(t.res.Skipped, Skip{Path: path, Kind: kind, Reason: reason})
}

func (t *translator) find(f zkreader.Finding) { t.res.Findings = append(t.res.Findings, f) }

func v0(r records.Record) records.Versioned { return records.Versioned{Record: r} }

// ---- topics (§2.2) ----

func (t *translator) topics() {
	pending := map[string]bool{}
	for _, name := range t.snap.PendingDeletions {
		pending[name] = true
	}
	configs := map[string]*zkreader.EntityConfig{}
	for i := range t.snap.TopicConfigs {
		configs[t.snap.TopicConfigs[i].Name] = &t.snap.TopicConfigs[i]
	}
	topics := make([]*zkreader.Topic, len(t.snap.Topics))
	for i := range t.snap.Topics {
		topics[i] = &t.snap.Topics[i]
	}
	sort.SliceStable(topics, func(i, j int) bool { return topics[i].Name < topics[j].Name })

	idOwner := map[kafka.UUID]string{}
	seenName := map[string]bool{}
	var noID, stateless []string
	for _, topic := range topics {
		path := "/brokers/topics/" + topic.Name
		if topic.Name == "" || seenName[topic.Name] {
			t.find(zkreader.Finding{Severity: zkreader.Blocker, Code: "bad-topic", Path: path,
				Message: fmt.Sprintf("topic name %q is empty or appears twice in the snapshot", topic.Name)})
			t.skip(path, "bad-topic", "empty or duplicate topic name")
			continue
		}
		seenName[topic.Name] = true
		if pending[topic.Name] {
			t.skip(path, "topic-pending-deletion", "listed under /admin/delete_topics: Kafka (3.6+) does not migrate topics pending deletion (nor their partitions and configs); the dual-write sync deletes the topic and its /admin/delete_topics entry from ZooKeeper and brokers remove the stray logs")
			continue
		}
		var id kafka.UUID
		switch {
		case topic.TopicID != nil && !topic.TopicID.IsZero():
			id = *topic.TopicID
		case !t.opts.AssignedTopicIDs[topic.Name].IsZero():
			id = t.opts.AssignedTopicIDs[topic.Name]
		default:
			noID = append(noID, path)
			t.skip(path, "topic-without-id", "the topic znode has no topic_id (created before Kafka 2.8): Kafka's migration aborts on it; assign ids first (zk2kraft migrate --assign-topic-ids)")
			continue
		}
		if other, dup := idOwner[id]; dup {
			t.find(zkreader.Finding{Severity: zkreader.Blocker, Code: "duplicate-topic-id", Path: path, Field: "topic_id",
				Message: fmt.Sprintf("topic id %s is also the id of topic %q", id, other),
				Remedy:  "topic ids must be unique; recreate one of the topics"})
			t.skip(path, "duplicate-topic-id", "its topic id is used by topic "+other)
			continue
		}
		idOwner[id] = topic.Name
		batch := make([]records.Versioned, 0, 1+len(topic.Partitions))
		batch = append(batch, v0(&records.TopicRecord{Name: topic.Name, TopicId: id}))
		if cfg := configs[topic.Name]; cfg != nil {
			batch = append(batch, t.configRecords(kafka.ConfigResourceTopic, topic.Name, "/config/topics/"+topic.Name, cfg.Config)...)
		}
		var missing []string
		seenPart := map[int32]bool{}
		for i := range topic.Partitions {
			p := &topic.Partitions[i]
			if p.ID < 0 || seenPart[p.ID] {
				t.find(zkreader.Finding{Severity: zkreader.Blocker, Code: "bad-partition", Path: path, Field: fmt.Sprintf("partitions.%d", p.ID),
					Message: fmt.Sprintf("partition id %d is negative or appears twice", p.ID)})
				t.skip(fmt.Sprintf("%s/partitions/%d", path, p.ID), "bad-partition", "negative or duplicate partition id")
				continue
			}
			seenPart[p.ID] = true
			rec, ok := t.partitionRecord(topic, p, id)
			if !ok {
				continue
			}
			if p.State == nil {
				missing = append(missing, fmt.Sprint(p.ID))
			}
			batch = append(batch, v0(rec))
		}
		for _, m := range missing {
			stateless = append(stateless, path+"/partitions/"+m+"/state")
		}
		t.emit(batch)
	}
	if len(stateless) > 0 {
		// One finding for all of them: a big cluster may have thousands.
		t.find(zkreader.Finding{Severity: zkreader.Warning, Code: "partition-state-missing", Path: stateless[0],
			Message: fmt.Sprintf("%d partition(s) have no state znode; as Kafka does, they are initialized with ISR = replicas, leader = first replica, leader epoch 0, partition epoch 0", len(stateless)),
			Paths:   stateless,
		})
	}
	if len(noID) > 0 {
		t.find(zkreader.Finding{Severity: zkreader.Blocker, Code: "topic-without-id", Path: noID[0], Field: "topic_id",
			Expected: "a 22-character base64url topic id",
			Message:  fmt.Sprintf("%d topic(s) have no topic id; Kafka's migration aborts on them (NoSuchElementException)", len(noID)),
			Remedy:   "assign topic ids before the copy: zk2kraft migrate --assign-topic-ids (writes each topic znode once, conditionally on its version)",
			Paths:    noID})
	}
	known := map[string]bool{}
	for _, topic := range topics {
		known[topic.Name] = true
	}
	for _, c := range t.snap.TopicConfigs {
		if !known[c.Name] {
			t.skip("/config/topics/"+c.Name, "orphan-topic-config", "no /brokers/topics/"+c.Name+" znode: Kafka migrates topic configs only together with their topic")
		}
	}
	if t.snap.LegacyReassignment != nil {
		t.skip(t.snap.LegacyReassignment.Path, "legacy-reassignment", "the deprecated /admin/reassign_partitions request is ignored by Kafka's migration; reassignments in flight are carried by adding_replicas/removing_replicas and the KRaft controller completes them")
	}
}

func (t *translator) partitionRecord(topic *zkreader.Topic, p *zkreader.Partition, id kafka.UUID) (*records.PartitionRecord, bool) {
	statePath := func() string { return fmt.Sprintf("/brokers/topics/%s/partitions/%d/state", topic.Name, p.ID) }
	if len(p.Replicas) == 0 {
		t.find(zkreader.Finding{Severity: zkreader.Blocker, Code: "partition-without-replicas", Path: "/brokers/topics/" + topic.Name,
			Field: fmt.Sprintf("partitions.%d", p.ID), Expected: "a non-empty replica list",
			Message: fmt.Sprintf("partition %d has no replicas; Kafka's migration cannot translate it", p.ID)})
		t.skip(statePath(), "partition-without-replicas", "empty replica assignment")
		return nil, false
	}
	for _, b := range p.Replicas {
		t.brokerIDs[b] = true
	}
	for _, b := range p.AddingReplicas {
		t.brokerIDs[b] = true
	}
	rec := t.newPartitionRecord()
	*rec = records.PartitionRecord{
		PartitionId:      p.ID,
		TopicId:          id,
		Replicas:         p.Replicas,
		AddingReplicas:   nonNil(p.AddingReplicas),
		RemovingReplicas: nonNil(p.RemovingReplicas),
	}
	if st := p.State; st != nil && st.LeaderRecoveryState != 0 && st.LeaderRecoveryState != 1 {
		t.find(zkreader.Finding{Severity: zkreader.Blocker, Code: "bad-partition-state", Path: statePath(), Field: "leader_recovery_state",
			Expected: "0 (RECOVERED) or 1 (RECOVERING)", Message: fmt.Sprintf("leader_recovery_state %d", st.LeaderRecoveryState)})
		t.skip(statePath(), "bad-partition-state", "unknown leader recovery state")
		return nil, false
	}
	if st := p.State; st != nil {
		rec.Isr = nonNil(st.ISR)
		rec.Leader = st.Leader
		rec.LeaderEpoch = st.LeaderEpoch
		rec.PartitionEpoch = st.Stat.Version
		rec.LeaderRecoveryState = st.LeaderRecoveryState
		if st.Leader < -1 {
			t.find(zkreader.Finding{Severity: zkreader.Warning, Code: "leader-during-delete", Path: statePath(), Field: "leader",
				Message: fmt.Sprintf("leader %d marks a topic deletion in progress, but the topic is not pending deletion; copied as is", st.Leader)})
		}
	} else {
		rec.Isr = p.Replicas
		rec.Leader = p.Replicas[0]
	}
	return rec, true
}

func nonNil(s []int32) []int32 {
	if s == nil {
		return []int32{}
	}
	return s
}

// configRecords translates one config znode's keys (sorted) to ConfigRecords,
// decrypting password configs.
func (t *translator) configRecords(resType int8, resName, path string, cfg map[string]string) []records.Versioned {
	keys := make([]string, 0, len(cfg))
	for k := range cfg {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]records.Versioned, 0, len(keys))
	for _, k := range keys {
		val := cfg[k]
		if k == "" {
			t.find(zkreader.Finding{Severity: zkreader.Warning, Code: "empty-config-name", Path: path, Message: "a config with an empty name is not migrated"})
			t.skip(path+"#", "empty-config-name", "config with an empty name")
			continue
		}
		if IsPasswordConfig(k) {
			v, ok := t.password(path, k, val)
			if !ok {
				continue
			}
			val = v
		}
		out = append(out, v0(&records.ConfigRecord{ResourceType: resType, ResourceName: resName, Name: k, Value: &val}))
	}
	return out
}

func (t *translator) password(path, key, stored string) (string, bool) {
	var why string
	switch {
	case t.opts.PasswordEncoderSecret == "":
		why = "no --password-encoder-secret given"
	default:
		plain, err := DecodePassword(t.opts.PasswordEncoderSecret, stored)
		if err == nil {
			return plain, true
		}
		why = err.Error()
	}
	if t.opts.PassThroughEncryptedPasswords {
		t.find(zkreader.Finding{Severity: zkreader.Warning, Code: "password-config-passthrough", Path: path, Field: "config." + key,
			Message: "password config copied still encrypted (" + why + "), as Kafka's NOOP password encoder does; KRaft-mode brokers would read the ciphertext as the password"})
		return stored, true
	}
	t.skip(path+"#"+key, "password-config", "encrypted with the brokers' password.encoder.secret and not decrypted: "+why)
	t.find(zkreader.Finding{Severity: zkreader.Blocker, Code: "password-config-not-decrypted", Path: path, Field: "config." + key,
		Expected: "a value encrypted with the given password.encoder.secret",
		Message:  "password config cannot be carried over: " + why,
		Remedy:   "pass --password-encoder-secret (the brokers' password.encoder.secret), or delete or re-set the config"})
	return "", false
}

// ---- broker configs (§2.3) ----

func (t *translator) brokerConfigs() {
	cfgs := make([]*zkreader.EntityConfig, len(t.snap.BrokerConfigs))
	for i := range t.snap.BrokerConfigs {
		cfgs[i] = &t.snap.BrokerConfigs[i]
	}
	sort.SliceStable(cfgs, func(i, j int) bool { return cfgs[i].Name < cfgs[j].Name })
	for _, c := range cfgs {
		name := c.Name
		if name == kafka.DefaultEntity {
			name = ""
		} else {
			var id int32
			if _, err := fmt.Sscanf(name, "%d", &id); err == nil {
				t.brokerIDs[id] = true
			}
		}
		t.emit(t.configRecords(kafka.ConfigResourceBroker, name, "/config/brokers/"+c.Name, c.Config))
	}
}

// ---- client quotas and SCRAM (§2.4) ----

type quotaZnode struct {
	kind  int // 0 user, 1 client, 2 user+client, 3 ip
	name  string
	quota *zkreader.ClientQuota
	scram []*zkreader.ScramCredential
}

func classifyQuotaPath(path string) (kind int, rel string, ok bool) {
	i := strings.Index(path, "/config/")
	if i < 0 {
		return 0, "", false
	}
	rel = path[i+len("/config/"):]
	parts := strings.Split(rel, "/")
	switch {
	case len(parts) == 2 && parts[0] == "users":
		return 0, rel, true
	case len(parts) == 2 && parts[0] == "clients":
		return 1, rel, true
	case len(parts) == 4 && parts[0] == "users" && parts[2] == "clients":
		return 2, rel, true
	case len(parts) == 2 && parts[0] == "ips":
		return 3, rel, true
	}
	return 0, "", false
}

func (t *translator) clientQuotas() {
	nodes := map[string]*quotaZnode{}
	get := func(path string) *quotaZnode {
		kind, rel, ok := classifyQuotaPath(path)
		if !ok {
			t.find(zkreader.Finding{Severity: zkreader.Warning, Code: "unknown-quota-path", Path: path,
				Expected: "/config/users|clients|ips/<name> or /config/users/<u>/clients/<c>",
				Message:  "quota or SCRAM entry with an unexpected path; not migrated"})
			return nil
		}
		n := nodes[rel]
		if n == nil {
			n = &quotaZnode{kind: kind, name: rel}
			nodes[rel] = n
		}
		return n
	}
	for i := range t.snap.Quotas {
		if n := get(t.snap.Quotas[i].Path); n != nil {
			n.quota = &t.snap.Quotas[i]
		}
	}
	for i := range t.snap.Scram {
		s := &t.snap.Scram[i]
		if n := get(s.Path); n != nil {
			n.scram = append(n.scram, s)
		}
	}
	list := make([]*quotaZnode, 0, len(nodes))
	for _, n := range nodes {
		list = append(list, n)
	}
	// Kafka's order: users, clients, users/<u>/clients/<c>, ips; children
	// sorted by znode name (ZooKeeper does not define an order).
	sort.Slice(list, func(i, j int) bool {
		if list[i].kind != list[j].kind {
			return list[i].kind < list[j].kind
		}
		return list[i].name < list[j].name
	})
	for _, n := range list {
		if n.kind == 0 {
			slices.SortFunc(n.scram, func(a, b *zkreader.ScramCredential) int {
				return int(kafka.ScramMechanismCodes[a.Mechanism]) - int(kafka.ScramMechanismCodes[b.Mechanism])
			})
			for _, s := range n.scram {
				mech, ok := kafka.ScramMechanismCodes[s.Mechanism]
				if !ok {
					t.find(zkreader.Finding{Severity: zkreader.Blocker, Code: "unknown-scram-mechanism", Path: s.Path, Field: "config." + s.Mechanism,
						Expected: "SCRAM-SHA-256 or SCRAM-SHA-512", Message: "unknown SCRAM mechanism; not migrated"})
					continue
				}
				t.emit([]records.Versioned{v0(&records.UserScramCredentialRecord{
					Name: s.User, Mechanism: mech, Salt: s.Salt, StoredKey: s.StoredKey, ServerKey: s.ServerKey, Iterations: s.Iterations,
				})})
			}
		} else if len(n.scram) > 0 {
			for _, s := range n.scram {
				t.skip(s.Path+"#"+s.Mechanism, "scram-not-user", "SCRAM credentials are only migrated from /config/users/<user>")
			}
		}
		if n.quota == nil || len(n.quota.Values) == 0 {
			continue
		}
		if why := badEntity(n.quota.Entity); why != "" {
			t.find(zkreader.Finding{Severity: zkreader.Blocker, Code: "bad-quota-entity", Path: n.quota.Path, Message: "quota entity " + why})
			t.skip(n.quota.Path, "bad-quota-entity", why)
			continue
		}
		entity := make([]records.ClientQuotaRecordEntityData, len(n.quota.Entity))
		for i, p := range n.quota.Entity {
			entity[i] = records.ClientQuotaRecordEntityData{EntityType: p.Type, EntityName: p.Name}
		}
		keys := make([]string, 0, len(n.quota.Values))
		for k, val := range n.quota.Values {
			if math.IsNaN(val) || math.IsInf(val, 0) {
				t.find(zkreader.Finding{Severity: zkreader.Blocker, Code: "bad-quota-value", Path: n.quota.Path, Field: "config." + k,
					Expected: "a finite number", Message: "quota value is not a finite number; Kafka's migration aborts on it"})
				continue
			}
			keys = append(keys, k)
		}
		sort.Strings(keys)
		batch := make([]records.Versioned, 0, len(keys))
		for _, k := range keys {
			batch = append(batch, v0(&records.ClientQuotaRecord{Entity: entity, Key: k, Value: n.quota.Values[k]}))
		}
		t.emit(batch)
	}
}

// badEntity says what is wrong with a quota entity, or "".
func badEntity(parts []zkreader.QuotaEntityPart) string {
	if len(parts) == 0 {
		return "is empty"
	}
	seen := map[string]bool{}
	for _, p := range parts {
		switch p.Type {
		case kafka.QuotaEntityUser, kafka.QuotaEntityClientID, kafka.QuotaEntityIP:
		default:
			return fmt.Sprintf("has unknown type %q (want user, client-id or ip)", p.Type)
		}
		if seen[p.Type] {
			return fmt.Sprintf("has type %q twice", p.Type)
		}
		seen[p.Type] = true
	}
	if seen[kafka.QuotaEntityIP] && len(parts) > 1 {
		return "combines ip with another type"
	}
	return ""
}

// ---- producer ids (§2.5) ----

func (t *translator) producerID() {
	b := t.snap.ProducerIDBlock
	if b == nil {
		return
	}
	if b.BlockEnd < b.BlockStart {
		t.find(zkreader.Finding{Severity: zkreader.Blocker, Code: "bad-producer-id-block", Path: "/latest_producer_id_block", Field: "block_end",
			Expected: "block_end >= block_start", Message: fmt.Sprintf("block %d–%d is empty", b.BlockStart, b.BlockEnd)})
		return
	}
	// ProducerIdsBlock.nextBlockFirstId = firstProducerId + blockSize.
	next := b.BlockStart + (b.BlockEnd - b.BlockStart + 1)
	t.emit([]records.Versioned{v0(&records.ProducerIdsRecord{BrokerId: b.Broker, BrokerEpoch: -1, NextProducerId: next})})
}

// ---- ACLs (§2.6) ----

func (t *translator) acls() {
	res := make([]*zkreader.ACLResource, 0, len(t.snap.ACLs))
	for i := range t.snap.ACLs {
		r := &t.snap.ACLs[i]
		if _, ok := kafka.ResourceTypeCodes[r.ResourceType]; !ok {
			t.skip(r.Path, "acl-unknown-resource-type", "unknown ACL resource type "+r.ResourceType+" (Kafka skips it with a warning)")
			continue
		}
		if _, ok := kafka.PatternTypeCodes[r.PatternType]; !ok {
			t.skip(r.Path, "acl-unknown-pattern-type", "unknown ACL pattern type "+r.PatternType)
			continue
		}
		res = append(res, r)
	}
	sortACLResources(res)
	seen := map[kafka.UUID]bool{}
	for _, r := range res {
		rt := kafka.ResourceTypeCodes[r.ResourceType]
		pt := kafka.PatternTypeCodes[r.PatternType]
		batch := make([]records.Versioned, 0, min(len(r.Entries), ACLBatchSize))
		for _, e := range r.Entries {
			_, op, ok1 := kafka.LookupEnum(kafka.OperationCodes, e.Operation)
			_, perm, ok2 := kafka.LookupEnum(kafka.PermissionTypeCodes, e.PermissionType)
			if !ok1 || !ok2 {
				t.find(zkreader.Finding{Severity: zkreader.Blocker, Code: "bad-acl-entry", Path: r.Path,
					Expected: "known operation and permission type",
					Message:  fmt.Sprintf("ACL entry %s %s %s@%s cannot be translated", e.PermissionType, e.Operation, e.Principal, e.Host)})
				continue
			}
			id := ACLID(rt, r.Name, pt, e.Principal, e.Host, op, perm)
			if seen[id] {
				// Kafka keeps a resource's entries in a set: a repeated entry is one ACL.
				continue
			}
			seen[id] = true
			batch = append(batch, v0(&records.AccessControlEntryRecord{
				Id:           id,
				ResourceType: rt, ResourceName: r.Name, PatternType: pt,
				Principal: e.Principal, Host: e.Host, Operation: op, PermissionType: perm,
			}))
			if len(batch) == ACLBatchSize {
				t.emit(batch)
				batch = make([]records.Versioned, 0, ACLBatchSize)
			}
		}
		t.emit(batch)
	}
}

// ACLID derives an ACL entry's id from its content, so that the same entry
// always gets the same id.
func ACLID(resourceType int8, name string, patternType int8, principal, host string, op, perm int8) kafka.UUID {
	return kafka.DerivedUUID("zk2kraft-acl", fmt.Sprint(resourceType), name, fmt.Sprint(patternType), principal, host, fmt.Sprint(op), fmt.Sprint(perm))
}

// sortACLResources orders resources as AclAuthorizer.ResourceOrdering does:
// resource type enum order, LITERAL before PREFIXED, then name in descending
// Java String.compareTo order (UTF-16 code units).
func sortACLResources(res []*zkreader.ACLResource) {
	typeRank := map[string]int{}
	for i, n := range kafka.ResourceTypeOrder {
		typeRank[n] = i
	}
	sort.SliceStable(res, func(i, j int) bool {
		a, b := res[i], res[j]
		if typeRank[a.ResourceType] != typeRank[b.ResourceType] {
			return typeRank[a.ResourceType] < typeRank[b.ResourceType]
		}
		if a.PatternType != b.PatternType {
			return kafka.PatternTypeCodes[a.PatternType] < kafka.PatternTypeCodes[b.PatternType]
		}
		return javaCompare(a.Name, b.Name) > 0
	})
}

// javaCompare is Java's String.compareTo: lexicographic over UTF-16 code units.
func javaCompare(a, b string) int {
	ua, ub := utf16Units(a), utf16Units(b)
	for i := 0; i < len(ua) && i < len(ub); i++ {
		if ua[i] != ub[i] {
			return int(ua[i]) - int(ub[i])
		}
	}
	return len(ua) - len(ub)
}

func utf16Units(s string) []uint16 {
	out := make([]uint16, 0, len(s))
	for _, r := range s {
		if r >= 0x10000 {
			r -= 0x10000
			out = append(out, uint16(0xD800+(r>>10)), uint16(0xDC00+(r&0x3FF)))
		} else {
			out = append(out, uint16(r))
		}
	}
	return out
}

// ---- delegation tokens (§2.7) ----

func (t *translator) delegationTokens() {
	if len(t.snap.DelegationTokens) == 0 {
		return
	}
	toks := make([]*zkreader.DelegationToken, len(t.snap.DelegationTokens))
	for i := range t.snap.DelegationTokens {
		toks[i] = &t.snap.DelegationTokens[i]
	}
	sort.SliceStable(toks, func(i, j int) bool { return toks[i].TokenID < toks[j].TokenID })
	batch := make([]records.Versioned, 0, len(toks))
	for i, d := range toks {
		if d.TokenID == "" || i > 0 && toks[i-1].TokenID == d.TokenID {
			t.skip("/delegation_token/tokens/"+d.TokenID, "bad-delegation-token", "empty or duplicate token id")
			continue
		}
		renewers := d.Renewers
		if renewers == nil {
			renewers = []string{}
		}
		batch = append(batch, v0(&records.DelegationTokenRecord{
			Owner: d.Owner, Requester: d.Requester, Renewers: renewers, IssueTimestamp: d.IssueTimestamp,
			MaxTimestamp: d.MaxTimestamp, ExpirationTimestamp: d.ExpiryTimestamp, TokenId: d.TokenID,
		}))
	}
	if !t.mv.DelegationTokenSupported() {
		t.find(zkreader.Finding{Severity: zkreader.Warning, Code: "delegation-tokens-unusable", Path: "/delegation_token/tokens",
			Message: fmt.Sprintf("%d delegation token(s) are migrated, but KRaft serves delegation tokens only from metadata.version 3.6-IV2 (target %s)", len(toks), t.mv)})
	}
	t.emit(batch)
}

// ---- not migrated (§2.8) ----

func (t *translator) notMigrated() {
	s := t.snap
	if s.ClusterID != nil {
		t.skip("/cluster/id", "cluster-id", "not copied: format the controllers with this cluster id ("+s.ClusterID.ID+"); brokers with another id are rejected")
	}
	if s.Controller != nil {
		t.skip("/controller", "controller", "not copied: the KRaft controller claims it (persistent znode with its epoch) when the migration starts")
	}
	if s.ControllerEpoch != nil {
		t.skip("/controller_epoch", "controller", "not copied: incremented by the KRaft controller's claim; it fences ZooKeeper controllers")
	}
	if s.Features != nil {
		t.skip("/feature", "feature", "not copied: metadata.version comes from the controllers' format (target "+t.mv.Name+")")
	}
	if s.Migration != nil {
		t.skip("/migration", "migration-state", "not copied: the migration's own state in ZooKeeper")
	}
	for _, n := range []struct{ path, why string }{
		{"/config/changes", "config change notifications"},
		{"/kafka-acl-changes", "ACL change notifications"},
		{"/kafka-acl-extended-changes", "ACL change notifications"},
		{"/delegation_token/token_changes", "delegation token change notifications"},
		{"/isr_change_notification", "ISR change notifications"},
		{"/log_dir_event_notification", "log dir event notifications"},
		{"/admin/preferred_replica_election", "preferred replica election requests"},
		{"/consumers", "old consumer offsets"},
	} {
		t.skip(n.path, "notification", n.why+": transient, never migrated by Kafka")
	}
	t.skip("/brokers/topics/*/partitions/*/state#controller_epoch", "controller-epoch", "the ZooKeeper controller epoch of each partition state is dropped, as Kafka does")
}

// ---- batching (§2.1) ----

// coalesce groups logical batches like BufferingBatchConsumer (concatenate,
// flush at ≥ min records, never split a logical batch) and
// QuorumController.appendRecords (chunks of ≤ maxRecords), then cuts chunks
// whose RecordBatch would exceed maxBytes.
func coalesce(logical [][]records.Versioned, minRecords, maxRecords, maxBytes int) ([][]records.Versioned, error) {
	var flushed [][]records.Versioned
	var buf []records.Versioned
	fill := minRecords >= maxRecords
	for _, b := range logical {
		if fill && len(buf) > 0 && len(buf)+len(b) > maxRecords {
			// Filling batches (migrate's copy): what would overflow the
			// buffer starts the next one, so that no full batch is split
			// into a full one and a small remainder.
			flushed = append(flushed, buf)
			buf = nil
		}
		buf = append(buf, b...)
		if len(buf) >= minRecords {
			flushed = append(flushed, buf)
			buf = nil
		}
	}
	if len(buf) > 0 {
		flushed = append(flushed, buf)
	}
	var out [][]records.Versioned
	for _, f := range flushed {
		parts, err := splitBatches(f, maxRecords, maxBytes)
		if err != nil {
			return nil, err
		}
		out = append(out, parts...)
	}
	return out, nil
}

// splitBatches cuts recs into batches of at most maxRecords records whose
// RecordBatch v2 encoding is at most maxBytes.
func splitBatches(recs []records.Versioned, maxRecords, maxBytes int) ([][]records.Versioned, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBatchBytes
	}
	var out [][]records.Versioned
	var frame []byte
	start, size := 0, RecordBatchOverhead
	for i, v := range recs {
		var err error
		frame, err = records.AppendFrame(frame[:0], v)
		if err != nil {
			return nil, fmt.Errorf("encode %s: %w", v.Record.TypeName(), err)
		}
		rs := RecordSize(len(frame), i-start)
		if i > start && (i-start >= maxRecords || size+rs > maxBytes) {
			out = append(out, recs[start:i:i])
			start, size = i, RecordBatchOverhead
			rs = RecordSize(len(frame), 0)
		}
		if RecordBatchOverhead+rs > maxBytes {
			return nil, fmt.Errorf("%s record of %d bytes does not fit in a batch of at most %d bytes", v.Record.TypeName(), len(frame), maxBytes)
		}
		size += rs
	}
	if start < len(recs) {
		out = append(out, recs[start:])
	}
	return out, nil
}

// RecordSize is the size of one data record inside a RecordBatch v2 (§4.3)
// whose value is a frame of frameLen bytes at the given offset delta.
func RecordSize(frameLen, offsetDelta int) int {
	body := 1 + 1 + varintLen(int64(offsetDelta)) + 1 + varintLen(int64(frameLen)) + frameLen + 1
	return varintLen(int64(body)) + body
}

func varintLen(v int64) int {
	u := uint64((v << 1) ^ (v >> 63))
	n := 1
	for u >= 0x80 {
		u >>= 7
		n++
	}
	return n
}
