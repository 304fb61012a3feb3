// Package batch encodes and decodes Kafka's RecordBatch v2 (magic 2), the
// unit of the KRaft metadata log and of .checkpoint snapshot files, exactly
// as Kafka's DefaultRecordBatch and the Raft BatchBuilder write it (spec §4.3):
//
//	baseOffset int64 | batchLength int32 | partitionLeaderEpoch int32 |
//	magic int8 = 2 | crc uint32 (CRC-32C of bytes [21, end)) |
//	attributes int16 (0 data, 0x20 control) | lastOffsetDelta int32 |
//	baseTimestamp int64 | maxTimestamp int64 | producerId int64 = -1 |
//	producerEpoch int16 = -1 | baseSequence int32 = -1 | recordCount int32 |
//	records (zig-zag varint encoded)
//
// Encode and Decode handle one batch; Builder packs framed metadata records
// into batches that never exceed a size; Scan walks a buffer of batches
// (a log segment, a checkpoint) and reports a torn tail; DataRecord,
// ControlRecord and DecodeRecords convert between batch records and
// records.Versioned.
//
// The checkpoint subpackage writes and reads .checkpoint files.
package batch

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

const (
	// HeaderSize is RECORD_BATCH_OVERHEAD: the bytes before the first record.
	HeaderSize = 61
	// LogOverhead is the baseOffset and batchLength fields (LOG_OVERHEAD).
	LogOverhead = 12
	// Magic is the only batch format this package reads and writes.
	Magic = 2
	// AttrControl is the control bit of the attributes.
	AttrControl = 0x20
	// AttrTransactional is the transactional bit of the attributes.
	AttrTransactional = 0x10
	// AttrCompressionMask selects the compression codec bits.
	AttrCompressionMask = 0x07

	crcOffset        = 17
	attributesOffset = 21
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Errors that Decode and Scan wrap, for errors.Is.
var (
	// ErrTruncated: the data ends inside a batch.
	ErrTruncated = errors.New("truncated batch")
	// ErrCorrupt: CRC mismatch, wrong magic, or a malformed header or record.
	ErrCorrupt = errors.New("corrupt batch")
)

// Record is one record of a batch. Key nil is written as length -1 (Kafka's
// null key, used by metadata data records).
type Record struct {
	Key   []byte
	Value []byte
	// TimestampDelta is relative to the batch's base timestamp (0 in KRaft).
	TimestampDelta int64
	// OffsetDelta is set by Decode; Encode writes each record's index.
	OffsetDelta int32
	Headers     []Header
}

// Header is a record header (KRaft writes none).
type Header struct {
	Key   string
	Value []byte
}

// Batch is a decoded or to-be-encoded RecordBatch v2.
type Batch struct {
	BaseOffset           int64
	PartitionLeaderEpoch int32
	// Control marks a control batch (attributes bit 5).
	Control bool
	// AppendTimeMs is the base and max timestamp written by Encode.
	AppendTimeMs int64
	Records      []Record

	// Read by Decode only; Encode writes no producer, no transaction, no
	// compression and max timestamp = AppendTimeMs, as KRaft does.
	Attributes      int16
	LastOffsetDelta int32
	MaxTimestamp    int64
	ProducerID      int64
	ProducerEpoch   int16
	BaseSequence    int32
	CRC             uint32
}

// LastOffset is the offset of the batch's last record.
func (b *Batch) LastOffset() int64 { return b.BaseOffset + int64(b.LastOffsetDelta) }

// Encode appends b as one RecordBatch v2 to dst. Records get offset deltas
// 0, 1, 2, ... in order.
func Encode(dst []byte, b Batch) []byte {
	start := len(dst)
	dst = appendHeader(dst, b.BaseOffset, b.PartitionLeaderEpoch, b.Control, b.AppendTimeMs)
	for i := range b.Records {
		dst = appendRecord(dst, &b.Records[i], int32(i))
	}
	finish(dst[start:], len(b.Records))
	return dst
}

// appendHeader appends a 61-byte header whose length, CRC, lastOffsetDelta
// and recordCount are filled in by finish.
func appendHeader(dst []byte, baseOffset int64, epoch int32, control bool, ts int64) []byte {
	var attrs uint16
	if control {
		attrs = AttrControl
	}
	dst = binary.BigEndian.AppendUint64(dst, uint64(baseOffset))
	dst = binary.BigEndian.AppendUint32(dst, 0) // batchLength
	dst = binary.BigEndian.AppendUint32(dst, uint32(epoch))
	dst = append(dst, Magic)
	dst = binary.BigEndian.AppendUint32(dst, 0) // crc
	dst = binary.BigEndian.AppendUint16(dst, attrs)
	dst = binary.BigEndian.AppendUint32(dst, 0) // lastOffsetDelta
	dst = binary.BigEndian.AppendUint64(dst, uint64(ts))
	dst = binary.BigEndian.AppendUint64(dst, uint64(ts))
	dst = binary.BigEndian.AppendUint64(dst, ^uint64(0)) // producerId -1
	dst = binary.BigEndian.AppendUint16(dst, ^uint16(0)) // producerEpoch -1
	dst = binary.BigEndian.AppendUint32(dst, ^uint32(0)) // baseSequence -1
	return binary.BigEndian.AppendUint32(dst, 0)         // recordCount
}

// finish fills in batchLength, lastOffsetDelta, recordCount and the CRC of
// the complete batch in b.
func finish(b []byte, count int) {
	binary.BigEndian.PutUint32(b[8:], uint32(len(b)-LogOverhead))
	binary.BigEndian.PutUint32(b[23:], uint32(count-1))
	binary.BigEndian.PutUint32(b[57:], uint32(count))
	binary.BigEndian.PutUint32(b[crcOffset:], crc32.Checksum(b[attributesOffset:], castagnoli))
}

func sizeVarint(x int64) int {
	ux := uint64(x<<1) ^ uint64(x>>63)
	n := 1
	for ux >= 0x80 {
		ux >>= 7
		n++
	}
	return n
}

func sizeBytesField(b []byte, isNull bool) int {
	if isNull {
		return sizeVarint(-1)
	}
	return sizeVarint(int64(len(b))) + len(b)
}

// recordBodySize is the size of a record after its length prefix.
func recordBodySize(r *Record, offsetDelta int32) int {
	n := 1 + sizeVarint(r.TimestampDelta) + sizeVarint(int64(offsetDelta)) +
		sizeBytesField(r.Key, r.Key == nil) + sizeBytesField(r.Value, r.Value == nil) +
		sizeVarint(int64(len(r.Headers)))
	for _, h := range r.Headers {
		n += sizeVarint(int64(len(h.Key))) + len(h.Key) + sizeBytesField(h.Value, h.Value == nil)
	}
	return n
}

// RecordSize is the encoded size of r (length prefix included) at an offset
// delta.
func RecordSize(r *Record, offsetDelta int32) int {
	body := recordBodySize(r, offsetDelta)
	return sizeVarint(int64(body)) + body
}

func appendBytesField(dst []byte, b []byte) []byte {
	if b == nil {
		return binary.AppendVarint(dst, -1)
	}
	dst = binary.AppendVarint(dst, int64(len(b)))
	return append(dst, b...)
}

func appendRecord(dst []byte, r *Record, offsetDelta int32) []byte {
	dst = binary.AppendVarint(dst, int64(recordBodySize(r, offsetDelta)))
	dst = append(dst, 0) // attributes
	dst = binary.AppendVarint(dst, r.TimestampDelta)
	dst = binary.AppendVarint(dst, int64(offsetDelta))
	dst = appendBytesField(dst, r.Key)
	dst = appendBytesField(dst, r.Value)
	dst = binary.AppendVarint(dst, int64(len(r.Headers)))
	for _, h := range r.Headers {
		dst = binary.AppendVarint(dst, int64(len(h.Key)))
		dst = append(dst, h.Key...)
		dst = appendBytesField(dst, h.Value)
	}
	return dst
}

// BatchSize returns the total size of the batch at the start of b (from its
// batchLength field), or an error if b is too short to hold the length or
// the length is impossible.
func BatchSize(b []byte) (int, error) {
	if len(b) < LogOverhead {
		return 0, fmt.Errorf("%w: %d byte(s), a batch needs at least %d to give its length", ErrTruncated, len(b), LogOverhead)
	}
	length := int32(binary.BigEndian.Uint32(b[8:]))
	if length < HeaderSize-LogOverhead {
		return 0, fmt.Errorf("%w: batchLength %d is less than the %d-byte batch header needs", ErrCorrupt, length, HeaderSize-LogOverhead)
	}
	return LogOverhead + int(length), nil
}

// Decode decodes the batch at the start of b and returns it with its size.
// Keys and values alias b. Errors wrap ErrTruncated or ErrCorrupt and say
// what is wrong, with byte positions relative to the start of b.
func Decode(b []byte) (Batch, int, error) {
	return DecodeReuse(b, nil)
}

// DecodeReuse is Decode, but the returned batch's Records use the backing
// array of recs when it is large enough (a caller decoding batch after batch
// keeps one slice). The records' keys, values and headers are overwritten.
func DecodeReuse(b []byte, recs []Record) (Batch, int, error) {
	size, err := BatchSize(b)
	if err != nil {
		return Batch{}, 0, err
	}
	if len(b) >= 17 && b[16] != Magic {
		return Batch{}, 0, fmt.Errorf("%w: magic %d at byte 16, want %d (only RecordBatch v2 is supported)", ErrCorrupt, int8(b[16]), Magic)
	}
	if len(b) < size {
		return Batch{}, 0, fmt.Errorf("%w: batchLength says %d byte(s), only %d present", ErrTruncated, size, len(b))
	}
	b = b[:size]
	var bt Batch
	bt.BaseOffset = int64(binary.BigEndian.Uint64(b[0:]))
	bt.PartitionLeaderEpoch = int32(binary.BigEndian.Uint32(b[12:]))
	bt.CRC = binary.BigEndian.Uint32(b[crcOffset:])
	if got := crc32.Checksum(b[attributesOffset:], castagnoli); got != bt.CRC {
		return Batch{}, 0, fmt.Errorf("%w: CRC-32C mismatch: stored %08x, computed %08x over bytes 21-%d", ErrCorrupt, bt.CRC, got, size)
	}
	bt.Attributes = int16(binary.BigEndian.Uint16(b[21:]))
	bt.Control = bt.Attributes&AttrControl != 0
	bt.LastOffsetDelta = int32(binary.BigEndian.Uint32(b[23:]))
	bt.AppendTimeMs = int64(binary.BigEndian.Uint64(b[27:]))
	bt.MaxTimestamp = int64(binary.BigEndian.Uint64(b[35:]))
	bt.ProducerID = int64(binary.BigEndian.Uint64(b[43:]))
	bt.ProducerEpoch = int16(binary.BigEndian.Uint16(b[51:]))
	bt.BaseSequence = int32(binary.BigEndian.Uint32(b[53:]))
	count := int32(binary.BigEndian.Uint32(b[57:]))
	if c := bt.Attributes & AttrCompressionMask; c != 0 {
		return Batch{}, 0, fmt.Errorf("%w: compression codec %d is not supported (KRaft writes uncompressed batches)", ErrCorrupt, c)
	}
	if count < 0 || int(count) > (size-HeaderSize)/7 {
		// Each record takes at least 7 bytes.
		return Batch{}, 0, fmt.Errorf("%w: recordCount %d impossible in %d byte(s) of records", ErrCorrupt, count, size-HeaderSize)
	}
	if int(count) <= cap(recs) {
		bt.Records = recs[:count]
		clear(bt.Records)
	} else {
		bt.Records = make([]Record, count)
	}
	pos := HeaderSize
	for i := range bt.Records {
		if pos >= size {
			return Batch{}, 0, fmt.Errorf("%w: recordCount %d but the batch's bytes end after %d record(s)", ErrCorrupt, count, i)
		}
		n, err := decodeRecord(b[pos:], &bt.Records[i])
		if err != nil {
			return Batch{}, 0, fmt.Errorf("%w: record %d at byte %d of the batch: %v", ErrCorrupt, i, pos, err)
		}
		pos += n
	}
	if pos != size {
		return Batch{}, 0, fmt.Errorf("%w: %d record(s) end at byte %d but batchLength ends the batch at byte %d", ErrCorrupt, count, pos, size)
	}
	if count > 0 && bt.Records[count-1].OffsetDelta != bt.LastOffsetDelta {
		return Batch{}, 0, fmt.Errorf("%w: lastOffsetDelta %d but the last record has offset delta %d", ErrCorrupt, bt.LastOffsetDelta, bt.Records[count-1].OffsetDelta)
	}
	return bt, size, nil
}

type recReader struct {
	b   []byte
	off int
	err error
}

func (r *recReader) varint(what string) int64 {
	return r.varintOf(what, "")
}

// varintOf reads a varint named what+suffix (concatenated only for an
// error: this runs twice per record).
func (r *recReader) varintOf(what, suffix string) int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b[r.off:])
	if n == 0 {
		r.err = fmt.Errorf("bad record length %d: %s%s runs past the record's end", len(r.b), what, suffix)
		return 0
	}
	if n < 0 {
		r.err = fmt.Errorf("malformed varint %s%s", what, suffix)
		return 0
	}
	r.off += n
	return v
}

