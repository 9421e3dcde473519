package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"
)

// scenarios is the suite, in the order it runs.
func scenarios() []scenario {
	return []scenario{
		{name: "ingester-sigkill", limit: 3 * time.Minute, run: ingesterKilled},
		{name: "ingester-sigterm", limit: 3 * time.Minute, run: ingesterTerminated},
		{name: "ingester-sigterm-kafka-frozen", limit: 3 * time.Minute, run: ingesterTerminatedKafkaFrozen},
		{name: "broker-outage", limit: 4 * time.Minute, run: brokerOutage},
		{name: "broker-slow", limit: 3 * time.Minute, run: brokerSlow},
		{name: "router-sigkill", limit: 3 * time.Minute, run: routerKilled},
		{name: "router-slow", limit: 3 * time.Minute, run: routerSlow},
		{name: "destination-down", limit: 4 * time.Minute, run: destinationDown},
		{name: "undeliverable", limit: 3 * time.Minute, run: undeliverable},
	}
}

// Load of a scenario: chunks of events, as Fluent Bit hands them over.
const (
	defaultChunks   = 150
	defaultPerChunk = 100
	// deliverLimit bounds the wait for the routers after the agent is done;
	// a router in its longest reconnect backoff (30 s) still makes it.
	deliverLimit = 90 * time.Second
	// defaultWorkers is the agent's flush threads, as Fluent Bit's workers.
	defaultWorkers = 4
)

// checkOutcome fails the run unless every chunk was answered ok in the end:
// a chunk answered error would be dropped by Fluent Bit, and one still
// answered retry after thousands of tries would be too.
func (r *run) checkOutcome(o outcome) {
	r.expect(o.errChunks == 0, "%d chunks answered error (0): Fluent Bit would drop them", o.errChunks)
	r.expect(o.unacked == 0, "%d chunks were never answered ok", o.unacked)
}

// simple is the set-up most scenarios share: an ingester, one file
// destination and a stream of chunks from one agent. fault runs once a
// third of the chunks were acknowledged, while the stream goes on.
func (r *run) simple(ctx context.Context, chunks int, fault func(*agent, *router) error, ingesterArgs ...string) (tally, error) {
	a, rt, err := r.stream(ctx, chunks, ingesterArgs...)
	if err != nil {
		return tally{}, err
	}
	if err := fault(a, rt); err != nil {
		return tally{}, err
	}
	return r.deliver(ctx, a, rt)
}

// stream starts an ingester, one file destination and an agent sending
// chunks, and returns once a third of the chunks were acknowledged.
func (r *run) stream(ctx context.Context, chunks int, ingesterArgs ...string) (*agent, *router, error) {
	if _, err := r.startIngester(ingesterArgs...); err != nil {
		return nil, nil, err
	}
	rt, err := r.startRouter("file", filepath.Join(r.dir, "out"))
	if err != nil {
		return nil, nil, err
	}
	set, err := r.chunks(ctx, "a", chunks*r.env.scale, defaultPerChunk)
	if err != nil {
		return nil, nil, err
	}
	a, err := r.startAgent(ctx, set, defaultWorkers)
	if err != nil {
		return nil, nil, err
	}
	return a, rt, a.WaitOK(ctx, len(set)/3)
}

// deliver waits for every acknowledged id to reach the routers, stops them
// and counts.
func (r *run) deliver(ctx context.Context, a *agent, routers ...*router) (tally, error) {
	sent, err := r.awaitDelivery(ctx, a, routers...)
	if err != nil {
		return tally{}, err
	}
	return r.finish(ctx, sent, routers...), nil
}

// awaitDelivery waits for the agent to finish, then for every id it was
// answered ok for to reach the routers' files, and returns those ids. Ids
// still missing after deliverLimit fail the run; finish counts them lost.
func (r *run) awaitDelivery(ctx context.Context, a *agent, routers ...*router) ([]string, error) {
	if err := a.Wait(ctx); err != nil {
		return nil, err
	}
	o := a.Outcome()
	r.checkOutcome(o)
	r.note("agent: %d chunks ok in %d flush calls (%d answered retry first)", o.okChunks, o.attempts, o.attempts-len(a.spec.Chunks))
	if _, err := r.waitDelivered(ctx, o.sent, deliverLimit, routers...); err != nil {
		r.fail("%v", err)
	}
	return o.sent, nil
}

// ingesterMetric scrapes the running ingester.
func (r *run) ingesterMetric(ctx context.Context, name string, labels map[string]string) (float64, error) {
	samples, err := scrape(ctx, r.c.IngesterHTTP)
	if err != nil {
		return 0, fmt.Errorf("scrape the ingester: %w", err)
	}
	return sum(samples, name, labels), nil
}
