// Package verify proves (or disproves) that a quorum's metadata image equals
// what ZooKeeper holds.
//
// One comparison reads ZooKeeper afresh (zkreader), translates the read
// (translate) and replays it with image.Apply — the same code the quorum's
// state machine runs — into the expected image, reads the quorum's image and
// diffs the two object by object (image.Diff).
//
// It stays sound while the cluster changes. A difference whose ZooKeeper side
// is newer than the mirror's position (the znode's mzxid is above the zxid the
// mirror has committed to the quorum) is "in flight", not a mismatch. Parity
// is declared only when the mirror's lag is zero and two consecutive
// comparisons agree: both find no difference at all. A difference is a
// confirmed mismatch only when two consecutive comparisons report it
// identically and it is not in flight in either.
package verify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/zk2kraft/zk2kraft/image"
	"github.com/zk2kraft/zk2kraft/kafka"
	"github.com/zk2kraft/zk2kraft/progress"
	"github.com/zk2kraft/zk2kraft/quorum"
	"github.com/zk2kraft/zk2kraft/quorum/client"
	"github.com/zk2kraft/zk2kraft/translate"
	"github.com/zk2kraft/zk2kraft/translate/records"
	"github.com/zk2kraft/zk2kraft/zkreader"
)

// Status of a verification.
const (
	StatusParity      = "parity"      // two consecutive comparisons found no difference, mirror lag zero
	StatusDifferences = "differences" // confirmed mismatches
	StatusInFlight    = "in-flight"   // differences remain but none confirmed before the deadline
)

// Meta keys in the quorum that tell where the mirror (or the copy) stands.
// The first key present wins.
var DefaultPositionKeys = []string{"mirror.zxid", "dualwrite.zxid", "migrate.mirror_zxid", "migrate.snapshot_zxid"}

// Options of a verification.
type Options struct {
	ZK     zkreader.Options
	Quorum *client.Client
	// Translate must match what the migration used (metadata version,
	// password handling). AssignedTopicIDs is filled from the quorum for
	// topics whose znode has no id.
	Translate translate.Options
	// PositionKeys are the quorum Meta keys holding the mirror's zxid
	// (decimal or 0x hex); nil: DefaultPositionKeys.
	PositionKeys []string
	// MaxRounds bounds the comparisons (default 10); Timeout bounds the
	// whole run (default 2 minutes). Interval is the pause between rounds
	// (default 200 ms).
	MaxRounds int
	Timeout   time.Duration
	Interval  time.Duration
	Progress  progress.Func
	Logger    *slog.Logger
}

// Difference is one object or field that differs, with where ZooKeeper's side
// stands.
type Difference struct {
	image.Difference
	// ZKZxid is the newest zxid of the znodes behind the object (0 if unknown).
	ZKZxid   int64 `json:"zk_zxid,omitempty"`
	InFlight bool  `json:"in_flight"`
}

func (d Difference) key() string {
	return d.Section + "\x00" + d.Object + "\x00" + d.Field + "\x00" + d.Want + "\x00" + d.Got
}

// Section is the per-section summary: counts and digests on both sides.
type Section struct {
	Name         string `json:"name"`
	ZKCount      int    `json:"zk_count"`
	QuorumCount  int    `json:"quorum_count"`
	ZKDigest     string `json:"zk_digest"`
	QuorumDigest string `json:"quorum_digest"`
	Match        bool   `json:"match"`
}

// Round is one comparison.
type Round struct {
	N             int           `json:"n"`
	SnapshotZxid  int64         `json:"snapshot_zxid"` // newest zxid of the objects read
	MirrorZxid    int64         `json:"mirror_zxid"`   // the mirror's position when the quorum image was read
	LagZero       bool          `json:"lag_zero"`
	QuorumOffset  int64         `json:"quorum_offset"` // last offset in the quorum image
	Differences   []Difference  `json:"differences"`
	Mismatches    int           `json:"mismatches"`
	InFlight      int           `json:"in_flight"`
	ZnodesRead    int64         `json:"znodes_read"`
	Duration      time.Duration `json:"duration_ns"`
	Sections      []Section     `json:"sections"`
	ZkMigration   int8          `json:"zk_migration_state"`
	InTransaction bool          `json:"in_transaction,omitempty"`
	QuorumMoved   bool          `json:"quorum_moved,omitempty"` // records were appended during the comparison
}

