package consume_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/ferrylog/ferry/internal/configstore"
	"github.com/ferrylog/ferry/internal/kafkaconf"
	"github.com/ferrylog/ferry/internal/record"
	"github.com/ferrylog/ferry/router/internal/consume"
	"github.com/ferrylog/ferry/router/internal/destination"
	"github.com/ferrylog/ferry/router/internal/destination/file"
	"github.com/ferrylog/ferry/router/internal/dlq"
)

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return slog.New(slog.DiscardHandler)
}

type line struct {
	Time     string          `json:"time"`
	Tag      string          `json:"tag"`
	AgentID  string          `json:"agent_id"`
	Record   json.RawMessage `json:"record"`
	Metadata json.RawMessage `json:"metadata"`
}

// checkAgentOrder asserts that path holds, per agent, events 0..counts[agent]-1
// exactly once and in order.
func checkAgentOrder(t *testing.T, path string, counts map[string]int) {
	t.Helper()
	next := map[string]int{}
	for i, raw := range readLines(t, path) {
		var l line
		if err := json.Unmarshal([]byte(raw), &l); err != nil {
			t.Fatalf("%s line %d is not JSON: %v", path, i+1, err)
		}
		var body struct {
			Agent string `json:"agent"`
			N     int    `json:"n"`
		}
		if err := json.Unmarshal(l.Record, &body); err != nil {
			t.Fatalf("%s line %d: record: %v", path, i+1, err)
		}
		if body.Agent != l.AgentID || l.Tag != "app.log" || l.Metadata != nil {
			t.Fatalf("%s line %d: agent %q tag %q metadata %s", path, i+1, l.AgentID, l.Tag, l.Metadata)
		}
		if _, ok := counts[body.Agent]; !ok {
			t.Fatalf("%s line %d: agent %s does not belong in this file", path, i+1, body.Agent)
		}
		if body.N != next[body.Agent] {
			t.Fatalf("%s line %d: agent %s event %d, want %d (duplicate, gap or reorder)", path, i+1, body.Agent, body.N, next[body.Agent])
		}
		next[body.Agent]++
	}
	for agent, want := range counts {
		if next[agent] != want {
			t.Fatalf("%s: agent %s has %d events, want %d", path, agent, next[agent], want)
		}
	}
}

