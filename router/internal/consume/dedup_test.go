package consume_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/ferrylog/ferry/router/internal/consume"
	"github.com/ferrylog/ferry/router/internal/destination/file"
)

// countBatchLines counts the lines of path that carry batch id id.
func countBatchLines(t *testing.T, path, id string) int {
	n := 0
	for _, l := range readLines(t, path) {
		if strings.Contains(l, `"batch_id":"`+id+`"`) {
			n++
		}
	}
	return n
}

// TestDuplicateBatchIsDroppedAcrossRestarts sends one sealed batch as two
// records (a Fluent Bit retry after a lost ack), then again to a restarted
// router: its events are written once, and each copy is counted.
func TestDuplicateBatchIsDroppedAcrossRestarts(t *testing.T) {
	brokers := kafkaBrokers(t)
	topic := newTopic(t, brokers, 1)
	dlqTopic := newTopic(t, brokers, 1)
	kr := testKeyring(t)
	p := newProducer(t, brokers, kr, topic)
	dir := t.TempDir()
	path := filepath.Join(dir, "AK-d.log")
	const perBatch = 20
	sealedA := p.message(agentBatch("AK-d", "agent-1", 0, perBatch), nil)
	copyOf := func(m *sarama.ProducerMessage) *sarama.ProducerMessage {
		return &sarama.ProducerMessage{Topic: m.Topic, Key: m.Key, Value: m.Value, Headers: m.Headers}
	}
	cfg := consume.Config{Brokers: brokers, Topic: topic, DLQTopic: dlqTopic, Destination: "test-" + filepath.Base(topic), Keyring: kr, Logger: testLogger(t)}

	run := func(msgs ...*sarama.ProducerMessage) *running {
		dest, err := file.New(file.Config{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { dest.Close() })
		r := start(t, cfg, dest)
		// One record at a time: each copy is its own group, so the drop
		// comes from the index, not from the in-group check.
		for _, m := range msgs {
			want := r.metric(t, "ferry_router_records_total") + 1
			p.send(m)
			waitFor(t, 60*time.Second, "the record handled", func() bool { return r.metric(t, "ferry_router_records_total") >= want })
		}
		r.shutdown(t)
		if err := dest.Close(); err != nil {
			t.Fatal(err)
		}
		return r
	}

	r := run(sealedA, copyOf(sealedA), p.message(agentBatch("AK-d", "agent-1", 1, perBatch), nil))
	if got := countBatchLines(t, path, "agent-1-1-0"); got != perBatch {
		t.Fatalf("batch written %d lines, want %d once", got, perBatch)
	}
	if got := r.metric(t, "ferry_router_duplicates_dropped_total"); got != 1 {
		t.Errorf("duplicates_dropped_total = %v, want 1", got)
	}
	if got := r.metric(t, "ferry_router_events_written_total"); got != 2*perBatch {
		t.Errorf("events_written_total = %v, want %d", got, 2*perBatch)
	}

	// A restarted router still knows the id.
	r = run(copyOf(sealedA), p.message(agentBatch("AK-d", "agent-1", 2, perBatch), nil))
	if got := countBatchLines(t, path, "agent-1-1-0"); got != perBatch {
		t.Fatalf("after restart the batch has %d lines, want %d", got, perBatch)
	}
	if got := r.metric(t, "ferry_router_duplicates_dropped_total", "destination", cfg.Destination); got != 1 {
		t.Errorf("after restart duplicates_dropped_total = %v, want 1", got)
	}
	checkAgentOrder(t, path, map[string]int{"agent-1": 3 * perBatch})
}
