package datadir

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"unsafe"

	"github.com/zk2kraft/zk2kraft/internal/hugepages"
)

// ZooKeeper op codes (ZooDefs.OpCode) that appear in transaction logs.
const (
	opError           = -1
	opCreateSession   = -10
	opCloseSession    = -11
	opCreate          = 1
	opDelete          = 2
	opSetData         = 5
	opSetACL          = 7
	opCheck           = 13
	opMulti           = 14
	opCreate2         = 15
	opReconfig        = 16
	opCreateContainer = 19
	opDeleteContainer = 20
	opCreateTTL       = 21
)

// maxTxnSize bounds one transaction (ZooKeeper's jute.maxbuffer is 1 MiB by
// default; allow much more before calling a length corrupt).
const maxTxnSize = 256 << 20

// errTorn marks an incomplete last entry: the bytes from its start to the
// end of the file are a prefix of an entry followed by nothing but zeros
// (ZooKeeper preallocates log files with zeros), the mark of a write in
// progress or cut short by a crash.
var errTorn = errors.New("torn transaction")

// logReader streams the entries of one transaction log file. It reads the
// file in large chunks and hands out entries as slices of them (no copy per
// entry); a chunk an entry was kept from (keep) is never reused.
type logReader struct {
	file     string
	r        io.Reader
	off      int64  // file offset of the next entry
	buf      []byte // the chunk: buf[pos:end] is read and not yet consumed
	pos, end int
	kept     bool // an entry of buf was kept: the next chunk is a new one
	eof      bool
	DBID     int64
}

// logChunk is the size of the reads (and of the chunks entries live in).
const logChunk = 8 << 20

// newLogReader reads the file header ("ZKLG", version 2, dbid).
func newLogReader(file string, r io.Reader, size int64) (*logReader, error) {
	l := &logReader{file: file, r: r}
	l.buf = newChunk(int(min(max(size, 4096), logChunk)))
	n, err := l.fill(16)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	if n < 16 {
		return nil, &FormatError{File: file, Offset: int64(n), Msg: "truncated file header (want 16 bytes: \"ZKLG\", version, dbid)"}
	}
	h := l.buf[l.pos : l.pos+16]
	if m := binary.BigEndian.Uint32(h[0:]); m != logMagic {
		return nil, &FormatError{File: file, Offset: 0, Msg: fmt.Sprintf("not a ZooKeeper transaction log: magic %#x, want %#x (\"ZKLG\")", m, logMagic)}
	}
	if v := int32(binary.BigEndian.Uint32(h[4:])); v != 2 {
		return nil, &FormatError{File: file, Offset: 4, Msg: fmt.Sprintf("transaction log format version %d, want 2", v)}
	}
	l.DBID = int64(binary.BigEndian.Uint64(h[8:]))
	l.pos += 16
	l.off = 16
	return l, nil
}

// newChunk returns a zeroed buffer for file data, backed by huge pages
// where the kernel allows (fewer page faults on first touch).
func newChunk(size int) []byte {
	b := make([]byte, size)
	hugepages.Advise(unsafe.Pointer(unsafe.SliceData(b)), uintptr(size))
	return b
}

// fill makes n bytes available at buf[pos:], reading from the file as
// needed; it returns how many are available (fewer than n only at the end
// of the file).
func (l *logReader) fill(n int) (int, error) {
	if l.end-l.pos >= n || l.eof {
		return l.end - l.pos, nil
	}
	if l.pos+n > len(l.buf) {
		nb := l.buf
		if l.kept || len(nb) < n {
			nb = newChunk(max(logChunk, n))
		}
		m := copy(nb, l.buf[l.pos:l.end])
		l.buf, l.pos, l.end, l.kept = nb, 0, m, false
	}
	for l.end-l.pos < n {
		k, err := l.r.Read(l.buf[l.end:])
		l.end += k
		if err == io.EOF {
			l.eof = true
			break
		}
		if err != nil {
			return l.end - l.pos, err
		}
	}
	return l.end - l.pos, nil
}

