// Package dualwrite mirrors every change of a ZooKeeper-mode Kafka cluster's
// metadata into the quorum, from the copy until the cutover (issue 6).
//
// # How changes are caught
//
// On start (and after every session expiry) the mirror walks the watched
// part of the tree (topics and partition states, pending deletions, topic
// and broker configs, quotas and SCRAM, ACLs, the producer-id block,
// delegation tokens) with go-zookeeper's GetW/ChildrenW, arming a one-shot
// watch on every znode as it reads it (an exists watch on fixed paths that do
// not exist yet). Every watch event re-reads its znode with a new watch, so a
// watch is always armed no later than the read it follows; a change made
// between a read and the next event is seen by the next read. The walk's
// reads are compared with the quorum's image, not with a zxid: whatever
// changed since the snapshot (or since the mirror last ran) is written, and
// objects ZooKeeper no longer has are removed.
//
// # How changes are applied
//
// Each read is parsed with zkreader's parsers into a model of ZooKeeper;
// each touched object (a topic, a partition, a config, a quota znode, an ACL
// resource, ...) is translated with translate (a snapshot holding just that
// object) and diffed against the mirror's view of the quorum's image to get
// the records a KRaft controller would write (see deltas). A change is taken
// from the znode's current data and Stat, never from the event, so an event
// that arrives twice, late or out of order, or a re-read after a reconnect,
// never writes an old value over a newer one (an answer with an older mzxid
// than the one applied is dropped).
//
// # Position and exactly-once
//
// Records are batched (by count and a short linger) and appended through the
// quorum client with Meta, applied atomically with the batch:
//
//	mirror.zxid   0x...  every ZooKeeper change with a zxid up to this one is in the quorum
//	mirror.seq    N      batches the mirror has appended
//	mirror.owner  ID     the running mirror (a restarted one takes over)
//
// Each append is conditional on mirror.seq and mirror.owner and carries the
// token mirror:<owner>:<seq>, so a retry after a leader change or a timeout
// is applied at most once, and two mirrors never interleave. The position is
// sound: ZooKeeper sends a session's watch events in zxid order, in line with
// its replies, so once every event received before a reply with zxid Z has
// been read and written, every change up to Z is in the quorum. When idle, a
// heartbeat (srvr's Zxid on the session's server, then a sync on the session)
// moves the position to ZooKeeper's newest zxid.
//
// # Faults
//
// A ZooKeeper server dies: go-zookeeper moves the session to another server
// and re-arms every watch with the last zxid seen, so changes made meanwhile
// fire at once; reads cut off are retried. The position does not advance
// until a sync issued after the reconnect has answered. The session expires:
// every watch is gone, so the mirror walks the whole tree again on the new
// session and writes the difference. The quorum is unreachable or changes
// leader: the batch is retried with the same token; meanwhile reads go on
// and only mark objects dirty, so memory is bounded by the number of objects,
// not of changes, and the backlog drains in a few large batches. The process
// is killed: a new run reads the quorum's image and position and walks the
// tree; nothing committed is written twice and nothing missing is skipped.
package dualwrite

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zk2kraft/zk2kraft/metrics"
	"github.com/zk2kraft/zk2kraft/quorum"
	"github.com/zk2kraft/zk2kraft/quorum/client"
	"github.com/zk2kraft/zk2kraft/translate"
	"github.com/zk2kraft/zk2kraft/translate/records"
	"github.com/zk2kraft/zk2kraft/zkreader"
)

// Meta keys the mirror keeps in the quorum.
const (
	MetaZxid    = "mirror.zxid"
	MetaSeq     = "mirror.seq"
	MetaOwner   = "mirror.owner"
	MetaUpdated = "mirror.updated_ms"
)

// ErrTakenOver means another mirror took over the quorum.
var ErrTakenOver = errors.New("another mirror took over the quorum")

// ErrNotCopied means the quorum holds no completed copy to mirror onto.
var ErrNotCopied = errors.New("the quorum holds no completed copy of the cluster")

// Options of a mirror.
type Options struct {
	// ZK says where ZooKeeper is: Connect ("h1:p1,h2:p2/chroot"), Chroot,
	// Auth ("user:password", digest) and SessionTimeout are used.
	ZK zkreader.Options
	// Quorum is the quorum's client.
	Quorum *client.Client
	// Translate must be what the copy used (metadata version, password
	// encoder secret, assigned topic ids).
	Translate translate.Options
	// FromZxid is the position when the quorum holds none yet: the MaxZxid
	// of the snapshot the copy was made from.
	FromZxid int64
	// AnyState mirrors onto a quorum whose ZkMigrationState is not MIGRATION
	// (e.g. an empty quorum in a test). A quorum inside a transaction (a
	// copy under way) is always refused.
	AnyState bool
	// If is added to the precondition of every append (e.g. the migration's
	// phase key), so the mirror stops when the migration moves on.
	If map[string]string
	// Linger is how long a change waits for others to share its batch
	// (default 2 ms). MaxBatchRecords caps a batch (default 2000; one
	// object's records are never split).
	Linger          time.Duration
	MaxBatchRecords int
	// Readers is the number of reads in flight on the session (default
	// 128: each watch event costs a read round trip, and at 1,000
	// changes/s 32 readers left events queued 100-350 ms on a busy machine).
	Readers int
	// Heartbeat is how often the position is brought up to ZooKeeper's
	// newest zxid when nothing changes (default 200 ms; negative: never).
	Heartbeat time.Duration
	// LagSamples is how many recent change lags the p50/p99 are taken over
	// (default 16384).
	LagSamples int
	Metrics    *metrics.Metrics
	Logger     *slog.Logger
}

