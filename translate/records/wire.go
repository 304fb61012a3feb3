package records

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"strings"

	"github.com/zk2kraft/zk2kraft/kafka"
)

// This file holds the hand-written primitives of Kafka's flexible message
// encoding (spec §4.2) that the generated code calls. Everything appends to a
// caller's buffer; nothing reflects.

// ErrUnsupportedVersion is wrapped by every error about a record version
// outside a type's validVersions, or a field value that the chosen version
// cannot carry.
var ErrUnsupportedVersion = errors.New("unsupported version")

// FieldError names the field (a dotted path, with array indexes) at which a
// decode failed.
type FieldError struct {
	Path string
	Err  error
}

func (e *FieldError) Error() string { return fmt.Sprintf("field %s: %v", e.Path, e.Err) }

func (e *FieldError) Unwrap() error { return e.Err }

var (
	errShort      = errors.New("unexpected end of data")
	errVarint     = errors.New("malformed unsigned varint")
	errNullNotOK  = errors.New("null value for a field that is not nullable in this version")
	errLengthHuge = errors.New("length exceeds the remaining bytes")
)

// sizeUvarint returns the encoded size of an unsigned varint.
func sizeUvarint(x uint64) int { return (bits.Len64(x|1) + 6) / 7 }

func appendUvarint(dst []byte, x uint64) []byte {
	for x >= 0x80 {
		dst = append(dst, byte(x)|0x80)
		x >>= 7
	}
	return append(dst, byte(x))
}

func appendBool(dst []byte, v bool) []byte {
	if v {
		return append(dst, 1)
	}
	return append(dst, 0)
}

func appendUint16(dst []byte, v uint16) []byte   { return binary.BigEndian.AppendUint16(dst, v) }
func appendUint32(dst []byte, v uint32) []byte   { return binary.BigEndian.AppendUint32(dst, v) }
func appendUint64(dst []byte, v uint64) []byte   { return binary.BigEndian.AppendUint64(dst, v) }
func appendUUID(dst []byte, u kafka.UUID) []byte { return append(dst, u[:]...) }

func appendCompactString(dst []byte, s string) []byte {
	dst = appendUvarint(dst, uint64(len(s))+1)
	return append(dst, s...)
}

func appendCompactNullableString(dst []byte, s *string) []byte {
	if s == nil {
		return append(dst, 0)
	}
	return appendCompactString(dst, *s)
}

func appendCompactBytes(dst []byte, b []byte, nullable bool) []byte {
	if b == nil && nullable {
		return append(dst, 0)
	}
	dst = appendUvarint(dst, uint64(len(b))+1)
	return append(dst, b...)
}

// appendArrayLen writes a compact array length; a nil slice is null only
// where the field is nullable, otherwise it is the empty array.
func appendArrayLen(dst []byte, n int, isNil, nullable bool) []byte {
	if isNil && nullable {
		return append(dst, 0)
	}
	return appendUvarint(dst, uint64(n)+1)
}

func appendInt32Array(dst []byte, a []int32, nullable bool) []byte {
	dst = appendArrayLen(dst, len(a), a == nil, nullable)
	for _, v := range a {
		dst = binary.BigEndian.AppendUint32(dst, uint32(v))
	}
	return dst
}

func appendStringArray(dst []byte, a []string, nullable bool) []byte {
	dst = appendArrayLen(dst, len(a), a == nil, nullable)
	for _, v := range a {
		dst = appendCompactString(dst, v)
	}
	return dst
}

func appendUUIDArray(dst []byte, a []kafka.UUID, nullable bool) []byte {
	dst = appendArrayLen(dst, len(a), a == nil, nullable)
	for i := range a {
		dst = append(dst, a[i][:]...)
	}
	return dst
}

