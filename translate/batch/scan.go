package batch

import (
	"errors"
	"fmt"
)

// PositionError is a decode error at a byte position of a named file.
type PositionError struct {
	File   string // may be empty
	Offset int64  // byte position of the batch in the file
	Err    error
}

func (e *PositionError) Error() string {
	if e.File == "" {
		return fmt.Sprintf("batch at byte %d: %v", e.Offset, e.Err)
	}
	return fmt.Sprintf("%s: batch at byte %d: %v", e.File, e.Offset, e.Err)
}

func (e *PositionError) Unwrap() error { return e.Err }

// TornTail describes bytes at the end of a log that do not make a complete
// batch: what an interrupted append leaves behind.
type TornTail struct {
	Offset int64 // byte position where the incomplete batch starts
	Bytes  int   // how many bytes it has
	Reason string
}

// Scan calls fn for each batch of data (a log segment, a checkpoint), with
// its byte position. It stops at the first corrupt batch with an error
// (*PositionError naming file and position, wrapping ErrCorrupt), and at a
// torn tail (an incomplete last batch) it stops cleanly and returns it. An
// error from fn stops the scan and is returned.
func Scan(file string, data []byte, fn func(pos int64, b *Batch) error) (*TornTail, error) {
	pos := 0
	for pos < len(data) {
		b, n, err := Decode(data[pos:])
		if err != nil {
			if errors.Is(err, ErrTruncated) {
				return &TornTail{Offset: int64(pos), Bytes: len(data) - pos, Reason: err.Error()}, nil
			}
			return nil, &PositionError{File: file, Offset: int64(pos), Err: err}
		}
		if err := fn(int64(pos), &b); err != nil {
			return nil, err
		}
		pos += n
	}
	return nil, nil
}