// Result of a verification.
type Result struct {
	Status     string           `json:"status"`
	Parity     bool             `json:"parity"`
	Rounds     []RoundSummary   `json:"rounds"`
	Last       *Round           `json:"last"`
	Mismatches []Difference     `json:"mismatches"` // confirmed
	InFlight   []Difference     `json:"in_flight"`  // of the last round
	Sections   []Section        `json:"sections"`   // of the last round
	Skipped    []translate.Skip `json:"skipped,omitempty"`
	Duration   time.Duration    `json:"duration_ns"`
	// ZkMigrationState is the quorum's ZkMigrationStateRecord state (the
	// expected image takes it over: it is not something ZooKeeper holds).
	ZkMigrationState int8 `json:"zk_migration_state"`
}

// RoundSummary is one round in brief.
type RoundSummary struct {
	N           int   `json:"n"`
	Differences int   `json:"differences"`
	Mismatches  int   `json:"mismatches"`
	InFlight    int   `json:"in_flight"`
	LagZero     bool  `json:"lag_zero"`
	MirrorZxid  int64 `json:"mirror_zxid"`
	SnapZxid    int64 `json:"snapshot_zxid"`
}

// ErrNotCopied means the quorum holds no complete copy to compare with.
var ErrNotCopied = errors.New("the quorum holds no completed copy")

// Run compares rounds until parity, confirmed mismatches, MaxRounds or the
// timeout. An error means it could not compare at all.
func Run(ctx context.Context, opts Options) (*Result, error) {
	if opts.Quorum == nil {
		return nil, errors.New("verify: no quorum client")
	}
	if opts.MaxRounds <= 0 {
		opts.MaxRounds = 10
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 2 * time.Minute
	}
	if opts.Interval <= 0 {
		opts.Interval = 200 * time.Millisecond
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	start := time.Now()
	deadline := start.Add(opts.Timeout)
	res := &Result{}
	var prev *Round
	for n := 1; n <= opts.MaxRounds; n++ {
		r, skipped, err := Compare(ctx, opts)
		if err != nil {
			return nil, err
		}
		if r.InTransaction {
			return nil, fmt.Errorf("verify: %w: the quorum's log is inside a transaction (a copy is under way or was interrupted: rerun migrate)", ErrNotCopied)
		}
		r.N = n
		res.Last, res.Sections, res.Skipped, res.ZkMigrationState = r, r.Sections, skipped, r.ZkMigration
		res.Rounds = append(res.Rounds, RoundSummary{N: n, Differences: len(r.Differences), Mismatches: r.Mismatches,
			InFlight: r.InFlight, LagZero: r.LagZero, MirrorZxid: r.MirrorZxid, SnapZxid: r.SnapshotZxid})
		opts.Logger.Info("verify: comparison", "round", n, "differences", len(r.Differences), "mismatches", r.Mismatches,
			"in_flight", r.InFlight, "lag_zero", r.LagZero, "mirror_zxid", r.MirrorZxid, "snapshot_zxid", r.SnapshotZxid)
		if opts.Progress != nil {
			opts.Progress(progress.Event{Phase: "verify", Unit: "rounds", Done: int64(n), Total: int64(opts.MaxRounds), Elapsed: time.Since(start)})
		}
		res.InFlight = nil
		for _, d := range r.Differences {
			if d.InFlight {
				res.InFlight = append(res.InFlight, d)
			}
		}
		if prev != nil {
			if clean(prev) && clean(r) {
				res.Status, res.Parity = StatusParity, true
				break
			}
			if confirmed := confirmedMismatches(prev, r); len(confirmed) > 0 && sameMismatches(prev, r) {
				res.Status, res.Mismatches = StatusDifferences, confirmed
				break
			}
		}
		prev = r
		if n == opts.MaxRounds || time.Now().Add(opts.Interval).After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("verify: %w", ctx.Err())
		case <-time.After(opts.Interval):
		}
	}
	if res.Status == "" {
		// Not converged: report what two consecutive rounds agree on as
		// mismatches, the rest in flight.
		res.Status = StatusInFlight
		if prev != nil && prev != res.Last {
			res.Mismatches = confirmedMismatches(prev, res.Last)
		}
		if len(res.Mismatches) > 0 {
			res.Status = StatusDifferences
		}
	}
	res.Duration = time.Since(start)
	return res, nil
}