// insertSize inserts, at start, the unsigned varint length of dst[start:]
// (the size prefix of a tagged field whose value was just appended).
func insertSize(dst []byte, start int) []byte {
	n := len(dst) - start
	k := sizeUvarint(uint64(n))
	for i := 0; i < k; i++ {
		dst = append(dst, 0)
	}
	copy(dst[start+k:], dst[start:start+n])
	var tmp [binary.MaxVarintLen64]byte
	copy(dst[start:], appendUvarint(tmp[:0], uint64(n)))
	return dst
}

func versionError(typeName string, version, lo, hi int16) error {
	return fmt.Errorf("%s: version %d outside validVersions %d-%d: %w", typeName, version, lo, hi, ErrUnsupportedVersion)
}

func fieldVersionError(path string, version int16) error {
	return fmt.Errorf("%s: field has a non-default value but does not exist in version %d: %w", path, version, ErrUnsupportedVersion)
}

func nullFieldError(path string, version int16) error {
	return fmt.Errorf("%s: null, but the field is not nullable in version %d: %w", path, version, ErrUnsupportedVersion)
}

// reader decodes a message body. Errors are sticky: after the first one every
// read returns a zero value, and the generated code checks r.err after each
// field and annotates it with the field's name.
type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

// annotate prefixes the current error's field path with name.
func (r *reader) annotate(name string) {
	var fe *FieldError
	if errors.As(r.err, &fe) {
		if strings.HasPrefix(fe.Path, "[") {
			fe.Path = name + fe.Path
		} else {
			fe.Path = name + "." + fe.Path
		}
		return
	}
	r.err = &FieldError{Path: name, Err: r.err}
}

func (r *reader) remaining() int { return len(r.b) - r.off }

func (r *reader) need(n int) bool {
	if r.err != nil {
		return false
	}
	if n < 0 || r.remaining() < n {
		r.fail(fmt.Errorf("%w: need %d byte(s), have %d", errShort, n, r.remaining()))
		return false
	}
	return true
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	var x uint64
	var s uint
	for i := 0; i < binary.MaxVarintLen64; i++ {
		if r.off >= len(r.b) {
			r.fail(fmt.Errorf("%w: truncated varint", errShort))
			return 0
		}
		c := r.b[r.off]
		r.off++
		if c < 0x80 {
			if i == binary.MaxVarintLen64-1 && c > 1 {
				break
			}
			return x | uint64(c)<<s
		}
		x |= uint64(c&0x7f) << s
		s += 7
	}
	r.fail(errVarint)
	return 0
}

// uvarint32 reads an unsigned varint that must fit Kafka's int32 lengths.
func (r *reader) uvarint32() int {
	x := r.uvarint()
	if x > math.MaxInt32 {
		r.fail(fmt.Errorf("%w: varint %d exceeds int32", errVarint, x))
		return 0
	}
	return int(x)
}

func (r *reader) int8() int8 {
	if !r.need(1) {
		return 0
	}
	v := r.b[r.off]
	r.off++
	return int8(v)
}

func (r *reader) bool() bool {
	if !r.need(1) {
		return false
	}
	v := r.b[r.off]
	r.off++
	return v != 0
}

func (r *reader) uint16() uint16 {
	if !r.need(2) {
		return 0
	}
	v := binary.BigEndian.Uint16(r.b[r.off:])
	r.off += 2
	return v
}

func (r *reader) int16() int16 { return int16(r.uint16()) }

func (r *reader) uint32() uint32 {
	if !r.need(4) {
		return 0
	}
	v := binary.BigEndian.Uint32(r.b[r.off:])
	r.off += 4
	return v
}

func (r *reader) int32() int32 { return int32(r.uint32()) }

func (r *reader) uint64() uint64 {
	if !r.need(8) {
		return 0
	}
	v := binary.BigEndian.Uint64(r.b[r.off:])
	r.off += 8
	return v
}

func (r *reader) int64() int64     { return int64(r.uint64()) }
func (r *reader) float64() float64 { return math.Float64frombits(r.uint64()) }

