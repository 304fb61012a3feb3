package quorum

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"github.com/hashicorp/raft"
)

// AppendResult is what applying one entry produced. Error is set when the
// entry was not applied (a failed precondition or a rejected batch); the
// entry then assigned no offsets and changed nothing.
type AppendResult struct {
	Index      uint64 `json:"index"` // raft log index of the entry
	Term       uint64 `json:"term"`
	BaseOffset int64  `json:"base_offset"` // offset of the first record
	LastOffset int64  `json:"last_offset"` // offset of the last record (BaseOffset-1 when empty)
	Epoch      int32  `json:"epoch"`
	Records    int    `json:"records"`
	Duplicate  bool   `json:"duplicate,omitempty"` // the token was applied before; this is that result
	Error      string `json:"error,omitempty"`
	ErrorKind  string `json:"error_kind,omitempty"` // ErrorKindPrecondition or ErrorKindRejected
}

// Kinds of AppendResult errors.
const (
	ErrorKindPrecondition = "precondition" // ExpectedOffset or If did not hold
	ErrorKindRejected     = "rejected"     // malformed entry or a record contradicting the image
)

// FSMErrors is what the state machine reports about rejected entries.
type FSMErrors struct {
	Count     uint64 `json:"count"`
	LastError string `json:"last_error,omitempty"`
	LastIndex uint64 `json:"last_index,omitempty"`
}

// tokenWindow is how many recent tokens the state machine remembers.
const tokenWindow = 100_000

// defaultRetainBytes is how many bytes of recent batches a node keeps in
// memory to serve the record stream.
const defaultRetainBytes = 64 << 20

type retainedBatch struct {
	base, last int64
	epoch      int32
	data       []byte // the RecordBatch as appended (aliases the raft log entry; stamped when served)
}

// fsm is the raft.FSM: offsets, tokens, preconditions and Meta around a Machine.
type fsm struct {
	clusterID string
	log       *slog.Logger

	mu          sync.RWMutex
	machine     Machine
	pos         Position
	meta        map[string]string
	tokens      map[string]AppendResult
	tokenOrder  []string // FIFO of tokens, oldest first (ring with tokenHead)
	tokenHead   int
	errs        FSMErrors
	retained    []retainedBatch
	retainBytes int
	retainMax   int
	changed     chan struct{} // closed and replaced after every applied entry

	// rebuild returns a Machine holding the state after every entry before
	// index upTo (from the last snapshot and the log); used to undo a
	// partially applied batch.
	rebuild  func(upTo uint64) (Machine, error)
	diverged string // set when a rollback failed: this node's image is not trustworthy

	checkpointDir string // where each snapshot is also kept as a plain .checkpoint ("" = nowhere)
}

func newFSM(clusterID string, m Machine, log *slog.Logger) *fsm {
	return &fsm{
		clusterID: clusterID,
		log:       log,
		machine:   m,
		pos:       Position{LastOffset: -1},
		meta:      map[string]string{},
		tokens:    map[string]AppendResult{},
		retainMax: defaultRetainBytes,
		changed:   make(chan struct{}),
	}
}