// Stats are the mirror's figures.
type Stats struct {
	Seen       int64         `json:"changes_seen"`    // watch events received
	Applied    int64         `json:"changes_applied"` // object changes committed to the quorum
	Records    int64         `json:"records"`         // records committed
	Batches    int64         `json:"batches"`
	Backlog    int           `json:"backlog"` // reads pending and objects not yet committed
	LagP50     time.Duration `json:"lag_p50_ns"`
	LagP99     time.Duration `json:"lag_p99_ns"`
	LagMax     time.Duration `json:"lag_max_ns"`
	LagSamples int           `json:"lag_samples"`
	EventP50   time.Duration `json:"event_lag_p50_ns"` // from the watch event's arrival to the commit
	EventP99   time.Duration `json:"event_lag_p99_ns"`
	DirtyP50   time.Duration `json:"dirty_p50_ns"` // from the watch event to the object's change being read (changes written)
	DirtyP99   time.Duration `json:"dirty_p99_ns"`
	WaitP50    time.Duration `json:"wait_p50_ns"` // from a change read to its batch being cut (changes written)
	WaitP99    time.Duration `json:"wait_p99_ns"`
	QueueP50   time.Duration `json:"queue_p50_ns"` // from a watch event to its re-read starting
	QueueP99   time.Duration `json:"queue_p99_ns"`
	ReadP50    time.Duration `json:"read_p50_ns"` // ZooKeeper re-read after an event
	ReadP99    time.Duration `json:"read_p99_ns"`
	CommitP50  time.Duration `json:"commit_p50_ns"` // quorum append round trip
	CommitP99  time.Duration `json:"commit_p99_ns"`
	Reconnects int64         `json:"reconnects"`
	Expired    int64         `json:"session_expirations"`
	Walks      int64         `json:"walks"` // full watch-arming reads of the tree
	Walking    bool          `json:"walking"`
	Position   int64         `json:"position_zxid"` // committed position
	Rejected   int64         `json:"rejected_batches"`
	Retries    int64         `json:"append_retries"`
	Resent     int64         `json:"resent_batches"` // sent again after overtaking the batch before it
	Seq        uint64        `json:"seq"`
}

type dirtyInfo struct {
	seq    uint64
	at     int64 // ms: the oldest write not yet committed
	event  bool
	seen   time.Time // when its oldest watch event arrived
	marked time.Time // when it became dirty
}

const maxCandidates = 4096

type candidate struct {
	zxid int64
	ev   uint64
}

// Mirror mirrors ZooKeeper into the quorum. Create it with New and Run it.
type Mirror struct {
	opts   Options
	log    *slog.Logger
	q      *client.Client
	chroot string
	owner  string
	dial   zk.Dialer // plain TCP, or TLS with the configured CA and client certificate
	mx     *mirrorMetrics

	mu       sync.Mutex
	cond     *sync.Cond
	conn     *zk.Conn
	stopped  bool
	model    *model
	view     *view
	deltas   *deltas
	queue    []*item
	queued   map[itemKey]*item
	inflight map[itemKey]*item
	// outstanding counts reads pending per topic (see objKey.owner).
	outstanding map[string]int
	dirty       map[objKey]*dirtyInfo
	seqs        *seqSet
	evSeq       uint64
	gen         int // session generation: a new session starts a new walk
	walking     bool
	walkLeft    int
	started     bool // the first session started the first walk
	expired     bool
	connGen     int       // bumped on every disconnect
	connectedAt time.Time // when the current connection got its session
	barrierOK   bool      // a sync issued after the reconnect has answered
	cands       []candidate
	wake        chan struct{}

	committed int64 // position committed to the quorum
	seq       uint64
	lastMeta  time.Time
	lastGauge time.Time
	rejects   int
	rejectGen int
	stats     Stats
	lags      []time.Duration
	commits   []time.Duration
	commitN   int
	pipes     []time.Duration // watch event -> commit
	pipeN     int
	reads     []time.Duration // event-driven read round trips
	readN     int
	waits     []time.Duration // dirty -> cut
	waitN     int
	qwaits    []time.Duration // watch event -> read start
	qwaitN    int
	toDirty   []time.Duration // watch event -> object dirty (changes written)
	toDirtyN  int
	lagNext   int
	lagFull   bool
	appending int    // changes in the batches being appended
	nextSeq   uint64 // mirror.seq the next batch is conditional on
	sentPos   int64  // position of the last batch sent
}

// New checks the options. Run starts the mirror.
func New(opts Options) (*Mirror, error) {
	if opts.Quorum == nil {
		return nil, errors.New("mirror: no quorum client")
	}
	if opts.ZK.Connect == "" {
		return nil, errors.New("mirror: no ZooKeeper connect string")
	}
	dial, err := opts.ZK.TLS.Dialer()
	if err != nil {
		return nil, fmt.Errorf("mirror: ZooKeeper %w", err)
	}
	if _, err := translate.ResolveMetadataVersion(opts.Translate.MetadataVersion); err != nil {
		return nil, fmt.Errorf("mirror: %w", err)
	}
	if opts.Linger <= 0 {
		opts.Linger = 2 * time.Millisecond
	}
	if opts.MaxBatchRecords <= 0 {
		opts.MaxBatchRecords = 2000
	}
	if opts.Readers <= 0 {
		opts.Readers = 128
	}
	if opts.Heartbeat == 0 {
		opts.Heartbeat = 200 * time.Millisecond
	}
	if opts.LagSamples <= 0 {
		opts.LagSamples = 16384
	}
	if opts.ZK.SessionTimeout <= 0 {
		opts.ZK.SessionTimeout = 10 * time.Second
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	_, connChroot, err := zkreader.ParseConnect(opts.ZK.Connect)
	if err != nil {
		return nil, fmt.Errorf("mirror: %w", err)
	}
	chroot := opts.ZK.Chroot
	if connChroot != "" {
		if chroot != "" && strings.TrimRight(chroot, "/") != strings.TrimRight(connChroot, "/") {
			return nil, fmt.Errorf("mirror: chroot %q differs from the connect string's %q", chroot, connChroot)
		}
		chroot = connChroot
	}
	chroot = strings.TrimRight(chroot, "/")
	if chroot != "" && !strings.HasPrefix(chroot, "/") {
		return nil, fmt.Errorf("mirror: chroot %q: want an absolute znode path like /kafka", chroot)
	}
	var b [8]byte
	rand.Read(b[:])
	m := &Mirror{opts: opts, log: log, q: opts.Quorum, chroot: chroot, owner: hex.EncodeToString(b[:]), dial: dial,
		queued: map[itemKey]*item{}, inflight: map[itemKey]*item{}, outstanding: map[string]int{},
		dirty: map[objKey]*dirtyInfo{}, seqs: newSeqSet(), wake: make(chan struct{}, 1),
		lags: make([]time.Duration, opts.LagSamples), commits: make([]time.Duration, 4096), pipes: make([]time.Duration, opts.LagSamples), reads: make([]time.Duration, 4096), waits: make([]time.Duration, 4096), qwaits: make([]time.Duration, 4096), toDirty: make([]time.Duration, 4096), model: newModel()}
	m.cond = sync.NewCond(&m.mu)
	m.mx = newMirrorMetrics(opts.Metrics)
	return m, nil
}

// Owner is the id this mirror writes in mirror.owner.
func (m *Mirror) Owner() string { return m.owner }

// Stats returns the mirror's figures now.
func (m *Mirror) Stats() Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.stats
	s.Backlog = m.backlogLocked()
	s.Walking = m.walking
	s.Position = m.committed
	s.Seq = m.seq
	n := m.lagNext
	if m.lagFull {
		n = len(m.lags)
	}
	if n > 0 {
		l := append([]time.Duration(nil), m.lags[:n]...)
		sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
		s.LagP50 = l[(n-1)*50/100]
		s.LagP99 = l[(n-1)*99/100]
		s.LagMax = l[n-1]
		s.LagSamples = n
	}
	if c := min(m.pipeN, len(m.pipes)); c > 0 {
		l := append([]time.Duration(nil), m.pipes[:c]...)
		sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
		s.EventP50, s.EventP99 = l[(c-1)*50/100], l[(c-1)*99/100]
	}
	if c := min(m.waitN, len(m.waits)); c > 0 {
		l := append([]time.Duration(nil), m.waits[:c]...)
		sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
		s.WaitP50, s.WaitP99 = l[(c-1)*50/100], l[(c-1)*99/100]
	}
	if c := min(m.toDirtyN, len(m.toDirty)); c > 0 {
		l := append([]time.Duration(nil), m.toDirty[:c]...)
		sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
		s.DirtyP50, s.DirtyP99 = l[(c-1)*50/100], l[(c-1)*99/100]
	}
	if c := min(m.qwaitN, len(m.qwaits)); c > 0 {
		l := append([]time.Duration(nil), m.qwaits[:c]...)
		sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
		s.QueueP50, s.QueueP99 = l[(c-1)*50/100], l[(c-1)*99/100]
	}
	if c := min(m.readN, len(m.reads)); c > 0 {
		l := append([]time.Duration(nil), m.reads[:c]...)
		sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
		s.ReadP50, s.ReadP99 = l[(c-1)*50/100], l[(c-1)*99/100]
	}
	if c := min(m.commitN, len(m.commits)); c > 0 {
		l := append([]time.Duration(nil), m.commits[:c]...)
		sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
		s.CommitP50, s.CommitP99 = l[(c-1)*50/100], l[(c-1)*99/100]
	}
	return s
}

