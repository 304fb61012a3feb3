package dualwrite

import (
	"io"
	"log/slog"
	"sync"
	"testing"

	"github.com/go-zookeeper/zk"
)

func newTestMirror() *Mirror {
	m := &Mirror{log: slog.New(slog.NewTextHandler(io.Discard, nil)), model: newModel(), queued: map[itemKey]*item{},
		inflight: map[itemKey]*item{}, outstanding: map[string]int{}, dirty: map[objKey]*dirtyInfo{}, seqs: newSeqSet(),
		wake: make(chan struct{}, 1), mx: newMirrorMetrics(nil)}
	m.cond = sync.NewCond(&m.mu)
	return m
}

// TestNoNodeAnswerRereadsItsList: reads run concurrently, so the answer
// "token a is gone" (given before a was created again) can be applied after
// a newer read of the token list that shows a again. The missing znode has
// no watch left, so the mirror must read the list once more and find a as
// a new child; else a stays missing from the quorum for good.
func TestNoNodeAnswerRereadsItsList(t *testing.T) {
	m := newTestMirror()
	list := &item{path: pathTokens, list: true, seq: 1}
	child := pathTokens + "/a"
	inQueue := func(path string, list bool) bool {
		return m.queued[itemKey{path, list}] != nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.applyRead(list, classify(pathTokens), readResult{exists: true, children: []string{"a"}, stat: &zk.Stat{}})
	if !inQueue(child, false) {
		t.Fatalf("a new child was not read")
	}
	m.queue, m.queued = nil, map[itemKey]*item{}
	// The newer list answer (a created again) is applied first: nothing new.
	m.applyRead(list, classify(pathTokens), readResult{exists: true, children: []string{"a"}, stat: &zk.Stat{}})
	if len(m.queue) != 0 {
		t.Fatalf("unchanged list read queued %d reads", len(m.queue))
	}
	// Then the older answer for a: gone.
	m.applyRead(&item{path: child, seq: 2}, classify(child), readResult{})
	if !inQueue(pathTokens, true) {
		t.Fatalf("a missing child did not queue a read of its list; queue %+v", m.queue)
	}
	m.queue, m.queued = nil, map[itemKey]*item{}
	// That list read (newer than the NoNode answer) shows a: read it.
	m.applyRead(list, classify(pathTokens), readResult{exists: true, children: []string{"a"}, stat: &zk.Stat{}})
	if !inQueue(child, false) {
		t.Fatalf("the re-created child was not read")
	}
}
