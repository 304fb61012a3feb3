package zkreader

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"time"
)

// TLSOptions names PEM files for a ZooKeeper 3.5+ secure client port.
type TLSOptions struct {
	CAFile   string
	CertFile string
	KeyFile  string
}

// Enabled tells whether any TLS file is set (then every connection speaks TLS).
func (t TLSOptions) Enabled() bool {
	return t.CAFile != "" || t.CertFile != "" || t.KeyFile != ""
}

// Config builds the client TLS config from the PEM files; nil, nil when TLS
// is not enabled. Errors name the files, never their contents.
func (t TLSOptions) Config() (*tls.Config, error) {
	if !t.Enabled() {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read TLS CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("TLS CA file %s: no PEM certificate found", t.CAFile)
		}
		cfg.RootCAs = pool
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		return nil, errors.New("TLS client certificate and key must be given together")
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			// never include key material; the file names are enough
			return nil, fmt.Errorf("load TLS client certificate %s / key %s: not a valid PEM pair", t.CertFile, t.KeyFile)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// Dialer returns a dial function for other ZooKeeper clients (go-zookeeper's
// zk.WithDialer takes it): plain TCP when TLS is not enabled, else TLS with
// the configured CA and client certificate, checking the server's name
// against the host it dials.
func (t TLSOptions) Dialer() (func(network, address string, timeout time.Duration) (net.Conn, error), error) {
	cfg, err := t.Config()
	if err != nil || cfg == nil {
		return net.DialTimeout, err
	}
	return func(network, address string, timeout time.Duration) (net.Conn, error) {
		d := tls.Dialer{NetDialer: &net.Dialer{Timeout: timeout}, Config: cfg}
		return d.Dial(network, address)
	}, nil
}
