package quorum

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/zk2kraft/zk2kraft/translate/records"
)

// RecordBatch v2 and .checkpoint codec (kafka-migration-spec §4.3, §4.4),
// as much as the quorum needs: data batches of framed metadata records and
// the control batches that open and close a snapshot.

const (
	attrControl            = 0x20
	controlTypeSnapHeader  = 3
	controlTypeSnapFooter  = 4
	checkpointBatchRecords = 2000
)

// EncodeBatch returns a RecordBatch v2 holding recs as framed metadata
// records. baseOffset and epoch are placeholders the quorum overwrites.
func EncodeBatch(recs []records.Versioned, baseOffset int64, epoch int32, appendTimeMs int64) ([]byte, error) {
	return encodeBatch(recs, baseOffset, epoch, appendTimeMs, false)
}

func encodeBatch(recs []records.Versioned, baseOffset int64, epoch int32, appendTimeMs int64, control bool) ([]byte, error) {
	if len(recs) == 0 {
		return nil, errors.New("record batch: no records")
	}
	b := make([]byte, batchHeaderLen, batchHeaderLen+len(recs)*64)
	binary.BigEndian.PutUint64(b[0:8], uint64(baseOffset))
	binary.BigEndian.PutUint32(b[12:16], uint32(epoch))
	b[batchMagicOffset] = 2
	if control {
		binary.BigEndian.PutUint16(b[21:23], attrControl)
	}
	binary.BigEndian.PutUint32(b[23:27], uint32(len(recs)-1))
	binary.BigEndian.PutUint64(b[27:35], uint64(appendTimeMs))
	binary.BigEndian.PutUint64(b[35:43], uint64(appendTimeMs))
	binary.BigEndian.PutUint64(b[43:51], ^uint64(0)) // producerId -1
	binary.BigEndian.PutUint16(b[51:53], 0xffff)     // producerEpoch -1
	binary.BigEndian.PutUint32(b[53:57], 0xffffffff) // baseSequence -1
	binary.BigEndian.PutUint32(b[57:61], uint32(len(recs)))
	var val []byte
	for i, v := range recs {
		var err error
		var key []byte
		if control {
			cr, ok := v.Record.(records.ControlRecord)
			if !ok {
				return nil, fmt.Errorf("record batch: record %d (%T) is not a control record", i, v.Record)
			}
			key = binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint16(nil, 0), uint16(cr.ControlType()))
			val, err = v.Record.AppendTo(val[:0], v.Version)
		} else {
			val, err = records.AppendFrame(val[:0], v)
		}
		if err != nil {
			return nil, fmt.Errorf("record batch: record %d: %w", i, err)
		}
		body := 1 + varintLen(0) + varintLen(int64(i)) + varintLen(int64(len(val))) + len(val) + 1
		if key == nil {
			body += varintLen(-1)
		} else {
			body += varintLen(int64(len(key))) + len(key)
		}
		b = binary.AppendVarint(b, int64(body))
		b = append(b, 0)                     // attributes
		b = binary.AppendVarint(b, 0)        // timestampDelta
		b = binary.AppendVarint(b, int64(i)) // offsetDelta
		if key == nil {
			b = binary.AppendVarint(b, -1)
		} else {
			b = binary.AppendVarint(b, int64(len(key)))
			b = append(b, key...)
		}
		b = binary.AppendVarint(b, int64(len(val)))
		b = append(b, val...)
		b = binary.AppendVarint(b, 0) // headers
	}
	binary.BigEndian.PutUint32(b[8:12], uint32(len(b)-12))
	binary.BigEndian.PutUint32(b[17:21], crc32.Checksum(b[21:], castagnoli))
	return b, nil
}

func varintLen(v int64) int {
	var buf [binary.MaxVarintLen64]byte
	return binary.PutVarint(buf[:], v)
}

// decodedBatch is one decoded RecordBatch.
type decodedBatch struct {
	baseOffset   int64
	epoch        int32
	control      bool
	appendTimeMs int64
	records      []records.Versioned
}

