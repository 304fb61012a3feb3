package quorum

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// segmentLog is the raft log store: append-only segment files of framed
// entries, fsynced after every StoreLogs. It replaces bbolt for the log (bbolt
// stays the stable store): a log entry is a RecordBatch of up to 64 MiB, and
// bbolt rewrites a leaf page of up to four such values (and msgpack-encodes
// each into a growing buffer) on every append, which cost about a third of
// the quorum's CPU on 10,000-record batches.
//
// Layout: <dir>/<first index, 20 digits>.log, each a sequence of frames
//
//	uint32 payload length | uint32 CRC-32C of the payload | payload
//	payload: uint64 index | uint64 term | uint8 type | int64 appended-at (Unix ns, 0 = unset) |
//	         uint32 extensions length | extensions | data (to the end)
//
// all big-endian. Indexes are contiguous across segments. A torn frame at the
// end of the last segment (a crash during a write) is cut off at open; any
// other damage is an error.
type segmentLog struct {
	dir string
	log *slog.Logger

	mu    sync.RWMutex
	segs  []*segment // ascending; the last one takes appends
	first uint64     // first index raft may read (prefix deletions move it past segs[0].first)
	buf   []byte     // frame encoding scratch

	segBytes int64 // a segment takes no more appends once this large
}

type segment struct {
	first   uint64
	f       *os.File
	offsets []int64 // offsets[i] is the frame of index first+i
	size    int64
}

func (s *segment) last() uint64 { return s.first + uint64(len(s.offsets)) - 1 }

const (
	segmentMaxBytes  = 64 << 20
	frameHeaderLen   = 8
	payloadHeaderLen = 8 + 8 + 1 + 8 + 4
	maxFrameBytes    = MaxBatchBytes + 16<<20 // an entry plus its Meta, with room to spare
	segmentSuffix    = ".log"
	maxKeptFrameBuf  = 8 << 20
)

// SegmentLogDirName is the directory in a node's data dir that holds the raft log.
const SegmentLogDirName = "raft-log"

// openSegmentLog opens (creating it when needed) the segment log in dir.
func openSegmentLog(dir string, log *slog.Logger) (*segmentLog, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create raft log dir: %w", err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read raft log dir: %w", err)
	}
	var firsts []uint64
	for _, e := range ents {
		name := e.Name()
		if !strings.HasSuffix(name, segmentSuffix) {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSuffix(name, segmentSuffix), 10, 64)
		if err != nil || n == 0 {
			return nil, fmt.Errorf("raft log dir %s: unexpected file %s", dir, name)
		}
		firsts = append(firsts, n)
	}
	sort.Slice(firsts, func(i, j int) bool { return firsts[i] < firsts[j] })
	l := &segmentLog{dir: dir, log: log, segBytes: segmentMaxBytes}
	for i, first := range firsts {
		tail := i == len(firsts)-1
		s, err := l.openSegment(first, tail)
		if err != nil {
			l.Close()
			return nil, err
		}
		if len(s.offsets) == 0 {
			// A segment created just before a crash, or whose only frames were torn.
			s.f.Close()
			if !tail {
				l.Close()
				return nil, fmt.Errorf("raft log segment %s holds no entries but is not the last one", s.f.Name())
			}
			if err := os.Remove(s.f.Name()); err != nil {
				l.Close()
				return nil, fmt.Errorf("remove empty raft log segment: %w", err)
			}
			continue
		}
		if n := len(l.segs); n > 0 && l.segs[n-1].last()+1 != s.first {
			s.f.Close()
			l.Close()
			return nil, fmt.Errorf("raft log segment %s starts at index %d, but the one before ends at %d", s.f.Name(), s.first, l.segs[n-1].last())
		}
		l.segs = append(l.segs, s)
	}
	if len(l.segs) > 0 {
		l.first = l.segs[0].first
	}
	return l, nil
}

func (l *segmentLog) segPath(first uint64) string {
	return filepath.Join(l.dir, fmt.Sprintf("%020d%s", first, segmentSuffix))
}

