// Package checkpoint writes and reads KRaft snapshot files (.checkpoint) in
// Kafka's layout (spec §4.4, §4.5):
//
//   - batch at offset 0: a control batch with SnapshotHeaderRecord{Version 0,
//     LastContainedLogTimestamp} (then KRaftVersionRecord and VotersRecord
//     when given, as Kafka does for kraft.version ≥ 1);
//   - data batches of framed metadata records, offsets continuing from 1;
//   - a control batch with SnapshotFooterRecord{Version 0}.
//
// Every batch carries the snapshot epoch as partitionLeaderEpoch (0 for a
// bootstrap.checkpoint). A file for snapshot id (endOffset, epoch) is named
// FileName(id) = "%020d-%010d.checkpoint", endOffset being exclusive (last
// contained offset + 1); WriteFile and Write write "<name>.part" and rename
// it when complete.
//
//	w, _ := checkpoint.NewWriter(f, epoch, checkpoint.Options{AppendTimeMs: ts})
//	for _, v := range recs { w.Append(v) }
//	w.Close()
//
//	snap, err := checkpoint.Read(path) // snap.Header, snap.Records, snap.Footer
package checkpoint

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/zk2kraft/zk2kraft/translate/batch"
	"github.com/zk2kraft/zk2kraft/translate/records"
)

// SnapshotID is a Raft snapshot id: the exclusive end offset and its epoch.
type SnapshotID struct {
	EndOffset int64
	Epoch     int32
}

// Suffix, PartSuffix are Kafka's snapshot file suffixes.
const (
	Suffix     = ".checkpoint"
	PartSuffix = ".checkpoint.part"
)

// FileName is Kafka's Snapshots.filenameFromSnapshotId plus ".checkpoint".
func FileName(id SnapshotID) string {
	return fmt.Sprintf("%020d-%010d%s", id.EndOffset, id.Epoch, Suffix)
}

// ParseFileName parses a name made by FileName (directory part ignored).
func ParseFileName(name string) (SnapshotID, error) {
	base := filepath.Base(name)
	stem, ok := strings.CutSuffix(base, Suffix)
	off, ep, ok2 := strings.Cut(stem, "-")
	if !ok || !ok2 || len(off) != 20 || len(ep) != 10 {
		return SnapshotID{}, fmt.Errorf("%s: not a snapshot file name (want %%020d-%%010d.checkpoint)", base)
	}
	o, err1 := strconv.ParseInt(off, 10, 64)
	e, err2 := strconv.ParseInt(ep, 10, 32)
	if err1 != nil || err2 != nil || o < 0 || e < 0 {
		return SnapshotID{}, fmt.Errorf("%s: not a snapshot file name (bad offset or epoch)", base)
	}
	return SnapshotID{EndOffset: o, Epoch: int32(e)}, nil
}

// Options configure a Writer. The zero value writes Kafka's defaults.
type Options struct {
	// AppendTimeMs is the timestamp of every batch (Kafka uses the wall
	// clock; pass a fixed value for deterministic output).
	AppendTimeMs int64
	// LastContainedLogTimestamp goes into the SnapshotHeaderRecord.
	LastContainedLogTimestamp int64
	// MaxBatchBytes and MaxRecords bound each data batch (defaults: 8 MiB,
	// 10000 records).
	MaxBatchBytes int
	MaxRecords    int
	// KRaftVersion and Voters, when set, follow the header in its batch.
	KRaftVersion *records.KRaftVersionRecord
	Voters       *records.VotersRecord
}

// Writer streams a snapshot to an io.Writer.
type Writer struct {
	w      io.Writer
	b      *batch.Builder
	closed bool
	err    error
}

