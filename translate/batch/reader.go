package batch

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Reader reads batches one at a time from a stream (a log segment, a
// checkpoint) without holding the whole file.
type Reader struct {
	r    io.Reader
	name string
	pos  int64
	buf  []byte
	// Tail is set when Next returned io.EOF because the stream ended inside
	// a batch.
	Tail *TornTail
}

// NewReader returns a Reader; name (a file path) is used in errors.
func NewReader(r io.Reader, name string) *Reader { return &Reader{r: r, name: name} }

// readChunk is how much Next reads at a time when a batch is large, so that
// a corrupt length cannot make it allocate more than the stream holds.
const readChunk = 1 << 20

// Next returns the next batch and its byte position. The batch's keys and
// values alias an internal buffer that the next call reuses. At the end of
// the stream it returns io.EOF, with r.Tail set if the stream ended inside a
// batch. A corrupt batch gives a *PositionError wrapping ErrCorrupt.
func (r *Reader) Next() (*Batch, int64, error) {
	if r.Tail != nil {
		return nil, r.pos, io.EOF
	}
	r.buf = r.buf[:0]
	n, err := r.fill(LogOverhead)
	if err != nil {
		if n == 0 && errors.Is(err, io.EOF) {
			return nil, r.pos, io.EOF
		}
		return r.torn(err)
	}
	size, err := BatchSize(r.buf)
	if err != nil {
		return nil, r.pos, &PositionError{File: r.name, Offset: r.pos, Err: err}
	}
	// Check the magic as soon as it is in, so that a wrong format is an
	// error rather than a "torn tail".
	if _, err := r.fill(17); err != nil {
		return r.torn(err)
	}
	if r.buf[16] != Magic {
		return nil, r.pos, &PositionError{File: r.name, Offset: r.pos, Err: fmt.Errorf("%w: magic %d at byte 16, want %d (only RecordBatch v2 is supported)", ErrCorrupt, int8(r.buf[16]), Magic)}
	}
	for len(r.buf) < size {
		if _, err := r.fill(min(size, len(r.buf)+readChunk)); err != nil {
			return r.torn(err)
		}
	}
	b, _, err := Decode(r.buf)
	if err != nil {
		return nil, r.pos, &PositionError{File: r.name, Offset: r.pos, Err: err}
	}
	pos := r.pos
	r.pos += int64(size)
	return &b, pos, nil
}

// fill reads until r.buf holds n bytes; it returns the bytes read.
func (r *Reader) fill(n int) (int, error) {
	have := len(r.buf)
	if cap(r.buf) < n {
		nb := make([]byte, have, max(n, 2*cap(r.buf)))
		copy(nb, r.buf)
		r.buf = nb
	}
	r.buf = r.buf[:n]
	m, err := io.ReadFull(r.r, r.buf[have:n])
	r.buf = r.buf[:have+m]
	return m, err
}

func (r *Reader) torn(err error) (*Batch, int64, error) {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		reason := fmt.Sprintf("%d byte(s) of a batch", len(r.buf))
		if len(r.buf) >= LogOverhead {
			reason += fmt.Sprintf(" whose batchLength says %d", LogOverhead+int(int32(binary.BigEndian.Uint32(r.buf[8:]))))
		}
		r.Tail = &TornTail{Offset: r.pos, Bytes: len(r.buf), Reason: reason}
		return nil, r.pos, io.EOF
	}
	return nil, r.pos, fmt.Errorf("%s: read at byte %d: %w", r.name, r.pos+int64(len(r.buf)), err)
}
