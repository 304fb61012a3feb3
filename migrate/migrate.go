// Package migrate drives a whole ZooKeeper → KRaft migration as named,
// resumable phases:
//
//	check → snapshot → translate → copy → mirroring → verified → cutover
//
// cutover is THE POINT OF NO RETURN: the quorum claims ZooKeeper's controller
// role with a higher controller epoch (fencing the ZooKeeper-mode
// controller), /migration records the quorum's offset, and a
// ZkMigrationStateRecord closes the migration in the quorum's log. Before it,
// Abort leaves ZooKeeper exactly as it was.
//
// The migration's state (phase, snapshot zxid, copy position, counts, timings)
// lives in the quorum's Meta, written atomically with the batches it
// describes and guarded by append preconditions, so running again after a
// crash, a kill or Ctrl-C resumes where it stopped and never starts a second
// copy over a first.
//
// Run does everything up to Options.Until. The wizard drives the same steps
// one by one through a Migration (New, Check, Snapshot, Translate, Copy,
// StartMirror, Verify, Cutover) and renders Options.Progress events and
// Options.OnPhase reports; it holds no migration logic of its own.
package migrate

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/zk2kraft/zk2kraft/dualwrite"
	"github.com/zk2kraft/zk2kraft/image"
	"github.com/zk2kraft/zk2kraft/kafka"
	"github.com/zk2kraft/zk2kraft/preflight"
	"github.com/zk2kraft/zk2kraft/progress"
	"github.com/zk2kraft/zk2kraft/quorum/client"
	"github.com/zk2kraft/zk2kraft/translate"
	"github.com/zk2kraft/zk2kraft/translate/records"
	"github.com/zk2kraft/zk2kraft/verify"
	"github.com/zk2kraft/zk2kraft/zkreader"
)

// Mirror is a running dual-write (package dualwrite): ZooKeeper changes made
// after the snapshot flow into the quorum until Close.
type Mirror interface {
	Close() error
}

// MirrorStarter starts the mirror from a snapshot at snapshotZxid whose copy is
// committed in the quorum.
type MirrorStarter func(ctx context.Context, snapshotZxid int64) (Mirror, error)

// Options of a migration.
type Options struct {
	ZK zkreader.Options
	// ReadSource, when set, makes the check and the snapshot to copy come
	// from it (e.g. datadir.Read of a ZooKeeper server's own files, at one
	// zxid) instead of an online read; the mirror then starts from the zxid
	// it reached, and verify still reads ZooKeeper online (ZK).
	ReadSource func(ctx context.Context, progress progress.Func) (*zkreader.Snapshot, error)
	Quorum     *client.Client
	// Until is the last phase to run (default PhaseCutover).
	Until Phase
	// DryRun writes nothing anywhere (not ZooKeeper, not the quorum) and
	// fills Report.Plan.
	DryRun bool
	// Yes confirms the cutover (the point of no return). Without it Run
	// stops before the cutover with ErrConfirmationNeeded.
	Yes bool
	// Translate: target metadata version and password handling.
	// AssignedTopicIDs is filled by the migration when AssignTopicIDs.
	Translate translate.Options
	// AssignTopicIDs gives topics whose znode has no topic id a derived id
	// (Kafka's own migration refuses such topics).
	AssignTopicIDs bool
	// StateDir keeps the snapshot being copied so an interrupted copy resumes
	// with the same data. Empty: an interrupted copy is aborted in the
	// quorum (AbortTransactionRecord) and redone from a new snapshot.
	StateDir string
	// StartMirror starts the dual-write; nil: no mirror (changes after the
	// snapshot then show up as differences in verify).
	StartMirror MirrorStarter
	// VerifyRounds and VerifyTimeout bound each verification (defaults 20
	// and 2 minutes).
	VerifyRounds  int
	VerifyTimeout time.Duration
	// KRaftControllerID is the node id that claims ZooKeeper's controller
	// role (default: the quorum leader's node id).
	KRaftControllerID int32
	// Progress receives every progress event (read, translate, copy, verify).
	Progress progress.Func
	// OnPhase receives each phase's report when the phase starts and ends.
	OnPhase func(PhaseReport)
	Logger  *slog.Logger
}

// Errors callers (the CLI, the wizard) branch on.
var (
	ErrBlocked            = errors.New("pre-flight found blockers")
	ErrNoParity           = errors.New("no parity between ZooKeeper and the quorum")
	ErrConfirmationNeeded = errors.New("cutover is the point of no return and needs explicit confirmation (--yes)")
	ErrClusterID          = errors.New("cluster id mismatch (INCONSISTENT_CLUSTER_ID)")
	ErrAborted            = errors.New("this quorum holds an aborted migration")
	ErrNotEmpty           = errors.New("the quorum is not empty and holds no migration of this tool")
	ErrPastNoReturn       = errors.New("the cutover has started: past the point of no return")
)

// Migration is one migration driven step by step.
type Migration struct {
	opts   Options
	log    *slog.Logger
	state  *State
	report *Report

	snap      *zkreader.Snapshot
	snapFresh bool // snap was read by this process (not loaded)
	check     *preflight.Report
	tr        *translate.Result
	batches   [][]records.Versioned
	// assigned are the topic ids given to topics without one (kept when
	// the snapshot is let go after the copy).
	assigned   map[string]kafka.UUID
	mirror     Mirror
	lastVerify *verify.Result
	verifiedAt time.Time
	verifyPos  int64
	// prevTimings are the phase times of earlier runs (this run's are added).
	prevTimings map[string]int64
}

