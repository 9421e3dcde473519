package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// brokerOutageFor is how long the broker stays stopped.
const brokerOutageFor = 30 * time.Second

// brokerOutage: the broker stops for 30 s under load and starts again. The
// ingester must answer retry (never ok) while Kafka is away, report not
// ready, and recover without a restart; the router reconnects by itself.
func brokerOutage(ctx context.Context, r *run) (tally, error) {
	return r.simple(ctx, defaultChunks, func(a *agent, _ *router) error {
		if err := r.env.broker.Down(ctx); err != nil {
			return err
		}
		down := time.Now()
		okAtStop := a.OK()
		// Watch /readyz through the outage: it must turn 503 and stay so.
		notReadySince := time.Time{}
		readyDuringOutage := 0
		for time.Since(down) < brokerOutageFor {
			switch ok, err := ready(ctx, r.c.IngesterHTTP); {
			case err != nil:
				return fmt.Errorf("ingester /readyz during the outage: %w", err)
			case ok && time.Since(down) > 5*time.Second:
				readyDuringOutage++ // the probe runs every 2 s: allow it one round to notice
			case !ok && notReadySince.IsZero():
				notReadySince = time.Now()
			}
			if err := sleepCtx(ctx, 500*time.Millisecond); err != nil {
				return err
			}
		}
		okDuring := a.OK() - okAtStop
		retries := a.RetriesBetween(down, time.Now())
		retryAcks, _ := r.ingesterMetric(ctx, "ferry_ingester_batches_total", map[string]string{"result": "retry"})
		kafkaReady, _ := r.ingesterMetric(ctx, "ferry_ingester_kafka_ready", nil)
		r.expect(!notReadySince.IsZero(), "the ingester's /readyz never reported not ready while Kafka was down")
		r.expect(readyDuringOutage == 0, "the ingester's /readyz answered ready %d times while Kafka was down", readyDuringOutage)
		r.expect(kafkaReady == 0, "ferry_ingester_kafka_ready is %v while Kafka is down", kafkaReady)
		r.expect(retries > 0, "no flush was answered retry while Kafka was down")

		upStart := time.Now()
		if err := r.env.broker.Up(ctx); err != nil {
			return err
		}
		brokerUp := time.Since(upStart)
		// The ingester must find Kafka again by itself.
		recovered, err := waitReady(ctx, r.c.IngesterHTTP, 60*time.Second)
		if err != nil {
			r.fail("the ingester did not report ready again within 60 s of the broker's return: %v", err)
		}
		r.note("broker down %s: /readyz 503 after %s; %d chunks ok during the outage (acked before it); %d flushes answered retry; ingester retry acks %v",
			brokerOutageFor, notReadySince.Sub(down).Round(100*time.Millisecond), okDuring, retries, retryAcks)
		r.note("broker back in %s; ingester ready again %s later, without a restart", brokerUp.Round(100*time.Millisecond), recovered.Round(100*time.Millisecond))
		return nil
	})
}

// brokerSlowFor is how long the broker is frozen.
const brokerSlowFor = 10 * time.Second

// brokerSlowInflight is the ingester's --max-inflight-bytes in the slow
// broker scenario: the smallest allowed, so the budget is what holds.
const brokerSlowInflight = 1 << 20

// brokerSlow: the broker freezes (SIGSTOP) for 10 s under load: it accepts
// nothing and answers nothing. The ingester must hold at most its byte
// budget and the per-stream limits, answering retry with ResourceExhausted
// beyond them, so its memory stays bounded; nothing may be lost.
func brokerSlow(ctx context.Context, r *run) (tally, error) {
	// Bigger chunks and more workers: 8 flushes of about 200 KB each in
	// flight are more than the 1 MiB budget, so the budget, not only the
	// in-flight count, has to hold.
	const chunks, perChunk, workers = 48, 1000, 8
	if _, err := r.startIngester("--max-inflight-bytes", fmt.Sprint(brokerSlowInflight)); err != nil {
		return tally{}, err
	}
	rt, err := r.startRouter("file", r.dir+"/out")
	if err != nil {
		return tally{}, err
	}
	set, err := r.chunks(ctx, "a", chunks*r.env.scale, perChunk)
	if err != nil {
		return tally{}, err
	}
	a, err := r.startAgent(ctx, set, workers)
	if err != nil {
		return tally{}, err
	}
	if err := a.WaitOK(ctx, len(set)/4); err != nil {
		return tally{}, err
	}
	r.rss.Sample()
	rssBefore := r.rss.Peak()
	exhaustedBefore, _ := r.ingesterMetric(ctx, "ferry_ingester_batches_total", map[string]string{"result": "retry"})
	if err := r.env.broker.Pause(); err != nil {
		return tally{}, err
	}
	frozen := time.Now()
	maxInflight := 0.0
	for time.Since(frozen) < brokerSlowFor {
		if v, err := r.ingesterMetric(ctx, "ferry_ingester_inflight_bytes", nil); err == nil {
			maxInflight = max(maxInflight, v)
		}
		if err := sleepCtx(ctx, 250*time.Millisecond); err != nil {
			r.env.broker.Resume()
			return tally{}, err
		}
	}
	retryAcks, _ := r.ingesterMetric(ctx, "ferry_ingester_batches_total", map[string]string{"result": "retry"})
	r.env.broker.Resume()
	r.rss.Sample()
	rssFrozen := r.rss.Peak()
	// One batch may exceed the budget when nothing else is held (a batch is
	// never refused for being alone), so the bound is the budget plus one.
	r.expect(maxInflight <= brokerSlowInflight+float64(maxBatchBytes), "ingester held %.0f bytes awaiting Kafka, its budget is %d", maxInflight, brokerSlowInflight)
	r.expect(retryAcks > exhaustedBefore, "the ingester answered no batch retry while Kafka was frozen")
	r.note("broker frozen %s: ingester held at most %.0f KiB awaiting Kafka (budget %d KiB); %v batches answered retry meanwhile",
		brokerSlowFor, maxInflight/1024, brokerSlowInflight/1024, retryAcks-exhaustedBefore)
	r.note("ingester peak RSS %.1f MiB before the freeze, %.1f MiB after it", rssBefore, rssFrozen)
	return r.deliver(ctx, a, rt)
}

// maxBatchBytes is the default max_batch_bytes of an access key.
const maxBatchBytes = 512 << 10

// ready asks an HTTP /readyz.
func ready(ctx context.Context, addr string) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/readyz", nil)
	if err != nil {
		return false, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK, nil
}

// waitReady polls /readyz until it answers 200 and returns how long it took.
func waitReady(ctx context.Context, addr string, limit time.Duration) (time.Duration, error) {
	start := time.Now()
	for {
		ok, err := ready(ctx, addr)
		if ok {
			return time.Since(start), nil
		}
		if time.Since(start) > limit {
			return time.Since(start), fmt.Errorf("not ready after %s (last error: %v)", limit, err)
		}
		if err := sleepCtx(ctx, 250*time.Millisecond); err != nil {
			return time.Since(start), err
		}
	}
}

// sleepCtx sleeps d unless ctx ends first.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
