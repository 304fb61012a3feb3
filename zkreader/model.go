// Package zkreader reads everything a ZooKeeper-mode Kafka cluster keeps in
// ZooKeeper into a typed model (Snapshot), exactly: every znode's Stat that
// matters is kept, and every malformed znode becomes a Finding that names the
// znode, the field and what was expected.
//
// The model is shared by every later stage: translate turns a Snapshot into
// KRaft records, dualwrite re-parses single znodes with the same parsers, and
// verify compares images built from it. testenv's seeder records what it wrote
// in the same types, so tests compare like with like.
package zkreader

import (
	"time"

	"github.com/zk2kraft/zk2kraft/kafka"
)

// Stat is the part of a znode's Stat the migration keeps.
type Stat struct {
	Czxid          int64 `json:"czxid"`
	Mzxid          int64 `json:"mzxid"`
	Pzxid          int64 `json:"pzxid,omitempty"`
	Ctime          int64 `json:"ctime"` // ms since the epoch
	Mtime          int64 `json:"mtime"` // ms since the epoch
	Version        int32 `json:"version"`
	Cversion       int32 `json:"cversion,omitempty"`
	EphemeralOwner int64 `json:"ephemeralOwner,omitempty"`
}

// Snapshot is one read of a Kafka cluster's metadata in ZooKeeper.
// Slices are sorted (brokers by id, topics by name, partitions by id, configs
// and quotas by path) so that two reads of the same tree are deep-equal.
type Snapshot struct {
	Source     string    `json:"source"` // where it was read: "zk://hosts/chroot" or "datadir:DIR"
	Chroot     string    `json:"chroot,omitempty"`
	TakenAt    time.Time `json:"takenAt"`
	MaxZxid    int64     `json:"maxZxid"` // highest czxid/mzxid/pzxid seen in the read
	ZnodesRead int64     `json:"znodesRead"`

	ClusterID       *ClusterID       `json:"clusterId,omitempty"`
	Controller      *Controller      `json:"controller,omitempty"`
	ControllerEpoch *ControllerEpoch `json:"controllerEpoch,omitempty"`
	Brokers         []Broker         `json:"brokers"`
	Topics          []Topic          `json:"topics"`
	// PendingDeletions are the children of /admin/delete_topics.
	PendingDeletions []string          `json:"pendingDeletions,omitempty"`
	TopicConfigs     []EntityConfig    `json:"topicConfigs"`  // /config/topics/<topic>
	BrokerConfigs    []EntityConfig    `json:"brokerConfigs"` // /config/brokers/<id> and <default>
	Quotas           []ClientQuota     `json:"quotas"`
	Scram            []ScramCredential `json:"scram"`
	ACLs             []ACLResource     `json:"acls"`
	ProducerIDBlock  *ProducerIDBlock  `json:"producerIdBlock,omitempty"`
	DelegationTokens []DelegationToken `json:"delegationTokens,omitempty"`
	Features         *Features         `json:"features,omitempty"`
	Migration        *MigrationZnode   `json:"migration,omitempty"`
	// LegacyReassignment is /admin/reassign_partitions (deprecated since 2.4,
	// not migrated) when present.
	LegacyReassignment *RawZnode `json:"legacyReassignment,omitempty"`

	Findings []Finding `json:"findings"`
}

// RawZnode is a znode kept as bytes (for znodes the migration only reports on).
type RawZnode struct {
	Path string `json:"path"`
	Data []byte `json:"data,omitempty"`
	Stat Stat   `json:"stat"`
}

// ClusterID is /cluster/id: {"version":"1","id":"<22-char id>"}.
type ClusterID struct {
	ID      string `json:"id"`
	Version string `json:"version"`
	Stat    Stat   `json:"stat"`
}