// ResetLag forgets the lag samples (e.g. at the start of a measurement).
func (m *Mirror) ResetLag() {
	m.mu.Lock()
	m.lagNext, m.lagFull = 0, false
	m.commitN, m.pipeN, m.readN, m.waitN, m.qwaitN, m.toDirtyN = 0, 0, 0, 0, 0, 0
	m.mu.Unlock()
}

func (m *Mirror) backlogLocked() int {
	return len(m.queue) + len(m.inflight) + len(m.dirty) + m.appending
}

// checkTLS fails clearly when no server of the ensemble accepts the mirror's
// TLS connection and one of them refused it (a certificate signed by another
// CA, no client certificate, a plain client port): go-zookeeper would retry
// such a server for ever without a word. A server that cannot be reached at
// all is no refusal: the mirror waits for ZooKeeper as it does without TLS.
func (m *Mirror) checkTLS(ctx context.Context, servers []string) error {
	var refused error
	for _, addr := range servers {
		o := m.opts.ZK
		o.Connect, o.Chroot, o.Logger = addr, m.chroot, m.log
		err := zkreader.CheckConnect(ctx, o)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var oe *net.OpError
		if errors.As(err, &oe) && oe.Op == "dial" {
			m.log.Warn("mirror: ZooKeeper server not reachable", "server", addr, "err", err)
			continue
		}
		refused = fmt.Errorf("mirror: TLS with ZooKeeper %s failed: %w", addr, err)
	}
	return refused
}

// Run mirrors until ctx ends (then it returns nil) or a fault it cannot
// ride out (another mirror took over, the quorum keeps rejecting batches).
func (m *Mirror) Run(ctx context.Context) error {
	if err := m.load(ctx); err != nil {
		return err
	}
	servers, _, _ := zkreader.ParseConnect(m.opts.ZK.Connect)
	if m.opts.ZK.TLS.Enabled() {
		if err := m.checkTLS(ctx, servers); err != nil {
			return err
		}
	}
	conn, _, err := zk.Connect(servers, m.opts.ZK.SessionTimeout, zk.WithEventCallback(m.onEvent),
		zk.WithLogger(zkLogger{m.log}), zk.WithMaxBufferSize(64<<20), zk.WithDialer(m.dial))
	if err != nil {
		return fmt.Errorf("mirror: connect to ZooKeeper %s: %w", strings.Join(servers, ","), err)
	}
	if m.opts.ZK.Auth != "" {
		if err := conn.AddAuth("digest", []byte(m.opts.ZK.Auth)); err != nil {
			conn.Close()
			return fmt.Errorf("mirror: ZooKeeper digest auth: %w", err)
		}
	}
	m.mu.Lock()
	m.conn = conn
	if !m.started && conn.State() == zk.StateHasSession {
		m.startWalkLocked()
	}
	m.mu.Unlock()

	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for i := 0; i < m.opts.Readers; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); m.reader() }()
	}
	if m.opts.Heartbeat > 0 {
		wg.Add(1)
		go func() { defer wg.Done(); m.heartbeat(ctx) }()
	}
	err = m.writer(ctx)
	cancel()
	m.mu.Lock()
	m.stopped = true
	m.cond.Broadcast()
	m.mu.Unlock()
	conn.Close()
	wg.Wait()
	m.log.Info("mirror stopped", "position", fmt.Sprintf("0x%x", m.committed), "seq", m.seq, "err", err)
	if err != nil && ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// load reads the quorum's image and the mirror's position (consistently:
// the position is read before and after the image and must not move) and
// takes the quorum over.
func (m *Mirror) load(ctx context.Context) error {
	for attempt := 0; ; attempt++ {
		mv1, err := m.q.Meta(ctx)
		if err != nil {
			return fmt.Errorf("mirror: %w", err)
		}
		im, pos, err := m.q.Image(ctx)
		if err != nil {
			return fmt.Errorf("mirror: %w", err)
		}
		mv2, err := m.q.Meta(ctx)
		if err != nil {
			return fmt.Errorf("mirror: %w", err)
		}
		if mv1.Position.AppliedIndex != mv2.Position.AppliedIndex || pos.NextOffset != mv2.Position.NextOffset {
			if attempt > 20 {
				return errors.New("mirror: the quorum keeps changing under the mirror's read of its image (is another writer running?)")
			}
			continue
		}
		if in, name := im.InTransaction(); in {
			return fmt.Errorf("mirror: %w: transaction %q is still open (run the copy to its end first)", ErrNotCopied, name)
		}
		if st := im.ZkMigrationState(); st != 1 && !m.opts.AnyState {
			return fmt.Errorf("mirror: %w: its ZkMigrationState is %d, not 1 (MIGRATION)", ErrNotCopied, st)
		}
		meta := mv2.Meta
		m.committed = m.opts.FromZxid
		if z, ok := meta[MetaZxid]; ok {
			if v, err := zkreader.ParseZxid(z); err == nil {
				m.committed = v
			}
		}
		prevSeq, hasSeq := meta[MetaSeq]
		if hasSeq {
			if m.seq, err = strconv.ParseUint(prevSeq, 10, 64); err != nil {
				return fmt.Errorf("mirror: quorum meta %s=%q is not a number", MetaSeq, prevSeq)
			}
		}
		// Take over: one meta-only append conditional on what was read.
		cond := map[string]string{MetaSeq: prevSeq}
		for k, v := range m.opts.If {
			cond[k] = v
		}
		newSeq := m.seq + 1
		metaSet := map[string]string{MetaOwner: m.owner, MetaSeq: strconv.FormatUint(newSeq, 10),
			MetaZxid: formatZxid(m.committed), MetaUpdated: strconv.FormatInt(nowMs(), 10)}
		_, err = m.q.Append(ctx, nil, metaSet, client.AppendOptions{Token: fmt.Sprintf("mirror:%s:%d", m.owner, newSeq), If: cond})
		var pe *client.PreconditionError
		if errors.As(err, &pe) && attempt < 20 {
			continue
		}
		if err != nil {
			return fmt.Errorf("mirror: take over the quorum: %w", err)
		}
		m.seq = newSeq
		m.nextSeq, m.sentPos = newSeq, m.committed
		m.view = newView(im)
		m.deltas = &deltas{m: m.model, v: m.view, opts: m.opts.Translate, log: m.log}
		m.log.Info("mirror: quorum loaded", "position", formatZxid(m.committed), "seq", m.seq, "owner", m.owner,
			"next_offset", pos.NextOffset, "image", im.String())
		return nil
	}
}

func formatZxid(z int64) string { return fmt.Sprintf("0x%x", z) }

// --- events and the read queue -------------------------------------------

// onEvent is go-zookeeper's event callback. It runs on the connection's
// receive loop, in order with the replies: it must only take m.mu.
func (m *Mirror) onEvent(ev zk.Event) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stopped {
		return
	}
	switch ev.Type {
	case zk.EventSession:
		switch ev.State {
		case zk.StateDisconnected:
			m.connGen++
			m.barrierOK = false
			m.cands = nil
		case zk.StateExpired:
			m.expired = true
			m.stats.Expired++
			m.mx.expired.Inc()
			m.log.Warn("mirror: ZooKeeper session expired; every watch is gone, the tree will be read again")
		case zk.StateHasSession:
			m.connGen++
			m.barrierOK = false
			m.cands = nil
			m.connectedAt = time.Now()
			switch {
			case !m.started:
				if m.conn != nil { // else Run starts the walk once auth is added
					m.startWalkLocked()
				}
			case m.expired:
				m.expired = false
				m.startWalkLocked()
			default:
				m.stats.Reconnects++
				m.mx.reconnects.Inc()
				m.log.Info("mirror: reconnected to ZooKeeper", "server", ev.Server)
			}
		}
		return
	case zk.EventNotWatching:
		return
	case zk.EventNodeCreated, zk.EventNodeDataChanged, zk.EventNodeDeleted, zk.EventNodeChildrenChanged:
	default:
		return
	}
	p := ev.Path
	if m.chroot != "" {
		if !strings.HasPrefix(p, m.chroot+"/") {
			return
		}
		p = strings.TrimPrefix(p, m.chroot)
	}
	pp := classify(p)
	if pp.kind == pUnknown {
		return
	}
	m.evSeq++
	m.stats.Seen++
	m.mx.seen.Inc()
	m.enqueue(&item{path: p, list: pp.kind.isList(), seq: m.evSeq, event: true, at: nowMs(), gen: m.gen, seen: time.Now(), direct: true})
}

// startWalkLocked starts reading the whole tree with watches: on the first
// session and on every new session after an expiry.
func (m *Mirror) startWalkLocked() {
	m.started = true
	m.gen++
	for _, it := range m.queue {
		m.seqs.remove(it.seq)
		m.release(holdOwner(it, classify(it.path)))
	}
	m.queue, m.queued = nil, map[itemKey]*item{}
	m.model = newModel()
	if m.deltas != nil {
		m.deltas.m = m.model
	}
	m.walking, m.walkLeft = true, 0
	m.stats.Walks++
	m.log.Info("mirror: reading the tree with watches", "walk", m.stats.Walks)
	seq := m.evSeq
	for _, p := range rootLists {
		m.enqueue(&item{path: p, list: true, seq: seq, walk: true, gen: m.gen})
	}
	m.enqueue(&item{path: pathProducerID, seq: seq, walk: true, gen: m.gen})
}

// enqueue adds a read, merging it with a pending read of the same znode.
func (m *Mirror) enqueue(it *item) {
	if it.gen != m.gen {
		return
	}
	k := itemKey{it.path, it.list}
	if q := m.queued[k]; q != nil {
		if it.walk && !q.walk {
			q.walk = true
			m.walkLeft++
		}
		if it.hold && !q.hold {
			m.release(holdOwner(q, classify(q.path)))
			q.hold = true
			m.hold(holdOwner(q, classify(q.path)))
		}
		if it.event && (!q.event || it.at < q.at) {
			q.event, q.at = true, it.at
		}
		q.direct = q.direct || it.direct
		if !it.seen.IsZero() && (q.seen.IsZero() || it.seen.Before(q.seen)) {
			q.seen = it.seen
		}
		return
	}
	if f := m.inflight[k]; f != nil && f.gen == m.gen {
		// The read under way may have been answered before this change:
		// read again once it is done.
		if !f.rerun {
			f.rerun, f.rerunSeq, f.rerunAt, f.rerunSeen = true, it.seq, it.at, it.seen
			m.seqs.add(it.seq)
		}
		if it.walk && !f.rerunWalk {
			f.rerunWalk = true
			m.walkLeft++
		}
		return
	}
	if it.walk {
		m.walkLeft++
	}
	m.queue = append(m.queue, it)
	m.queued[k] = it
	m.seqs.add(it.seq)
	m.hold(holdOwner(it, classify(it.path)))
	m.cond.Signal()
}

// hold and release count the reads a topic's deltas wait for.
func (m *Mirror) hold(topic string) {
	if topic != "" {
		m.outstanding[topic]++
	}
}