// openSegment opens a segment and indexes its frames. Frames are checked
// against their CRC in the tail segment only (the others were fsynced and
// followed by later writes; GetLog checks every frame it reads); a torn tail
// is truncated.
func (l *segmentLog) openSegment(first uint64, tail bool) (*segment, error) {
	path := l.segPath(first)
	f, err := os.OpenFile(path, os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open raft log segment: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("stat raft log segment: %w", err)
	}
	s := &segment{first: first, f: f}
	end := st.Size()
	var hdr [frameHeaderLen + payloadHeaderLen]byte
	var payload []byte
	bad := ""
	for s.size < end {
		if end-s.size < int64(len(hdr)) {
			bad = "a truncated frame header"
			break
		}
		if _, err := f.ReadAt(hdr[:], s.size); err != nil {
			f.Close()
			return nil, fmt.Errorf("read raft log segment %s at byte %d: %w", path, s.size, err)
		}
		n := int64(binary.BigEndian.Uint32(hdr[0:4]))
		if n < payloadHeaderLen || n > maxFrameBytes || s.size+frameHeaderLen+n > end {
			bad = fmt.Sprintf("a frame of %d byte(s) with %d byte(s) left", n, end-s.size-frameHeaderLen)
			break
		}
		if idx := binary.BigEndian.Uint64(hdr[frameHeaderLen:]); idx != first+uint64(len(s.offsets)) {
			bad = fmt.Sprintf("index %d where %d belongs", idx, first+uint64(len(s.offsets)))
			break
		}
		if tail {
			payload = growBytes(payload, int(n))
			if _, err := f.ReadAt(payload, s.size+frameHeaderLen); err != nil {
				f.Close()
				return nil, fmt.Errorf("read raft log segment %s at byte %d: %w", path, s.size, err)
			}
			if crc32.Checksum(payload, castagnoli) != binary.BigEndian.Uint32(hdr[4:8]) {
				bad = "a CRC-32C mismatch"
				break
			}
		}
		s.offsets = append(s.offsets, s.size)
		s.size += frameHeaderLen + n
	}
	if bad != "" {
		if !tail {
			f.Close()
			return nil, fmt.Errorf("raft log segment %s is damaged at byte %d: %s", path, s.size, bad)
		}
		l.log.Warn("quorum: cutting off a torn write at the end of the raft log", "segment", path, "byte", s.size, "found", bad)
		if err := f.Truncate(s.size); err != nil {
			f.Close()
			return nil, fmt.Errorf("truncate raft log segment %s: %w", path, err)
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return nil, fmt.Errorf("sync raft log segment %s: %w", path, err)
		}
	}
	return s, nil
}

func growBytes(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n)
	}
	return b[:n]
}

// IsMonotonic implements raft.MonotonicLogStore: indexes are contiguous, so
// raft empties the log after installing a snapshot instead of leaving a gap.
func (l *segmentLog) IsMonotonic() bool { return true }

// FirstIndex implements raft.LogStore.
func (l *segmentLog) FirstIndex() (uint64, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if len(l.segs) == 0 {
		return 0, nil
	}
	return l.first, nil
}

// LastIndex implements raft.LogStore.
func (l *segmentLog) LastIndex() (uint64, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.lastLocked(), nil
}

func (l *segmentLog) lastLocked() uint64 {
	if len(l.segs) == 0 {
		return 0
	}
	return l.segs[len(l.segs)-1].last()
}

// GetLog implements raft.LogStore.
func (l *segmentLog) GetLog(index uint64, out *raft.Log) error {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if len(l.segs) == 0 || index < l.first || index > l.lastLocked() {
		return raft.ErrLogNotFound
	}
	i := sort.Search(len(l.segs), func(i int) bool { return l.segs[i].last() >= index })
	s := l.segs[i]
	off := s.offsets[index-s.first]
	end := s.size
	if k := index - s.first + 1; k < uint64(len(s.offsets)) {
		end = s.offsets[k]
	}
	frame := make([]byte, end-off)
	if _, err := s.f.ReadAt(frame, off); err != nil {
		return fmt.Errorf("read raft log entry %d: %w", index, err)
	}
	if err := decodeFrame(frame, out); err != nil {
		return fmt.Errorf("raft log entry %d in %s at byte %d: %w", index, s.f.Name(), off, err)
	}
	if out.Index != index {
		return fmt.Errorf("raft log entry %d in %s at byte %d: holds index %d", index, s.f.Name(), off, out.Index)
	}
	return nil
}

