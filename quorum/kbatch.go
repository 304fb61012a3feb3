package quorum

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/zk2kraft/zk2kraft/kafka"
	"github.com/zk2kraft/zk2kraft/translate/batch"
	"github.com/zk2kraft/zk2kraft/translate/batch/checkpoint"
	"github.com/zk2kraft/zk2kraft/translate/records"
)

// EncodeBatch returns one RecordBatch v2 (translate/batch) holding recs as
// framed metadata records. baseOffset and epoch are placeholders the quorum
// overwrites when it applies the batch.
func EncodeBatch(recs []records.Versioned, baseOffset int64, epoch int32, appendTimeMs int64) ([]byte, error) {
	if len(recs) == 0 {
		return nil, errors.New("record batch: no records")
	}
	b := batch.Batch{BaseOffset: baseOffset, PartitionLeaderEpoch: epoch, AppendTimeMs: appendTimeMs, Records: make([]batch.Record, len(recs))}
	size := batchHeaderLen
	for i, v := range recs {
		r, err := batch.DataRecord(v)
		if err != nil {
			return nil, fmt.Errorf("record batch: record %d (%s): %w", i, typeName(v), err)
		}
		b.Records[i] = r
		size += len(r.Value) + 8
	}
	return batch.Encode(make([]byte, 0, size), b), nil
}

func typeName(v records.Versioned) string {
	if v.Record == nil {
		return "nil"
	}
	return v.Record.TypeName()
}

// decodeDataBatch decodes exactly one data RecordBatch into its records.
func decodeDataBatch(b []byte) ([]records.Versioned, error) {
	var d recordDecoder
	return d.decode(b)
}

// recordDecoder decodes data batches for the state machine, reusing its
// slices from batch to batch: the records of one decode are valid until the
// next (the image copies what it keeps). PartitionRecords, nearly all the
// records of the copy phase, are decoded into one reused slab instead of
// one allocation each.
type recordDecoder struct {
	raw   []batch.Record
	recs  []records.Versioned
	parts []records.PartitionRecord
	used  int     // parts in use by the last decode
	fast  int     // of which decodePartitionFast decoded
	ints  []int32 // the slab's replica lists are cut from it
}

// partitionDefaults is a new PartitionRecord (the schema's defaults), copied
// into a slab entry before it is decoded into.
var partitionDefaults = *records.NewPartitionRecord()

// decode decodes exactly one data RecordBatch into its records.
func (d *recordDecoder) decode(b []byte) ([]records.Versioned, error) {
	d.release()
	bt, n, err := batch.DecodeReuse(b, d.raw[:cap(d.raw)])
	if err != nil {
		return nil, fmt.Errorf("record batch: %w", err)
	}
	d.raw = bt.Records
	if n != len(b) {
		return nil, fmt.Errorf("record batch: %d byte(s) after the batch (one entry holds one batch)", len(b)-n)
	}
	if bt.Control {
		return nil, errors.New("record batch: control batches are written by the quorum itself, not appended")
	}
	if cap(d.parts) < len(bt.Records) {
		d.parts = make([]records.PartitionRecord, len(bt.Records)) // pointers into it must stay put
	}
	d.parts = d.parts[:cap(d.parts)]
	if cap(d.recs) < len(bt.Records) {
		d.recs = make([]records.Versioned, 0, len(bt.Records))
	}
	out := d.recs[:0]
	// Every int32 of a replica list takes 4 bytes of the batch.
	if cap(d.ints) < len(b)/4 {
		d.ints = make([]int32, len(b)/4)
	}
	ints := d.ints[:cap(d.ints)]
	pkey, pmax := partitionDefaults.APIKey(), partitionDefaults.HighestVersion()
	for i := range bt.Records {
		r := &bt.Records[i]
		// Frame version 1, api key 3, version: three one-byte uvarints.
		if v := r.Value; len(v) >= 3 && v[0] == records.FrameVersion && int16(v[1]) == pkey && int16(v[2]) <= pmax {
			p := &d.parts[d.used]
			var ok bool
			if ints, ok = decodePartitionFast(v[3:], int16(v[2]), p, ints); ok {
				d.used++
				d.fast++
				out = append(out, records.Versioned{Record: p, Version: int16(v[2])})
				continue
			}
			*p = partitionDefaults
			if k, err := p.ReadFrom(v[3:], int16(v[2])); err == nil && k == len(v)-3 {
				d.used++
				out = append(out, records.Versioned{Record: p, Version: int16(v[2])})
				continue
			}
			*p = records.PartitionRecord{} // the general path reports the error
		}
		v, err := batch.DecodeRecord(&bt, *r)
		if err != nil {
			return nil, fmt.Errorf("record batch: record at offset %d: %w", bt.BaseOffset+int64(r.OffsetDelta), err)
		}
		out = append(out, v)
	}
	d.recs = out
	return out, nil
}