// DecodeBatch decodes exactly one RecordBatch v2 (data or control).
func DecodeBatch(b []byte) (decodedBatch, error) {
	var d decodedBatch
	if err := validateRecordBatch(b); err != nil {
		return d, fmt.Errorf("record batch: %w", err)
	}
	d.baseOffset = int64(binary.BigEndian.Uint64(b[0:8]))
	d.epoch = int32(binary.BigEndian.Uint32(b[12:16]))
	attrs := binary.BigEndian.Uint16(b[21:23])
	if attrs&0x07 != 0 {
		return d, fmt.Errorf("record batch at offset %d: compression %d is not supported (KRaft writes none)", d.baseOffset, attrs&7)
	}
	d.control = attrs&attrControl != 0
	d.appendTimeMs = int64(binary.BigEndian.Uint64(b[27:35]))
	n := int(int32(binary.BigEndian.Uint32(b[batchCountOffset:])))
	if n > (len(b)-batchHeaderLen)/7+1 {
		return d, fmt.Errorf("record batch at offset %d: recordCount %d is more than %d bytes can hold", d.baseOffset, n, len(b)-batchHeaderLen)
	}
	d.records = make([]records.Versioned, 0, n)
	off := batchHeaderLen
	for i := 0; i < n; i++ {
		l, k := binary.Varint(b[off:])
		if k <= 0 || l < 0 || int64(len(b)-off-k) < l {
			return d, fmt.Errorf("record batch at offset %d: record %d: bad length", d.baseOffset, i)
		}
		off += k
		rec := b[off : off+int(l)]
		off += int(l)
		key, val, err := splitRecord(rec)
		if err != nil {
			return d, fmt.Errorf("record batch at offset %d: record %d: %w", d.baseOffset, i, err)
		}
		var v records.Versioned
		if d.control {
			if len(key) != 4 {
				return d, fmt.Errorf("record batch at offset %d: control record %d: key of %d bytes, want 4", d.baseOffset, i, len(key))
			}
			r, err := records.NewControlRecord(int16(binary.BigEndian.Uint16(key[2:4])))
			if err != nil {
				return d, fmt.Errorf("record batch at offset %d: control record %d: %w", d.baseOffset, i, err)
			}
			used, err := r.ReadFrom(val, 0)
			if err != nil {
				return d, fmt.Errorf("record batch at offset %d: control record %d: %w", d.baseOffset, i, err)
			}
			if used != len(val) {
				return d, fmt.Errorf("record batch at offset %d: control record %d: %d byte(s) of garbage", d.baseOffset, i, len(val)-used)
			}
			v = records.Versioned{Record: r, Version: 0}
		} else {
			if v, err = records.DecodeFrame(val); err != nil {
				return d, fmt.Errorf("record batch at offset %d: record %d (offset %d): %w", d.baseOffset, i, d.baseOffset+int64(i), err)
			}
		}
		d.records = append(d.records, v)
	}
	if off != len(b) {
		return d, fmt.Errorf("record batch at offset %d: %d byte(s) after the last record", d.baseOffset, len(b)-off)
	}
	return d, nil
}

// splitRecord returns the key (nil when null) and value of one record body.
func splitRecord(r []byte) (key, val []byte, err error) {
	p := 1 // attributes
	if len(r) < 1 {
		return nil, nil, errors.New("empty record")
	}
	for _, name := range []string{"timestampDelta", "offsetDelta"} {
		_, k := binary.Varint(r[p:])
		if k <= 0 {
			return nil, nil, fmt.Errorf("bad %s", name)
		}
		p += k
	}
	field := func(name string) ([]byte, error) {
		l, k := binary.Varint(r[p:])
		if k <= 0 || l < -1 || int64(len(r)-p-k) < l {
			return nil, fmt.Errorf("bad %s", name)
		}
		p += k
		if l < 0 {
			return nil, nil
		}
		v := r[p : p+int(l)]
		p += int(l)
		return v, nil
	}
	if key, err = field("key"); err != nil {
		return nil, nil, err
	}
	if val, err = field("value"); err != nil {
		return nil, nil, err
	}
	if val == nil {
		return nil, nil, errors.New("null value")
	}
	h, k := binary.Varint(r[p:])
	if k <= 0 || h != 0 {
		return nil, nil, fmt.Errorf("headers: want 0")
	}
	p += k
	if p != len(r) {
		return nil, nil, fmt.Errorf("%d byte(s) of garbage", len(r)-p)
	}
	return key, val, nil
}