// next returns the next entry's bytes (TxnHeader, record, optional digest)
// and its file offset. It returns io.EOF at the end of the log (the end of
// the file or the zero padding), errTorn (wrapped in a FormatError) for a
// torn last entry, and a FormatError for anything else that is wrong.
// The bytes are valid until the next call, or for good after keep.
func (l *logReader) next() (entry []byte, at int64, err error) {
	at = l.off
	n, err := l.fill(12)
	if err != nil {
		return nil, at, fmt.Errorf("read %s: %w", l.file, err)
	}
	if n == 0 {
		return nil, at, io.EOF
	}
	if n < 12 {
		return nil, at, l.torn(at, n, "entry header cut short")
	}
	h := l.buf[l.pos : l.pos+12]
	crc := binary.BigEndian.Uint64(h[0:])
	size := int32(binary.BigEndian.Uint32(h[8:]))
	if size == 0 {
		if crc != 0 {
			return nil, at, l.torn(at, 12, fmt.Sprintf("entry with checksum %#x and length 0", crc))
		}
		return nil, at, io.EOF // preallocated zeros: the end
	}
	if size < 0 || size > maxTxnSize {
		return nil, at, l.torn(at, 12, fmt.Sprintf("entry length %d (want 1..%d)", size, maxTxnSize))
	}
	whole := 12 + int(size) + 1
	n, err = l.fill(whole)
	if err != nil {
		return nil, at, fmt.Errorf("read %s: %w", l.file, err)
	}
	if n < whole {
		return nil, at, l.torn(at, n, fmt.Sprintf("entry of %d bytes cut short after %d", size, n-12))
	}
	b := l.buf[l.pos+12 : l.pos+whole : l.pos+whole]
	if b[size] != 'B' {
		return nil, at, l.torn(at, whole, fmt.Sprintf("end-of-record byte %#x, want 'B'", b[size]))
	}
	if sum := adlerChecksum(b[:size]); uint64(sum) != crc {
		return nil, at, l.torn(at, whole, fmt.Sprintf("checksum mismatch: entry says %#x, Adler32 of its %d bytes is %#x", crc, size, sum))
	}
	l.pos += whole
	l.off += int64(whole)
	return b[:size:size], at, nil
}

// keep hands the last entry's bytes to the caller for good: its chunk is
// not reused.
func (l *logReader) keep() { l.kept = true }

// torn decides whether a bad entry at offset at (of which the first read
// bytes are in buf[pos:]) is a torn tail — nothing but zeros after it — or
// corruption.
func (l *logReader) torn(at int64, read int, what string) error {
	pos := at + int64(read)
	rest := l.buf[l.pos+read : l.end]
	var chunk [64 << 10]byte
	for {
		for i, c := range rest {
			if c != 0 {
				return &FormatError{File: l.file, Offset: at, Msg: fmt.Sprintf("corrupted transaction: %s, and non-zero data follows at offset %d", what, pos+int64(i))}
			}
		}
		pos += int64(len(rest))
		if l.eof {
			return &tornError{FormatError{File: l.file, Offset: at, Msg: "torn last transaction: " + what}}
		}
		n, err := l.r.Read(chunk[:])
		rest = chunk[:n]
		if err == io.EOF {
			l.eof = true
		} else if err != nil {
			return fmt.Errorf("read %s: %w", l.file, err)
		}
	}
}

// tornError is a torn last entry (see errTorn).
type tornError struct{ FormatError }

func (e *tornError) Unwrap() error { return errTorn }

// txnHeader is jute's TxnHeader.
type txnHeader struct {
	clientID int64
	cxid     int32
	zxid     int64
	time     int64
	typ      int32
}

func readHeader(r *rd) txnHeader {
	return txnHeader{clientID: r.i64("clientId"), cxid: r.i32("cxid"), zxid: r.i64("zxid"), time: r.i64("time"), typ: r.i32("type")}
}

// ownData copies txn data out of the reused entry buffer (nil stays nil).
func ownData(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append(make([]byte, 0, len(b)), b...)
}

// pathOf reads a path the tree may keep: a copy unless r.owned.
func (r *rd) pathOf(what string) string {
	if r.owned {
		return r.str(what)
	}
	return r.strCopy(what)
}

// dataOf reads data the tree may keep: a copy unless r.owned.
func (r *rd) dataOf(what string) []byte {
	if r.owned {
		return r.buffer(what)
	}
	return ownData(r.buffer(what))
}

