package consume_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/ferrylog/ferry/router/internal/consume"
	"github.com/ferrylog/ferry/router/internal/destination/file"
)

// A destination that cannot write must show its lag growing, not the last
// good value (or nothing): that is how an operator sees it is stuck.
func TestLagShowsAStuckDestinationAndClearsAfterRepair(t *testing.T) {
	brokers := kafkaBrokers(t)
	topic := newTopic(t, brokers, 1)
	kr := testKeyring(t)
	p := newProducer(t, brokers, kr, topic)
	var msgs []*sarama.ProducerMessage
	for seq := range 5 {
		msgs = append(msgs, p.message(agentBatch("AK-a", "agent-1", seq, 3), nil))
	}
	p.send(msgs...)

	inner, err := file.New(file.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer inner.Close()
	dest := &flaky{Destination: inner}
	dest.failures.Store(1 << 30) // broken until repaired below
	cfg := consume.Config{
		Brokers: brokers, Topic: topic, DLQTopic: newTopic(t, brokers, 1), Destination: "lag-" + filepath.Base(topic),
		Keyring: kr, RetryMin: 10 * time.Millisecond, RetryMax: 50 * time.Millisecond, Logger: testLogger(t),
	}
	r := start(t, cfg, dest)

	waitFor(t, 60*time.Second, "lag of the stuck destination", func() bool {
		return r.metric(t, "ferry_router_consumer_lag") == 5
	})
	if got := r.metric(t, "ferry_router_records_total"); got != 0 {
		t.Fatalf("records_total = %v while every write fails", got)
	}
	dest.failures.Store(0)
	waitFor(t, 60*time.Second, "lag back to zero after the repair", func() bool {
		return r.metric(t, "ferry_router_consumer_lag") == 0 && r.metric(t, "ferry_router_records_total") == 5
	})
}
