package agent

import (
	"context"
	"time"

	ingestv1 "github.com/ferrylog/ferry/proto/ferry/ingest/v1"
	"google.golang.org/grpc/codes"
)

// Flush delivers one Fluent Bit chunk and answers when every batch of it was
// acknowledged, or as soon as the answer is known to be Retry or Error. It
// never waits longer than Ack_Timeout. chunk must stay unchanged until Flush
// returns (the shim passes a copy it owns).
func (c *Client) Flush(tag string, chunk []byte) Result {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return Retry
	}
	c.flushes.Add(1)
	sess, s, connectErr, pausedUntil := c.current, c.settings, c.connectErr, c.pausedUntil
	c.mu.Unlock()
	defer c.flushes.Done()

	if sess == nil {
		if deniesKey(connectErr) {
			c.log.Error("dropping a chunk: "+advice(codes.PermissionDenied, c.cfg.AccessKey), "tag", tag)
			return Error
		}
		return Retry
	}
	if time.Now().Before(pausedUntil) {
		return Retry
	}

	events, err := s.decoder.Decode(chunk, nil)
	if err != nil {
		c.log.Error("dropping a chunk that is not valid Fluent Bit msgpack; report this with the Fluent Bit version and the inputs and filters of this tag", "tag", tag, "error", err)
		return Error
	}
	if len(events) == 0 {
		return OK // only group markers
	}
	id := chunkID(c.cfg.AgentID, tag, chunk)
	batches, oversized := splitBatches(events, tag, id, s.maxBatchBytes)
	if oversized > 0 {
		c.log.Warn("events larger than max_batch_bytes travel alone; the ingester may reject them", "tag", tag, "events", oversized, "max_batch_bytes", s.maxBatchBytes)
	}

	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.AckTimeout)
	defer cancel()
	waiters := make([]*waiter, 0, len(batches))
	for _, b := range batches {
		w, err := sess.submit(ctx, b)
		if err != nil {
			c.log.Debug("batch not sent; answering retry", "tag", tag, "batch_id", b.BatchId, "error", err)
			return c.failed(tag, b.BatchId, err)
		}
		c.stats.sent.Add(1)
		waiters = append(waiters, w)
	}
	for i, w := range waiters {
		select {
		case out := <-w.result:
			if out.err != nil {
				return c.failed(tag, batches[i].BatchId, out.err)
			}
			if r := c.judge(tag, batches[i], out.ack); r != OK {
				return r
			}
		case <-ctx.Done():
			c.log.Warn("no ack within Ack_Timeout; answering retry", "tag", tag, "batch_id", batches[i].BatchId, "ack_timeout", c.cfg.AckTimeout)
			return Retry
		}
	}
	return OK
}

// failed answers a batch that will get no ack.
func (c *Client) failed(tag, batchID string, err error) Result {
	if deniesKey(err) {
		c.log.Error("dropping a chunk: "+advice(codes.PermissionDenied, c.cfg.AccessKey), "tag", tag, "batch_id", batchID)
		return Error
	}
	return Retry
}

// judge turns an ack into the flush's answer, logging what an operator needs.
func (c *Client) judge(tag string, b *ingestv1.Batch, ack *ingestv1.Ack) Result {
	switch ack.GetResult() {
	case ingestv1.AckResult_ACK_RESULT_OK:
		return OK
	case ingestv1.AckResult_ACK_RESULT_REJECTED:
		code := codes.Code(ack.GetCode())
		c.log.Error("the ingester rejected a batch; Fluent Bit drops this chunk: "+advice(code, c.cfg.AccessKey),
			"tag", tag, "batch_id", b.BatchId, "events", len(b.Events), "code", code.String(), "reason", ack.GetReason())
		return Error
	case ingestv1.AckResult_ACK_RESULT_RETRY:
		c.pause(time.Duration(ack.GetRetryAfterMs())*time.Millisecond, "retry advice on an ack: "+ack.GetReason())
		c.log.Debug("the ingester answered retry", "tag", tag, "batch_id", b.BatchId, "reason", ack.GetReason())
		return Retry
	}
	c.log.Warn("an ack with an unknown result; answering retry", "tag", tag, "batch_id", b.BatchId, "result", ack.GetResult().String())
	return Retry
}
