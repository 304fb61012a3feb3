package zkreader

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/zk2kraft/zk2kraft/progress"
)

// opKind is what one queued read asks for.
type opKind uint8

const (
	kindData     opKind = iota // getData
	kindChildren               // getChildren (multiRead) / getChildren2 (single)
	// kindStates reads the state znodes of several partitions of a topic
	// (path is the topic's partitions znode); ReadTree only.
	kindStates
)

// op is one znode read with the handler that consumes its reply.
type op struct {
	kind opKind
	path string     // without chroot
	part *Partition // the partition whose state this reads (state ops only)
	// topic marks the read of a topic znode (its reply may carry the
	// topic parsed by ReadTree's reader)
	topic bool
	// states are the partitions a kindStates op reads the states of
	states []stateRead
	done   func(o *op, r *reply)
}

// stateRead is one partition of a kindStates op: <path>/<name>/state.
type stateRead struct {
	name string
	part *Partition
}

// reads is the number of znodes the op reads.
func (o *op) reads() int {
	if o.kind == kindStates {
		return len(o.states)
	}
	return 1
}

// stateReply is the read of one state znode of a kindStates op.
type stateReply struct {
	found bool
	data  []byte
	stat  Stat
	state *PartitionState // parsed by the reader, or nil
}

// reply is the result of one op. data and children are only valid during
// the handler call (they point into the reply frame).
type reply struct {
	path     string
	err      int32 // 0 or a ZooKeeper error code (e.g. NoNode)
	data     []byte
	children []string
	stat     Stat
	hasStat  bool
	// state and topic are the partition state or topic already parsed
	// from data by ReadTree's reader (nil: the handler parses data itself)
	state *PartitionState
	topic *Topic
	// states answers a kindStates op, one per o.states
	states []stateReply
}

// engine runs a queue of reads over one or more connections, in multiRead
// batches or as single pipelined requests, with a window of requests in
// flight per connection, a shared rate limit, and retry on another server
// when a connection dies.
type engine struct {
	o       *Options
	servers []string
	chroot  string
	tlsCfg  *tls.Config
	multi   bool
	batch   int
	window  int
	log     *slog.Logger
	tracker *progress.Tracker
	limiter *limiter

	mu      sync.Mutex
	cond    *sync.Cond
	queue   []*op // LIFO: depth-first keeps the queue short
	pending int   // queued + in flight
	// pendingReads are the znodes pending ops read (pending, with a
	// kindStates op counting each of its partitions)
	pendingReads int
	doneOps      int64
	fatal        error
	maxZxid      int64
	handleMu     sync.Mutex // serializes handlers (the builder is not concurrent)
	spawned      []*op      // ops added by handlers of the current reply
}

func newEngine(o *Options, servers []string, chroot string, tlsCfg *tls.Config, multi bool, tr *progress.Tracker) *engine {
	e := &engine{o: o, servers: servers, chroot: chroot, tlsCfg: tlsCfg, multi: multi, log: o.Logger, tracker: tr}
	e.cond = sync.NewCond(&e.mu)
	e.batch, e.window = 1, o.MaxInFlight
	if multi {
		e.batch = o.BatchSize
	}
	if o.RateLimit > 0 {
		e.limiter = &limiter{rate: o.RateLimit, start: time.Now()}
		if b := int(o.RateLimit / 20); b < e.batch {
			e.batch = max(1, b)
		}
	}
	return e
}

// add queues ops from a handler (called with handleMu held).
func (e *engine) add(ops ...*op) { e.spawned = append(e.spawned, ops...) }

// push queues ops from outside handlers.
func (e *engine) push(ops ...*op) {
	e.mu.Lock()
	e.queue = append(e.queue, ops...)
	e.pending += len(ops)
	for _, o := range ops {
		e.pendingReads += o.reads()
	}
	e.mu.Unlock()
	e.cond.Broadcast()
}