// Apply implements raft.FSM.
func (f *fsm) Apply(l *raft.Log) interface{} {
	if l.Type != raft.LogCommand {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	res := f.applyLocked(l)
	f.pos.AppliedIndex, f.pos.AppliedTerm = l.Index, l.Term
	close(f.changed)
	f.changed = make(chan struct{})
	return res
}

func (f *fsm) applyLocked(l *raft.Log) AppendResult {
	res := AppendResult{Index: l.Index, Term: l.Term, BaseOffset: f.pos.NextOffset, LastOffset: f.pos.NextOffset - 1, Epoch: int32(l.Term)}
	e, err := DecodeEntry(l.Data)
	if err != nil {
		return f.reject(res, fmt.Errorf("entry at index %d: %w", l.Index, err))
	}
	if e.Token != "" {
		if prev, ok := f.tokens[e.Token]; ok {
			prev.Duplicate = true
			return prev
		}
		defer func() { f.remember(e.Token, res) }()
	}
	if e.ExpectedOffset >= 0 && e.ExpectedOffset != f.pos.NextOffset {
		res.Error = fmt.Sprintf("expected offset %d, but the next offset is %d", e.ExpectedOffset, f.pos.NextOffset)
		res.ErrorKind = ErrorKindPrecondition
		return res
	}
	if k, want, got, ok := f.unmetCondition(e.If); !ok {
		res.Error = fmt.Sprintf("meta %q is %q, expected %q", k, got, want)
		res.ErrorKind = ErrorKindPrecondition
		return res
	}
	n := 0
	if len(e.Batch) > 0 {
		n, err = f.machine.ApplyBatch(e.Batch, f.pos.NextOffset, int32(l.Term))
		if err != nil {
			var pe *PartialApplyError
			if errors.As(err, &pe) {
				f.rollback(l.Index)
			}
			res = f.reject(res, fmt.Errorf("entry at index %d (offsets from %d): %w", l.Index, f.pos.NextOffset, err))
			return res
		}
	}
	res.Records = n
	res.LastOffset = res.BaseOffset + int64(n) - 1
	if n > 0 {
		f.pos.LastOffset, f.pos.LastEpoch = res.LastOffset, res.Epoch
		f.pos.NextOffset += int64(n)
		if t := batchAppendTime(e.Batch); t > 0 {
			f.pos.LastAppendTime = t
		}
		f.retain(retainedBatch{base: res.BaseOffset, last: res.LastOffset, epoch: res.Epoch, data: e.Batch})
	}
	for k, v := range e.Meta {
		if v == "" {
			delete(f.meta, k)
		} else {
			f.meta[k] = v
		}
	}
	f.pos.AppliedEntries++
	return res
}

// rollback undoes a batch the machine applied in part, by rebuilding the
// machine's state as of the entry before index.
func (f *fsm) rollback(index uint64) {
	var err error
	if f.rebuild == nil {
		err = errors.New("no rebuild function")
	} else {
		var m Machine
		if m, err = f.rebuild(index); err == nil {
			f.machine = m
			return
		}
	}
	f.diverged = fmt.Sprintf("could not undo the partly applied entry at index %d: %v; restart this node (it recovers from its snapshot and log)", index, err)
	f.log.Error("quorum: " + f.diverged)
}

func (f *fsm) reject(res AppendResult, err error) AppendResult {
	f.errs.Count++
	f.errs.LastError = err.Error()
	f.errs.LastIndex = res.Index
	f.pos.RejectedEntries++
	f.log.Warn("quorum: entry rejected", "index", res.Index, "err", err)
	res.Error = err.Error()
	res.ErrorKind = ErrorKindRejected
	return res
}

func (f *fsm) unmetCondition(cond map[string]string) (key, want, got string, ok bool) {
	keys := make([]string, 0, len(cond))
	for k := range cond {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if f.meta[k] != cond[k] {
			return k, cond[k], f.meta[k], false
		}
	}
	return "", "", "", true
}

func (f *fsm) remember(token string, res AppendResult) {
	if len(f.tokenOrder) < tokenWindow {
		f.tokenOrder = append(f.tokenOrder, token)
	} else {
		delete(f.tokens, f.tokenOrder[f.tokenHead])
		f.tokenOrder[f.tokenHead] = token
		f.tokenHead = (f.tokenHead + 1) % tokenWindow
	}
	f.tokens[token] = res
}

func (f *fsm) retain(b retainedBatch) {
	f.retained = append(f.retained, b)
	f.retainBytes += len(b.data)
	drop := 0
	for f.retainBytes > f.retainMax && drop < len(f.retained)-1 {
		f.retainBytes -= len(f.retained[drop].data)
		drop++
	}
	if drop > 0 {
		f.retained = append([]retainedBatch(nil), f.retained[drop:]...)
	}
}

// sideState is everything the FSM holds besides the Machine's image. It
// travels in snapshots next to the Kafka checkpoint.
type sideState struct {
	ClusterID string            `json:"cluster_id"`
	Position  Position          `json:"position"`
	Meta      map[string]string `json:"meta"`
	Tokens    []tokenResult     `json:"tokens"` // oldest first
	Errors    FSMErrors         `json:"errors"`
}

type tokenResult struct {
	Token  string       `json:"token"`
	Result AppendResult `json:"result"`
}

func (f *fsm) sideLocked() sideState {
	s := sideState{ClusterID: f.clusterID, Position: f.pos, Meta: make(map[string]string, len(f.meta)), Errors: f.errs}
	for k, v := range f.meta {
		s.Meta[k] = v
	}
	n := len(f.tokenOrder)
	s.Tokens = make([]tokenResult, 0, n)
	for i := 0; i < n; i++ {
		t := f.tokenOrder[(f.tokenHead+i)%n]
		s.Tokens = append(s.Tokens, tokenResult{Token: t, Result: f.tokens[t]})
	}
	return s
}

// Snapshot implements raft.FSM.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	cp, err := f.machine.Capture()
	if err != nil {
		return nil, fmt.Errorf("capture image for snapshot: %w", err)
	}
	return &fsmSnapshot{side: f.sideLocked(), cp: cp, checkpointDir: f.checkpointDir, log: f.log}, nil
}

