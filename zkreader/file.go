package zkreader

// Snapshot file format (version 1):
//
//	magic      "ZK2KRAFT-SNAPSHOT\n" (18 bytes)
//	version    uint16 big-endian (1)
//	body       one gzip member holding the Snapshot as JSON
//	trailer    "END1" | uint64 length of everything before the trailer |
//	           SHA-256 of everything before the trailer (32 bytes)
//
// The checksum covers the header and every compressed byte, so any damage is
// caught; a missing trailer means the file was truncated. Nothing may follow
// the trailer.

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
)

const (
	fileMagic   = "ZK2KRAFT-SNAPSHOT\n"
	fileVersion = 1
	trailerTag  = "END1"
)

// ErrBadSnapshotFile is wrapped by every Load error about the file's content.
var ErrBadSnapshotFile = errors.New("not a valid zk2kraft snapshot file")

type countingHash struct {
	h hash.Hash
	n uint64
}

func (c *countingHash) Write(p []byte) (int, error) {
	c.n += uint64(len(p))
	return c.h.Write(p)
}

// Save writes s to w in the snapshot file format.
func Save(w io.Writer, s *Snapshot) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	sum := &countingHash{h: sha256.New()}
	mw := io.MultiWriter(bw, sum)
	io.WriteString(mw, fileMagic)
	binary.Write(mw, binary.BigEndian, uint16(fileVersion))
	zw, err := gzip.NewWriterLevel(mw, gzip.BestSpeed)
	if err != nil {
		return err
	}
	if err := json.NewEncoder(zw).Encode(s); err != nil {
		return fmt.Errorf("encode snapshot: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("compress snapshot: %w", err)
	}
	bw.WriteString(trailerTag)
	binary.Write(bw, binary.BigEndian, sum.n)
	bw.Write(sum.h.Sum(nil))
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write snapshot: %w", err)
	}
	return nil
}

func badFile(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadSnapshotFile, fmt.Sprintf(format, args...))
}

// hashingReader hashes exactly the bytes its consumer takes (gzip uses
// ReadByte, so it never reads past its member).
type hashingReader struct {
	br  *bufio.Reader
	sum *countingHash
}

func (h *hashingReader) Read(p []byte) (int, error) {
	n, err := h.br.Read(p)
	h.sum.Write(p[:n])
	return n, err
}

func (h *hashingReader) ReadByte() (byte, error) {
	b, err := h.br.ReadByte()
	if err == nil {
		h.sum.Write([]byte{b})
	}
	return b, err
}

// Load reads a snapshot written by Save. A truncated, corrupted or
// unknown-version file is rejected with an error wrapping ErrBadSnapshotFile.
func Load(r io.Reader) (*Snapshot, error) {
	br := bufio.NewReaderSize(r, 256<<10)
	sum := &countingHash{h: sha256.New()}
	hr := &hashingReader{br: br, sum: sum}
	head := make([]byte, len(fileMagic)+2)
	if _, err := io.ReadFull(hr, head); err != nil {
		return nil, badFile("file too short for the header")
	}
	if string(head[:len(fileMagic)]) != fileMagic {
		return nil, badFile("wrong magic (not a snapshot file)")
	}
	if v := binary.BigEndian.Uint16(head[len(fileMagic):]); v != fileVersion {
		return nil, badFile("format version %d, this zk2kraft reads version %d", v, fileVersion)
	}
	zr, err := gzip.NewReader(hr)
	if err != nil {
		return nil, badFile("body is not gzip: %v", err)
	}
	zr.Multistream(false)
	var s Snapshot
	if err := json.NewDecoder(zr).Decode(&s); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, badFile("truncated body")
		}
		return nil, badFile("corrupted body: %v", err)
	}
	// drain the rest of the gzip member: verifies its CRC and length
	if _, err := io.Copy(io.Discard, zr); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, badFile("truncated body")
		}
		return nil, badFile("corrupted body: %v", err)
	}
	var trailer [4 + 8 + 32]byte
	if _, err := io.ReadFull(br, trailer[:]); err != nil {
		return nil, badFile("truncated: trailer missing")
	}
	if string(trailer[:4]) != trailerTag {
		return nil, badFile("corrupted trailer")
	}
	if n := binary.BigEndian.Uint64(trailer[4:12]); n != sum.n {
		return nil, badFile("file length %d does not match the trailer's %d", sum.n, n)
	}
	if !bytes.Equal(trailer[12:], sum.h.Sum(nil)) {
		return nil, badFile("checksum mismatch")
	}
	if _, err := br.ReadByte(); err != io.EOF {
		return nil, badFile("unexpected data after the trailer")
	}
	return &s, nil
}
