package consume_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/ferrylog/ferry/router/internal/consume"
	"github.com/ferrylog/ferry/router/internal/destination/file"
)

// TestThroughput reports how fast one router drains a backlog into files on
// this machine (real broker, real fsync). It asserts completeness, not a
// rate: the machines are small and shared. Skipped with -short.
func TestThroughput(t *testing.T) {
	if testing.Short() {
		t.Skip("throughput run skipped with -short")
	}
	brokers := kafkaBrokers(t)
	topic := newTopic(t, brokers, 3)
	dlqTopic := newTopic(t, brokers, 1)
	kr := testKeyring(t)
	p := newProducer(t, brokers, kr, topic)
	dir := t.TempDir()

	const batches, perBatch = 200, 100
	total := p.sendThreeAgents(batches, perBatch)

	dest, err := file.New(file.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer dest.Close()
	cfg := consume.Config{Brokers: brokers, Topic: topic, DLQTopic: dlqTopic, Destination: "tp-" + filepath.Base(topic), Keyring: kr, Logger: testLogger(t)}
	r := start(t, cfg, dest)
	waitFor(t, 60*time.Second, "the session", r.c.Ready)
	began := time.Now()
	waitFor(t, 120*time.Second, "the backlog", func() bool { return r.metric(t, "ferry_router_events_written_total") >= float64(total) })
	elapsed := time.Since(began)
	bytes := r.metric(t, "ferry_router_bytes_written_total")
	t.Logf("drained %d events (%d records, %.1f MB of lines) in %s: %.0f events/s, %.1f MB/s",
		total, total/perBatch, bytes/1e6, elapsed.Round(time.Millisecond), float64(total)/elapsed.Seconds(), bytes/1e6/elapsed.Seconds())
	checkAgentOrder(t, filepath.Join(dir, "AK-a.log"), map[string]int{"agent-1": batches * perBatch, "agent-2": batches * perBatch})
	checkAgentOrder(t, filepath.Join(dir, "AK-b.log"), map[string]int{"agent-3": batches * perBatch})
}
