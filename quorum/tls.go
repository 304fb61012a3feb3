package quorum

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
)

// TLSFiles names the PEM files for mutual TLS. One certificate serves both
// as the server certificate and as the client certificate a node presents to
// its peers, so it needs both the serverAuth and clientAuth extended key
// usages and a SAN for every host name or IP peers and clients dial.
type TLSFiles struct {
	CA, Cert, Key string
}

// Enabled reports whether any TLS file is set.
func (f TLSFiles) Enabled() bool { return f.CA != "" || f.Cert != "" || f.Key != "" }

// Load builds the mutual-TLS configuration: peers and clients must present a
// certificate signed by CA. Key material never appears in errors.
func (f TLSFiles) Load() (*tls.Config, error) {
	if f.CA == "" || f.Cert == "" || f.Key == "" {
		return nil, fmt.Errorf("mutual TLS needs all of --tls-ca, --tls-cert and --tls-key")
	}
	caPEM, err := os.ReadFile(f.CA)
	if err != nil {
		return nil, fmt.Errorf("read TLS CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("TLS CA %s: no PEM certificate found", f.CA)
	}
	cert, err := tls.LoadX509KeyPair(f.Cert, f.Key)
	if err != nil {
		return nil, fmt.Errorf("load TLS certificate %s and key %s: %w", f.Cert, f.Key, err)
	}
	return MutualTLSConfig(pool, cert), nil
}

// MutualTLSConfig returns a config that presents cert and requires and
// verifies the peer's certificate against pool, in both directions.
func MutualTLSConfig(pool *x509.CertPool, cert tls.Certificate) *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		RootCAs:      pool,
		ClientCAs:    pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS12,
	}
}

// IsLoopback reports whether a HOST:PORT listen address is on loopback only.
func IsLoopback(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
