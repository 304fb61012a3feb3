package tui

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/zk2kraft/zk2kraft/metrics"
	"github.com/zk2kraft/zk2kraft/migrate"
	"github.com/zk2kraft/zk2kraft/preflight"
	"github.com/zk2kraft/zk2kraft/progress"
	"github.com/zk2kraft/zk2kraft/quorum"
	"github.com/zk2kraft/zk2kraft/quorum/client"
	"github.com/zk2kraft/zk2kraft/translate"
	"github.com/zk2kraft/zk2kraft/translate/records"
	"github.com/zk2kraft/zk2kraft/verify"
	"github.com/zk2kraft/zk2kraft/zkreader"
)

// MigrateConfig configures the Driver over package migrate: what the command
// line says beyond the Connect screen's settings.
type MigrateConfig struct {
	QuorumTLS      quorum.TLSFiles   // mutual TLS to the quorum's client API
	Translate      translate.Options // target metadata version, password handling
	AssignTopicIDs bool
	// KRaftControllerID is the node id the quorum claims ZooKeeper's
	// controller role as (0: the quorum leader's; must differ from every
	// broker id).
	KRaftControllerID int32
	// StateDir keeps the snapshot being copied (so an interrupted copy
	// resumes with the same data) and a local quorum's data. Empty: a
	// temporary directory.
	StateDir string
	// NewMirrorStarter builds the dual-write (nil: none; verify then shows
	// changes made after the snapshot as differences).
	NewMirrorStarter func(zo zkreader.Options, q *client.Client, topts translate.Options) migrate.MirrorStarter
	// MirrorStats reads a running mirror's figures (nil or false: the
	// Dual-write screen shows what the quorum's log says, without lag).
	MirrorStats func(migrate.Mirror) (MirrorStats, bool)
	// Progress also receives every progress event (e.g. metrics).
	Progress progress.Func
	// OnPhase also receives every phase report (e.g. metrics).
	OnPhase func(migrate.PhaseReport)
	// Metrics, if set, gets zk2kraft_parity_mismatches after each verification.
	Metrics *metrics.Metrics
	// ZKSessionTimeout (default 10s).
	ZKSessionTimeout time.Duration
	Logger           *slog.Logger
	// PreviewRecords caps the plan's record preview (default 500).
	PreviewRecords int
}

// MigrateDriver is the Driver the real `zk2kraft wizard` uses: every step is
// a call on a migrate.Migration — the same steps `zk2kraft migrate` runs.
type MigrateDriver struct {
	cfg MigrateConfig

	mu       sync.Mutex
	settings Settings
	zo       zkreader.Options
	q        *client.Client
	local    *quorum.LocalCluster
	localDir string
	mig      *migrate.Migration
	sink     progress.Func // the screen's progress sink
	phases   map[string]migrate.PhaseReport
	mirror   migrate.Mirror
	resumed  string // the state the quorum held when the wizard connected
}

// NewMigrateDriver returns the Driver over package migrate.
func NewMigrateDriver(cfg MigrateConfig) *MigrateDriver {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.PreviewRecords <= 0 {
		cfg.PreviewRecords = 500
	}
	if cfg.ZKSessionTimeout <= 0 {
		cfg.ZKSessionTimeout = 10 * time.Second
	}
	return &MigrateDriver{cfg: cfg, phases: map[string]migrate.PhaseReport{}}
}

// Close stops the mirror and a local quorum (its data stays in the state
// directory, so `zk2kraft migrate` can resume against a quorum restarted from it).
func (d *MigrateDriver) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	var errs []error
	if d.mig != nil {
		errs = append(errs, d.mig.Close())
	}
	if d.q != nil {
		d.q.Close()
	}
	if d.local != nil {
		errs = append(errs, d.local.Close())
		d.local = nil
	}
	return errors.Join(errs...)
}

func (d *MigrateDriver) progress(ev progress.Event) {
	d.mu.Lock()
	sink := d.sink
	d.mu.Unlock()
	if sink != nil {
		sink(ev)
	}
	if d.cfg.Progress != nil {
		d.cfg.Progress(ev)
	}
}

