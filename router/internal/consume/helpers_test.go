package consume_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/ferrylog/ferry/internal/crypto"
	"github.com/ferrylog/ferry/internal/kafkaconf"
	"github.com/ferrylog/ferry/internal/record"
	ingestv1 "github.com/ferrylog/ferry/proto/ferry/ingest/v1"
	recordv1 "github.com/ferrylog/ferry/proto/ferry/record/v1"
	"github.com/ferrylog/ferry/router/internal/consume"
	"github.com/ferrylog/ferry/router/internal/destination"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// kafkaBrokers returns the broker of FERRY_KAFKA_BROKERS and skips the test
// when it does not answer. CI always runs one.
func kafkaBrokers(t *testing.T) []string {
	t.Helper()
	raw := os.Getenv("FERRY_KAFKA_BROKERS")
	if raw == "" {
		raw = kafkaconf.DefaultBrokers
	}
	brokers, err := kafkaconf.ParseBrokers(raw)
	if err != nil {
		t.Fatalf("FERRY_KAFKA_BROKERS: %v", err)
	}
	cfg := kafkaconf.Producer("ferry-router-test-probe")
	cfg.Metadata.Retry.Max = 0
	client, err := sarama.NewClient(brokers, cfg)
	if err != nil {
		t.Skipf("Kafka at %s is unreachable (%v); start it with `bash deploy/kafka/kafka.sh up` or set FERRY_KAFKA_BROKERS", raw, err)
	}
	client.Close()
	return brokers
}

// newTopic creates a uniquely named topic and deletes it after the test.
func newTopic(t *testing.T, brokers []string, partitions int32) string {
	t.Helper()
	suffix := make([]byte, 6)
	rand.Read(suffix)
	topic := "ferry.test." + hex.EncodeToString(suffix)
	admin, err := sarama.NewClusterAdmin(brokers, kafkaconf.Producer("ferry-router-test-admin"))
	if err != nil {
		t.Fatal(err)
	}
	if err := kafkaconf.EnsureTopic(admin, topic, partitions, 1); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = admin.DeleteTopic(topic)
		admin.Close()
	})
	return topic
}

func testKeyring(t *testing.T) *crypto.Keyring {
	kr, err := crypto.NewKeyring("k1", map[string][]byte{"k1": bytes.Repeat([]byte{42}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

type producer struct {
	t      *testing.T
	p      sarama.SyncProducer
	sealer *record.Sealer
	topic  string
}

func newProducer(t *testing.T, brokers []string, kr *crypto.Keyring, topic string) *producer {
	p, err := sarama.NewSyncProducer(brokers, kafkaconf.Producer("ferry-router-test-producer"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return &producer{t: t, p: p, sealer: record.NewSealer(kr, record.CodecZstd), topic: topic}
}

// agentBatch is batch number seq of an agent: events numbered from
// seq*perBatch, each body naming its agent and number.
func agentBatch(accessKey, agent string, seq, perBatch int) *recordv1.StoredBatch {
	b := &recordv1.StoredBatch{
		Tenant: "acme", AccessKey: accessKey, AgentId: agent, Hostname: agent + ".local",
		BatchId: fmt.Sprintf("%s-1-%d", agent, seq), StreamEpoch: 1, Sequence: uint64(seq), Tag: "app.log",
	}
	for i := range perBatch {
		n := seq*perBatch + i
		b.Events = append(b.Events, &ingestv1.Event{
			TimeUnixNano: 1_700_000_000_000_000_000 + int64(n),
			Body:         fmt.Appendf(nil, `{"agent":%q,"n":%d,"msg":"event number %d"}`, agent, n, n),
		})
	}
	return b
}

// message seals b; change, when given, alters the headers after sealing.
func (p *producer) message(b *recordv1.StoredBatch, change func(*record.Meta)) *sarama.ProducerMessage {
	value, meta, err := p.sealer.Seal(b)
	if err != nil {
		p.t.Fatal(err)
	}
	if change != nil {
		change(&meta)
	}
	return &sarama.ProducerMessage{Topic: p.topic, Key: sarama.ByteEncoder(record.Key(b.Tenant, b.AgentId)), Value: sarama.ByteEncoder(value), Headers: meta.Headers()}
}

// sendThreeAgents produces batches of perBatch events from three agents, two
// under AK-a and one under AK-b, interleaved by sequence, and returns the
// number of events sent. Each agent's events must arrive in order.
func (p *producer) sendThreeAgents(batches, perBatch int) int {
	agents := []struct{ key, agent string }{{"AK-a", "agent-1"}, {"AK-a", "agent-2"}, {"AK-b", "agent-3"}}
	var msgs []*sarama.ProducerMessage
	for seq := range batches {
		for _, a := range agents {
			msgs = append(msgs, p.message(agentBatch(a.key, a.agent, seq, perBatch), nil))
		}
	}
	p.send(msgs...)
	return batches * perBatch * len(agents)
}

func (p *producer) send(msgs ...*sarama.ProducerMessage) {
	if err := p.p.SendMessages(msgs); err != nil {
		p.t.Fatal(err)
	}
}

// running is a consumer started in the background.
type running struct {
	c    *consume.Consumer
	reg  *prometheus.Registry
	done chan error
	stop context.CancelFunc
}

func start(t *testing.T, cfg consume.Config, dest destination.Destination) *running {
	t.Helper()
	reg := prometheus.NewRegistry()
	cfg.Registerer = reg
	c, err := consume.New(cfg, dest)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{c: c, reg: reg, done: make(chan error, 1), stop: cancel}
	go func() { r.done <- c.Run(ctx) }()
	t.Cleanup(func() { r.shutdown(t) })
	return r
}

// shutdown stops gracefully and waits, bounded, for Run to return.
func (r *running) shutdown(t *testing.T) {
	t.Helper()
	if r.stop == nil {
		return
	}
	r.stop()
	r.stop = nil
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("Run returned %v", err)
		}
	case <-time.After(40 * time.Second):
		t.Fatal("Run did not return within 40s of the stop")
	}
}

// metric reads a counter or gauge; labels select one series.
func (r *running) metric(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	families, err := r.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				if labelValue(m, labels[i]) != labels[i+1] {
					continue series
				}
			}
			sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return sum
}

func labelValue(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// readLines returns the lines of a file, or none when it does not exist.
func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	s := bufio.NewScanner(f)
	s.Buffer(nil, 1<<20)
	for s.Scan() {
		lines = append(lines, s.Text())
	}
	return lines
}

func lineCount(t *testing.T, paths ...string) int {
	n := 0
	for _, p := range paths {
		n += len(readLines(t, p))
	}
	return n
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
