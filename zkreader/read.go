package zkreader

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/zk2kraft/zk2kraft/kafka"
	"github.com/zk2kraft/zk2kraft/progress"
)

// Mode selects how znodes are read.
type Mode string

const (
	ModeAuto      Mode = "auto"      // multiRead when the server supports it, else pipelined gets
	ModeMultiRead Mode = "multiread" // ZooKeeper 3.6+ multiRead only
	ModeGet       Mode = "get"       // pipelined single getData/getChildren2 requests
)

// Options of a bulk read.
type Options struct {
	// Connect is "host:port[,host:port...][/chroot]".
	Connect string
	// Chroot is the Kafka chroot (e.g. "/kafka"); it may also be given in Connect.
	Chroot string
	// Auth is digest credentials "user:password" (never logged).
	Auth string
	TLS  TLSOptions
	// RateLimit caps the read at this many znodes per second (0: no cap).
	RateLimit float64
	// MaxInFlight is the number of requests in flight per connection
	// (default 8 in multiRead mode, 128 in get mode).
	MaxInFlight int
	// BatchSize is the number of reads per multiRead request (default 500, 1–5000).
	BatchSize int
	// Connections is the number of connections (default 1 for multiRead, 3 for get).
	Connections    int
	Mode           Mode
	Progress       progress.Func
	Logger         *slog.Logger
	SessionTimeout time.Duration // requested session timeout (default 10s)

	authUser, authPass string
}

// ParseConnect splits "h1:p1,h2:p2/chroot" into servers and chroot.
func ParseConnect(connect string) (servers []string, chroot string, err error) {
	hosts := connect
	if i := strings.IndexByte(connect, '/'); i >= 0 {
		hosts, chroot = connect[:i], connect[i:]
	}
	for _, h := range strings.Split(hosts, ",") {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		if !strings.Contains(h, ":") {
			h += ":2181"
		}
		servers = append(servers, h)
	}
	if len(servers) == 0 {
		return nil, "", fmt.Errorf("connect string %q: want host:port[,host:port...][/chroot]", connect)
	}
	return servers, chroot, nil
}

func normalizeChroot(c string) (string, error) {
	c = strings.TrimRight(c, "/")
	if c == "" {
		return "", nil
	}
	if !strings.HasPrefix(c, "/") || strings.Contains(c, "//") {
		return "", fmt.Errorf("chroot %q: want an absolute znode path like /kafka", c)
	}
	return c, nil
}