func (d *MigrateDriver) setSink(p progress.Func) {
	d.mu.Lock()
	d.sink = p
	d.mu.Unlock()
}

func (d *MigrateDriver) onPhase(pr migrate.PhaseReport) {
	d.mu.Lock()
	d.phases[pr.Name] = pr
	d.mu.Unlock()
	if d.cfg.OnPhase != nil {
		d.cfg.OnPhase(pr)
	}
}

func (d *MigrateDriver) stateDir() (string, error) {
	if d.cfg.StateDir != "" {
		if err := os.MkdirAll(d.cfg.StateDir, 0o700); err != nil {
			return "", fmt.Errorf("state dir: %w", err)
		}
		return d.cfg.StateDir, nil
	}
	dir, err := os.MkdirTemp("", "zk2kraft-wizard-")
	if err != nil {
		return "", fmt.Errorf("state dir: %w", err)
	}
	d.cfg.StateDir = dir
	return dir, nil
}

// Connect tests ZooKeeper (reading its controller znodes) and the quorum
// (loading the migration's state), starting a local quorum when asked.
func (d *MigrateDriver) Connect(ctx context.Context, s Settings) (Connection, error) {
	if err := d.Close(); err != nil {
		d.cfg.Logger.Warn("wizard: close the previous connection", "err", err)
	}
	zo := zkreader.Options{Connect: s.ZK, Chroot: s.Chroot, Auth: s.Auth, SessionTimeout: d.cfg.ZKSessionTimeout,
		TLS: zkreader.TLSOptions{CAFile: s.TLSCA, CertFile: s.TLSCert, KeyFile: s.TLSKey}, Logger: d.cfg.Logger}
	zc, err := migrate.ReadControlState(ctx, zo)
	if err != nil {
		return Connection{}, fmt.Errorf("ZooKeeper %s: %w", s.ZK, err)
	}
	conn := Connection{ZKServer: s.ZK + " — " + describeController(zc)}
	dir, err := d.stateDir()
	if err != nil {
		return Connection{}, err
	}
	var q *client.Client
	var local *quorum.LocalCluster
	if s.LocalQuorum {
		// The local quorum is bootstrapped with ZooKeeper's /cluster/id.
		snap, err := zkreader.Read(ctx, zo)
		if err != nil {
			return Connection{}, fmt.Errorf("read ZooKeeper for the cluster id: %w", err)
		}
		if snap.ClusterID == nil || snap.ClusterID.ID == "" {
			return Connection{}, fmt.Errorf("ZooKeeper %s has no /cluster/id: a local quorum needs the Kafka cluster id", s.ZK)
		}
		qdir := filepath.Join(dir, "local-quorum")
		local, err = quorum.StartLocalCluster(ctx, 3, qdir, snap.ClusterID.ID, func(c *quorum.Config) { c.Logger = d.cfg.Logger })
		if err != nil {
			return Connection{}, fmt.Errorf("start a local quorum in %s: %w", qdir, err)
		}
		if q, err = client.New(local.APIAddrs(), nil); err != nil {
			local.Close()
			return Connection{}, err
		}
	} else {
		addrs := client.ParseAddrs(s.Quorum)
		tlsConf, err := d.quorumTLS()
		if err != nil {
			return Connection{}, err
		}
		if q, err = client.New(addrs, tlsConf); err != nil {
			return Connection{}, fmt.Errorf("quorum %s: %w", s.Quorum, err)
		}
	}
	fail := func(err error) (Connection, error) {
		q.Close()
		if local != nil {
			local.Close()
		}
		return Connection{}, err
	}
	topts := d.cfg.Translate
	opts := migrate.Options{
		ZK: zo, Quorum: q, Until: migrate.PhaseCutover, Translate: topts, AssignTopicIDs: d.cfg.AssignTopicIDs,
		StateDir: dir, Progress: d.progress, OnPhase: d.onPhase, Logger: d.cfg.Logger, KRaftControllerID: d.cfg.KRaftControllerID,
	}
	if d.cfg.NewMirrorStarter != nil {
		start := d.cfg.NewMirrorStarter(zo, q, topts)
		opts.StartMirror = func(ctx context.Context, zxid int64) (migrate.Mirror, error) {
			m, err := start(ctx, zxid)
			if err == nil {
				d.mu.Lock()
				d.mirror = m
				d.mu.Unlock()
			}
			return m, err
		}
	}
	mig, err := migrate.New(ctx, opts)
	if err != nil {
		return fail(fmt.Errorf("quorum %s: %w", strings.Join(q.Addrs(), ","), err))
	}
	st := mig.State()
	conn.ClusterID = st.QuorumClusterID
	conn.Quorum = strings.Join(q.Addrs(), ",")
	conn.Phase = st.State
	d.mu.Lock()
	d.settings, d.zo, d.q, d.local, d.mig, d.resumed = s, zo, q, local, mig, st.State
	d.mu.Unlock()
	return conn, nil
}

