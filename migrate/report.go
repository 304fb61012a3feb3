package migrate

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/zk2kraft/zk2kraft/dualwrite"
	"github.com/zk2kraft/zk2kraft/quorum/client"
	"github.com/zk2kraft/zk2kraft/translate"
	"github.com/zk2kraft/zk2kraft/verify"
	"github.com/zk2kraft/zk2kraft/zkreader"
)

// PhaseReport is one phase: status ("pending", "running", "done", "done
// earlier", "skipped", "failed"), time, items and rate.
type PhaseReport struct {
	Name            string        `json:"name"`
	PointOfNoReturn bool          `json:"point_of_no_return,omitempty"`
	Status          string        `json:"status"`
	Seconds         float64       `json:"seconds"`
	Duration        time.Duration `json:"-"`
	Items           int64         `json:"items,omitempty"`
	Unit            string        `json:"unit,omitempty"`
	Rate            float64       `json:"rate_per_second,omitempty"`
	Note            string        `json:"note,omitempty"`
	Error           string        `json:"error,omitempty"`
	started         time.Time
}

// Report is the final (or partial) report of a migration run.
type Report struct {
	ClusterID       string             `json:"cluster_id,omitempty"`
	Source          string             `json:"source,omitempty"`
	DryRun          bool               `json:"dry_run"`
	Until           string             `json:"until"`
	PointOfNoReturn string             `json:"point_of_no_return"`
	StateAtStart    string             `json:"state_at_start"`
	State           string             `json:"state"`
	Resumed         bool               `json:"resumed"`
	MetadataVersion string             `json:"metadata_version,omitempty"`
	SnapshotZxid    int64              `json:"snapshot_zxid,omitempty"`
	QuorumOffset    int64              `json:"quorum_last_offset"`
	ReadRate        float64            `json:"read_rate_znodes_per_second,omitempty"`
	Phases          []*PhaseReport     `json:"phases"`
	Kinds           map[string]int     `json:"objects,omitempty"`
	Counts          map[string]int     `json:"records,omitempty"`
	Findings        []zkreader.Finding `json:"findings,omitempty"`
	Skipped         []translate.Skip   `json:"skipped,omitempty"`
	Verify          *verify.Result     `json:"verify,omitempty"`
	Mirror          *dualwrite.Stats   `json:"mirror,omitempty"`
	Cutover         *CutoverInfo       `json:"cutover,omitempty"`
	Plan            *Plan              `json:"plan,omitempty"`
	Notes           []string           `json:"notes,omitempty"`
	NextSteps       []string           `json:"next_steps,omitempty"`
	Seconds         float64            `json:"seconds"`
	Duration        time.Duration      `json:"-"`
}

func (r *Report) phase(p Phase) *PhaseReport {
	for _, pr := range r.Phases {
		if pr.Name == string(p) {
			return pr
		}
	}
	if len(r.Phases) == 0 {
		for _, q := range Phases {
			r.Phases = append(r.Phases, &PhaseReport{Name: string(q), Status: "pending", PointOfNoReturn: q == PointOfNoReturn})
		}
	}
	return r.phase(p)
}

func (r *Report) note(s string) { r.Notes = append(r.Notes, s) }

// timingsMS merges this run's phase times into earlier ones.
func (r *Report) timingsMS(prev map[string]int64) map[string]int64 {
	out := map[string]int64{}
	for k, v := range prev {
		out[k] = v
	}
	for _, p := range r.Phases {
		if p.Status == "done" || p.Status == "failed" || p.Status == "running" {
			d := p.Duration
			if p.Status == "running" && !p.started.IsZero() {
				d = time.Since(p.started)
			}
			out[p.Name] += d.Milliseconds()
		}
	}
	return out
}

