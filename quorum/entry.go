package quorum

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
)

// Entry is one append request, and one raft log entry: a RecordBatch of
// framed metadata records plus the small metadata the state machine applies
// atomically with it. Its binary form (see EncodeEntry) is what the log
// stores and what the client API accepts as application/vnd.zk2kraft.entry.
type Entry struct {
	// Token makes the append idempotent: an entry whose token the state
	// machine has already applied (or rejected) is not applied again; the
	// first result is returned instead. Empty: no deduplication.
	Token string
	// ExpectedOffset, when >= 0, is a precondition: the batch is applied only
	// if its first record would get exactly this offset.
	ExpectedOffset int64
	// If is a precondition on Meta: every key must currently have the given
	// value ("" means the key must be absent).
	If map[string]string
	// Meta is merged into the quorum's metadata map atomically with the batch;
	// an empty value deletes the key.
	Meta map[string]string
	// Batch is a Kafka RecordBatch v2 of framed metadata records. Its base
	// offset and leader epoch are placeholders: the state machine assigns
	// them. May be empty (a metadata-only entry).
	Batch []byte
}

const entryMagic = "ZKQE"
const entryVersion = 1

// Limits on an entry's parts, so a hostile or broken client cannot make every
// node hold a huge map.
const (
	MaxTokenLen   = 256
	MaxMetaKeys   = 256
	MaxMetaKeyLen = 256
	MaxMetaValLen = 64 << 10
	MaxBatchBytes = 64 << 20
)

// EncodeEntry returns the binary form of e:
//
//	"ZKQE" version(1 byte)=1
//	uvarint len, token bytes
//	varint (zig-zag) expected offset (-1: none)
//	uvarint count, then count × (uvarint len, key, uvarint len, value)   // If
//	uvarint count, then count × (uvarint len, key, uvarint len, value)   // Meta
//	uvarint len, batch bytes
//
// Map keys are written sorted, so equal entries encode to equal bytes.
func EncodeEntry(e Entry) []byte {
	b := appendEntryHeader(make([]byte, 0, entryHeaderSize(e)+len(e.Batch)), e)
	return append(b, e.Batch...)
}

// EncodeEntryHeader returns EncodeEntry(e) without its last len(e.Batch)
// bytes (the batch itself): a client can send the header and then the batch
// without copying the batch into one buffer.
func EncodeEntryHeader(e Entry) []byte {
	return appendEntryHeader(make([]byte, 0, entryHeaderSize(e)), e)
}

func entryHeaderSize(e Entry) int {
	n := 5 + 10 + len(e.Token) + 10 + 20 + 10
	for k, v := range e.If {
		n += len(k) + len(v) + 20
	}
	for k, v := range e.Meta {
		n += len(k) + len(v) + 20
	}
	return n
}

func appendEntryHeader(b []byte, e Entry) []byte {
	b = append(b, entryMagic...)
	b = append(b, entryVersion)
	b = appendBytes(b, []byte(e.Token))
	b = binary.AppendVarint(b, e.ExpectedOffset)
	b = appendMap(b, e.If)
	b = appendMap(b, e.Meta)
	return binary.AppendUvarint(b, uint64(len(e.Batch)))
}

func appendBytes(b, v []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

func appendMap(b []byte, m map[string]string) []byte {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b = binary.AppendUvarint(b, uint64(len(keys)))
	for _, k := range keys {
		b = appendBytes(b, []byte(k))
		b = appendBytes(b, []byte(m[k]))
	}
	return b
}

// ErrBadEntry is wrapped by every DecodeEntry error.
var ErrBadEntry = errors.New("malformed entry")

// DecodeEntry parses the binary form written by EncodeEntry. The returned
// Batch aliases b.
func DecodeEntry(b []byte) (Entry, error) {
	var e Entry
	d := entryDecoder{b: b}
	if len(b) < 5 || string(b[:4]) != entryMagic {
		return e, fmt.Errorf("%w: missing %q magic", ErrBadEntry, entryMagic)
	}
	if b[4] != entryVersion {
		return e, fmt.Errorf("%w: version %d, want %d", ErrBadEntry, b[4], entryVersion)
	}
	d.off = 5
	tok := d.bytes("token", MaxTokenLen)
	e.Token = string(tok)
	e.ExpectedOffset = d.varint("expected offset")
	e.If = d.strMap("if")
	e.Meta = d.strMap("meta")
	e.Batch = d.bytes("batch", MaxBatchBytes)
	if d.err != nil {
		return Entry{}, d.err
	}
	if d.off != len(b) {
		return Entry{}, fmt.Errorf("%w: %d byte(s) of garbage after the batch", ErrBadEntry, len(b)-d.off)
	}
	if e.ExpectedOffset < -1 {
		return Entry{}, fmt.Errorf("%w: expected offset %d: want -1 (none) or >= 0", ErrBadEntry, e.ExpectedOffset)
	}
	if len(e.Batch) == 0 {
		e.Batch = nil
	}
	return e, nil
}

type entryDecoder struct {
	b   []byte
	off int
	err error
}

func (d *entryDecoder) fail(field, format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s at byte %d: %s", ErrBadEntry, field, d.off, fmt.Sprintf(format, args...))
	}
}

func (d *entryDecoder) uvarint(field string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.off:])
	if n <= 0 {
		d.fail(field, "bad or truncated unsigned varint")
		return 0
	}
	d.off += n
	return v
}

func (d *entryDecoder) varint(field string) int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b[d.off:])
	if n <= 0 {
		d.fail(field, "bad or truncated varint")
		return 0
	}
	d.off += n
	return v
}

func (d *entryDecoder) bytes(field string, max int) []byte {
	n := d.uvarint(field + " length")
	if d.err != nil {
		return nil
	}
	if n > uint64(max) {
		d.fail(field, "length %d exceeds the limit %d", n, max)
		return nil
	}
	if n > uint64(len(d.b)-d.off) {
		d.fail(field, "length %d but only %d byte(s) left", n, len(d.b)-d.off)
		return nil
	}
	v := d.b[d.off : d.off+int(n)]
	d.off += int(n)
	return v
}

func (d *entryDecoder) strMap(field string) map[string]string {
	n := d.uvarint(field + " count")
	if d.err != nil {
		return nil
	}
	if n > MaxMetaKeys {
		d.fail(field, "%d keys exceed the limit %d", n, MaxMetaKeys)
		return nil
	}
	if n == 0 {
		return nil
	}
	m := make(map[string]string, n)
	for i := uint64(0); i < n && d.err == nil; i++ {
		k := string(d.bytes(field+" key", MaxMetaKeyLen))
		v := string(d.bytes(field+" value", MaxMetaValLen))
		if d.err == nil {
			if _, dup := m[k]; dup {
				d.fail(field, "duplicate key %q", k)
			}
			m[k] = v
		}
	}
	return m
}
