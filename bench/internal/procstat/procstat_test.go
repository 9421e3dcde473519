package procstat

import (
	"crypto/sha256"
	"testing"
	"time"
)

var sink [32]byte

// burn does work the compiler cannot remove.
func burn() {
	buf := make([]byte, 1<<20)
	for i := 0; i < 20; i++ {
		sink = sha256.Sum256(append(buf, sink[:]...))
	}
}

func TestSelf(t *testing.T) {
	// CPU time counts in clock ticks (10 ms): work until one has passed.
	var cpu time.Duration
	var err error
	for deadline := time.Now().Add(10 * time.Second); cpu <= 0 && time.Now().Before(deadline); {
		burn()
		cpu, err = CPU(SELF)
	}
	if err != nil || cpu <= 0 {
		t.Fatalf("CPU = %v, %v", cpu, err)
	}
	rss, err := RSS(SELF)
	if err != nil || rss <= 0 {
		t.Fatalf("RSS = %v, %v", rss, err)
	}
	if err := ResetPeak(SELF); err != nil {
		t.Logf("ResetPeak: %v (peaks then cover the whole process life)", err)
	}
	peak, err := PeakRSS(SELF)
	if err != nil || peak < rss/2 {
		t.Fatalf("PeakRSS = %v, %v (RSS %d)", peak, err, rss)
	}
}
