package ingest

import (
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/ferrylog/ferry/internal/jsonvalid"
	ingestv1 "github.com/ferrylog/ferry/proto/ferry/ingest/v1"
	"google.golang.org/grpc/codes"
)

const maxIDLength = 256

// checkBatch returns the ack that refuses a batch, or nil when its size,
// ids and events are acceptable. size is the batch's serialized size.
func checkBatch(b *ingestv1.Batch, size, maxBytes int64) *ingestv1.Ack {
	seq := b.Sequence
	if size > maxBytes {
		return retryAck(seq, codes.ResourceExhausted, time.Second,
			"batch of %d bytes is over the limit of %d bytes (max_batch_bytes); split it: the current limit comes with GetConfig and Config frames", size, maxBytes)
	}
	if err := checkID("Batch.batch_id", b.BatchId, false); err != nil {
		return rejectAck(seq, codes.InvalidArgument, "%v", err)
	}
	if err := checkID("Batch.tag", b.Tag, false); err != nil {
		return rejectAck(seq, codes.InvalidArgument, "%v", err)
	}
	if err := checkEvents(b.Events); err != nil {
		return rejectAck(seq, codes.InvalidArgument, "%v; fix the input or a filter that builds records", err)
	}
	return nil
}

// checkID accepts ids that are safe in Kafka headers, keys and log lines.
func checkID(what, s string, required bool) error {
	if s == "" {
		if required {
			return fmt.Errorf("%s is empty; set it", what)
		}
		return nil
	}
	if len(s) > maxIDLength {
		return fmt.Errorf("%s is %d bytes; the limit is %d", what, len(s), maxIDLength)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%s is not valid UTF-8", what)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%s contains a control character", what)
		}
	}
	return nil
}

// checkEvents makes sure every body is a JSON object and every metadata a
// JSON value, so routers can write them verbatim into JSON lines.
func checkEvents(events []*ingestv1.Event) error {
	for i, e := range events {
		if e == nil {
			return fmt.Errorf("event %d is empty", i)
		}
		if !jsonvalid.Object(e.Body) {
			return fmt.Errorf("event %d: body is not a JSON object", i)
		}
		if len(e.Metadata) > 0 && !jsonvalid.Value(e.Metadata) {
			return fmt.Errorf("event %d: metadata is not valid JSON", i)
		}
	}
	return nil
}