func (d *MigrateDriver) quorumTLS() (*tls.Config, error) {
	if !d.cfg.QuorumTLS.Enabled() {
		return nil, nil
	}
	return d.cfg.QuorumTLS.Load()
}

func describeController(zc *migrate.ZKControlState) string {
	switch {
	case zc == nil:
		return "connected"
	case !zc.Controller.Exists:
		return "connected, no active controller"
	}
	c, _ := zkreader.ParseController("/controller", []byte(zc.Controller.Data), zkreader.Stat{})
	switch {
	case c == nil:
		return "connected, /controller unreadable"
	case c.IsKRaft():
		return fmt.Sprintf("connected, KRaft controller %d holds the controller role", c.BrokerID)
	}
	return fmt.Sprintf("connected, controller: broker %d", c.BrokerID)
}

func (d *MigrateDriver) migration() (*migrate.Migration, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.mig == nil {
		return nil, errors.New("not connected")
	}
	return d.mig, nil
}

// copied reports whether the quorum already holds the copy (resuming).
func copied(state string) bool {
	switch state {
	case migrate.StateCopied, migrate.StateMirroring, migrate.StateVerified, migrate.StateCutoverStarted, migrate.StateCutover:
		return true
	}
	return false
}

// Check runs migrate's pre-flight check (a fresh read of ZooKeeper).
func (d *MigrateDriver) Check(ctx context.Context, p progress.Func) (*preflight.Report, error) {
	mig, err := d.migration()
	if err != nil {
		return nil, err
	}
	d.setSink(p)
	defer d.setSink(nil)
	r, err := mig.Check(ctx)
	if errors.Is(err, migrate.ErrBlocked) && r != nil {
		return r, nil // the screen shows the blockers
	}
	return r, err
}

// Plan fixes the snapshot and translates it (migrate's snapshot and
// translate phases), and describes what the copy will write.
func (d *MigrateDriver) Plan(ctx context.Context, progressFn progress.Func) (Plan, error) {
	mig, err := d.migration()
	if err != nil {
		return Plan{}, err
	}
	d.setSink(progressFn)
	defer d.setSink(nil)
	var p Plan
	if copied(mig.State().State) {
		st := mig.State()
		p.Objects = kindCounts(st.Kinds)
		p.Records = recordCounts(st.Counts)
		p.Preview = []string{fmt.Sprintf("(the quorum already holds the copy of the snapshot at zxid 0x%x: the wizard resumes at dual-write)", st.SnapshotZxid)}
		return p, nil
	}
	if err := mig.Snapshot(ctx); err != nil {
		return Plan{}, err
	}
	if err := mig.Translate(ctx); err != nil {
		return Plan{}, err
	}
	rep := mig.Report()
	p.Objects = kindCounts(rep.Kinds)
	p.Records = recordCounts(rep.Counts)
	for _, s := range groupSkips(rep.Skipped) {
		p.Skipped = append(p.Skipped, s)
	}
	var total int
	for _, n := range rep.Counts {
		total += n
	}
	// The same basis as `migrate --dry-run`: the measured read counted twice
	// (snapshot, verification) plus the copy at the assumed quorum rate.
	d.mu.Lock()
	readSec := d.phases[string(migrate.PhaseCheck)].Seconds
	d.mu.Unlock()
	p.Estimate = time.Duration((readSec*2 + float64(total)/150000) * float64(time.Second))
	p.Preview = d.preview(rep.SnapshotZxid)
	return p, nil
}

