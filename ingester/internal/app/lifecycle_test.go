package app

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferrylog/ferry/internal/record"
	ingestv1 "github.com/ferrylog/ferry/proto/ferry/ingest/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestKafkaUnreachableKeepsServingNotReadyAndAnswersRetry(t *testing.T) {
	dir := t.TempDir()
	cfg := APIConfig{
		Listen: freeAddr(t), HTTPListen: freeAddr(t), Insecure: true,
		ConfigFile: filepath.Join(dir, "ferry.json"), KeyringFile: filepath.Join(dir, "keyring.json"),
		TokenKeysFile: filepath.Join(dir, "token-keys.json"), Brokers: []string{freeAddr(t)}, // nobody listens
		Topic: "ferry.events", TopicPartitions: 1, Replication: 1, Compression: record.CodecZstd,
		MaxInFlightBytes: 1 << 20, ShutdownGrace: 5 * time.Second, ConfigReload: time.Second,
	}
	os.WriteFile(cfg.ConfigFile, []byte(testConfig), 0o644)
	runInitFiles(t, cfg)
	ti := &testIngester{cfg: cfg}
	ti.keys = mustLoadKeys(t, cfg.TokenKeysFile)
	ctx, cancel := context.WithCancel(context.Background())
	exited := make(chan error, 1)
	go func() { exited <- RunAPI(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard) }()
	defer func() {
		cancel()
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			t.Error("ingester did not stop within 15 s")
		}
	}()

	waitHTTP(t, "http://"+cfg.HTTPListen+"/healthz", http.StatusOK)
	body := waitHTTP(t, "http://"+cfg.HTTPListen+"/readyz", http.StatusServiceUnavailable)
	if !strings.Contains(body, "Kafka") {
		t.Fatalf("/readyz says %q, want the Kafka reason", body)
	}
	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer scancel()
	stream, err := openStream(sctx, ti.client(t), ti.token(t, "AK-acme"), "AK-acme")
	if err != nil {
		t.Fatal(err)
	}
	stream.Send(batchFrame(1, `{"msg":"kept by the agent"}`))
	ack := recvAck(t, stream)
	if ack.Result != ingestv1.AckResult_ACK_RESULT_RETRY || codes.Code(ack.Code) != codes.Unavailable || ack.RetryAfterMs <= 0 {
		t.Fatalf("ack = %+v, want RETRY Unavailable with retry advice", ack)
	}
}

func TestConfigPushAndRevocationReachOpenStreams(t *testing.T) {
	ti := startIngester(t, kafkaBrokers(t))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stream, err := openStream(ctx, ti.client(t), ti.token(t, "AK-acme"), "AK-acme")
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(testConfig, `"max_batch_bytes": 8192`, `"max_batch_bytes": 16384`, 1)
	if err := os.WriteFile(ti.cfg.ConfigFile, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if f.GetConfig().GetMaxBatchBytes() != 16384 {
		t.Fatalf("pushed frame = %v, want a Config with max_batch_bytes 16384", f)
	}
	revoked := strings.Replace(edited, `"max_batches_in_flight": 4}`, `"max_batches_in_flight": 4, "revoked": true}`, 1)
	if err := os.WriteFile(ti.cfg.ConfigFile, []byte(revoked), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = stream.Recv()
	assertStatus(t, err, codes.PermissionDenied, "revoked")
}

func TestShutdownDrainsStreams(t *testing.T) {
	ti := startIngester(t, kafkaBrokers(t))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stream, err := openStream(ctx, ti.client(t), ti.token(t, "AK-globex"), "AK-globex")
	if err != nil {
		t.Fatal(err)
	}
	// As many batches as the key may have in flight (the default, 8): all
	// of them must be acked OK, after Kafka stored them, before the stream ends.
	const inFlight = 8
	for seq := uint64(1); seq <= inFlight; seq++ {
		if err := stream.Send(batchFrame(seq, `{"msg":"in flight at shutdown"}`)); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(50 * time.Millisecond) // let the batches arrive before the signal
	ti.stop()
	acked, reconnect := map[uint64]ingestv1.AckResult{}, false
	for {
		f, err := stream.Recv()
		if err != nil {
			if status.Code(err) != codes.Unavailable {
				t.Fatalf("stream ended with %v, want Unavailable", err)
			}
			break
		}
		if a := f.GetAck(); a != nil {
			acked[a.Sequence] = a.Result
		}
		if f.GetControl().GetKind() == ingestv1.Control_KIND_RECONNECT {
			reconnect = true
		}
	}
	if len(acked) != inFlight {
		t.Fatalf("got acks for %d of %d batches sent before shutdown: %v", len(acked), inFlight, acked)
	}
	for seq, r := range acked {
		if r != ingestv1.AckResult_ACK_RESULT_OK {
			t.Errorf("batch %d answered %v during the drain, want OK", seq, r)
		}
	}
	if !reconnect {
		t.Error("no RECONNECT control before the stream ended")
	}
	select {
	case err := <-ti.exited:
		ti.exited <- err
		if err != nil {
			t.Fatalf("RunAPI returned %v after a clean drain", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("ingester did not exit after the drain")
	}
}

func waitHTTP(t *testing.T, url string, want int) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			last = string(b)
			if resp.StatusCode == want {
				return last
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s never answered %d (last body %q)", url, want, last)
	return ""
}
