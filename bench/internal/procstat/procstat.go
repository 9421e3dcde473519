// Package procstat reads a process's CPU time and memory from /proc, so the
// benchmark measures the real ingester, router and broker processes rather
// than trusting their own metrics.
package procstat

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, which Linux fixes at 100 on every architecture Go
// supports; Go has no sysconf to ask.
const clockTicks = 100

// CPU is the user plus system time pid has used so far (SELF for this process).
func CPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%s/stat", name(pid)))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces and parentheses: fields
	// are counted after its last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("unexpected /proc stat format for pid %d", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); utime is field 14, stime field 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc stat for pid %d", pid)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("bad utime/stime in /proc stat of pid %d", pid)
	}
	return time.Duration(ut+st) * time.Second / clockTicks, nil
}

// PeakRSS is VmHWM, the resident set's high-water mark in bytes.
func PeakRSS(pid int) (int64, error) { return statusKB(pid, "VmHWM:") }

// RSS is VmRSS, the resident set now, in bytes.
func RSS(pid int) (int64, error) { return statusKB(pid, "VmRSS:") }

// ResetPeak sets VmHWM back to the current RSS (clear_refs value 5, Linux
// 4.0+), so a peak can be measured per scenario. It needs the right to
// write the process's clear_refs (same user); when refused, peaks are
// since process start, which the caller reports.
func ResetPeak(pid int) error {
	return os.WriteFile(fmt.Sprintf("/proc/%s/clear_refs", name(pid)), []byte("5"), 0)
}

func statusKB(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%s/status", name(pid)))
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, field); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc status of pid %d", field, pid)
}

// SELF names this process.
const SELF = 0

func name(pid int) string {
	if pid == SELF {
		return "self"
	}
	return strconv.Itoa(pid)
}