// decodeFrame decodes one whole frame; Data and Extensions alias frame.
func decodeFrame(frame []byte, out *raft.Log) error {
	if len(frame) < frameHeaderLen+payloadHeaderLen {
		return fmt.Errorf("frame of %d byte(s) is shorter than its header", len(frame))
	}
	n := int(binary.BigEndian.Uint32(frame[0:4]))
	p := frame[frameHeaderLen:]
	if n != len(p) {
		return fmt.Errorf("frame length %d, %d byte(s) present", n, len(p))
	}
	if got, want := crc32.Checksum(p, castagnoli), binary.BigEndian.Uint32(frame[4:8]); got != want {
		return fmt.Errorf("CRC-32C %08x, frame says %08x", got, want)
	}
	ext := int(binary.BigEndian.Uint32(p[25:29]))
	if ext > len(p)-payloadHeaderLen {
		return fmt.Errorf("extensions length %d exceeds the frame", ext)
	}
	*out = raft.Log{
		Index: binary.BigEndian.Uint64(p[0:8]),
		Term:  binary.BigEndian.Uint64(p[8:16]),
		Type:  raft.LogType(p[16]),
	}
	if ns := int64(binary.BigEndian.Uint64(p[17:25])); ns != 0 {
		out.AppendedAt = time.Unix(0, ns)
	}
	if ext > 0 {
		out.Extensions = p[payloadHeaderLen : payloadHeaderLen+ext]
	}
	if d := p[payloadHeaderLen+ext:]; len(d) > 0 {
		out.Data = d
	}
	return nil
}

func appendFrame(dst []byte, l *raft.Log) []byte {
	start := len(dst)
	dst = append(dst, make([]byte, frameHeaderLen)...)
	dst = binary.BigEndian.AppendUint64(dst, l.Index)
	dst = binary.BigEndian.AppendUint64(dst, l.Term)
	dst = append(dst, byte(l.Type))
	var ns int64
	if !l.AppendedAt.IsZero() {
		ns = l.AppendedAt.UnixNano()
	}
	dst = binary.BigEndian.AppendUint64(dst, uint64(ns))
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(l.Extensions)))
	dst = append(dst, l.Extensions...)
	dst = append(dst, l.Data...)
	p := dst[start+frameHeaderLen:]
	binary.BigEndian.PutUint32(dst[start:], uint32(len(p)))
	binary.BigEndian.PutUint32(dst[start+4:], crc32.Checksum(p, castagnoli))
	return dst
}

// StoreLog implements raft.LogStore.
func (l *segmentLog) StoreLog(e *raft.Log) error { return l.StoreLogs([]*raft.Log{e}) }

