// Package preflight inspects a ZooKeeper snapshot of a Kafka cluster and
// reports what would block or complicate a migration to KRaft: each finding
// has a severity (blocker, warning, info), the znodes involved and a remedy.
// It covers every trap of operators.md that is visible from ZooKeeper.
package preflight

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/zk2kraft/zk2kraft/kafka"
	"github.com/zk2kraft/zk2kraft/zkreader"
)

// Options tune the check.
type Options struct {
	// AssignTopicIDs: the translation will give topics without a topic id a
	// derived one (zk2kraft translate --assign-topic-ids), so a missing id is
	// a warning rather than a blocker.
	AssignTopicIDs bool
	// MaxPaths caps the znodes listed per finding (default 50; the message
	// always gives the full count).
	MaxPaths int
}

// Summary counts what was checked and found.
type Summary struct {
	Brokers    int `json:"brokers"`
	Topics     int `json:"topics"`
	Partitions int `json:"partitions"`
	ACLs       int `json:"aclResources"`
	Blockers   int `json:"blockers"`
	Warnings   int `json:"warnings"`
	Infos      int `json:"infos"`
}

// Report is the result of a check.
type Report struct {
	Source    string             `json:"source"`
	TakenAt   time.Time          `json:"takenAt"`
	MaxZxid   int64              `json:"maxZxid"`
	ClusterID string             `json:"clusterId,omitempty"`
	Summary   Summary            `json:"summary"`
	Findings  []zkreader.Finding `json:"findings"`
	OK        bool               `json:"ok"` // no blocker
}

// HasBlockers reports whether the migration must not start.
func (r *Report) HasBlockers() bool { return r.Summary.Blockers > 0 }

// Finding codes of the checks (stable identifiers for scripts).
const (
	CodeNoKafkaMetadata        = "no-kafka-metadata"
	CodeClusterIDMissing       = "cluster-id-missing"
	CodeClusterIDInvalid       = "cluster-id-invalid"
	CodeTopicWithoutID         = "topic-without-id"
	CodePendingDeletion        = "topic-pending-deletion"
	CodeReassignment           = "reassignment-in-flight"
	CodeLegacyReassignment     = "legacy-reassignment-znode"
	CodeOfflinePartition       = "offline-partition"
	CodeDeletingPartition      = "partition-being-deleted"
	CodeEmptyISR               = "empty-isr"
	CodeLeaderNotInISR         = "leader-not-in-isr"
	CodeUnknownBroker          = "replica-on-unregistered-broker"
	CodeStateMissing           = "partition-state-missing"
	CodePartitionGap           = "partition-ids-not-contiguous"
	CodeControllerEpochAhead   = "partition-controller-epoch-ahead"
	CodeNoBrokers              = "no-brokers-registered"
	CodeBrokerOldRegistration  = "broker-registration-too-old"
	CodeBrokerSoftwareTooOld   = "broker-software-too-old"
	CodeNoCommonListener       = "no-common-listener"
	CodeMigrationStarted       = "migration-already-started"
	CodeMigrationZnodeInvalid  = "migration-znode-invalid"
	CodeKRaftController        = "kraft-controller-active"
	CodeNoController           = "no-active-controller"
	CodeControllerEpochMissing = "controller-epoch-missing"
	CodeOrphanTopicConfig      = "config-for-missing-topic"
	CodeOrphanBrokerConfig     = "config-for-unregistered-broker"
	CodePasswordConfigs        = "encrypted-password-configs"
	CodeUnknownQuotaKey        = "unknown-quota-key"
	CodeScramIterations        = "scram-iterations-below-minimum"
	CodeACLClusterName         = "acl-cluster-resource-name"
	CodeACLEmpty               = "acl-resource-without-entries"
	CodeDelegationTokens       = "delegation-tokens-present"
	CodeTopicNameCollision     = "topic-name-collision"
	CodeNoProducerIDBlock      = "no-producer-id-block"
	CodeFeatureZnode           = "feature-znode"
	CodeBrokersToRegister      = "brokers-must-register"
)

// migrationMinMetadataVersionLevel is MetadataVersion 3.6-IV1's feature
// level: Kafka 3.9 refuses a migration below it (spec §2.9).
const migrationMinMetadataVersionLevel = 13

var knownQuotaKeys = map[string]bool{
	"producer_byte_rate": true, "consumer_byte_rate": true, "request_percentage": true,
	"controller_mutation_rate": true, "connection_creation_rate": true,
}

