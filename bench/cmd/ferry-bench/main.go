// Command ferry-bench measures Ferry end to end on one machine: it starts
// the real Kafka broker (deploy/kafka/kafka.sh), the ingester and a router
// (built without the race detector), drives them with agent streams that
// speak the plugin's protocol, and measures the same load against
// baselines in the same run, so the figures can be read as ratios on a
// noisy shared machine.
//
//	ferry-bench [-quick] [-plugin] [-json file] [-agents 4] [-window 8] [-keep] [-profile dir]
//
// -quick runs for about a minute and ends with one summary line:
//
//	bench: events_per_s=E ratio_vs_sarama=R ack_p99_ms=P ingester_rss_mib=M
//
// E is the agent → ingester → Kafka hop at its maximum (256-byte events,
// acked after Kafka has them), measured with the router paused so the hop has
// the machine the sarama baseline has; R is E over the bare sarama producer
// writing the same batches with the same acks and compression (Kafka zstd);
// P is the ack p99 at half the maximum rate of the whole pipeline (router
// running); M is the ingester's peak RSS over the run.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"syscall"
	"time"

	"github.com/ferrylog/ferry/bench/internal/events"
	"github.com/ferrylog/ferry/bench/internal/report"
	"github.com/ferrylog/ferry/e2e/cluster"
	"github.com/ferrylog/ferry/internal/crypto"
)

func main() {
	quick := flag.Bool("quick", false, "about one minute: max, half max and baselines for 256-byte events, then one summary line")
	jsonOut := flag.String("json", "", "also write the results to this JSON file")
	agents := flag.Int("agents", 4, "agent streams")
	window := flag.Int("window", 8, "unacked batches per stream (the plugin's max_batches_in_flight default)")
	withPlugin := flag.Bool("plugin", false, "also drive the real out_ferry.so through the C test host (builds it; needs gcc)")
	keep := flag.Bool("keep", false, "keep the run folder (logs, router output) instead of deleting it")
	profileDir := flag.String("profile", "", "write CPU profiles of the ingester and router during "+profiledScenario+" into this folder")
	flag.Parse()
	if *agents < 1 || *window < 1 {
		fmt.Fprintln(os.Stderr, "ferry-bench: -agents and -window must be at least 1")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	st := settings{agents: *agents, window: *window, profileDir: *profileDir}
	if err := run(ctx, *quick, *withPlugin, *jsonOut, st, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "ferry-bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, quick, withPlugin bool, jsonOut string, st settings, keep bool) error {
	began := time.Now()
	dir, err := os.MkdirTemp("", "ferry-bench-")
	if err != nil {
		return err
	}
	if keep {
		fmt.Fprintln(os.Stderr, "run folder:", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	scenarios := plan(quick, withPlugin)
	mach := machine()
	logf("building binaries (no -race) and starting Kafka, ingester, router")
	defer cluster.RemoveBuilds() // deferred first: runs after the processes stopped
	e, err := startEnv(dir, scenarios)
	if err != nil {
		return err
	}
	defer e.close()
	keyring, err := crypto.LoadKeyring(e.cluster.Keyring)
	if err != nil {
		return err
	}
	r := &runner{
		env: e, keyring: keyring, max: map[int]float64{}, sarama: map[int]float64{}, saramaSeal: map[int]float64{}, pools: map[int][][]byte{},
		st: st,
	}
	r.st.maxBatchBytes, r.st.pollInterval, r.st.drainLimit = 524288, 5*time.Millisecond, 20*time.Second
	if quick {
		r.st.drainLimit = 8 * time.Second
	}
	for _, s := range scenarios {
		if r.pools[s.size] == nil {
			r.pools[s.size] = events.Pool(4096, s.size, uint64(s.size))
		}
	}
	var rows []report.Row
	for _, s := range scenarios {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		logf("scenario %s (%s, %d B, %s)", s.name, s.kind, s.size, s.duration)
		row := r.run(ctx, s)
		if s.kind == kindWarmup {
			continue
		}
		logf("  accepted %.0f events/s, delivered %d/%d, ack p99 %.1f ms", row.AcceptedEPS, row.DeliveredEvts, row.AcceptedEvents, row.AckP99)
		rows = append(rows, row)
	}
	mach["loadavg_at_end"] = machine()["loadavg_at_start"]
	mach["duration"] = time.Since(began).Round(time.Second).String()
	if jsonOut != "" {
		if err := report.WriteJSON(jsonOut, mach, rows); err != nil {
			return err
		}
	}
	if !quick {
		printMachine(mach)
		report.Markdown(os.Stdout, rows)
		return nil
	}
	report.Markdown(os.Stderr, rows)
	fmt.Println(summary(rows))
	return nil
}

// summary is quick mode's one line; see the package comment.
func summary(rows []report.Row) string {
	var eps, ratio, p99, rss float64
	for _, r := range rows {
		if r.Kind == string(kindIngestOnly) && r.EventBytes == 256 {
			eps, ratio = r.AcceptedEPS, r.RatioVsSarama
		}
		if r.Name == "half-max-256" {
			p99 = r.AckP99
		}
		rss = max(rss, r.Procs["ingester"].PeakRSSMiB)
	}
	return fmt.Sprintf("bench: events_per_s=%.0f ratio_vs_sarama=%.2f ack_p99_ms=%.1f ingester_rss_mib=%.0f", eps, ratio, p99, rss)
}

func printMachine(m map[string]string) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Printf("- %s: %s\n", k, m[k])
	}
	fmt.Println()
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}