// WriteCheckpointRecords writes recs as a Kafka .checkpoint: a control batch
// with SnapshotHeaderRecord at offset 0, data batches from offset 1 (all with
// the snapshot epoch as leader epoch), and a control batch with
// SnapshotFooterRecord.
func WriteCheckpointRecords(w io.Writer, recs []records.Versioned, epoch int32, lastTimestampMs int64) error {
	off := int64(0)
	write := func(rs []records.Versioned, control bool) error {
		b, err := encodeBatch(rs, off, epoch, lastTimestampMs, control)
		if err != nil {
			return err
		}
		off += int64(len(rs))
		_, err = w.Write(b)
		return err
	}
	hdr := &records.SnapshotHeaderRecord{Version: 0, LastContainedLogTimestamp: lastTimestampMs}
	if err := write([]records.Versioned{{Record: hdr}}, true); err != nil {
		return fmt.Errorf("checkpoint header: %w", err)
	}
	for i := 0; i < len(recs); i += checkpointBatchRecords {
		j := min(i+checkpointBatchRecords, len(recs))
		if err := write(recs[i:j], false); err != nil {
			return fmt.Errorf("checkpoint records %d-%d: %w", i, j-1, err)
		}
	}
	if err := write([]records.Versioned{{Record: &records.SnapshotFooterRecord{Version: 0}}}, true); err != nil {
		return fmt.Errorf("checkpoint footer: %w", err)
	}
	return nil
}

// ReadCheckpointRecords reads a Kafka .checkpoint and calls fn for every data
// record in order. It checks the header and footer batches.
func ReadCheckpointRecords(r io.Reader, fn func(records.Versioned) error) error {
	br := bufio.NewReaderSize(r, 1<<20)
	var sawHeader, sawFooter bool
	for n := 0; ; n++ {
		var pre [12]byte
		if _, err := io.ReadFull(br, pre[:]); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return fmt.Errorf("checkpoint batch %d: %w", n, err)
		}
		l := int32(binary.BigEndian.Uint32(pre[8:12]))
		if l < batchHeaderLen-12 || l > MaxBatchBytes {
			return fmt.Errorf("checkpoint batch %d: batchLength %d out of range", n, l)
		}
		b := make([]byte, 12+int(l))
		copy(b, pre[:])
		if _, err := io.ReadFull(br, b[12:]); err != nil {
			return fmt.Errorf("checkpoint batch %d: truncated: %w", n, err)
		}
		d, err := DecodeBatch(b)
		if err != nil {
			return fmt.Errorf("checkpoint batch %d: %w", n, err)
		}
		if sawFooter {
			return fmt.Errorf("checkpoint batch %d: data after the snapshot footer", n)
		}
		if d.control {
			for _, v := range d.records {
				switch v.Record.(type) {
				case *records.SnapshotHeaderRecord:
					if n != 0 {
						return fmt.Errorf("checkpoint batch %d: snapshot header not first", n)
					}
					sawHeader = true
				case *records.SnapshotFooterRecord:
					sawFooter = true
				}
			}
			continue
		}
		if !sawHeader {
			return fmt.Errorf("checkpoint batch %d: data before the snapshot header", n)
		}
		for _, v := range d.records {
			if err := fn(v); err != nil {
				return err
			}
		}
	}
	if !sawHeader {
		return errors.New("checkpoint: no snapshot header")
	}
	if !sawFooter {
		return errors.New("checkpoint: no snapshot footer (truncated file?)")
	}
	return nil
}
