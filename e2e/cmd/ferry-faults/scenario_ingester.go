package main

import (
	"context"
	"strings"
	"syscall"
	"time"
)

// ingesterKilled: the ingester dies with SIGKILL in the middle of a stream
// and is started again. Batches it had produced but not acknowledged are
// answered retry (the stream broke) and sent again: duplicates in Kafka,
// which the router drops by batch id. Nothing acknowledged may be missing.
func ingesterKilled(ctx context.Context, r *run) (tally, error) {
	return r.simple(ctx, defaultChunks, func(a *agent, _ *router) error {
		r.rss.Sample()
		killedAt := time.Now()
		okBefore := a.OK()
		r.ingester.Kill()
		time.Sleep(2 * time.Second) // the agent meets a dead address meanwhile
		if _, err := r.startIngester(); err != nil {
			return err
		}
		r.note("SIGKILL after %d chunks ok; %d flushes answered retry while it was down; restarted in %s",
			okBefore, a.RetriesBetween(killedAt, time.Now()), time.Since(killedAt).Round(100*time.Millisecond))
		return nil
	})
}

// ingesterTerminated: SIGTERM under load. The ingester must drain within
// --shutdown-grace (20 s in the harness): answer what Kafka has, tell the
// agent to reconnect, exit 0. Every batch in flight is either acknowledged
// after Kafka stored it or answered retry, which the count proves: an early
// or invented ok would show as a lost event.
func ingesterTerminated(ctx context.Context, r *run) (tally, error) {
	return r.simple(ctx, defaultChunks, func(a *agent, _ *router) error {
		r.rss.Sample()
		ing := r.ingester
		okBefore := a.OK()
		start := time.Now()
		err := ing.Signal(syscall.SIGTERM, 30*time.Second)
		took := time.Since(start)
		okDuring := a.OK() - okBefore
		r.expect(err == nil, "the ingester did not exit 0 on SIGTERM: %v", err)
		r.expect(took < 20*time.Second, "the ingester took %s to stop, its --shutdown-grace is 20s", took.Round(time.Millisecond))
		log := ing.Log()
		r.expect(strings.Contains(log, "shutting down: draining streams") && strings.Contains(log, "ingester stopped"),
			"the ingester's log does not show a drained shutdown")
		r.note("SIGTERM after %d chunks ok: exited in %s, %d chunks answered ok during the drain", okBefore, took.Round(time.Millisecond), okDuring)
		time.Sleep(time.Second)
		_, err = r.startIngester()
		return err
	})
}

// ingesterTerminatedKafkaFrozen: SIGTERM while the broker is frozen, so
// batches in flight will get no answer from Kafka. The shutdown must still
// end within the grace (plus the few seconds the Kafka client may take to
// close), and the batches it could not confirm must not count as sent: the
// agent retries them against the restarted ingester.
func ingesterTerminatedKafkaFrozen(ctx context.Context, r *run) (tally, error) {
	return r.simple(ctx, defaultChunks, func(a *agent, _ *router) error {
		if err := r.env.broker.Pause(); err != nil {
			return err
		}
		if err := sleepCtx(ctx, 2*time.Second); err != nil { // batches pile up in flight
			return err
		}
		ing := r.ingester
		okBefore := a.OK()
		start := time.Now()
		err := ing.Signal(syscall.SIGTERM, 45*time.Second)
		took := time.Since(start)
		okDuring := a.OK() - okBefore
		r.env.broker.Resume()
		// --shutdown-grace is 20 s in the harness; the Kafka client gets at
		// most 5 s more to close and the HTTP server 2 s.
		r.expect(took < 28*time.Second, "the ingester took %s to stop with Kafka frozen, its --shutdown-grace is 20s: %v", took.Round(time.Millisecond), err)
		r.note("SIGTERM with the broker frozen after %d chunks ok: exited in %s (%v); %d chunks answered ok meanwhile",
			okBefore, took.Round(time.Millisecond), exitStatus(err), okDuring)
		_, err = r.startIngester()
		return err
	})
}

// exitStatus describes a process's end for a note.
func exitStatus(err error) string {
	if err == nil {
		return "exit 0"
	}
	return err.Error()
}
