package ingest

import "sync/atomic"

// byteBudget bounds the bytes of batches held between receipt and ack
// across all streams, so a slow Kafka makes agents back off (RETRY with
// ResourceExhausted) instead of growing the ingester's memory.
type byteBudget struct {
	limit int64
	used  atomic.Int64
}

func (b *byteBudget) tryAcquire(n int64) bool {
	for {
		used := b.used.Load()
		if used+n > b.limit && used > 0 {
			return false
		}
		if b.used.CompareAndSwap(used, used+n) {
			return true
		}
	}
}

func (b *byteBudget) release(n int64) { b.used.Add(-n) }

func (b *byteBudget) inUse() int64 { return b.used.Load() }
