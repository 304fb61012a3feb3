package datadir

import (
	"math"
	"strings"

	"github.com/zk2kraft/zk2kraft/zkreader"
)

// stat is ZooKeeper's StatPersisted.
type stat struct {
	czxid, mzxid, ctime, mtime  int64
	version, cversion, aversion int32
	owner, pzxid                int64
}

type node struct {
	data     []byte
	children []string
	st       stat
}

// tree is ZooKeeper's DataTree as far as a read needs it: nodes by path
// (the root is ""), children, persisted stats, and ephemerals by session.
// Only the chroot's subtree and its ancestors are kept (keep).
type tree struct {
	nodes      map[string]*node
	slab       []node
	slabSize   int
	ephemerals map[int64][]string
	chroot     string // "" or "/kafka"
}

func newTree(chroot string, sizeHint int) *tree {
	return &tree{nodes: make(map[string]*node, sizeHint), ephemerals: map[int64][]string{}, chroot: chroot}
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
		t.slabSize = min(max(2*t.slabSize, 64), 8192)
		t.slab = make([]node, t.slabSize)
	}
	n := &t.slab[0]
	t.slab = t.slab[1:]
	return n
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

// lookup maps a client path ("/" is the root) to the node.
func (t *tree) lookup(path string) *node {
	if path == "/" {
		path = ""
	}
	return t.nodes[path]
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
		Cversion:       s.cversion*2 - int32(len(n.children)),
		EphemeralOwner: clientOwner(s.owner),
	}, true
}

// Children implements zkreader.Tree.
func (t *tree) Children(path string) ([]string, bool) {
	n := t.lookup(path)
	if n == nil {
		return nil, false
	}
	return n.children, true
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
	parent := t.nodes[pp]
	if parent == nil {
		return false
	}
	if t.nodes[path] != nil {
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
	n.data = data
	n.st = stat{czxid: zxid, mzxid: zxid, pzxid: zxid, ctime: time, mtime: time, owner: owner}
	parent.children = append(parent.children, name)
	t.nodes[path] = n
	t.addEphemeral(owner, path)
	return false
}

// setCversionPzxid is DataTree.setCversionPzxid (a replayed create that
// found its node already there).
func (t *tree) setCversionPzxid(path string, cversion int32, zxid int64) {
	n := t.nodes[path]
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
	parent := t.nodes[pp]
	if parent == nil {
		return
	}
	for i, c := range parent.children {
		if c == name {
			last := len(parent.children) - 1
			parent.children[i] = parent.children[last]
			parent.children[last] = ""
			parent.children = parent.children[:last]
			break
		}
	}
	if zxid > parent.st.pzxid {
		parent.st.pzxid = zxid
	}
	n := t.nodes[path]
	if n == nil {
		return
	}
	delete(t.nodes, path)
	t.removeEphemeral(n.st.owner, path)
	// A node with children cannot be deleted in ZooKeeper; its subtree is
	// gone from the map only if the log deleted it child first.
}

func (t *tree) setData(path string, data []byte, version int32, zxid, time int64) {
	n := t.nodes[path]
	if n == nil || !t.keep(path) {
		return
	}
	n.data = data
	n.st.mtime = time
	n.st.mzxid = zxid
	n.st.version = version
}

func (t *tree) setACL(path string, version int32) {
	if n := t.nodes[path]; n != nil {
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
