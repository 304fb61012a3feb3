package zkreader

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"
	"unsafe"

	"github.com/zk2kraft/zk2kraft/progress"
)

// Tree is a ZooKeeper tree held in memory, e.g. one loaded from a server's
// data dir (package zkreader/datadir). Paths are full ZooKeeper paths (the
// chroot included); the root is "/". A path passed to Get or Children is
// valid only during the call (ReadTree reuses its memory). ReadTree calls
// them from one goroutine of its own, never concurrently, and the tree must
// not change while ReadTree runs.
type Tree interface {
	// Get returns the data and Stat (as a client's getData sees it) of the
	// znode at path; ok is false when it does not exist. data may be nil
	// (no data) and must stay valid until ReadTree returns.
	Get(path string) (data []byte, st Stat, ok bool)
	// Children returns the child names of path; ok is false when it does
	// not exist. The order does not matter.
	Children(path string) (names []string, ok bool)
}

// TreeOptions configure ReadTree.
type TreeOptions struct {
	Chroot   string // Kafka chroot, e.g. "/kafka" (the tree holds full paths)
	Source   string // recorded as Snapshot.Source, e.g. "datadir:/var/lib/zookeeper"
	Progress progress.Func
	Logger   *slog.Logger
}

// ReadTree builds a Snapshot from an in-memory tree with exactly the reads
// and parsers of Read (same builder, same findings), so an offline read of
// a data dir and an online read of the same tree are deep-equal (apart from
// Source, TakenAt and MaxZxid, which the caller sets).
func ReadTree(ctx context.Context, t Tree, to TreeOptions) (*Snapshot, error) {
	chroot, err := normalizeChroot(to.Chroot)
	if err != nil {
		return nil, err
	}
	o := &Options{Logger: to.Logger}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if chroot != "" {
		if _, _, ok := t.Get(chroot); !ok {
			return nil, fmt.Errorf("chroot %s does not exist in %s (wrong --chroot?)", chroot, to.Source)
		}
	}
	tr := progress.NewTracker(to.Progress, "snapshot", "znodes", 0)
	tr.SetStep("tree")
	start := time.Now()
	e := newEngine(o, nil, chroot, nil, false, tr)
	b := newBuilder(e)
	b.snap.Source, b.snap.Chroot = to.Source, chroot
	b.batchStates = true
	e.queue = b.rootOps()
	e.pending = len(e.queue)
	e.pendingReads = len(e.queue)
	// A resolver goroutine pops batches of reads and looks their znodes up
	// (map lookups, mostly cache misses) while this one runs the builder's
	// handlers on the previous batch.
	const batch, buffers = 256, 16
	type resolved struct {
		ops     []*op
		replies []reply
		states  []stateReply // the replies' states, reused
	}
	free := make(chan *resolved, buffers)
	for range buffers {
		free <- &resolved{ops: make([]*op, 0, batch), replies: make([]reply, 0, batch)}
	}
	full := make(chan *resolved, buffers)
	go func() {
		defer close(full)
		var key []byte // chroot + path, reused (no allocation per znode)
		var states stateArena
		for {
			rs := <-free
			e.mu.Lock()
			for len(e.queue) == 0 && e.pending > 0 && e.fatal == nil {
				e.cond.Wait()
			}
			if len(e.queue) == 0 || e.fatal != nil {
				e.mu.Unlock()
				return
			}
			// up to batch ops, and up to batch znodes (a kindStates op
			// reads up to 64)
			k, reads := 0, 0
			for k < min(batch, len(e.queue)) && reads < batch {
				reads += e.queue[len(e.queue)-1-k].reads()
				k++
			}
			rs.ops = append(rs.ops[:0], e.queue[len(e.queue)-k:]...)
			e.queue = e.queue[:len(e.queue)-k]
			e.mu.Unlock()
			// Parsing partition states and topics here moves work off the
			// builder's goroutine; it pays only while the builder has
			// batches waiting, else this goroutine is the bottleneck and
			// leaves the parsing to the handlers.
			parse := len(full) > 1
			rs.replies = rs.replies[:0]
			rs.states = rs.states[:0]
			for _, p := range rs.ops {
				r := reply{path: p.path, err: errNoNode}
				key = append(append(key[:0], chroot...), p.path...)
				if chroot != "" && p.path == "/" {
					key = key[:len(chroot)]
				}
				full := unsafe.String(unsafe.SliceData(key), len(key))
				switch p.kind {
				case kindData:
					if data, st, ok := t.Get(full); ok {
						r.err, r.data, r.stat, r.hasStat = errOK, data, st, true
						switch {
						case !parse:
						case p.part != nil:
							r.state, _ = fastStateModel(&states, data, st)
						case p.topic:
							r.topic, _ = fastTopicModel(p.path, data, st)
						}
					}
				case kindChildren:
					if names, ok := t.Children(full); ok {
						r.err, r.children = errOK, names
					}
				case kindStates:
					r.err = errOK
					start := len(rs.states)
					dir := len(key)
					for _, sr := range p.states {
						key = append(append(append(key[:dir], '/'), sr.name...), "/state"...)
						var res stateReply
						if data, st, ok := t.Get(unsafe.String(unsafe.SliceData(key), len(key))); ok {
							res = stateReply{found: true, data: data, stat: st}
							if parse {
								res.state, _ = fastStateModel(&states, data, st)
							}
						}
						rs.states = append(rs.states, res)
					}
					key = key[:dir]
					// (if rs.states grows later, this reply keeps the
					// old array, which holds the same values)
					r.states = rs.states[start:len(rs.states):len(rs.states)]
				}
				rs.replies = append(rs.replies, r)
			}
			full <- rs
		}
	}()
	err = nil
	for rs := range full {
		if err == nil {
			if err = ctx.Err(); err != nil {
				e.setFatal(err) // the resolver stops; drain what it sent
			} else {
				e.handle(rs.ops, rs.replies, 0)
			}
		}
		free <- rs
	}
	if err != nil {
		return nil, err
	}
	ev := tr.Finish()
	snap := b.finish()
	snap.TakenAt = start.UTC()
	snap.ZnodesRead = e.doneOps
	o.Logger.Info("tree read done", "source", to.Source, "znodes", e.doneOps, "seconds", ev.Elapsed.Seconds(),
		"topics", len(snap.Topics), "findings", len(snap.Findings))
	return snap, nil
}