type checker struct {
	s        *zkreader.Snapshot
	o        Options
	findings []zkreader.Finding
}

func (c *checker) add(f zkreader.Finding) { c.findings = append(c.findings, f) }

// group adds one finding for many znodes: Path is the first, Paths up to
// MaxPaths, and the message carries the full count.
func (c *checker) group(sev zkreader.Severity, code string, paths []string, msg, remedy string) {
	if len(paths) == 0 {
		return
	}
	sort.Strings(paths)
	f := zkreader.Finding{Severity: sev, Code: code, Path: paths[0], Remedy: remedy,
		Message: fmt.Sprintf("%s (%d znode(s))", msg, len(paths))}
	if len(paths) > 1 {
		n := min(len(paths), c.o.MaxPaths)
		f.Paths = append([]string(nil), paths[:n]...)
		if n < len(paths) {
			f.Message += fmt.Sprintf("; the first %d are listed", n)
		}
	}
	c.add(f)
}

// Check runs every check on s.
func Check(s *zkreader.Snapshot, opts Options) Report {
	if opts.MaxPaths <= 0 {
		opts.MaxPaths = 50
	}
	c := &checker{s: s, o: opts}
	for _, f := range s.Findings {
		if f.Path == "/migration" && s.Migration != nil && !s.Migration.Valid {
			continue // reported as migration-znode-invalid, with its field
		}
		if f.Remedy == "" {
			f.Remedy = "inspect the znode with zkCli.sh and fix or delete it, then check again"
		}
		c.findings = append(c.findings, f)
	}
	c.clusterAndController()
	c.brokers()
	c.topics()
	c.configs()
	c.acls()
	c.misc()
	zkreader.SortFindings(c.findings)
	r := Report{Source: s.Source, TakenAt: s.TakenAt, MaxZxid: s.MaxZxid, Findings: c.findings}
	if s.ClusterID != nil {
		r.ClusterID = s.ClusterID.ID
	}
	if r.Findings == nil {
		r.Findings = []zkreader.Finding{}
	}
	r.Summary.Brokers, r.Summary.Topics, r.Summary.ACLs = len(s.Brokers), len(s.Topics), len(s.ACLs)
	for _, t := range s.Topics {
		r.Summary.Partitions += len(t.Partitions)
	}
	for _, f := range r.Findings {
		switch f.Severity {
		case zkreader.Blocker:
			r.Summary.Blockers++
		case zkreader.Warning:
			r.Summary.Warnings++
		default:
			r.Summary.Infos++
		}
	}
	r.OK = r.Summary.Blockers == 0
	return r
}

