package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ferrylog/ferry/e2e/cluster"
)

// env is what every scenario shares: the broker, the built plugin and host,
// and the folder scenarios work in.
type env struct {
	broker  *broker
	plugin  cluster.PluginArtifacts
	workDir string
	scale   int // multiplies every scenario's load
}

// scenario is one fault and how to prove nothing was lost to it.
type scenario struct {
	name  string
	limit time.Duration // the scenario is stopped (and failed) after this long
	run   func(ctx context.Context, r *run) (tally, error)
}

// result is one scenario's line.
type result struct {
	name     string
	t        tally
	dupsSeen int
	peakRSS  float64
	duration time.Duration
	failures []string
	notes    []string
}

func (res result) failed() bool {
	return res.t.lost > 0 || res.t.dupWrites > 0 || len(res.failures) > 0
}

// runScenario runs one scenario within its time limit and always tears its
// processes down, whatever happened.
func runScenario(ctx context.Context, e *env, s scenario) result {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, s.limit)
	defer cancel()
	res := result{name: s.name}
	r, err := newRun(ctx, e, s.name)
	if err != nil {
		res.failures = append(res.failures, "set-up: "+err.Error())
		res.duration = time.Since(start)
		return res
	}
	t, err := s.run(ctx, r)
	r.close()
	res.t = t
	res.dupsSeen = r.dupsSeen()
	res.peakRSS = r.rss.Close()
	res.failures = append(res.failures, r.failures...)
	res.notes = r.notes
	if err != nil {
		res.failures = append(res.failures, err.Error())
	}
	if t.lost > 0 {
		res.failures = append(res.failures, fmt.Sprintf("%d events acknowledged to the agent never reached a destination (%s)", t.lost, t.lostSample()))
	}
	if t.strangers > 0 {
		// At least once: a chunk answered retry in the end may still have
		// reached Kafka. With every chunk answered ok this stays 0.
		res.notes = append(res.notes, fmt.Sprintf("%d ids written that no chunk answered ok carried", t.strangers))
	}
	if t.dupWrites > 0 {
		res.failures = append(res.failures, fmt.Sprintf("%d duplicate event lines written", t.dupWrites))
	}
	res.duration = time.Since(start)
	return res
}

func (res result) print(w io.Writer) {
	fmt.Fprintf(w, "scenario=%s sent=%d delivered=%d lost=%d duplicates_seen=%d duplicates_written=%d peak_rss_mib=%.1f duration=%s result=%s\n",
		res.name, res.t.sent, res.t.delivered, res.t.lost, res.dupsSeen, res.t.dupWrites, res.peakRSS,
		res.duration.Round(100*time.Millisecond), map[bool]string{true: "FAIL", false: "ok"}[res.failed()])
	for _, n := range res.notes {
		fmt.Fprintf(w, "  %s: %s\n", res.name, n)
	}
	for _, f := range res.failures {
		fmt.Fprintf(w, "  %s: FAIL: %s\n", res.name, strings.ReplaceAll(f, "\n", "\n    "))
	}
}

// summary is the suite's last line, for scripts.
func summary(results []result) (string, bool) {
	var sent, delivered, lost, dups int
	peak := 0.0
	ok := true
	for _, r := range results {
		sent += r.t.sent
		delivered += r.t.delivered
		lost += r.t.lost
		dups += r.t.dupWrites
		peak = max(peak, r.peakRSS)
		ok = ok && !r.failed()
	}
	return fmt.Sprintf("faults: scenarios=%d sent=%d delivered=%d lost=%d duplicates_written=%d peak_rss_mib=%.0f",
		len(results), sent, delivered, lost, dups, peak), ok
}