// snapshotMagic starts every snapshot this FSM writes. The layout is:
//
//	"ZKQSNAP1"  uint32 big-endian length  side state as JSON  Kafka .checkpoint bytes to the end
//
// so everything after the side state is a Kafka-readable checkpoint.
const snapshotMagic = "ZKQSNAP1"

type fsmSnapshot struct {
	side          sideState
	cp            Checkpoint
	checkpointDir string
	log           *slog.Logger
}

func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	var copyTo *checkpointCopy
	if s.checkpointDir != "" {
		copyTo = newCheckpointCopy(s.checkpointDir, CheckpointName(s.side.Position))
	}
	var extra io.Writer
	if copyTo != nil {
		extra = copyTo
	}
	if err := writeSnapshot(sink, s.side, s.cp, extra); err != nil {
		sink.Cancel()
		if copyTo != nil {
			copyTo.abort()
		}
		return err
	}
	if err := sink.Close(); err != nil {
		if copyTo != nil {
			copyTo.abort()
		}
		return err
	}
	if copyTo != nil {
		if err := copyTo.finish(); err != nil && s.log != nil {
			s.log.Warn("quorum: could not keep a copy of the snapshot as a Kafka checkpoint", "dir", s.checkpointDir, "err", err)
		}
	}
	return nil
}

// checkpointCopy keeps the latest snapshot's checkpoint as a plain Kafka
// .checkpoint file in <data dir>/__cluster_metadata-0/, best effort: a
// failure here never fails the raft snapshot.
type checkpointCopy struct {
	dir, name string
	f         *os.File
	bw        *bufio.Writer
	err       error
}

func newCheckpointCopy(dir, name string) *checkpointCopy {
	c := &checkpointCopy{dir: dir, name: name}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		c.err = err
		return c
	}
	c.f, c.err = os.Create(filepath.Join(dir, name+".part"))
	if c.err == nil {
		c.bw = bufio.NewWriterSize(c.f, 1<<20)
	}
	return c
}

func (c *checkpointCopy) Write(p []byte) (int, error) {
	if c.err == nil {
		_, c.err = c.bw.Write(p)
	}
	return len(p), nil
}

func (c *checkpointCopy) abort() {
	if c.f != nil {
		c.f.Close()
		os.Remove(c.f.Name())
	}
}

func (c *checkpointCopy) finish() error {
	if c.err != nil {
		c.abort()
		return c.err
	}
	if err := c.bw.Flush(); err != nil {
		c.abort()
		return err
	}
	if err := c.f.Sync(); err != nil {
		c.abort()
		return err
	}
	if err := c.f.Close(); err != nil {
		os.Remove(c.f.Name())
		return err
	}
	final := filepath.Join(c.dir, c.name)
	if err := os.Rename(c.f.Name(), final); err != nil {
		return err
	}
	old, _ := filepath.Glob(filepath.Join(c.dir, "*.checkpoint"))
	for _, o := range old {
		if o != final {
			os.Remove(o)
		}
	}
	return nil
}

func (s *fsmSnapshot) Release() {}

