package agent

import (
	"testing"
	"time"
)

func TestBackoffGrowsWithinBounds(t *testing.T) {
	b := Backoff{Min: 100 * time.Millisecond, Max: 3 * time.Second}
	ceilings := []time.Duration{100, 200, 400, 800, 1600, 3000, 3000, 3000}
	for attempt, ceiling := range ceilings {
		ceiling *= time.Millisecond
		lowest := Backoff{Min: b.Min, Max: b.Max, rand: func(int64) int64 { return 0 }}
		highest := Backoff{Min: b.Min, Max: b.Max, rand: func(n int64) int64 { return n - 1 }}
		if got := lowest.Delay(attempt); got != b.Min {
			t.Errorf("attempt %d lowest draw %s, want %s", attempt, got, b.Min)
		}
		if got := highest.Delay(attempt); got != ceiling {
			t.Errorf("attempt %d highest draw %s, want the ceiling %s", attempt, got, ceiling)
		}
		// Real draws stay in bounds and spread out.
		distinct := map[time.Duration]bool{}
		for i := 0; i < 200; i++ {
			d := b.Delay(attempt)
			if d < b.Min || d > ceiling {
				t.Fatalf("attempt %d drew %s outside [%s, %s]", attempt, d, b.Min, ceiling)
			}
			distinct[d] = true
		}
		if attempt > 0 && len(distinct) < 50 {
			t.Errorf("attempt %d: only %d distinct delays in 200 draws; the jitter is too weak", attempt, len(distinct))
		}
	}
	if got := (Backoff{Min: time.Second, Max: time.Second}).Delay(100); got != time.Second {
		t.Errorf("huge attempt: %s", got)
	}
}
