package testenv

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"
)

// peerNet carries the process backend's server-to-server traffic through
// small TCP proxies, one pair of listeners (quorum, election) per ordered
// pair of nodes, so that a node can be cut off from its peers (Partition)
// while its client port stays up, like a node behind a broken switch port.
//
// Node a's zoo.cfg names every peer b by the address of the proxy (a→b);
// node a's own entry is its real ports. ZooKeeper's election protocol tells
// the peer its own election address in the first message of a connection
// (QuorumCnxManager InitialMessage) and the peer may connect back to that
// address; the election proxy rewrites it to the proxy (b→a), so no
// connection between two nodes ever bypasses the proxies.
type peerNet struct {
	mu     sync.Mutex
	cut    map[int]bool
	conns  map[*proxyConn]struct{}
	lns    []net.Listener
	closed bool
	wg     sync.WaitGroup
	// electionProxy[a][b] is the port of the election proxy a→b.
	electionProxy map[int]map[int]int
	// alive reports whether node i's process runs; while it does, a proxy
	// retries dialing it (its JVM may not listen yet) instead of dropping a
	// connection whose first bytes ZooKeeper already counts as sent.
	alive func(i int) bool
}

type proxyConn struct {
	a, b         int // from node a to node b
	client, peer net.Conn
}

func newPeerNet(alive func(i int) bool) *peerNet {
	return &peerNet{cut: map[int]bool{}, conns: map[*proxyConn]struct{}{}, electionProxy: map[int]map[int]int{}, alive: alive}
}

// dialPeer connects to node b's target, retrying for up to 10 s while b's
// process runs and the link is not cut. A direct connection to a node whose
// port is not open yet is refused and ZooKeeper retries later; a proxy has
// already accepted, so it must wait for the port instead of losing the
// messages ZooKeeper wrote meanwhile.
func (p *peerNet) dialPeer(a, b int, target string) (net.Conn, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", target, 2*time.Second)
		if err == nil {
			return c, nil
		}
		p.mu.Lock()
		stop := p.closed || p.cut[a] || p.cut[b]
		p.mu.Unlock()
		if stop || !p.alive(b) || time.Now().After(deadline) {
			return nil, err
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// listen opens the proxy a→b in front of target and returns its port.
func (p *peerNet) listen(a, b int, target func() string, election bool) (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("peer proxy %d->%d: %w", a, b, err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	p.mu.Lock()
	p.lns = append(p.lns, ln)
	if election {
		if p.electionProxy[a] == nil {
			p.electionProxy[a] = map[int]int{}
		}
		p.electionProxy[a][b] = port
	}
	p.mu.Unlock()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(a, b, c, target(), election)
		}
	}()
	return port, nil
}

func (p *peerNet) serve(a, b int, client net.Conn, target string, election bool) {
	p.mu.Lock()
	if p.closed || p.cut[a] || p.cut[b] {
		p.mu.Unlock()
		client.Close()
		return
	}
	p.mu.Unlock()
	peer, err := p.dialPeer(a, b, target)
	if err != nil {
		client.Close()
		return
	}
	pc := &proxyConn{a: a, b: b, client: client, peer: peer}
	p.mu.Lock()
	if p.closed || p.cut[a] || p.cut[b] {
		p.mu.Unlock()
		client.Close()
		peer.Close()
		return
	}
	p.conns[pc] = struct{}{}
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.conns, pc)
		p.mu.Unlock()
		client.Close()
		peer.Close()
	}()
	if election {
		if err := p.rewriteInitialMessage(a, b, client, peer); err != nil {
			return
		}
	}
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(peer, client); done <- struct{}{} }()
	go func() { _, _ = io.Copy(client, peer); done <- struct{}{} }()
	<-done
}

// rewriteInitialMessage copies the first message of an election connection
// from node a to node b, replacing the election address a advertises by the
// proxy b→a. Layout (QuorumCnxManager.startConnection, protocol v1/v2):
// int64 protocol version (negative), int64 sid, int32 length, address bytes.
// A non-negative first long is the pre-3.5 form (just the sid).
func (p *peerNet) rewriteInitialMessage(a, b int, client, peer net.Conn) error {
	_ = client.SetReadDeadline(time.Now().Add(10 * time.Second))
	defer client.SetReadDeadline(time.Time{})
	var hdr [8]byte
	if _, err := io.ReadFull(client, hdr[:]); err != nil {
		return err
	}
	if int64(binary.BigEndian.Uint64(hdr[:])) >= 0 {
		_, err := peer.Write(hdr[:])
		return err
	}
	var rest [12]byte
	if _, err := io.ReadFull(client, rest[:]); err != nil {
		return err
	}
	n := binary.BigEndian.Uint32(rest[8:])
	if n > 8192 {
		return fmt.Errorf("election message from node %d: address of %d bytes", a, n)
	}
	if _, err := io.CopyN(io.Discard, client, int64(n)); err != nil {
		return err
	}
	p.mu.Lock()
	back := p.electionProxy[b][a]
	p.mu.Unlock()
	addr := []byte("127.0.0.1:" + strconv.Itoa(back))
	out := make([]byte, 0, 20+len(addr))
	out = append(out, hdr[:]...)
	out = append(out, rest[:8]...)
	out = binary.BigEndian.AppendUint32(out, uint32(len(addr)))
	out = append(out, addr...)
	_, err := peer.Write(out)
	return err
}

// partition cuts node i off: open connections to and from it are closed and
// new ones refused until heal.
func (p *peerNet) partition(i int) {
	p.mu.Lock()
	p.cut[i] = true
	var drop []*proxyConn
	for pc := range p.conns {
		if pc.a == i || pc.b == i {
			drop = append(drop, pc)
		}
	}
	p.mu.Unlock()
	for _, pc := range drop {
		pc.client.Close()
		pc.peer.Close()
	}
}

func (p *peerNet) heal(i int) {
	p.mu.Lock()
	delete(p.cut, i)
	p.mu.Unlock()
}

func (p *peerNet) close() {
	p.mu.Lock()
	p.closed = true
	lns := p.lns
	var conns []*proxyConn
	for pc := range p.conns {
		conns = append(conns, pc)
	}
	p.mu.Unlock()
	for _, ln := range lns {
		ln.Close()
	}
	for _, pc := range conns {
		pc.client.Close()
		pc.peer.Close()
	}
	p.wg.Wait()
}
