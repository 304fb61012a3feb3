package quorum

import (
	"bufio"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// handshakeMagic opens every raft connection: the dialer sends it with its
// cluster id and node id, the acceptor answers 0 (welcome) or 1 and a reason.
// A node never speaks raft with a peer of another cluster.
const handshakeMagic = "ZKQR1"

const handshakeTimeout = 5 * time.Second

// streamLayer is a raft.StreamLayer over TCP (optionally mutual TLS) that
// checks the peer's cluster id, and that tests can cut (Disconnect).
type streamLayer struct {
	ln        net.Listener
	advertise net.Addr
	clusterID string
	nodeID    string
	tls       *tls.Config // nil: plaintext (loopback only)
	log       *slog.Logger

	accepted chan net.Conn
	closed   chan struct{}
	once     sync.Once

	mu    sync.Mutex
	cut   bool
	conns map[net.Conn]struct{}
}

func newStreamLayer(ln net.Listener, advertise net.Addr, clusterID, nodeID string, tlsConf *tls.Config, log *slog.Logger) *streamLayer {
	s := &streamLayer{
		ln: ln, advertise: advertise, clusterID: clusterID, nodeID: nodeID, tls: tlsConf, log: log,
		accepted: make(chan net.Conn),
		closed:   make(chan struct{}),
		conns:    map[net.Conn]struct{}{},
	}
	go s.acceptLoop()
	return s
}

func (s *streamLayer) acceptLoop() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			select {
			case <-s.closed:
				return
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		go s.admit(c)
	}
}

// admit runs the TLS and cluster handshakes of an incoming connection and
// hands it to raft only if both pass.
func (s *streamLayer) admit(c net.Conn) {
	if s.isCut() {
		c.Close()
		return
	}
	c.SetDeadline(time.Now().Add(handshakeTimeout))
	if s.tls != nil {
		tc := tls.Server(c, s.tls)
		if err := tc.Handshake(); err != nil {
			s.log.Warn("quorum: raft peer refused: TLS handshake failed", "remote", c.RemoteAddr(), "err", err)
			c.Close()
			return
		}
		c = tc
	}
	peerCluster, peerNode, err := readHello(c)
	if err != nil {
		s.log.Warn("quorum: raft peer refused: bad handshake", "remote", c.RemoteAddr(), "err", err)
		c.Close()
		return
	}
	if peerCluster != s.clusterID {
		reason := fmt.Sprintf("node %s belongs to cluster %q, peer %s to %q", s.nodeID, s.clusterID, peerNode, peerCluster)
		s.log.Error("quorum: raft peer refused: "+reason, "remote", c.RemoteAddr())
		writeReply(c, reason)
		c.Close()
		return
	}
	if err := writeReply(c, ""); err != nil {
		c.Close()
		return
	}
	c.SetDeadline(time.Time{})
	if !s.track(c) {
		c.Close()
		return
	}
	select {
	case s.accepted <- c:
	case <-s.closed:
		c.Close()
	}
}

// Accept implements net.Listener.
func (s *streamLayer) Accept() (net.Conn, error) {
	select {
	case c := <-s.accepted:
		return c, nil
	case <-s.closed:
		return nil, net.ErrClosed
	}
}

// Close implements net.Listener.
func (s *streamLayer) Close() error {
	s.once.Do(func() {
		close(s.closed)
		s.ln.Close()
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
	})
	return nil
}

// Addr implements net.Listener: the address peers dial.
func (s *streamLayer) Addr() net.Addr { return s.advertise }

