package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/ferrylog/ferry/bench/internal/baseline"
	"github.com/ferrylog/ferry/bench/internal/load"
	"github.com/ferrylog/ferry/bench/internal/pluginhost"
	"github.com/ferrylog/ferry/bench/internal/report"
	"github.com/ferrylog/ferry/bench/internal/tail"
	"github.com/ferrylog/ferry/internal/crypto"
	"github.com/ferrylog/ferry/internal/kafkaconf"
)

// settings shared by every scenario of a run.
type settings struct {
	agents, window int
	maxBatchBytes  int
	pollInterval   time.Duration // of the output follower: the e2e latency resolution
	drainLimit     time.Duration // wait for the router after the load stopped
	profileDir     string        // -profile: CPU profiles of the services go here
}

// batchEvents is what one Fluent Bit flush carries in the bench: 500
// events, or fewer when 500 would not fit in 90% of max_batch_bytes (the
// plugin splits chunks at that bound).
func (st settings) batchEvents(size int) int {
	return min(500, st.maxBatchBytes*9/10/(size+32))
}

// runner runs scenarios against one environment and remembers the maxima
// and baselines later scenarios refer to.
type runner struct {
	env     *env
	st      settings
	pools   map[int][][]byte
	keyring *crypto.Keyring
	max     map[int]float64 // max accepted events/s by event size
	sarama  map[int]float64 // sarama baseline events/s by event size
	// saramaSeal is the sarama+seal baseline events/s by event size.
	saramaSeal map[int]float64
	plugin     *pluginhost.Tools
}

var saramaModes = map[kind]baseline.SaramaMode{
	kindSarama: baseline.KafkaZstd, kindSaramaPresealed: baseline.Presealed, kindSaramaSeal: baseline.SealInline,
}

