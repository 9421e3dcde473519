package main

import (
	"time"

	"github.com/ferrylog/ferry/bench/internal/procstat"
	"github.com/ferrylog/ferry/bench/internal/report"
)

// costs measures CPU time and peak RSS of processes over one scenario.
type costs struct {
	pids     map[string]int
	cpu      map[string]time.Duration
	peakKept bool // false when a peak could not be reset: it then covers the process life
}

func startCosts(pids map[string]int) *costs {
	c := &costs{pids: pids, cpu: map[string]time.Duration{}, peakKept: true}
	for name, pid := range pids {
		if err := procstat.ResetPeak(pid); err != nil {
			c.peakKept = false
		}
		c.cpu[name], _ = procstat.CPU(pid)
	}
	return c
}

func (c *costs) stop() map[string]report.Proc {
	out := map[string]report.Proc{}
	for name, pid := range c.pids {
		cpu, err := procstat.CPU(pid)
		if err != nil {
			continue
		}
		peak, _ := procstat.PeakRSS(pid)
		out[name] = report.Proc{CPUSeconds: (cpu - c.cpu[name]).Seconds(), PeakRSSMiB: float64(peak) / (1 << 20)}
	}
	return out
}
