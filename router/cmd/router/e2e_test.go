package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/ferrylog/ferry/internal/crypto"
	"github.com/ferrylog/ferry/internal/kafkaconf"
	"github.com/ferrylog/ferry/internal/record"
	ingestv1 "github.com/ferrylog/ferry/proto/ferry/ingest/v1"
	recordv1 "github.com/ferrylog/ferry/proto/ferry/record/v1"
)

func testBrokers(t *testing.T) string {
	raw := os.Getenv("FERRY_KAFKA_BROKERS")
	if raw == "" {
		raw = kafkaconf.DefaultBrokers
	}
	brokers, err := kafkaconf.ParseBrokers(raw)
	if err != nil {
		t.Fatal(err)
	}
	cfg := kafkaconf.Producer("ferry-router-e2e-probe")
	cfg.Metadata.Retry.Max = 0
	client, err := sarama.NewClient(brokers, cfg)
	if err != nil {
		t.Skipf("Kafka at %s is unreachable (%v); start it with `bash deploy/kafka/kafka.sh up` or set FERRY_KAFKA_BROKERS", raw, err)
	}
	client.Close()
	return raw
}

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func get(url string) (int, string) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestBinaryConsumesAndStopsOnSIGTERM runs the real router against the real
// broker: ready only with a session, writes the file, exposes metrics, and
// exits 0 on SIGTERM.
func TestBinaryConsumesAndStopsOnSIGTERM(t *testing.T) {
	brokers, brokerList, dir, keyringPath, kr, topic := setupBinaryTest(t)
	destination := "e2e-" + strings.TrimPrefix(topic, "ferry.test.")

	bin := buildRouter(t)
	addr := freePort(t)
	out := filepath.Join(dir, "out")
	cmd := exec.Command(bin, "consumer", "--kafka-brokers", brokers, "--topic", topic, "--dlq-topic", topic+".dlq",
		"--destination", destination, "--file-dir", out, "--keyring", keyringPath,
		"--http-listen", addr, "--log-format", "json", "--shutdown-grace", "20s")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()

	deadline := time.Now().Add(60 * time.Second)
	for {
		code, _ := get("http://" + addr + "/readyz")
		if code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready after 60s (last /readyz %d); stderr:\n%s", code, stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code, _ := get("http://" + addr + "/healthz"); code != http.StatusOK {
		t.Fatalf("/healthz = %d", code)
	}

	producer, err := sarama.NewSyncProducer(brokerList, kafkaconf.Producer("ferry-router-e2e-producer"))
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()
	sealer := record.NewSealer(kr, record.CodecLZ4)
	for i := range 10 {
		b := &recordv1.StoredBatch{Tenant: "acme", AccessKey: "AK-e2e", AgentId: "host-1", BatchId: fmt.Sprintf("host-1-1-%d", i), Tag: "e2e",
			Events: []*ingestv1.Event{{TimeUnixNano: int64(i), Body: fmt.Appendf(nil, `{"i":%d}`, i), Metadata: []byte(`{"m":1}`)}}}
		value, meta, err := sealer.Seal(b)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := producer.SendMessage(&sarama.ProducerMessage{Topic: topic, Key: sarama.ByteEncoder(record.Key("acme", "host-1")), Value: sarama.ByteEncoder(value), Headers: meta.Headers()}); err != nil {
			t.Fatal(err)
		}
	}
	file := filepath.Join(out, "AK-e2e.log")
	for deadline := time.Now().Add(30 * time.Second); ; {
		data, _ := os.ReadFile(file)
		if bytes.Count(data, []byte("\n")) >= 10 {
			if !strings.HasPrefix(string(data), `{"time":"1970-01-01T00:00:00.000000000Z","tag":"e2e","agent_id":"host-1","batch_id":"host-1-1-0","record":{"i":0},"metadata":{"m":1}}`+"\n") {
				t.Fatalf("first line: %q", strings.SplitN(string(data), "\n", 2)[0])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("file has %d lines after 30s; stderr:\n%s", bytes.Count(data, []byte("\n")), stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	_, metrics := get("http://" + addr + "/metrics")
	if !strings.Contains(metrics, `ferry_router_events_written_total{destination="`+destination+`"} 10`) {
		t.Errorf("metrics lack 10 written events:\n%s", grep(metrics, "ferry_router_"))
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) || err != nil {
			t.Fatalf("exit after SIGTERM: %v; stderr:\n%s", err, stderr.String())
		}
	case <-time.After(25 * time.Second):
		t.Fatalf("no exit 25s after SIGTERM; stderr:\n%s", stderr.String())
	}
	if !strings.Contains(stderr.String(), `"msg":"router consumer stopped"`) {
		t.Errorf("stderr lacks the stop line:\n%s", stderr.String())
	}
}

func grep(s, sub string) string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if strings.Contains(sc.Text(), sub) && !strings.HasPrefix(sc.Text(), "#") {
			out = append(out, sc.Text())
		}
	}
	return strings.Join(out, "\n")
}

// setupBinaryTest prepares what a test of the real binary needs: the
// broker, a folder with a new keyring, and a fresh topic with its DLQ
// topic (two partitions each), deleted when the test ends.
func setupBinaryTest(t *testing.T) (brokers string, brokerList []string, dir, keyringPath string, kr *crypto.Keyring, topic string) {
	t.Helper()
	brokers = testBrokers(t)
	brokerList, _ = kafkaconf.ParseBrokers(brokers)
	dir = t.TempDir()
	keyringPath = filepath.Join(dir, "keyring.json")
	if err := crypto.GenerateKeyringFile(keyringPath); err != nil {
		t.Fatal(err)
	}
	kr, err := crypto.LoadKeyring(keyringPath)
	if err != nil {
		t.Fatal(err)
	}
	suffix := make([]byte, 6)
	rand.Read(suffix)
	topic = "ferry.test." + hex.EncodeToString(suffix)
	admin, err := sarama.NewClusterAdmin(brokerList, kafkaconf.Producer("ferry-router-test-admin"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	for _, tp := range []string{topic, topic + ".dlq"} {
		if err := kafkaconf.EnsureTopic(admin, tp, 2, 1); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { admin.DeleteTopic(tp) })
	}
	return brokers, brokerList, dir, keyringPath, kr, topic
}
