package zkreader

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"
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
