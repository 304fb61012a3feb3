package dualwrite

import (
	"container/heap"
	"errors"
	"path"
	"strings"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zk2kraft/zk2kraft/kafka"
	"github.com/zk2kraft/zk2kraft/zkreader"
)

// item is one read to do: a znode's data (data watch) or a list's children
// (child watch). seq orders it against the watch events: it is the event
// count when the event (or the read) that caused it arrived.
type item struct {
	path  string
	list  bool
	seq   uint64
	walk  bool      // part of the current watch-arming walk
	event bool      // caused by a watch event (its change counts toward lag)
	at    int64     // ms: when the event arrived (the lag of a deletion)
	gen   int       // session generation it belongs to
	hold  bool      // a topic's delta waits for it (topic znode reads and the state reads they start)
	seen  time.Time // when the watch event arrived (zero for walk reads)
	// direct: a watch event on this very path (else a read another read
	// started, e.g. a new child): only then is the znode's mtime the time
	// of the change being mirrored.
	direct bool

	rerun     bool // an event arrived while it was being read: read again
	rerunSeq  uint64
	rerunWalk bool
	rerunAt   int64
	rerunSeen time.Time
}

type itemKey struct {
	path string
	list bool
}

// seqSet is a multiset of sequence numbers with a cheap minimum: the
// sequence of every read not yet done and of every object not yet written.
type seqSet struct {
	count map[uint64]int
	h     seqHeap
}

type seqHeap []uint64