func (m *Mirror) release(topic string) {
	if topic == "" {
		return
	}
	if n := m.outstanding[topic]; n > 1 {
		m.outstanding[topic] = n - 1
	} else {
		delete(m.outstanding, topic)
	}
}

// markDirty records that an object must be (re)computed.
func (m *Mirror) markDirty(k objKey, seq uint64, at int64, event bool, seen time.Time) {
	d := m.dirty[k]
	if d == nil {
		m.dirty[k] = &dirtyInfo{seq: seq, at: at, event: event, seen: seen, marked: time.Now()}
		m.seqs.add(seq)
	} else {
		if !seen.IsZero() && (d.seen.IsZero() || seen.Before(d.seen)) {
			d.seen = seen
		}
		if seq < d.seq {
			m.seqs.remove(d.seq)
			m.seqs.add(seq)
			d.seq = seq
		}
		if event && (!d.event || at < d.at) {
			d.at, d.event = at, true
		}
	}
	m.signalWriter()
}

func (m *Mirror) signalWriter() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// reader takes reads off the queue until the mirror stops.
func (m *Mirror) reader() {
	for {
		m.mu.Lock()
		for len(m.queue) == 0 && !m.stopped {
			m.cond.Wait()
		}
		if m.stopped {
			m.mu.Unlock()
			return
		}
		it := m.queue[0]
		m.queue[0] = nil
		m.queue = m.queue[1:]
		k := itemKey{it.path, it.list}
		delete(m.queued, k)
		m.inflight[k] = it
		conn, connGen := m.conn, m.connGen
		pp := classify(it.path)
		// A missing state znode is watched for its creation only while its
		// partition is assigned (not after its topic was deleted).
		watchExists := pp.kind.watchExists() && (pp.kind != pState || m.model.assignments[pp.topic][pp.part])
		m.mu.Unlock()

		readStart := time.Now()
		r := read(conn, m.chroot+it.path, it, watchExists)
		readTime := time.Since(readStart)

		m.mu.Lock()
		if m.inflight[k] == it {
			delete(m.inflight, k)
		}
		m.seqs.remove(it.seq)
		m.release(holdOwner(it, pp))
		retry := false
		switch {
		case m.stopped:
		case it.gen != m.gen:
			// A read of an expired session: the new walk reads it again.
		case r.err != nil && retryable(r.err):
			m.requeueLocked(it)
			retry = true
		case r.err != nil:
			m.log.Error("mirror: read failed; znode skipped until its next change", "path", it.path, "err", r.err)
			m.walkDone(it)
		default:
			if it.event {
				m.reads[m.readN%len(m.reads)] = readTime
				m.readN++
				if !it.seen.IsZero() {
					m.qwaits[m.qwaitN%len(m.qwaits)] = readStart.Sub(it.seen)
					m.qwaitN++
				}
			}
			m.applyRead(it, pp, r)
			if z := statZxid(r.stat); z > 0 && m.barrierOK && connGen == m.connGen {
				m.addCandidate(z)
			}
			m.walkDone(it)
		}
		if it.rerun {
			m.seqs.remove(it.rerunSeq)
			if it.rerunWalk {
				m.walkLeft-- // enqueue counts it again
			}
			if it.gen == m.gen && !m.stopped {
				m.enqueue(&item{path: it.path, list: it.list, seq: it.rerunSeq, walk: it.rerunWalk, event: it.rerunAt > 0, at: it.rerunAt, gen: it.gen, seen: it.rerunSeen, direct: it.rerunAt > 0})
			}
		}
		m.mu.Unlock()
		if retry {
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// requeueLocked puts a read cut off by a connection loss back in the queue.
func (m *Mirror) requeueLocked(it *item) {
	if it.walk {
		m.walkLeft-- // enqueue counts it again
	}
	m.enqueue(&item{path: it.path, list: it.list, seq: it.seq, walk: it.walk, event: it.event, at: it.at, gen: it.gen, hold: it.hold, seen: it.seen, direct: it.direct})
}

// walkDone counts a walk read as done; the last one ends the walk: every
// object the view holds is then checked too, so what ZooKeeper no longer
// has is removed.
func (m *Mirror) walkDone(it *item) {
	if !it.walk || it.gen != m.gen || !m.walking {
		return
	}
	m.walkLeft--
	if m.walkLeft > 0 {
		return
	}
	m.walking = false
	seq := it.seq
	for _, k := range m.view.objects() {
		if k.kind == kindProducerID {
			continue
		}
		m.markDirty(k, seq, 0, false, time.Time{})
	}
	m.log.Info("mirror: tree read, watches armed", "objects_to_check", len(m.dirty), "walk", m.stats.Walks)
}

// addCandidate remembers that every change up to zxid is known once the
// events received so far are processed.
func (m *Mirror) addCandidate(zxid int64) {
	// Merging into the newest candidate is safe (it only becomes valid
	// later); it bounds memory while the writer waits for the quorum.
	if n := len(m.cands); n > 0 && (m.cands[n-1].ev == m.evSeq || n >= maxCandidates) {
		m.cands[n-1].zxid = max(m.cands[n-1].zxid, zxid)
		m.cands[n-1].ev = m.evSeq
		return
	}
	m.cands = append(m.cands, candidate{zxid: zxid, ev: m.evSeq})
}

// safePosition returns the highest zxid every change up to which is in the
// view (and thus in the batch being cut or before it).
func (m *Mirror) safePositionLocked() int64 {
	done := m.evSeq
	if s, ok := m.seqs.min(); ok {
		done = s - 1
		if s == 0 {
			return m.committed
		}
	}
	pos := m.committed
	i := 0
	for i < len(m.cands) && m.cands[i].ev <= done {
		pos = max(pos, m.cands[i].zxid)
		i++
	}
	m.cands = m.cands[i:]
	return pos
}

// --- the writer -------------------------------------------------------------

// maxInflight is how many batches the writer appends at once: the next
// batch is cut and sent while the one before it is being committed. Each is
// conditional on mirror.seq, so the quorum applies them in order or not at
// all; one that overtook its predecessor fails its precondition and is sent
// again once the predecessor is committed.
const maxInflight = 2

// batch is one append: records, the position and the seq it carries.
type batch struct {
	recs    []records.Versioned
	changes []change
	pos     int64
	seq     uint64 // mirror.seq it is conditional on (it sets seq+1)
	start   time.Time
	commit  time.Time
	behind  bool // sent while an earlier batch was in flight
	resends int  // sent again after overtaking its predecessor
	err     error
	done    chan struct{}
}

// writer cuts batches and appends them until ctx ends.
func (m *Mirror) writer(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var fifo []*batch // in flight, oldest first
	send := func(b *batch, behind bool) {
		b.behind = behind
		b.done = make(chan struct{})
		b.start = time.Now()
		wg.Add(1)
		go func() {
			defer wg.Done()
			b.err = m.append(ctx, b.recs, b.pos, b.seq, b.resends)
			b.commit = time.Now()
			close(b.done)
		}()
	}
	// drainAll waits for every batch in flight to be answered for good and
	// forgets them. After a rejection none of them can have been applied
	// (each is conditional on a seq the rejected batch never set), and none
	// may still be pending when the batches recomputed after it are sent.
	drainAll := func() {
		for _, b := range fifo {
			<-b.done
		}
		fifo = nil
		m.mu.Lock()
		m.appending = 0
		m.nextSeq = m.seq
		m.sentPos = m.committed
		m.mu.Unlock()
	}
	busy := false // the last round appended: what arrived meanwhile has waited already
	for {
		// Finish what has been committed, in order.
		for len(fifo) > 0 {
			b := fifo[0]
			if !isDone(b) {
				break
			}
			var pe *client.PreconditionError
			var rej *client.RejectedError
			switch {
			case b.err == nil:
				fifo = fifo[1:]
				m.finish(b)
				busy = true
				continue
			case errors.As(b.err, &pe) && b.behind && b.resends < 3:
				// It overtook its predecessor (now committed): send it again.
				b.resends++
				b.err = nil
				m.mu.Lock()
				m.stats.Resent++
				m.mu.Unlock()
				send(b, false)
				continue
			case errors.As(b.err, &rej):
				drainAll()
				if err := m.recoverFromReject(ctx, rej); err != nil {
					return err
				}
				continue
			case errors.As(b.err, &pe):
				err := m.preconditionFailed(ctx, b.err)
				cancel()
				drainAll()
				return err
			default:
				err := b.err
				cancel()
				drainAll()
				return err
			}
		}
		// Cut and send while there is room.
		if len(fifo) < maxInflight {
			b, more, err := m.cut()
			if err != nil {
				cancel()
				drainAll()
				return err
			}
			if b != nil {
				send(b, len(fifo) > 0)
				fifo = append(fifo, b)
				busy = true
			}
			if more {
				continue
			}
		}
		var head chan struct{}
		if len(fifo) > 0 {
			head = fifo[0].done
		}
		select {
		case <-ctx.Done():
			drainAll()
			return ctx.Err()
		case <-head:
			continue
		case <-m.wake:
			if m.opts.Linger > 0 && !busy && len(fifo) == 0 {
				select {
				case <-ctx.Done():
					drainAll()
					return ctx.Err()
				case <-time.After(m.opts.Linger):
				}
			}
		case <-tick.C:
		}
		busy = false
	}
}

func isDone(b *batch) bool {
	select {
	case <-b.done:
		return true
	default:
		return false
	}
}

type change struct {
	key     objKey
	marked  time.Time
	cut     time.Time
	at      int64
	seen    time.Time
	event   bool
	covered bool // written by its topic's delta in the same batch
}

// cut computes the ready objects' records into a batch carrying the
// position (nil when there is nothing to send). more reports that ready
// objects were left for another batch.
func (m *Mirror) cut() (b *batch, more bool, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.view == nil {
		return nil, false, nil
	}
	var recs []records.Versioned
	var changes []change
	if !m.walking {
		keys := make([]objKey, 0, len(m.dirty))
		for k := range m.dirty {
			if o := k.owner(); o == "" || m.outstanding[o] == 0 {
				keys = append(keys, k)
			}
		}
		// Deterministic order; topics before their partitions and configs.
		sort.Slice(keys, func(i, j int) bool {
			a, b := keys[i], keys[j]
			if a.name != b.name {
				return a.name < b.name
			}
			if a.kind != b.kind {
				return a.kind < b.kind
			}
			return a.part < b.part
		})
		cutStart := time.Now()
		for i, k := range keys {
			// Bounded work per cut: the lock is also what the watch events
			// wait for.
			if len(recs) >= m.opts.MaxBatchRecords || (i%64 == 63 && time.Since(cutStart) > 50*time.Millisecond) {
				more = true
				break
			}
			di := m.dirty[k]
			if di == nil {
				continue // covered by its topic's delta in this batch
			}
			if k.kind == kindTopic {
				// The topic's delta covers its partitions and configs.
				covered := func(c objKey) {
					if cd := m.dirty[c]; cd != nil {
						if cd.event {
							changes = append(changes, change{key: c, marked: cd.marked, at: cd.at, seen: cd.seen, event: true, covered: true})
						}
						delete(m.dirty, c)
						m.seqs.remove(cd.seq)
					}
				}
				covered(objKey{kind: kindTopicConfig, name: k.name})
				for p := range m.model.assignments[k.name] {
					covered(objKey{kind: kindPartition, name: k.name, part: p})
				}
				if t := m.view.im.TopicByName(k.name); t != nil {
					for _, p := range t.Partitions {
						covered(objKey{kind: kindPartition, name: k.name, part: p.ID})
					}
				}
			}
			cutNow := time.Now()
			out, err := m.deltas.compute(k)
			if err != nil {
				return nil, false, fmt.Errorf("mirror: %s: %w", k, err)
			}
			n := 0
			for _, r := range out {
				if err := m.view.apply(r); err != nil {
					m.log.Error("mirror: record contradicts the mirror's view of the quorum; skipped", "object", k.String(), "record", describe(r), "err", err)
					continue
				}
				recs = append(recs, r)
				n++
			}
			if n > 0 {
				changes = append(changes, change{key: k, marked: di.marked, cut: cutNow, at: di.at, seen: di.seen, event: di.event})
			}
			delete(m.dirty, k)
			m.seqs.remove(di.seq)
		}
	}
	pos := max(m.safePositionLocked(), m.sentPos)
	if len(recs) == 0 && (pos <= m.sentPos || time.Since(m.lastMeta) < m.opts.Heartbeat) {
		m.updateGaugesLocked()
		return nil, more, nil
	}
	b = &batch{recs: recs, changes: changes, pos: pos, seq: m.nextSeq}
	m.nextSeq++
	m.sentPos = pos
	m.appending += len(changes)
	return b, more, nil
}

// finish records a committed batch.
func (m *Mirror) finish(b *batch) {
	recs, changes, commit, start, pos := b.recs, b.changes, b.commit, b.start, b.pos
	m.mu.Lock()
	m.appending -= len(changes)
	m.rejects = 0
	m.seq = b.seq + 1
	m.committed = max(m.committed, pos)
	m.lastMeta = commit
	if len(recs) > 0 {
		m.commits[m.commitN%len(m.commits)] = commit.Sub(start)
		m.commitN++
		m.stats.Batches++
		m.stats.Records += int64(len(recs))
		m.stats.Applied += int64(len(changes))
		for _, c := range changes {
			if c.event && c.at > 0 {
				lag := commit.Sub(time.UnixMilli(c.at))
				if lag < 0 {
					lag = 0
				}
				m.lags[m.lagNext] = lag
				m.lagNext++
				if m.lagNext == len(m.lags) {
					m.lagNext, m.lagFull = 0, true
				}
				m.mx.lag.Observe(lag.Seconds())
				if lag > time.Second {
					m.log.Debug("mirror: slow change", "object", c.key.String(), "covered", c.covered, "at", time.UnixMilli(c.at).Format("15:04:05.000"), "lag", lag, "since_event", commit.Sub(c.seen), "since_dirty", commit.Sub(c.marked), "commit", commit.Sub(start))
				}
				if !c.seen.IsZero() {
					m.pipes[m.pipeN%len(m.pipes)] = commit.Sub(c.seen)
					m.pipeN++
				}
				if !c.covered && !c.marked.IsZero() && !c.cut.IsZero() {
					m.waits[m.waitN%len(m.waits)] = c.cut.Sub(c.marked)
					m.waitN++
					if !c.seen.IsZero() {
						m.toDirty[m.toDirtyN%len(m.toDirty)] = c.marked.Sub(c.seen)
						m.toDirtyN++
					}
				}
			}
		}
	}
	m.updateGaugesLocked()
	m.mu.Unlock()
	m.mx.applied.Add(float64(len(changes)))
	m.mx.position.Set(float64(pos))
	if mt := m.opts.Metrics; mt != nil {
		mt.ObserveCommit(commit.Sub(start))
		counts := map[string]int{}
		for _, r := range recs {
			counts[typeName(r.Record)]++
		}
		for t, n := range counts {
			mt.AddRecords(t, n)
		}
	}
	if len(recs) > 0 {
		m.log.Debug("mirror: batch committed", "records", len(recs), "changes", len(changes), "zxid", formatZxid(pos), "seq", b.seq+1,
			"ms", commit.Sub(start).Milliseconds())
	}
}

func (m *Mirror) updateGaugesLocked() {
	if m.walking || time.Since(m.lastGauge) < 100*time.Millisecond {
		return
	}
	m.lastGauge = time.Now()
	oldest := int64(0)
	for _, d := range m.dirty {
		if d.event && d.at > 0 && (oldest == 0 || d.at < oldest) {
			oldest = d.at
		}
	}
	for _, it := range m.queue {
		if it.event && (oldest == 0 || it.at < oldest) {
			oldest = it.at
		}
	}
	age := time.Duration(0)
	if oldest > 0 {
		age = time.Since(time.UnixMilli(oldest))
	}
	if mt := m.opts.Metrics; mt != nil {
		mt.SetMirrorLag(int64(m.backlogLocked()), age)
	}
}

func typeName(r records.Record) string {
	s := fmt.Sprintf("%T", r)
	if i := strings.LastIndexByte(s, '.'); i >= 0 {
		s = s[i+1:]
	}
	return s
}

// append appends one batch, retrying with the same token until the quorum
// takes it, ctx ends, or the quorum answers for good (precondition failed,
// batch rejected).
func (m *Mirror) append(ctx context.Context, recs []records.Versioned, pos int64, seq uint64, resends int) error {
	next := seq + 1
	cond := map[string]string{MetaSeq: strconv.FormatUint(seq, 10), MetaOwner: m.owner}
	for k, v := range m.opts.If {
		cond[k] = v
	}
	meta := map[string]string{MetaSeq: strconv.FormatUint(next, 10), MetaZxid: formatZxid(pos), MetaUpdated: strconv.FormatInt(nowMs(), 10)}
	// The quorum remembers a token's first answer, a rejection too: a batch
	// recomputed after a rejection needs a new token.
	m.mu.Lock()
	token := fmt.Sprintf("mirror:%s:%d", m.owner, next)
	if m.rejectGen > 0 {
		token = fmt.Sprintf("mirror:%s:%d.%d", m.owner, next, m.rejectGen)
	}
	if resends > 0 {
		// The quorum remembers the precondition failure under the first token.
		token = fmt.Sprintf("%s.p%d", token, resends)
	}
	m.mu.Unlock()
	opts := client.AppendOptions{Token: token, If: cond}
	var b []byte
	if len(recs) > 0 {
		var err error
		if b, err = quorum.EncodeBatch(recs, 0, 0, time.Now().UnixMilli()); err != nil {
			return fmt.Errorf("mirror: encode batch: %w", err)
		}
	}
	backoff := 50 * time.Millisecond
	for attempt := 0; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err := m.q.AppendBatch(actx, b, meta, opts)
		cancel()
		if err == nil {
			return nil
		}
		var pe *client.PreconditionError
		var re *client.RejectedError
		switch {
		case errors.As(err, &pe), errors.As(err, &re):
			return err
		case ctx.Err() != nil:
			return ctx.Err()
		}
		m.mu.Lock()
		m.stats.Retries++
		m.mu.Unlock()
		if attempt%20 == 0 {
			m.log.Warn("mirror: quorum append failed; retrying (idempotent)", "records", len(recs), "attempt", attempt+1, "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		if backoff < time.Second {
			backoff *= 2
		}
	}
}

// preconditionFailed says why a batch's precondition failed: another
// mirror took over, or the migration moved on.
func (m *Mirror) preconditionFailed(ctx context.Context, err error) error {
	mv, merr := m.q.Meta(ctx)
	if merr == nil && mv.Meta[MetaOwner] != m.owner {
		return fmt.Errorf("mirror: %w (owner %s)", ErrTakenOver, mv.Meta[MetaOwner])
	}
	return fmt.Errorf("mirror: append precondition failed: %w", err)
}

// recoverFromReject reloads the quorum's image after it rejected a batch
// (the view and the quorum disagree) and recomputes every object.
func (m *Mirror) recoverFromReject(ctx context.Context, rej *client.RejectedError) error {
	m.mu.Lock()
	m.rejects++
	m.rejectGen++
	m.stats.Rejected++
	n := m.rejects
	m.mu.Unlock()
	m.log.Error("mirror: the quorum rejected a batch; reloading its image and recomputing", "err", rej, "attempt", n)
	if n > 3 {
		return fmt.Errorf("mirror: the quorum keeps rejecting batches: %w", rej)
	}
	im, _, err := m.q.Image(ctx)
	if err != nil {
		return fmt.Errorf("mirror: reload the quorum image: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.view = newView(im)
	m.deltas.v = m.view
	seq := m.evSeq
	for _, k := range m.view.objects() {
		m.markDirty(k, seq, 0, false, time.Time{})
	}
	for _, k := range m.modelObjectsLocked() {
		m.markDirty(k, seq, 0, false, time.Time{})
	}
	return nil
}

func (m *Mirror) modelObjectsLocked() []objKey {
	md := m.model
	var out []objKey
	for t := range md.topics {
		out = append(out, objKey{kind: kindTopic, name: t})
	}
	for b := range md.brokerCfg {
		out = append(out, objKey{kind: kindBrokerConfig, name: b})
	}
	for q := range md.quotas {
		out = append(out, objKey{kind: kindQuota, name: q})
	}
	for a := range md.acls {
		out = append(out, objKey{kind: kindACL, name: a})
	}
	for t := range md.tokens {
		out = append(out, objKey{kind: kindToken, name: t})
	}
	return append(out, objKey{kind: kindProducerID})
}

// --- position heartbeat -----------------------------------------------------

// heartbeat moves the position to ZooKeeper's newest zxid: it asks the
// session's server for its last zxid (srvr), then syncs on the session; once
// the sync answers, every watch event up to that zxid has been received.
// The first sync after a reconnect also re-enables position candidates.
func (m *Mirror) heartbeat(ctx context.Context) {
	t := time.NewTicker(m.opts.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		m.mu.Lock()
		conn, connGen, since := m.conn, m.connGen, m.connectedAt
		m.mu.Unlock()
		if conn == nil || conn.State() != zk.StateHasSession || time.Since(since) < 50*time.Millisecond {
			continue
		}
		z, zerr := serverZxid(conn.Server(), m.dial)
		if _, err := conn.Sync("/"); err != nil {
			continue
		}
		m.mu.Lock()
		if connGen == m.connGen {
			m.barrierOK = true
			if zerr == nil && z > 0 {
				m.addCandidate(z)
			}
		}
		m.mu.Unlock()
		m.signalWriter()
	}
}

// serverZxid asks a ZooKeeper server for its last processed zxid (the
// "srvr" four-letter word, enabled by default; on a secure client port it
// is asked over TLS). dial nil dials plain TCP.
func serverZxid(addr string, dial zk.Dialer) (int64, error) {
	if dial == nil {
		dial = net.DialTimeout
	}
	c, err := dial("tcp", addr, time.Second)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.WriteString(c, "srvr"); err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(c)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "Zxid: "); ok {
			return zkreader.ParseZxid(strings.TrimSpace(v))
		}
	}
	return 0, fmt.Errorf("srvr on %s: no Zxid line", addr)
}

// WaitPosition waits until the committed position is at least zxid and no
// change is pending, or ctx ends.
func (m *Mirror) WaitPosition(ctx context.Context, zxid int64) error {
	return m.waitUntil(ctx, formatZxid(zxid), func() bool {
		return m.committed >= zxid && m.backlogLocked() == 0 && !m.walking && m.started
	})
}

// WaitCaughtUp waits until the mirror has read the whole tree with watches
// and committed everything it had read or been told of by the time the read
// ended, and its position is at least zxid; or ctx ends. Unlike
// WaitPosition it does not wait for an empty backlog: while the cluster keeps
// writing (and every read takes a round trip) there is always a change or
// two pending, newer than the ones it waits for. A new session (a new walk)
// starts the wait over.
func (m *Mirror) WaitCaughtUp(ctx context.Context, zxid int64) error {
	gen, evAtWalkEnd, batchesCut := -1, uint64(0), uint64(0)
	const notCut = ^uint64(0)
	return m.waitUntil(ctx, formatZxid(zxid)+" and what the tree read found", func() bool {
		switch {
		case !m.started || m.walking:
			gen = -1
		case gen != m.gen:
			// The walk just ended: everything seen up to now must be committed.
			gen, evAtWalkEnd, batchesCut = m.gen, m.evSeq, notCut
		case batchesCut == notCut:
			if s, pending := m.seqs.min(); !pending || s > evAtWalkEnd {
				batchesCut = m.nextSeq // all of it is in these batches
			}
		default:
			return m.seq >= batchesCut && m.committed >= zxid
		}
		return false
	})
}

// waitUntil calls done (with m.mu held) every 10 ms until it reports true,
// or ctx ends; the error then says where the mirror is and what it waited
// for.
func (m *Mirror) waitUntil(ctx context.Context, what string, done func() bool) error {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		m.mu.Lock()
		ok := done()
		m.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			s := m.Stats()
			return fmt.Errorf("mirror: position %s, backlog %d, walking %v, waiting for %s: %w", formatZxid(s.Position), s.Backlog, s.Walking, what, ctx.Err())
		case <-t.C:
		}
	}
}

type zkLogger struct{ l *slog.Logger }

func (z zkLogger) Printf(format string, args ...any) {
	z.l.Debug("zookeeper client: " + fmt.Sprintf(format, args...))
}

// Running is a mirror running in the background (see Start).
type Running struct {
	m      *Mirror
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

// Start creates a mirror and runs it in the background until Close or ctx
// ends. It returns once the mirror has loaded the quorum and started
// reading ZooKeeper, or with the error that stopped it before.
func Start(ctx context.Context, opts Options) (*Running, error) {
	m, err := New(opts)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	r := &Running{m: m, cancel: cancel, done: make(chan struct{})}
	go func() {
		r.err = m.Run(ctx)
		close(r.done)
	}()
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		m.mu.Lock()
		started := m.started
		m.mu.Unlock()
		if started {
			return r, nil
		}
		select {
		case <-r.done:
			cancel()
			if r.err == nil {
				r.err = ctx.Err()
			}
			return nil, r.err
		case <-t.C:
		}
	}
}

// Mirror returns the running mirror (Stats, WaitPosition).
func (r *Running) Mirror() *Mirror { return r.m }

// Done is closed when the mirror has stopped; Err then says why.
func (r *Running) Done() <-chan struct{} { return r.done }

// Err is the error the mirror stopped with (nil while running or after Close).
func (r *Running) Err() error {
	select {
	case <-r.done:
		return r.err
	default:
		return nil
	}
}

// Close stops the mirror and returns the error it stopped with, if any.
func (r *Running) Close() error {
	r.cancel()
	<-r.done
	return r.err
}