// Plan is what a dry run would do.
type Plan struct {
	Writes          []string       `json:"writes"`
	RecordsPerType  map[string]int `json:"records_per_type"`
	Records         int            `json:"records"`
	Batches         int            `json:"batches"`
	ZnodesRead      int64          `json:"znodes_read"`
	ReadSeconds     float64        `json:"read_seconds"`
	EstimateSeconds float64        `json:"estimated_seconds"`
	EstimateBasis   string         `json:"estimate_basis"`
}

// Figures for the estimate, measured by BenchmarkMigrate100kPartitions on a
// 2-core machine (3-node ensemble and quorum on loopback): the copy appends
// about 20,000 records/s; the mirror's first walk (reads with watches) takes
// about 9 reads' time, each verification comparison about 2.5 (a read, the
// quorum's image, the diff), the verification 2 comparisons and the cutover
// one more.
const (
	assumedCopyRate    = 20000.0
	mirrorWalkReads    = 9.0
	comparisonReads    = 2.5
	comparisonsOverall = 3.0
)

func (m *Migration) plan() *Plan {
	p := &Plan{RecordsPerType: map[string]int{}}
	var readSec float64
	for _, ph := range m.report.Phases {
		if ph.Name == string(PhaseCheck) {
			readSec = ph.Seconds
		}
	}
	if m.snap != nil {
		p.ZnodesRead = m.snap.ZnodesRead
	}
	p.ReadSeconds = readSec
	if m.tr != nil {
		for k, v := range m.tr.Counts {
			p.RecordsPerType[k] = v
		}
		for _, b := range m.batches {
			p.Records += len(b)
		}
		p.Batches = len(m.batches)
	} else if m.state.Counts != nil {
		for k, v := range m.state.Counts {
			p.RecordsPerType[k] = v
			p.Records += v
		}
	}
	st := m.state.State
	if st == StateNone {
		p.Writes = append(p.Writes, fmt.Sprintf("quorum: bootstrap records (metadata.version %s, ZkMigrationStateRecord PRE_MIGRATION) at offset 0, cluster id %s", m.report.MetadataVersion, m.report.ClusterID))
	}
	if st == StateNone || st == StateCopying {
		p.Writes = append(p.Writes, fmt.Sprintf("quorum: the copy, %d records in %d batches inside the \"ZK Migration\" transaction, ending with ZkMigrationStateRecord MIGRATION", p.Records, p.Batches))
	}
	if st != StateCutover {
		p.Writes = append(p.Writes,
			"quorum: ZooKeeper changes after the snapshot, through the mirror (dual-write)",
			"nothing in ZooKeeper before the cutover",
			"cutover (THE POINT OF NO RETURN, only with --yes and parity): ZooKeeper multi setData /controller_epoch (epoch+1, CAS on its version) + delete /controller + create persistent /controller {version 2, brokerid <quorum leader id>, kraftControllerEpoch <quorum term>}",
			"cutover: /migration version 0 {kraft_controller_id, kraft_controller_epoch, kraft_metadata_offset, kraft_metadata_epoch} (create or CAS on its version), guarded by the claimed /controller_epoch version",
			"cutover: quorum ZkMigrationStateRecord POST_MIGRATION")
	}
	est := readSec * (1 + mirrorWalkReads + comparisonReads*comparisonsOverall)
	if m.tr != nil {
		est += float64(p.Records) / assumedCopyRate
	}
	p.EstimateSeconds = est
	p.EstimateBasis = fmt.Sprintf("measured read: %d znodes in %.2fs (%.0f znodes/s); snapshot 1 read, mirror walk ~%.0f reads, 3 comparisons ~%.1f reads each; copy at ~%.0f records/s (BenchmarkMigrate100kPartitions)",
		p.ZnodesRead, readSec, m.report.ReadRate, mirrorWalkReads, comparisonReads, assumedCopyRate)
	return p
}

