// Command ferry-faults proves Ferry's delivery guarantee against real
// faults: a Fluent Bit chunk answered "ok" is in Kafka and reaches every
// destination, exactly once in the files, even when processes die, the
// broker stops or stalls, a destination breaks or a record can never be
// delivered.
//
// Every scenario runs the real binaries (ingester and router built with
// -race, the real out_ferry.so driven by the C test host that loads it as
// Fluent Bit does) against a Kafka broker of the suite's own, on ports no
// other test uses (39092/39093 unless -kafka-port says otherwise), reset
// at the start. Each scenario sends events with unique ids, applies its
// fault, waits until the destinations hold every id the agent was told
// "ok" for, and counts the router's files:
//
//	delivered           sent ids present at every destination
//	lost                sent ids missing at a destination
//	duplicates_seen     duplicate batches the routers dropped (ferry_router_duplicates_dropped_total)
//	duplicates_written  extra copies of an id in the files
//
// The last line is for scripts:
//
//	faults: scenarios=N sent=S delivered=D lost=L duplicates_written=W peak_rss_mib=M
//
// and the exit status is 1 when any event was lost or written twice, or a
// scenario's checks failed. Usage:
//
//	cd e2e && go run ./cmd/ferry-faults [-run REGEXP] [-scale N] [-keep]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"regexp"
	"syscall"
	"time"

	"github.com/ferrylog/ferry/e2e/cluster"
)

func main() { os.Exit(faults()) }

func faults() int {
	runPattern := flag.String("run", "", "run only the scenarios whose name matches this `regexp`")
	port := flag.Int("kafka-port", 39092, "client `port` of the suite's own Kafka broker")
	controllerPort := flag.Int("kafka-controller-port", 39093, "KRaft controller `port` of that broker")
	scale := flag.Int("scale", 1, "multiply every scenario's events by `N`")
	keep := flag.Bool("keep", false, "keep the work folder (logs, chunks, destination files) even when every scenario passed")
	list := flag.Bool("list", false, "list the scenarios and exit")
	flag.Parse()

	selected, err := selectScenarios(*runPattern)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ferry-faults:", err)
		return 2
	}
	if *list {
		for _, s := range selected {
			fmt.Println(s.name)
		}
		return 0
	}
	// SIGINT/SIGTERM end the running scenario through its context, so the
	// processes and the broker are stopped on this path too.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	started := time.Now()
	e := &env{broker: newBroker(*port, *controllerPort), scale: max(*scale, 1)}
	if e.workDir, err = os.MkdirTemp("", "ferry-faults-"); err != nil {
		fmt.Fprintln(os.Stderr, "ferry-faults:", err)
		return 1
	}
	fmt.Printf("ferry-faults: building the binaries (-race), out_ferry.so and the test host; work folder %s\n", e.workDir)
	defer cluster.RemoveBuilds()
	if _, err := cluster.Binaries(); err != nil {
		fmt.Fprintln(os.Stderr, "ferry-faults:", err)
		return 1
	}
	if e.plugin, err = cluster.Plugin(); err != nil {
		fmt.Fprintln(os.Stderr, "ferry-faults:", err)
		return 1
	}
	results, err := runAll(ctx, e, selected)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ferry-faults:", err)
	}
	line, ok := summary(results)
	interrupted := ctx.Err() != nil
	fmt.Printf("ferry-faults: %s in all\n", time.Since(started).Round(time.Second))
	if !ok || interrupted || *keep {
		fmt.Printf("ferry-faults: logs, chunks and destination files are in %s\n", e.workDir)
	} else {
		os.RemoveAll(e.workDir)
	}
	fmt.Println(line)
	if !ok || interrupted || err != nil || len(results) < len(selected) {
		return 1
	}
	return 0
}

// runAll starts the suite's broker from clean data, runs the scenarios one
// after another, and stops the broker before it returns, on every path.
func runAll(ctx context.Context, e *env, selected []scenario) (results []result, err error) {
	fmt.Printf("ferry-faults: starting the suite's Kafka broker on %s (clean data)\n", e.broker.Addr())
	defer func() {
		// A fresh context: the suite's may be cancelled by a signal.
		downCtx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if downErr := e.broker.Down(downCtx); downErr != nil {
			err = errors.Join(err, downErr)
		}
	}()
	if err := e.broker.Reset(ctx); err != nil {
		return nil, err
	}
	if err := e.broker.Up(ctx); err != nil {
		return nil, err
	}
	for _, s := range selected {
		if ctx.Err() != nil {
			return results, ctx.Err()
		}
		fmt.Printf("ferry-faults: %s ...\n", s.name)
		res := runScenario(ctx, e, s)
		res.print(os.Stdout)
		results = append(results, res)
	}
	return results, nil
}

// removeBuildDir deletes a temporary folder cluster built binaries into
// (about 60 MB a run otherwise left behind), and nothing else: on a failed
// build the path may be empty or relative.
func selectScenarios(pattern string) ([]scenario, error) {
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, fmt.Errorf("-run: %w", err)
	}
	var out []scenario
	for _, s := range scenarios() {
		if re.MatchString(s.name) {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("-run %q matches no scenario", pattern)
	}
	return out, nil
}