// preview renders the first records of the translation, secrets redacted,
// from the snapshot migrate saved in the state directory.
func (d *MigrateDriver) preview(zxid int64) []string {
	matches, _ := filepath.Glob(filepath.Join(d.cfg.StateDir, fmt.Sprintf("snapshot-*-%x.json", zxid)))
	if len(matches) == 0 {
		return []string{"(no record preview: the snapshot file is not in the state directory)"}
	}
	f, err := os.Open(matches[0])
	if err != nil {
		return []string{"(no record preview: " + err.Error() + ")"}
	}
	defer f.Close()
	snap, err := zkreader.Load(f)
	if err != nil {
		return []string{"(no record preview: " + err.Error() + ")"}
	}
	topts := d.cfg.Translate
	if d.cfg.AssignTopicIDs {
		topts.AssignedTopicIDs = migrate.AssignTopicIDs(snap)
	}
	tr, err := translate.Translate(snap, topts)
	if err != nil {
		return []string{"(no record preview: " + err.Error() + ")"}
	}
	var out []string
	for _, b := range tr.Copy() {
		for _, v := range b {
			if len(out) == d.cfg.PreviewRecords {
				return append(out, fmt.Sprintf("… (first %d records shown)", d.cfg.PreviewRecords))
			}
			line, err := records.MarshalJSONLine(v, records.JSONOptions{})
			if err != nil {
				line = []byte(fmt.Sprintf("(record %T: %v)", v.Record, err))
			}
			out = append(out, string(line))
		}
	}
	return out
}

func kindCounts(kinds map[string]int) []Count {
	order := []string{"brokers", "topics", "partitions", "topic_configs", "broker_configs", "client_quotas", "scram_credentials", "acl_resources", "acl_entries", "delegation_tokens", "producer_id_blocks"}
	var out []Count
	seen := map[string]bool{}
	for _, k := range order {
		if n, ok := kinds[k]; ok {
			out = append(out, Count{Name: strings.ReplaceAll(k, "_", " "), N: int64(n)})
			seen[k] = true
		}
	}
	var rest []string
	for k := range kinds {
		if !seen[k] {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	for _, k := range rest {
		out = append(out, Count{Name: strings.ReplaceAll(k, "_", " "), N: int64(kinds[k])})
	}
	return out
}

func recordCounts(counts map[string]int) []Count {
	var out []Count
	for k, n := range counts {
		out = append(out, Count{Name: k, N: int64(n)})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].N != out[j].N {
			return out[i].N > out[j].N
		}
		return out[i].Name < out[j].Name
	})
	return out
}

func groupSkips(skips []translate.Skip) []Skip {
	type key struct{ kind, reason string }
	n := map[key]int{}
	var order []key
	for _, s := range skips {
		k := key{s.Kind, s.Reason}
		if n[k] == 0 {
			order = append(order, k)
		}
		n[k]++
	}
	out := make([]Skip, 0, len(order))
	for _, k := range order {
		out = append(out, Skip{What: k.kind, Count: n[k], Reason: k.reason})
	}
	return out
}

// Copy runs migrate's copy phase (bootstrap and batches, resumable). The
// snapshot and translate phases ran in Plan; their figures are shown again.
func (d *MigrateDriver) Copy(ctx context.Context, p progress.Func) error {
	mig, err := d.migration()
	if err != nil {
		return err
	}
	d.mu.Lock()
	done := []migrate.PhaseReport{d.phases[string(migrate.PhaseSnapshot)], d.phases[string(migrate.PhaseTranslate)]}
	d.mu.Unlock()
	for _, pr := range done {
		if pr.Name != "" {
			p(progress.Event{Phase: pr.Name, Unit: pr.Unit, Done: pr.Items, Total: pr.Items, Rate: pr.Rate, Elapsed: pr.Duration, Final: true})
		}
	}
	if copied(mig.State().State) {
		p(progress.Event{Phase: "copy", Unit: "batches", Done: int64(mig.State().CopyTotal), Total: int64(mig.State().CopyTotal), Final: true, Step: "done earlier"})
		return nil
	}
	d.setSink(p)
	defer d.setSink(nil)
	return mig.Copy(ctx)
}

