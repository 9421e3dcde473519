// Package load drives the ingester the way agents do: N streams, each with
// the plugin's window of unacked batches, at a fixed rate (open loop) or as
// fast as acks allow (closed loop), and records what was acknowledged.
package load

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferrylog/ferry/bench/internal/hist"
)

// Result is what one load run achieved.
type Result struct {
	SentEvents   atomic.Int64
	OKEvents     atomic.Int64 // acked OK: Kafka has them (acks=all)
	OKBytes      atomic.Int64 // event body bytes acked OK
	OKBatches    atomic.Int64
	RetryBatches atomic.Int64
	Rejected     atomic.Int64 // batches answered REJECTED
	Lost         atomic.Int64 // batches whose stream ended before the ack
	// AckLatency is per batch, from the time the batch was due to be sent
	// (open loop: its slot in the schedule, so a full window counts as
	// latency rather than hiding it) to its ack.
	AckLatency *hist.Hist
	Start      time.Time
	lastAck    atomic.Int64

	mu   sync.Mutex
	errs []error
}

// NewResult starts a result's clock; baselines outside this package use it.
func NewResult() *Result { return &Result{AckLatency: hist.New(), Start: time.Now()} }

// Acked notes an ack at at, for the elapsed time.
func (r *Result) Acked(at time.Time) {
	n := at.UnixNano()
	for {
		old := r.lastAck.Load()
		if n <= old || r.lastAck.CompareAndSwap(old, n) {
			return
		}
	}
}

// Elapsed runs from the start to the last ack.
func (r *Result) Elapsed() time.Duration {
	if n := r.lastAck.Load(); n != 0 {
		return time.Unix(0, n).Sub(r.Start)
	}
	return 0
}

// Fail records an error that cut the run short.
func (r *Result) Fail(err error) {
	r.mu.Lock()
	r.errs = append(r.errs, err)
	r.mu.Unlock()
}

// Errors are the errors that ended streams early.
func (r *Result) Errors() []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]error(nil), r.errs...)
}
