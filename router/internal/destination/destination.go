// Package destination defines what the router writes to. A destination
// receives groups of decoded batches and confirms a group only once it is
// durable (file fsynced, HTTP 2xx, ...); the consumer marks Kafka offsets
// after that confirmation and never before.
package destination

import (
	"context"

	"github.com/ferrylog/ferry/internal/record"
	recordv1 "github.com/ferrylog/ferry/proto/ferry/record/v1"
)

// Destination is one place events go. A router process runs one destination
// (its own consumer group), so a slow destination lags alone.
type Destination interface {
	// Validate reports a problem that makes b undeliverable to this
	// destination forever (for example an access key that cannot be a file
	// name). Such a batch goes to the dead-letter topic and is never passed
	// to Write. The error should be a *dlq.Error naming the reason.
	Validate(b *Batch) error
	// Write delivers the batches durably, in order, and returns the number of
	// bytes it wrote. An error means nothing may be assumed delivered: the
	// caller retries the same batches later, so Write should leave no partial
	// output behind when it can.
	Write(ctx context.Context, batches []*Batch) (bytes int64, err error)
	// Close releases files and connections. It is safe to call once after
	// the last Write.
	Close() error
}

// Batch is one Kafka record, decoded. Each batch has a globally unique ID
// (agent id, stream epoch, sequence), which is the key a later per-destination
// deduplication will use to drop batches a destination already wrote.
type Batch struct {
	// Meta is what the record headers say; Meta.BatchID is the batch id.
	Meta record.Meta
	// Stored is the decrypted batch, nil when the router runs without a
	// keyring (printing headers only).
	Stored *recordv1.StoredBatch
	// Source is where the record was read.
	Source Source
}

// ID is the batch id, unique per (agent, stream epoch, sequence).
func (b *Batch) ID() string { return b.Meta.BatchID }

// EventCount is the number of events the batch carries.
func (b *Batch) EventCount() int {
	if b.Stored != nil {
		return len(b.Stored.Events)
	}
	return b.Meta.EventCount
}

// Source locates a record in Kafka.
type Source struct {
	Topic     string
	Partition int32
	Offset    int64
}
