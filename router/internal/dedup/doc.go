// Package dedup remembers which batch ids a destination has durably written,
// so the router can drop a batch that reaches it twice. At-least-once delivery
// makes that normal: Fluent Bit retries a chunk whose ack was lost (the plugin
// derives the batch id from the chunk, so the retry carries the same id), and
// a router that crashes after its write but before its offset commit reads
// the same records again.
//
// Two parts:
//
//   - Set: the ids in memory, as 128-bit hashes (about 80 bytes per id), kept
//     for a retention window and up to a maximum count, oldest evicted first.
//     A duplicate that arrives after its id was evicted is written again: the
//     window bounds memory, not correctness of what is inside it.
//   - Index: the append-only file the set is rebuilt from at start-up. Each
//     line names a batch id, the data file it went to and that file's size
//     just after the batch's last line. The destination appends a group's
//     lines and fsyncs them after the group's data is durable and before the
//     consumer marks the offsets, so a marked batch is always in the index,
//     and data past the last size the index recorded for a file was never
//     confirmed (its offsets were not marked: Kafka delivers it again).
//
// The file destination uses both (see destination/file). A destination whose
// receiver deduplicates by itself (an HTTP endpoint taking the batch id as
// an idempotency key) needs neither: it does not implement
// destination.Deduplicator, and the consumer writes every batch to it.
package dedup