func (r *recReader) bytes(what string, nullable bool) []byte {
	n := r.varintOf(what, " length")
	if r.err != nil {
		return nil
	}
	if n == -1 && nullable {
		return nil
	}
	if n < 0 || n > int64(len(r.b)-r.off) {
		r.err = fmt.Errorf("%s length %d but %d byte(s) left in the record", what, n, len(r.b)-r.off)
		return nil
	}
	v := r.b[r.off : r.off+int(n) : r.off+int(n)]
	r.off += int(n)
	return v
}

func decodeRecord(b []byte, rec *Record) (int, error) {
	length, n := binary.Varint(b)
	if n <= 0 {
		return 0, fmt.Errorf("malformed record length varint")
	}
	if length < 7-1 || length > int64(len(b)-n) {
		return 0, fmt.Errorf("bad record length %d (%d byte(s) left in the batch)", length, len(b)-n)
	}
	r := recReader{b: b[n : n+int(length)]}
	if r.b[0] != 0 {
		// Record attributes are unused; Kafka writes 0.
		return 0, fmt.Errorf("record attributes %d, want 0", r.b[0])
	}
	r.off = 1
	rec.TimestampDelta = r.varint("timestampDelta")
	od := r.varint("offsetDelta")
	if r.err == nil && (od < 0 || od > 1<<31-1) {
		r.err = fmt.Errorf("offsetDelta %d out of range", od)
	}
	rec.OffsetDelta = int32(od)
	rec.Key = r.bytes("key", true)
	rec.Value = r.bytes("value", true)
	hc := r.varint("header count")
	if r.err == nil && (hc < 0 || hc > int64(len(r.b)-r.off)) {
		r.err = fmt.Errorf("header count %d impossible", hc)
	}
	for i := int64(0); r.err == nil && i < hc; i++ {
		k := r.bytes("header key", false)
		v := r.bytes("header value", true)
		rec.Headers = append(rec.Headers, Header{Key: string(k), Value: v})
	}
	if r.err != nil {
		return 0, r.err
	}
	if r.off != len(r.b) {
		return 0, fmt.Errorf("bad record length %d: its fields use %d byte(s)", length, r.off)
	}
	return n + int(length), nil
}