// nextSteps says how to point Kafka at the new controllers.
func nextSteps(ctx context.Context, q *client.Client, r *Report) []string {
	var voters, apis []string
	if q != nil {
		for _, ns := range q.StatusAll(ctx) {
			if ns.Status != nil && len(voters) == 0 {
				for _, v := range ns.Status.Voters {
					voters = append(voters, v.ID+"@"+v.Addr)
				}
			}
			apis = append(apis, ns.Addr)
		}
	}
	sort.Strings(voters)
	cid := r.ClusterID
	id := "<id>"
	if r.Cutover != nil {
		id = fmt.Sprint(r.Cutover.KRaftControllerID)
	}
	return []string{
		"ZooKeeper's controller role now belongs to the quorum: the ZooKeeper-mode controller is fenced (its writes conditioned on the old /controller_epoch version fail) and no broker will be elected controller (/controller is persistent).",
		fmt.Sprintf("The migrated metadata is in zk2kraft's quorum (voters %s, API %s). Export it for the Kafka KRaft controllers: zk2kraft export --quorum %s --out <metadata.log.dir>/__cluster_metadata-0/ (a Kafka .checkpoint).",
			strings.Join(voters, ","), strings.Join(apis, ","), strings.Join(apis, ",")),
		fmt.Sprintf("Format each Kafka KRaft controller with the same cluster id: kafka-storage format -t %s -c controller.properties (cluster id = ZooKeeper's /cluster/id).", cid),
		fmt.Sprintf("controller.properties on each Kafka controller: process.roles=controller, node.id=<its id; the cutover claimed the role as %s>, controller.quorum.voters=<node.id>@<host>:9093,... of the Kafka controllers (or controller.quorum.bootstrap.servers=<host>:9093,...), controller.listener.names=CONTROLLER, listeners=CONTROLLER://:9093; no zookeeper.metadata.migration.enable (the log is POST_MIGRATION). Controller node ids must differ from every broker id.", id),
		"Roll every broker into KRaft mode: process.roles=broker, node.id = its old broker.id, the same controller.quorum.voters (or controller.quorum.bootstrap.servers), controller.listener.names=CONTROLLER, the CONTROLLER listener in listener.security.protocol.map; remove zookeeper.connect and zookeeper.metadata.migration.enable.",
		"Rollback to ZooKeeper mode is no longer possible: the cutover was the point of no return.",
	}
}