// NewWriter writes the header batch and returns a Writer for the data
// records.
func NewWriter(w io.Writer, epoch int32, o Options) (*Writer, error) {
	b := batch.NewBuilder(batch.BuilderOptions{
		LeaderEpoch: epoch, AppendTimeMs: o.AppendTimeMs,
		MaxBatchBytes: o.MaxBatchBytes, MaxRecords: o.MaxRecords,
	})
	hdr := []records.Versioned{{Record: &records.SnapshotHeaderRecord{Version: 0, LastContainedLogTimestamp: o.LastContainedLogTimestamp}, Version: 0}}
	if o.KRaftVersion != nil {
		hdr = append(hdr, records.Versioned{Record: o.KRaftVersion, Version: 0})
	}
	if o.Voters != nil {
		hdr = append(hdr, records.Versioned{Record: o.Voters, Version: 0})
	}
	if err := b.AppendControl(hdr...); err != nil {
		return nil, fmt.Errorf("snapshot header: %w", err)
	}
	cw := &Writer{w: w, b: b}
	return cw, cw.drain()
}

func (w *Writer) drain() error {
	for _, bt := range w.b.Take() {
		if _, err := w.w.Write(bt); err != nil {
			w.err = err
			return err
		}
	}
	return nil
}

// Append adds a metadata record.
func (w *Writer) Append(v records.Versioned) error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return errors.New("checkpoint writer: append after close")
	}
	if err := w.b.Append(v); err != nil {
		w.err = err
		return err
	}
	// Write out closed batches now and then, not per record.
	if w.b.Records()%1024 == 0 {
		return w.drain()
	}
	return nil
}

// Records is the number of records written so far, header and control
// records included.
func (w *Writer) Records() int64 { return w.b.Records() }

// Close writes the footer batch. It does not close the underlying writer.
func (w *Writer) Close() error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return nil
	}
	w.closed = true
	if err := w.b.AppendControl(records.Versioned{Record: &records.SnapshotFooterRecord{Version: 0}, Version: 0}); err != nil {
		return err
	}
	return w.drain()
}

// Encode writes a whole snapshot of recs to w.
func Encode(ctx context.Context, w io.Writer, epoch int32, recs []records.Versioned, o Options) error {
	cw, err := NewWriter(w, epoch, o)
	if err != nil {
		return err
	}
	for i, v := range recs {
		if i%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if err := cw.Append(v); err != nil {
			return err
		}
	}
	return cw.Close()
}

