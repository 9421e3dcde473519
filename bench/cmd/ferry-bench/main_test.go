package main

import (
	"regexp"
	"testing"
	"time"

	"github.com/ferrylog/ferry/bench/internal/report"
)

func TestSummaryLineFormat(t *testing.T) {
	rows := []report.Row{
		{Name: "sarama-256", Kind: string(kindSarama), EventBytes: 256, AcceptedEPS: 1e6},
		{Name: "max-256", Kind: string(kindFerry), EventBytes: 256, AcceptedEPS: 50000, RatioVsSarama: 0.05,
			Procs: map[string]report.Proc{"ingester": {PeakRSSMiB: 61.4}}},
		{Name: "ingest-only-256", Kind: string(kindIngestOnly), EventBytes: 256, AcceptedEPS: 123456.7, RatioVsSarama: 0.1234,
			Procs: map[string]report.Proc{"ingester": {PeakRSSMiB: 65}}},
		{Name: "half-max-256", Kind: string(kindFerry), EventBytes: 256, Offered: 61728, AckP99: 12.34,
			Procs: map[string]report.Proc{"ingester": {PeakRSSMiB: 70.6}}},
	}
	got := summary(rows)
	want := "bench: events_per_s=123457 ratio_vs_sarama=0.12 ack_p99_ms=12.3 ingester_rss_mib=71"
	if got != want {
		t.Fatalf("summary = %q, want %q", got, want)
	}
	if !regexp.MustCompile(`^bench: events_per_s=\d+ ratio_vs_sarama=[\d.]+ ack_p99_ms=[\d.]+ ingester_rss_mib=\d+$`).MatchString(got) {
		t.Fatalf("summary %q does not match the documented format", got)
	}
}

func TestPlansStayBounded(t *testing.T) {
	for _, quick := range []bool{true, false} {
		var total time.Duration
		for _, s := range plan(quick, true) {
			if s.duration > 60*time.Second {
				t.Errorf("quick=%v: %s runs %s, over 60 s", quick, s.name, s.duration)
			}
			if s.kind != kindPlugin {
				total += s.duration
			}
		}
		limit := 4 * time.Minute
		if quick {
			// Plus start-up and drains: about a minute in all.
			limit = 50 * time.Second
		}
		if total > limit {
			t.Errorf("quick=%v: scenarios add up to %s, over %s", quick, total, limit)
		}
	}
}
