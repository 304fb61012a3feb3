package dualwrite

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/zk2kraft/zk2kraft/testenv"
	"github.com/zk2kraft/zk2kraft/zkreader"
)

// TestMirrorOverTLS mirrors through ZooKeeper's secure client port (the
// testenv ensemble's, with its CA and a client certificate) to parity, and
// shows that a mirror whose TLS the server refuses stops with an error that
// says so instead of retrying for ever.
func TestMirrorOverTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: ZooKeeper ensemble and quorum")
	}
	f := newFixtureOn(t, testenv.Options{Nodes: 1, TLS: true}, testenv.SeedSpec{Preset: "small"})
	files := f.env.TLSFiles()
	good := zkreader.TLSOptions{CAFile: files.CA, CertFile: files.ClientCert, KeyFile: files.ClientKey}

	for _, tc := range []struct {
		name    string
		connect string
		tls     zkreader.TLSOptions
		want    string
	}{
		// The client certificate is no CA of the server's: unknown authority.
		{"untrusted server", strings.Join(f.env.SecureServers(), ","), zkreader.TLSOptions{CAFile: files.ClientCert}, "certificate"},
		{"plain port", f.env.ConnectString(), good, "TLS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := New(Options{ZK: zkreader.Options{Connect: tc.connect, TLS: tc.tls}, Quorum: f.q,
				FromZxid: f.snap.MaxZxid, Logger: testLogger(t)})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			err = m.Run(ctx)
			if err == nil || ctx.Err() != nil {
				t.Fatalf("mirror with refused TLS: %v (ctx %v), want a TLS error", err, ctx.Err())
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "TLS") {
				t.Fatalf("error %q does not name the TLS problem (%q)", err, tc.want)
			}
			if strings.Contains(err.Error(), "PRIVATE KEY") {
				t.Fatalf("error shows key material: %v", err)
			}
			t.Logf("refused: %v", err)
		})
	}
	if _, err := New(Options{ZK: zkreader.Options{Connect: f.connect, TLS: zkreader.TLSOptions{CAFile: files.CA, CertFile: files.ClientCert}},
		Quorum: f.q}); err == nil || !strings.Contains(err.Error(), "together") {
		t.Fatalf("a client certificate without its key: %v", err)
	}

	f.connect = strings.Join(f.env.SecureServers(), ",")
	f.churnToParity(f.startMirror(Options{ZK: zkreader.Options{TLS: good}}), 11, 400)
}
