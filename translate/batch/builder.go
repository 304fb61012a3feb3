package batch

import (
	"fmt"

	"github.com/zk2kraft/zk2kraft/translate/records"
)

const (
	// DefaultMaxBatchBytes is KRaft's MAX_BATCH_SIZE_BYTES (8 MiB).
	DefaultMaxBatchBytes = 8 * 1024 * 1024
	// DefaultMaxRecords is the QuorumController's MAX_RECORDS_PER_BATCH.
	DefaultMaxRecords = 10000
)

// BuilderOptions configure a Builder. Zero values take the defaults.
type BuilderOptions struct {
	BaseOffset   int64 // offset of the first record
	LeaderEpoch  int32 // partitionLeaderEpoch of every batch
	AppendTimeMs int64 // base and max timestamp of every batch
	// MaxBatchBytes bounds each encoded batch, header included.
	MaxBatchBytes int
	// MaxRecords bounds the records of each batch.
	MaxRecords int
}

// Builder packs records into encoded batches, as Kafka's Raft BatchBuilder
// does: a data batch takes records until the next one would make it exceed
// MaxBatchBytes or MaxRecords; control records go to control batches of
// their own. Offsets run on from BaseOffset.
type Builder struct {
	opts    BuilderOptions
	out     []byte
	ends    []int // end of each closed batch in out
	open    int   // start of the open batch in out, or -1
	control bool  // the open batch is a control batch
	count   int   // records in the open batch
	next    int64 // offset of the next record
	scratch []byte
	nrec    int64
}

// NewBuilder returns a Builder.
func NewBuilder(o BuilderOptions) *Builder {
	if o.MaxBatchBytes <= 0 {
		o.MaxBatchBytes = DefaultMaxBatchBytes
	}
	if o.MaxRecords <= 0 {
		o.MaxRecords = DefaultMaxRecords
	}
	return &Builder{opts: o, open: -1, next: o.BaseOffset}
}

// NextOffset is the offset the next record will get.
func (b *Builder) NextOffset() int64 { return b.next }

// Records is the number of records added so far.
func (b *Builder) Records() int64 { return b.nrec }

// Append frames a metadata record and adds it to the open data batch.
func (b *Builder) Append(v records.Versioned) error {
	var err error
	b.scratch, err = records.AppendFrame(b.scratch[:0], v)
	if err != nil {
		return fmt.Errorf("record at offset %d: %w", b.next, err)
	}
	return b.add(Record{Value: b.scratch}, false)
}

// AppendAtomic adds records that must land in one data batch (Kafka's
// atomic append, as the controller uses for the records of one operation):
// the open batch is closed first unless all of them fit in it, and it fails
// if they do not fit in one batch on their own.
func (b *Builder) AppendAtomic(vs ...records.Versioned) error {
	framed := make([]Record, len(vs))
	var buf []byte
	for i, v := range vs {
		start := len(buf)
		var err error
		if buf, err = records.AppendFrame(buf, v); err != nil {
			return fmt.Errorf("record at offset %d: %w", b.next+int64(i), err)
		}
		framed[i].Value = buf[start:len(buf):len(buf)]
	}
	size := func(firstDelta int) int {
		n := 0
		for i := range framed {
			n += RecordSize(&framed[i], int32(firstDelta+i))
		}
		return n
	}
	if len(vs) > b.opts.MaxRecords || HeaderSize+size(0) > b.opts.MaxBatchBytes {
		return fmt.Errorf("records at offsets %d-%d: %d record(s) of %d bytes do not fit in one batch (limits %d records, %d bytes)",
			b.next, b.next+int64(len(vs))-1, len(vs), HeaderSize+size(0), b.opts.MaxRecords, b.opts.MaxBatchBytes)
	}
	if b.open >= 0 && (b.control || b.count+len(vs) > b.opts.MaxRecords || len(b.out)-b.open+size(b.count) > b.opts.MaxBatchBytes) {
		b.Flush()
	}
	for i := range framed {
		if err := b.add(framed[i], false); err != nil {
			return err
		}
	}
	return nil
}

// AppendRecord adds an already-encoded record (its OffsetDelta is ignored)
// to the open batch of the given kind.
func (b *Builder) AppendRecord(r Record, control bool) error { return b.add(r, control) }

// AppendControl closes the open batch and writes one control batch holding
// the given control records (for example SnapshotHeaderRecord followed by
// KRaftVersionRecord and VotersRecord).
func (b *Builder) AppendControl(recs ...records.Versioned) error {
	b.Flush()
	for _, v := range recs {
		r, err := ControlRecord(v)
		if err != nil {
			return fmt.Errorf("control record at offset %d: %w", b.next, err)
		}
		if err := b.add(r, true); err != nil {
			return err
		}
	}
	b.Flush()
	return nil
}

func (b *Builder) add(r Record, control bool) error {
	if b.open >= 0 && (b.control != control || b.count >= b.opts.MaxRecords ||
		len(b.out)-b.open+RecordSize(&r, int32(b.count)) > b.opts.MaxBatchBytes) {
		b.Flush()
	}
	if b.open < 0 {
		if size := HeaderSize + RecordSize(&r, 0); size > b.opts.MaxBatchBytes {
			return fmt.Errorf("record at offset %d: a batch holding it alone is %d bytes, over the %d-byte batch limit", b.next, size, b.opts.MaxBatchBytes)
		}
		b.open = len(b.out)
		b.control = control
		b.count = 0
		b.out = appendHeader(b.out, b.next, b.opts.LeaderEpoch, control, b.opts.AppendTimeMs)
	}
	b.out = appendRecord(b.out, &r, int32(b.count))
	b.count++
	b.next++
	b.nrec++
	return nil
}

// Flush closes the open batch, if any.
func (b *Builder) Flush() {
	if b.open < 0 {
		return
	}
	finish(b.out[b.open:], b.count)
	b.ends = append(b.ends, len(b.out))
	b.open = -1
}

// Take returns the batches closed so far, each one complete encoded batch,
// and forgets them; the open batch stays open. The slices stay valid.
func (b *Builder) Take() [][]byte {
	if len(b.ends) == 0 {
		return nil
	}
	closedEnd := b.ends[len(b.ends)-1]
	out := make([][]byte, len(b.ends))
	start := 0
	for i, e := range b.ends {
		out[i] = b.out[start:e:e]
		start = e
	}
	// Move the open batch (if any) to a fresh buffer; the taken bytes are
	// the caller's now.
	rest := b.out[closedEnd:]
	b.out = append(make([]byte, 0, max(2*len(rest), min(closedEnd, b.opts.MaxBatchBytes+HeaderSize), 64<<10)), rest...)
	if b.open >= 0 {
		b.open -= closedEnd
	}
	b.ends = b.ends[:0]
	return out
}