func clean(r *Round) bool { return len(r.Differences) == 0 && r.LagZero && !r.InTransaction }

// confirmedMismatches are the differences both rounds report identically and
// neither holds in flight.
func confirmedMismatches(a, b *Round) []Difference {
	seen := map[string]bool{}
	for _, d := range a.Differences {
		if !d.InFlight {
			seen[d.key()] = true
		}
	}
	var out []Difference
	for _, d := range b.Differences {
		if !d.InFlight && seen[d.key()] {
			out = append(out, d)
		}
	}
	return out
}

func sameMismatches(a, b *Round) bool {
	return len(confirmedMismatches(a, b)) == a.Mismatches && a.Mismatches == b.Mismatches
}

// Compare runs one comparison. It also returns what the translation skipped.
func Compare(ctx context.Context, opts Options) (*Round, []translate.Skip, error) {
	start := time.Now()
	keys := opts.PositionKeys
	if keys == nil {
		keys = DefaultPositionKeys
	}
	// The mirror's position before the ZooKeeper read: a znode changed after
	// it is newer than the mirror.
	mv1, err := opts.Quorum.Meta(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("verify: %w", err)
	}
	zo := opts.ZK
	zo.Progress = nil
	if opts.Progress != nil {
		zo.Progress = func(e progress.Event) { e.Phase = "verify"; e.Step = "read zookeeper"; opts.Progress(e) }
	}
	// ZooKeeper and the quorum are read at the same time (each read waits
	// on its server much of the time); both lie between mv1 and mv2.
	type quorumRead struct {
		img *image.Image
		pos quorum.Position
		err error
	}
	qr := make(chan quorumRead, 1)
	qctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		img, pos, err := opts.Quorum.Image(qctx)
		qr <- quorumRead{img, pos, err}
	}()
	snap, err := zkreader.Read(ctx, zo)
	if err != nil {
		return nil, nil, fmt.Errorf("verify: read ZooKeeper: %w", err)
	}
	q := <-qr
	if q.err != nil {
		return nil, nil, fmt.Errorf("verify: read the quorum image: %w", q.err)
	}
	got, pos := q.img, q.pos
	mv2, err := opts.Quorum.Meta(ctx) // after the image: did records land meanwhile?
	if err != nil {
		return nil, nil, fmt.Errorf("verify: %w", err)
	}
	if mv2.ClusterID != "" && snap.ClusterID != nil && snap.ClusterID.ID != mv2.ClusterID {
		return nil, nil, fmt.Errorf("verify: the quorum belongs to cluster %q but ZooKeeper's /cluster/id is %q", mv2.ClusterID, snap.ClusterID.ID)
	}
	// lo: every ZooKeeper change up to this zxid was in the quorum before
	// the read began. moved: records were appended while ZooKeeper and the
	// quorum were read, so the quorum's side may be newer than the read.
	// (Meta-only appends, like the mirror's idle heartbeat, change nothing.)
	lo, _ := Position(mv1.Meta, keys)
	moved := mv1.Position.NextOffset != pos.NextOffset || mv2.Position.NextOffset != pos.NextOffset

	want, skipped, err := Expected(snap, got, opts.Translate)
	if err != nil {
		return nil, nil, err
	}
	r := &Round{MirrorZxid: lo, QuorumOffset: pos.LastOffset, ZnodesRead: snap.ZnodesRead, ZkMigration: got.ZkMigrationState(), QuorumMoved: moved}
	r.InTransaction, _ = got.InTransaction()
	zx := objectZxids(snap)
	r.SnapshotZxid = zx.max
	r.LagZero = lo >= zx.max && !moved
	diffs := image.Diff(want, got)
	var tc *touched
	if moved && len(diffs) > 0 {
		// Only what the records appended meanwhile changed can be newer
		// on the quorum's side than the read.
		tc = touchedBetween(ctx, opts.Quorum, mv1.Position.NextOffset, pos.NextOffset, want, got)
	}
	for _, d := range diffs {
		z := zx.of(d)
		inFlight := z > lo || (tc != nil && tc.has(d))
		r.Differences = append(r.Differences, Difference{Difference: d, ZKZxid: z, InFlight: inFlight})
		if inFlight {
			r.InFlight++
		} else {
			r.Mismatches++
		}
	}
	r.Sections = sections(want, got)
	r.Duration = time.Since(start)
	return r, skipped, nil
}

