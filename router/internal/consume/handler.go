package consume

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	"github.com/ferrylog/ferry/router/internal/destination"
	"github.com/ferrylog/ferry/router/internal/dlq"
)

// handler is the sarama.ConsumerGroupHandler of one session generation.
type handler struct {
	c   *Consumer
	dlq *dlq.Producer
}

// Setup runs when the session is established: the router can serve.
func (h *handler) Setup(sess sarama.ConsumerGroupSession) error {
	h.c.setReady(true)
	h.c.log.Info("consumer group session established", "generation", sess.GenerationID(), "claims", sess.Claims())
	return nil
}

// Cleanup runs after every ConsumeClaim returned, before the session commits
// its marked offsets.
func (h *handler) Cleanup(sarama.ConsumerGroupSession) error { return nil }

// ConsumeClaim processes one partition group by group until the session ends.
func (h *handler) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	ctx := sess.Context()
	// pending is the offset of the oldest record not yet durably handled.
	var pending atomic.Int64
	pending.Store(-1)
	stopLag := h.reportLag(claim, &pending)
	defer stopLag()
	for {
		if ctx.Err() != nil {
			return nil
		}
		var group []*sarama.ConsumerMessage
		select {
		case <-ctx.Done():
			return nil
		case msg, ok := <-claim.Messages():
			if !ok {
				return nil
			}
			group = append(group, msg)
			pending.Store(msg.Offset)
		}
		group = h.drain(claim, group)
		if err := h.process(sess, group); err != nil {
			return nil // session ended during retries: nothing marked, re-delivered later
		}
		pending.Store(group[len(group)-1].Offset + 1)
	}
}

// lagInterval is how often a claim reports its lag.
const lagInterval = time.Second

// reportLag keeps ferry_router_consumer_lag current on a timer rather than
// after each written group, so a destination stuck in retries shows its lag
// growing instead of its last good value. The returned stop removes the
// series: the partition's next owner reports it.
func (h *handler) reportLag(claim sarama.ConsumerGroupClaim, pending *atomic.Int64) (stop func()) {
	gauge := h.c.metrics.lag.WithLabelValues(claim.Topic(), partitionLabel(claim.Partition()))
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		ticker := time.NewTicker(lagInterval)
		defer ticker.Stop()
		for {
			if next := pending.Load(); next >= 0 {
				gauge.Set(float64(max(claim.HighWaterMarkOffset()-next, 0)))
			}
			select {
			case <-done:
				return
			case <-ticker.C:
			}
		}
	}()
	return func() {
		close(done)
		<-finished
		h.c.metrics.lag.DeleteLabelValues(claim.Topic(), partitionLabel(claim.Partition()))
	}
}

// drain adds the records already waiting, without blocking, up to the group
// limits: a busy partition is written in large groups (one fsync each), a
// quiet one record at a time with no added latency.
func (h *handler) drain(claim sarama.ConsumerGroupClaim, group []*sarama.ConsumerMessage) []*sarama.ConsumerMessage {
	size := len(group[0].Value)
	for len(group) < h.c.cfg.MaxGroupRecords && size < h.c.cfg.MaxGroupBytes {
		select {
		case msg, ok := <-claim.Messages():
			if !ok {
				return group
			}
			group = append(group, msg)
			size += len(msg.Value)
		default:
			return group
		}
	}
	return group
}

// process writes one group and marks it. It returns an error only when the
// session ended before the group was durable; then nothing is marked.
func (h *handler) process(sess sarama.ConsumerGroupSession, group []*sarama.ConsumerMessage) error {
	c := h.c
	// Retries stop when the session ends, but a write that started finishes:
	// on shutdown the group being written is completed and marked.
	retryCtx := sess.Context()
	writeCtx := context.WithoutCancel(retryCtx)

	var batches []*destination.Batch
	for _, msg := range group {
		d := c.decode(msg)
		switch {
		case d.reject != nil:
			reason := dlq.Classify(d.reject)
			err := c.retry(retryCtx, "dead-letter write", func(error) { c.metrics.deadLetterError.Inc() }, func() error {
				return h.dlq.Send(msg, reason, d.reject)
			})
			if err != nil {
				return err
			}
			c.metrics.deadLettered.WithLabelValues(string(reason)).Inc()
			c.log.Warn("record dead-lettered", "reason", reason, "topic", msg.Topic, "partition", msg.Partition, "offset", msg.Offset, "error", d.reject)
		case d.skip != "":
			c.metrics.skipped.WithLabelValues(d.skip).Inc()
		default:
			batches = append(batches, d.batch)
		}
	}

	if len(batches) > 0 {
		var written int64
		var kept, dups []*destination.Batch
		err := c.retry(retryCtx, "destination write", func(error) { c.metrics.writeErrors.Inc() }, func() error {
			// Check and write under one lock: two partitions carrying the
			// same batch id (a retry produced after a repartition) must not
			// both pass the check. The destination serializes its writes
			// anyway, so this costs no parallelism.
			c.writeMu.Lock()
			defer c.writeMu.Unlock()
			kept, dups = c.dropWritten(batches)
			if len(kept) == 0 {
				written = 0
				return nil
			}
			start := time.Now()
			n, err := c.dest.Write(writeCtx, kept)
			c.metrics.writeSeconds.Observe(time.Since(start).Seconds())
			written = n
			return err
		})
		if err != nil {
			return err
		}
		// Duplicates are marked with the group: their first copy is durable.
		c.countDropped(dups)
		events := 0
		for _, b := range kept {
			events += b.EventCount()
		}
		c.metrics.eventsWritten.Add(float64(events))
		c.metrics.bytesWritten.Add(float64(written))
	}
	// Offsets within a claim only move forward, so marking the last record
	// marks the whole group.
	sess.MarkMessage(group[len(group)-1], "")
	c.metrics.records.Add(float64(len(group)))
	return nil
}
