package quorum

import (
	"log/slog"
	"os"
	"path/filepath"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
)

// Test hooks for the external test package (quorum_test).
var (
	NewKVMachine    = newKV
	TestBatch       = testBatch
	TestBatchValues = testBatchValues
)

// KVGet reads a key of a node whose machine is the fake kvMachine.
func KVGet(n *Node, k string) (string, bool) {
	n.fsm.mu.RLock()
	defer n.fsm.mu.RUnlock()
	return n.fsm.machine.(*kvMachine).get(k)
}

// KVMap copies a kvMachine node's whole state.
func KVMap(n *Node) map[string]string {
	n.fsm.mu.RLock()
	defer n.fsm.mu.RUnlock()
	return n.fsm.machine.(*kvMachine).snapshotMap()
}

// MoveLogToRaftDB rewrites a stopped node's data dir the way a node before
// raft-log/ wrote it: the raft log inside raft.db, no raft-log/ directory.
func MoveLogToRaftDB(dataDir string) (entries int, err error) {
	sl, err := openSegmentLog(filepath.Join(dataDir, SegmentLogDirName), slog.New(slog.DiscardHandler))
	if err != nil {
		return 0, err
	}
	defer sl.Close()
	db, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(dataDir, "raft.db")})
	if err != nil {
		return 0, err
	}
	defer db.Close()
	first, _ := sl.FirstIndex()
	last, _ := sl.LastIndex()
	for i := first; i <= last && last > 0; i++ {
		var l raft.Log
		if err := sl.GetLog(i, &l); err != nil {
			return entries, err
		}
		if err := db.StoreLog(&l); err != nil {
			return entries, err
		}
		entries++
	}
	return entries, os.RemoveAll(filepath.Join(dataDir, SegmentLogDirName))
}
