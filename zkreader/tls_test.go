package zkreader_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zk2kraft/zk2kraft/testenv"
	"github.com/zk2kraft/zk2kraft/zkreader"
)

// tlsPair writes a certificate signed by ca (self-signed when ca is nil) and its key as PEM.
func tlsPair(t *testing.T, dir, name string, ca *x509.Certificate, caKey *ecdsa.PrivateKey, isCA bool) (*x509.Certificate, *ecdsa.PrivateKey, string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: isCA, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	parent, signer := tmpl, key
	if ca != nil {
		parent, signer = ca, caKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	kb, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile := filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return cert, key, certFile, keyFile
}

// TestIntegrationTLSTerminatingProxy reads a real ensemble through a TLS
// endpoint that requires a client certificate (a TLS-terminating proxy in
// front of each server, as stunnel/Envoy deployments do). It covers the
// client side of --zk-tls-ca/cert/key while testenv's own TLS ensemble is
// not available on this machine.
func TestIntegrationTLSTerminatingProxy(t *testing.T) {
	ctx := context.Background()
	env := testenv.Start(t, testenv.Options{Nodes: 1})
	conn := env.Connect(t)
	want, err := testenv.Seed(ctx, conn, testenv.SeedSpec{Preset: "small"})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ca, caKey, caFile, _ := tlsPair(t, dir, "ca", nil, nil, true)
	_, _, srvCert, srvKey := tlsPair(t, dir, "server", ca, caKey, false)
	_, _, cliCert, cliKey := tlsPair(t, dir, "client", ca, caKey, false)
	pair, err := tls.LoadX509KeyPair(srvCert, srvKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pair}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
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
				up, err := net.Dial("tcp", env.Server(1))
				if err != nil {
					return
				}
				defer up.Close()
				go func() { io.Copy(up, c); up.Close() }()
				io.Copy(c, up)
			}()
		}
	}()
	for _, mode := range modes {
		got, err := zkreader.Read(ctx, zkreader.Options{Connect: ln.Addr().String(), Mode: mode,
			TLS: zkreader.TLSOptions{CAFile: caFile, CertFile: cliCert, KeyFile: cliKey}})
		if err != nil {
			t.Fatal(mode, err)
		}
		diff(t, string(mode)+" over TLS", want, got)
	}
	// without a client certificate, or trusting another CA, the read fails clearly
	_, _, otherCA, _ := tlsPair(t, dir, "other", nil, nil, true)
	for _, o := range []zkreader.TLSOptions{{CAFile: caFile}, {CAFile: otherCA, CertFile: cliCert, KeyFile: cliKey}} {
		_, err := zkreader.Read(ctx, zkreader.Options{Connect: ln.Addr().String(), TLS: o, SessionTimeout: 2 * time.Second})
		if err == nil {
			t.Fatalf("TLS %+v accepted", o)
		}
		if strings.Contains(err.Error(), "PRIVATE KEY") {
			t.Fatalf("error shows key material: %v", err)
		}
	}
}
