package quorum

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// LocalCluster is an in-process quorum of N nodes on loopback, for tests and
// `make demo`. Node i (0-based) has node id i+1 and keeps its raft and API
// addresses across Kill/Restart.
type LocalCluster struct {
	mu     sync.Mutex
	cfgs   []Config
	nodes  []*Node
	raftLn []string
	apiLn  []string
}

// StartLocalCluster starts n nodes with data dirs dir/node-1 ... dir/node-n,
// bootstraps them as one quorum with the given cluster id, and waits for a
// leader. opts adjust every node's Config (timing, snapshot threshold,
// machine, TLS, logger).
func StartLocalCluster(ctx context.Context, n int, dir, clusterID string, opts ...func(*Config)) (*LocalCluster, error) {
	if n < 1 {
		return nil, fmt.Errorf("local cluster: %d nodes: want at least 1", n)
	}
	lc := &LocalCluster{}
	var voters []Voter
	var raftLns, apiLns []net.Listener
	closeAll := func() {
		for _, l := range raftLns {
			l.Close()
		}
		for _, l := range apiLns {
			l.Close()
		}
	}
	for i := 0; i < n; i++ {
		rl, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("local cluster: listen: %w", err)
		}
		raftLns = append(raftLns, rl)
		al, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("local cluster: listen: %w", err)
		}
		apiLns = append(apiLns, al)
		voters = append(voters, Voter{ID: strconv.Itoa(i + 1), Addr: rl.Addr().String()})
		lc.raftLn = append(lc.raftLn, rl.Addr().String())
		lc.apiLn = append(lc.apiLn, al.Addr().String())
	}
	for i := 0; i < n; i++ {
		cfg := Config{
			NodeID:    strconv.Itoa(i + 1),
			Bind:      lc.raftLn[i],
			API:       lc.apiLn[i],
			DataDir:   filepath.Join(dir, "node-"+strconv.Itoa(i+1)),
			Voters:    voters,
			ClusterID: clusterID,
		}
		for _, o := range opts {
			o(&cfg)
		}
		lc.cfgs = append(lc.cfgs, cfg)
	}
	lc.nodes = make([]*Node, n)
	for i := 0; i < n; i++ {
		cfg := lc.cfgs[i]
		cfg.listener, cfg.apiLn = raftLns[i], apiLns[i]
		node, err := Start(ctx, cfg)
		if err != nil {
			for j := i + 1; j < n; j++ {
				raftLns[j].Close()
				apiLns[j].Close()
			}
			lc.Close()
			return nil, fmt.Errorf("local cluster: node %d: %w", i+1, err)
		}
		lc.nodes[i] = node
	}
	if _, err := lc.WaitLeader(ctx); err != nil {
		lc.Close()
		return nil, err
	}
	return lc, nil
}

// Size is the number of nodes.
func (lc *LocalCluster) Size() int { return len(lc.cfgs) }

// APIAddrs returns every node's client API address (also of killed nodes).
func (lc *LocalCluster) APIAddrs() []string { return append([]string(nil), lc.apiLn...) }

// RaftAddrs returns every node's raft address.
func (lc *LocalCluster) RaftAddrs() []string { return append([]string(nil), lc.raftLn...) }

// Node returns node i (0-based), or nil while it is killed or when there
// is no node i.
func (lc *LocalCluster) Node(i int) *Node {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if i < 0 || i >= len(lc.nodes) {
		return nil
	}
	return lc.nodes[i]
}

// Leader returns the index of the node that is leader now, or -1.
func (lc *LocalCluster) Leader() int {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	for i, n := range lc.nodes {
		if n != nil && n.IsLeader() {
			return i
		}
	}
	return -1
}

// WaitLeader waits until exactly one running node is leader and the others
// that are connected know it.
func (lc *LocalCluster) WaitLeader(ctx context.Context) (int, error) {
	for {
		if i := lc.Leader(); i >= 0 {
			return i, nil
		}
		select {
		case <-ctx.Done():
			return -1, fmt.Errorf("local cluster: no leader: %w", ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// Kill stops node i, 0-based (its data dir stays).
func (lc *LocalCluster) Kill(i int) error {
	lc.mu.Lock()
	if i < 0 || i >= len(lc.nodes) {
		lc.mu.Unlock()
		return fmt.Errorf("local cluster: no node index %d (0 … %d)", i, len(lc.nodes)-1)
	}
	n := lc.nodes[i]
	lc.nodes[i] = nil
	lc.mu.Unlock()
	if n == nil {
		return fmt.Errorf("local cluster: node %d is not running", i+1)
	}
	return n.Close()
}

// Restart starts node i again from its data dir, on the same addresses.
func (lc *LocalCluster) Restart(ctx context.Context, i int) error {
	return lc.RestartWith(ctx, i, nil)
}

// RestartWith restarts node i with its config changed by change (may be nil).
func (lc *LocalCluster) RestartWith(ctx context.Context, i int, change func(*Config)) error {
	lc.mu.Lock()
	if i < 0 || i >= len(lc.nodes) {
		lc.mu.Unlock()
		return fmt.Errorf("local cluster: no node index %d (0 … %d)", i, len(lc.nodes)-1)
	}
	running := lc.nodes[i] != nil
	lc.mu.Unlock()
	if running {
		return fmt.Errorf("local cluster: node %d is running", i+1)
	}
	cfg := lc.cfgs[i]
	if change != nil {
		change(&cfg)
	}
	var err error
	// The port may take a moment to be free again.
	for try := 0; try < 50; try++ {
		cfg.listener, err = net.Listen("tcp", lc.raftLn[i])
		if err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("local cluster: node %d: %w", i+1, err)
	}
	cfg.apiLn, err = net.Listen("tcp", lc.apiLn[i])
	if err != nil {
		cfg.listener.Close()
		return fmt.Errorf("local cluster: node %d: %w", i+1, err)
	}
	n, err := Start(ctx, cfg)
	if err != nil {
		cfg.listener.Close()
		cfg.apiLn.Close()
		return fmt.Errorf("local cluster: node %d: %w", i+1, err)
	}
	lc.mu.Lock()
	lc.nodes[i] = n
	lc.mu.Unlock()
	return nil
}

// Disconnect cuts node i's raft transport: every connection to and from it is
// closed and refused until Reconnect. Its client API stays up.
func (lc *LocalCluster) Disconnect(i int) {
	if n := lc.Node(i); n != nil {
		n.disconnect(true)
	}
}

// Reconnect restores node i's raft transport.
func (lc *LocalCluster) Reconnect(i int) {
	if n := lc.Node(i); n != nil {
		n.disconnect(false)
	}
}

// Close stops every node.
func (lc *LocalCluster) Close() error {
	lc.mu.Lock()
	nodes := lc.nodes
	lc.nodes = make([]*Node, len(nodes))
	lc.mu.Unlock()
	var errs []error
	for _, n := range nodes {
		if n != nil {
			if err := n.Close(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}