// WriteFile writes a snapshot of recs to path via path+".part", synced and
// renamed into place only when complete (any file name is allowed, e.g.
// bootstrap.checkpoint).
func WriteFile(ctx context.Context, path string, epoch int32, recs []records.Versioned, o Options) (err error) {
	part := path + ".part"
	if strings.HasSuffix(path, Suffix) {
		part = strings.TrimSuffix(path, Suffix) + PartSuffix
	}
	f, err := os.OpenFile(part, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("write snapshot: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(part)
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<20)
	if err := Encode(ctx, bw, epoch, recs, o); err != nil {
		return fmt.Errorf("write snapshot %s: %w", part, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write snapshot %s: %w", part, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync snapshot %s: %w", part, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close snapshot %s: %w", part, err)
	}
	if err := os.Rename(part, path); err != nil {
		return fmt.Errorf("rename snapshot into place: %w", err)
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// Write writes the snapshot id of recs into dir under Kafka's file name and
// returns its path.
func Write(ctx context.Context, dir string, id SnapshotID, recs []records.Versioned, o Options) (string, error) {
	path := filepath.Join(dir, FileName(id))
	return path, WriteFile(ctx, path, id.Epoch, recs, o)
}

// Snapshot is a decoded .checkpoint file.
type Snapshot struct {
	Header       records.SnapshotHeaderRecord
	KRaftVersion *records.KRaftVersionRecord
	Voters       *records.VotersRecord
	Records      []records.Versioned // the data records, in order
	Footer       records.SnapshotFooterRecord
	Epoch        int32 // partitionLeaderEpoch of its batches
	Batches      int
	AppendTimeMs int64 // timestamp of the header batch
}

// Read reads and checks a .checkpoint file, streaming it.
func Read(path string) (*Snapshot, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read snapshot: %w", err)
	}
	defer f.Close()
	c := NewChecker(path, true)
	r := batch.NewReader(bufio.NewReaderSize(f, 1<<20), path)
	for {
		b, pos, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if err := c.Batch(pos, b); err != nil {
			return nil, err
		}
	}
	return c.End(r.Tail)
}

// Decode decodes and checks a snapshot held in data; file names it in
// errors. It rejects, with the byte position: a corrupt or truncated batch,
// a missing or misplaced header or footer, a control record among the data,
// a batch whose epoch differs from the header's, and offsets that do not run
// on from 0.
func Decode(file string, data []byte) (*Snapshot, error) {
	c := NewChecker(file, true)
	tail, err := batch.Scan(file, data, c.Batch)
	if err != nil {
		return nil, err
	}
	return c.End(tail)
}

// Checker checks a snapshot's structure batch by batch, for callers that
// walk the batches themselves (Read and Decode use it).
type Checker struct {
	file       string
	keep       bool
	s          *Snapshot
	next       int64
	lastPos    int64
	footerSeen bool
}

// NewChecker returns a Checker; file names the snapshot in errors. With
// keepRecords the data records are collected into the Snapshot End returns.
func NewChecker(file string, keepRecords bool) *Checker {
	return &Checker{file: file, keep: keepRecords, s: &Snapshot{}}
}

// Batch checks the next batch, read at byte position pos.
func (c *Checker) Batch(pos int64, b *batch.Batch) error {
	s := c.s
	fail := func(format string, args ...any) error {
		return &batch.PositionError{File: c.file, Offset: pos, Err: fmt.Errorf(format, args...)}
	}
	c.lastPos = pos
	if c.footerSeen {
		return fail("batch after the snapshot footer")
	}
	if s.Batches == 0 {
		s.Epoch = b.PartitionLeaderEpoch
		s.AppendTimeMs = b.AppendTimeMs
	} else if b.PartitionLeaderEpoch != s.Epoch {
		return fail("partitionLeaderEpoch %d, but the snapshot's epoch is %d", b.PartitionLeaderEpoch, s.Epoch)
	}
	if b.BaseOffset != c.next {
		return fail("base offset %d, want %d (offsets must run on from 0)", b.BaseOffset, c.next)
	}
	if len(b.Records) == 0 {
		return fail("empty batch")
	}
	first := s.Batches == 0
	s.Batches++
	c.next = b.LastOffset() + 1
	recs, err := batch.DecodeRecords(b)
	if err != nil {
		return fail("%v", err)
	}
	if !b.Control {
		if first {
			return fail("the first batch must be a control batch with the snapshot header")
		}
		if c.keep {
			s.Records = append(s.Records, recs...)
		}
		return nil
	}
	for i, v := range recs {
		if first && i == 0 {
			if _, ok := v.Record.(*records.SnapshotHeaderRecord); !ok {
				return fail("the first record is %s, want SNAPSHOT_HEADER", v.Record.TypeName())
			}
		}
		switch r := v.Record.(type) {
		case *records.SnapshotHeaderRecord:
			if !first || i != 0 {
				return fail("snapshot header at offset %d is not the first record", b.BaseOffset+int64(i))
			}
			s.Header = *r
		case *records.KRaftVersionRecord:
			if !first {
				return fail("KRAFT_VERSION record outside the header batch")
			}
			s.KRaftVersion = r
		case *records.VotersRecord:
			if !first {
				return fail("KRAFT_VOTERS record outside the header batch")
			}
			s.Voters = r
		case *records.SnapshotFooterRecord:
			if i != len(recs)-1 || first {
				return fail("snapshot footer at offset %d is not the last record of its own batch", b.BaseOffset+int64(i))
			}
			s.Footer = *r
			c.footerSeen = true
		default:
			return fail("unexpected control record %s in a snapshot", v.Record.TypeName())
		}
	}
	return nil
}

// End checks the end of the snapshot (tail is what the batch reader
// reported) and returns it.
func (c *Checker) End(tail *batch.TornTail) (*Snapshot, error) {
	if tail != nil {
		return nil, &batch.PositionError{File: c.file, Offset: tail.Offset, Err: fmt.Errorf("%w: the file ends inside a batch (%d byte(s)): %s", batch.ErrTruncated, tail.Bytes, tail.Reason)}
	}
	if c.s.Batches == 0 {
		return nil, fmt.Errorf("%s: empty snapshot: no header batch", c.file)
	}
	if !c.footerSeen {
		return nil, fmt.Errorf("%s: %w: no snapshot footer after the batch at byte %d", c.file, batch.ErrTruncated, c.lastPos)
	}
	return c.s, nil
}
