// Package image is the KRaft metadata image: the state a controller holds
// after replaying the metadata log (Kafka's org.apache.kafka.image), and the
// function that applies one record to it.
//
// The quorum's state machine, dual-write and verify share it: the quorum
// applies every committed record, translate builds the image a migration
// should produce, and verify compares images section by section (Diff,
// Digests).
//
// Apply checks each record against the image before it changes anything: a
// record that contradicts the image (a partition of an unknown topic, a change
// to an unknown partition, a second topic with the same id, removing an ACL
// that does not exist, ...) returns an error naming the record and leaves the
// image as it was.
//
// Transactions and batches are cheap: inside a metadata transaction or an
// ApplyBatch call, Apply journals what each change replaces, so an
// AbortTransactionRecord or a failed batch is undone in proportion to its
// records (journal.go), and a batch is all or nothing.
//
// Memory: partitions are stored as compact value structs in one slice per
// topic (no per-partition maps); 1,000,000 partitions with 3 replicas take
// about 360 bytes each, 0.36 GB in all (translate's BenchmarkImage1M).
package image

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/zk2kraft/zk2kraft/kafka"
)

// Image is the metadata image. The zero value is not usable; call New.
// An Image is not safe for concurrent use.
type Image struct {
	features         map[string]int16
	zkMigrationState int8
	brokers          map[int32]*Broker
	controllers      map[int32]*Controller
	topicsByID       map[kafka.UUID]*Topic
	topicsByName     map[string]*Topic
	partitions       int
	configs          map[ConfigResource]map[string]string
	quotas           map[string]*QuotaEntity
	scram            map[ScramKey]*ScramCredential
	acls             map[kafka.UUID]*ACL
	nextProducerID   int64
	tokens           map[string]*DelegationToken

	// Open metadata transaction (BeginTransactionRecord .. End/Abort) and
	// the undo journal (journal.go).
	inTxn      bool
	txnName    string
	txnMark    int // journal length when the transaction began
	batchDepth int
	journal    []undo
}

// New returns an empty image (Kafka's MetadataImage.EMPTY).
func New() *Image {
	return &Image{
		features:       map[string]int16{},
		brokers:        map[int32]*Broker{},
		controllers:    map[int32]*Controller{},
		topicsByID:     map[kafka.UUID]*Topic{},
		topicsByName:   map[string]*Topic{},
		configs:        map[ConfigResource]map[string]string{},
		quotas:         map[string]*QuotaEntity{},
		scram:          map[ScramKey]*ScramCredential{},
		acls:           map[kafka.UUID]*ACL{},
		nextProducerID: -1,
		tokens:         map[string]*DelegationToken{},
	}
}

// Broker is a broker registration (Kafka's BrokerRegistration).
type Broker struct {
	ID                   int32
	Epoch                int64
	IncarnationID        kafka.UUID
	Endpoints            []Endpoint // in registration order
	Features             []FeatureRange
	Rack                 *string
	Fenced               bool
	InControlledShutdown bool
	IsMigratingZkBroker  bool
	LogDirs              []kafka.UUID
}

// Endpoint is one listener of a broker or controller registration.
type Endpoint struct {
	Name             string
	Host             string
	Port             uint16
	SecurityProtocol int16
}

// FeatureRange is a supported feature range of a registration.
type FeatureRange struct {
	Name string
	Min  int16
	Max  int16
}

// Controller is a controller registration (RegisterControllerRecord).
type Controller struct {
	ID               int32
	IncarnationID    kafka.UUID
	ZkMigrationReady bool
	Endpoints        []Endpoint
	Features         []FeatureRange
}

// Topic is one topic and its partitions, sorted by partition id.
type Topic struct {
	Name       string
	ID         kafka.UUID
	Partitions []Partition
}

// Partition returns the partition with the given id, or nil.
func (t *Topic) Partition(id int32) *Partition {
	i, ok := t.find(id)
	if !ok {
		return nil
	}
	return &t.Partitions[i]
}

