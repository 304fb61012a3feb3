package datadir

import (
	"math"
	"strings"
	"sync"
	"unsafe"

	"github.com/zk2kraft/zk2kraft/internal/hugepages"
	"github.com/zk2kraft/zk2kraft/zkreader"
)

// stat is ZooKeeper's StatPersisted.
type stat struct {
	czxid, mzxid, ctime, mtime  int64
	version, cversion, aversion int32
	owner, pzxid                int64
}

type node struct {
	name  string // the last element of the path ("" for the root)
	data  []byte
	kids  []*node
	index map[string]int32 // name -> position in kids, for dirs of more than smallDir kids
	st    stat
}

// smallDir is the number of children up to which a node's children are
// searched by a scan instead of its index.
const smallDir = 8

// tree is ZooKeeper's DataTree as far as a read needs it: nodes linked to
// their children, persisted stats, and ephemerals by session. Only the
// chroot's subtree and its ancestors are kept (keep). A path is looked up
// from the root one element at a time, starting from the longest prefix
// it shares with the previous lookup (reads and replays go through the
// tree in order, so that is mostly one or two steps).
type tree struct {
	root       *node
	count      int // nodes in the tree
	slab       []node
	slabSize   int
	slabs      chan []node // slabs made ready by a prefaulter (nil: none)
	kidArena   []*node     // the rest of the chunk child lists come from
	stopSlabs  func()      // stops the prefaulter
	ephemerals map[int64][]string
	chroot     string // "" or "/kafka"
	release    func() // frees the snapshot's bytes the tree points into

	// the previous lookup: its path and the node at the end of every
	// element of it (cnodes[i] ends at cends[i]; the root ends at 0)
	cpath  []byte
	cends  []int
	cnodes []*node
	cidx   []int32 // the position of cnodes[i] among its parent's kids
}

func newTree(chroot string, sizeHint int) *tree {
	return &tree{ephemerals: map[int64][]string{}, chroot: chroot, slabSize: min(max(sizeHint/4, 64), 8192), release: func() {}}
}

// keep reports whether path belongs to the chroot's subtree or is one of
// its ancestors (the parts of the tree a Kafka read can see).
func (t *tree) keep(path string) bool {
	c := t.chroot
	if c == "" || path == "" {
		return true
	}
	if len(path) >= len(c) {
		return path[:len(c)] == c && (len(path) == len(c) || path[len(c)] == '/')
	}
	return c[:len(path)] == path && c[len(path)] == '/'
}

func (t *tree) alloc() *node {
	if len(t.slab) == 0 {
		var ok bool
		if t.slabs != nil {
			select {
			case t.slab, ok = <-t.slabs:
				if !ok {
					t.slabs = nil
				}
			default: // not ready: never wait for it
			}
		}
		if !ok {
			t.slabSize = min(max(2*t.slabSize, 64), 8192)
			t.slab = make([]node, t.slabSize)
		}
	}
	n := &t.slab[0]
	t.slab = t.slab[1:]
	return n
}

// child returns n's child called name, or nil.
func (n *node) child(name string) *node {
	if n.index != nil {
		if i, ok := n.index[name]; ok {
			return n.kids[i]
		}
		return nil
	}
	for _, k := range n.kids {
		if k.name == name {
			return k
		}
	}
	return nil
}

// childNear is child, trying the kids at hint+1 and hint-1 first (reads go
// through a directory's children in order); it returns the child's position.
func (n *node) childNear(name string, hint int32) (*node, int32) {
	for _, i := range [2]int32{hint + 1, hint - 1} {
		if i >= 0 && int(i) < len(n.kids) && n.kids[i].name == name {
			return n.kids[i], i
		}
	}
	if n.index != nil {
		if i, ok := n.index[name]; ok {
			return n.kids[i], i
		}
		return nil, -1
	}
	for i, k := range n.kids {
		if k.name == name {
			return k, int32(i)
		}
	}
	return nil, -1
}

