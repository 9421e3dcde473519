package dedup

import (
	"hash/maphash"
	"time"
)

// Set holds batch ids for a retention window and up to a maximum count,
// evicting the oldest first. It stores a 128-bit hash of each id, not the id:
// two random-seeded 64-bit hashes make a false "already written" (a batch
// silently dropped) about as likely as 2^-128 per pair of ids, and keep a
// full set of two million ids near 160 MB instead of several hundred.
//
// Set is not safe for concurrent use; Index serializes access.
type Set struct {
	window  time.Duration
	maxIDs  int
	seeds   [2]maphash.Seed
	written map[key]int64 // hash → unix milliseconds when written
	fifo    []entry       // in the order added; fifo[head:] is live
	head    int
}

type key [2]uint64

type entry struct {
	k  key
	ms int64
}

// NewSet keeps ids for window and at most maxIDs of them.
func NewSet(window time.Duration, maxIDs int) *Set {
	return &Set{
		window:  window,
		maxIDs:  maxIDs,
		seeds:   [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()},
		written: map[key]int64{},
	}
}

func (s *Set) key(id string) key {
	return key{maphash.String(s.seeds[0], id), maphash.String(s.seeds[1], id)}
}

// Contains reports whether id was added and not evicted yet.
func (s *Set) Contains(id string) bool {
	_, ok := s.written[s.key(id)]
	return ok
}

// writtenAt is when id was added, if it is in the set.
func (s *Set) writtenAt(id string) (int64, bool) {
	ms, ok := s.written[s.key(id)]
	return ms, ok
}

// Add records id as written at t. An id already present keeps its first
// time: the window counts from the write that made it durable.
func (s *Set) Add(id string, t time.Time) {
	k := s.key(id)
	if _, ok := s.written[k]; ok {
		return
	}
	ms := t.UnixMilli()
	s.written[k] = ms
	s.fifo = append(s.fifo, entry{k: k, ms: ms})
}

// Evict drops ids written before now minus the window, then the oldest
// until at most the maximum count remain. Ids are added in time order, so
// the oldest are at the front.
func (s *Set) Evict(now time.Time) {
	cutoff := now.Add(-s.window).UnixMilli()
	for s.head < len(s.fifo) {
		e := s.fifo[s.head]
		if e.ms >= cutoff && len(s.written) <= s.maxIDs {
			break
		}
		if s.written[e.k] == e.ms {
			delete(s.written, e.k)
		}
		s.fifo[s.head] = entry{}
		s.head++
	}
	// Reuse the front of the slice once half of it is dead, so the queue's
	// memory follows the live count instead of growing forever.
	if s.head > 1024 && s.head > len(s.fifo)/2 {
		n := copy(s.fifo, s.fifo[s.head:])
		clear(s.fifo[n:])
		s.fifo = s.fifo[:n]
		s.head = 0
	}
}

// Len is the number of live ids.
func (s *Set) Len() int { return len(s.written) }

// expired reports whether an id written at ms is already outside the window.
func (s *Set) expired(ms int64, now time.Time) bool {
	return ms < now.Add(-s.window).UnixMilli()
}