// Mirror starts migrate's mirroring phase and samples the mirror (or, when
// its figures are not available, the quorum's log) twice a second.
func (d *MigrateDriver) Mirror(ctx context.Context, sample func(MirrorStats)) error {
	mig, err := d.migration()
	if err != nil {
		return err
	}
	if err := mig.StartMirror(ctx); err != nil {
		return err
	}
	d.mu.Lock()
	note := ""
	if pr := d.phases[string(migrate.PhaseMirroring)]; pr.Status == "skipped" {
		note = pr.Note
	}
	q := d.q
	d.mu.Unlock()
	go func() {
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		var start, prevOffset int64 = -1, 0
		var prevApplied int64
		prevAt := time.Now()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				s := MirrorStats{At: now, Err: note}
				d.mu.Lock()
				mir := d.mirror
				d.mu.Unlock()
				if mir != nil && d.cfg.MirrorStats != nil {
					if ms, ok := d.cfg.MirrorStats(mir); ok {
						ms.At, ms.LagKnown = now, true
						if ms.Err == "" {
							ms.Err = note
						}
						ms.ChangesPerSec = float64(ms.Applied-prevApplied) / now.Sub(prevAt).Seconds()
						prevApplied, prevAt = ms.Applied, now
						sample(ms)
						continue
					}
				}
				// Without the mirror's figures: records appended to the quorum's log.
				mctx, cancel := context.WithTimeout(ctx, 2*time.Second)
				mv, err := q.Meta(mctx)
				cancel()
				if err != nil {
					s.Err = "quorum: " + err.Error()
					sample(s)
					continue
				}
				off := mv.Position.NextOffset
				if start < 0 {
					start, prevOffset = off, off
				}
				s.Applied = off - start
				s.ChangesPerSec = float64(off-prevOffset) / now.Sub(prevAt).Seconds()
				prevOffset, prevAt = off, now
				sample(s)
			}
		}
	}()
	return nil
}

// Verify runs migrate's verification (package verify) until parity or its
// deadline.
func (d *MigrateDriver) Verify(ctx context.Context, p progress.Func) (Verification, error) {
	mig, err := d.migration()
	if err != nil {
		return Verification{}, err
	}
	d.setSink(p)
	defer d.setSink(nil)
	res, err := mig.Verify(ctx)
	if err != nil && !errors.Is(err, migrate.ErrNoParity) {
		return Verification{}, err
	}
	if res == nil {
		return Verification{}, errors.New("verify returned no result")
	}
	v := Verification{Parity: res.Parity}
	for _, s := range res.Sections {
		v.Compared += s.ZKCount
		v.Digests = append(v.Digests, Digest{Section: s.Name, Count: s.ZKCount, ZK: s.ZKDigest, Quorum: s.QuorumDigest})
	}
	add := func(ds []verify.Difference, inFlight bool) {
		for _, x := range ds {
			v.Differences = append(v.Differences, Difference{Kind: x.Section, Object: x.Object, Field: x.Field, ZK: x.Want, Quorum: x.Got, InFlight: inFlight})
		}
	}
	add(res.Mismatches, false)
	add(res.InFlight, true)
	if d.cfg.Metrics != nil {
		d.cfg.Metrics.ParityMismatches.Set(float64(len(res.Mismatches)))
	}
	if !res.Parity {
		v.Note = fmt.Sprintf("status %s after %d round(s)", res.Status, len(res.Rounds))
		if len(res.InFlight) > 0 {
			v.Note += fmt.Sprintf("; %d difference(s) in flight (ZooKeeper newer than the mirror's position)", len(res.InFlight))
		}
	}
	return v, nil
}