// kidSlice returns an empty child list of capacity c from a shared chunk
// (a million partitions have a million one-child lists).
func (t *tree) kidSlice(c int) []*node {
	if cap(t.kidArena)-len(t.kidArena) < c {
		t.kidArena = make([]*node, 0, max(c, 1<<14))
	}
	i := len(t.kidArena)
	t.kidArena = t.kidArena[:i+c]
	return t.kidArena[i : i : i+c]
}

// addKid links k under n; it reports false (and links nothing) when n
// has a child of that name already.
func (t *tree) addKid(n, k *node) bool {
	if n.index == nil {
		for _, o := range n.kids {
			if o.name == k.name {
				return false
			}
		}
		if n.kids == nil {
			// the persisted cversion counts the creates of children: in
			// a snapshot, mostly the number of children
			n.kids = t.kidSlice(int(min(max(n.st.cversion, 1), 1024)))
		}
		n.kids = append(n.kids, k)
		if len(n.kids) > smallDir {
			n.index = make(map[string]int32, min(max(int(n.st.cversion), 2*len(n.kids)), 1<<16))
			for i, o := range n.kids {
				n.index[o.name] = int32(i)
			}
		}
		return true
	}
	if _, dup := n.index[k.name]; dup {
		return false
	}
	n.index[k.name] = int32(len(n.kids))
	n.kids = append(n.kids, k)
	return true
}

// removeKid unlinks n's child called name and returns it (nil if none).
func (n *node) removeKid(name string) *node {
	i := -1
	if n.index != nil {
		if x, ok := n.index[name]; ok {
			i = int(x)
			delete(n.index, name)
		}
	} else {
		for x, k := range n.kids {
			if k.name == name {
				i = x
				break
			}
		}
	}
	if i < 0 {
		return nil
	}
	k := n.kids[i]
	last := len(n.kids) - 1
	if i != last {
		n.kids[i] = n.kids[last]
		if n.index != nil {
			n.index[n.kids[i].name] = int32(i)
		}
	}
	n.kids[last] = nil
	n.kids = n.kids[:last]
	return k
}

// ephemeral reports whether owner is a session (not a container or TTL
// marker, which ZooKeeper stores in the same field).
func ephemeral(owner int64) bool {
	return owner != 0 && owner != math.MinInt64 && uint64(owner)>>56 != 0xff
}

// clientOwner is the ephemeralOwner a client's Stat shows (DataNode.copyStat).
func clientOwner(owner int64) int64 {
	if ephemeral(owner) {
		return owner
	}
	return 0
}

func (t *tree) addEphemeral(owner int64, path string) {
	if ephemeral(owner) {
		t.ephemerals[owner] = append(t.ephemerals[owner], path)
	}
}

func (t *tree) removeEphemeral(owner int64, path string) {
	if !ephemeral(owner) {
		return
	}
	l := t.ephemerals[owner]
	for i, p := range l {
		if p == path {
			l[i] = l[len(l)-1]
			l = l[:len(l)-1]
			break
		}
	}
	if len(l) == 0 {
		delete(t.ephemerals, owner)
	} else {
		t.ephemerals[owner] = l
	}
}

func splitPath(path string) (parent, child string) {
	i := strings.LastIndexByte(path, '/')
	if i < 0 {
		return "", path
	}
	return path[:i], path[i+1:]
}