func (e *engine) setFatal(err error) {
	e.mu.Lock()
	if e.fatal == nil {
		e.fatal = err
	}
	e.mu.Unlock()
	e.cond.Broadcast()
}

// run reads until the queue drains or a fatal error.
func (e *engine) run(ctx context.Context, slots int) error {
	stop := context.AfterFunc(ctx, func() { e.setFatal(ctx.Err()) })
	defer stop()
	var wg sync.WaitGroup
	for i := 0; i < slots; i++ {
		wg.Add(1)
		go func(slot int) {
			defer wg.Done()
			if err := e.runSlot(ctx, slot); err != nil {
				e.setFatal(err)
			}
		}(i)
	}
	wg.Wait()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.fatal != nil {
		return e.fatal
	}
	if e.pending != 0 {
		return fmt.Errorf("internal: %d reads left unfinished", e.pending)
	}
	return nil
}

func (e *engine) progressCount() int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.doneOps
}

func (e *engine) finished() (bool, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.pending == 0, e.fatal
}

// runSlot keeps one session alive across connections until the work is done.
func (e *engine) runSlot(ctx context.Context, slot int) error {
	s := &session{}
	server := slot % len(e.servers)
	var downSince time.Time
	backoff := 50 * time.Millisecond
	stalls := 0
	for {
		if done, fatal := e.finished(); done || fatal != nil {
			return nil
		}
		c, err := dialServer(ctx, e.servers[server], e.o, e.tlsCfg, s)
		if err != nil {
			if errors.Is(err, ErrSessionExpired) || errors.Is(err, ErrAuthFailed) || ctx.Err() != nil {
				return err
			}
			if downSince.IsZero() {
				downSince = time.Now()
			}
			limit := e.o.SessionTimeout
			if s.timeout > 0 {
				limit = s.timeout
			}
			if time.Since(downSince) > limit+time.Second {
				return fmt.Errorf("no ZooKeeper server of %v reachable within the session timeout %v: %w", e.servers, limit, err)
			}
			e.log.Warn("zookeeper connect failed, trying the next server", "server", e.servers[server], "err", err)
			server = (server + 1) % len(e.servers)
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, time.Second)
			continue
		}
		downSince, backoff = time.Time{}, 50*time.Millisecond
		before := e.progressCount()
		err = e.serve(c, s)
		if err == nil {
			return nil
		}
		if done, fatal := e.finished(); done || fatal != nil {
			return nil
		}
		var pe *protocolError
		if errors.As(err, &pe) {
			return err
		}
		// a request that kills every connection it is sent on must not loop forever
		if e.progressCount() == before {
			stalls++
			if stalls > 2*len(e.servers)+2 {
				return fmt.Errorf("connections keep failing without any reply (%d times); last error: %w", stalls, err)
			}
		} else {
			stalls = 0
		}
		e.log.Warn("zookeeper connection lost, retrying on the next server", "server", c.addr, "err", err)
		server = (server + 1) % len(e.servers)
	}
}

// protocolError is a reply the reader cannot decode: not retried.
type protocolError struct{ err error }

func (p *protocolError) Error() string { return "ZooKeeper protocol: " + p.err.Error() }
func (p *protocolError) Unwrap() error { return p.err }