func (t *Topic) find(id int32) (int, bool) {
	n := len(t.Partitions)
	if n > 0 && t.Partitions[n-1].ID < id {
		return n, false // the common append case
	}
	i := sort.Search(n, func(i int) bool { return t.Partitions[i].ID >= id })
	return i, i < n && t.Partitions[i].ID == id
}

// Partition is a partition registration (Kafka's PartitionRegistration).
// Directories nil means "MIGRATING for every replica" (what a v0
// PartitionRecord implies); ELR and LastKnownELR nil mean empty.
type Partition struct {
	ID                  int32
	Leader              int32
	LeaderEpoch         int32
	PartitionEpoch      int32
	LeaderRecoveryState int8
	Replicas            []int32
	ISR                 []int32
	AddingReplicas      []int32
	RemovingReplicas    []int32
	Directories         []kafka.UUID
	ELR                 []int32
	LastKnownELR        []int32
}

// DirectoriesOrMigrating returns the replica directories, MIGRATING ids
// filled in when none are recorded.
func (p *Partition) DirectoriesOrMigrating() []kafka.UUID {
	if p.Directories != nil {
		return p.Directories
	}
	return make([]kafka.UUID, len(p.Replicas))
}

// ConfigResource identifies a config resource: ConfigRecord's ResourceType
// (2 topic, 4 broker, 8 broker logger, 16 client metrics) and ResourceName
// ("" for the cluster-wide broker default).
type ConfigResource struct {
	Type int8
	Name string
}

func (r ConfigResource) String() string {
	t := fmt.Sprintf("type%d", r.Type)
	switch r.Type {
	case 2:
		t = "topic"
	case 4:
		t = "broker"
	case 8:
		t = "broker-logger"
	case 16:
		t = "client-metrics"
	}
	name := r.Name
	if r.Type == 4 && name == "" {
		name = "<default>"
	}
	return t + ":" + name
}

// EntityPart is one element of a client quota entity; Name nil is the default.
type EntityPart struct {
	Type string
	Name *string
}

// QuotaEntity is one client quota entity with its values.
type QuotaEntity struct {
	Entity []EntityPart // sorted by type, as Kafka's ClientQuotaEntity map
	Values map[string]float64
}

// ScramKey identifies a SCRAM credential.
type ScramKey struct {
	Name      string
	Mechanism int8 // 1 SCRAM-SHA-256, 2 SCRAM-SHA-512
}

// ScramCredential is one user's credential for one mechanism. Salt, StoredKey
// and ServerKey are secrets: String never shows them.
type ScramCredential struct {
	Name       string
	Mechanism  int8
	Salt       Secret
	StoredKey  Secret
	ServerKey  Secret
	Iterations int32
}

// Secret is secret bytes. Its String and JSON forms are redacted.
type Secret []byte

func (s Secret) String() string { return "[redacted]" }

// MarshalText redacts the secret in JSON and text encodings.
func (s Secret) MarshalText() ([]byte, error) { return []byte("[redacted]"), nil }

// ACL is one access control entry (AccessControlEntryRecord).
type ACL struct {
	ID             kafka.UUID
	ResourceType   int8
	ResourceName   string
	PatternType    int8
	Principal      string
	Host           string
	Operation      int8
	PermissionType int8
}

// DelegationToken is one delegation token (DelegationTokenRecord).
type DelegationToken struct {
	TokenID             string
	Owner               string
	Requester           string
	Renewers            []string
	IssueTimestamp      int64
	MaxTimestamp        int64
	ExpirationTimestamp int64
}

// --- read accessors -------------------------------------------------------

// MetadataVersion returns the image's metadata.version (ok false when none).
func (im *Image) MetadataVersion() (MetadataVersion, bool) {
	l, ok := im.features[MetadataVersionFeature]
	if !ok {
		return MetadataVersion{}, false
	}
	mv, known := MetadataVersionFromLevel(l)
	if !known {
		mv = MetadataVersion{Name: fmt.Sprintf("level-%d", l), Level: l}
	}
	return mv, true
}

// Features returns a copy of the finalized feature levels.
func (im *Image) Features() map[string]int16 {
	out := make(map[string]int16, len(im.features))
	for k, v := range im.features {
		out[k] = v
	}
	return out
}

