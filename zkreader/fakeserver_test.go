package zkreader

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeZK is a tiny jute server for protocol tests that a real ZooKeeper 3.8
// cannot play: a 3.4/3.5 server without multiRead, a server dropping the
// connection mid-read, an expired session, a rejected auth.
type fakeZK struct {
	t        *testing.T
	ln       net.Listener
	nodes    map[string][]byte // path -> data (nil: no data)
	multi    string            // "ok", "close" (close the connection) or "unimplemented" (error reply)
	dropOnce atomic.Int64      // close the connection once after this many requests (0: never)
	expire   atomic.Bool       // answer session resumption with "expired"
	authFail bool
	poison   string // a path whose read kills the connection every time
	requests atomic.Int64
	zxid     atomic.Int64
	wg       sync.WaitGroup
}

func newFakeZK(t *testing.T, nodes map[string]string, multi string) *fakeZK {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeZK{t: t, ln: ln, nodes: map[string][]byte{"/": nil}, multi: multi}
	f.zxid.Store(100)
	for p, d := range nodes {
		f.nodes[p] = []byte(d)
		for q := parentPath(p); q != "/"; q = parentPath(q) {
			if _, ok := f.nodes[q]; !ok {
				f.nodes[q] = nil
			}
		}
	}
	f.wg.Add(1)
	go f.serve()
	t.Cleanup(func() { ln.Close(); f.wg.Wait() })
	return f
}

func (f *fakeZK) addr() string { return f.ln.Addr().String() }

func (f *fakeZK) serve() {
	defer f.wg.Done()
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			defer c.Close()
			f.conn(c)
		}()
	}
}

func (f *fakeZK) children(p string) []string {
	var out []string
	for q := range f.nodes {
		if q != "/" && parentPath(q) == p {
			out = append(out, lastElem(q))
		}
	}
	sort.Strings(out)
	return out
}

func (f *fakeZK) stat(p string) enc {
	z := int64(len(p)) // a stable fake zxid per path
	return enc(nil).i64(z).i64(z).i64(1).i64(2).i32(3).i32(0).i32(0).i64(0).i32(int32(len(f.nodes[p]))).i32(0).i64(z)
}

func readFakeFrame(r *bufio.Reader) ([]byte, error) {
	var h [4]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, err
	}
	b := make([]byte, binary.BigEndian.Uint32(h[:]))
	_, err := io.ReadFull(r, b)
	return b, err
}

func writeFakeFrame(w io.Writer, b []byte) {
	var h [4]byte
	binary.BigEndian.PutUint32(h[:], uint32(len(b)))
	w.Write(append(h[:], b...))
}