// lookup maps a path ("" and "/" are the root) to its node, or nil.
func (t *tree) lookup(path string) *node {
	if t.root == nil {
		return nil
	}
	if path == "" || path == "/" {
		return t.root
	}
	if path[0] != '/' {
		return nil
	}
	// the longest cached prefix of path that ends at an element boundary
	k := 0
	if len(t.cends) > 0 {
		m := min(len(path), len(t.cpath))
		i := 0
		for i < m && path[i] == t.cpath[i] {
			i++
		}
		// elements 1..k end at or before i, at a boundary of path too
		for k = len(t.cends) - 1; k > 0; k-- {
			e := t.cends[k]
			if e <= i && (e == len(path) || path[e] == '/') {
				break
			}
		}
	} else {
		t.cpath, t.cends, t.cnodes, t.cidx = t.cpath[:0], append(t.cends[:0], 0), append(t.cnodes[:0], t.root), append(t.cidx[:0], -1)
	}
	n := t.cnodes[k]
	pos := t.cends[k]
	hint := int32(-2) // the previous path's next element: mostly a sibling of this one's
	if k+1 < len(t.cidx) {
		hint = t.cidx[k+1]
	}
	t.cends, t.cnodes, t.cidx = t.cends[:k+1], t.cnodes[:k+1], t.cidx[:k+1]
	t.cpath = append(t.cpath[:pos], path[pos:]...)
	for pos < len(path) {
		// path[pos] == '/'
		end := pos + 1
		for end < len(path) && path[end] != '/' {
			end++
		}
		var i int32
		n, i = n.childNear(path[pos+1:end], hint)
		if n == nil {
			t.cpath = t.cpath[:pos]
			return nil
		}
		hint = -2
		t.cends, t.cnodes, t.cidx = append(t.cends, end), append(t.cnodes, n), append(t.cidx, i)
		pos = end
	}
	return n
}

// forget drops the lookup cache (a node on its path may be gone).
func (t *tree) forget() {
	t.cpath, t.cends, t.cnodes, t.cidx = t.cpath[:0], t.cends[:0], t.cnodes[:0], t.cidx[:0]
}

// Get implements zkreader.Tree.
func (t *tree) Get(path string) ([]byte, zkreader.Stat, bool) {
	n := t.lookup(path)
	if n == nil {
		return nil, zkreader.Stat{}, false
	}
	s := n.st
	return n.data, zkreader.Stat{
		Czxid: s.czxid, Mzxid: s.mzxid, Pzxid: s.pzxid, Ctime: s.ctime, Mtime: s.mtime, Version: s.version,
		// DataNode.copyStat: the persisted cversion counts creates; clients
		// see creates plus deletes.
		Cversion:       s.cversion*2 - int32(len(n.kids)),
		EphemeralOwner: clientOwner(s.owner),
	}, true
}

// Children implements zkreader.Tree.
func (t *tree) Children(path string) ([]string, bool) {
	n := t.lookup(path)
	if n == nil {
		return nil, false
	}
	// the names are copied (into one string): a reader may keep them
	// (e.g. pending deletions), the tree's memory is released after the read
	size := 0
	for _, k := range n.kids {
		size += len(k.name)
	}
	var sb strings.Builder
	sb.Grow(size)
	for _, k := range n.kids {
		sb.WriteString(k.name)
	}
	all := sb.String()
	names := make([]string, len(n.kids))
	off := 0
	for i, k := range n.kids {
		names[i] = all[off : off+len(k.name)]
		off += len(k.name)
	}
	return names, true
}

// The txn handlers below follow DataTree.createNode, deleteNode, setData
// and killSession, including their behaviour when a txn is replayed over a
// fuzzy snapshot that already holds its effect (NodeExists / NoNode).

// create applies a create; it reports false when the node exists already
// or its parent does not (ZooKeeper's NodeExists / NoNode).
func (t *tree) create(path string, data []byte, owner int64, parentCVersion int32, zxid, time int64) (exists bool) {
	if !t.keep(path) {
		return false
	}
	pp, name := splitPath(path)
	parent := t.lookup(pp)
	if parent == nil {
		return false
	}
	if parent.child(name) != nil {
		return true
	}
	if parentCVersion == -1 {
		parentCVersion = parent.st.cversion + 1
	}
	if parentCVersion > parent.st.cversion {
		parent.st.cversion = parentCVersion
		parent.st.pzxid = zxid
	}
	n := t.alloc()
	n.name, n.data = name, data
	n.st = stat{czxid: zxid, mzxid: zxid, pzxid: zxid, ctime: time, mtime: time, owner: owner}
	t.addKid(parent, n)
	t.count++
	t.addEphemeral(owner, path)
	return false
}

