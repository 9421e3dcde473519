package procstat

import "testing"

func TestSelf(t *testing.T) {
	x := 0
	for i := range 50_000_000 {
		x += i
	}
	_ = x
	cpu, err := CPU(SELF)
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