// serve drives one connection: a sender (this goroutine), a reader and a
// pinger. It returns nil when all work is done, else the connection error
// after putting its unanswered ops back on the queue.
func (e *engine) serve(c *serverConn, s *session) error {
	inflight := map[int32][]*op{}
	var connErr error
	var closing bool
	failConn := func(err error) {
		e.mu.Lock()
		if connErr == nil {
			connErr = err
		}
		e.mu.Unlock()
		e.cond.Broadcast()
		c.close()
	}
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		e.readLoop(c, s, inflight, &closing, failConn)
	}()
	pingStop := make(chan struct{})
	pingDone := make(chan struct{})
	period := s.timeout / 3
	go func() {
		defer close(pingDone)
		t := time.NewTicker(period / 2)
		defer t.Stop()
		for {
			select {
			case <-pingStop:
				return
			case <-t.C:
				if time.Since(time.Unix(0, c.lastWrite.Load())) >= period {
					if err := c.send(requestHeader(xidPing, opPing), true); err != nil {
						failConn(err)
						return
					}
				}
			}
		}
	}()
	defer func() {
		close(pingStop)
		<-pingDone
	}()

	xid := int32(0)
	for {
		e.mu.Lock()
		for connErr == nil && e.fatal == nil && e.pending > 0 && (len(e.queue) == 0 || len(inflight) >= e.window) {
			e.cond.Wait()
		}
		if connErr != nil || e.fatal != nil || e.pending == 0 {
			err := connErr
			if err == nil && e.fatal != nil {
				err = e.fatal
			}
			done := e.pending == 0 && e.fatal == nil
			closing = true
			e.mu.Unlock()
			if done {
				// say goodbye so the server frees the session at once
				c.nc.SetWriteDeadline(time.Now().Add(time.Second))
				if c.send(requestHeader(1<<30, opCloseSession), true) == nil {
					select {
					case <-readerDone:
					case <-time.After(time.Second):
					}
				}
			}
			c.close()
			<-readerDone
			if done {
				return nil
			}
			e.requeue(inflight)
			if err == nil {
				err = errors.New("stopped")
			}
			return err
		}
		n := min(e.batch, len(e.queue))
		ops := make([]*op, n)
		copy(ops, e.queue[len(e.queue)-n:])
		clear(e.queue[len(e.queue)-n:])
		e.queue = e.queue[:len(e.queue)-n]
		xid++
		if xid <= 0 {
			xid = 1
		}
		inflight[xid] = ops
		more := len(e.queue) > 0 && len(inflight) < e.window
		e.mu.Unlock()

		if e.limiter != nil {
			// spaced requests go out one by one: never leave one buffered
			// while sleeping for the next
			more = false
			e.limiter.wait(n, readerDone)
		}
		var frame []byte
		if e.multi {
			frame = multiReadRequest(xid, ops, e.chroot)
		} else {
			o := ops[0]
			opc := opGetData
			if o.kind == kindChildren {
				opc = opGetChildren2
			}
			frame = pathRequest(xid, opc, e.fullPath(o.path))
		}
		if err := c.send(frame, !more); err != nil {
			failConn(fmt.Errorf("write to %s: %w", c.addr, err))
		}
	}
}

func (e *engine) fullPath(p string) string {
	if e.chroot == "" {
		return p
	}
	if p == "/" {
		return e.chroot
	}
	return e.chroot + p
}

// requeue puts unanswered ops back for another connection.
func (e *engine) requeue(inflight map[int32][]*op) {
	e.mu.Lock()
	for x, ops := range inflight {
		e.queue = append(e.queue, ops...)
		delete(inflight, x)
	}
	e.mu.Unlock()
	e.cond.Broadcast()
}