func (f *fakeZK) conn(c net.Conn) {
	r := bufio.NewReader(c)
	req, err := readFakeFrame(r)
	if err != nil {
		return
	}
	d := dec{b: req}
	d.i32()
	d.i64()
	d.i32()
	sid := d.i64()
	timeout := int32(4000)
	if sid != 0 && f.expire.Load() {
		timeout, sid = 0, 0
	} else if sid == 0 {
		sid = 0x1234
	}
	writeFakeFrame(c, enc(nil).i32(0).i32(timeout).i64(sid).buf(make([]byte, 16)).boolean(false))
	if timeout == 0 {
		return
	}
	for {
		req, err := readFakeFrame(r)
		if err != nil {
			return
		}
		d := dec{b: req}
		xid, opc := d.i32(), d.i32()
		zx := f.zxid.Load()
		hdr := func(code int32) enc { return enc(nil).i32(xid).i64(zx).i32(code) }
		switch opc {
		case opAuth:
			if f.authFail {
				writeFakeFrame(c, hdr(errAuthFailed))
				return
			}
			writeFakeFrame(c, hdr(0))
			continue
		case opPing:
			writeFakeFrame(c, hdr(0))
			continue
		case opCloseSession:
			writeFakeFrame(c, hdr(0))
			return
		}
		if n := f.requests.Add(1); f.dropOnce.Load() > 0 && n >= f.dropOnce.Load() {
			f.dropOnce.Store(0)
			return // the server "dies" with requests in flight
		}
		switch opc {
		case opGetData, opGetChildren2:
			p := d.str()
			if p == f.poison {
				return
			}
			data, ok := f.nodes[p]
			if !ok {
				writeFakeFrame(c, hdr(errNoNode))
				continue
			}
			if opc == opGetData {
				writeFakeFrame(c, append(hdr(0).buf(data), f.stat(p)...))
			} else {
				e := hdr(0).i32(int32(len(f.children(p))))
				for _, ch := range f.children(p) {
					e = e.str(ch)
				}
				writeFakeFrame(c, append(e, f.stat(p)...))
			}
		case opMultiRead:
			switch f.multi {
			case "close":
				return
			case "unimplemented":
				writeFakeFrame(c, hdr(errUnimplemented))
				continue
			}
			e := hdr(0)
			for {
				typ, done, _ := d.i32(), d.boolean(), d.i32()
				if done || d.err != nil {
					break
				}
				p := d.str()
				d.boolean()
				if p == f.poison {
					return
				}
				data, ok := f.nodes[p]
				switch {
				case !ok:
					e = e.i32(-1).boolean(false).i32(errNoNode).i32(errNoNode)
				case typ == opGetData:
					e = append(e.i32(opGetData).boolean(false).i32(0).buf(data), f.stat(p)...)
				default:
					e = e.i32(opGetChildren).boolean(false).i32(0).i32(int32(len(f.children(p))))
					for _, ch := range f.children(p) {
						e = e.str(ch)
					}
				}
			}
			writeFakeFrame(c, e.i32(-1).boolean(true).i32(-1))
		default:
			writeFakeFrame(c, hdr(errUnimplemented))
		}
	}
}

func fakeTree() map[string]string {
	tree := map[string]string{
		"/cluster/id":               `{"version":"1","id":"HR6bHVxbSi-Kawx-Py0aCQ"}`,
		"/controller":               `{"version":2,"brokerid":1,"timestamp":"1","kraftControllerEpoch":-1}`,
		"/controller_epoch":         `3`,
		"/brokers/ids/1":            `{"version":5,"host":"h","port":9092,"jmx_port":-1,"timestamp":"1","endpoints":["PLAINTEXT://h:9092"],"listener_security_protocol_map":{"PLAINTEXT":"PLAINTEXT"}}`,
		"/config/users/alice":       `{"version":1,"config":{"producer_byte_rate":"5"}}`,
		"/kafka-acl/Topic/t-1":      `{"version":1,"acls":[{"principal":"User:a","permissionType":"Allow","operation":"Read","host":"*"}]}`,
		"/latest_producer_id_block": `{"version":1,"broker":1,"block_start":"0","block_end":"999"}`,
	}
	for i := 0; i < 40; i++ {
		t := "/brokers/topics/t-" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		tree[t] = `{"version":3,"partitions":{"0":[1],"1":[1],"2":[1]},"topic_id":"HR6bHVxbSi-Kawx-Py0aCQ"}`
		for p := 0; p < 3; p++ {
			tree[t+"/partitions/"+string(rune('0'+p))+"/state"] = `{"version":1,"leader":1,"leader_epoch":1,"controller_epoch":3,"isr":[1]}`
		}
	}
	return tree
}

func checkFakeRead(t *testing.T, s *Snapshot) {
	t.Helper()
	if len(s.Topics) != 40 || len(s.Brokers) != 1 || s.ClusterID == nil || len(s.Quotas) != 1 || len(s.ACLs) != 1 || len(s.Findings) != 0 {
		t.Fatalf("topics %d brokers %d quotas %d acls %d findings %v", len(s.Topics), len(s.Brokers), len(s.Quotas), len(s.ACLs), s.Findings)
	}
	for _, tp := range s.Topics {
		for _, p := range tp.Partitions {
			if p.State == nil || p.State.Stat.Version != 3 {
				t.Fatalf("%s/%d: state %+v", tp.Name, p.ID, p.State)
			}
		}
	}
}

