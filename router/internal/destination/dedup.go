package destination

// Deduplicator is implemented by a destination that keeps its own durable
// record of the batch ids it wrote (the file destination's index). Before a
// group is written the consumer drops the batches whose id Written reports,
// and counts them. In return the destination's Write must make the group's
// ids durable before it returns, so a confirmed batch is never written
// twice, and must keep them across restarts.
//
// A destination whose receiver deduplicates by itself (an HTTP endpoint
// taking Batch.ID() as an idempotency key) does not implement it: the
// consumer then writes every batch and the receiver drops repeats.
type Deduplicator interface {
	// Written reports whether the batch id was durably written. It is
	// called concurrently, never at the same time as Write for the same
	// consumer (the consumer serializes check and write).
	Written(id string) bool
}

// Written implements Deduplicator for a Multi: a batch counts as written
// only when every member that must deliver it has it. A member that keeps
// no record makes Multi write everything; a best-effort member (printing)
// never asks for a batch again, so it does not count.
func (m Multi) Written(id string) bool {
	if len(m) == 0 {
		return false
	}
	for _, d := range m {
		dd, ok := d.(Deduplicator)
		if !ok || !dd.Written(id) {
			return false
		}
	}
	return true
}

// Written implements Deduplicator: a best-effort destination promises
// nothing, so it never holds up a drop its siblings decided.
func (b bestEffort) Written(string) bool { return true }
