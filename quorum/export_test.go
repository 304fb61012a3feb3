package quorum

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