func TestDeliversExactlyOnceDeadLettersAndResumes(t *testing.T) {
	brokers := kafkaBrokers(t)
	topic := newTopic(t, brokers, 3)
	dlqTopic := newTopic(t, brokers, 1)
	kr := testKeyring(t)
	p := newProducer(t, brokers, kr, topic)
	dir := t.TempDir()
	group := "test-" + filepath.Base(topic)

	const batches, perBatch = 40, 25
	total := p.sendThreeAgents(batches, perBatch)

	cfg := consume.Config{Brokers: brokers, Topic: topic, DLQTopic: dlqTopic, Destination: group, Keyring: kr, Logger: testLogger(t)}
	dest, err := file.New(file.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer dest.Close()
	began := time.Now()
	r := start(t, cfg, dest)
	fileA, fileB := filepath.Join(dir, "AK-a.log"), filepath.Join(dir, "AK-b.log")
	waitFor(t, 60*time.Second, "all events in the files", func() bool { return lineCount(t, fileA, fileB) >= total })
	elapsed := time.Since(began)
	t.Logf("%d events in %d records written in %s including the group join (%.0f events/s)", total, total/perBatch, elapsed.Round(time.Millisecond), float64(total)/elapsed.Seconds())
	checkAgentOrder(t, fileA, map[string]int{"agent-1": batches * perBatch, "agent-2": batches * perBatch})
	checkAgentOrder(t, fileB, map[string]int{"agent-3": batches * perBatch})
	if !r.c.Ready() {
		t.Error("not ready while consuming")
	}
	if got := r.metric(t, "ferry_router_events_written_total"); got != float64(total) {
		t.Errorf("events_written_total = %v, want %d", got, total)
	}

	// A record sealed with a key this router does not have, followed by a
	// good one: the bad one goes to the DLQ and the good one still arrives.
	bad := p.message(agentBatch("AK-b", "agent-3", batches, perBatch), func(m *record.Meta) { m.KeyID = "k-gone" })
	p.send(bad, p.message(agentBatch("AK-b", "agent-3", batches, perBatch), nil))
	waitFor(t, 30*time.Second, "the batch after the bad record", func() bool { return lineCount(t, fileB) >= (batches+1)*perBatch })
	checkAgentOrder(t, fileB, map[string]int{"agent-3": (batches + 1) * perBatch})
	if got := r.metric(t, "ferry_router_dead_lettered_total", "reason", "unknown_key_id"); got != 1 {
		t.Errorf("dead_lettered_total{reason=unknown_key_id} = %v, want 1", got)
	}
	dead := readOne(t, brokers, dlqTopic)
	headers := map[string]string{}
	for _, h := range dead.Headers {
		headers[string(h.Key)] = string(h.Value)
	}
	if headers[dlq.HeaderReason] != "unknown_key_id" || headers[dlq.HeaderDestination] != group ||
		headers[record.HeaderKeyID] != "k-gone" || !contains(headers[dlq.HeaderSource], topic+"/") || !contains(headers[dlq.HeaderError], "k-gone") {
		t.Errorf("dead-letter headers %v", headers)
	}
	if string(dead.Key) != "acme/agent-3" {
		t.Errorf("dead-letter key %q", dead.Key)
	}

	// Graceful stop, then a new consumer in the same group: only the new
	// record is written, nothing committed is written again.
	r.shutdown(t)
	dest.Close()
	p.send(p.message(agentBatch("AK-a", "agent-1", batches, perBatch), nil))
	dest2, err := file.New(file.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer dest2.Close()
	r2 := start(t, cfg, dest2)
	waitFor(t, 60*time.Second, "the record produced while stopped", func() bool { return r2.metric(t, "ferry_router_events_written_total") >= perBatch })
	time.Sleep(1500 * time.Millisecond) // let a re-delivery, if there were one, show up
	if got := r2.metric(t, "ferry_router_records_total"); got != 1 {
		t.Errorf("restarted consumer handled %v records, want 1", got)
	}
	checkAgentOrder(t, fileA, map[string]int{"agent-1": (batches + 1) * perBatch, "agent-2": batches * perBatch})
	checkAgentOrder(t, fileB, map[string]int{"agent-3": (batches + 1) * perBatch})
}

// readOne reads the first record of a single-partition topic.
func readOne(t *testing.T, brokers []string, topic string) *sarama.ConsumerMessage {
	t.Helper()
	c, err := sarama.NewConsumer(brokers, kafkaconf.Consumer("ferry-router-test-reader"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	pc, err := c.ConsumePartition(topic, 0, sarama.OffsetOldest)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	select {
	case m := <-pc.Messages():
		return m
	case <-time.After(20 * time.Second):
		t.Fatalf("no record on %s", topic)
		return nil
	}
}

// flaky fails its first writes, like a full disk that an operator clears.
type flaky struct {
	destination.Destination
	failures atomic.Int32
}

func (f *flaky) Write(ctx context.Context, b []*destination.Batch) (int64, error) {
	if f.failures.Add(-1) >= 0 {
		return 0, errors.New("no space left on device")
	}
	return f.Destination.Write(ctx, b)
}

type staticRoutes struct{ snap *configstore.Snapshot }

func (s staticRoutes) Current() *configstore.Snapshot { return s.snap }

func TestWriteFailuresAreRetriedAndRoutesSkip(t *testing.T) {
	brokers := kafkaBrokers(t)
	topic := newTopic(t, brokers, 1)
	dlqTopic := newTopic(t, brokers, 1)
	kr := testKeyring(t)
	p := newProducer(t, brokers, kr, topic)
	dir := t.TempDir()

	const perBatch = 10
	var msgs []*sarama.ProducerMessage
	for seq := range 5 {
		msgs = append(msgs,
			p.message(agentBatch("AK-a", "agent-1", seq, perBatch), nil),
			p.message(agentBatch("AK-elsewhere", "agent-9", seq, perBatch), nil))
	}
	p.send(msgs...)

	inner, err := file.New(file.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer inner.Close()
	dest := &flaky{Destination: inner}
	dest.failures.Store(3)
	routes := staticRoutes{&configstore.Snapshot{AccessKeys: map[string]*configstore.AccessKey{
		"AK-a":         {Tenant: "acme", Destinations: []string{"file", "archive"}},
		"AK-elsewhere": {Tenant: "acme", Destinations: []string{"http"}},
	}}}
	cfg := consume.Config{
		Brokers: brokers, Topic: topic, DLQTopic: dlqTopic, Destination: "archive",
		Keyring: kr, Routes: routes, RetryMin: 10 * time.Millisecond, RetryMax: 50 * time.Millisecond, Logger: testLogger(t),
	}
	// A group of its own: the destination name is shared with no other test.
	cfg.Destination = "archive-" + filepath.Base(topic)
	routes.snap.AccessKeys["AK-a"].Destinations = append(routes.snap.AccessKeys["AK-a"].Destinations, cfg.Destination)
	r := start(t, cfg, dest)

	waitFor(t, 60*time.Second, "records of AK-a", func() bool { return r.metric(t, "ferry_router_records_total") >= 10 })
	checkAgentOrder(t, filepath.Join(dir, "AK-a.log"), map[string]int{"agent-1": 5 * perBatch})
	if _, err := os.Stat(filepath.Join(dir, "AK-elsewhere.log")); !os.IsNotExist(err) {
		t.Errorf("a key routed elsewhere was written (stat: %v)", err)
	}
	if got := r.metric(t, "ferry_router_write_errors_total"); got != 3 {
		t.Errorf("write_errors_total = %v, want 3", got)
	}
	if got := r.metric(t, "ferry_router_skipped_total", "reason", "not_routed"); got != 5 {
		t.Errorf("skipped_total{not_routed} = %v, want 5", got)
	}
	if got := r.metric(t, "ferry_router_dead_lettered_total"); got != 0 {
		t.Errorf("dead_lettered_total = %v, want 0: write failures must not be dead-lettered", got)
	}
}
