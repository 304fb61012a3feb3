package zkreader

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzJute: the jute decoder reads whatever a server (or something posing
// as one) sends: it never panics, never reads past the frame, never
// allocates more than the frame can hold, and its first error sticks.
func FuzzJute(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6}, []byte{0, 0, 0, 4, 'a', 'b', 'c', 'd'})
	f.Add([]byte{5, 5}, []byte{0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 1, 0, 0, 0, 0})
	f.Add([]byte{6}, make([]byte, statLen))
	f.Add([]byte{3}, []byte{0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, program, frame []byte) {
		d := dec{b: frame}
		left := len(frame)
		for _, p := range program {
			var firstErr = d.err
			switch p % 7 {
			case 0:
				d.i32()
			case 1:
				d.i64()
			case 2:
				d.boolean()
			case 3:
				if b := d.buffer(); len(b) > left {
					t.Fatalf("buffer of %d bytes from %d left", len(b), left)
				}
			case 4:
				if s := d.str(); len(s) > left {
					t.Fatalf("string of %d bytes from %d left", len(s), left)
				}
			case 5:
				if l := d.strings(); len(l) > left/4 {
					t.Fatalf("%d strings from %d bytes", len(l), left)
				}
			case 6:
				d.stat()
			}
			if len(d.b) > left {
				t.Fatalf("decoder grew: %d > %d", len(d.b), left)
			}
			left = len(d.b)
			if firstErr != nil && d.err != firstErr {
				t.Fatalf("error changed from %v to %v", firstErr, d.err)
			}
		}
		if r, err := decodeConnectResponse(frame); err == nil && len(r.passwd) > len(frame) {
			t.Fatalf("password of %d bytes from a %d-byte frame", len(r.passwd), len(frame))
		}
		hd := dec{b: frame}
		decodeReplyHeader(&hd)
		if hd.err == nil && len(frame) < 16 {
			t.Fatalf("reply header from %d bytes", len(frame))
		}
	})
}

// FuzzParseConnect: the connect string (--zk) either fails with an error
// or yields at least one host:port and a chroot that starts with '/'.
func FuzzParseConnect(f *testing.F) {
	for _, s := range []string{"localhost:2181", "h1:1,h2:2/kafka", "h1", "/kafka", ",,", "h:1/a//b", "[::1]:2181/x/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		servers, chroot, err := ParseConnect(s)
		if err != nil {
			return
		}
		if len(servers) == 0 {
			t.Fatalf("%q: no servers and no error", s)
		}
		for _, h := range servers {
			if !strings.Contains(h, ":") || h != strings.TrimSpace(h) || h == "" {
				t.Fatalf("%q: server %q", s, h)
			}
		}
		if chroot != "" && chroot[0] != '/' {
			t.Fatalf("%q: chroot %q", s, chroot)
		}
		if c, err := normalizeChroot(chroot); err == nil && c != "" && (c[0] != '/' || strings.HasSuffix(c, "/") || strings.Contains(c, "//")) {
			t.Fatalf("%q: normalized chroot %q", s, c)
		}
	})
}

