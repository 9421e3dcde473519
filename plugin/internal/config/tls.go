package config

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

func (t TLSFiles) validate(insecure bool) error {
	if insecure {
		if t != (TLSFiles{}) {
			return fmt.Errorf("%s=true turns TLS off, so %s, %s, %s and %s must not be set", KeyInsecure, KeyTLSCAFile, KeyTLSServerName, KeyTLSCertFile, KeyTLSKeyFile)
		}
		return nil
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		return fmt.Errorf("%s and %s go together (client certificate for mTLS): set both or neither", KeyTLSCertFile, KeyTLSKeyFile)
	}
	// Build once now so a missing or broken file fails Init, not every connect.
	_, err := t.ClientConfig()
	return err
}

// ClientConfig builds the TLS configuration: system roots unless a CA file is
// given, the server name when it differs from the Ingester host, and a client
// certificate for mTLS.
func (t TLSFiles) ClientConfig() (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", KeyTLSCAFile, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s=%q: no PEM certificate found in the file", KeyTLSCAFile, t.CAFile)
		}
		cfg.RootCAs = pool
	}
	if t.CertFile != "" {
		pair, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("%s/%s: cannot load the client certificate and key: %w", KeyTLSCertFile, KeyTLSKeyFile, errors.Unwrap(err))
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}