func (c *checker) clusterAndController() {
	s := c.s
	if s.ClusterID == nil && len(s.Brokers) == 0 && len(s.Topics) == 0 && s.Controller == nil {
		c.add(zkreader.Finding{Severity: zkreader.Blocker, Code: CodeNoKafkaMetadata, Path: "/",
			Message: fmt.Sprintf("no Kafka metadata under %q: no /cluster/id, /controller, brokers or topics", chrootOrRoot(s.Chroot)),
			Remedy:  "check the connect string and --chroot: use the same zookeeper.connect as the brokers' server.properties"})
		return
	}
	if s.ClusterID == nil {
		if !hasFindingAt(s, "/cluster/id") {
			c.add(zkreader.Finding{Severity: zkreader.Blocker, Code: CodeClusterIDMissing, Path: "/cluster/id",
				Message: "the cluster id is missing; KRaft controllers must be formatted with the cluster's id",
				Remedy:  "start one broker so it writes /cluster/id, or restore it from a broker's meta.properties (cluster.id)"})
		}
	} else if _, err := kafka.ParseUUID(s.ClusterID.ID); err != nil {
		c.add(zkreader.Finding{Severity: zkreader.Blocker, Code: CodeClusterIDInvalid, Path: "/cluster/id", Field: "id",
			Expected: "22-character base64url Kafka Uuid",
			Message:  "the cluster id is not a Kafka Uuid, so kafka-storage format cannot reuse it (INCONSISTENT_CLUSTER_ID otherwise)",
			Remedy:   "this cluster cannot be migrated as is; contact Kafka support for a cluster-id rewrite"})
	}
	if m := s.Migration; m != nil {
		if !m.Valid {
			f := zkreader.Finding{Severity: zkreader.Blocker, Code: CodeMigrationZnodeInvalid, Path: "/migration",
				Message: "/migration exists with null or malformed data (typically created by zookeeper-security-migration); Kafka's migration hangs on it (KAFKA-19480)",
				Remedy:  "delete /migration with zkCli.sh (deleteall /migration) before migrating"}
			for _, r := range s.Findings {
				if r.Path == "/migration" {
					f.Field, f.Expected = r.Field, r.Expected
					f.Message += ": " + r.Message
					break
				}
			}
			c.add(f)
		} else {
			msg := fmt.Sprintf("/migration exists: a migration already started (KRaft controller %d, epoch %d, metadata offset %d)",
				m.KRaftControllerID, m.KRaftControllerEpoch, m.KRaftMetadataOffset)
			if m.KRaftMetadataOffset > 0 {
				msg += "; the initial copy completed, and a retry after a rollback would push an empty KRaft image into ZooKeeper (KAFKA-17146)"
			}
			c.add(zkreader.Finding{Severity: zkreader.Blocker, Code: CodeMigrationStarted, Path: "/migration", Message: msg,
				Remedy: "finish or roll back that migration; after a completed rollback delete /migration and /controller, then check again"})
		}
	}
	if ct := s.Controller; ct == nil {
		c.add(zkreader.Finding{Severity: zkreader.Warning, Code: CodeNoController, Path: "/controller",
			Message: "no controller is active: the cluster cannot change partition leadership",
			Remedy:  "make sure the brokers are up and one of them is elected controller before migrating"})
	} else if ct.IsKRaft() {
		c.add(zkreader.Finding{Severity: zkreader.Blocker, Code: CodeKRaftController, Path: "/controller",
			Message: fmt.Sprintf("/controller names KRaft controller %d (kraftControllerEpoch %d): a KRaft quorum already owns this cluster", ct.BrokerID, ct.KRaftControllerEpoch),
			Remedy:  "finish or roll back the running migration; to roll back, stop the KRaft controllers and delete /controller"})
	}
	if s.ControllerEpoch == nil && !hasFindingAt(s, "/controller_epoch") {
		c.add(zkreader.Finding{Severity: zkreader.Warning, Code: CodeControllerEpochMissing, Path: "/controller_epoch",
			Message: "/controller_epoch is missing: no controller was ever elected here",
			Remedy:  "start the brokers so a controller is elected"})
	}
	if s.Migration != nil && s.Migration.Valid && s.ControllerEpoch != nil && s.Migration.KRaftControllerEpoch > s.ControllerEpoch.Epoch {
		c.add(zkreader.Finding{Severity: zkreader.Warning, Code: CodeControllerEpochAhead, Path: "/controller_epoch",
			Paths:   []string{"/controller_epoch", "/migration"},
			Message: fmt.Sprintf("the KRaft controller epoch %d in /migration is above /controller_epoch %d: a rollback leaves offline partitions (KAFKA-20488)", s.Migration.KRaftControllerEpoch, s.ControllerEpoch.Epoch),
			Remedy:  "raise /controller_epoch above the KRaft epoch before rolling back"})
	}
}

func chrootOrRoot(c string) string {
	if c == "" {
		return "/"
	}
	return c
}

func hasFindingAt(s *zkreader.Snapshot, path string) bool {
	for _, f := range s.Findings {
		if f.Path == path {
			return true
		}
	}
	return false
}