// Expected builds the image ZooKeeper's read should produce in the quorum:
// the translation replayed with image.Apply, topics without an id taking the
// quorum's id for that name, and the quorum's migration state (which
// ZooKeeper does not hold).
func Expected(snap *zkreader.Snapshot, got *image.Image, topts translate.Options) (*image.Image, []translate.Skip, error) {
	assigned := map[string]kafka.UUID{}
	for k, v := range topts.AssignedTopicIDs {
		assigned[k] = v
	}
	for _, t := range snap.Topics {
		if t.TopicID == nil {
			if _, ok := assigned[t.Name]; ok {
				continue
			}
			if gt := got.TopicByName(t.Name); gt != nil {
				assigned[t.Name] = gt.ID
			}
		}
	}
	topts.AssignedTopicIDs = assigned
	topts.Progress = nil
	tr, err := translate.Translate(snap, topts)
	if err != nil {
		return nil, nil, fmt.Errorf("verify: translate: %w", err)
	}
	want, err := tr.TakeImage()
	if err != nil {
		return nil, nil, fmt.Errorf("verify: build the expected image: %w", err)
	}
	if s := got.ZkMigrationState(); s != want.ZkMigrationState() {
		if err := want.Apply(records.Versioned{Record: &records.ZkMigrationStateRecord{ZkMigrationState: s}}); err != nil {
			return nil, nil, fmt.Errorf("verify: expected image: %w", err)
		}
	}
	return want, tr.Skipped, nil
}

func sections(want, got *image.Image) []Section {
	wc, gc := want.Counts(), got.Counts()
	wd, gd := want.Digests(), got.Digests()
	var out []Section
	for _, s := range image.Sections {
		out = append(out, Section{Name: s, ZKCount: wc[s], QuorumCount: gc[s], ZKDigest: wd[s], QuorumDigest: gd[s], Match: wd[s] == gd[s]})
	}
	return out
}

// Position returns the first of keys present in meta, parsed as a zxid
// (decimal or 0x hex).
func Position(meta map[string]string, keys []string) (int64, bool) {
	for _, k := range keys {
		if v, ok := meta[k]; ok && v != "" {
			if z, err := zkreader.ParseZxid(v); err == nil {
				return z, true
			}
		}
	}
	return 0, false
}

// zxids maps diff objects to the newest zxid of the znodes behind them.
type zxids struct {
	byObject map[string]int64
	// partitions holds each topic's partitions' zxids (not one string key
	// per partition: a million partitions are compared every round).
	partitions map[string][]partitionZxid
	max        int64
}

type partitionZxid struct {
	id   int32
	zxid int64
}