// setCversionPzxid is DataTree.setCversionPzxid (a replayed create that
// found its node already there).
func (t *tree) setCversionPzxid(path string, cversion int32, zxid int64) {
	n := t.lookup(path)
	if n == nil {
		return
	}
	if cversion == -1 {
		cversion = n.st.cversion + 1
	}
	if cversion > n.st.cversion {
		n.st.cversion = cversion
		n.st.pzxid = zxid
	}
}

func (t *tree) delete(path string, zxid int64) {
	if !t.keep(path) {
		return
	}
	pp, name := splitPath(path)
	parent := t.lookup(pp)
	if parent == nil {
		return
	}
	n := parent.removeKid(name)
	if zxid > parent.st.pzxid {
		parent.st.pzxid = zxid
	}
	if n == nil {
		return
	}
	t.forget()
	t.count -= subtreeSize(n)
	t.removeEphemeral(n.st.owner, path)
	// A node with children cannot be deleted in ZooKeeper; one deleted
	// here (a replay over a fuzzy snapshot) takes its subtree with it.
}

func subtreeSize(n *node) int {
	c := 1
	for _, k := range n.kids {
		c += subtreeSize(k)
	}
	return c
}

func (t *tree) setData(path string, data []byte, version int32, zxid, time int64) {
	if !t.keep(path) {
		return
	}
	n := t.lookup(path)
	if n == nil {
		return
	}
	n.data = data
	n.st.mtime = time
	n.st.mzxid = zxid
	n.st.version = version
}

func (t *tree) setACL(path string, version int32) {
	if n := t.lookup(path); n != nil {
		n.st.aversion = version
	}
}

// killSession deletes the session's ephemerals: those the CloseSessionTxn
// lists, then any others the tree knows of.
func (t *tree) killSession(session, zxid int64, listed []string) {
	for _, p := range listed {
		t.delete(p, zxid)
	}
	rest := append([]string(nil), t.ephemerals[session]...)
	delete(t.ephemerals, session)
	for _, p := range rest {
		t.delete(p, zxid)
	}
}

// prefaultSlabs makes up to n nodes' worth of slabs on a goroutine of its
// own and touches every page of them, so that the parse (the critical
// path of a load) finds their memory mapped: a fresh page costs a fault of
// a few microseconds, which the other core pays instead. stop ends it.
func (t *tree) prefaultSlabs(n int) {
	// Slabs of ~4.5 MB, each advised to use transparent huge pages: one
	// fault maps 2 MB instead of 4 KB (where the kernel allows it).
	const slabNodes = 32768
	if n < slabNodes {
		return // a small tree: alloc's own slabs do
	}
	slabs := make(chan []node, 2)
	t.slabs = slabs
	quit := make(chan struct{})
	go func() {
		defer close(slabs)
		for made := 0; made < n; made += slabNodes {
			s := make([]node, slabNodes)
			base := unsafe.Pointer(unsafe.SliceData(s))
			size := uintptr(len(s)) * unsafe.Sizeof(s[0])
			hugepages.Advise(base, size)
			for off := uintptr(0); off < size; off += 4096 {
				*(*byte)(unsafe.Add(base, off)) = 0 // a write maps the page
			}
			select {
			case slabs <- s:
			case <-quit:
				return
			}
		}
	}()
	var once sync.Once
	t.stopSlabs = func() { once.Do(func() { close(quit) }) }
}

// stopPrefault stops the prefaulter, if any, and drops its slabs.
func (t *tree) stopPrefault() {
	if t.stopSlabs != nil {
		t.stopSlabs()
	}
	t.slabs = nil
}
