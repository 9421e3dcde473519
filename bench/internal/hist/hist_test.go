package hist

import (
	"math"
	"testing"
	"time"
)

func TestQuantilesWithinOnePercent(t *testing.T) {
	h := New()
	for i := 1; i <= 100000; i++ {
		h.Record(time.Duration(i) * time.Microsecond)
	}
	for _, q := range []float64{0.5, 0.99, 0.999} {
		got := float64(h.Quantile(q).Microseconds())
		want := q * 100000
		if math.Abs(got-want)/want > 0.01 {
			t.Errorf("q%.3f = %.0f µs, want %.0f ±1%%", q, got, want)
		}
	}
	if h.Count() != 100000 || h.Max() != 100*time.Millisecond {
		t.Fatalf("count %d max %s", h.Count(), h.Max())
	}
}

func TestBucketsAreContiguous(t *testing.T) {
	for us := int64(0); us < 1<<20; us += 37 {
		i := index(us)
		if lowest(i) > us || lowest(i+1) <= us {
			t.Fatalf("%d µs in bucket %d [%d, %d)", us, i, lowest(i), lowest(i+1))
		}
	}
}
