// Package datadir reads a ZooKeeper server's own files — the newest valid
// fuzzy snapshot (dataDir/version-2/snapshot.<zxid>) and the transaction logs
// after it (dataLogDir/version-2/log.<zxid>) — into the tree ZooKeeper holds
// at one exact zxid, and builds the zkreader model from it with zkreader's
// own builder, so an offline read equals an online read of the same tree.
//
// It only reads: files are opened read-only, nothing is locked or written,
// so it works on a copy of a data dir and on the live dir of a running
// server (where the newest log's torn last transaction is where it stops).
//
// Formats follow Apache ZooKeeper 3.4–3.9 (FileSnap, FileTxnLog, DataTree,
// SerializeUtils, the jute records of zookeeper.jute).
//
// How it is fast (1M partitions, ~2M znodes, a 320 MB snapshot: ~0.9 s on
// two cores, ~1.2M znodes/s of model, peak RSS ~1.1 GiB; BenchmarkScaleDataDir):
//
//   - A plain snapshot is mapped (MAP_POPULATE), not copied; node names and
//     data point into it until the model is built, then it is unmapped (the
//     model holds nothing of it: Children copies names).
//   - The tree links nodes to their children (no map of every path); a
//     directory of more than 8 children gets a name index, sized from its
//     persisted cversion. Lookups start from the longest prefix shared with
//     the previous one and try its siblings first, so the builder's reads,
//     which go through the tree in order, cost a step or two. Duplicate
//     nodes are caught as each is linked.
//   - The snapshot's Adler-32 runs on the other core (8 bytes at a time),
//     which also maps the memory of the next node slabs (a fresh page is a
//     fault of microseconds on a VM: nearly half of a cold read's CPU).
//   - Replayed paths and data point into their log entry instead of copies.
//   - The collector is paused for the call (see gc.go): the read keeps
//     nearly all it allocates.
//   - zkreader.ReadTree reads partition states in batches (kindStates) and
//     parses them, and topics, with allocation-free fast paths checked
//     against the full parsers (FuzzFastModelAgrees).
package datadir

import (
	"encoding/binary"
	"fmt"
	"unsafe"
)

// FormatError is a file that is not what ZooKeeper writes: it names the
// file, the byte offset and what was expected.
type FormatError struct {
	File   string
	Offset int64 // byte offset in the file (in the uncompressed stream for .gz)
	Msg    string
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("%s: offset %d: %s", e.File, e.Offset, e.Msg)
}

// rd decodes jute's binary encoding (big-endian ints, int32-length-prefixed
// buffers and strings, -1 for null) from a byte slice. The first error sticks.
type rd struct {
	b    []byte
	off  int
	base int64 // file offset of b[0]
	file string
	err  *FormatError
	// owned: b belongs to the tree from now on (paths and data may point
	// into it instead of being copied)
	owned bool
}

func (r *rd) fail(format string, args ...any) {
	if r.err == nil {
		r.err = &FormatError{File: r.file, Offset: r.base + int64(r.off), Msg: fmt.Sprintf(format, args...)}
	}
}

func (r *rd) need(n int, what string) bool {
	if r.err != nil {
		return false
	}
	if n < 0 || len(r.b)-r.off < n {
		r.fail("truncated: %s needs %d bytes, %d left", what, n, len(r.b)-r.off)
		return false
	}
	return true
}

func (r *rd) i32(what string) int32 {
	if !r.need(4, what) {
		return 0
	}
	v := int32(binary.BigEndian.Uint32(r.b[r.off:]))
	r.off += 4
	return v
}

func (r *rd) i64(what string) int64 {
	if !r.need(8, what) {
		return 0
	}
	v := int64(binary.BigEndian.Uint64(r.b[r.off:]))
	r.off += 8
	return v
}

func (r *rd) u8(what string) byte {
	if !r.need(1, what) {
		return 0
	}
	v := r.b[r.off]
	r.off++
	return v
}

func (r *rd) boolean(what string) bool { return r.u8(what) != 0 }

// buffer returns a sub-slice of the input (nil for a -1 length).
func (r *rd) buffer(what string) []byte {
	if r.err != nil {
		return nil
	}
	if len(r.b)-r.off < 4 {
		r.fail("truncated: %s length needs 4 bytes, %d left", what, len(r.b)-r.off)
		return nil
	}
	n := int32(binary.BigEndian.Uint32(r.b[r.off:]))
	if n == -1 {
		r.off += 4
		return nil
	}
	if n < -1 {
		r.fail("%s: negative length %d", what, n)
		return nil
	}
	r.off += 4
	if !r.need(int(n), what) {
		return nil
	}
	v := r.b[r.off : r.off+int(n) : r.off+int(n)]
	r.off += int(n)
	return v
}

// str returns a string sharing the input's memory (the input is never
// modified while the string lives).
func (r *rd) str(what string) string {
	b := r.buffer(what)
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// strCopy returns a string with its own memory.
func (r *rd) strCopy(what string) string { return string(r.buffer(what)) }

// skipACLs skips a vector<ACL> (perms int, Id{scheme, id}).
func (r *rd) skipACLs(what string) {
	n := r.i32(what)
	if n < -1 || int64(n)*12 > int64(len(r.b)-r.off) {
		r.fail("%s: bad ACL count %d", what, n)
		return
	}
	for i := int32(0); i < n && r.err == nil; i++ {
		r.i32("acl perms")
		r.buffer("acl scheme")
		r.buffer("acl id")
	}
}
