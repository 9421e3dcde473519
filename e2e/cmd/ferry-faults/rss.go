package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// peakRSS follows processes' VmHWM (the kernel's high-water mark of their
// resident memory) and keeps the largest seen. The mark dies with the
// process, so it is read on an interval and once more just before a
// scenario ends or kills it.
type peakRSS struct {
	mu    sync.Mutex
	pids  map[int]bool
	peakK int64 // KiB
	stop  chan struct{}
	done  chan struct{}
}

func newPeakRSS() *peakRSS {
	r := &peakRSS{pids: map[int]bool{}, stop: make(chan struct{}), done: make(chan struct{})}
	go r.loop()
	return r
}

// Track adds a process.
func (r *peakRSS) Track(pid int) {
	r.mu.Lock()
	r.pids[pid] = true
	r.mu.Unlock()
}

// Sample reads every tracked process now; call it before killing one.
func (r *peakRSS) Sample() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for pid := range r.pids {
		kib, err := vmHWM(pid)
		if err != nil {
			delete(r.pids, pid) // exited
			continue
		}
		r.peakK = max(r.peakK, kib)
	}
}

func (r *peakRSS) loop() {
	defer close(r.done)
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
			r.Sample()
		}
	}
}

// Peak is the largest resident size seen so far, in MiB.
func (r *peakRSS) Peak() float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return float64(r.peakK) / 1024
}

// Close stops sampling and returns the peak in MiB.
func (r *peakRSS) Close() float64 {
	r.Sample()
	close(r.stop)
	<-r.done
	r.mu.Lock()
	defer r.mu.Unlock()
	return float64(r.peakK) / 1024
}

// vmHWM reads the peak resident set size of pid in KiB.
func vmHWM(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			fields := strings.Fields(rest) // "123456 kB"
			if len(fields) == 0 {
				break
			}
			return strconv.ParseInt(fields[0], 10, 64)
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/%d/status", pid)
}
