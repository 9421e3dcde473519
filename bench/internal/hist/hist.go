// Package hist is a small log-linear latency histogram: constant memory
// whatever the sample count (end-to-end latency is recorded per event, up to
// millions per scenario), about 1% relative error, safe for concurrent use.
package hist

import (
	"math/bits"
	"sync"
	"time"
)

// subBuckets per power of two: 128 gives under 1% relative error.
const subBits = 7

// Hist records durations at microsecond resolution.
type Hist struct {
	mu     sync.Mutex
	counts []uint64
	n      uint64
	max    int64
}

// New returns an empty histogram.
func New() *Hist { return &Hist{counts: make([]uint64, 64<<subBits)} }

func index(us int64) int {
	if us < 1<<subBits {
		return int(us)
	}
	exp := bits.Len64(uint64(us)) - 1 - subBits
	return (exp+1)<<subBits + int(us>>uint(exp))&(1<<subBits-1)
}

// lowest value of bucket i, in microseconds.
func lowest(i int) int64 {
	if i < 1<<subBits {
		return int64(i)
	}
	exp := i>>subBits - 1
	return (int64(1)<<subBits | int64(i&(1<<subBits-1))) << uint(exp)
}

// Record adds one sample; negative durations count as zero.
func (h *Hist) Record(d time.Duration) { h.RecordN(d, 1) }

// RecordN adds n samples of the same duration.
func (h *Hist) RecordN(d time.Duration, n uint64) {
	us := max(d.Microseconds(), 0)
	h.mu.Lock()
	h.counts[index(us)] += n
	h.n += n
	h.max = max(h.max, us)
	h.mu.Unlock()
}

// Count is the number of samples.
func (h *Hist) Count() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n
}

// Quantile returns the q-quantile (0 < q <= 1), 0 when empty.
func (h *Hist) Quantile(q float64) time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.n == 0 {
		return 0
	}
	rank := uint64(q*float64(h.n) + 0.5)
	rank = min(max(rank, 1), h.n)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			// The bucket's midpoint, capped by the largest sample seen.
			lo, hi := lowest(i), lowest(i+1)
			return time.Duration(min((lo+hi)/2, h.max)) * time.Microsecond
		}
	}
	return time.Duration(h.max) * time.Microsecond
}

// Max is the largest sample.
func (h *Hist) Max() time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	return time.Duration(h.max) * time.Microsecond
}
