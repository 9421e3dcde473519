// Package consume runs one router destination as a Kafka consumer group
// (ferry.router.<destination>).
//
// Each partition claim is processed in groups: the next record, then what is
// already waiting (bounded by count and bytes). A group is decoded, records
// that can never be delivered go to the dead-letter topic, the rest are
// written to the destination, and only after the destination confirmed the
// write (for the file destination: fsync) is the group's last offset marked.
// Marked offsets are committed every second and when the session ends, so a
// crash or rebalance re-delivers at most the groups in flight.
//
// A write failure is never dead-lettered: the group is retried with capped
// exponential backoff and nothing is marked, until the write succeeds or the
// session ends (rebalance or shutdown), in which case the records are
// re-delivered to whichever member owns the partition next.
package consume