// Controller is /controller. A ZooKeeper-mode controller's znode is ephemeral
// and has KRaftControllerEpoch -1 (or none, before 3.4); a KRaft controller
// that claimed the role writes a persistent znode with its epoch.
type Controller struct {
	Version              int    `json:"version"`
	BrokerID             int32  `json:"brokerId"`
	Timestamp            string `json:"timestamp"`
	KRaftControllerEpoch int32  `json:"kraftControllerEpoch"` // -1 when absent or a ZK controller
	Stat                 Stat   `json:"stat"`
}

// IsKRaft reports whether a KRaft controller holds the role.
func (c *Controller) IsKRaft() bool { return c.KRaftControllerEpoch >= 0 }

// ControllerEpoch is /controller_epoch: a decimal integer; its Stat.Version is
// the fencing token a controller conditions its writes on.
type ControllerEpoch struct {
	Epoch int32 `json:"epoch"`
	Stat  Stat  `json:"stat"`
}

// Broker is /brokers/ids/<id>. Stat.Czxid is the ZooKeeper broker epoch.
type Broker struct {
	ID        int32           `json:"id"`
	Version   int             `json:"version"`
	Host      string          `json:"host,omitempty"`
	Port      int32           `json:"port"`
	JMXPort   int32           `json:"jmxPort"`
	Timestamp string          `json:"timestamp,omitempty"`
	Endpoints []Endpoint      `json:"endpoints"`
	Rack      *string         `json:"rack,omitempty"`
	Features  []BrokerFeature `json:"features,omitempty"` // sorted by name
	Stat      Stat            `json:"stat"`
}

// Endpoint is one listener of a broker: "NAME://host:port" with the security
// protocol from listener_security_protocol_map (or the name itself).
type Endpoint struct {
	Listener         string `json:"listener"`
	SecurityProtocol string `json:"securityProtocol"`
	Host             string `json:"host"`
	Port             int32  `json:"port"`
}

// BrokerFeature is one entry of a v5 broker registration's "features".
type BrokerFeature struct {
	Name       string `json:"name"`
	MinVersion int16  `json:"minVersion"`
	MaxVersion int16  `json:"maxVersion"`
}

// Topic is /brokers/topics/<name> with its partitions.
type Topic struct {
	Name       string      `json:"name"`
	Version    int         `json:"version"`
	TopicID    *kafka.UUID `json:"topicId,omitempty"` // nil for topics created before 2.8
	Partitions []Partition `json:"partitions"`        // sorted by ID
	Stat       Stat        `json:"stat"`
}

// Partition is one entry of a topic's assignment plus its state znode.
type Partition struct {
	ID               int32           `json:"id"`
	Replicas         []int32         `json:"replicas"` // full list (the union during a reassignment)
	AddingReplicas   []int32         `json:"addingReplicas,omitempty"`
	RemovingReplicas []int32         `json:"removingReplicas,omitempty"`
	State            *PartitionState `json:"state,omitempty"` // nil when the state znode is missing
}

// PartitionState is /brokers/topics/<t>/partitions/<p>/state.
// Stat.Version is the partition epoch.
type PartitionState struct {
	Version             int     `json:"version"`
	Leader              int32   `json:"leader"`
	LeaderEpoch         int32   `json:"leaderEpoch"`
	ControllerEpoch     int32   `json:"controllerEpoch"`
	ISR                 []int32 `json:"isr"`
	LeaderRecoveryState int8    `json:"leaderRecoveryState"` // 0 RECOVERED, 1 RECOVERING
	Stat                Stat    `json:"stat"`
}

// EntityConfig is one /config/<type>/<name> znode: {"version":1,"config":{...}}.
// Name is the znode name as stored (a topic name, a broker id or "<default>").
type EntityConfig struct {
	Name   string            `json:"name"`
	Config map[string]string `json:"config"`
	Stat   Stat              `json:"stat"`
}

// QuotaEntityPart is one element of a quota entity: type "user", "client-id"
// or "ip" and the desanitized name (nil for the <default> entity).
type QuotaEntityPart struct {
	Type string  `json:"type"`
	Name *string `json:"name"`
}

