package quorum_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/zk2kraft/zk2kraft/quorum"
	"github.com/zk2kraft/zk2kraft/quorum/client"
)

type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

// issue makes a certificate for 127.0.0.1/localhost usable as server and client.
func (ca *testCA) issue(t *testing.T, cn string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func TestMutualTLSRejectsWrongAndMissingCertificates(t *testing.T) {
	ca := newTestCA(t, "zk2kraft test CA")
	wrong := newTestCA(t, "some other CA")
	good := quorum.MutualTLSConfig(ca.pool, ca.issue(t, "node"))
	lc, _ := startKV(t, 3, func(c *quorum.Config) { c.TLS = good })

	// A client with a certificate from the CA works.
	c, err := client.New(lc.APIAddrs(), quorum.MutualTLSConfig(ca.pool, ca.issue(t, "client")))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	appendKV(t, c, "a=1")

	// No client certificate, a certificate of another CA, or plain HTTP: refused.
	for name, conf := range map[string]*tls.Config{
		"no certificate":    {RootCAs: ca.pool},
		"wrong certificate": quorum.MutualTLSConfig(ca.pool, wrong.issue(t, "intruder")),
		"plaintext":         nil,
	} {
		bad, err := client.New(lc.APIAddrs(), conf)
		if err != nil {
			t.Fatal(err)
		}
		_, err = bad.AppendBatch(ctxT(t, 500*time.Millisecond), quorum.TestBatch("evil=1"), nil, client.AppendOptions{})
		if err == nil {
			t.Fatalf("%s: append accepted", name)
		}
		if _, err := bad.Meta(ctxT(t, 500*time.Millisecond)); err == nil {
			t.Fatalf("%s: read accepted", name)
		}
		bad.Close()
	}

	// A raft peer with a wrong certificate, or none, gets nothing.
	f := (lc.Leader() + 1) % 3
	for name, conf := range map[string]*tls.Config{
		"wrong certificate": quorum.MutualTLSConfig(wrong.pool, wrong.issue(t, "intruder")),
		"no TLS":            nil,
	} {
		if err := lc.Kill(f); err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		if err := lc.RestartWith(ctxT(t, 5*time.Second), f, func(cfg *quorum.Config) {
			cfg.TLS = conf
			cfg.DataDir = dir
		}); err != nil {
			t.Fatal(err)
		}
		appendKV(t, c, "b=1")
		time.Sleep(time.Second)
		if _, ok := quorum.KVGet(lc.Node(f), "a"); ok {
			t.Fatalf("raft peer with %s received the log", name)
		}
	}
	for _, v := range []string{"evil"} {
		for i := 0; i < 3; i++ {
			if i == f {
				continue
			}
			if _, ok := quorum.KVGet(lc.Node(i), v); ok {
				t.Fatalf("node %d applied an append from an unauthenticated client", i+1)
			}
		}
	}
	// The genuine node comes back with the right certificate and catches up.
	if err := lc.Kill(f); err != nil {
		t.Fatal(err)
	}
	if err := lc.Restart(ctxT(t, 5*time.Second), f); err != nil {
		t.Fatal(err)
	}
	waitKV(t, lc, f, "b", "1")
}

func TestNonLoopbackRequiresTLS(t *testing.T) {
	_, err := quorum.Start(ctxT(t, 5*time.Second), quorum.Config{
		NodeID: "1", Bind: "0.0.0.0:0", API: "127.0.0.1:0", DataDir: t.TempDir(),
		Voters: []quorum.Voter{{ID: "1", Addr: "10.0.0.1:9093"}}, ClusterID: "c",
	})
	if err == nil || !contains(err.Error(), "requires mutual TLS") {
		t.Fatalf("raft on 0.0.0.0 without TLS: err %v", err)
	}
	_, err = quorum.Start(ctxT(t, 5*time.Second), quorum.Config{
		NodeID: "1", Bind: "127.0.0.1:0", API: ":8080", DataDir: t.TempDir(),
		Voters: []quorum.Voter{{ID: "1", Addr: "127.0.0.1:9093"}}, ClusterID: "c",
	})
	if err == nil || !contains(err.Error(), "requires mutual TLS") {
		t.Fatalf("API on all interfaces without TLS: err %v", err)
	}
}