func (o *Options) setDefaults() error {
	if o.Mode == "" {
		o.Mode = ModeAuto
	}
	switch o.Mode {
	case ModeAuto, ModeMultiRead, ModeGet:
	default:
		return fmt.Errorf("read mode %q: want auto, multiread or get", o.Mode)
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 500
	}
	if o.BatchSize > 5000 {
		return fmt.Errorf("batch size %d: at most 5000", o.BatchSize)
	}
	if o.SessionTimeout <= 0 {
		o.SessionTimeout = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.RateLimit < 0 {
		return fmt.Errorf("rate limit %v: must be >= 0", o.RateLimit)
	}
	if o.Auth != "" {
		u, p, ok := strings.Cut(o.Auth, ":")
		if !ok || u == "" {
			return errors.New("digest auth: want user:password")
		}
		o.authUser, o.authPass = u, p
	}
	return nil
}

// Read reads every znode Kafka keeps in ZooKeeper into a Snapshot. Malformed
// znodes become Findings; Read fails only when it cannot read (unreachable
// ensemble, auth failure, expired session, missing chroot, ctx cancelled).
func Read(ctx context.Context, opts Options) (*Snapshot, error) {
	o, servers, chroot, tlsCfg, err := prepare(opts)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	multi, err := probe(ctx, &o, servers, chroot, tlsCfg)
	if err != nil {
		return nil, err
	}
	mode := "get"
	if multi {
		mode = "multiread"
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = 128
		if multi {
			o.MaxInFlight = 8
		}
	}
	if o.Connections <= 0 {
		o.Connections = 3
		if multi {
			o.Connections = 1
		}
	}
	o.Logger.Info("reading zookeeper", "servers", servers, "chroot", chroot, "mode", mode,
		"batch", o.BatchSize, "in_flight", o.MaxInFlight, "connections", o.Connections, "rate_limit", o.RateLimit)

	tr := progress.NewTracker(o.Progress, "snapshot", "znodes", 0)
	tr.SetStep(mode)
	tr.SetLimit(o.RateLimit)
	e := newEngine(&o, servers, chroot, tlsCfg, multi, tr)
	b := newBuilder(e)
	source := "zk://" + strings.Join(servers, ",") + chroot
	b.snap.Source, b.snap.Chroot = source, chroot
	e.push(b.rootOps()...)
	if err := e.run(ctx, o.Connections); err != nil {
		return nil, fmt.Errorf("read %s: %w", source, err)
	}
	ev := tr.Finish()
	snap := b.finish()
	snap.TakenAt = start.UTC()
	snap.MaxZxid = e.maxZxid
	snap.ZnodesRead = e.doneOps
	o.Logger.Info("zookeeper read done", "znodes", e.doneOps, "seconds", ev.Elapsed.Seconds(), "rate", ev.Rate,
		"topics", len(snap.Topics), "findings", len(snap.Findings), "max_zxid", fmt.Sprintf("0x%x", snap.MaxZxid))
	return snap, nil
}

// prepare checks opts and resolves the servers, the chroot and the TLS config.
func prepare(opts Options) (o Options, servers []string, chroot string, tlsCfg *tls.Config, err error) {
	o = opts
	if err = o.setDefaults(); err != nil {
		return o, nil, "", nil, err
	}
	servers, connChroot, err := ParseConnect(o.Connect)
	if err != nil {
		return o, nil, "", nil, err
	}
	chroot = o.Chroot
	if connChroot != "" {
		if chroot != "" && strings.TrimRight(chroot, "/") != strings.TrimRight(connChroot, "/") {
			return o, nil, "", nil, fmt.Errorf("chroot %q differs from the connect string's %q", chroot, connChroot)
		}
		chroot = connChroot
	}
	if chroot, err = normalizeChroot(chroot); err != nil {
		return o, nil, "", nil, err
	}
	tlsCfg, err = o.TLS.Config()
	return o, servers, chroot, tlsCfg, err
}

// CheckConnect opens a session on the first server of opts.Connect that
// answers (with its TLS and digest auth), reads the chroot and closes the
// session. Other ZooKeeper clients (go-zookeeper's, the mirror's) retry a
// server that refuses them for ever; this names the refusal: an untrusted
// certificate, a missing client certificate, a wrong password, no chroot.
func CheckConnect(ctx context.Context, opts Options) error {
	o, servers, chroot, tlsCfg, err := prepare(opts)
	if err != nil {
		return err
	}
	o.Mode = ModeGet
	_, err = probe(ctx, &o, servers, chroot, tlsCfg)
	return err
}

// probe checks that the chroot exists and whether multiRead works, on the
// first server that answers.
func probe(ctx context.Context, o *Options, servers []string, chroot string, tlsCfg *tls.Config) (bool, error) {
	var lastErr error
	for _, addr := range servers {
		multi, err, retry := probeServer(ctx, o, addr, chroot, tlsCfg)
		if !retry {
			return multi, err
		}
		lastErr = err
		o.Logger.Warn("zookeeper server unusable, trying the next one", "server", addr, "err", err)
	}
	return false, fmt.Errorf("no ZooKeeper server of %v reachable: %w", servers, lastErr)
}

// probeServer probes one server; retry reports a connection problem that
// another server may not have.
func probeServer(ctx context.Context, o *Options, addr, chroot string, tlsCfg *tls.Config) (multi bool, err error, retry bool) {
	c, err := dialServer(ctx, addr, o, tlsCfg, &session{})
	if err != nil {
		return false, err, !errors.Is(err, ErrAuthFailed) && ctx.Err() == nil
	}
	defer c.close()
	root := chroot
	if root == "" {
		root = "/"
	}
	roundTrip := func(frame []byte) (replyHeader, *dec, error) {
		c.nc.SetDeadline(time.Now().Add(10 * time.Second))
		if err := c.send(frame, true); err != nil {
			return replyHeader{}, nil, err
		}
		for {
			f, err := c.readFrame()
			if err != nil {
				return replyHeader{}, nil, err
			}
			d := &dec{b: f}
			h := decodeReplyHeader(d)
			if d.err != nil {
				return h, nil, d.err
			}
			if h.xid == xidPing || h.xid == xidWatcher {
				continue
			}
			return h, d, nil
		}
	}
	h, _, err := roundTrip(pathRequest(1, opGetData, root))
	if err != nil {
		return false, fmt.Errorf("read %s on %s: %w", root, addr, err), true
	}
	switch h.err {
	case errOK:
	case errNoNode:
		return false, fmt.Errorf("chroot %s does not exist on %s (wrong --chroot?)", root, addr), false
	default:
		return false, fmt.Errorf("read %s on %s: %s", root, addr, zkErrName(h.err)), false
	}
	if o.Mode == ModeGet {
		return false, nil, false
	}
	h, d, err := roundTrip(multiReadRequest(2, []*op{{kind: kindData, path: "/"}}, chroot))
	ok := err == nil && h.err == errOK
	if ok {
		typ, done := d.i32(), d.boolean()
		ok = d.err == nil && !done && typ == opGetData
	}
	if !ok {
		if o.Mode == ModeMultiRead {
			return false, fmt.Errorf("%w on %s; use read mode auto or get", errUnsupported, addr), false
		}
		o.Logger.Info("multiRead not supported, falling back to pipelined gets", "server", addr)
		return false, nil, false
	}
	c.nc.SetDeadline(time.Now().Add(time.Second))
	c.send(requestHeader(3, opCloseSession), true)
	return true, nil, false
}

// builder assembles the Snapshot from replies (handlers run one at a time).
type builder struct {
	e         *engine
	snap      *Snapshot
	topics    []*Topic
	stateDone func(o *op, r *reply) // b.readState, bound once
	states    stateArena
	// batchStates reads a topic's partition states with kindStates ops
	// (ReadTree; a server reads them one op each, in multiRead batches)
	batchStates bool
	statesDone  func(o *op, r *reply) // b.readStates
}

func newBuilder(e *engine) *builder {
	b := &builder{e: e, snap: &Snapshot{}}
	b.stateDone, b.statesDone = b.readState, b.readStates
	return b
}

func (b *builder) find(f ...Finding) { b.snap.Findings = append(b.snap.Findings, f...) }

// readFailed turns an unexpected per-znode error into a finding.
func (b *builder) readFailed(r *reply) {
	b.find(Finding{Severity: Blocker, Code: CodeUnreadable, Path: r.path, Message: "ZooKeeper answered " + zkErrName(r.err),
		Remedy: "grant the reader's identity read access (--zk-auth) or fix the znode"})
}

// data builds a getData op whose handler gets the data of an existing znode;
// a vanished znode (NoNode) is skipped.
func (b *builder) data(path string, f func(r *reply)) *op {
	return &op{kind: kindData, path: path, done: func(_ *op, r *reply) {
		switch r.err {
		case errOK:
			f(r)
		case errNoNode:
		default:
			b.readFailed(r)
		}
	}}
}

// children builds a getChildren op; a missing parent has no children.
func (b *builder) children(path string, f func(names []string)) *op {
	return &op{kind: kindChildren, path: path, done: func(_ *op, r *reply) {
		switch r.err {
		case errOK:
			f(r.children)
		case errNoNode:
		default:
			b.readFailed(r)
		}
	}}
}

func join(parent, child string) string {
	if parent == "/" {
		return "/" + child
	}
	return parent + "/" + child
}

// eachChild lists parent and reads every child's data with f.
func (b *builder) eachChild(parent string, f func(r *reply)) *op {
	return b.children(parent, func(names []string) {
		ops := make([]*op, 0, len(names))
		for _, n := range names {
			ops = append(ops, b.data(join(parent, n), f))
		}
		b.e.add(ops...)
	})
}

func (b *builder) rootOps() []*op {
	s := b.snap
	return []*op{
		b.data("/cluster/id", func(r *reply) {
			v, f := ParseClusterID(r.path, r.data, r.stat)
			s.ClusterID = v
			b.find(f...)
		}),
		b.data("/controller", func(r *reply) {
			v, f := ParseController(r.path, r.data, r.stat)
			s.Controller = v
			b.find(f...)
		}),
		b.data("/controller_epoch", func(r *reply) {
			v, f := ParseControllerEpoch(r.path, r.data, r.stat)
			s.ControllerEpoch = v
			b.find(f...)
		}),
		b.data("/latest_producer_id_block", func(r *reply) {
			v, f := ParseProducerIDBlock(r.path, r.data, r.stat)
			s.ProducerIDBlock = v
			b.find(f...)
		}),
		b.data("/feature", func(r *reply) {
			v, f := ParseFeatures(r.path, r.data, r.stat)
			s.Features = v
			b.find(f...)
		}),
		b.data("/migration", func(r *reply) {
			v, f := ParseMigration(r.path, r.data, r.stat)
			s.Migration = v
			b.find(f...)
		}),
		b.data("/admin/reassign_partitions", func(r *reply) {
			s.LegacyReassignment = &RawZnode{Path: r.path, Data: append([]byte(nil), r.data...), Stat: r.stat}
		}),
		b.children("/admin/delete_topics", func(names []string) {
			s.PendingDeletions = append(s.PendingDeletions, names...)
		}),
		b.eachChild("/brokers/ids", func(r *reply) {
			if v, f := ParseBroker(r.path, r.data, r.stat); v != nil {
				s.Brokers = append(s.Brokers, *v)
			} else {
				b.find(f...)
			}
		}),
		b.children("/brokers/topics", func(names []string) {
			for _, n := range names {
				b.e.add(b.topicOps(n)...)
			}
		}),
		b.eachChild("/config/topics", func(r *reply) {
			if v, f := ParseEntityConfig(r.path, r.data, r.stat); v != nil {
				s.TopicConfigs = append(s.TopicConfigs, *v)
			} else {
				b.find(f...)
			}
		}),
		b.eachChild("/config/brokers", func(r *reply) {
			if v, f := ParseEntityConfig(r.path, r.data, r.stat); v != nil {
				s.BrokerConfigs = append(s.BrokerConfigs, *v)
			} else {
				b.find(f...)
			}
		}),
		b.children("/config/users", func(names []string) {
			for _, n := range names {
				p := "/config/users/" + n
				b.e.add(b.data(p, func(r *reply) {
					q, creds, f := ParseUserConfig(r.path, r.data, r.stat)
					b.find(f...)
					if q != nil && len(q.Values) > 0 {
						s.Quotas = append(s.Quotas, *q)
					}
					s.Scram = append(s.Scram, creds...)
				}), b.eachChild(p+"/clients", b.quota))
			}
		}),
		b.eachChild("/config/clients", b.quota),
		b.eachChild("/config/ips", b.quota),
		b.children("/kafka-acl", func(types []string) { b.aclTypes("/kafka-acl", types) }),
		b.children("/kafka-acl-extended/prefixed", func(types []string) { b.aclTypes("/kafka-acl-extended/prefixed", types) }),
		b.eachChild("/delegation_token/tokens", func(r *reply) {
			v, f := ParseDelegationToken(r.path, r.data, r.stat)
			if v != nil {
				s.DelegationTokens = append(s.DelegationTokens, *v)
			}
			b.find(f...)
		}),
	}
}

func (b *builder) quota(r *reply) {
	q, f := ParseQuotaConfig(r.path, r.data, r.stat)
	b.find(f...)
	if q != nil && len(q.Values) > 0 {
		b.snap.Quotas = append(b.snap.Quotas, *q)
	}
}

func (b *builder) aclTypes(parent string, types []string) {
	for _, t := range types {
		dir := parent + "/" + t
		if _, _, ok := kafka.LookupEnum(kafka.ResourceTypeCodes, t); !ok {
			b.find(Finding{Severity: Warning, Code: CodeUnknownACLType, Path: dir, Expected: strings.Join(kafka.ResourceTypeOrder, ", "),
				Message: fmt.Sprintf("unknown ACL resource type %q: Kafka skips its ACLs and so does the migration", t)})
			continue
		}
		b.e.add(b.eachChild(dir, func(r *reply) {
			if v, f := ParseACLs(r.path, r.data, r.stat); v != nil {
				b.snap.ACLs = append(b.snap.ACLs, *v)
			} else {
				b.find(f...)
			}
		}))
	}
}

// topicOps reads a topic znode and lists its partitions; once both are in,
// it reads the state of every listed partition.
func (b *builder) topicOps(name string) []*op {
	path := "/brokers/topics/" + name
	var t *Topic
	var listed []string
	got := 0
	next := func() {
		got++
		if got < 2 {
			return
		}
		b.partitionOps(path, t, listed)
	}
	return []*op{
		{kind: kindData, path: path, topic: true, done: func(_ *op, r *reply) {
			switch r.err {
			case errOK:
				var f []Finding
				var ok bool
				if t = r.topic; t == nil { // not parsed by ReadTree's reader
					if t, ok = fastTopicModel(r.path, r.data, r.stat); !ok {
						t, f = ParseTopic(r.path, r.data, r.stat)
					}
				}
				b.find(f...)
				if t != nil {
					b.topics = append(b.topics, t)
				}
			case errNoNode:
			default:
				b.readFailed(r)
			}
			next()
		}},
		{kind: kindChildren, path: path + "/partitions", done: func(_ *op, r *reply) {
			switch r.err {
			case errOK:
				listed = r.children
			case errNoNode:
			default:
				b.readFailed(r)
			}
			next()
		}},
	}
}

func (b *builder) partitionOps(topicPath string, t *Topic, listed []string) {
	if t == nil {
		return // malformed or vanished topic: its finding says so
	}
	// one allocation for all state paths of the topic and one for the ops
	var sb strings.Builder
	var ops []op
	var ends []int
	var batch []stateRead // batchStates: one kindStates op per chunk of partitions
	if b.batchStates {
		batch = make([]stateRead, 0, len(listed))
	} else {
		sb.Grow(len(listed) * (len(topicPath) + 20))
		ops = make([]op, 0, len(listed))
		ends = make([]int, 0, len(listed))
	}
	for _, n := range listed {
		var p int64
		var err error
		if id, ok := canonicalID(unsafe.Slice(unsafe.StringData(n), len(n))); ok {
			p = int64(id) // what ParseInt says, without its cost
		} else {
			p, err = strconv.ParseInt(n, 10, 32)
		}
		if err != nil || p < 0 {
			b.find(Finding{Severity: Warning, Code: CodeInvalidName, Path: topicPath + "/partitions/" + n, Expected: "partition number",
				Message: "partition znode name is not a partition number; Kafka ignores it", Remedy: "delete the stray znode"})
			continue
		}
		i := int(p) // partitions 0..n-1: partition p is at p
		if i >= len(t.Partitions) || t.Partitions[i].ID != int32(p) {
			i = sort.Search(len(t.Partitions), func(i int) bool { return t.Partitions[i].ID >= int32(p) })
		}
		if i == len(t.Partitions) || t.Partitions[i].ID != int32(p) {
			b.find(Finding{Severity: Warning, Code: CodeStrayPartition, Path: topicPath + "/partitions/" + n, Expected: "a partition of the topic's assignment",
				Message: fmt.Sprintf("partition %d has a partition znode but is not in the assignment of %s; the migration ignores it", p, t.Name),
				Remedy:  "delete the stray partition znode or fix the assignment"})
			continue
		}
		if b.batchStates {
			batch = append(batch, stateRead{name: n, part: &t.Partitions[i]})
			continue
		}
		sb.WriteString(topicPath)
		sb.WriteString("/partitions/")
		sb.WriteString(n)
		sb.WriteString("/state")
		ends = append(ends, sb.Len())
		ops = append(ops, op{kind: kindData, part: &t.Partitions[i], done: b.stateDone})
	}
	if b.batchStates {
		const chunk = 64
		dir := topicPath + "/partitions"
		for len(batch) > 0 {
			k := min(chunk, len(batch))
			b.e.add(&op{kind: kindStates, path: dir, states: batch[:k:k], done: b.statesDone})
			batch = batch[k:]
		}
		return
	}
	all, start := sb.String(), 0
	ptrs := make([]*op, len(ops))
	for k := range ops {
		ops[k].path = all[start:ends[k]]
		start = ends[k]
		ptrs[k] = &ops[k]
	}
	b.e.add(ptrs...)
}

// readState is the handler of every partition state read.
func (b *builder) readState(o *op, r *reply) {
	switch r.err {
	case errOK:
		if r.state != nil { // parsed by the reader (ReadTree)
			o.part.State = r.state
			return
		}
		if v, ok := fastStateModel(&b.states, r.data, r.stat); ok {
			o.part.State = v
			return
		}
		v, f := ParsePartitionState(r.path, r.data, r.stat)
		o.part.State = v
		b.find(f...)
	case errNoNode: // no state znode: State stays nil (pre-flight reports it)
	default:
		b.readFailed(r)
	}
}

// readStates is the handler of a kindStates op: what readState does for
// each of its partitions.
func (b *builder) readStates(o *op, r *reply) {
	if r.err != errOK {
		b.readFailed(r)
		return
	}
	for i, sr := range o.states {
		res := &r.states[i]
		switch {
		case !res.found: // no state znode: State stays nil
		case res.state != nil: // parsed by the reader
			sr.part.State = res.state
		default:
			if v, ok := fastStateModel(&b.states, res.data, res.stat); ok {
				sr.part.State = v
				continue
			}
			v, f := ParsePartitionState(o.path+"/"+sr.name+"/state", res.data, res.stat)
			sr.part.State = v
			b.find(f...)
		}
	}
}

// finish sorts everything so two reads of the same tree are deep-equal.
func (b *builder) finish() *Snapshot {
	s := b.snap
	s.Topics = make([]Topic, 0, len(b.topics))
	for _, t := range b.topics {
		s.Topics = append(s.Topics, *t)
	}
	SortSnapshot(s)
	return s
}

// SortSnapshot puts every list of s in its canonical order and turns nil
// lists into empty ones, so equal trees give deep-equal snapshots.
func SortSnapshot(s *Snapshot) {
	sort.Slice(s.Brokers, func(i, k int) bool { return s.Brokers[i].ID < s.Brokers[k].ID })
	sort.Slice(s.Topics, func(i, k int) bool { return s.Topics[i].Name < s.Topics[k].Name })
	sort.Strings(s.PendingDeletions)
	sort.Slice(s.TopicConfigs, func(i, k int) bool { return s.TopicConfigs[i].Name < s.TopicConfigs[k].Name })
	sort.Slice(s.BrokerConfigs, func(i, k int) bool { return s.BrokerConfigs[i].Name < s.BrokerConfigs[k].Name })
	sort.Slice(s.Quotas, func(i, k int) bool { return s.Quotas[i].Path < s.Quotas[k].Path })
	sort.Slice(s.Scram, func(i, k int) bool {
		if s.Scram[i].Path != s.Scram[k].Path {
			return s.Scram[i].Path < s.Scram[k].Path
		}
		return s.Scram[i].Mechanism < s.Scram[k].Mechanism
	})
	sort.Slice(s.ACLs, func(i, k int) bool { return s.ACLs[i].Path < s.ACLs[k].Path })
	sort.Slice(s.DelegationTokens, func(i, k int) bool { return s.DelegationTokens[i].TokenID < s.DelegationTokens[k].TokenID })
	SortFindings(s.Findings)
	if s.Brokers == nil {
		s.Brokers = []Broker{}
	}
	if s.Topics == nil {
		s.Topics = []Topic{}
	}
	if s.TopicConfigs == nil {
		s.TopicConfigs = []EntityConfig{}
	}
	if s.BrokerConfigs == nil {
		s.BrokerConfigs = []EntityConfig{}
	}
	if s.Quotas == nil {
		s.Quotas = []ClientQuota{}
	}
	if s.Scram == nil {
		s.Scram = []ScramCredential{}
	}
	if s.ACLs == nil {
		s.ACLs = []ACLResource{}
	}
	if s.Findings == nil {
		s.Findings = []Finding{}
	}
}

// SortFindings orders findings by path, code, field, message.
func SortFindings(f []Finding) {
	sort.SliceStable(f, func(i, k int) bool {
		a, b := f[i], f[k]
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		if a.Code != b.Code {
			return a.Code < b.Code
		}
		if a.Field != b.Field {
			return a.Field < b.Field
		}
		return a.Message < b.Message
	})
}