func (c *checker) brokers() {
	s := c.s
	if len(s.Brokers) == 0 {
		if len(s.Topics) > 0 {
			c.add(zkreader.Finding{Severity: zkreader.Blocker, Code: CodeNoBrokers, Path: "/brokers/ids",
				Message: "no broker is registered: the KRaft controller would wait forever for brokers to register",
				Remedy:  "start the brokers (every broker must be up and registered before the migration starts)"})
		}
		return
	}
	ids := make([]string, 0, len(s.Brokers))
	paths := make([]string, 0, len(s.Brokers))
	for _, b := range s.Brokers {
		ids = append(ids, strconv.Itoa(int(b.ID)))
		paths = append(paths, fmt.Sprintf("/brokers/ids/%d", b.ID))
	}
	f := zkreader.Finding{Severity: zkreader.Info, Code: CodeBrokersToRegister, Path: "/brokers/ids",
		Message: fmt.Sprintf("the migration waits until these %d broker(s) register with the KRaft quorum: %s", len(ids), strings.Join(ids, ", ")),
		Remedy:  "roll every one of them with zookeeper.metadata.migration.enable=true and the controller quorum settings; a broker missing from this list must be started first"}
	if len(paths) <= c.o.MaxPaths {
		f.Paths = paths
	}
	c.add(f)
	var old, tooOld []string
	common := map[string]int{}
	for _, b := range s.Brokers {
		p := fmt.Sprintf("/brokers/ids/%d", b.ID)
		if b.Version < 5 {
			old = append(old, p)
		}
		for _, f := range b.Features {
			if f.Name == "metadata.version" && f.MaxVersion < migrationMinMetadataVersionLevel {
				tooOld = append(tooOld, p)
			}
		}
		seen := map[string]bool{}
		for _, e := range b.Endpoints {
			if !seen[e.Listener] {
				seen[e.Listener] = true
				common[e.Listener]++
			}
		}
	}
	c.group(zkreader.Blocker, CodeBrokerOldRegistration, old,
		"broker registration version below 5: inter.broker.protocol.version is below 2.7, and a KRaft migration needs 3.6 or newer (features and endpoints KRaft needs are missing)",
		"upgrade the brokers and set inter.broker.protocol.version to the running version (3.6+), roll them, then check again")
	c.group(zkreader.Blocker, CodeBrokerSoftwareTooOld, tooOld,
		fmt.Sprintf("broker supports metadata.version only below level %d (3.6-IV1): its Kafka version cannot take part in a migration", migrationMinMetadataVersionLevel),
		"upgrade these brokers to Kafka 3.6 or newer (3.9 recommended) first")
	shared := false
	for _, n := range common {
		if n == len(s.Brokers) {
			shared = true
		}
	}
	if !shared {
		paths := make([]string, 0, len(s.Brokers))
		for _, b := range s.Brokers {
			paths = append(paths, fmt.Sprintf("/brokers/ids/%d", b.ID))
		}
		c.group(zkreader.Blocker, CodeNoCommonListener, paths,
			"no listener name is registered by every broker, so no inter-broker listener is reachable on all of them (KAFKA-16468)",
			"give every broker the same inter.broker.listener.name listener before migrating")
	}
}