// apply applies one transaction record of type typ (r positioned at the
// record) to t, as DataTree.processTxn does.
func apply(t *tree, h txnHeader, typ int32, r *rd) {
	switch typ {
	case opCreate, opCreate2, opCreateContainer, opCreateTTL:
		path := r.pathOf("path")
		data := r.dataOf("data")
		r.skipACLs("acl")
		owner := int64(0)
		var parentCVersion int32
		switch typ {
		case opCreate, opCreate2:
			eph := r.boolean("ephemeral")
			if eph {
				owner = h.clientID
			}
			// CreateTxnV0 (ZooKeeper 3.3) has no parentCVersion
			if len(r.b)-r.off >= 4 {
				parentCVersion = r.i32("parentCVersion")
			} else {
				parentCVersion = -1
			}
		case opCreateContainer:
			parentCVersion = r.i32("parentCVersion")
			owner = math.MinInt64
		case opCreateTTL:
			parentCVersion = r.i32("parentCVersion")
			ttl := r.i64("ttl")
			owner = int64(uint64(0xff)<<56 | uint64(ttl)&0x00ffffffffffffff)
		}
		if r.err != nil {
			return
		}
		if exists := t.create(path, data, owner, parentCVersion, h.zxid, h.time); exists && typ == opCreate {
			// processTxn: a create replayed over a fuzzy snapshot that has
			// the node still moves the parent's cversion and pzxid.
			parent, _ := splitPath(path)
			t.setCversionPzxid(parent, parentCVersion, h.zxid)
		}
	case opDelete, opDeleteContainer:
		path := r.pathOf("path")
		if r.err == nil {
			t.delete(path, h.zxid)
		}
	case opSetData, opReconfig:
		path := r.pathOf("path")
		data := r.dataOf("data")
		version := r.i32("version")
		if r.err == nil {
			t.setData(path, data, version, h.zxid, h.time)
		}
	case opSetACL:
		path := r.pathOf("path")
		r.skipACLs("acl")
		version := r.i32("version")
		if r.err == nil {
			t.setACL(path, version)
		}
	case opCloseSession:
		// CloseSessionTxn (3.6+, optional): vector<ustring> paths2Delete.
		// The session's ephemerals the tree knows are deleted in any case,
		// so a record that does not parse (an older server, or a digest in
		// its place) changes nothing.
		var listed []string
		if len(r.b)-r.off >= 4 {
			sub := &rd{b: r.b, off: r.off, base: r.base, file: r.file, owned: r.owned}
			n := sub.i32("paths2Delete count")
			if n > 0 && int64(n)*4 <= int64(len(sub.b)-sub.off) {
				for i := int32(0); i < n && sub.err == nil; i++ {
					listed = append(listed, sub.pathOf("path"))
				}
			}
			if sub.err != nil {
				listed = nil
			}
		}
		t.killSession(h.clientID, h.zxid, listed)
	case opCreateSession, opError, opCheck:
		// no change to the tree
	case opMulti:
		applyMulti(t, h, r)
	default:
		r.fail("unsupported transaction type %d (zxid %#x)", typ, h.zxid)
	}
}

// applyMulti applies a MultiTxn: vector<Txn{type int, data buffer}>. A multi
// holding an error op failed as a whole and changes nothing.
func applyMulti(t *tree, h txnHeader, r *rd) {
	at := r.off
	n := r.i32("multi count")
	if r.err != nil {
		return
	}
	if n < 0 || int64(n)*8 > int64(len(r.b)-r.off) {
		r.off = at
		r.fail("multi: bad op count %d", n)
		return
	}
	type sub struct {
		typ  int32
		data []byte
		off  int64
	}
	subs := make([]sub, 0, n)
	failed := false
	for i := int32(0); i < n && r.err == nil; i++ {
		typ := r.i32("multi op type")
		off := r.base + int64(r.off) + 4
		data := r.buffer("multi op data")
		subs = append(subs, sub{typ, data, off})
		failed = failed || typ == opError
	}
	if r.err != nil || failed {
		return
	}
	for _, s := range subs {
		switch s.typ {
		case opCreate, opCreate2, opCreateTTL, opCreateContainer, opDelete, opDeleteContainer, opSetData, opCheck:
		default:
			r.fail("multi: invalid op type %d (zxid %#x)", s.typ, h.zxid)
			return
		}
	}
	for _, s := range subs {
		sr := &rd{b: s.data, base: s.off, file: r.file, owned: r.owned}
		apply(t, h, s.typ, sr)
		if sr.err != nil {
			r.err = sr.err
			return
		}
	}
}