// decodePartitionFast decodes the PartitionRecord body of the copy phase
// (no tagged fields, no directories listed, fewer than 127 replicas per list)
// into p exactly as PartitionRecord.ReadFrom does, cutting the lists from
// ints; it returns the rest of ints, and false for any other body (then
// ReadFrom decodes it, or says what is wrong).
func decodePartitionFast(b []byte, version int16, p *records.PartitionRecord, ints []int32) ([]int32, bool) {
	if len(b) < 20 {
		return ints, false
	}
	*p = partitionDefaults
	p.PartitionId = int32(binary.BigEndian.Uint32(b))
	copy(p.TopicId[:], b[4:20])
	b = b[20:]
	all := ints
	for _, list := range [...]*[]int32{&p.Replicas, &p.Isr, &p.RemovingReplicas, &p.AddingReplicas} {
		// Compact array: uvarint length+1 (0 would be null, not allowed here).
		if len(b) == 0 || b[0] == 0 || b[0] >= 0x80 {
			return all, false
		}
		n := int(b[0]) - 1
		b = b[1:]
		if len(b) < 4*n || len(ints) < n {
			return all, false
		}
		a := ints[:n:n]
		for i := range a {
			a[i] = int32(binary.BigEndian.Uint32(b[4*i:]))
		}
		*list, ints, b = a, ints[n:], b[4*n:]
	}
	if len(b) < 12 {
		return all, false
	}
	p.Leader = int32(binary.BigEndian.Uint32(b))
	p.LeaderEpoch = int32(binary.BigEndian.Uint32(b[4:]))
	p.PartitionEpoch = int32(binary.BigEndian.Uint32(b[8:]))
	b = b[12:]
	if version >= 1 {
		if len(b) == 0 || b[0] != 1 { // only an empty directory list
			return all, false
		}
		p.Directories = make([]kafka.UUID, 0)
		b = b[1:]
	}
	if len(b) != 1 || b[0] != 0 { // no tagged fields, and nothing after
		return all, false
	}
	return ints, true
}

// release drops the references the last decode holds (to a log entry's
// bytes and to the records' slices), keeping the slices.
func (d *recordDecoder) release() {
	clear(d.raw)
	clear(d.recs[:cap(d.recs)])
	clear(d.parts[:d.used])
	d.used, d.fast = 0, 0
}

// WriteCheckpointRecords writes recs as a Kafka .checkpoint (translate/batch/
// checkpoint): header batch, data batches with the snapshot epoch, footer.
// The batches' append time is the last contained record's, so every node
// writes the same bytes for the same state.
func WriteCheckpointRecords(w io.Writer, recs []records.Versioned, epoch int32, lastTimestampMs int64) error {
	return checkpoint.Encode(context.Background(), w, epoch, recs, checkpoint.Options{
		AppendTimeMs:              lastTimestampMs,
		LastContainedLogTimestamp: lastTimestampMs,
	})
}

// ReadCheckpointRecords reads and checks a Kafka .checkpoint stream (header,
// epochs, offsets, footer) and calls fn for every data record in order.
func ReadCheckpointRecords(r io.Reader, fn func(records.Versioned) error) error {
	const name = "checkpoint"
	c := checkpoint.NewChecker(name, false)
	br := batch.NewReader(bufio.NewReaderSize(r, 1<<20), name)
	for {
		b, pos, err := br.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if err := c.Batch(pos, b); err != nil {
			return err
		}
		if b.Control {
			continue
		}
		recs, err := batch.DecodeRecords(b)
		if err != nil {
			return fmt.Errorf("checkpoint batch at byte %d: %w", pos, err)
		}
		for _, v := range recs {
			if err := fn(v); err != nil {
				return err
			}
		}
	}
	_, err := c.End(br.Tail)
	return err
}