func (c *checker) topics() {
	s := c.s
	brokers := map[int32]bool{}
	for _, b := range s.Brokers {
		brokers[b.ID] = true
	}
	malformed := map[string]bool{}
	for _, f := range s.Findings {
		malformed[f.Path] = true
	}
	ctlEpoch := int32(-1)
	if s.ControllerEpoch != nil {
		ctlEpoch = s.ControllerEpoch.Epoch
	}
	deleting := map[string]bool{}
	for _, t := range s.PendingDeletions {
		deleting[t] = true
	}
	var noID, reassign, offline, beingDeleted, emptyISR, leaderNotInISR, unknown, missingState, gaps, epochAhead, pending []string
	existing := map[string]bool{}
	collide := map[string][]string{}
	for _, t := range s.Topics {
		tp := "/brokers/topics/" + t.Name
		existing[t.Name] = true
		collide[strings.ReplaceAll(t.Name, ".", "_")] = append(collide[strings.ReplaceAll(t.Name, ".", "_")], t.Name)
		if deleting[t.Name] {
			continue // not migrated; reported below
		}
		if t.TopicID == nil {
			noID = append(noID, tp)
		}
		gap := false
		for i, p := range t.Partitions {
			pp := fmt.Sprintf("%s/partitions/%d", tp, p.ID)
			sp := pp + "/state"
			if p.ID != int32(i) && !gap {
				gap = true
				gaps = append(gaps, tp)
			}
			if len(p.AddingReplicas) > 0 || len(p.RemovingReplicas) > 0 {
				reassign = append(reassign, pp)
			}
			unknownBroker := false
			for _, r := range p.Replicas {
				unknownBroker = unknownBroker || !brokers[r]
			}
			st := p.State
			if st == nil {
				if unknownBroker {
					unknown = append(unknown, pp)
				}
				if !malformed[sp] {
					missingState = append(missingState, sp)
				}
				continue
			}
			switch {
			case st.Leader == -1:
				offline = append(offline, sp)
			case st.Leader == -2:
				beingDeleted = append(beingDeleted, sp)
			case !containsID(st.ISR, st.Leader):
				leaderNotInISR = append(leaderNotInISR, sp)
			}
			if len(st.ISR) == 0 {
				emptyISR = append(emptyISR, sp)
			}
			for _, r := range st.ISR {
				unknownBroker = unknownBroker || !brokers[r]
			}
			if unknownBroker {
				unknown = append(unknown, pp)
			}
			if ctlEpoch >= 0 && st.ControllerEpoch > ctlEpoch {
				epochAhead = append(epochAhead, sp)
			}
		}
	}
	for _, d := range s.PendingDeletions {
		pending = append(pending, "/admin/delete_topics/"+d)
	}
	sev, remedy := zkreader.Blocker, "run zk2kraft translate with --assign-topic-ids (derived, stable ids), or upgrade to IBP >= 2.8 and let the controller assign ids"
	if c.o.AssignTopicIDs {
		sev, remedy = zkreader.Warning, "ids will be derived by --assign-topic-ids; clients caching topic ids are unaffected because none exist yet"
	}
	c.group(sev, CodeTopicWithoutID, noID, "topics without a topic_id (created before Kafka 2.8): Kafka's own migration aborts on them", remedy)
	c.group(zkreader.Warning, CodePendingDeletion, pending,
		"topics pending deletion are not migrated; their partitions may linger as stray logs on brokers that missed the deletion (KAFKA-15605)",
		"let the deletions finish (all replicas' brokers online) before migrating")
	c.group(zkreader.Warning, CodeReassignment, reassign,
		"partition reassignments in flight: they are carried over as adding/removing replicas and completed by the KRaft controller",
		"prefer to let them finish (kafka-reassign-partitions --verify) or cancel them before migrating")
	if s.LegacyReassignment != nil {
		c.add(zkreader.Finding{Severity: zkreader.Warning, Code: CodeLegacyReassignment, Path: "/admin/reassign_partitions",
			Message: "a legacy /admin/reassign_partitions request is pending; it is not migrated and would be lost",
			Remedy:  "wait for it to complete (the znode disappears) or delete it"})
	}
	c.group(zkreader.Warning, CodeOfflinePartition, offline, "offline partitions (leader -1)", "bring their replicas' brokers back, or run unclean leader election, before migrating")
	c.group(zkreader.Warning, CodeDeletingPartition, beingDeleted, "partitions marked for deletion (leader -2) of topics not listed under /admin/delete_topics", "let the topic deletion finish")
	c.group(zkreader.Warning, CodeEmptyISR, emptyISR, "partitions with an empty ISR", "restore their replicas before migrating")
	c.group(zkreader.Warning, CodeLeaderNotInISR, leaderNotInISR, "partitions whose leader is not in the ISR", "wait for the controller to fix leadership (or restart it) before migrating")
	c.group(zkreader.Warning, CodeUnknownBroker, unknown,
		"partitions with replicas or ISR members on brokers that are not registered under /brokers/ids",
		"start those brokers (the migration waits for every broker) or reassign the partitions away from decommissioned brokers")
	c.group(zkreader.Warning, CodeStateMissing, missingState,
		"partition state znodes missing: the migration initializes them with ISR = replicas and leader epoch 0",
		"let the controller recreate them (restart the controller) before migrating")
	c.group(zkreader.Warning, CodePartitionGap, gaps, "topics whose partition ids are not 0..n-1", "recreate the topic or add the missing partitions; KRaft numbers new partitions from the count")
	c.group(zkreader.Warning, CodeControllerEpochAhead, epochAhead,
		fmt.Sprintf("partition states written by a controller epoch above /controller_epoch %d (left by a KRaft controller or a rollback, KAFKA-20488)", ctlEpoch),
		"raise /controller_epoch above them (elect a new ZooKeeper controller) before migrating or rolling back")
	var collisions []string
	for _, names := range collide {
		if len(names) > 1 {
			for _, n := range names {
				collisions = append(collisions, "/brokers/topics/"+n)
			}
		}
	}
	c.group(zkreader.Info, CodeTopicNameCollision, collisions, "topic names that collide when '.' and '_' are equated (their metrics collide)", "none needed for the migration; consider renaming")
	var orphans []string
	for _, tc := range s.TopicConfigs {
		if !existing[tc.Name] {
			orphans = append(orphans, "/config/topics/"+tc.Name)
		}
	}
	c.group(zkreader.Info, CodeOrphanTopicConfig, orphans, "topic configs of topics that do not exist; they are not migrated", "delete them if they are leftovers")
}

