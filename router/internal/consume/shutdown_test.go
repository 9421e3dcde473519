package consume_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/ferrylog/ferry/router/internal/consume"
	"github.com/ferrylog/ferry/router/internal/destination"
	"github.com/ferrylog/ferry/router/internal/destination/file"
)

// blocking holds its first Write until released, so a test can stop the
// consumer while a group is being written.
type blocking struct {
	destination.Destination
	once     sync.Once
	entered  chan struct{}
	release  chan struct{}
	failures bool // fail every write instead
}

func (b *blocking) Write(ctx context.Context, batches []*destination.Batch) (int64, error) {
	if b.failures {
		return 0, errors.New("destination is down")
	}
	first := false
	b.once.Do(func() { first = true })
	if first {
		close(b.entered)
		<-b.release
	}
	return b.Destination.Write(ctx, batches)
}

func TestStopFinishesTheGroupBeingWritten(t *testing.T) {
	brokers := kafkaBrokers(t)
	topic := newTopic(t, brokers, 1)
	dlqTopic := newTopic(t, brokers, 1)
	kr := testKeyring(t)
	p := newProducer(t, brokers, kr, topic)
	dir := t.TempDir()
	const perBatch = 5
	var msgs []*sarama.ProducerMessage
	for seq := range 20 {
		msgs = append(msgs, p.message(agentBatch("AK-a", "agent-1", seq, perBatch), nil))
	}
	p.send(msgs...)

	inner, err := file.New(file.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer inner.Close()
	dest := &blocking{Destination: inner, entered: make(chan struct{}), release: make(chan struct{})}
	cfg := consume.Config{Brokers: brokers, Topic: topic, DLQTopic: dlqTopic, Destination: "stop-" + filepath.Base(topic), Keyring: kr, Logger: testLogger(t)}
	r := start(t, cfg, dest)
	select {
	case <-dest.entered:
	case <-time.After(60 * time.Second):
		t.Fatal("no write started")
	}
	// Stop while the group is in the destination, then let the write finish.
	r.stop()
	r.stop = nil
	time.Sleep(200 * time.Millisecond)
	close(dest.release)
	select {
	case err := <-r.done:
		if err != nil {
			t.Fatalf("Run = %v", err)
		}
	case <-time.After(40 * time.Second):
		t.Fatal("Run did not return after the stop")
	}
	written := lineCount(t, filepath.Join(dir, "AK-a.log"))
	if written == 0 || written%perBatch != 0 {
		t.Fatalf("%d lines written by the stopping consumer, want whole batches", written)
	}

	// The group written during the stop was marked and committed: a restart
	// continues after it and writes every event exactly once overall.
	r2 := start(t, cfg, inner)
	waitFor(t, 60*time.Second, "the rest of the records", func() bool { return lineCount(t, filepath.Join(dir, "AK-a.log")) >= 20*perBatch })
	time.Sleep(time.Second)
	checkAgentOrder(t, filepath.Join(dir, "AK-a.log"), map[string]int{"agent-1": 20 * perBatch})
	if got := r2.metric(t, "ferry_router_records_total"); got != float64(20-written/perBatch) {
		t.Errorf("restarted consumer handled %v records, want %d", got, 20-written/perBatch)
	}
}

func TestStopDuringWriteRetriesMarksNothing(t *testing.T) {
	brokers := kafkaBrokers(t)
	topic := newTopic(t, brokers, 1)
	dlqTopic := newTopic(t, brokers, 1)
	kr := testKeyring(t)
	p := newProducer(t, brokers, kr, topic)
	dir := t.TempDir()
	p.send(p.message(agentBatch("AK-a", "agent-1", 0, 3), nil), p.message(agentBatch("AK-a", "agent-1", 1, 3), nil))

	inner, err := file.New(file.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer inner.Close()
	cfg := consume.Config{Brokers: brokers, Topic: topic, DLQTopic: dlqTopic, Destination: "down-" + filepath.Base(topic),
		Keyring: kr, RetryMin: 20 * time.Millisecond, RetryMax: time.Second, Logger: testLogger(t)}
	r := start(t, cfg, &blocking{Destination: inner, failures: true})
	waitFor(t, 60*time.Second, "failing writes", func() bool { return r.metric(t, "ferry_router_write_errors_total") >= 3 })
	if !r.c.Ready() {
		t.Error("a failing destination made the consumer unready; readiness is about the Kafka session")
	}
	began := time.Now()
	r.shutdown(t)
	if d := time.Since(began); d > 10*time.Second {
		t.Errorf("stop during retries took %s", d)
	}
	if got := r.metric(t, "ferry_router_records_total"); got != 0 {
		t.Fatalf("records_total = %v while the destination was down, want 0", got)
	}

	// Nothing was marked: the destination back up gets both records.
	r2 := start(t, cfg, inner)
	waitFor(t, 60*time.Second, "re-delivered records", func() bool { return lineCount(t, filepath.Join(dir, "AK-a.log")) >= 6 })
	checkAgentOrder(t, filepath.Join(dir, "AK-a.log"), map[string]int{"agent-1": 6})
	_ = r2
}

func TestUnreachableKafkaRetriesUntilStopped(t *testing.T) {
	cfg := consume.Config{Brokers: []string{"127.0.0.1:1"}, Topic: "ferry.events", DLQTopic: "ferry.dlq", Destination: "file", Logger: testLogger(t)}
	inner, err := file.New(file.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	r := start(t, cfg, inner)
	select {
	case err := <-r.done:
		t.Fatalf("Run returned %v while Kafka is unreachable; it must keep retrying", err)
	case <-time.After(3 * time.Second):
	}
	if r.c.Ready() {
		t.Fatal("ready without Kafka")
	}
	began := time.Now()
	r.shutdown(t)
	if d := time.Since(began); d > 10*time.Second {
		t.Errorf("stop while connecting took %s", d)
	}
}