// writeSnapshot writes the snapshot to w; the checkpoint part also goes to
// extra when it is not nil.
func writeSnapshot(w io.Writer, side sideState, cp Checkpoint, extra io.Writer) error {
	js, err := json.Marshal(side)
	if err != nil {
		return fmt.Errorf("encode snapshot side state: %w", err)
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	bw.WriteString(snapshotMagic)
	var l [4]byte
	binary.BigEndian.PutUint32(l[:], uint32(len(js)))
	bw.Write(l[:])
	bw.Write(js)
	var cw io.Writer = bw
	if extra != nil {
		cw = io.MultiWriter(bw, extra)
	}
	if err := cp.WriteCheckpoint(cw, side.Position); err != nil {
		return fmt.Errorf("write snapshot checkpoint: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write snapshot: %w", err)
	}
	return nil
}

// readSnapshotSide reads the header and side state; r is then positioned at
// the checkpoint.
func readSnapshotSide(r io.Reader) (sideState, error) {
	var s sideState
	var hdr [12]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return s, fmt.Errorf("read snapshot header: %w", err)
	}
	if string(hdr[:8]) != snapshotMagic {
		return s, fmt.Errorf("snapshot header: want magic %q, got %q", snapshotMagic, hdr[:8])
	}
	n := binary.BigEndian.Uint32(hdr[8:])
	if n > 64<<20 {
		return s, fmt.Errorf("snapshot side state: length %d exceeds 64 MiB", n)
	}
	js := make([]byte, n)
	if _, err := io.ReadFull(r, js); err != nil {
		return s, fmt.Errorf("read snapshot side state: %w", err)
	}
	if err := json.Unmarshal(js, &s); err != nil {
		return s, fmt.Errorf("decode snapshot side state: %w", err)
	}
	return s, nil
}

// ErrClusterIDMismatch is returned when a snapshot, data dir or peer belongs
// to another cluster.
var ErrClusterIDMismatch = errors.New("cluster id mismatch")

// Restore implements raft.FSM.
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	br := bufio.NewReaderSize(rc, 1<<20)
	side, err := readSnapshotSide(br)
	if err != nil {
		return err
	}
	if side.ClusterID != f.clusterID {
		return fmt.Errorf("%w: snapshot belongs to cluster %q, this node to %q", ErrClusterIDMismatch, side.ClusterID, f.clusterID)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.machine.Restore(br); err != nil {
		return fmt.Errorf("restore image from snapshot: %w", err)
	}
	f.pos = side.Position
	f.meta = side.Meta
	if f.meta == nil {
		f.meta = map[string]string{}
	}
	f.errs = side.Errors
	f.tokens = make(map[string]AppendResult, len(side.Tokens))
	f.tokenOrder = f.tokenOrder[:0]
	f.tokenHead = 0
	for _, t := range side.Tokens {
		f.remember(t.Token, t.Result)
	}
	f.retained, f.retainBytes = nil, 0
	close(f.changed)
	f.changed = make(chan struct{})
	return nil
}

// view returns copies of the FSM's small state.
func (f *fsm) view() (Position, map[string]string, FSMErrors) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	m := make(map[string]string, len(f.meta))
	for k, v := range f.meta {
		m[k] = v
	}
	return f.pos, m, f.errs
}

// waitChan returns a channel closed after the next applied entry, and the
// position now.
func (f *fsm) waitChan() (<-chan struct{}, Position) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.changed, f.pos
}

// ErrOffsetTooOld means the requested records are no longer held in memory;
// read the image (a checkpoint) and stream from its end instead.
var ErrOffsetTooOld = errors.New("offset no longer retained")

// recordsFrom returns the stamped batches holding offsets >= from, up to
// about maxBytes (at least one batch), as chunks to write back to back (each
// batch is a stamped copy of its header, then the rest of it), and the next
// offset to ask for.
func (f *fsm) recordsFrom(from int64, maxBytes int) ([][]byte, int64, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if from >= f.pos.NextOffset {
		return nil, f.pos.NextOffset, nil
	}
	if len(f.retained) == 0 || from < f.retained[0].base {
		oldest := f.pos.NextOffset
		if len(f.retained) > 0 {
			oldest = f.retained[0].base
		}
		return nil, from, fmt.Errorf("%w: offset %d, oldest retained %d", ErrOffsetTooOld, from, oldest)
	}
	i := sort.Search(len(f.retained), func(i int) bool { return f.retained[i].last >= from })
	var out [][]byte
	size := 0
	next := from
	for ; i < len(f.retained); i++ {
		b := f.retained[i]
		if len(out) > 0 && size+len(b.data) > maxBytes {
			break
		}
		h := min(len(b.data), batchHeaderLen)
		out = append(out, stampBatch(b.data[:h], b.base, b.epoch), b.data[h:])
		size += len(b.data)
		next = b.last + 1
	}
	return out, next, nil
}