// Dial implements raft.StreamLayer.
func (s *streamLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	if s.isCut() {
		return nil, fmt.Errorf("dial %s: transport disconnected", address)
	}
	d := net.Dialer{Timeout: timeout}
	c, err := d.Dial("tcp", string(address))
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(handshakeTimeout))
	if s.tls != nil {
		conf := s.tls.Clone()
		if host, _, err := net.SplitHostPort(string(address)); err == nil && conf.ServerName == "" {
			conf.ServerName = host
		}
		tc := tls.Client(c, conf)
		if err := tc.Handshake(); err != nil {
			c.Close()
			return nil, fmt.Errorf("dial %s: TLS handshake: %w", address, err)
		}
		c = tc
	}
	if err := writeHello(c, s.clusterID, s.nodeID); err != nil {
		c.Close()
		return nil, fmt.Errorf("dial %s: handshake: %w", address, err)
	}
	if reason, err := readReply(c); err != nil {
		c.Close()
		return nil, fmt.Errorf("dial %s: handshake: %w", address, err)
	} else if reason != "" {
		c.Close()
		return nil, fmt.Errorf("dial %s: %w: %s", address, ErrClusterIDMismatch, reason)
	}
	c.SetDeadline(time.Time{})
	if !s.track(c) {
		c.Close()
		return nil, fmt.Errorf("dial %s: transport disconnected", address)
	}
	return c, nil
}

func (s *streamLayer) isCut() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cut
}

func (s *streamLayer) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cut {
		return false
	}
	s.conns[c] = struct{}{}
	// Forget closed connections now and then so the map stays small.
	if len(s.conns) > 64 {
		for k := range s.conns {
			if isClosed(k) {
				delete(s.conns, k)
			}
		}
	}
	return true
}

// isClosed is a cheap check: a zero-length read deadline probe is not
// possible on every conn type, so closed conns are found by SetDeadline.
func isClosed(c net.Conn) bool {
	return c.SetReadDeadline(time.Time{}) != nil
}

// setCut cuts (true) or restores (false) every raft connection of this node.
func (s *streamLayer) setCut(cut bool) {
	s.mu.Lock()
	s.cut = cut
	var toClose []net.Conn
	if cut {
		for c := range s.conns {
			toClose = append(toClose, c)
		}
		s.conns = map[net.Conn]struct{}{}
	}
	s.mu.Unlock()
	for _, c := range toClose {
		c.Close()
	}
}

func writeHello(w io.Writer, clusterID, nodeID string) error {
	b := []byte(handshakeMagic)
	b = binary.AppendUvarint(b, uint64(len(clusterID)))
	b = append(b, clusterID...)
	b = binary.AppendUvarint(b, uint64(len(nodeID)))
	b = append(b, nodeID...)
	_, err := w.Write(b)
	return err
}

func readHello(r io.Reader) (clusterID, nodeID string, err error) {
	br := bufio.NewReaderSize(&exactReader{r: r}, 16)
	magic := make([]byte, len(handshakeMagic))
	if _, err := io.ReadFull(br, magic); err != nil {
		return "", "", err
	}
	if string(magic) != handshakeMagic {
		return "", "", fmt.Errorf("want magic %q, got %q", handshakeMagic, magic)
	}
	c, err := readString(br, 256)
	if err != nil {
		return "", "", fmt.Errorf("cluster id: %w", err)
	}
	n, err := readString(br, 256)
	if err != nil {
		return "", "", fmt.Errorf("node id: %w", err)
	}
	return c, n, nil
}

func writeReply(w io.Writer, reason string) error {
	b := []byte{0}
	if reason != "" {
		b[0] = 1
		b = binary.AppendUvarint(b, uint64(len(reason)))
		b = append(b, reason...)
	}
	_, err := w.Write(b)
	return err
}

func readReply(r io.Reader) (string, error) {
	br := bufio.NewReaderSize(&exactReader{r: r}, 16)
	code, err := br.ReadByte()
	if err != nil {
		return "", err
	}
	if code == 0 {
		return "", nil
	}
	reason, err := readString(br, 4096)
	if err != nil {
		return "", err
	}
	return reason, nil
}

func readString(br *bufio.Reader, max int) (string, error) {
	n, err := binary.ReadUvarint(br)
	if err != nil {
		return "", err
	}
	if n > uint64(max) {
		return "", fmt.Errorf("length %d exceeds %d", n, max)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(br, b); err != nil {
		return "", err
	}
	return string(b), nil
}

// exactReader reads one byte at a time so a bufio.Reader over it never
// consumes bytes past the handshake (raft's own traffic follows).
type exactReader struct{ r io.Reader }

func (e *exactReader) Read(p []byte) (int, error) {
	if len(p) > 1 {
		p = p[:1]
	}
	return e.r.Read(p)
}
