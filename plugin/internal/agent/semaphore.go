package agent

import (
	"context"
	"errors"
	"sync"
)

// errStreamEnded is returned to a flush whose stream ended under it.
var errStreamEnded = errors.New("the stream to the ingester ended")

// semaphore bounds the batches in flight on one stream. Its limit changes
// when the ingester pushes a new max_batches_in_flight; waiters re-check then.
type semaphore struct {
	mu      sync.Mutex
	used    int
	limit   int
	changed chan struct{} // closed and replaced on every release or resize
}

func newSemaphore(limit int) *semaphore {
	return &semaphore{limit: max(limit, 1), changed: make(chan struct{})}
}

// acquire takes a slot, waiting until one is free, ctx ends, or abort closes.
func (s *semaphore) acquire(ctx context.Context, abort <-chan struct{}) error {
	for {
		s.mu.Lock()
		if s.used < s.limit {
			s.used++
			s.mu.Unlock()
			return nil
		}
		wake := s.changed
		s.mu.Unlock()
		select {
		case <-wake:
		case <-abort:
			return errStreamEnded
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (s *semaphore) release() {
	s.mu.Lock()
	if s.used > 0 {
		s.used--
	}
	s.broadcastLocked()
	s.mu.Unlock()
}

func (s *semaphore) setLimit(n int) {
	s.mu.Lock()
	s.limit = max(n, 1)
	s.broadcastLocked()
	s.mu.Unlock()
}

func (s *semaphore) broadcastLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}
