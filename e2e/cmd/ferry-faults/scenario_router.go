package main

import (
	"context"
	"path/filepath"
	"time"
)

// routerKilled: the router dies with SIGKILL while it writes, and starts
// again on the same folder. Groups written but not committed come again
// from Kafka; the destination's batch id index (which survives the restart)
// must drop them, and lines of a group cut short must be repaired.
func routerKilled(ctx context.Context, r *run) (tally, error) {
	if _, err := r.startIngester(); err != nil {
		return tally{}, err
	}
	out := filepath.Join(r.dir, "out")
	rt, err := r.startRouter("file", out)
	if err != nil {
		return tally{}, err
	}
	set, err := r.chunks(ctx, "a", defaultChunks*r.env.scale, defaultPerChunk)
	if err != nil {
		return tally{}, err
	}
	a, err := r.startAgent(ctx, set, defaultWorkers)
	if err != nil {
		return tally{}, err
	}
	// Kill while lines are still arriving: a third of the events are in the
	// files and the agent is still sending.
	want := len(set) * defaultPerChunk / 3
	for {
		c, err := countDir(out)
		if err != nil {
			return tally{}, err
		}
		if c.lines >= want {
			break
		}
		if err := sleepCtx(ctx, 50*time.Millisecond); err != nil {
			return tally{}, err
		}
	}
	killedAt := time.Now()
	r.killRouter(ctx, rt)
	before, _ := countDir(out)
	okBefore := a.OK()
	if err := sleepCtx(ctx, time.Second); err != nil {
		return tally{}, err
	}
	rt2, err := r.startRouter("file", out)
	if err != nil {
		return tally{}, err
	}
	// Ready means a group session again: the dead member's 20 s session
	// timeout has to pass first, which is most of this time.
	r.note("SIGKILL with %d lines in the file and %d of %d chunks acknowledged; the new router was consuming %s later",
		before.lines, okBefore, len(set), time.Since(killedAt).Round(100*time.Millisecond))
	return r.deliver(ctx, a, rt2)
}

// routerSlowFor is how long the router is frozen.
const routerSlowFor = 10 * time.Second

// routerSlow: the router freezes (SIGSTOP) for 10 s under load. The ingest
// path must not notice: Kafka holds the backlog, the agent keeps getting
// acks, the ingester's memory does not grow with the backlog; then the
// router catches up.
func routerSlow(ctx context.Context, r *run) (tally, error) {
	return r.simple(ctx, defaultChunks*2, func(a *agent, rt *router) error {
		r.rss.Sample()
		rssBefore := r.rss.Peak()
		okBefore := a.OK()
		if err := r.pause(rt.Pid()); err != nil {
			return err
		}
		if err := sleepCtx(ctx, routerSlowFor); err != nil {
			return err
		}
		okDuring := a.OK() - okBefore
		r.resume(rt.Pid())
		r.rss.Sample()
		r.expect(okDuring > 0, "no chunk was acknowledged while the router was frozen: the ingest path waits for the router")
		r.note("router frozen %s: %d chunks acknowledged meanwhile; ingester peak RSS %.1f MiB before, %.1f MiB after",
			routerSlowFor, okDuring, rssBefore, r.rss.Peak())
		return nil
	})
}