func (e *engine) readLoop(c *serverConn, s *session, inflight map[int32][]*op, closing *bool, failConn func(error)) {
	replies := make([]reply, 0, e.batch)
	// one frame buffer for the connection: handlers copy what they keep
	var buf []byte
	for {
		f, err := c.readFrameInto(buf)
		if cap(f) <= 8<<20 {
			buf = f
		}
		if errors.Is(err, errFrameTooLarge) {
			e.setFatal(&protocolError{fmt.Errorf("%w from %s; lower the batch size (--zk-batch-size)", err, c.addr)})
			c.close()
			return
		}
		if err != nil {
			e.mu.Lock()
			cl := *closing
			e.mu.Unlock()
			if !cl {
				failConn(fmt.Errorf("read from %s: %w", c.addr, err))
			}
			return
		}
		d := dec{b: f}
		h := decodeReplyHeader(&d)
		if d.err != nil {
			failConn(fmt.Errorf("reply header from %s: %w", c.addr, d.err))
			return
		}
		if h.zxid > 0 {
			s.seen(h.zxid)
		}
		if h.xid == xidPing || h.xid == xidWatcher {
			continue
		}
		e.mu.Lock()
		ops, ok := inflight[h.xid]
		delete(inflight, h.xid)
		cl := *closing
		e.mu.Unlock()
		if !ok {
			if cl {
				return // closeSession reply
			}
			failConn(fmt.Errorf("reply from %s for unknown xid %d", c.addr, h.xid))
			return
		}
		if h.err == errSessionExpired {
			e.setFatal(fmt.Errorf("%w: session 0x%x on %s", ErrSessionExpired, s.id, c.addr))
			return
		}
		replies = replies[:0]
		if e.multi {
			if h.err != errOK {
				e.setFatal(&protocolError{fmt.Errorf("multiRead on %s failed: %s (a server older than 3.6 in the ensemble? read with mode get)", c.addr, zkErrName(h.err))})
				return
			}
			for _, o := range ops {
				r := reply{path: o.path}
				typ, done, herr := d.i32(), d.boolean(), d.i32()
				if d.err == nil && done {
					d.err = fmt.Errorf("multiRead reply ends after %d of %d results", len(replies), len(ops))
				}
				switch {
				case d.err != nil:
				case typ == opGetData:
					r.data = d.buffer()
					r.stat, r.hasStat = d.stat(), true
				case typ == opGetChildren:
					r.children = d.strings()
				case typ == -1:
					r.err = d.i32()
					if r.err == 0 {
						r.err = herr
					}
				default:
					d.err = fmt.Errorf("unexpected multiRead result type %d", typ)
				}
				replies = append(replies, r)
			}
		} else {
			o := ops[0]
			r := reply{path: o.path, err: h.err}
			if h.err == errOK {
				if o.kind == kindData {
					r.data = d.buffer()
				} else {
					r.children = d.strings()
				}
				r.stat, r.hasStat = d.stat(), true
			}
			replies = append(replies, r)
		}
		if d.err != nil {
			e.setFatal(&protocolError{fmt.Errorf("decode reply from %s: %w", c.addr, d.err)})
			return
		}
		e.handle(ops, replies, h.zxid)
	}
}

// handle runs the handlers of one reply and accounts for the ops.
func (e *engine) handle(ops []*op, replies []reply, zxid int64) {
	e.handleMu.Lock()
	maxZ := zxid
	for i := range replies {
		r := &replies[i]
		if r.hasStat {
			maxZ = max(maxZ, r.stat.Czxid, r.stat.Mzxid, r.stat.Pzxid)
		}
		ops[i].done(ops[i], r)
	}
	spawned := e.spawned
	e.spawned = nil
	e.handleMu.Unlock()

	reads, queued := 0, 0
	for _, o := range ops {
		reads += o.reads()
	}
	for _, o := range spawned {
		queued += o.reads()
	}
	e.mu.Lock()
	e.queue = append(e.queue, spawned...)
	e.pending += len(spawned) - len(ops)
	e.pendingReads += queued - reads
	e.doneOps += int64(reads)
	total := e.doneOps + int64(e.pendingReads)
	e.maxZxid = max(e.maxZxid, maxZ)
	e.mu.Unlock()
	e.cond.Broadcast()
	if e.tracker != nil {
		e.tracker.SetTotal(total)
		e.tracker.Add(int64(reads))
	}
}

// limiter spaces requests so the read holds to rate znodes/s.
type limiter struct {
	mu    sync.Mutex
	rate  float64
	start time.Time
	sent  float64
}

func (l *limiter) wait(n int, abort <-chan struct{}) error {
	l.mu.Lock()
	due := l.start.Add(time.Duration(l.sent / l.rate * float64(time.Second)))
	l.sent += float64(n)
	l.mu.Unlock()
	d := time.Until(due)
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-abort:
		return errors.New("connection closed")
	}
}
