package app

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ferrylog/ferry/ingester/internal/devcerts"
	"github.com/ferrylog/ferry/internal/record"
	ingestv1 "github.com/ferrylog/ferry/proto/ferry/ingest/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
)

// TestMutualTLS serves with the development certificates and client CA:
// a client with the CA and a client certificate gets its config; one
// without a client certificate is refused by the TLS handshake.
func TestMutualTLS(t *testing.T) {
	dir := t.TempDir()
	certs := filepath.Join(dir, "certs")
	if err := devcerts.Generate(certs, []string{"localhost", "127.0.0.1"}, time.Hour, time.Now()); err != nil {
		t.Fatal(err)
	}
	cfg := APIConfig{
		Listen: freeAddr(t), HTTPListen: freeAddr(t),
		TLSCert: filepath.Join(certs, devcerts.ServerFile), TLSKey: filepath.Join(certs, devcerts.ServerKeyFile),
		TLSClientCA: filepath.Join(certs, devcerts.CAFile),
		ConfigFile:  filepath.Join(dir, "ferry.json"), KeyringFile: filepath.Join(dir, "keyring.json"),
		TokenKeysFile: filepath.Join(dir, "token-keys.json"), Brokers: []string{freeAddr(t)},
		Topic: "ferry.events", TopicPartitions: 1, Replication: 1, Compression: record.CodecZstd,
		MaxInFlightBytes: 1 << 20, ShutdownGrace: 5 * time.Second, ConfigReload: time.Second,
	}
	os.WriteFile(cfg.ConfigFile, []byte(testConfig), 0o644)
	runInitFiles(t, cfg)
	ti := &testIngester{cfg: cfg, keys: mustLoadKeys(t, cfg.TokenKeysFile)}
	ctx, cancel := context.WithCancel(context.Background())
	exited := make(chan error, 1)
	go func() { exited <- RunAPI(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard) }()
	defer func() { cancel(); <-exited }()
	waitHTTP(t, "http://"+cfg.HTTPListen+"/healthz", 200)

	caPEM, _ := os.ReadFile(filepath.Join(certs, devcerts.CAFile))
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	clientCert, err := tls.LoadX509KeyPair(filepath.Join(certs, devcerts.ClientFile), filepath.Join(certs, devcerts.ClientKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	call := func(tc *tls.Config) error {
		conn, err := grpc.NewClient(cfg.Listen, grpc.WithTransportCredentials(credentials.NewTLS(tc)))
		if err != nil {
			return err
		}
		defer conn.Close()
		cctx, ccancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer ccancel()
		_, err = ingestv1.NewIngestClient(conn).GetConfig(withToken(cctx, ti.token(t, "AK-acme")), &ingestv1.GetConfigRequest{AccessKey: "AK-acme"})
		return err
	}
	if err := call(&tls.Config{RootCAs: pool, ServerName: "localhost", Certificates: []tls.Certificate{clientCert}}); err != nil {
		t.Fatalf("mTLS client refused: %v", err)
	}
	if err := call(&tls.Config{RootCAs: pool, ServerName: "localhost"}); err == nil {
		t.Fatal("a client without a certificate got through mTLS")
	}
	if err := call(&tls.Config{ServerName: "localhost", Certificates: []tls.Certificate{clientCert}}); err == nil {
		t.Fatal("a client that does not trust the CA connected")
	}
}