func (z *zxids) put(obj string, st zkreader.Stat) {
	v := max(st.Mzxid, st.Czxid, st.Pzxid)
	if v > z.byObject[obj] {
		z.byObject[obj] = v
	}
	z.max = max(z.max, v)
}

// of returns the zxid behind a difference; for an object ZooKeeper no
// longer has (or one not mapped), the newest zxid of the read.
func (z *zxids) of(d image.Difference) int64 {
	if d.Section == image.SectionTopics {
		if i := strings.LastIndexByte(d.Object, '-'); i > 0 {
			if id, err := strconv.Atoi(d.Object[i+1:]); err == nil {
				for _, p := range z.partitions[d.Object[:i]] {
					if int(p.id) == id {
						return p.zxid
					}
				}
			}
		}
	}
	if v, ok := z.byObject[d.Section+"|"+d.Object]; ok {
		return v
	}
	return z.max
}

func objectZxids(s *zkreader.Snapshot) *zxids {
	z := &zxids{byObject: map[string]int64{}, partitions: make(map[string][]partitionZxid, len(s.Topics))}
	for _, t := range s.Topics {
		z.put(image.SectionTopics+"|topic "+t.Name, t.Stat)
		tz := max(t.Stat.Mzxid, t.Stat.Czxid, t.Stat.Pzxid)
		parts := make([]partitionZxid, len(t.Partitions))
		for i, p := range t.Partitions {
			v := tz
			if p.State != nil {
				v = max(v, p.State.Stat.Mzxid, p.State.Stat.Czxid, p.State.Stat.Pzxid)
			}
			parts[i] = partitionZxid{p.ID, v}
			z.max = max(z.max, v)
		}
		z.partitions[t.Name] = parts
	}
	for _, c := range s.TopicConfigs {
		z.put(image.SectionConfigs+"|"+image.ConfigResource{Type: 2, Name: c.Name}.String(), c.Stat)
	}
	for _, c := range s.BrokerConfigs {
		name := c.Name
		if name == "<default>" {
			name = ""
		}
		z.put(image.SectionConfigs+"|"+image.ConfigResource{Type: 4, Name: name}.String(), c.Stat)
	}
	for _, q := range s.Quotas {
		var parts []image.EntityPart
		for _, p := range q.Entity {
			parts = append(parts, image.EntityPart{Type: p.Type, Name: p.Name})
		}
		z.put(image.SectionClientQuotas+"|"+image.EntityKey(parts), q.Stat)
	}
	for _, c := range s.Scram {
		mech := 1
		if c.Mechanism == "SCRAM-SHA-512" {
			mech = 2
		}
		z.put(fmt.Sprintf("%s|user %s mechanism %d", image.SectionScram, c.User, mech), c.Stat)
	}
	for _, a := range s.ACLs {
		z.max = max(z.max, a.Stat.Mzxid, a.Stat.Czxid)
	}
	if s.ProducerIDBlock != nil {
		z.put(image.SectionProducerIDs+"|nextProducerId", s.ProducerIDBlock.Stat)
	}
	for _, t := range s.DelegationTokens {
		z.put(image.SectionDelegationTokens+"|token "+t.TokenID, t.Stat)
	}
	for _, b := range s.Brokers {
		_ = b // broker registrations are not mirrored; their zxids do not count toward lag
	}
	return z
}

// SortDifferences orders differences by section order, then object.
func SortDifferences(ds []Difference) {
	order := map[string]int{}
	for i, s := range image.Sections {
		order[s] = i
	}
	sort.SliceStable(ds, func(i, j int) bool {
		if ds[i].Section != ds[j].Section {
			return order[ds[i].Section] < order[ds[j].Section]
		}
		return ds[i].Object < ds[j].Object
	})
}

// PositionOf is a helper for callers holding a quorum.MetaView.
func PositionOf(mv quorum.MetaView) (int64, bool) { return Position(mv.Meta, DefaultPositionKeys) }