// FuzzCheckJSONText: on any JSON encoding/json accepts, checkJSONText
// reports a problem exactly when a reference built on encoding/json's
// tokenizer sees a string that is not UTF-8 or a key twice in one object.
func FuzzCheckJSONText(f *testing.F) {
	for _, s := range []string{
		`{"a":1,"b":{"a":2},"c":[{"a":1},{"a":1}]}`,
		`{"a":1,"a":2}`, `{"a":1,"\u0061":2}`, `{"x":{"k":[1,{"k":1,"k":2}]}}`,
		"{\"a\":\"\xff\"}", "[\"\xc3\"]", "{\"\xe2\x82\":1}", `"plain"`, `[1,2,"3"]`, `{}`, `[]`,
		`{"s":"a\"b\\","t":"\"","s":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var v any
		if json.Unmarshal(data, &v) != nil {
			return
		}
		want := !utf8.Valid(data) || refDuplicate(data)
		got := checkJSONText("/p", data)
		if (got != nil) != want {
			t.Fatalf("%q: checkJSONText %v, reference says problem=%v", data, got, want)
		}
		if got != nil && (got.Path != "/p" || got.Code != CodeMalformed || got.Expected == "" || got.Message == "") {
			t.Fatalf("%q: imprecise finding %+v", data, got)
		}
	})
}

// refDuplicate walks valid JSON with json.Decoder and reports a key that
// appears twice in one object.
func refDuplicate(data []byte) bool {
	type frame struct {
		obj       bool
		expectKey bool
		keys      map[string]bool
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return false
		}
		if err != nil {
			return false
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.obj && top.expectKey {
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:len(stack)-1]
				if len(stack) > 0 && stack[len(stack)-1].obj {
					stack[len(stack)-1].expectKey = true
				}
				continue
			}
			k := tok.(string)
			if top.keys[k] {
				return true
			}
			top.keys[k] = true
			top.expectKey = false
			continue
		}
		switch d := tok.(type) {
		case json.Delim:
			switch d {
			case '{':
				stack = append(stack, &frame{obj: true, expectKey: true, keys: map[string]bool{}})
				continue
			case '[':
				stack = append(stack, &frame{})
				continue
			default: // ']' (a '}' is handled above)
				stack = stack[:len(stack)-1]
			}
		}
		// a value ended
		if len(stack) > 0 && stack[len(stack)-1].obj {
			stack[len(stack)-1].expectKey = true
		}
	}
}

// FuzzHostileServer: the reader's whole reply path (handshake, reply
// headers, multiRead results, pipelined gets, reconnects) against a server
// whose replies are corrupted: one frame (or every frame from one on) gets
// a byte flipped, its body cut, or its length prefix damaged. Read must
// neither panic nor hang; it returns an error or a snapshot, and when no
// frame was touched the snapshot is exactly the tree.
func FuzzHostileServer(f *testing.F) {
	// how: bits 0-1 what to do (flip a byte, cut the body, damage the
	// length prefix), bit 2 every frame from frame on, bit 3 pipelined gets
	f.Add(uint16(0xffff), uint32(0), byte(0), byte(0))  // nothing touched
	f.Add(uint16(0xffff), uint32(0), byte(0), byte(8))  // nothing touched, gets
	f.Add(uint16(0), uint32(5), byte(0xff), byte(0))    // the ConnectResponse's timeout
	f.Add(uint16(1), uint32(13), byte(0x80), byte(0))   // the probe's reply code
	f.Add(uint16(3), uint32(20), byte(0x7f), byte(1))   // a multiRead reply cut short
	f.Add(uint16(4), uint32(0), byte(0), byte(2))       // a length prefix beyond 256 MiB
	f.Add(uint16(3), uint32(40), byte(0x01), byte(4))   // a byte of every reply from the 4th on
	f.Add(uint16(6), uint32(30), byte(0x01), byte(8|1)) // a get reply cut short
	f.Fuzz(func(t *testing.T, frame uint16, pos uint32, xor, how byte) {
		tree := map[string]string{} // fakeTree with 2 of its topics
		for p, d := range fakeTree() {
			if !strings.HasPrefix(p, "/brokers/topics/") || strings.HasPrefix(p, "/brokers/topics/t-aa") || strings.HasPrefix(p, "/brokers/topics/t-ab") {
				tree[p] = d
			}
		}
		fz := &fakeZK{t: t, nodes: map[string][]byte{"/": nil}, multi: "ok"}
		fz.zxid.Store(100)
		for p, d := range tree {
			fz.nodes[p] = []byte(d)
			for q := parentPath(p); q != "/"; q = parentPath(q) {
				if _, ok := fz.nodes[q]; !ok {
					fz.nodes[q] = nil
				}
			}
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		hs := &hostileWriter{frame: int64(frame), pos: pos, xor: xor, mode: how & 3 % 3, every: how&4 != 0}
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer c.Close()
					fz.conn(&hostileConn{Conn: c, w: hs})
				}()
			}
		}()
		defer func() { ln.Close(); wg.Wait() }()
		mode := ModeAuto
		if how&8 != 0 {
			mode = ModeGet
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		s, err := Read(ctx, Options{Connect: ln.Addr().String(), Mode: mode, SessionTimeout: time.Second, BatchSize: 5, Connections: 1})
		if ctx.Err() != nil {
			t.Fatalf("read hung on hostile replies (frame %d pos %d xor %#x how %#x): %v", frame, pos, xor, how, err)
		}
		if err != nil {
			return
		}
		if s == nil {
			t.Fatal("no snapshot and no error")
		}
		if !hs.touched.Load() {
			if len(s.Topics) != 2 || len(s.Brokers) != 1 || s.ClusterID == nil || len(s.Findings) != 0 {
				t.Fatalf("untouched replies: topics %d brokers %d findings %v", len(s.Topics), len(s.Brokers), s.Findings)
			}
		}
	})
}

// hostileWriter corrupts the frames the fake server writes (one Write each).
type hostileWriter struct {
	mu      sync.Mutex
	n       int64 // frames written so far
	frame   int64 // the first frame to corrupt
	pos     uint32
	xor     byte
	mode    byte // 0 flip a byte, 1 cut the body, 2 a length prefix beyond maxFrame
	every   bool
	touched atomic.Bool
}

type hostileConn struct {
	net.Conn
	w *hostileWriter
}

func (c *hostileConn) Write(b []byte) (int, error) {
	h := c.w
	h.mu.Lock()
	k := h.n
	h.n++
	h.mu.Unlock()
	if k < h.frame || (k > h.frame && !h.every) || len(b) < 4 {
		return c.Conn.Write(b)
	}
	h.touched.Store(true)
	out := append([]byte(nil), b...)
	body := out[4:]
	switch h.mode {
	case 0:
		if len(body) > 0 {
			body[int(h.pos)%len(body)] ^= h.xor | 1
		}
	case 1:
		body = body[:int(h.pos)%(len(body)+1)]
		binary.BigEndian.PutUint32(out, uint32(len(body)))
		out = out[:4+len(body)]
	case 2:
		// beyond maxFrame (a prefix a little too long is a reply cut
		// short by the network: the reader waits for its read timeout,
		// up to 10 s in the handshake, which the fuzzer counts as a hang)
		out[0] = 0x10 | h.xor
	}
	if _, err := c.Conn.Write(out); err != nil {
		return 0, err
	}
	return len(b), nil
}
