package consume

import "github.com/ferrylog/ferry/router/internal/destination"

// dropWritten splits a group into the batches to write and the duplicates:
// those whose id the destination already wrote (when it keeps such a record,
// see destination.Deduplicator) and repeats of an id earlier in the same
// group. A batch id names one content (the plugin derives it from the chunk),
// so the first copy is as good as any. Callers hold c.writeMu, so no other
// partition writes the same id between this check and the write.
func (c *Consumer) dropWritten(batches []*destination.Batch) (keep, dups []*destination.Batch) {
	known, _ := c.dest.(destination.Deduplicator)
	seen := make(map[string]struct{}, len(batches))
	keep = make([]*destination.Batch, 0, len(batches))
	for _, b := range batches {
		id := b.ID()
		_, repeated := seen[id]
		if repeated || (known != nil && known.Written(id)) {
			dups = append(dups, b)
			continue
		}
		seen[id] = struct{}{}
		keep = append(keep, b)
	}
	return keep, dups
}

// countDropped records the duplicates of a confirmed group.
func (c *Consumer) countDropped(dups []*destination.Batch) {
	if len(dups) == 0 {
		return
	}
	c.metrics.duplicatesDropped.Add(float64(len(dups)))
	for _, b := range dups {
		c.log.Debug("duplicate batch dropped: already written", "batch_id", b.ID(), "access_key", b.Meta.AccessKey,
			"topic", b.Source.Topic, "partition", b.Source.Partition, "offset", b.Source.Offset, "events", b.EventCount())
	}
}