// TestFallbackWithoutMultiRead: on a server without multiRead (ZooKeeper
// 3.4/3.5), auto mode falls back to pipelined gets, whether the server
// answers opcode 22 with an error or closes the connection.
func TestFallbackWithoutMultiRead(t *testing.T) {
	for _, behaviour := range []string{"close", "unimplemented"} {
		t.Run(behaviour, func(t *testing.T) {
			f := newFakeZK(t, fakeTree(), behaviour)
			s, err := Read(context.Background(), Options{Connect: f.addr(), Mode: ModeAuto, SessionTimeout: 4 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			checkFakeRead(t, s)
			_, err = Read(context.Background(), Options{Connect: f.addr(), Mode: ModeMultiRead})
			if !errors.Is(err, errUnsupported) {
				t.Fatalf("forced multiRead on an old server: %v", err)
			}
		})
	}
	f := newFakeZK(t, fakeTree(), "ok")
	s, err := Read(context.Background(), Options{Connect: f.addr(), Mode: ModeAuto, BatchSize: 7})
	if err != nil {
		t.Fatal(err)
	}
	checkFakeRead(t, s)
}

// TestReconnectRetriesInFlight: the connection dies with requests in
// flight; the reader resumes the session and re-sends them.
func TestReconnectRetriesInFlight(t *testing.T) {
	for _, mode := range []Mode{ModeMultiRead, ModeGet} {
		for _, drop := range []int64{1, 3, 10, 30} {
			drop += 2 // the probe's requests
			f := newFakeZK(t, fakeTree(), "ok")
			f.dropOnce.Store(drop)
			s, err := Read(context.Background(), Options{Connect: f.addr(), Mode: mode, BatchSize: 5, MaxInFlight: 4, Connections: 1, SessionTimeout: 4 * time.Second})
			if err != nil {
				t.Fatal(mode, drop, err)
			}
			if f.dropOnce.Load() != 0 {
				t.Fatalf("%s: the connection was never dropped", mode)
			}
			checkFakeRead(t, s)
		}
	}
}

// TestSessionExpiredFailsClearly: when the session cannot be resumed the
// read fails with ErrSessionExpired instead of reading on a new session.
func TestSessionExpiredFailsClearly(t *testing.T) {
	f := newFakeZK(t, fakeTree(), "ok")
	f.dropOnce.Store(3)
	f.expire.Store(true)
	_, err := Read(context.Background(), Options{Connect: f.addr(), Mode: ModeGet, Connections: 1, SessionTimeout: 4 * time.Second})
	if !errors.Is(err, ErrSessionExpired) || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("err %v", err)
	}
}

func TestAuthFailureNeverShowsPassword(t *testing.T) {
	f := newFakeZK(t, fakeTree(), "ok")
	f.authFail = true
	_, err := Read(context.Background(), Options{Connect: f.addr(), Auth: "kafka:topsecret"})
	if !errors.Is(err, ErrAuthFailed) || strings.Contains(err.Error(), "topsecret") {
		t.Fatalf("err %v", err)
	}
}

func TestOptionErrors(t *testing.T) {
	for _, o := range []Options{
		{Connect: ""},
		{Connect: "h:1", Mode: "fast"},
		{Connect: "h:1", Auth: "nocolon"},
		{Connect: "h:1/a", Chroot: "/b"},
		{Connect: "h:1", Chroot: "rel"},
		{Connect: "h:1", RateLimit: -1},
		{Connect: "h:1", TLS: TLSOptions{CertFile: "x"}},
	} {
		if _, err := Read(context.Background(), o); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
}

// TestPoisonRequestDoesNotLoop: a read that kills every connection it is
// sent on ends the read with an error instead of retrying forever.
func TestPoisonRequestDoesNotLoop(t *testing.T) {
	for _, mode := range []Mode{ModeMultiRead, ModeGet} {
		f := newFakeZK(t, fakeTree(), "ok")
		f.poison = "/controller"
		start := time.Now()
		_, err := Read(context.Background(), Options{Connect: f.addr() + "," + f.addr(), Mode: mode, Connections: 1, SessionTimeout: 4 * time.Second})
		if err == nil || !strings.Contains(err.Error(), "keep failing") || time.Since(start) > 20*time.Second {
			t.Fatalf("%s: err %v after %v", mode, err, time.Since(start))
		}
	}
}