// ZkMigrationState returns the ZkMigrationStateRecord state (0 NONE,
// 1 MIGRATION, 2 PRE_MIGRATION, 3 POST_MIGRATION).
func (im *Image) ZkMigrationState() int8 { return im.zkMigrationState }

// InTransaction reports whether a metadata transaction is open, and its name.
func (im *Image) InTransaction() (bool, string) { return im.inTxn, im.txnName }

// Broker returns a broker registration or nil.
func (im *Image) Broker(id int32) *Broker { return im.brokers[id] }

// Brokers returns the broker registrations sorted by id.
func (im *Image) Brokers() []*Broker {
	out := make([]*Broker, 0, len(im.brokers))
	for _, b := range im.brokers {
		out = append(out, b)
	}
	slices.SortFunc(out, func(a, b *Broker) int { return int(a.ID) - int(b.ID) })
	return out
}

// Controllers returns the controller registrations sorted by id.
func (im *Image) Controllers() []*Controller {
	out := make([]*Controller, 0, len(im.controllers))
	for _, c := range im.controllers {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b *Controller) int { return int(a.ID) - int(b.ID) })
	return out
}

// TopicByName returns a topic or nil.
func (im *Image) TopicByName(name string) *Topic { return im.topicsByName[name] }

// TopicByID returns a topic or nil.
func (im *Image) TopicByID(id kafka.UUID) *Topic { return im.topicsByID[id] }

