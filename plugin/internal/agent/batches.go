package agent

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"

	"github.com/ferrylog/ferry/plugin/internal/msgpackchunk"
	ingestv1 "github.com/ferrylog/ferry/proto/ferry/ingest/v1"
	"google.golang.org/protobuf/encoding/protowire"
)

// chunkID derives the batch id prefix from the chunk's content, so that
// Fluent Bit's retry of the same chunk carries the same ids and destinations
// can drop the duplicates: the first 32 hex digits of
// SHA-256(agent id, 0x00, tag, 0x00, chunk bytes).
func chunkID(agentID, tag string, chunk []byte) string {
	h := sha256.New()
	h.Write([]byte(agentID))
	h.Write([]byte{0})
	h.Write([]byte(tag))
	h.Write([]byte{0})
	h.Write(chunk)
	var sum [sha256.Size]byte
	return hex.EncodeToString(h.Sum(sum[:0]))[:32]
}

// batchID names part index of a chunk. Every part, even the only one, has
// the suffix, so ids have one shape: "<32 hex>-<index>".
func batchID(chunkID string, index int) string {
	return chunkID + "-" + strconv.Itoa(index)
}

// splitBatches packs events into batches whose AgentFrame stays within
// maxBytes once serialized, in order. An event too large to fit even alone
// travels in a batch of its own (oversized reports how many): the ingester
// knows the real limit and answers it. Sequence numbers are left for the
// sender to fill in.
func splitBatches(events []msgpackchunk.Event, tag, chunkID string, maxBytes int) (batches []*ingestv1.Batch, oversized int) {
	pb := make([]ingestv1.Event, len(events)) // one allocation for all events
	// Room the frame needs besides events; sequence and id at their largest.
	overhead := 1 + protowire.SizeVarint(uint64(maxBytes)) + // AgentFrame.batch
		1 + protowire.SizeVarint(^uint64(0)) + // sequence
		1 + protowire.SizeBytes(len(tag)) +
		1 + protowire.SizeBytes(len(chunkID)+1+len(strconv.Itoa(len(events))))
	budget := maxBytes - overhead

	var current *ingestv1.Batch
	used := 0
	for i, ev := range events {
		e := &pb[i]
		e.TimeUnixNano = ev.TimeUnixNano
		e.Body = ev.Body
		e.Metadata = ev.Metadata
		size := 1 + protowire.SizeBytes(eventSize(e))
		if current == nil || (used+size > budget && len(current.Events) > 0) {
			current = &ingestv1.Batch{Tag: tag, BatchId: batchID(chunkID, len(batches))}
			batches = append(batches, current)
			used = 0
		}
		if size > budget {
			oversized++
		}
		current.Events = append(current.Events, e)
		used += size
	}
	return batches, oversized
}

// eventSize is the serialized size of an Event, as proto.Size computes it,
// without going through reflection for every event.
func eventSize(e *ingestv1.Event) int {
	n := 0
	if e.TimeUnixNano != 0 {
		n += 1 + protowire.SizeVarint(uint64(e.TimeUnixNano))
	}
	if len(e.Body) > 0 {
		n += 1 + protowire.SizeBytes(len(e.Body))
	}
	if len(e.Metadata) > 0 {
		n += 1 + protowire.SizeBytes(len(e.Metadata))
	}
	return n
}
