package agent

import (
	"math/rand/v2"
	"time"
)

// Backoff spaces reconnect attempts: the ceiling doubles with each failed
// attempt from Min up to Max, and the delay is drawn uniformly between Min
// and that ceiling, so many agents that lost the same ingester do not come
// back in lockstep, and none retries faster than Min.
type Backoff struct {
	Min, Max time.Duration
	// rand returns a value in [0, n); nil means math/rand/v2.
	rand func(n int64) int64
}

// Delay returns the wait before retry number attempt (counted from 0).
func (b Backoff) Delay(attempt int) time.Duration {
	lo, hi := b.Min, b.Max
	if lo <= 0 {
		lo = time.Millisecond
	}
	if hi < lo {
		hi = lo
	}
	ceiling := lo
	for i := 0; i < attempt && ceiling < hi; i++ {
		ceiling *= 2
	}
	ceiling = min(ceiling, hi)
	draw := b.rand
	if draw == nil {
		draw = rand.Int64N
	}
	return lo + time.Duration(draw(int64(ceiling-lo)+1))
}
