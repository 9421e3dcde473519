package consume

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
	"github.com/ferrylog/ferry/router/internal/destination"
	"github.com/ferrylog/ferry/router/internal/dlq"
)

// dlqMaxMessageBytes stays under the broker's default message.max.bytes
// (1048588) minus the record batch framing.
const dlqMaxMessageBytes = 1_040_000

// Connection backoff while Kafka is unreachable.
const (
	connectBackoffMin = time.Second
	connectBackoffMax = 30 * time.Second
)

// Consumer runs one destination's consumer group.
type Consumer struct {
	cfg     Config
	dest    destination.Destination
	log     *slog.Logger
	metrics *metrics
	ready   atomic.Bool
	// writeMu makes the dedup check and the write of a group one step
	// across the partitions' goroutines.
	writeMu sync.Mutex
}

// New checks cfg. It does not connect: Run does, and keeps retrying.
func New(cfg Config, dest destination.Destination) (*Consumer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if dest == nil {
		return nil, errors.New("no destination given")
	}
	return &Consumer{
		cfg:     cfg,
		dest:    dest,
		log:     cfg.Logger.With("destination", cfg.Destination, "group", cfg.GroupID()),
		metrics: newMetrics(cfg.Registerer, cfg.Destination),
	}, nil
}

// Ready reports whether a consumer group session is established.
func (c *Consumer) Ready() bool { return c.ready.Load() }

func (c *Consumer) setReady(ok bool) {
	c.ready.Store(ok)
	if ok {
		c.metrics.ready.Set(1)
	} else {
		c.metrics.ready.Set(0)
	}
}

// Run consumes until ctx ends. Cancelling ctx is the graceful stop: the
// groups being written are finished and marked, the session is released
// (which commits the marked offsets) and the group is left. It returns nil
// after a graceful stop; it does not return when Kafka is unreachable, it
// retries. The destination is not closed: its owner closes it after Run.
func (c *Consumer) Run(ctx context.Context) error {
	defer c.setReady(false)
	conn, err := c.connect(ctx)
	if err != nil {
		return nil // ctx ended while connecting
	}
	defer conn.close(c.log)

	h := &handler{c: c, dlq: dlq.NewProducer(conn.producer, c.cfg.DLQTopic, c.cfg.Destination)}
	backoff := connectBackoffMin
	for {
		err := conn.group.Consume(ctx, []string{c.cfg.Topic}, h)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, sarama.ErrClosedConsumerGroup) {
			return fmt.Errorf("consumer group closed unexpectedly: %w", err)
		}
		if err == nil {
			backoff = connectBackoffMin // a rebalance ended the session; join again
			continue
		}
		c.setReady(false)
		c.log.Warn("consumer group session failed; joining again", "error", err, "retry_in", backoff)
		if !sleep(ctx, backoff) {
			return nil
		}
		backoff = min(backoff*2, connectBackoffMax)
	}
}

type connection struct {
	group          sarama.ConsumerGroup
	producerClient sarama.Client
	producer       sarama.SyncProducer
}

func (k *connection) close(log *slog.Logger) {
	// Close leaves the group; the session release before it already
	// committed the marked offsets.
	if err := k.group.Close(); err != nil {
		log.Warn("closing the consumer group", "error", err)
	}
	if err := k.producer.Close(); err != nil {
		log.Warn("closing the dead-letter producer", "error", err)
	}
	_ = k.producerClient.Close()
}

// connect creates the consumer group and the dead-letter producer, retrying
// with backoff while Kafka is unreachable. It fails only when ctx ends.
func (c *Consumer) connect(ctx context.Context) (*connection, error) {
	backoff := connectBackoffMin
	for attempt := 1; ; attempt++ {
		conn, err := c.tryConnectCtx(ctx)
		if ctx.Err() != nil {
			if conn != nil {
				conn.close(c.log)
			}
			return nil, ctx.Err()
		}
		if err == nil {
			if attempt > 1 {
				c.log.Info("connected to Kafka", "brokers", c.cfg.Brokers, "attempts", attempt)
			}
			return conn, nil
		}
		level := slog.LevelWarn
		if attempt > 1 && attempt%10 != 0 {
			level = slog.LevelDebug // keep repeating failures from flooding the log
		}
		c.log.Log(ctx, level, "Kafka is unreachable; retrying", "brokers", c.cfg.Brokers, "attempt", attempt, "retry_in", backoff, "error", err)
		if !sleep(ctx, backoff) {
			return nil, ctx.Err()
		}
		backoff = min(backoff*2, connectBackoffMax)
	}
}

// tryConnectCtx returns when ctx ends even if sarama is still dialling (a
// blackholed broker takes the dial timeout times the metadata retries); a
// connection made after that is closed in the background.
func (c *Consumer) tryConnectCtx(ctx context.Context) (*connection, error) {
	type result struct {
		conn *connection
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		conn, err := c.tryConnect()
		ch <- result{conn, err}
	}()
	select {
	case r := <-ch:
		return r.conn, r.err
	case <-ctx.Done():
		go func() {
			if r := <-ch; r.conn != nil {
				r.conn.close(c.log)
			}
		}()
		return nil, ctx.Err()
	}
}

func (c *Consumer) tryConnect() (*connection, error) {
	ccfg := kafkaconf.Consumer("ferry-router-" + c.cfg.Destination)
	if c.cfg.InitialOffset == InitialNewest {
		ccfg.Consumer.Offsets.Initial = sarama.OffsetNewest
	}
	group, err := sarama.NewConsumerGroup(c.cfg.Brokers, c.cfg.GroupID(), ccfg)
	if err != nil {
		return nil, fmt.Errorf("create consumer group: %w", err)
	}
	pcfg := kafkaconf.Producer("ferry-router-" + c.cfg.Destination + "-dlq")
	// A dead-lettered record is a copy of one that fit the events topic,
	// plus headers: allow up to the broker's default message.max.bytes.
	pcfg.Producer.MaxMessageBytes = dlqMaxMessageBytes
	pclient, err := sarama.NewClient(c.cfg.Brokers, pcfg)
	if err != nil {
		group.Close()
		return nil, fmt.Errorf("connect the dead-letter producer: %w", err)
	}
	c.ensureDLQTopic(pclient)
	producer, err := sarama.NewSyncProducerFromClient(pclient)
	if err != nil {
		group.Close()
		pclient.Close()
		return nil, fmt.Errorf("create the dead-letter producer: %w", err)
	}
	go c.logGroupErrors(group)
	return &connection{group: group, producerClient: pclient, producer: producer}, nil
}

// ensureDLQTopic creates the dead-letter topic with the broker's default
// partitions and replication when it is missing (brokers usually run with
// topic auto-creation off). Failing is not fatal: records are dead-lettered
// rarely, and a failed DLQ write is retried and logged with the reason.
func (c *Consumer) ensureDLQTopic(client sarama.Client) {
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err == nil {
		// admin.Close would close the shared client: it has nothing else to release.
		err = kafkaconf.EnsureTopic(admin, c.cfg.DLQTopic, -1, -1)
	}
	if err != nil {
		c.log.Warn("could not make sure the dead-letter topic exists", "topic", c.cfg.DLQTopic, "error", err)
	}
}

// logGroupErrors drains the group's error channel (Return.Errors is on, and
// an undrained channel would block the consumer). It ends when the group closes.
func (c *Consumer) logGroupErrors(group sarama.ConsumerGroup) {
	for err := range group.Errors() {
		c.log.Warn("consumer group error", "error", err)
	}
}

// sleep waits d or until ctx ends; it reports whether the full wait passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
