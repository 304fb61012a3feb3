package testenv

import (
	"context"
	"testing"

	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"github.com/go-zookeeper/zk"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// TLSFiles are the PEM files of an ensemble's TLS setup: a CA, the servers'
// certificate+key (ZooKeeper's ssl.keyStore.type=PEM) and a client
// certificate+key signed by the same CA. The keys are secrets of the test
// ensemble only.
type TLSFiles struct {
	Dir        string `json:"dir"`
	CA         string `json:"ca"`         // ca.pem: the CA certificate
	ServerPEM  string `json:"serverPem"`  // server.pem: server key + certificate
	ClientCert string `json:"clientCert"` // client.crt
	ClientKey  string `json:"clientKey"`  // client.key
}

// ClientConfig returns a tls.Config that trusts the CA and presents the
// client certificate.
func (f *TLSFiles) ClientConfig() (*tls.Config, error) {
	caPEM, err := os.ReadFile(f.CA)
	if err != nil {
		return nil, fmt.Errorf("read CA %s: %w", f.CA, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("CA %s: no certificate", f.CA)
	}
	cert, err := tls.LoadX509KeyPair(f.ClientCert, f.ClientKey)
	if err != nil {
		return nil, fmt.Errorf("client key pair: %w", err)
	}
	return &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, ServerName: "localhost", MinVersion: tls.VersionTLS12}, nil
}

// writeTLSFiles generates a CA, a server certificate for localhost/127.0.0.1
// (and the docker hostnames) and a client certificate into dir.
func writeTLSFiles(dir string) (*TLSFiles, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("tls dir: %w", err)
	}
	now := time.Now().Add(-time.Hour)
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("tls: CA key: %w", err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "zk2kraft testenv CA"},
		NotBefore:             now,
		NotAfter:              now.Add(30 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("tls: CA certificate: %w", err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	issue := func(serial int64, cn string, usage x509.ExtKeyUsage) (certPEM, keyPEM []byte, err error) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, nil, err
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial),
			Subject:      pkix.Name{CommonName: cn},
			NotBefore:    now,
			NotAfter:     now.Add(30 * 24 * time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
			ExtKeyUsage:  []x509.ExtKeyUsage{usage},
			DNSNames:     []string{"localhost", "zk1", "zk2", "zk3", "zk4", "zk5"},
			IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
		if err != nil {
			return nil, nil, err
		}
		p8, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return nil, nil, err
		}
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
			pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8}), nil
	}
	srvCert, srvKey, err := issue(2, "localhost", x509.ExtKeyUsageServerAuth)
	if err != nil {
		return nil, fmt.Errorf("tls: server certificate: %w", err)
	}
	cliCert, cliKey, err := issue(3, "zk2kraft-client", x509.ExtKeyUsageClientAuth)
	if err != nil {
		return nil, fmt.Errorf("tls: client certificate: %w", err)
	}
	f := &TLSFiles{
		Dir:        dir,
		CA:         filepath.Join(dir, "ca.pem"),
		ServerPEM:  filepath.Join(dir, "server.pem"),
		ClientCert: filepath.Join(dir, "client.crt"),
		ClientKey:  filepath.Join(dir, "client.key"),
	}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	for _, w := range []struct {
		path string
		data []byte
		mode os.FileMode
	}{
		{f.CA, caPEM, 0o644},
		{f.ServerPEM, append(append([]byte{}, srvKey...), srvCert...), 0o600},
		{f.ClientCert, cliCert, 0o644},
		{f.ClientKey, cliKey, 0o600},
	} {
		if err := os.WriteFile(w.path, w.data, w.mode); err != nil {
			return nil, fmt.Errorf("tls: write %s: %w", w.path, err)
		}
	}
	return f, nil
}

// Dialer returns a go-zookeeper dialer that speaks TLS with the client
// certificate (for SecureServers).
func (f *TLSFiles) Dialer() (zk.Dialer, error) {
	cfg, err := f.ClientConfig()
	if err != nil {
		return nil, err
	}
	return func(network, address string, timeout time.Duration) (net.Conn, error) {
		return tls.DialWithDialer(&net.Dialer{Timeout: timeout}, network, address, cfg)
	}, nil
}

// ConnectTLS opens a session on the secure client ports for a test (the
// ensemble must have been started with TLS); it is closed at cleanup.
func (e *Env) ConnectTLS(t testing.TB) *zk.Conn {
	t.Helper()
	if e.tls == nil {
		t.Fatal("testenv: ConnectTLS on an ensemble started without TLS")
	}
	dialer, err := e.tls.Dialer()
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	conn, err := DialServers(ctx, e.SecureServers(), 10*time.Second, dialer)
	if err != nil {
		t.Fatalf("testenv: TLS %v", err)
	}
	t.Cleanup(conn.Close)
	return conn
}
