package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ferrylog/ferry/internal/crypto"
	"github.com/ferrylog/ferry/internal/kafkaconf"
	"github.com/ferrylog/ferry/internal/record"
	"github.com/ferrylog/ferry/internal/token"
	ingestv1 "github.com/ferrylog/ferry/proto/ferry/ingest/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
)

// kafkaBrokers returns the broker of the integration tests, or skips: CI
// always sets FERRY_KAFKA_BROKERS (make test starts the broker).
func kafkaBrokers(t *testing.T) []string {
	t.Helper()
	env := os.Getenv("FERRY_KAFKA_BROKERS")
	if env == "" {
		t.Skip("FERRY_KAFKA_BROKERS is not set; run `make test` (it starts a real Kafka broker)")
	}
	brokers, err := kafkaconf.ParseBrokers(env)
	if err != nil {
		t.Fatal(err)
	}
	return brokers
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func randomSuffix() string {
	b := make([]byte, 4)
	rand.Read(b)
	return hex.EncodeToString(b)
}

const testConfig = `{
  "access_keys": {
    "AK-acme": {"tenant": "acme", "max_batch_bytes": 8192, "max_batches_in_flight": 4},
    "AK-globex": {"tenant": "globex"},
    "AK-revoked": {"tenant": "acme", "revoked": true}
  }
}`

// testIngester is a real `ingester api` running in this process on
// loopback ports, with real files and the real broker.
type testIngester struct {
	cfg    APIConfig
	keys   *token.KeySet
	dir    string
	stop   context.CancelFunc
	exited chan error
}

func startIngester(t *testing.T, brokers []string) *testIngester {
	t.Helper()
	return startIngesterWith(t, brokers, func(*APIConfig) {}, io.Discard)
}

// startIngesterWith lets a test change the config and see stdout.
func startIngesterWith(t *testing.T, brokers []string, change func(*APIConfig), stdout io.Writer) *testIngester {
	t.Helper()
	dir := t.TempDir()
	cfg := APIConfig{
		Listen: freeAddr(t), HTTPListen: freeAddr(t), Insecure: true,
		ConfigFile: filepath.Join(dir, "ferry.json"), KeyringFile: filepath.Join(dir, "keyring.json"),
		TokenKeysFile: filepath.Join(dir, "token-keys.json"), Brokers: brokers,
		Topic: "ferry.test." + randomSuffix(), TopicPartitions: 2, Replication: 1,
		Compression: record.CodecZstd, MaxInFlightBytes: 64 << 20, ShutdownGrace: 10 * time.Second,
		ConfigReload: 100 * time.Millisecond,
	}
	change(&cfg)
	if err := os.WriteFile(cfg.ConfigFile, []byte(testConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	runInitFiles(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	ti := &testIngester{cfg: cfg, keys: mustLoadKeys(t, cfg.TokenKeysFile), dir: dir, stop: cancel, exited: make(chan error, 1)}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	go func() { ti.exited <- RunAPI(ctx, cfg, logger, stdout) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-ti.exited:
			ti.exited <- err
		case <-time.After(20 * time.Second):
			t.Error("ingester did not stop within 20 s")
		}
	})
	ti.waitReady(t, 60*time.Second)
	return ti
}

func (ti *testIngester) waitReady(t *testing.T, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + ti.cfg.HTTPListen + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("ingester not ready within %s", limit)
}

func (ti *testIngester) token(t *testing.T, accessKey string) string {
	t.Helper()
	raw, err := ti.keys.Issue(accessKey, token.ScopeAgent, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func (ti *testIngester) client(t *testing.T) ingestv1.IngestClient {
	t.Helper()
	conn, err := grpc.NewClient(ti.cfg.Listen, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return ingestv1.NewIngestClient(conn)
}

func withToken(ctx context.Context, raw string) context.Context {
	if raw == "" {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+raw)
}

// openStream opens a stream with raw as token, sends Hello for accessKey
// and returns the stream after the ingester's first frame (its Config), or
// the error that ended the stream.
func openStream(ctx context.Context, c ingestv1.IngestClient, raw, accessKey string) (ingestv1.Ingest_StreamClient, error) {
	stream, err := c.Stream(withToken(ctx, raw))
	if err != nil {
		return nil, err
	}
	hello := &ingestv1.Hello{AgentId: "test-agent", Hostname: "test-host", AccessKey: accessKey, StreamEpoch: uint64(time.Now().UnixNano())}
	if err := stream.Send(&ingestv1.AgentFrame{Frame: &ingestv1.AgentFrame_Hello{Hello: hello}}); err != nil && err != io.EOF {
		return nil, err
	}
	first, err := stream.Recv()
	if err != nil {
		return nil, err
	}
	if first.GetConfig() == nil {
		return nil, fmt.Errorf("first frame is %T, want Config", first.Frame)
	}
	return stream, nil
}

func batchFrame(seq uint64, bodies ...string) *ingestv1.AgentFrame {
	b := &ingestv1.Batch{Sequence: seq, Tag: "test"}
	for i, body := range bodies {
		b.Events = append(b.Events, &ingestv1.Event{TimeUnixNano: time.Now().UnixNano() + int64(i), Body: []byte(body)})
	}
	return &ingestv1.AgentFrame{Frame: &ingestv1.AgentFrame_Batch{Batch: b}}
}

func runInitFiles(t *testing.T, cfg APIConfig) {
	t.Helper()
	if err := crypto.GenerateKeyringFile(cfg.KeyringFile); err != nil {
		t.Fatal(err)
	}
	if err := token.GenerateKeySetFile(cfg.TokenKeysFile, "", token.AlgHS256, time.Now()); err != nil {
		t.Fatal(err)
	}
}

func mustLoadKeys(t *testing.T, path string) *token.KeySet {
	t.Helper()
	keys, err := token.LoadKeySet(path)
	if err != nil {
		t.Fatal(err)
	}
	return keys
}
