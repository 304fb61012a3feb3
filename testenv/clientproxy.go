package testenv

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// ClientProxy stands between ZooKeeper clients and one server's client
// port, to give a client the faults of its own network: Block cuts every
// connection and refuses new ones (the servers then expire the client's
// session once its timeout passes), and SetLatency delays every byte in
// each direction (a slow or distant ZooKeeper). The servers see nothing
// unusual; other clients are not affected.
type ClientProxy struct {
	ln       net.Listener
	upstream string

	mu      sync.Mutex
	blocked bool
	latency time.Duration
	conns   map[net.Conn]bool
	closed  bool
}

// NewClientProxy listens on a loopback port and forwards to upstream
// (host:port of a server's client port) until Close.
func NewClientProxy(upstream string) (*ClientProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("client proxy for %s: %w", upstream, err)
	}
	p := &ClientProxy{ln: ln, upstream: upstream, conns: map[net.Conn]bool{}}
	go p.serve()
	return p, nil
}

// ClientProxies puts a ClientProxy in front of every server of the ensemble
// for a test (closed at cleanup) and returns them with their connect string.
func (e *Env) ClientProxies(t testing.TB) ([]*ClientProxy, string) {
	t.Helper()
	var ps []*ClientProxy
	var addrs []string
	for _, s := range e.Servers() {
		p, err := NewClientProxy(s)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Close)
		ps = append(ps, p)
		addrs = append(addrs, p.Addr())
	}
	return ps, strings.Join(addrs, ",")
}

// Addr is the proxy's host:port, for a client's connect string.
func (p *ClientProxy) Addr() string { return p.ln.Addr().String() }

// Block cuts every connection and refuses new ones until Unblock.
func (p *ClientProxy) Block() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.blocked = true
	for c := range p.conns {
		c.Close()
	}
	p.conns = map[net.Conn]bool{}
}

// Unblock accepts connections again.
func (p *ClientProxy) Unblock() {
	p.mu.Lock()
	p.blocked = false
	p.mu.Unlock()
}

// SetLatency delays what crosses the proxy by d in each direction (a round
// trip takes 2d longer); 0 turns the delay off. It applies to the bytes
// read after the call, on every connection.
func (p *ClientProxy) SetLatency(d time.Duration) {
	p.mu.Lock()
	p.latency = d
	p.mu.Unlock()
}

// Close stops the proxy and cuts its connections.
func (p *ClientProxy) Close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.ln.Close()
	p.Block()
}

func (p *ClientProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		refuse := p.blocked || p.closed
		p.mu.Unlock()
		if refuse {
			c.Close()
			continue
		}
		u, err := net.DialTimeout("tcp", p.upstream, 2*time.Second)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		if p.blocked || p.closed {
			// Blocked while dialing: Block did not see this connection.
			p.mu.Unlock()
			c.Close()
			u.Close()
			continue
		}
		p.conns[c], p.conns[u] = true, true
		p.mu.Unlock()
		go p.pipe(u, c)
		go p.pipe(c, u)
	}
}

func (p *ClientProxy) delay() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.latency
}

// pipe copies src to dst, each chunk no sooner than the latency after it
// was read; chunks keep their order and the delay does not limit the rate.
func (p *ClientProxy) pipe(dst, src net.Conn) {
	defer dst.Close()
	defer src.Close()
	type chunk struct {
		b   []byte
		due time.Time
	}
	q := make(chan chunk, 1024)
	go func() {
		defer close(q)
		for {
			b := make([]byte, 32<<10)
			n, err := src.Read(b)
			if n > 0 {
				q <- chunk{b[:n], time.Now().Add(p.delay())}
			}
			if err != nil {
				return
			}
		}
	}()
	for c := range q {
		if d := time.Until(c.due); d > 0 {
			time.Sleep(d)
		}
		if _, err := dst.Write(c.b); err != nil {
			src.Close()
			for range q {
			}
			return
		}
	}
}
