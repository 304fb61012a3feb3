package migrate

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/zk2kraft/zk2kraft/quorum/client"
)

// Phase names a step of the migration. The phases run in this order;
// PhaseCutover is the point of no return.
type Phase string

const (
	PhaseCheck     Phase = "check"     // connect, read ZooKeeper, pre-flight findings
	PhaseSnapshot  Phase = "snapshot"  // the read that is copied (zxid recorded in the quorum)
	PhaseTranslate Phase = "translate" // ZooKeeper read -> KRaft records
	PhaseCopy      Phase = "copy"      // records into the quorum, in batches ("copied" when done)
	PhaseMirroring Phase = "mirroring" // dual-write: later ZooKeeper changes into the quorum
	PhaseVerified  Phase = "verified"  // parity proven
	PhaseCutover   Phase = "cutover"   // THE POINT OF NO RETURN: the quorum takes the controller role
)

// Phases in order.
var Phases = []Phase{PhaseCheck, PhaseSnapshot, PhaseTranslate, PhaseCopy, PhaseMirroring, PhaseVerified, PhaseCutover}

// PointOfNoReturn is the phase after which abort is impossible.
const PointOfNoReturn = PhaseCutover

// ParseUntil maps the --until values (check|snapshot|copied|mirroring|verified|cutover).
func ParseUntil(s string) (Phase, error) {
	switch s {
	case "", "cutover":
		return PhaseCutover, nil
	case "check":
		return PhaseCheck, nil
	case "snapshot":
		return PhaseSnapshot, nil
	case "translate":
		return PhaseTranslate, nil
	case "copied", "copy":
		return PhaseCopy, nil
	case "mirroring":
		return PhaseMirroring, nil
	case "verified":
		return PhaseVerified, nil
	}
	return "", fmt.Errorf("--until %q: want check, snapshot, copied, mirroring, verified or cutover", s)
}

func phaseIndex(p Phase) int {
	for i, q := range Phases {
		if q == p {
			return i
		}
	}
	return -1
}

// Persistent states, kept in the quorum's Meta under KeyState.
const (
	StateNone           = ""                // nothing written
	StateCopying        = "copying"         // bootstrap written, copy under way (transaction open)
	StateCopied         = "copied"          // copy committed (EndTransactionRecord)
	StateMirroring      = "mirroring"       // dual-write has run
	StateVerified       = "verified"        // parity proven
	StateCutoverStarted = "cutover-started" // the claim of ZooKeeper's controller role has begun
	StateCutover        = "cutover"         // done: the quorum is authoritative
	StateAborted        = "aborted"         // abort ran: this quorum must be wiped
)

// Meta keys of the migration's state in the quorum. They are written with
// the batches they describe (atomically) and guarded by preconditions.
const (
	KeyState        = "migrate.state"
	KeyClusterID    = "migrate.cluster_id"
	KeySnapshotZxid = "migrate.snapshot_zxid"
	KeySnapshotAt   = "migrate.snapshot_at"
	KeyCopyNext     = "migrate.copy_next"  // index of the next copy batch
	KeyCopyTotal    = "migrate.copy_total" // number of copy batches
	KeyCounts       = "migrate.counts"     // JSON: records per type
	KeyKinds        = "migrate.kinds"      // JSON: objects per kind
	KeyTimings      = "migrate.timings"    // JSON: phase -> ms
	KeyZKBefore     = "migrate.zk_before"  // JSON: /controller, /controller_epoch, /migration before the migration
	KeyClaim        = "migrate.claim"      // JSON: the claim being made (cutover-started)
	KeyCutover      = "migrate.cutover"    // JSON: the completed cutover (set with the final state)
	KeyMV           = "migrate.metadata_version"
	KeyRun          = "migrate.run" // id of the migration (tokens derive from it)
)

// State is the migration's state as the quorum holds it.
type State struct {
	State        string            `json:"state"`
	ClusterID    string            `json:"cluster_id,omitempty"`
	SnapshotZxid int64             `json:"snapshot_zxid,omitempty"`
	SnapshotAt   string            `json:"snapshot_at,omitempty"`
	CopyNext     int               `json:"copy_next"`
	CopyTotal    int               `json:"copy_total"`
	Counts       map[string]int    `json:"counts,omitempty"`
	Kinds        map[string]int    `json:"kinds,omitempty"`
	Timings      map[string]int64  `json:"timings_ms,omitempty"`
	ZKBefore     *ZKControlState   `json:"zk_before,omitempty"`
	Claim        *CutoverInfo      `json:"claim,omitempty"`
	Cutover      *CutoverInfo      `json:"cutover,omitempty"`
	Run          string            `json:"run,omitempty"`
	Meta         map[string]string `json:"-"`
	// QuorumClusterID is the cluster id the quorum was bootstrapped with.
	QuorumClusterID string `json:"quorum_cluster_id"`
	NextOffset      int64  `json:"next_offset"`
	LastEpoch       int32  `json:"last_epoch"`
}

// LoadState reads the migration's state from the quorum (linearizable).
func LoadState(ctx context.Context, q *client.Client) (*State, error) {
	mv, err := q.Meta(ctx)
	if err != nil {
		return nil, err
	}
	m := mv.Meta
	s := &State{State: m[KeyState], ClusterID: m[KeyClusterID], SnapshotAt: m[KeySnapshotAt], Run: m[KeyRun], Meta: m,
		QuorumClusterID: mv.ClusterID, NextOffset: mv.Position.NextOffset, LastEpoch: mv.Position.LastEpoch}
	if v := m[KeySnapshotZxid]; v != "" {
		s.SnapshotZxid, _ = strconv.ParseInt(v, 0, 64)
	}
	s.CopyNext, _ = strconv.Atoi(m[KeyCopyNext])
	s.CopyTotal, _ = strconv.Atoi(m[KeyCopyTotal])
	for _, kv := range []struct {
		key string
		dst any
	}{{KeyCounts, &s.Counts}, {KeyKinds, &s.Kinds}, {KeyTimings, &s.Timings}, {KeyZKBefore, &s.ZKBefore}, {KeyClaim, &s.Claim}, {KeyCutover, &s.Cutover}} {
		if v := m[kv.key]; v != "" {
			if err := json.Unmarshal([]byte(v), kv.dst); err != nil {
				return nil, fmt.Errorf("quorum meta %s: %w", kv.key, err)
			}
		}
	}
	return s, nil
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only plain structs and maps are marshalled here
	}
	return string(b)
}