func (r *runner) run(ctx context.Context, s scenario) report.Row {
	row := report.Row{Name: s.name, Kind: string(s.kind), EventBytes: s.size, BatchEvents: r.st.batchEvents(s.size), Offered: s.rate}
	if s.rate == halfMax {
		row.Offered = r.max[s.size] / 2
		if row.Offered <= 0 {
			row.Skipped = "no max measured for this size earlier in the run"
			return row
		}
	}
	spec := load.Spec{
		Addr: r.env.cluster.IngesterAddr, Token: r.env.tokens[accessKey(s)], AccessKey: accessKey(s), Name: s.name,
		Agents: r.st.agents, Window: r.st.window, BatchEvents: row.BatchEvents, Pool: r.pools[s.size],
		Rate: row.Offered, Duration: s.duration, AckTimeout: 30 * time.Second,
	}
	var follow *tail.Follower
	if !s.kind.isBaseline() {
		follow = tail.Follow(filepath.Join(r.env.outDir, accessKey(s)+".log"), r.st.pollInterval)
	}
	cost := startCosts(r.env.pids())
	if r.st.profileDir != "" && s.name == profiledScenario {
		wait := startProfiles(r.st.profileDir, map[string]string{
			"ingester": r.env.cluster.IngesterHTTP, "router": r.env.router.HTTP,
		}, s.duration)
		defer func() {
			if err := wait(); err != nil {
				logf("  %v", err)
			}
		}()
	}
	var res *load.Result
	switch s.kind {
	case kindFerry, kindWarmup:
		res = load.Run(ctx, spec)
	case kindIngestOnly:
		res = r.withRouterPaused(func() *load.Result { return load.Run(ctx, spec) })
	case kindPlugin:
		var err error
		if res, err = r.runPlugin(ctx, s, spec); err != nil {
			row.Skipped = err.Error()
			follow.Stop()
			return row
		}
		row.BatchEvents = pluginChunkEvents
	case kindPerEvent:
		spec.BatchEvents = 100 // one flush: a stream of 100 one-event messages
		row.BatchEvents = 1
		res = load.RunPerEvent(ctx, spec)
	case kindSarama, kindSaramaPresealed, kindSaramaSeal:
		brokers, _ := kafkaconf.ParseBrokers(r.env.brokers)
		var err error
		res, err = baseline.RunSarama(ctx, baseline.SaramaSpec{
			Brokers: brokers, Topic: r.env.cluster.Topic + ".sarama", Partitions: 3, Keyring: r.keyring,
			Agents: r.st.agents, Window: r.st.window, BatchEvents: row.BatchEvents, Pool: r.pools[s.size], Duration: s.duration,
			Mode: saramaModes[s.kind],
		})
		if err != nil {
			row.Errors = append(row.Errors, err.Error())
			return row
		}
	case kindFluentBit:
		brokers := r.env.brokers
		fb, err := baseline.RunFluentBit(ctx, baseline.FluentBitSpec{
			Brokers: brokers, Topic: r.env.cluster.Topic + ".fluentbit", Pool: r.pools[s.size], Duration: s.duration, Dir: r.env.cluster.Dir,
		})
		if err != nil {
			row.Skipped = err.Error()
			return row
		}
		res = fb
	}
	if follow != nil {
		limit := r.st.drainLimit
		if s.kind == kindIngestOnly {
			// The paused router has the whole run to catch up: let it, so
			// the next scenario starts on a quiet machine.
			limit = max(limit, 90*time.Second)
		}
		r.drain(follow, res.OKEvents.Load(), limit)
		follow.Stop()
		row.DeliveredEvts = follow.Lines()
		if last := follow.LastLine(); !last.IsZero() {
			row.DeliveredEPS = float64(row.DeliveredEvts) / last.Sub(res.Start).Seconds()
		}
		if s.kind != kindPlugin && s.kind != kindIngestOnly {
			// Plugin chunks carry the time they were made, and paused-router
			// runs measure the pause: neither is a latency.
			row.E2EP50 = report.Ms(follow.Latency.Quantile(0.5))
			row.E2EP99 = report.Ms(follow.Latency.Quantile(0.99))
		}
	}
	row.Procs = cost.stop()
	fill(&row, res)
	if s.kind == kindSarama {
		r.sarama[s.size] = row.AcceptedEPS
	}
	if s.kind == kindFerry && s.rate == 0 {
		r.max[s.size] = row.AcceptedEPS
	}
	if s.kind == kindSaramaSeal {
		r.saramaSeal[s.size] = row.AcceptedEPS
	}
	if b := r.saramaSeal[s.size]; b > 0 && !s.kind.isBaseline() {
		row.RatioVsSaramaSeal = row.AcceptedEPS / b
	}
	if b := r.sarama[s.size]; b > 0 && !s.kind.isBaseline() {
		row.RatioVsSarama = row.AcceptedEPS / b
	}
	return row
}

// drain waits until the router wrote what was accepted, it stops making
// progress for a few seconds, or the drain limit passes.
func (r *runner) drain(f *tail.Follower, accepted int64, limit time.Duration) {
	deadline := time.Now().Add(limit)
	last, lastChange := f.Lines(), time.Now()
	for f.Lines() < accepted && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		if n := f.Lines(); n != last {
			last, lastChange = n, time.Now()
		} else if time.Since(lastChange) > 5*time.Second {
			return
		}
	}
}

func fill(row *report.Row, res *load.Result) {
	el := res.Elapsed().Seconds()
	row.Seconds = el
	row.AcceptedEvents = res.OKEvents.Load()
	if el > 0 {
		row.AcceptedEPS = float64(row.AcceptedEvents) / el
		row.AcceptedMBps = float64(res.OKBytes.Load()) / el / 1e6
	}
	row.Retries, row.Lost = res.RetryBatches.Load(), res.Lost.Load()
	row.AckP50 = report.Ms(res.AckLatency.Quantile(0.5))
	row.AckP99 = report.Ms(res.AckLatency.Quantile(0.99))
	row.AckP999 = report.Ms(res.AckLatency.Quantile(0.999))
	for i, err := range res.Errors() {
		if i == 3 {
			row.Errors = append(row.Errors, fmt.Sprintf("and %d more", len(res.Errors())-3))
			break
		}
		row.Errors = append(row.Errors, err.Error())
	}
}