// New connects to the quorum and loads the migration's state.
func New(ctx context.Context, opts Options) (*Migration, error) {
	if opts.Quorum == nil {
		return nil, errors.New("migrate: no quorum client")
	}
	if opts.Until == "" {
		opts.Until = PhaseCutover
	}
	if phaseIndex(opts.Until) < 0 {
		return nil, fmt.Errorf("migrate: unknown phase %q", opts.Until)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.VerifyRounds <= 0 {
		opts.VerifyRounds = 20
	}
	if opts.VerifyTimeout <= 0 {
		opts.VerifyTimeout = 2 * time.Minute
	}
	m := &Migration{opts: opts, log: opts.Logger, report: &Report{DryRun: opts.DryRun, Until: string(opts.Until), PointOfNoReturn: string(PointOfNoReturn)}}
	st, err := LoadState(ctx, opts.Quorum)
	if err != nil {
		return nil, fmt.Errorf("migrate: read the quorum's state: %w", err)
	}
	m.state = st
	m.prevTimings = st.Timings
	m.report.StateAtStart = st.State
	m.report.ClusterID = st.QuorumClusterID
	switch st.State {
	case StateAborted:
		return nil, fmt.Errorf("migrate: %w: stop its nodes, delete their data dirs and start a fresh quorum", ErrAborted)
	case StateNone:
		if st.NextOffset > 0 {
			return nil, fmt.Errorf("migrate: %w (%d records in its log): point --quorum at a freshly bootstrapped quorum", ErrNotEmpty, st.NextOffset)
		}
	}
	return m, nil
}

// State returns the migration's state as last loaded or written.
func (m *Migration) State() *State { return m.state }

// Report returns the report so far.
func (m *Migration) Report() *Report { return m.report }

// Close stops the mirror if it runs.
func (m *Migration) Close() error {
	if m.mirror != nil {
		if st := mirrorStats(m.mirror); st != nil {
			m.report.Mirror = st
		}
		err := m.mirror.Close()
		m.mirror = nil
		return err
	}
	return nil
}

func (m *Migration) reload(ctx context.Context) error {
	st, err := LoadState(ctx, m.opts.Quorum)
	if err != nil {
		return fmt.Errorf("migrate: read the quorum's state: %w", err)
	}
	m.state = st
	return nil
}

func (m *Migration) progress(e progress.Event) {
	if m.opts.Progress != nil {
		m.opts.Progress(e)
	}
}

func (m *Migration) begin(p Phase) *PhaseReport {
	pr := m.report.phase(p)
	pr.Status = "running"
	pr.started = time.Now()
	m.log.Info("migrate: phase started", "phase", string(p), "point_of_no_return", p == PointOfNoReturn)
	if m.opts.OnPhase != nil {
		m.opts.OnPhase(*pr)
	}
	return pr
}

func (m *Migration) end(pr *PhaseReport, status string, err error) {
	pr.Status = status
	if !pr.started.IsZero() {
		pr.Duration = time.Since(pr.started)
		pr.Seconds = pr.Duration.Seconds()
		if pr.Items > 0 && pr.Seconds > 0 {
			pr.Rate = float64(pr.Items) / pr.Seconds
		}
	}
	if err != nil {
		pr.Error = err.Error()
	}
	m.log.Info("migrate: phase ended", "phase", pr.Name, "status", status, "took", pr.Duration.Round(time.Millisecond), "items", pr.Items, "unit", pr.Unit)
	if m.opts.OnPhase != nil {
		m.opts.OnPhase(*pr)
	}
}

// Check reads ZooKeeper and runs the pre-flight checks. The read is kept as
// the snapshot when the copy has not started. Blockers return ErrBlocked
// (with the report filled).
func (m *Migration) Check(ctx context.Context) (*preflight.Report, error) {
	pr := m.begin(PhaseCheck)
	snap, err := m.read(ctx, "check")
	if err != nil {
		m.end(pr, "failed", err)
		return nil, err
	}
	pr.Items, pr.Unit = snap.ZnodesRead, "znodes"
	m.report.ReadRate = float64(snap.ZnodesRead) / max(time.Since(pr.started).Seconds(), 1e-6)
	if err := m.checkClusterID(snap); err != nil {
		m.end(pr, "failed", err)
		return nil, err
	}
	rep := preflight.Check(snap, preflight.Options{AssignTopicIDs: m.opts.AssignTopicIDs})
	m.check = &rep
	m.report.Findings = rep.Findings
	m.report.Source = snap.Source
	m.snap, m.snapFresh = snap, true
	if rep.HasBlockers() {
		err := fmt.Errorf("migrate: %w: %d blocker(s); see the findings", ErrBlocked, rep.Summary.Blockers)
		m.end(pr, "failed", err)
		return &rep, err
	}
	m.end(pr, "done", nil)
	return &rep, nil
}

func (m *Migration) read(ctx context.Context, step string) (*zkreader.Snapshot, error) {
	o := m.opts.ZK
	o.Progress = func(e progress.Event) { e.Phase = step; m.progress(e) }
	if o.Logger == nil {
		o.Logger = m.log
	}
	if m.opts.ReadSource != nil {
		snap, err := m.opts.ReadSource(ctx, o.Progress)
		if err != nil {
			return nil, fmt.Errorf("migrate: read ZooKeeper's files: %w", err)
		}
		return snap, nil
	}
	snap, err := zkreader.Read(ctx, o)
	if err != nil {
		return nil, fmt.Errorf("migrate: read ZooKeeper: %w", err)
	}
	return snap, nil
}

// checkClusterID: the quorum's cluster id must be ZooKeeper's /cluster/id.
func (m *Migration) checkClusterID(snap *zkreader.Snapshot) error {
	if snap.ClusterID == nil || snap.ClusterID.ID == "" {
		return fmt.Errorf("migrate: %s/cluster/id is missing or empty: the quorum must be bootstrapped with the Kafka cluster's id", snap.Chroot)
	}
	zkID := snap.ClusterID.ID
	m.report.ClusterID = zkID
	if m.state.QuorumClusterID != zkID {
		return fmt.Errorf("migrate: %w: the quorum was bootstrapped with cluster id %q but ZooKeeper's /cluster/id is %q; "+
			"Kafka brokers would fail with INCONSISTENT_CLUSTER_ID: bootstrap the quorum with --cluster-id %s",
			ErrClusterID, m.state.QuorumClusterID, zkID, zkID)
	}
	if m.state.ClusterID != "" && m.state.ClusterID != zkID {
		return fmt.Errorf("migrate: %w: the quorum holds a migration of cluster %q, ZooKeeper is cluster %q", ErrClusterID, m.state.ClusterID, zkID)
	}
	return nil
}

// Snapshot fixes the read that will be copied: the check's read when this
// process made it, else (resuming a copy) the saved snapshot with the zxid
// the quorum recorded, else a new read.
func (m *Migration) Snapshot(ctx context.Context) error {
	pr := m.begin(PhaseSnapshot)
	if m.state.State == StateCopying && m.opts.StateDir != "" {
		// Resuming a copy: copy the same data as before.
		if s, err := loadSnapshot(m.snapshotPath(m.state.SnapshotZxid)); err == nil && s.MaxZxid == m.state.SnapshotZxid {
			m.snap, m.snapFresh = s, false
			pr.Note = fmt.Sprintf("resumed with the saved snapshot at zxid 0x%x", s.MaxZxid)
		}
	}
	if m.snap != nil && m.snapFresh && pr.Note == "" {
		pr.Note = "the check's read is the snapshot"
	}
	if m.snap == nil {
		s, err := m.read(ctx, "snapshot")
		if err != nil {
			m.end(pr, "failed", err)
			return err
		}
		if err := m.checkClusterID(s); err != nil {
			m.end(pr, "failed", err)
			return err
		}
		m.snap, m.snapFresh = s, true
	}
	if pr.Note == "" {
		pr.Items, pr.Unit = m.snap.ZnodesRead, "znodes"
	}
	m.report.SnapshotZxid = m.snap.MaxZxid
	m.report.Source = m.snap.Source
	if m.opts.StateDir != "" && !m.opts.DryRun && m.snapFresh {
		if err := saveSnapshot(m.snapshotPath(m.snap.MaxZxid), m.snap); err != nil {
			m.end(pr, "failed", err)
			return err
		}
	}
	m.end(pr, "done", nil)
	return nil
}

func (m *Migration) snapshotPath(zxid int64) string {
	return filepath.Join(m.opts.StateDir, fmt.Sprintf("snapshot-%s-%x.json", kafka.Sanitize(m.report.ClusterID), zxid))
}

// Translate turns the snapshot into the records to copy.
func (m *Migration) Translate(ctx context.Context) error {
	pr := m.begin(PhaseTranslate)
	if m.snap == nil {
		err := errors.New("migrate: translate before snapshot")
		m.end(pr, "failed", err)
		return err
	}
	topts := m.opts.Translate
	topts.Progress = m.opts.Progress
	if topts.MinBatchRecords <= 0 {
		// Kafka's own migration flushes its buffer at 200 records
		// (zookeeper.metadata.migration.min.batch.size); the copy is one
		// transaction whatever its batches, and full batches copy a
		// 100k-partition cluster in 0.3 s instead of 5 s (500 raft entries).
		topts.MinBatchRecords = cmp.Or(topts.MaxBatchRecords, translate.MaxRecordsPerBatch)
	}
	topts.AssignedTopicIDs = m.assignedIDs()
	tr, err := translate.Translate(m.snap, topts)
	if err != nil {
		err = fmt.Errorf("migrate: translate: %w", err)
		m.end(pr, "failed", err)
		return err
	}
	if tr.Blocked() {
		m.report.Findings = mergeFindings(m.report.Findings, tr.Findings)
		err := fmt.Errorf("migrate: %w in the translation; see the findings", ErrBlocked)
		m.end(pr, "failed", err)
		return err
	}
	m.tr = tr
	m.report.Findings = mergeFindings(m.report.Findings, tr.Findings)
	m.report.Skipped = tr.Skipped
	m.report.Counts = tr.Counts
	m.report.Kinds = objectKinds(m.snap)
	m.report.MetadataVersion = tr.MetadataVersion.String()
	// The copy: the transaction opens first, so an interrupted copy (broker
	// registrations included) can be aborted as a whole.
	cp := tr.Copy()
	m.batches = append(m.batches[:0], cp[0])
	if len(tr.Registrations) > 0 {
		m.batches = append(m.batches, tr.Registrations)
	}
	m.batches = append(m.batches, cp[1:]...)
	for _, b := range m.batches {
		pr.Items += int64(len(b))
	}
	pr.Unit = "records"
	m.end(pr, "done", nil)
	return nil
}

// AssignTopicIDs derives an id for every topic whose znode has none, from the
// cluster id and the topic name (stable across runs and tools).
func AssignTopicIDs(s *zkreader.Snapshot) map[string]kafka.UUID {
	out := map[string]kafka.UUID{}
	cid := ""
	if s.ClusterID != nil {
		cid = s.ClusterID.ID
	}
	for _, t := range s.Topics {
		if t.TopicID == nil {
			out[t.Name] = kafka.DerivedUUID("topic-id", cid, t.Name)
		}
	}
	return out
}

func (m *Migration) token(parts ...string) string {
	return "migrate:" + m.state.Run + ":" + strings.Join(parts, ":")
}

// Copy bootstraps the quorum (on an empty log) and appends the copy batch by
// batch; each append carries the next batch index in Meta and is conditioned
// on the previous one, so a rerun continues exactly after the last batch
// committed, and a batch is never applied twice.
func (m *Migration) Copy(ctx context.Context) error {
	pr := m.begin(PhaseCopy)
	err := m.copy(ctx, pr)
	if err != nil {
		m.end(pr, "failed", err)
		return err
	}
	// The copy is in the quorum: its records and the snapshot are not
	// needed again (verification reads ZooKeeper afresh), and at a million
	// partitions they are ~1 GiB that verification would otherwise hold
	// beside its own two images.
	m.assignedIDs()
	m.snap, m.tr, m.batches = nil, nil, nil
	m.end(pr, "done", nil)
	return nil
}

// assignedIDs are the ids AssignTopicIDs gives topics without one (nil
// unless Options.AssignTopicIDs), taken from the snapshot while there is one.
func (m *Migration) assignedIDs() map[string]kafka.UUID {
	if m.assigned == nil && m.opts.AssignTopicIDs && m.snap != nil {
		m.assigned = AssignTopicIDs(m.snap)
	}
	return m.assigned
}

func (m *Migration) copy(ctx context.Context, pr *PhaseReport) error {
	if m.tr == nil {
		return errors.New("migrate: copy before translate")
	}
	q := m.opts.Quorum
	zxid := strconv.FormatInt(m.snap.MaxZxid, 10)
	total := len(m.batches)
	baseMeta := func() map[string]string {
		return map[string]string{
			KeyState: StateCopying, KeyClusterID: m.report.ClusterID, KeySnapshotZxid: zxid,
			KeySnapshotAt: m.snap.TakenAt.UTC().Format(time.RFC3339Nano), KeyCopyNext: "0", KeyCopyTotal: strconv.Itoa(total),
			KeyCounts: mustJSON(m.tr.Counts), KeyKinds: mustJSON(m.report.Kinds), KeyMV: m.report.MetadataVersion,
		}
	}
	switch m.state.State {
	case StateNone:
		// Record ZooKeeper's controller znodes as they are, for abort and
		// cutover, then bootstrap the empty log.
		zc, err := ReadControlState(ctx, m.opts.ZK)
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		meta := baseMeta()
		meta[KeyTimings] = mustJSON(m.report.timingsMS(m.prevTimings))
		meta[KeyZKBefore] = mustJSON(zc)
		meta[KeyRun] = newRunID()
		_, err = q.Append(ctx, m.tr.Bootstrap(), meta, client.AppendOptions{
			Token: "migrate:bootstrap:" + meta[KeyRun], ExpectedOffset: client.Offset(0), If: map[string]string{KeyState: ""},
		})
		if err != nil {
			var pe *client.PreconditionError
			if errors.As(err, &pe) {
				return fmt.Errorf("migrate: bootstrap: %w: another migration wrote to this quorum meanwhile (%v)", ErrNotEmpty, err)
			}
			return fmt.Errorf("migrate: bootstrap the quorum: %w", err)
		}
		m.log.Info("migrate: quorum bootstrapped", "cluster_id", m.report.ClusterID, "snapshot_zxid", zxid)
	case StateCopying:
		if m.state.SnapshotZxid != m.snap.MaxZxid || m.state.CopyTotal != total {
			// A copy of another snapshot was interrupted: abort it in the
			// quorum (the transaction's records are undone) and start this one.
			var recs []records.Versioned
			if m.state.CopyNext > 0 {
				reason := "zk2kraft: interrupted copy restarted from a new snapshot"
				recs = []records.Versioned{{Record: &records.AbortTransactionRecord{Reason: &reason}}}
			}
			meta := baseMeta()
			_, err := q.Append(ctx, recs, meta, client.AppendOptions{
				Token: m.token("restart", strconv.Itoa(m.state.CopyNext), m.state.Meta[KeySnapshotZxid], zxid),
				If:    map[string]string{KeyState: StateCopying, KeyCopyNext: strconv.Itoa(m.state.CopyNext), KeySnapshotZxid: m.state.Meta[KeySnapshotZxid]},
			})
			if err != nil {
				return fmt.Errorf("migrate: restart the interrupted copy: %w", err)
			}
			pr.Note = fmt.Sprintf("an interrupted copy of the snapshot at zxid 0x%x (%d of %d batches) was aborted in the quorum and restarted", m.state.SnapshotZxid, m.state.CopyNext, m.state.CopyTotal)
			m.report.Resumed = true
		} else if m.state.CopyNext > 0 {
			pr.Note = fmt.Sprintf("resumed at batch %d of %d", m.state.CopyNext, total)
			m.report.Resumed = true
		}
	default:
		return fmt.Errorf("migrate: copy: the quorum is in state %q", m.state.State)
	}
	if err := m.reload(ctx); err != nil {
		return err
	}
	var totalRecords int64
	for _, b := range m.batches {
		totalRecords += int64(len(b))
	}
	tk := progress.NewTracker(m.opts.Progress, string(PhaseCopy), "records", totalRecords)
	for i := 0; i < m.state.CopyNext && i < total; i++ {
		tk.Add(int64(len(m.batches[i])))
	}
	start := m.state.CopyNext
	for i := start; i < total; i++ {
		meta := map[string]string{KeyCopyNext: strconv.Itoa(i + 1)}
		if i == total-1 {
			meta[KeyState] = StateCopied
			meta[KeyTimings] = mustJSON(m.report.timingsMS(m.prevTimings))
		}
		_, err := q.Append(ctx, m.batches[i], meta, client.AppendOptions{
			Token: m.token(zxid, "copy", strconv.Itoa(i)),
			If:    map[string]string{KeyState: StateCopying, KeyCopyNext: strconv.Itoa(i), KeySnapshotZxid: zxid},
		})
		if err != nil {
			var pe *client.PreconditionError
			if errors.As(err, &pe) {
				if rerr := m.reload(ctx); rerr == nil && m.state.SnapshotZxid == m.snap.MaxZxid && m.state.CopyNext > i {
					i = m.state.CopyNext - 1 // applied meanwhile (an earlier attempt): go on after it
					continue
				}
				return fmt.Errorf("migrate: copy batch %d of %d: %w (another process is migrating into this quorum, or abort ran)", i+1, total, err)
			}
			return fmt.Errorf("migrate: copy batch %d of %d (%d records): %w", i+1, total, len(m.batches[i]), err)
		}
		tk.Add(int64(len(m.batches[i])))
		pr.Items += int64(len(m.batches[i]))
		m.log.Debug("migrate: copy batch committed", "batch", i+1, "of", total, "records", len(m.batches[i]))
	}
	pr.Unit = "records"
	tk.Finish()
	if err := m.reload(ctx); err != nil {
		return err
	}
	m.report.QuorumOffset = m.state.NextOffset - 1
	return nil
}

func newRunID() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// StartMirror starts the dual-write from the snapshot's zxid and records the
// mirroring state. Without Options.StartMirror the phase is skipped.
func (m *Migration) StartMirror(ctx context.Context) error {
	pr := m.begin(PhaseMirroring)
	if m.mirror != nil {
		m.end(pr, "done", nil)
		return nil
	}
	if m.opts.StartMirror == nil {
		pr.Note = "no mirror configured: ZooKeeper changes after the snapshot are not copied (verify shows them)"
		m.end(pr, "skipped", nil)
		return nil
	}
	mir, err := m.opts.StartMirror(ctx, m.state.SnapshotZxid)
	if err != nil {
		err = fmt.Errorf("migrate: start the mirror: %w", err)
		m.end(pr, "failed", err)
		return err
	}
	m.mirror = mir
	if m.state.State == StateCopied {
		if err := m.setState(ctx, StateCopied, StateMirroring, nil); err != nil {
			m.end(pr, "failed", err)
			return err
		}
	}
	m.end(pr, "done", nil)
	return nil
}

// setState moves the persistent state from -> to (a Meta-only append
// conditioned on from), with extra meta.
func (m *Migration) setState(ctx context.Context, from, to string, extra map[string]string) error {
	meta := map[string]string{KeyState: to, KeyTimings: mustJSON(m.report.timingsMS(m.prevTimings))}
	for k, v := range extra {
		meta[k] = v
	}
	_, err := m.opts.Quorum.Append(ctx, nil, meta, client.AppendOptions{If: map[string]string{KeyState: from}})
	if err != nil {
		return fmt.Errorf("migrate: record state %s: %w", to, err)
	}
	return m.reload(ctx)
}

// Verify compares ZooKeeper with the quorum until parity (see package
// verify). Parity moves the state to verified; anything else returns
// ErrNoParity with the result.
func (m *Migration) Verify(ctx context.Context) (*verify.Result, error) {
	pr := m.begin(PhaseVerified)
	res, err := m.verify(ctx)
	if err != nil {
		m.end(pr, "failed", err)
		return res, err
	}
	pr.Items, pr.Unit = int64(len(res.Rounds)), "rounds"
	switch m.state.State {
	case StateCopied, StateMirroring:
		if err := m.setState(ctx, m.state.State, StateVerified, nil); err != nil {
			m.end(pr, "failed", err)
			return res, err
		}
	}
	m.end(pr, "done", nil)
	return res, nil
}

func (m *Migration) verify(ctx context.Context) (*verify.Result, error) {
	topts := m.opts.Translate
	topts.AssignedTopicIDs = m.assignedIDs()
	zo := m.opts.ZK
	zo.Progress = nil
	if m.mirror != nil {
		if err := mirrorErr(m.mirror); err != nil {
			return nil, fmt.Errorf("migrate: the mirror stopped: %w", err)
		}
	}
	res, err := verify.Run(ctx, verify.Options{ZK: zo, Quorum: m.opts.Quorum, Translate: topts, MaxRounds: m.opts.VerifyRounds,
		Timeout: m.opts.VerifyTimeout, Progress: m.opts.Progress, Logger: m.log})
	if err != nil {
		return nil, fmt.Errorf("migrate: verify: %w", err)
	}
	m.report.Verify = res
	m.lastVerify = res
	if m.mirror != nil {
		m.report.Mirror = mirrorStats(m.mirror)
	}
	if !res.Parity {
		return res, fmt.Errorf("migrate: %w: %s (%d mismatches, %d in flight)", ErrNoParity, res.Status, len(res.Mismatches), len(res.InFlight))
	}
	m.verifiedAt = time.Now()
	if mv, err := m.opts.Quorum.Meta(ctx); err == nil {
		m.verifyPos = mv.Position.NextOffset
	}
	return res, nil
}

// Cutover is THE POINT OF NO RETURN. It needs confirm (Options.Yes or the
// wizard's typed confirmation) and parity (a fresh verification when the
// last one is older than a few seconds or the quorum moved since). It
// records cutover-started, claims ZooKeeper's controller role (fencing the
// ZooKeeper-mode controller), waits for the mirror to carry everything up to
// the claim and verifies parity again, writes /migration, stops the mirror
// and appends ZkMigrationStateRecord POST_MIGRATION with the final state.
func (m *Migration) Cutover(ctx context.Context, confirm bool) (*CutoverInfo, error) {
	pr := m.begin(PhaseCutover)
	info, err := m.cutover(ctx, confirm)
	if err != nil {
		m.end(pr, "failed", err)
		return nil, err
	}
	m.report.Cutover = info
	m.end(pr, "done", nil)
	return info, nil
}

func (m *Migration) cutover(ctx context.Context, confirm bool) (*CutoverInfo, error) {
	if !confirm {
		return nil, fmt.Errorf("migrate: %w", ErrConfirmationNeeded)
	}
	if err := m.reload(ctx); err != nil {
		return nil, err
	}
	switch m.state.State {
	case StateVerified, StateCutoverStarted:
	case StateCutover:
		return m.state.Cutover, nil
	default:
		return nil, fmt.Errorf("migrate: cutover refused: the migration is in state %q, not verified (run the verification first)", m.state.State)
	}
	q := m.opts.Quorum
	var info CutoverInfo
	if m.state.State == StateVerified {
		fresh := m.lastVerify != nil && m.lastVerify.Parity && time.Since(m.verifiedAt) < 5*time.Second
		if fresh {
			if mv, err := q.Meta(ctx); err != nil || mv.Position.NextOffset != m.verifyPos {
				fresh = false
			}
		}
		if !fresh {
			if _, err := m.verify(ctx); err != nil {
				return nil, fmt.Errorf("migrate: cutover refused: %w", err)
			}
		}
		st, err := q.Status(ctx)
		if err != nil {
			return nil, fmt.Errorf("migrate: cutover: quorum status: %w", err)
		}
		id := m.opts.KRaftControllerID
		if id == 0 {
			n, err := strconv.ParseInt(st.LeaderID, 10, 32)
			if err != nil {
				return nil, fmt.Errorf("migrate: cutover: quorum leader id %q is not a Kafka node id: set the KRaft controller id", st.LeaderID)
			}
			id = int32(n)
		}
		if err := checkControllerID(ctx, m.opts.ZK, id, m.log); err != nil {
			return nil, err
		}
		info = CutoverInfo{KRaftControllerID: id, KRaftControllerEpoch: int32(st.Term), At: time.Now().UTC().Format(time.RFC3339)}
		if err := m.setState(ctx, StateVerified, StateCutoverStarted, map[string]string{KeyClaim: mustJSON(info)}); err != nil {
			return nil, err
		}
		m.log.Warn("migrate: cutover started: past the point of no return", "kraft_controller_id", id, "kraft_controller_epoch", info.KRaftControllerEpoch)
	} else {
		if m.state.Claim == nil {
			return nil, fmt.Errorf("migrate: cutover: state %s without %s in the quorum's meta", m.state.State, KeyClaim)
		}
		info = *m.state.Claim
		m.report.Resumed = true
	}
	conn, err := dialZK(ctx, m.opts.ZK, m.log)
	if err != nil {
		return nil, fmt.Errorf("migrate: cutover: %w", err)
	}
	defer conn.Close()
	if err := claimController(conn, info.KRaftControllerID, info.KRaftControllerEpoch, &info); err != nil {
		return nil, fmt.Errorf("migrate: cutover: %w", err)
	}
	m.log.Info("migrate: ZooKeeper controller role claimed", "controller_epoch", info.NewControllerEpoch, "zk_version", info.NewEpochZkVersion)
	// Changes made between the last verification and the claim: the mirror
	// carries them; prove parity once more with the controller fenced.
	if m.mirror != nil || m.lastVerify == nil || !m.lastVerify.Parity {
		if !m.postClaimParity(ctx, info.ClaimZxid) {
			if _, err := m.verify(ctx); err != nil {
				return nil, fmt.Errorf("migrate: cutover: after the claim: %w; the cutover is not complete — keep the mirror running and rerun", err)
			}
		}
	}
	if err := m.Close(); err != nil {
		m.log.Warn("migrate: stop the mirror", "err", err)
	}
	if err := m.reload(ctx); err != nil {
		return nil, err
	}
	info.MigrationOffset, info.MigrationEpoch = m.state.NextOffset-1, m.state.LastEpoch
	if err := writeMigrationZnode(conn, &info); err != nil {
		return nil, fmt.Errorf("migrate: cutover: %w", err)
	}
	recs := []records.Versioned{{Record: &records.ZkMigrationStateRecord{ZkMigrationState: kafka.MigrationStatePostMigration}}}
	meta := map[string]string{KeyState: StateCutover, KeyCutover: mustJSON(info), KeyTimings: mustJSON(m.report.timingsMS(m.prevTimings))}
	if _, err := q.Append(ctx, recs, meta, client.AppendOptions{Token: m.token("cutover"), If: map[string]string{KeyState: StateCutoverStarted}}); err != nil {
		var pe *client.PreconditionError
		if !errors.As(err, &pe) {
			return nil, fmt.Errorf("migrate: cutover: record the final state: %w", err)
		}
	}
	if err := m.reload(ctx); err != nil {
		return nil, err
	}
	return &info, nil
}

// postClaimParity is the quick proof after the claim: the mirror has
// committed every change up to the claim's zxid, and one comparison finds no
// difference with no lag (parity was proven by two comparisons just before
// the claim). False means: do the full verification.
func (m *Migration) postClaimParity(ctx context.Context, claimZxid int64) bool {
	if m.lastVerify == nil || !m.lastVerify.Parity {
		return false
	}
	if m.mirror != nil && claimZxid > 0 {
		w, ok := m.mirror.(interface{ Mirror() *dualwrite.Mirror })
		if !ok {
			return false
		}
		wctx, cancel := context.WithTimeout(ctx, time.Minute)
		err := w.Mirror().WaitPosition(wctx, claimZxid)
		cancel()
		if err != nil {
			m.log.Warn("migrate: cutover: the mirror has not reached the claim", "err", err)
			return false
		}
	}
	topts := m.opts.Translate
	topts.AssignedTopicIDs = m.assignedIDs()
	zo := m.opts.ZK
	zo.Progress = nil
	r, skipped, err := verify.Compare(ctx, verify.Options{ZK: zo, Quorum: m.opts.Quorum, Translate: topts, Logger: m.log})
	if err != nil || len(r.Differences) > 0 || !r.LagZero || r.InTransaction {
		return false
	}
	if m.lastVerify == nil || !m.lastVerify.Parity {
		return false // no two-comparison parity in this run: do the full verification
	}
	rounds := append([]verify.RoundSummary(nil), m.lastVerify.Rounds...)
	r.N = len(rounds) + 1
	rounds = append(rounds, verify.RoundSummary{N: r.N, LagZero: true, MirrorZxid: r.MirrorZxid, SnapZxid: r.SnapshotZxid})
	m.report.Verify = &verify.Result{Status: verify.StatusParity, Parity: true, Last: r, Sections: r.Sections, Skipped: skipped,
		ZkMigrationState: r.ZkMigration, Duration: r.Duration, Rounds: rounds}
	m.log.Info("migrate: parity after the claim", "mirror_zxid", r.MirrorZxid, "claim_zxid", claimZxid)
	return true
}

// Run runs the migration up to opts.Until, resuming from the quorum's state.
// The report is returned also with an error (as far as it got).
func Run(ctx context.Context, opts Options) (*Report, error) {
	start := time.Now()
	m, err := New(ctx, opts)
	if err != nil {
		return &Report{DryRun: opts.DryRun, Until: string(opts.Until), PointOfNoReturn: string(PointOfNoReturn)}, err
	}
	defer m.Close()
	err = m.run(ctx)
	m.finish(ctx, time.Since(start))
	return m.report, err
}

func (m *Migration) reached(p Phase) bool { return phaseIndex(p) >= phaseIndex(m.opts.Until) }

func (m *Migration) run(ctx context.Context) error {
	st := m.state.State
	switch st {
	case StateCutover:
		m.report.note("the migration was already cut over on an earlier run")
		for _, p := range Phases {
			m.report.phase(p).Status = "done earlier"
		}
		m.report.Cutover = m.state.Cutover
		return nil
	case StateNone, StateCopying:
		if st == StateCopying {
			m.report.Resumed = true
		}
		if _, err := m.Check(ctx); err != nil {
			return err
		}
		if m.reached(PhaseCheck) {
			return m.planIfDry()
		}
		if err := m.Snapshot(ctx); err != nil {
			return err
		}
		if m.reached(PhaseSnapshot) {
			return m.planIfDry()
		}
		if err := m.Translate(ctx); err != nil {
			return err
		}
		if m.opts.DryRun {
			return m.planIfDry()
		}
		if m.reached(PhaseTranslate) {
			return nil
		}
		if err := m.Copy(ctx); err != nil {
			return err
		}
		if m.reached(PhaseCopy) {
			return nil
		}
	default:
		m.report.Resumed = true
		for _, p := range []Phase{PhaseCheck, PhaseSnapshot, PhaseTranslate, PhaseCopy} {
			pr := m.report.phase(p)
			pr.Status = "done earlier"
			if ms, ok := m.state.Timings[string(p)]; ok {
				pr.Seconds = float64(ms) / 1000
			}
		}
		m.report.SnapshotZxid = m.state.SnapshotZxid
		m.report.Counts = m.state.Counts
		m.report.Kinds = m.state.Kinds
		m.report.ClusterID = m.state.ClusterID
		if m.opts.DryRun {
			return m.planIfDry()
		}
		if st == StateCutoverStarted {
			if !m.opts.Yes {
				return fmt.Errorf("migrate: %w: rerun with --yes to finish it", ErrPastNoReturn)
			}
		}
		if m.reached(PhaseCopy) {
			return nil
		}
	}
	if err := m.StartMirror(ctx); err != nil {
		return err
	}
	if m.reached(PhaseMirroring) {
		// Let the mirror catch up once so the phase ends with no lag.
		if _, err := m.verify(ctx); err != nil && !errors.Is(err, ErrNoParity) {
			return err
		}
		return nil
	}
	if m.state.State != StateCutoverStarted {
		if _, err := m.Verify(ctx); err != nil {
			return err
		}
	}
	if m.reached(PhaseVerified) {
		return nil
	}
	if !m.opts.Yes {
		m.report.note("stopped before the cutover (THE POINT OF NO RETURN): rerun with --yes to cut over")
		return fmt.Errorf("migrate: %w", ErrConfirmationNeeded)
	}
	_, err := m.Cutover(ctx, true)
	return err
}

func (m *Migration) planIfDry() error {
	if m.opts.DryRun {
		m.report.Plan = m.plan()
	}
	return nil
}

func (m *Migration) finish(ctx context.Context, took time.Duration) {
	r := m.report
	r.Duration = took
	r.Seconds = took.Seconds()
	if !m.opts.DryRun {
		if err := m.reload(ctx); err == nil {
			r.State = m.state.State
			r.QuorumOffset = m.state.NextOffset - 1
			if r.Cutover == nil {
				r.Cutover = m.state.Cutover
			}
		}
	} else {
		r.State = m.state.State
	}
	if r.State == StateCutover {
		r.NextSteps = nextSteps(ctx, m.opts.Quorum, r)
	}
}

// mergeFindings appends b's findings to a's, leaving out those that repeat
// an earlier one: the same text about the same znode, or the same severity
// and code where one names the other's first znode (translate and preflight
// both report, say, partitions without a state znode; the operator should
// read of them once, with preflight's remedy). A grouped finding lists only
// up to a limit of paths, so only first znodes are looked up. Linear in the
// paths named: a broken cluster may have a finding per znode.
func mergeFindings(a, b []zkreader.Finding) []zkreader.Finding {
	seen := map[string]bool{}  // severity|code|path|message
	named := map[string]bool{} // severity|code|znode, for every znode a kept finding names
	first := map[string]bool{} // severity|code|first znode of a kept finding
	var out []zkreader.Finding
	for _, f := range append(append([]zkreader.Finding(nil), a...), b...) {
		sc := string(f.Severity) + "|" + f.Code + "|"
		if seen[sc+f.Path+"|"+f.Message] || f.Path != "" && (named[sc+f.Path] || slices.ContainsFunc(f.Paths, func(p string) bool { return first[sc+p] })) {
			continue
		}
		seen[sc+f.Path+"|"+f.Message] = true
		if f.Path != "" {
			first[sc+f.Path] = true
			named[sc+f.Path] = true
			for _, p := range f.Paths {
				named[sc+p] = true
			}
		}
		out = append(out, f)
	}
	return out
}

// objectKinds counts what the snapshot holds per kind of object.
func objectKinds(s *zkreader.Snapshot) map[string]int {
	k := map[string]int{
		"brokers": len(s.Brokers), "topics": len(s.Topics), "topic_configs": len(s.TopicConfigs),
		"broker_configs": len(s.BrokerConfigs), "client_quotas": len(s.Quotas), "scram_credentials": len(s.Scram),
		"acl_resources": len(s.ACLs), "delegation_tokens": len(s.DelegationTokens),
	}
	for _, t := range s.Topics {
		k["partitions"] += len(t.Partitions)
	}
	for _, a := range s.ACLs {
		k["acl_entries"] += len(a.Entries)
	}
	if s.ProducerIDBlock != nil {
		k["producer_id_blocks"] = 1
	}
	return k
}

func saveSnapshot(path string, s *zkreader.Snapshot) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("migrate: state dir: %w", err)
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("migrate: save snapshot: %w", err)
	}
	if err := zkreader.Save(f, s); err != nil {
		f.Close()
		return fmt.Errorf("migrate: save snapshot %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("migrate: save snapshot %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("migrate: save snapshot %s: %w", tmp, err)
	}
	return os.Rename(tmp, path)
}

func loadSnapshot(path string) (*zkreader.Snapshot, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return zkreader.Load(f)
}

// imageOf is a small helper for tests and the report: the image a snapshot
// translates to.
func imageOf(s *zkreader.Snapshot, o translate.Options) (*image.Image, error) {
	tr, err := translate.Translate(s, o)
	if err != nil {
		return nil, err
	}
	return tr.Image()
}
