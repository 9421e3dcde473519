package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/IBM/sarama"
	"github.com/ferrylog/ferry/internal/kafkaconf"
)

// destinationDown: one destination fails every write while another keeps
// working. The broken one must retry with backoff and commit nothing; the
// healthy one must deliver as fast as without it; after the repair the
// broken one catches up with nothing lost and nothing written twice.
//
// How a write fails for root, who ignores permissions: the file the
// destination appends to, <dir>/<access-key>.log, is a folder. open(2) then
// fails with EISDIR for anyone, the router starts normally (its start-up
// scan skips what is not a regular file), and the repair is removing the
// folder. A folder replaced under a running router, or a file in place of
// the destination folder, would not do: the router keeps its dedup index
// open there, and refuses to start on a --file-dir that is a file.
func destinationDown(ctx context.Context, r *run) (tally, error) {
	if _, err := r.startIngester(); err != nil {
		return tally{}, err
	}
	healthy, err := r.startRouter("healthy", filepath.Join(r.dir, "out-healthy"))
	if err != nil {
		return tally{}, err
	}

	// Baseline: how long the healthy destination takes alone. Twice the
	// usual load, so the times compared are seconds, not scheduling noise.
	set1, err := r.chunks(ctx, "a", 2*defaultChunks*r.env.scale, defaultPerChunk)
	if err != nil {
		return tally{}, err
	}
	alone, sent1, err := r.timedDelivery(ctx, set1, healthy)
	if err != nil {
		return tally{}, err
	}

	// The broken destination joins, then the same load again.
	brokenDir := filepath.Join(r.dir, "out-broken")
	blocker := filepath.Join(brokenDir, accessKey+".log")
	if err := os.MkdirAll(blocker, 0o755); err != nil {
		return tally{}, err
	}
	broken, err := r.startRouter("broken", brokenDir)
	if err != nil {
		return tally{}, err
	}
	brokenSince := time.Now()
	// Measure only once it is failing: its start-up (a -race binary on two
	// shared cores) is not what is being compared.
	if err := r.waitMetric(ctx, broken, "ferry_router_write_errors_total", 1, 30*time.Second); err != nil {
		return tally{}, err
	}
	set2, err := r.chunks(ctx, "b", 2*defaultChunks*r.env.scale, defaultPerChunk)
	if err != nil {
		return tally{}, err
	}
	beside, sent2, err := r.timedDelivery(ctx, set2, healthy)
	if err != nil {
		return tally{}, err
	}
	// Roughly the same speed: allow twice the baseline plus scheduling noise
	// on two shared cores.
	r.expect(beside <= 2*alone+5*time.Second, "the healthy destination slowed down beside the broken one: %s for the load, %s alone", beside.Round(time.Millisecond), alone.Round(time.Millisecond))
	r.note("healthy destination: %d events delivered in %s alone, %s while the other destination was broken",
		len(sent2), alone.Round(100*time.Millisecond), beside.Round(100*time.Millisecond))

	// Let the broken one fail for at least 12 s, then look at it.
	if err := sleepCtx(ctx, 12*time.Second-time.Since(brokenSince)); err != nil {
		return tally{}, err
	}
	failedFor := time.Since(brokenSince)
	writeErrors, err := r.routerMetric(ctx, broken, "ferry_router_write_errors_total", nil)
	if err != nil {
		return tally{}, err
	}
	samples, err := scrape(ctx, broken.HTTP)
	if err != nil {
		return tally{}, err
	}
	records := sum(samples, "ferry_router_records_total", nil)
	// The router sets its lag gauge when a group completes, so a destination
	// that never wrote has none: say so instead of printing 0.
	lag := "absent (set only when a group completes)"
	for _, s := range samples {
		if s.name == "ferry_router_consumer_lag" {
			lag = fmt.Sprint(sum(samples, "ferry_router_consumer_lag", nil))
			break
		}
	}
	committed, err := committedOffsets(r.c.Brokers, "ferry.router.broken", r.c.Topic)
	if err != nil {
		return tally{}, err
	}
	// Backoff from 100 ms doubling: about 8 attempts per partition in 12 s,
	// where retrying every 100 ms would make 120.
	r.expect(writeErrors >= 2, "the broken destination failed %v writes in %s: it does not retry", writeErrors, failedFor.Round(time.Second))
	r.expect(writeErrors <= 40, "the broken destination failed %v writes in %s: no backoff", writeErrors, failedFor.Round(time.Second))
	r.expect(records == 0, "the broken destination marked %v records although no write succeeded", records)
	r.expect(committed == 0, "the broken destination committed %d offsets although no write succeeded", committed)
	r.note("broken destination after %s: %v failed writes (retried with backoff), %v records marked, %d offsets committed, ferry_router_consumer_lag %s",
		failedFor.Round(time.Second), writeErrors, records, committed, lag)

	// Repair: the folder goes, the next retry creates the file.
	if err := os.Remove(blocker); err != nil {
		return tally{}, err
	}
	all := append(append([]string(nil), sent1...), sent2...)
	caughtUp, err := r.waitDelivered(ctx, all, deliverLimit, broken)
	if err != nil {
		r.fail("the repaired destination did not catch up: %v", err)
	}
	r.note("broken destination repaired: caught up %d events in %s (the first retry after the repair waits out the backoff)",
		len(all), caughtUp.Round(100*time.Millisecond))
	return r.finish(ctx, all, healthy, broken), nil
}

// waitMetric polls a router's metric until it reaches at least want.
func (r *run) waitMetric(ctx context.Context, rt *router, name string, want float64, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		v, err := r.routerMetric(ctx, rt, name, nil)
		if err == nil && v >= want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("router %s: %s stayed at %v for %s, want %v (%v)", rt.dest, name, v, limit, want, err)
		}
		if err := sleepCtx(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
}

// timedDelivery sends chunks through one agent and returns how long it took
// until the router's files held all of them, and the ids sent.
func (r *run) timedDelivery(ctx context.Context, chunks []chunk, rt *router) (time.Duration, []string, error) {
	start := time.Now()
	a, err := r.startAgent(ctx, chunks, defaultWorkers)
	if err != nil {
		return 0, nil, err
	}
	if err := a.Wait(ctx); err != nil {
		return 0, nil, err
	}
	o := a.Outcome()
	r.checkOutcome(o)
	if _, err := r.waitDelivered(ctx, o.sent, deliverLimit, rt); err != nil {
		return 0, nil, err
	}
	return time.Since(start), o.sent, nil
}

// committedOffsets counts the partitions of topic for which group has
// committed an offset.
func committedOffsets(brokers, group, topic string) (int, error) {
	list, err := kafkaconf.ParseBrokers(brokers)
	if err != nil {
		return 0, err
	}
	admin, err := sarama.NewClusterAdmin(list, kafkaconf.Consumer("ferry-faults-admin"))
	if err != nil {
		return 0, fmt.Errorf("connect a Kafka admin: %w", err)
	}
	defer admin.Close()
	resp, err := admin.ListConsumerGroupOffsets(group, nil) // nil: every partition the group has
	if err != nil {
		return 0, fmt.Errorf("list the offsets of %s: %w", group, err)
	}
	n := 0
	for _, block := range resp.Blocks[topic] {
		if block.Offset >= 0 {
			n++
		}
	}
	return n, nil
}
