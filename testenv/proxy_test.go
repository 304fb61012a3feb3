package testenv

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"testing"
)

// initialMessage builds QuorumCnxManager's first message (protocol v2).
func initialMessage(sid int64, addr string) []byte {
	var b []byte
	b = binary.BigEndian.AppendUint64(b, uint64(0xFFFFFFFFFFFF0001)) // -65535
	b = binary.BigEndian.AppendUint64(b, uint64(sid))
	b = binary.BigEndian.AppendUint32(b, uint32(len(addr)))
	return append(b, addr...)
}

// rewrite runs rewriteInitialMessage on in and returns what reached the peer.
func rewrite(t testing.TB, in []byte) ([]byte, error) {
	p := newPeerNet(func(int) bool { return true })
	p.electionProxy[2] = map[int]int{1: 40001}
	clientA, clientB := net.Pipe()
	peerA, peerB := net.Pipe()
	go func() {
		clientA.Write(in)
		clientA.Close()
	}()
	got := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(peerB)
		got <- b
	}()
	err := p.rewriteInitialMessage(1, 2, clientB, peerA)
	peerA.Close()
	clientB.Close()
	return <-got, err
}

func TestRewriteInitialMessage(t *testing.T) {
	cases := []struct {
		name string
		in   []byte
		want []byte
		ok   bool
	}{
		{"v2 message", initialMessage(1, "127.0.0.1:35555"), initialMessage(1, "127.0.0.1:40001"), true},
		{"multi-address", initialMessage(1, "127.0.0.1:1|127.0.0.2:2"), initialMessage(1, "127.0.0.1:40001"), true},
		{"pre-3.5 sid only", binary.BigEndian.AppendUint64(nil, 3), binary.BigEndian.AppendUint64(nil, 3), true},
		{"truncated header", []byte{0xff, 0xff}, nil, false},
		{"truncated address", initialMessage(1, "127.0.0.1:35555")[:25], nil, false},
		{"address too long", append(binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, uint64(0xFFFFFFFFFFFF0001)), 1), 1<<20), 'x'), nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := rewrite(t, c.in)
			if (err == nil) != c.ok {
				t.Fatalf("err = %v, want ok=%v", err, c.ok)
			}
			if c.ok && !bytes.Equal(got, c.want) {
				t.Errorf("peer got %x, want %x", got, c.want)
			}
		})
	}
}

// FuzzRewriteInitialMessage: any bytes from a peer connection neither panic
// nor make the proxy forward more than a rewritten header.
func FuzzRewriteInitialMessage(f *testing.F) {
	f.Add(initialMessage(1, "127.0.0.1:35555"))
	f.Add(binary.BigEndian.AppendUint64(nil, 3))
	f.Add([]byte{0xff})
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := rewrite(t, in)
		if err == nil && len(got) > 20+len("127.0.0.1:40001") {
			t.Fatalf("forwarded %d bytes for one message", len(got))
		}
	})
}