// Topics returns the topics sorted by name.
func (im *Image) Topics() []*Topic {
	out := make([]*Topic, 0, len(im.topicsByName))
	for _, t := range im.topicsByName {
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b *Topic) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// NumPartitions returns the number of partitions of every topic.
func (im *Image) NumPartitions() int { return im.partitions }

// Config returns a copy of one resource's configs (nil when none).
func (im *Image) Config(r ConfigResource) map[string]string {
	c := im.configs[r]
	if c == nil {
		return nil
	}
	out := make(map[string]string, len(c))
	for k, v := range c {
		out[k] = v
	}
	return out
}

// ConfigResources returns every resource with configs, sorted.
func (im *Image) ConfigResources() []ConfigResource {
	out := make([]ConfigResource, 0, len(im.configs))
	for r := range im.configs {
		out = append(out, r)
	}
	slices.SortFunc(out, compareResource)
	return out
}

func compareResource(a, b ConfigResource) int {
	if a.Type != b.Type {
		return int(a.Type) - int(b.Type)
	}
	return strings.Compare(a.Name, b.Name)
}

// QuotaEntities returns the client quota entities sorted by EntityKey.
func (im *Image) QuotaEntities() []*QuotaEntity {
	keys := sortedKeys(im.quotas)
	out := make([]*QuotaEntity, len(keys))
	for i, k := range keys {
		out[i] = im.quotas[k]
	}
	return out
}

// ScramCredentials returns the SCRAM credentials sorted by mechanism, name.
func (im *Image) ScramCredentials() []*ScramCredential {
	out := make([]*ScramCredential, 0, len(im.scram))
	for _, c := range im.scram {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b *ScramCredential) int {
		if a.Mechanism != b.Mechanism {
			return int(a.Mechanism) - int(b.Mechanism)
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}

// ACLs returns the ACLs sorted by id.
func (im *Image) ACLs() []*ACL {
	out := make([]*ACL, 0, len(im.acls))
	for _, a := range im.acls {
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b *ACL) int { return strings.Compare(string(a.ID[:]), string(b.ID[:])) })
	return out
}

// NextProducerID returns the next producer id block start (-1 when none).
func (im *Image) NextProducerID() int64 { return im.nextProducerID }

// DelegationTokens returns the tokens sorted by id.
func (im *Image) DelegationTokens() []*DelegationToken {
	keys := sortedKeys(im.tokens)
	out := make([]*DelegationToken, len(keys))
	for i, k := range keys {
		out[i] = im.tokens[k]
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// EntityKey renders a quota entity canonically: "user=alice,client-id=<default>".
func EntityKey(parts []EntityPart) string {
	var b strings.Builder
	for i, p := range parts {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(p.Type)
		b.WriteByte('=')
		if p.Name == nil {
			b.WriteString("<default>")
		} else {
			b.WriteString(kafka.Sanitize(*p.Name))
		}
	}
	return b.String()
}

// Clone returns a deep copy of the image.
func (im *Image) Clone() *Image {
	c := New()
	for k, v := range im.features {
		c.features[k] = v
	}
	c.zkMigrationState = im.zkMigrationState
	for id, b := range im.brokers {
		c.brokers[id] = cloneBroker(b)
	}
	for id, ctl := range im.controllers {
		n := *ctl
		n.Endpoints = slices.Clone(ctl.Endpoints)
		n.Features = slices.Clone(ctl.Features)
		c.controllers[id] = &n
	}
	for id, t := range im.topicsByID {
		nt := &Topic{Name: t.Name, ID: t.ID, Partitions: make([]Partition, len(t.Partitions))}
		for i := range t.Partitions {
			nt.Partitions[i] = clonePartition(&t.Partitions[i])
		}
		c.topicsByID[id] = nt
		c.topicsByName[nt.Name] = nt
	}
	c.partitions = im.partitions
	for r, m := range im.configs {
		nm := make(map[string]string, len(m))
		for k, v := range m {
			nm[k] = v
		}
		c.configs[r] = nm
	}
	for k, q := range im.quotas {
		c.quotas[k] = cloneQuota(q)
	}
	for k, s := range im.scram {
		ns := *s
		ns.Salt = slices.Clone(s.Salt)
		ns.StoredKey = slices.Clone(s.StoredKey)
		ns.ServerKey = slices.Clone(s.ServerKey)
		c.scram[k] = &ns
	}
	for k, a := range im.acls {
		na := *a
		c.acls[k] = &na
	}
	c.nextProducerID = im.nextProducerID
	for k, t := range im.tokens {
		nt := *t
		nt.Renewers = slices.Clone(t.Renewers)
		c.tokens[k] = &nt
	}
	c.inTxn, c.txnName, c.txnMark = im.inTxn, im.txnName, im.txnMark
	if len(im.journal) > 0 {
		c.journal = make([]undo, len(im.journal))
		for i, u := range im.journal {
			c.journal[i] = cloneUndo(u)
		}
	}
	return c
}

func cloneBroker(b *Broker) *Broker {
	nb := *b
	nb.Endpoints = slices.Clone(b.Endpoints)
	nb.Features = slices.Clone(b.Features)
	nb.LogDirs = slices.Clone(b.LogDirs)
	if b.Rack != nil {
		r := *b.Rack
		nb.Rack = &r
	}
	return &nb
}

func cloneQuota(q *QuotaEntity) *QuotaEntity {
	nq := &QuotaEntity{Entity: cloneEntity(q.Entity), Values: make(map[string]float64, len(q.Values))}
	for k, v := range q.Values {
		nq.Values[k] = v
	}
	return nq
}

func clonePartition(p *Partition) Partition {
	n := *p
	n.Replicas = slices.Clone(p.Replicas)
	n.ISR = slices.Clone(p.ISR)
	n.AddingReplicas = slices.Clone(p.AddingReplicas)
	n.RemovingReplicas = slices.Clone(p.RemovingReplicas)
	n.Directories = slices.Clone(p.Directories)
	n.ELR = slices.Clone(p.ELR)
	n.LastKnownELR = slices.Clone(p.LastKnownELR)
	return n
}

func cloneEntity(e []EntityPart) []EntityPart {
	out := make([]EntityPart, len(e))
	for i, p := range e {
		out[i].Type = p.Type
		if p.Name != nil {
			n := *p.Name
			out[i].Name = &n
		}
	}
	return out
}

// String summarizes the image: counts per section. It never shows secrets.
func (im *Image) String() string {
	counts := im.Counts()
	var b strings.Builder
	b.WriteString("image{")
	for i, s := range Sections {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s: %d", s, counts[s])
	}
	b.WriteString("}")
	return b.String()
}