func (h seqHeap) Len() int           { return len(h) }
func (h seqHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h seqHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *seqHeap) Push(x any)        { *h = append(*h, x.(uint64)) }
func (h *seqHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func newSeqSet() *seqSet { return &seqSet{count: map[uint64]int{}} }

func (s *seqSet) add(v uint64) {
	if s.count[v] == 0 {
		heap.Push(&s.h, v)
	}
	s.count[v]++
}

func (s *seqSet) remove(v uint64) {
	if n := s.count[v]; n > 1 {
		s.count[v] = n - 1
		return
	}
	delete(s.count, v)
}

// min returns the smallest element, ok false when empty.
func (s *seqSet) min() (uint64, bool) {
	for s.h.Len() > 0 {
		v := s.h[0]
		if s.count[v] > 0 {
			return v, true
		}
		heap.Pop(&s.h)
	}
	return 0, false
}

func (s *seqSet) len() int { return len(s.count) }

// holdOwner is the topic whose deltas wait for a read ("" for none): the
// reads of a topic znode and the state reads a new assignment starts, so a
// new topic or partition is never written before its states are read. Other
// reads (a state change, a config change) hold nothing back: a topic whose
// partitions change all the time must not wait for a quiet moment.
func holdOwner(it *item, p parsedPath) string {
	if p.kind == pTopic || (p.kind == pState && it.hold) {
		return p.topic
	}
	return ""
}

// readResult is the answer to one item.
type readResult struct {
	exists   bool
	data     []byte
	children []string
	stat     *zk.Stat
	err      error
}

// read reads one item with a watch. A missing znode of a fixed path gets an
// exists watch so its creation is seen.
func read(conn *zk.Conn, full string, it *item, watchExists bool) readResult {
	for attempt := 0; attempt < 5; attempt++ {
		var r readResult
		if it.list {
			r.children, r.stat, _, r.err = conn.ChildrenW(full)
		} else {
			r.data, r.stat, _, r.err = conn.GetW(full)
		}
		if r.err == nil {
			r.exists = true
			return r
		}
		if !errors.Is(r.err, zk.ErrNoNode) {
			return r
		}
		if !watchExists {
			return readResult{}
		}
		ok, st, _, err := conn.ExistsW(full)
		if err != nil {
			return readResult{err: err}
		}
		if !ok {
			return readResult{stat: st}
		}
		// Created between the two requests: read it again.
	}
	return readResult{err: errors.New("znode keeps appearing and vanishing")}
}

// retryable reports whether a read error is the connection's, not the znode's.
func retryable(err error) bool {
	return errors.Is(err, zk.ErrConnectionClosed) || errors.Is(err, zk.ErrSessionExpired) ||
		errors.Is(err, zk.ErrNoServer) || errors.Is(err, zk.ErrClosing) || errors.Is(err, zk.ErrSessionMoved)
}

func toStat(s *zk.Stat) zkreader.Stat {
	if s == nil {
		return zkreader.Stat{}
	}
	return zkreader.Stat{Czxid: s.Czxid, Mzxid: s.Mzxid, Pzxid: s.Pzxid, Ctime: s.Ctime, Mtime: s.Mtime,
		Version: s.Version, Cversion: s.Cversion, EphemeralOwner: s.EphemeralOwner}
}

func statZxid(s *zk.Stat) int64 {
	if s == nil {
		return 0
	}
	return max(s.Czxid, s.Mzxid, s.Pzxid)
}

// --- applying a read to the model (m.mu held) -----------------------------

// applyRead folds one answer into the model, marks the objects it touches
// dirty and queues the reads it calls for (new children, new partitions).
func (m *Mirror) applyRead(it *item, pp parsedPath, r readResult) {
	if it.list {
		m.applyList(it, pp, r)
		return
	}
	md := m.model
	st := toStat(r.stat)
	if r.exists {
		if old, ok := md.mzxid[it.path]; ok && old > st.Mzxid {
			return // an older answer than the one already applied
		}
		md.mzxid[it.path] = st.Mzxid
	} else {
		delete(md.mzxid, it.path)
		m.forgetChild(it.path)
		// No watch is left on the missing znode. Its parent list may have
		// been read after this answer was given, yet applied before it
		// (reads run concurrently), and already list the znode created
		// again: read the list once more (after this answer, so newer) so a
		// re-created child is seen as new.
		if parent := path.Dir(it.path); md.children[parent] != nil {
			m.enqueue(&item{path: parent, list: true, seq: it.seq, event: it.event, at: it.at, gen: it.gen, seen: it.seen})
		}
	}
	at := it.at
	if r.exists && st.Mtime > 0 && it.direct {
		at = st.Mtime
	}
	mark := func(k objKey) { m.markDirty(k, it.seq, at, it.event, it.seen) }
	report := func(f []zkreader.Finding) {
		for _, x := range f {
			m.log.Warn("mirror: znode not mirrored as is", "finding", x.String())
		}
	}
	switch pp.kind {
	case pTopic:
		t := pp.topic
		tz := md.topics[t]
		if !r.exists {
			m.dropTopic(t)
			mark(objKey{kind: kindTopic, name: t})
			return
		}
		v, f := zkreader.ParseTopic(it.path, r.data, st)
		report(f)
		if tz == nil {
			tz = &topicZK{states: map[int32]*zkreader.PartitionState{}}
			md.topics[t] = tz
		}
		tz.topic = v
		old := md.assignments[t]
		now := map[int32]bool{}
		if v != nil {
			for _, p := range v.Partitions {
				now[p.ID] = true
				if !old[p.ID] {
					m.enqueue(&item{path: statePath(t, p.ID), seq: it.seq, walk: it.walk, event: it.event, at: it.at, gen: it.gen, hold: true, seen: it.seen})
				}
			}
		}
		for p := range old {
			if !now[p] {
				delete(tz.states, p)
				delete(md.mzxid, statePath(t, p))
			}
		}
		md.assignments[t] = now
		mark(objKey{kind: kindTopic, name: t})
	case pState:
		tz := md.topics[pp.topic]
		if tz == nil || !md.assignments[pp.topic][pp.part] {
			return // the topic or partition went away meanwhile
		}
		if r.exists {
			v, f := zkreader.ParsePartitionState(it.path, r.data, st)
			report(f)
			tz.states[pp.part] = v
		} else {
			delete(tz.states, pp.part)
		}
		mark(objKey{kind: kindPartition, name: pp.topic, part: pp.part})
	case pTopicConfig:
		delete(md.topicCfg, pp.topic)
		if r.exists {
			v, f := zkreader.ParseEntityConfig(it.path, r.data, st)
			report(f)
			if v != nil {
				md.topicCfg[pp.topic] = v
			}
		}
		mark(objKey{kind: kindTopicConfig, name: pp.topic})
	case pBrokerConfig:
		delete(md.brokerCfg, pp.name)
		if r.exists {
			v, f := zkreader.ParseEntityConfig(it.path, r.data, st)
			report(f)
			if v != nil {
				md.brokerCfg[pp.name] = v
			}
		}
		mark(objKey{kind: kindBrokerConfig, name: pp.name})
	case pUser, pUserClient, pClient, pIP:
		delete(md.quotas, pp.quota)
		if r.exists {
			q := &quotaZK{mtime: st.Mtime}
			var f []zkreader.Finding
			if pp.kind == pUser {
				q.quota, q.scram, f = zkreader.ParseUserConfig(it.path, r.data, st)
			} else {
				q.quota, f = zkreader.ParseQuotaConfig(it.path, r.data, st)
			}
			report(f)
			md.quotas[pp.quota] = q
		}
		mark(objKey{kind: kindQuota, name: pp.quota})
	case pACL:
		delete(md.acls, it.path)
		if r.exists {
			v, f := zkreader.ParseACLs(it.path, r.data, st)
			report(f)
			if v != nil {
				md.acls[it.path] = v
			}
		}
		mark(objKey{kind: kindACL, name: it.path})
	case pProducerID:
		md.producerID = nil
		if r.exists {
			v, f := zkreader.ParseProducerIDBlock(it.path, r.data, st)
			report(f)
			md.producerID = v
		}
		mark(objKey{kind: kindProducerID})
	case pToken:
		delete(md.tokens, pp.name)
		if r.exists {
			v, f := zkreader.ParseDelegationToken(it.path, r.data, st)
			report(f)
			if v != nil {
				md.tokens[pp.name] = v
			}
		}
		mark(objKey{kind: kindToken, name: pp.name})
	}
}

// forgetChild drops a vanished znode from its list, so that a znode of the
// same name created later is read as new.
func (m *Mirror) forgetChild(p string) {
	if set := m.model.children[path.Dir(p)]; set != nil {
		delete(set, path.Base(p))
	}
}

func (m *Mirror) dropTopic(t string) {
	md := m.model
	for p := range md.assignments[t] {
		delete(md.mzxid, statePath(t, p))
	}
	delete(md.topics, t)
	delete(md.assignments, t)
	delete(md.mzxid, pathTopics+"/"+t)
}

func (m *Mirror) applyList(it *item, pp parsedPath, r readResult) {
	md := m.model
	old := md.children[it.path]
	now := make(map[string]bool, len(r.children))
	for _, c := range r.children {
		now[c] = true
	}
	if r.exists {
		md.children[it.path] = now
	} else {
		delete(md.children, it.path)
	}
	at := it.at
	mark := func(k objKey) { m.markDirty(k, it.seq, at, it.event, it.seen) }
	sub := func(p string, list bool) {
		m.enqueue(&item{path: p, list: list, seq: it.seq, walk: it.walk, event: it.event, at: it.at, gen: it.gen, seen: it.seen})
	}
	for c := range now {
		if old[c] {
			continue
		}
		child := it.path + "/" + c
		switch pp.kind {
		case pTopicList, pTopicConfigList, pBrokerConfigList, pUserClientList, pClientList, pIPList, pACLList, pTokenList:
			sub(child, false)
		case pDeleteList:
			md.pending[c] = true
			mark(objKey{kind: kindTopic, name: c})
		case pUserList:
			sub(child, false)
			sub(child+"/clients", true)
		case pACLTypeList:
			if _, _, ok := kafka.LookupEnum(kafka.ResourceTypeCodes, c); ok {
				sub(child, true)
			} else {
				m.log.Warn("mirror: unknown ACL resource type; Kafka skips its ACLs and so does the mirror", "path", child)
			}
		}
	}
	for c := range old {
		if now[c] {
			continue
		}
		child := it.path + "/" + c
		switch pp.kind {
		case pTopicList:
			m.dropTopic(c)
			mark(objKey{kind: kindTopic, name: c})
		case pDeleteList:
			delete(md.pending, c)
			mark(objKey{kind: kindTopic, name: c})
		case pTopicConfigList:
			delete(md.topicCfg, c)
			delete(md.mzxid, child)
			mark(objKey{kind: kindTopicConfig, name: c})
		case pBrokerConfigList:
			delete(md.brokerCfg, c)
			delete(md.mzxid, child)
			mark(objKey{kind: kindBrokerConfig, name: c})
		case pUserList:
			rel := "users/" + c
			delete(md.quotas, rel)
			delete(md.mzxid, child)
			mark(objKey{kind: kindQuota, name: rel})
			for cc := range md.children[child+"/clients"] {
				crel := rel + "/clients/" + cc
				delete(md.quotas, crel)
				delete(md.mzxid, child+"/clients/"+cc)
				mark(objKey{kind: kindQuota, name: crel})
			}
			delete(md.children, child+"/clients")
		case pUserClientList, pClientList, pIPList:
			rel := strings.TrimPrefix(child, "/config/")
			delete(md.quotas, rel)
			delete(md.mzxid, child)
			mark(objKey{kind: kindQuota, name: rel})
		case pACLTypeList:
			for n := range md.children[child] {
				ap := child + "/" + n
				delete(md.acls, ap)
				delete(md.mzxid, ap)
				mark(objKey{kind: kindACL, name: ap})
			}
			delete(md.children, child)
		case pACLList:
			delete(md.acls, child)
			delete(md.mzxid, child)
			mark(objKey{kind: kindACL, name: child})
		case pTokenList:
			delete(md.tokens, c)
			delete(md.mzxid, child)
			mark(objKey{kind: kindToken, name: c})
		}
	}
}

// nowMs is the wall clock in ms (ZooKeeper's mtime unit).
func nowMs() int64 { return time.Now().UnixMilli() }
