// Package report turns scenario results into the markdown table BENCH.md
// carries, a JSON file, and the one summary line of quick mode.
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// Proc is one process's cost during a scenario.
type Proc struct {
	CPUSeconds float64 `json:"cpu_s"`
	PeakRSSMiB float64 `json:"peak_rss_mib"`
}

// Row is one scenario's outcome.
type Row struct {
	Name        string  `json:"name"`
	Kind        string  `json:"kind"` // ferry, sarama, per-event, fluent-bit
	EventBytes  int     `json:"event_bytes"`
	BatchEvents int     `json:"batch_events"`
	Offered     float64 `json:"offered_events_per_s"` // 0: closed loop
	Seconds     float64 `json:"seconds"`

	AcceptedEvents int64   `json:"accepted_events"`
	AcceptedEPS    float64 `json:"accepted_events_per_s"`
	AcceptedMBps   float64 `json:"accepted_mb_per_s"`
	DeliveredEvts  int64   `json:"delivered_events"`
	DeliveredEPS   float64 `json:"delivered_events_per_s"`
	Retries        int64   `json:"retry_batches"`
	Lost           int64   `json:"lost_batches"`

	AckP50, AckP99, AckP999 float64 // milliseconds
	E2EP50, E2EP99          float64 // milliseconds; 0 when not measured

	Procs map[string]Proc `json:"procs"` // ingester, router, broker, agent

	RatioVsSarama float64 `json:"ratio_vs_sarama"` // accepted events/s over the sarama baseline of the same size
	// RatioVsSaramaSeal is over the sarama+seal baseline of the same size.
	RatioVsSaramaSeal float64  `json:"ratio_vs_sarama_seal"`
	Skipped           string   `json:"skipped,omitempty"`
	Errors            []string `json:"errors,omitempty"`
}

// MarshalJSON names the latency fields with their unit.
func (r Row) MarshalJSON() ([]byte, error) {
	type plain Row
	return json.Marshal(struct {
		plain
		AckP50  float64 `json:"ack_p50_ms"`
		AckP99  float64 `json:"ack_p99_ms"`
		AckP999 float64 `json:"ack_p999_ms"`
		E2EP50  float64 `json:"e2e_p50_ms"`
		E2EP99  float64 `json:"e2e_p99_ms"`
	}{plain(r), r.AckP50, r.AckP99, r.AckP999, r.E2EP50, r.E2EP99})
}

// Ms converts a duration to milliseconds.
func Ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// procOrder is the column order of the process figures.
var procOrder = []string{"ingester", "router", "broker", "agent"}

// Markdown writes the table of rows.
func Markdown(w io.Writer, rows []Row) {
	fmt.Fprintln(w, "| scenario | event | offered ev/s | accepted ev/s | accepted MB/s | × sarama | × sarama+seal | delivered ev/s | ack p50 / p99 / p99.9 ms | e2e p50 / p99 ms | CPU s ing / rtr / kafka / agent | peak RSS MiB ing / rtr / kafka / agent |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	for _, r := range rows {
		if r.Skipped != "" {
			fmt.Fprintf(w, "| %s | %s | | skipped: %s | | | | | | | | |\n", r.Name, size(r.EventBytes), r.Skipped)
			continue
		}
		offered := "max"
		if r.Offered > 0 {
			offered = fmt.Sprintf("%.0f", r.Offered)
		}
		ratio, ratioSeal, delivered, e2e := "", "", "", ""
		if r.RatioVsSarama > 0 {
			ratio = fmt.Sprintf("%.2f", r.RatioVsSarama)
		}
		if r.RatioVsSaramaSeal > 0 {
			ratioSeal = fmt.Sprintf("%.2f", r.RatioVsSaramaSeal)
		}
		if r.DeliveredEPS > 0 {
			delivered = fmt.Sprintf("%.0f (%d/%d)", r.DeliveredEPS, r.DeliveredEvts, r.AcceptedEvents)
		}
		if r.E2EP50 > 0 {
			e2e = fmt.Sprintf("%.0f / %.0f", r.E2EP50, r.E2EP99)
		}
		ack := fmt.Sprintf("%.1f / %.1f / %.1f", r.AckP50, r.AckP99, r.AckP999)
		if r.AckP999 == 0 {
			ack = "" // not measured (the plugin run, Fluent Bit)
		}
		var cpu, rss []string
		for _, p := range procOrder {
			pr, ok := r.Procs[p]
			if !ok {
				cpu, rss = append(cpu, "–"), append(rss, "–")
				continue
			}
			cpu = append(cpu, fmt.Sprintf("%.1f", pr.CPUSeconds))
			rss = append(rss, fmt.Sprintf("%.0f", pr.PeakRSSMiB))
		}
		fmt.Fprintf(w, "| %s | %s×%d | %s | %.0f | %.1f | %s | %s | %s | %s | %s | %s | %s |\n",
			r.Name, size(r.EventBytes), r.BatchEvents, offered, r.AcceptedEPS, r.AcceptedMBps, ratio, ratioSeal, delivered,
			ack, e2e, strings.Join(cpu, " / "), strings.Join(rss, " / "))
	}
	for _, r := range rows {
		for _, e := range r.Errors {
			fmt.Fprintf(w, "\n%s: error: %s", r.Name, e)
		}
		if r.Retries > 0 || r.Lost > 0 {
			fmt.Fprintf(w, "\n%s: %d batches answered RETRY, %d lost with their stream", r.Name, r.Retries, r.Lost)
		}
	}
	fmt.Fprintln(w)
}

func size(b int) string {
	if b%1024 == 0 {
		return fmt.Sprintf("%d KiB", b/1024)
	}
	return fmt.Sprintf("%d B", b)
}

// WriteJSON writes rows and the machine description to path.
func WriteJSON(path string, machine map[string]string, rows []Row) error {
	b, err := json.MarshalIndent(map[string]any{"machine": machine, "scenarios": rows}, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