// ClientQuota is the quota part of one /config/users|clients|ips znode (SCRAM
// keys removed), with values parsed as Kafka does (doubles).
type ClientQuota struct {
	Path   string             `json:"path"`
	Entity []QuotaEntityPart  `json:"entity"`
	Values map[string]float64 `json:"values"`
	Stat   Stat               `json:"stat"`
}

// ScramCredential is one SCRAM-SHA-256/512 key of /config/users/<user>.
// Salt, StoredKey and ServerKey are secrets: never log or print them.
type ScramCredential struct {
	Path       string `json:"path"`
	User       string `json:"user"`      // desanitized
	Mechanism  string `json:"mechanism"` // "SCRAM-SHA-256" or "SCRAM-SHA-512"
	Salt       []byte `json:"salt"`
	StoredKey  []byte `json:"storedKey"`
	ServerKey  []byte `json:"serverKey"`
	Iterations int32  `json:"iterations"`
	Stat       Stat   `json:"stat"`
}

// ACLResource is one /kafka-acl/<Type>/<name> (LITERAL) or
// /kafka-acl-extended/prefixed/<Type>/<name> (PREFIXED) znode.
type ACLResource struct {
	Path         string     `json:"path"`
	ResourceType string     `json:"resourceType"` // "Topic", "Group", ... (canonical PascalCase)
	PatternType  string     `json:"patternType"`  // "LITERAL" or "PREFIXED"
	Name         string     `json:"name"`
	Entries      []ACLEntry `json:"entries"` // sorted
	Stat         Stat       `json:"stat"`
}

// ACLEntry is one access control entry of a resource (canonical enum names).
type ACLEntry struct {
	Principal      string `json:"principal"`
	PermissionType string `json:"permissionType"` // "Allow" or "Deny"
	Operation      string `json:"operation"`      // "Read", "Write", ...
	Host           string `json:"host"`
}

// ProducerIDBlock is /latest_producer_id_block.
type ProducerIDBlock struct {
	Version    int   `json:"version"`
	Broker     int32 `json:"broker"`
	BlockStart int64 `json:"blockStart"`
	BlockEnd   int64 `json:"blockEnd"`
	Stat       Stat  `json:"stat"`
}

// DelegationToken is /delegation_token/tokens/<id> (principals desanitized).
type DelegationToken struct {
	Version         int      `json:"version"`
	TokenID         string   `json:"tokenId"`
	Owner           string   `json:"owner"`
	Requester       string   `json:"requester"`
	Renewers        []string `json:"renewers"`
	IssueTimestamp  int64    `json:"issueTimestamp"`
	MaxTimestamp    int64    `json:"maxTimestamp"`
	ExpiryTimestamp int64    `json:"expiryTimestamp"`
	Stat            Stat     `json:"stat"`
}

// Features is /feature.
type Features struct {
	Version  int            `json:"version"`
	Status   int            `json:"status"`   // 1 enabled, 0 disabled
	Features []FeatureLevel `json:"features"` // sorted by name
	Stat     Stat           `json:"stat"`
}

// FeatureLevel is one finalized feature of /feature.
type FeatureLevel struct {
	Name            string `json:"name"`
	MinVersionLevel *int16 `json:"minVersionLevel,omitempty"` // v1 only
	MaxVersionLevel int16  `json:"maxVersionLevel"`
}

// MigrationZnode is /migration. Data is kept raw too, because a /migration
// znode with null or malformed data is itself a finding (it hangs Kafka's own
// migration, see operators.md #4).
type MigrationZnode struct {
	Raw                  []byte `json:"raw,omitempty"`
	Valid                bool   `json:"valid"` // data parsed as version 0 with every field
	Version              int    `json:"version"`
	KRaftControllerID    int32  `json:"kraftControllerId"`
	KRaftControllerEpoch int32  `json:"kraftControllerEpoch"`
	KRaftMetadataOffset  int64  `json:"kraftMetadataOffset"`
	KRaftMetadataEpoch   int32  `json:"kraftMetadataEpoch"`
	Stat                 Stat   `json:"stat"`
}
