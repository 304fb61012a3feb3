package datadir

import "encoding/binary"

const (
	snapMagic = 0x5a4b534e // "ZKSN"
	logMagic  = 0x5a4b4c47 // "ZKLG"
)

// snapInfo is what a snapshot file says about itself.
type snapInfo struct {
	Sessions   int
	Nodes      int64 // nodes in the file (all of them, kept or not)
	DigestZxid int64 // zxid of the digest after the tree (3.6+); 0 if none
	HasDigest  bool
	DBID       int64
	Version    int32
}

// parseSnapshot decodes a whole (uncompressed) snapshot: the file header
// ("ZKSN", version, dbid), the sessions, the ACL cache, the nodes in
// pre-order until the "/" end marker, the Adler32 seal, and the optional
// ZxidDigest with its own seal (FileSnap.serialize). Nodes of t.keep's
// subtree go into t; their data and path strings share b's memory.
func parseSnapshot(file string, b []byte, t *tree) (snapInfo, error) {
	r := &rd{b: b, file: file}
	var info snapInfo
	if m := r.i32("magic"); r.err == nil && m != snapMagic {
		r.off = 0
		r.fail("not a ZooKeeper snapshot: magic %#x, want %#x (\"ZKSN\")", uint32(m), snapMagic)
	}
	info.Version = r.i32("version")
	info.DBID = r.i64("dbid")
	if r.err == nil && info.Version != 2 {
		r.off = 4
		r.fail("snapshot format version %d, want 2", info.Version)
	}
	// sessions: count, then (id long, timeout int)
	at := r.off
	n := r.i32("session count")
	if r.err == nil && (n < 0 || int64(n)*12 > int64(len(b)-r.off)) {
		r.off = at
		r.fail("bad session count %d", n)
	}
	if r.err == nil {
		info.Sessions = int(n)
		r.need(int(n)*12, "sessions")
		if r.err == nil {
			r.off += int(n) * 12
		}
	}
	// ACL cache (ReferenceCountedACLCache): count, then (long, vector<ACL>)
	at = r.off
	n = r.i32("acl cache size")
	if r.err == nil && (n < 0 || int64(n)*12 > int64(len(b)-r.off)) {
		r.off = at
		r.fail("bad ACL cache size %d", n)
	}
	for i := int32(0); i < n && r.err == nil; i++ {
		r.i64("acl cache key")
		r.skipACLs("acl cache entry")
	}
	// The Adler32 of every prefix runs alongside the parse.
	sums := startPrefixSums(b)
	// ~150 bytes per node record: prefault the nodes' memory alongside
	// (and for the replay's creates; load stops it)
	t.prefaultSlabs(len(b) / 140)
	// nodes in pre-order; the parent of each is on the stack
	stack := make([]*node, 0, 32)
	paths := make([]string, 0, 32)
	for r.err == nil {
		at := r.off
		path := r.str("path")
		if r.err != nil {
			break
		}
		if path == "/" {
			break
		}
		data := r.buffer("node data")
		// acl long, then StatPersisted: czxid, mzxid, ctime, mtime longs,
		// version, cversion, aversion ints, ephemeralOwner, pzxid longs
		if r.err == nil && len(r.b)-r.off < 8+60 {
			// truncated: say which field
			r.i64("node acl")
			r.i64("czxid")
			r.i64("mzxid")
			r.i64("ctime")
			r.i64("mtime")
			r.i32("version")
			r.i32("cversion")
			r.i32("aversion")
			r.i64("ephemeralOwner")
			r.i64("pzxid")
		}
		if r.err != nil {
			break
		}
		sb := r.b[r.off+8 : r.off+8+60]
		r.off += 8 + 60
		s := stat{
			czxid:    int64(binary.BigEndian.Uint64(sb[0:])),
			mzxid:    int64(binary.BigEndian.Uint64(sb[8:])),
			ctime:    int64(binary.BigEndian.Uint64(sb[16:])),
			mtime:    int64(binary.BigEndian.Uint64(sb[24:])),
			version:  int32(binary.BigEndian.Uint32(sb[32:])),
			cversion: int32(binary.BigEndian.Uint32(sb[36:])),
			aversion: int32(binary.BigEndian.Uint32(sb[40:])),
			owner:    int64(binary.BigEndian.Uint64(sb[44:])),
			pzxid:    int64(binary.BigEndian.Uint64(sb[52:])),
		}
		info.Nodes++
		var name string
		if path == "" {
			if len(paths) != 0 {
				r.off = at
				r.fail("a second root node")
				break
			}
		} else {
			var parent string
			parent, name = splitPath(path)
			for len(paths) > 0 && (len(paths[len(paths)-1]) != len(parent) || paths[len(paths)-1] != parent) {
				paths = paths[:len(paths)-1]
				stack = stack[:len(stack)-1]
			}
			if len(paths) == 0 || name == "" {
				r.off = at
				r.fail("node %q: parent %q not found before it (nodes must come in pre-order)", path, parent)
				break
			}
		}
		var nd *node
		if t.keep(path) {
			nd = t.alloc()
			nd.name, nd.data, nd.st = name, data, s
			if len(stack) == 0 {
				t.root = nd
			} else if p := stack[len(stack)-1]; p != nil && !t.addKid(p, nd) {
				r.off = at
				r.fail("node %q appears twice", path)
				break
			}
			t.count++
			t.addEphemeral(s.owner, path)
		}
		stack = append(stack, nd) // nil for a node outside the chroot
		paths = append(paths, path)
	}
	if r.err == nil && t.root == nil {
		r.fail("snapshot has no root node")
	}
	seal := func(what string) {
		if r.err != nil {
			return
		}
		want := int64(sums.sum(r.off))
		at := r.off
		got := r.i64(what + " checksum")
		if r.err == nil && got != want {
			r.off = at
			r.fail("%s checksum mismatch: file says %#x, Adler32 of the bytes before is %#x (corrupted)", what, got, want)
			return
		}
		at = r.off
		if m := r.str(what + " end marker"); r.err == nil && m != "/" {
			r.off = at
			r.fail("%s end marker %q, want \"/\"", what, m)
		}
	}
	seal("tree")
	if r.err == nil && r.off < len(b) {
		// ZxidDigest (3.6+): zxid long, digestVersion int, digest long
		// (a hex string before digest version 2), then a second seal.
		info.HasDigest = true
		info.DigestZxid = r.i64("digest zxid")
		if v := r.i32("digest version"); v < 2 {
			r.buffer("digest")
		} else {
			r.i64("digest")
		}
		seal("digest")
		if r.err == nil && r.off != len(b) {
			r.fail("%d unexpected bytes after the snapshot's end", len(b)-r.off)
		}
	}
	if r.err != nil {
		return info, r.err
	}
	return info, nil
}

// prefixSums computes the Adler32 after every sumChunk bytes of b in the
// background, so the Adler32 of any prefix costs at most one chunk.
type prefixSums struct {
	b      []byte
	states []uint32
	done   chan struct{}
}

const sumChunk = 1 << 20

func startPrefixSums(b []byte) *prefixSums {
	p := &prefixSums{b: b, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		d := uint32(1)
		for off := 0; off+sumChunk <= len(b); off += sumChunk {
			d = adlerUpdate(d, b[off:off+sumChunk])
			p.states = append(p.states, d)
		}
	}()
	return p
}

// sum returns the Adler32 of b[:n].
func (p *prefixSums) sum(n int) uint32 {
	<-p.done
	k := n / sumChunk
	d := uint32(1)
	if k > 0 {
		d = p.states[k-1]
	}
	return adlerUpdate(d, p.b[k*sumChunk:n])
}