// Cutover is THE POINT OF NO RETURN: migrate's cutover, after the typed
// confirmation of the cluster id.
func (d *MigrateDriver) Cutover(ctx context.Context, confirm string) (Cutover, error) {
	mig, err := d.migration()
	if err != nil {
		return Cutover{}, err
	}
	want := mig.State().QuorumClusterID
	if want == "" || confirm != want {
		return Cutover{}, fmt.Errorf("the confirmation %q is not the cluster id", confirm)
	}
	info, err := mig.Cutover(ctx, true)
	if err != nil {
		return Cutover{}, err
	}
	out := Cutover{ControllerEpoch: info.NewControllerEpoch}
	out.Report = append(out.Report, fmt.Sprintf("ZooKeeper's controller role: KRaft controller %d, controller epoch %d → %d; /migration records quorum offset %d.",
		info.KRaftControllerID, info.OldControllerEpoch, info.NewControllerEpoch, info.MigrationOffset))
	var times []string
	for _, pr := range mig.Report().Phases {
		if pr.Status == "done" {
			times = append(times, fmt.Sprintf("%s %s", pr.Name, dur(pr.Duration)))
		}
	}
	if len(times) > 0 {
		out.Report = append(out.Report, "Phases: "+strings.Join(times, ", "))
	}
	// The next steps (how to point Kafka at the new controllers) come from
	// migrate's report of the finished migration.
	d.mu.Lock()
	zo, q := d.zo, d.q
	d.mu.Unlock()
	if rep, err := migrate.Run(ctx, migrate.Options{ZK: zo, Quorum: q, Until: migrate.PhaseCutover, Yes: true, Logger: d.cfg.Logger, KRaftControllerID: d.cfg.KRaftControllerID}); err == nil {
		out.Report = append(out.Report, rep.NextSteps...)
	}
	return out, nil
}

// Abort runs migrate's abort: the quorum is marked aborted (and a local
// quorum wiped) and ZooKeeper is checked to be as it was.
func (d *MigrateDriver) Abort(ctx context.Context) error {
	mig, err := d.migration()
	if err != nil {
		return err
	}
	if err := mig.Close(); err != nil {
		d.cfg.Logger.Warn("wizard: stop the mirror", "err", err)
	}
	d.mu.Lock()
	zo, q, local := d.zo, d.q, d.local
	d.mu.Unlock()
	opts := migrate.AbortOptions{ZK: zo, Quorum: q, Logger: d.cfg.Logger}
	if local != nil {
		opts.Wipe = func(ctx context.Context) error {
			d.mu.Lock()
			d.local = nil
			d.mu.Unlock()
			if err := local.Close(); err != nil {
				return err
			}
			return os.RemoveAll(filepath.Join(d.cfg.StateDir, "local-quorum"))
		}
	}
	rep, err := migrate.Abort(ctx, opts)
	if err != nil {
		return err
	}
	if !rep.ZKUntouched {
		return fmt.Errorf("aborted, but ZooKeeper differs from before the migration: %s", strings.Join(rep.ZKChanges, "; "))
	}
	return nil
}

// ResumeCommand is the migrate command line that resumes this migration.
func (d *MigrateDriver) ResumeCommand() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	cmd := "zk2kraft migrate --zk " + d.settings.ZK
	if d.settings.Chroot != "" {
		cmd += " --chroot " + d.settings.Chroot
	}
	if d.q != nil {
		cmd += " --quorum " + strings.Join(d.q.Addrs(), ",")
	} else if d.settings.Quorum != "" {
		cmd += " --quorum " + d.settings.Quorum
	}
	if d.cfg.StateDir != "" {
		cmd += " --state-dir " + d.cfg.StateDir
	}
	if d.cfg.KRaftControllerID != 0 {
		cmd += fmt.Sprintf(" --kraft-controller-id %d", d.cfg.KRaftControllerID)
	}
	if d.local != nil {
		cmd += "   (the local quorum stops with the wizard: restart it from " + filepath.Join(d.cfg.StateDir, "local-quorum") + ")"
	}
	return cmd
}
