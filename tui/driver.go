// Package tui is zk2kraft's interactive migration wizard (bubbletea). It holds
// no migration logic: every step is a call on a Driver, which the command
// implements over package migrate — the same calls `zk2kraft migrate` makes.
//
// The model is composed of one small model per screen (connect, preflight,
// plan, copy, mirror, verify, cutover); Update is pure (messages in, model and
// commands out) and all I/O happens in commands that call the Driver.
package tui

//go:generate go test -run TestGoldenFrames -update .

import (
	"context"
	"time"

	"github.com/zk2kraft/zk2kraft/preflight"
	"github.com/zk2kraft/zk2kraft/progress"
)

// Settings are what the Connect screen collects.
type Settings struct {
	ZK          string // connect string HOST:PORT[,HOST:PORT...][/chroot]
	Chroot      string // Kafka chroot, if not in ZK
	Auth        string // digest USER:PASSWORD (never shown, never logged)
	TLSCA       string // PEM files for ZooKeeper's secure client port
	TLSCert     string
	TLSKey      string
	Quorum      string // quorum client API addresses HOST:PORT,...
	LocalQuorum bool   // start a local 3-node quorum instead of Quorum
}

// Connection is what a successful connection test found.
type Connection struct {
	ZKServer  string // the server answered, and what it is (e.g. "127.0.0.1:2181 (ZooKeeper 3.8)")
	ClusterID string // ZooKeeper's /cluster/id
	Quorum    string // the quorum's addresses (those of the local quorum when one was started)
	// Phase is the migration's phase recorded in the quorum ("" for a fresh
	// migration): the wizard resumes from it.
	Phase string
}

// Count is one line of the plan: how many of a kind.
type Count struct {
	Name string
	N    int64
}

// Skip is something the migration does not carry over, and why.
type Skip struct {
	What   string
	Count  int
	Reason string
}

// Plan is what will be migrated.
type Plan struct {
	Objects  []Count // per object kind: brokers, topics, partitions, configs, quotas, SCRAM users, ACLs
	Records  []Count // per KRaft record type
	Skipped  []Skip
	Estimate time.Duration // estimated time of the copy, from a measured read rate
	// Preview holds the records to be written, one per line, secrets redacted.
	Preview []string
}

// MirrorStats is one sample of the dual-write mirror's state.
type MirrorStats struct {
	At            time.Time
	Applied       int64         // ZooKeeper changes mirrored so far
	LagKnown      bool          // the mirror reports its lag (else only the quorum's log is sampled)
	LagRecords    int64         // changes seen but not yet committed to the quorum
	LagP50        time.Duration // change-to-commit latency percentiles over the last interval
	LagP99        time.Duration
	ChangesPerSec float64
	Backlog       int64 // changes queued for the quorum
	Reconnects    int   // ZooKeeper session re-establishments
	Err           string
}

// Difference is one object that differs between ZooKeeper and the quorum.
type Difference struct {
	Kind     string // topic, partition, config, quota, scram, acl, producer-ids, ...
	Object   string
	Field    string
	ZK       string
	Quorum   string
	InFlight bool // ZooKeeper's side is newer than the mirror's position
}

// Digest is one section's object count and digest on both sides.
type Digest struct {
	Section string
	Count   int
	ZK      string
	Quorum  string
}

// Verification is a parity check's result.
type Verification struct {
	Parity      bool // no mismatch, mirror lag zero, two consecutive comparisons agree
	Compared    int
	Differences []Difference
	Digests     []Digest
	Note        string // why parity is not (yet) declared, if it is not
}

// Cutover is the result of handing authority to the quorum.
type Cutover struct {
	ControllerEpoch int32
	Report          []string // lines: how to point Kafka at the new controllers, timings, ...
}

// Driver runs the migration's steps. Implementations must honour ctx and be
// safe to call from commands (goroutines).
type Driver interface {
	// Connect tests the connection to ZooKeeper and the quorum (starting a
	// local quorum when asked) and remembers the settings for the other steps.
	Connect(ctx context.Context, s Settings) (Connection, error)
	// Check runs the pre-flight check on a fresh ZooKeeper read, reporting
	// the read's progress.
	Check(ctx context.Context, p progress.Func) (*preflight.Report, error)
	// Plan says what the copy will write (reporting progress when it reads
	// or translates).
	Plan(ctx context.Context, p progress.Func) (Plan, error)
	// Copy snapshots, translates and copies into the quorum, reporting progress.
	Copy(ctx context.Context, p progress.Func) error
	// Mirror starts the dual-write mirror and reports samples until ctx ends
	// or the mirror fails; it returns once the mirror is running.
	Mirror(ctx context.Context, sample func(MirrorStats)) error
	// Verify compares ZooKeeper with the quorum.
	Verify(ctx context.Context, p progress.Func) (Verification, error)
	// Cutover hands authority to the quorum; confirm must be the cluster id.
	Cutover(ctx context.Context, confirm string) (Cutover, error)
	// Abort removes everything the migration created and leaves ZooKeeper
	// as it was. Only before cutover.
	Abort(ctx context.Context) error
	// ResumeCommand is the shell command that resumes the migration.
	ResumeCommand() string
}
