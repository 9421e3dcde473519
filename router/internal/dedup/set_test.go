package dedup

import (
	"fmt"
	"testing"
	"time"
)

func TestSetEvictsByWindowAndCount(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	s := NewSet(time.Hour, 3)
	s.Add("a", t0)
	s.Add("b", t0.Add(10*time.Minute))
	s.Add("c", t0.Add(20*time.Minute))
	s.Evict(t0.Add(30 * time.Minute))
	if s.Len() != 3 || !s.Contains("a") || !s.Contains("c") || s.Contains("d") {
		t.Fatalf("after adding 3 of 3: len %d", s.Len())
	}
	// Count: a fourth id pushes out the oldest.
	s.Add("d", t0.Add(30*time.Minute))
	s.Evict(t0.Add(30 * time.Minute))
	if s.Len() != 3 || s.Contains("a") || !s.Contains("b") || !s.Contains("d") {
		t.Fatalf("count eviction: len %d, a=%v b=%v d=%v", s.Len(), s.Contains("a"), s.Contains("b"), s.Contains("d"))
	}
	// Window: an hour after b and c were written they are gone, d is not.
	s.Evict(t0.Add(time.Hour + 25*time.Minute))
	if s.Len() != 1 || s.Contains("b") || s.Contains("c") || !s.Contains("d") {
		t.Fatalf("window eviction: len %d, b=%v c=%v d=%v", s.Len(), s.Contains("b"), s.Contains("c"), s.Contains("d"))
	}
	// An evicted id can come back (it is written again) and is then live.
	s.Add("a", t0.Add(2*time.Hour))
	if !s.Contains("a") {
		t.Fatal("re-added id not contained")
	}
}

func TestSetKeepsFirstWriteTimeAndBoundsQueue(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	s := NewSet(time.Hour, 1000)
	s.Add("x", t0)
	s.Add("x", t0.Add(50*time.Minute)) // a repeat does not extend the window
	s.Evict(t0.Add(61 * time.Minute))
	if s.Contains("x") {
		t.Fatal("repeat extended the window")
	}
	for i := range 100_000 {
		s.Add(fmt.Sprint("id-", i), t0.Add(2*time.Hour))
		s.Evict(t0.Add(2 * time.Hour))
	}
	if s.Len() != 1000 || len(s.fifo)-s.head != 1000 || cap(s.fifo) > 8192 {
		t.Fatalf("len %d, queue %d live of cap %d: the queue must follow the live count", s.Len(), len(s.fifo)-s.head, cap(s.fifo))
	}
	if !s.Contains("id-99999") || s.Contains("id-98999") {
		t.Fatal("kept the wrong ids")
	}
}