func containsID(s []int32, v int32) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// isPasswordConfig approximates DynamicBrokerConfig.isPasswordConfig: the
// PASSWORD-typed broker configs, possibly behind a listener.name.<l>. prefix.
func isPasswordConfig(key string) bool {
	for _, suffix := range []string{"password", "sasl.jaas.config", "ssl.keystore.key", "ssl.keystore.certificate.chain", "ssl.truststore.certificates"} {
		if strings.HasSuffix(key, suffix) {
			return true
		}
	}
	return false
}

func (c *checker) configs() {
	s := c.s
	brokers := map[string]bool{}
	for _, b := range s.Brokers {
		brokers[strconv.Itoa(int(b.ID))] = true
	}
	var pw, orphan []string
	for _, bc := range s.BrokerConfigs {
		p := "/config/brokers/" + bc.Name
		for k := range bc.Config {
			if isPasswordConfig(k) {
				pw = append(pw, p)
				break
			}
		}
		if bc.Name != kafka.DefaultEntity && !brokers[bc.Name] {
			orphan = append(orphan, p)
		}
	}
	c.group(zkreader.Warning, CodePasswordConfigs, pw,
		"broker configs hold password-type values encrypted with the brokers' password.encoder.secret; KRaft stores them decrypted",
		"give the controllers (and zk2kraft translate) the same password.encoder.secret; values are never printed")
	c.group(zkreader.Info, CodeOrphanBrokerConfig, orphan, "dynamic configs of broker ids that are not registered (they are migrated anyway)", "delete them if the brokers are decommissioned")
	var unknownKeys, lowIter []string
	for _, q := range s.Quotas {
		for k := range q.Values {
			if !knownQuotaKeys[k] {
				unknownKeys = append(unknownKeys, q.Path)
				break
			}
		}
	}
	for _, sc := range s.Scram {
		if sc.Iterations < 4096 {
			lowIter = append(lowIter, sc.Path)
		}
	}
	c.group(zkreader.Warning, CodeUnknownQuotaKey, unknownKeys,
		"quota znodes with keys KRaft does not know as quotas; they are migrated as ClientQuotaRecords KRaft would reject from the admin API",
		"remove the unknown keys with kafka-configs --alter --delete-config")
	c.group(zkreader.Warning, CodeScramIterations, lowIter,
		"SCRAM credentials with fewer than 4096 iterations (Kafka's minimum); KRaft refuses to create such credentials",
		"reset those users' passwords with kafka-configs --alter --add-config 'SCRAM-SHA-512=[iterations=8192,password=...]'")
}

func (c *checker) acls() {
	var clusterName, empty []string
	for _, a := range c.s.ACLs {
		if a.ResourceType == "Cluster" && a.Name != "kafka-cluster" {
			clusterName = append(clusterName, a.Path)
		}
		if len(a.Entries) == 0 {
			empty = append(empty, a.Path)
		}
	}
	c.group(zkreader.Warning, CodeACLClusterName, clusterName,
		"Cluster ACLs on a resource other than kafka-cluster: migrated, but KRaft's authorizer never matches them",
		"re-create them on the kafka-cluster resource")
	c.group(zkreader.Info, CodeACLEmpty, empty, "ACL znodes without entries; nothing is migrated for them", "delete them")
}

func (c *checker) misc() {
	s := c.s
	if n := len(s.DelegationTokens); n > 0 {
		c.add(zkreader.Finding{Severity: zkreader.Info, Code: CodeDelegationTokens, Path: "/delegation_token/tokens",
			Message: fmt.Sprintf("%d delegation token(s) are migrated; using them in KRaft needs metadata.version 3.6-IV2 or newer", n),
			Remedy:  "configure the controllers with the brokers' delegation.token.secret.key"})
	}
	if s.ProducerIDBlock == nil && len(s.Topics) > 0 && !hasFindingAt(s, "/latest_producer_id_block") {
		c.add(zkreader.Finding{Severity: zkreader.Info, Code: CodeNoProducerIDBlock, Path: "/latest_producer_id_block",
			Message: "no producer id block was ever allocated; KRaft starts producer ids at 0",
			Remedy:  "none needed"})
	}
	if s.Features != nil {
		c.add(zkreader.Finding{Severity: zkreader.Info, Code: CodeFeatureZnode, Path: "/feature",
			Message: "/feature is not migrated: KRaft's metadata.version comes from the controllers' bootstrap (kafka-storage format --release-version)",
			Remedy:  "format the controllers with the metadata.version matching the brokers' inter.broker.protocol.version"})
	}
}