// StoreLogs implements raft.LogStore: one write and one fsync.
func (l *segmentLog) StoreLogs(logs []*raft.Log) error {
	if len(logs) == 0 {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	next := logs[0].Index
	if last := l.lastLocked(); last != 0 && next != last+1 {
		return fmt.Errorf("store raft log entries from index %d: the log ends at %d (entries must be contiguous)", next, last)
	}
	size := 0
	for i, e := range logs {
		if e.Index != next+uint64(i) {
			return fmt.Errorf("store raft log entries: index %d follows %d", e.Index, next+uint64(i)-1)
		}
		n := payloadHeaderLen + len(e.Extensions) + len(e.Data)
		if n > maxFrameBytes {
			return fmt.Errorf("store raft log entry %d: %d bytes exceed the limit %d", e.Index, n, maxFrameBytes)
		}
		size += frameHeaderLen + n
	}
	if len(l.segs) == 0 || l.segs[len(l.segs)-1].size >= l.segBytes {
		if err := l.newSegment(next); err != nil {
			return err
		}
	}
	s := l.segs[len(l.segs)-1]
	buf := l.buf[:0]
	if cap(buf) < size {
		buf = make([]byte, 0, size)
	}
	offsets := make([]int64, 0, len(logs))
	for _, e := range logs {
		offsets = append(offsets, s.size+int64(len(buf)))
		buf = appendFrame(buf, e)
	}
	if cap(buf) <= maxKeptFrameBuf {
		l.buf = buf[:0]
	} else {
		l.buf = nil
	}
	if _, err := s.f.WriteAt(buf, s.size); err != nil {
		// Cut off whatever part was written, so the next write starts clean.
		s.f.Truncate(s.size)
		return fmt.Errorf("write raft log segment %s: %w", s.f.Name(), err)
	}
	if err := s.f.Sync(); err != nil {
		s.f.Truncate(s.size)
		return fmt.Errorf("sync raft log segment %s: %w", s.f.Name(), err)
	}
	s.offsets = append(s.offsets, offsets...)
	s.size += int64(len(buf))
	if len(l.segs) == 1 && len(s.offsets) == len(offsets) {
		l.first = s.first
	}
	return nil
}

// newSegment creates the segment that starts at index first and makes its
// directory entry durable.
func (l *segmentLog) newSegment(first uint64) error {
	path := l.segPath(first)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("create raft log segment: %w", err)
	}
	if err := syncDir(l.dir); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	l.segs = append(l.segs, &segment{first: first, f: f})
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open raft log dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync raft log dir: %w", err)
	}
	return nil
}

// DeleteRange implements raft.LogStore. Raft deletes a prefix (compaction
// after a snapshot), a suffix (entries a new leader overwrites), or
// everything (after installing a snapshot).
func (l *segmentLog) DeleteRange(min, max uint64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.segs) == 0 || min > max {
		return nil
	}
	last := l.lastLocked()
	switch {
	case min <= l.first && max >= last:
		return l.truncateFromLocked(l.segs[0].first)
	case max >= last:
		return l.truncateFromLocked(min)
	case min <= l.first:
		// Drop whole segments below max+1; the rest of a segment stays on
		// disk (raft reads nothing before FirstIndex).
		drop := 0
		for drop < len(l.segs)-1 && l.segs[drop].last() <= max {
			drop++
		}
		for _, s := range l.segs[:drop] {
			s.f.Close()
			if err := os.Remove(s.f.Name()); err != nil {
				l.segs = l.segs[drop:]
				l.first = l.segs[0].first
				return fmt.Errorf("remove raft log segment: %w", err)
			}
		}
		l.segs = append([]*segment(nil), l.segs[drop:]...)
		if max+1 > l.first {
			l.first = max + 1
		}
		return nil
	}
	return fmt.Errorf("delete raft log entries %d-%d: only a prefix or a suffix of %d-%d can be deleted", min, max, l.first, last)
}

// truncateFromLocked deletes every entry from index on.
func (l *segmentLog) truncateFromLocked(index uint64) error {
	for len(l.segs) > 0 {
		s := l.segs[len(l.segs)-1]
		if index > s.first {
			k := index - s.first
			if k >= uint64(len(s.offsets)) {
				return nil
			}
			size := s.offsets[k]
			if err := s.f.Truncate(size); err != nil {
				return fmt.Errorf("truncate raft log segment %s: %w", s.f.Name(), err)
			}
			if err := s.f.Sync(); err != nil {
				return fmt.Errorf("sync raft log segment %s: %w", s.f.Name(), err)
			}
			s.offsets, s.size = s.offsets[:k], size
			return nil
		}
		s.f.Close()
		l.segs = l.segs[:len(l.segs)-1]
		if err := os.Remove(s.f.Name()); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove raft log segment: %w", err)
		}
		if err := syncDir(l.dir); err != nil {
			return err
		}
	}
	l.first = 0
	return nil
}

// Close closes the segment files.
func (l *segmentLog) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var errs []error
	for _, s := range l.segs {
		if err := s.f.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	l.segs = nil
	return errors.Join(errs...)
}

var _ io.Closer = (*segmentLog)(nil)
var _ raft.LogStore = (*segmentLog)(nil)
var _ raft.MonotonicLogStore = (*segmentLog)(nil)
