// Package kafka owns the ingester's connection to Kafka: it connects in the
// background (an unreachable broker at start-up is not fatal), creates the
// topics, produces records and reports each record's outcome to a callback.
package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	"github.com/ferrylog/ferry/internal/kafkaconf"
)

// ErrNotReady means the producer is not connected to Kafka yet (or any more).
var ErrNotReady = errors.New("the ingester cannot reach Kafka yet")

// Options configure the producer.
type Options struct {
	Brokers         []string
	Topic           string
	Partitions      int32
	ReplicationFact int16
	ClientID        string
	Logger          *slog.Logger
	// ProbeInterval is how often readiness is checked against the brokers.
	ProbeInterval time.Duration
}

// Producer is safe for concurrent use.
type Producer struct {
	opts Options

	mu       sync.RWMutex // guards client, producer, closed
	client   sarama.Client
	producer sarama.AsyncProducer
	closed   bool

	ready     atomic.Bool
	notReady  atomic.Value // string: why not ready
	inFlight  sync.WaitGroup
	dispatchW sync.WaitGroup
	stop      chan struct{}
}

// New starts connecting in the background and returns at once.
func New(opts Options) *Producer {
	if opts.ProbeInterval == 0 {
		opts.ProbeInterval = 2 * time.Second
	}
	p := &Producer{opts: opts, stop: make(chan struct{})}
	p.notReady.Store("connecting to Kafka")
	go p.connectLoop()
	return p
}

// Ready reports whether records can be produced now, and if not, why.
func (p *Producer) Ready() (bool, string) {
	if p.ready.Load() {
		return true, ""
	}
	return false, p.notReady.Load().(string)
}

func (p *Producer) connectLoop() {
	backoff := 500 * time.Millisecond
	var lastErr string
	for {
		err := p.connect()
		if err == nil {
			p.opts.Logger.Info("connected to Kafka", "brokers", p.opts.Brokers, "topic", p.opts.Topic)
			p.probeLoop()
			return
		}
		p.notReady.Store(err.Error())
		if err.Error() != lastErr {
			lastErr = err.Error()
			p.opts.Logger.Error("cannot reach Kafka yet; retrying in the background, /readyz reports not ready", "brokers", p.opts.Brokers, "error", err)
		}
		select {
		case <-p.stop:
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 10*time.Second)
	}
}

func (p *Producer) connect() error {
	cfg := kafkaconf.Producer(p.opts.ClientID)
	client, err := sarama.NewClient(p.opts.Brokers, cfg)
	if err != nil {
		return fmt.Errorf("connect to Kafka brokers %v: %w", p.opts.Brokers, err)
	}
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		client.Close()
		return fmt.Errorf("open Kafka admin client: %w", err)
	}
	// Closing the admin would close the shared client: leave it to the client.
	for _, topic := range []string{p.opts.Topic, kafkaconf.DeadLetterTopic} {
		if err := kafkaconf.EnsureTopic(admin, topic, p.opts.Partitions, p.opts.ReplicationFact); err != nil {
			client.Close()
			return err
		}
	}
	producer, err := sarama.NewAsyncProducerFromClient(client)
	if err != nil {
		client.Close()
		return fmt.Errorf("start Kafka producer: %w", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		producer.Close()
		client.Close()
		return errors.New("closed")
	}
	p.client, p.producer = client, producer
	p.dispatchW.Add(2)
	go p.dispatchSuccesses()
	go p.dispatchErrors()
	p.ready.Store(true)
	return nil
}

// probeLoop asks the brokers for metadata on an interval, so readiness turns
// false while Kafka is down even when no records are being produced.
func (p *Producer) probeLoop() {
	ticker := time.NewTicker(p.opts.ProbeInterval)
	defer ticker.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-ticker.C:
		}
		p.mu.RLock()
		client := p.client
		p.mu.RUnlock()
		err := client.RefreshMetadata(p.opts.Topic)
		was := p.ready.Load()
		if err != nil {
			p.notReady.Store(fmt.Sprintf("Kafka metadata request failed: %v", err))
			p.ready.Store(false)
			if was {
				p.opts.Logger.Error("Kafka is not answering; batches are answered with retry until it is back", "error", err)
			}
		} else {
			p.ready.Store(true)
			if !was {
				p.opts.Logger.Info("Kafka is reachable again")
			}
		}
	}
}

// Produce hands a record to Kafka; done is called exactly once with the
// outcome: nil once Kafka acknowledged it with acks=all, else the error. A
// producer that is not connected calls done with ErrNotReady.
func (p *Producer) Produce(msg *sarama.ProducerMessage, done func(error)) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.producer == nil || p.closed {
		done(ErrNotReady)
		return
	}
	p.inFlight.Add(1)
	msg.Metadata = done
	// sarama's input fills up when Kafka hangs. Waiting here holds the read
	// lock, which would hold Close past the shutdown grace: bound the wait
	// and let the agent retry instead.
	timer := time.NewTimer(inputTimeout)
	defer timer.Stop()
	select {
	case p.producer.Input() <- msg:
	case <-timer.C:
		p.inFlight.Done()
		done(fmt.Errorf("the Kafka producer accepted no record for %s", inputTimeout))
	}
}

// inputTimeout bounds how long Produce waits for sarama to take a record.
const inputTimeout = 5 * time.Second

func (p *Producer) dispatchSuccesses() {
	defer p.dispatchW.Done()
	for msg := range p.producer.Successes() {
		msg.Metadata.(func(error))(nil)
		p.inFlight.Done()
	}
}

func (p *Producer) dispatchErrors() {
	defer p.dispatchW.Done()
	for perr := range p.producer.Errors() {
		p.ready.Store(false)
		p.notReady.Store(fmt.Sprintf("producing failed: %v", perr.Err))
		perr.Msg.Metadata.(func(error))(perr.Err)
		p.inFlight.Done()
	}
}

// Close waits (bounded by ctx) for records in flight to be acknowledged,
// then closes the producer and client. It is safe to call more than once and
// before the producer connected.
func (p *Producer) Close(ctx context.Context) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	close(p.stop)
	producer, client := p.producer, p.client
	p.mu.Unlock()
	if producer == nil {
		return nil
	}
	flushed := make(chan struct{})
	go func() { p.inFlight.Wait(); close(flushed) }()
	var err error
	select {
	case <-flushed:
	case <-ctx.Done():
		err = fmt.Errorf("records still in flight when the shutdown grace ended: %w", ctx.Err())
	}
	producer.AsyncClose()
	// sarama may still be retrying records against a dead broker; do not
	// let that hold the process past the grace period for long.
	drained := make(chan struct{})
	go func() { p.dispatchW.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(5 * time.Second):
		err = errors.Join(err, errors.New("the Kafka producer did not finish closing within 5 s"))
	}
	client.Close()
	p.ready.Store(false)
	return err
}