// WriteText renders the report for a terminal.
func (r *Report) WriteText(w io.Writer) {
	title := "zk2kraft migrate"
	if r.DryRun {
		title += " (dry run: nothing was written)"
	}
	fmt.Fprintln(w, title)
	if r.ClusterID != "" {
		fmt.Fprintf(w, "  cluster id   %s\n", r.ClusterID)
	}
	if r.Source != "" {
		fmt.Fprintf(w, "  source       %s\n", r.Source)
	}
	if r.SnapshotZxid != 0 {
		fmt.Fprintf(w, "  snapshot     zxid 0x%x\n", r.SnapshotZxid)
	}
	fmt.Fprintf(w, "  state        %s (was %s at start%s)\n", orNone(r.State), orNone(r.StateAtStart), map[bool]string{true: ", resumed", false: ""}[r.Resumed])
	fmt.Fprintf(w, "  total time   %.2fs\n\nPhases:\n", r.Seconds)
	for _, p := range r.Phases {
		name := p.Name
		if p.PointOfNoReturn {
			name += " (THE POINT OF NO RETURN)"
		}
		line := fmt.Sprintf("  %-38s %-12s %8.2fs", name, p.Status, p.Seconds)
		if p.Items > 0 {
			line += fmt.Sprintf("  %d %s", p.Items, p.Unit)
			if p.Rate > 0 {
				line += fmt.Sprintf(" (%.0f/s)", p.Rate)
			}
		}
		fmt.Fprintln(w, line)
		if p.Note != "" {
			fmt.Fprintf(w, "      %s\n", p.Note)
		}
		if p.Error != "" {
			fmt.Fprintf(w, "      error: %s\n", p.Error)
		}
	}
	if len(r.Kinds) > 0 {
		fmt.Fprintln(w, "\nObjects:")
		for _, k := range sortedKeys(r.Kinds) {
			fmt.Fprintf(w, "  %-22s %d\n", k, r.Kinds[k])
		}
	}
	if len(r.Counts) > 0 {
		fmt.Fprintln(w, "\nRecords:")
		for _, k := range sortedKeys(r.Counts) {
			fmt.Fprintf(w, "  %-34s %d\n", k, r.Counts[k])
		}
	}
	if len(r.Skipped) > 0 {
		fmt.Fprintln(w, "\nNot migrated:")
		for _, s := range r.Skipped {
			fmt.Fprintf(w, "  %s %s: %s\n", s.Kind, s.Path, s.Reason)
		}
	}
	if len(r.Findings) > 0 {
		fmt.Fprintln(w, "\nFindings:")
		for _, f := range r.Findings {
			fmt.Fprintf(w, "  %s\n", f.String())
		}
	}
	if ms := r.Mirror; ms != nil {
		fmt.Fprintf(w, "\nMirror (dual-write): %d changes seen, %d applied (%d records in %d batches), lag p50 %s p99 %s, backlog %d, reconnects %d, position zxid 0x%x\n",
			ms.Seen, ms.Applied, ms.Records, ms.Batches, ms.LagP50.Round(time.Microsecond), ms.LagP99.Round(time.Microsecond), ms.Backlog, ms.Reconnects, ms.Position)
	}
	if v := r.Verify; v != nil {
		fmt.Fprintf(w, "\nVerification: %s after %d comparison(s)\n", v.Status, len(v.Rounds))
		WriteSections(w, v.Sections)
		for _, d := range v.Mismatches {
			fmt.Fprintf(w, "  MISMATCH %s\n", d.String())
		}
		for i, d := range v.InFlight {
			if i == 20 {
				fmt.Fprintf(w, "  ... %d more in flight\n", len(v.InFlight)-20)
				break
			}
			fmt.Fprintf(w, "  in flight %s\n", d.String())
		}
	}
	if c := r.Cutover; c != nil {
		fmt.Fprintf(w, "\nCutover (THE POINT OF NO RETURN): KRaft controller %d, epoch %d claimed ZooKeeper's controller role; /controller_epoch %d -> %d (zk version %d -> %d); /migration offset %d epoch %d\n",
			c.KRaftControllerID, c.KRaftControllerEpoch, c.OldControllerEpoch, c.NewControllerEpoch, c.OldEpochZkVersion, c.NewEpochZkVersion, c.MigrationOffset, c.MigrationEpoch)
	}
	if p := r.Plan; p != nil {
		fmt.Fprintf(w, "\nPlan (%d records in %d batches; estimated %.1fs — %s):\n", p.Records, p.Batches, p.EstimateSeconds, p.EstimateBasis)
		for _, s := range p.Writes {
			fmt.Fprintf(w, "  would write: %s\n", s)
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "\nNote: %s\n", n)
	}
	if len(r.NextSteps) > 0 {
		fmt.Fprintln(w, "\nNext steps:")
		for i, s := range r.NextSteps {
			fmt.Fprintf(w, "  %d. %s\n", i+1, s)
		}
	}
}

// WriteSections prints per-section counts and digests.
func WriteSections(w io.Writer, ss []verify.Section) {
	for _, s := range ss {
		mark := "=="
		if !s.Match {
			mark = "!="
		}
		fmt.Fprintf(w, "  %-18s zk %7d  quorum %7d  %s %s %s\n", s.Name, s.ZKCount, s.QuorumCount, short(s.ZKDigest), mark, short(s.QuorumDigest))
	}
}

func short(d string) string {
	if len(d) > 16 {
		return d[:16]
	}
	return d
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func sortedKeys(m map[string]int) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