func (r *reader) uuid() kafka.UUID {
	var u kafka.UUID
	if !r.need(16) {
		return u
	}
	copy(u[:], r.b[r.off:])
	r.off += 16
	return u
}

// compactLen reads a compact length (varint N+1); it returns -1 for null.
func (r *reader) compactLen() int {
	n := r.uvarint32() - 1
	if r.err != nil {
		return 0
	}
	return n
}

func (r *reader) rawBytes(n int) []byte {
	if !r.need(n) {
		return nil
	}
	b := r.b[r.off : r.off+n : r.off+n]
	r.off += n
	return b
}

func (r *reader) string() string {
	n := r.compactLen()
	if n < 0 {
		r.fail(errNullNotOK)
		return ""
	}
	return string(r.rawBytes(n))
}

func (r *reader) nullableString(nullable bool) *string {
	n := r.compactLen()
	if r.err != nil {
		return nil
	}
	if n < 0 {
		if !nullable {
			r.fail(errNullNotOK)
		}
		return nil
	}
	s := string(r.rawBytes(n))
	return &s
}

func (r *reader) bytes(nullable bool) []byte {
	n := r.compactLen()
	if r.err != nil {
		return nil
	}
	if n < 0 {
		if !nullable {
			r.fail(errNullNotOK)
		}
		return nil
	}
	b := r.rawBytes(n)
	if r.err != nil {
		return nil
	}
	out := make([]byte, n)
	copy(out, b)
	return out
}

// arrayLen reads a compact array length, checks it against the bytes left
// (each element takes at least minSize bytes) and returns -1 for null.
func (r *reader) arrayLen(nullable bool, minSize int) int {
	n := r.compactLen()
	if r.err != nil {
		return 0
	}
	if n < 0 {
		if !nullable {
			r.fail(errNullNotOK)
		}
		return -1
	}
	if n > r.remaining()/minSize {
		r.fail(fmt.Errorf("%w: array of %d element(s) but only %d byte(s) left", errLengthHuge, n, r.remaining()))
		return 0
	}
	return n
}

func (r *reader) int32Array(nullable bool) []int32 {
	n := r.arrayLen(nullable, 4)
	if n < 0 || r.err != nil {
		return nil
	}
	a := make([]int32, n)
	for i := range a {
		a[i] = int32(binary.BigEndian.Uint32(r.b[r.off:]))
		r.off += 4
	}
	return a
}

func (r *reader) stringArray(nullable bool) []string {
	n := r.arrayLen(nullable, 1)
	if n < 0 || r.err != nil {
		return nil
	}
	a := make([]string, n)
	for i := range a {
		a[i] = r.string()
		if r.err != nil {
			r.err = &FieldError{Path: fmt.Sprintf("[%d]", i), Err: r.err}
			return nil
		}
	}
	return a
}

func (r *reader) uuidArray(nullable bool) []kafka.UUID {
	n := r.arrayLen(nullable, 16)
	if n < 0 || r.err != nil {
		return nil
	}
	a := make([]kafka.UUID, n)
	for i := range a {
		copy(a[i][:], r.b[r.off:])
		r.off += 16
	}
	return a
}

// taggedField returns a reader over the next tagged field's value.
func (r *reader) taggedField() (tag uint64, sub reader) {
	tag = r.uvarint()
	size := r.uvarint32()
	if r.err != nil {
		return 0, reader{err: r.err}
	}
	if !r.need(size) {
		return 0, reader{err: r.err}
	}
	sub = reader{b: r.b[r.off : r.off+size : r.off+size]}
	r.off += size
	return tag, sub
}

// endTagged checks that a known tagged field's value used exactly its size.
func (r *reader) endTagged(sub *reader, name string) {
	if sub.err == nil && sub.off != len(sub.b) {
		sub.err = fmt.Errorf("tagged field size %d but its value used %d byte(s)", len(sub.b), sub.off)
	}
	if sub.err != nil && r.err == nil {
		r.err = sub.err
		r.annotate(name)
	}
}
