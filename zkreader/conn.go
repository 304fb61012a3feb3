package zkreader

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// ErrSessionExpired is returned when the ZooKeeper session expired during a
// read (the ensemble was unreachable for longer than the session timeout).
var ErrSessionExpired = errors.New("ZooKeeper session expired")

// ErrAuthFailed is returned when the server rejects the digest credentials.
var ErrAuthFailed = errors.New("ZooKeeper authentication failed")

// errFrameTooLarge is a reply larger than maxFrame.
var errFrameTooLarge = errors.New("reply frame too large")

// errUnsupported marks a server that does not implement multiRead.
var errUnsupported = errors.New("server does not support multiRead (ZooKeeper < 3.6)")

// session is a ZooKeeper session shared by the successive TCP connections of
// one reader connection slot.
type session struct {
	id       int64
	passwd   []byte
	timeout  time.Duration // negotiated
	lastZxid atomic.Int64  // highest zxid seen on this session
}

func (s *session) seen(zxid int64) {
	for {
		cur := s.lastZxid.Load()
		if zxid <= cur || s.lastZxid.CompareAndSwap(cur, zxid) {
			return
		}
	}
}

// serverConn is one TCP (or TLS) connection speaking the jute protocol.
type serverConn struct {
	addr      string
	nc        net.Conn
	br        *bufio.Reader
	wmu       sync.Mutex
	bw        *bufio.Writer
	lastWrite atomic.Int64 // unix nanos
	readTO    time.Duration
}

// dialServer connects to addr, opens (or resumes) the session and sends the
// digest auth if configured.
func dialServer(ctx context.Context, addr string, o *Options, tlsCfg *tls.Config, s *session) (*serverConn, error) {
	d := net.Dialer{Timeout: 5 * time.Second}
	var nc net.Conn
	var err error
	if tlsCfg != nil {
		td := tls.Dialer{NetDialer: &d, Config: tlsCfg}
		nc, err = td.DialContext(ctx, "tcp", addr)
		var oe *net.OpError
		if err != nil && !errors.As(err, &oe) && ctx.Err() == nil {
			// Connected, but the handshake failed.
			return nil, fmt.Errorf("dial %s: TLS handshake: %w (is it ZooKeeper's secure client port, and do our CA and its certificate match?)", addr, err)
		}
	} else {
		nc, err = d.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	c := &serverConn{addr: addr, nc: nc, br: bufio.NewReaderSize(nc, 256<<10), bw: bufio.NewWriterSize(nc, 64<<10)}
	fail := func(err error) (*serverConn, error) {
		nc.Close()
		return nil, err
	}
	handshakeTO := 10 * time.Second
	nc.SetDeadline(time.Now().Add(handshakeTO))
	if err := c.writeFrame(connectRequest(s.lastZxid.Load(), int32(o.SessionTimeout/time.Millisecond), s.id, s.passwd)); err != nil {
		return fail(fmt.Errorf("connect to %s: %w", addr, err))
	}
	if err := c.flush(); err != nil {
		return fail(fmt.Errorf("connect to %s: %w", addr, err))
	}
	f, err := c.readFrame()
	if err != nil {
		if s.id != 0 {
			return fail(fmt.Errorf("resume session 0x%x on %s (the server may be behind zxid 0x%x or not serving): %w", s.id, addr, s.lastZxid.Load(), err))
		}
		return fail(fmt.Errorf("connect to %s (is it serving?): %w", addr, err))
	}
	r, err := decodeConnectResponse(f)
	if err != nil {
		return fail(fmt.Errorf("connect to %s: bad ConnectResponse: %w", addr, err))
	}
	if r.timeoutMs <= 0 {
		return fail(fmt.Errorf("%w: session 0x%x (server %s)", ErrSessionExpired, s.id, addr))
	}
	s.id, s.passwd, s.timeout = r.sessionID, r.passwd, time.Duration(r.timeoutMs)*time.Millisecond
	c.readTO = s.timeout * 2 / 3
	if o.authUser != "" {
		if err := c.writeFrame(authRequest("digest", []byte(o.authUser+":"+o.authPass))); err != nil {
			return fail(fmt.Errorf("auth on %s: %w", addr, err))
		}
		if err := c.flush(); err != nil {
			return fail(fmt.Errorf("auth on %s: %w", addr, err))
		}
		f, err := c.readFrame()
		if err != nil {
			return fail(fmt.Errorf("%w: server %s closed the connection after the auth packet", ErrAuthFailed, addr))
		}
		d := dec{b: f}
		h := decodeReplyHeader(&d)
		if d.err != nil || h.xid != xidAuth || h.err != errOK {
			return fail(fmt.Errorf("%w for digest user %q on %s (%s)", ErrAuthFailed, o.authUser, addr, zkErrName(h.err)))
		}
	}
	nc.SetDeadline(time.Time{})
	return c, nil
}

// writeFrame buffers one length-prefixed frame (callers hold wmu when the
// connection is shared).
func (c *serverConn) writeFrame(b []byte) error {
	var h [4]byte
	binary.BigEndian.PutUint32(h[:], uint32(len(b)))
	if _, err := c.bw.Write(h[:]); err != nil {
		return err
	}
	_, err := c.bw.Write(b)
	c.lastWrite.Store(time.Now().UnixNano())
	return err
}

func (c *serverConn) flush() error { return c.bw.Flush() }

// send writes and flushes a frame under the write lock.
func (c *serverConn) send(b []byte, flush bool) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.writeFrame(b); err != nil {
		return err
	}
	if flush {
		return c.bw.Flush()
	}
	return nil
}

func (c *serverConn) flushLocked() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.bw.Flush()
}

// readFrame reads one reply frame into a fresh buffer.
func (c *serverConn) readFrame() ([]byte, error) { return c.readFrameInto(nil) }

// readFrameInto reads one reply frame, reusing buf when it is large enough.
// Slices into the frame are valid until the next call with the same buf.
func (c *serverConn) readFrameInto(buf []byte) ([]byte, error) {
	if c.readTO > 0 {
		c.nc.SetReadDeadline(time.Now().Add(c.readTO))
	}
	var h [4]byte
	if _, err := io.ReadFull(c.br, h[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(h[:])
	if n > maxFrame {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", errFrameTooLarge, n, maxFrame)
	}
	b := buf
	if uint32(cap(b)) < n {
		b = make([]byte, n)
	}
	b = b[:n]
	_, err := io.ReadFull(c.br, b)
	return b, err
}

func (c *serverConn) close() { c.nc.Close() }

// closeSession tells the server the session is over (best effort).
func (c *serverConn) closeSession() {
	c.nc.SetDeadline(time.Now().Add(time.Second))
	if c.send(requestHeader(1<<30, opCloseSession), true) == nil {
		c.readFrame()
	}
	c.close()
}
