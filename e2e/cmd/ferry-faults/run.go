package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ferrylog/ferry/e2e/cluster"
)

// accessKey is the one agent configuration every scenario sends under.
const accessKey = "AK-faults"

// faultsConfig is the access-key config file. The backoff hints make the
// plugin reconnect within 2 s after an ingester restart instead of its 30 s
// default ceiling, so scenarios stay short; the guarantee does not depend
// on them.
const faultsConfig = `{
  "access_keys": {
    "AK-faults": {"tenant": "faults", "retry_min_backoff": "200ms", "retry_max_backoff": "2s"}
  }
}`

// run is one scenario's install: its own folder, topics and processes on
// the suite's broker, and what it measured.
type run struct {
	env  *env
	name string
	dir  string
	c    *cluster.Cluster
	rss  *peakRSS

	ingester *cluster.Process
	tokenF   string

	mu       sync.Mutex
	routers  []*router // every router started, live or not
	agents   []*agent
	paused   []int // pids frozen with SIGSTOP, thawed on every exit path
	failures []string
	notes    []string
	stopPoll chan struct{}
	pollDone chan struct{}
}

// router is one `router consumer` process and the last value of its
// duplicates counter, which dies with it.
type router struct {
	*cluster.Router
	dest string
	dir  string
	dups float64
}

func newRun(ctx context.Context, e *env, name string) (*run, error) {
	dir := filepath.Join(e.workDir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	c, err := cluster.New(dir, e.broker.Addr(), faultsConfig)
	if err != nil {
		return nil, err
	}
	// Each scenario dead-letters into a topic of its own, so its count is
	// its own on the shared broker.
	c.DLQTopic = c.Topic + ".dlq"
	tok, err := c.Token(accessKey, 2*time.Hour)
	if err != nil {
		return nil, err
	}
	tokenFile := filepath.Join(dir, accessKey+".token")
	if err := os.WriteFile(tokenFile, []byte(tok+"\n"), 0o600); err != nil {
		return nil, err
	}
	r := &run{env: e, name: name, dir: dir, c: c, tokenF: tokenFile, rss: newPeakRSS(),
		stopPoll: make(chan struct{}), pollDone: make(chan struct{})}
	go r.pollRouters(ctx)
	return r, nil
}

// fail records an expectation the scenario did not meet; the scenario goes on
// so its counts are still reported.
func (r *run) fail(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failures = append(r.failures, fmt.Sprintf(format, args...))
}

// expect fails the scenario unless ok.
func (r *run) expect(ok bool, format string, args ...any) {
	if !ok {
		r.fail(format, args...)
	}
}

// note records a measurement worth printing with the scenario's line.
func (r *run) note(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.notes = append(r.notes, fmt.Sprintf(format, args...))
}

// startIngester starts `ingester api` on the cluster's fixed address, so a
// restarted ingester is where the agent reconnects to.
func (r *run) startIngester(extra ...string) (*cluster.Process, error) {
	p, err := r.c.StartIngester(extra...)
	if p != nil {
		r.rss.Track(p.Pid())
		r.ingester = p
	}
	return p, err
}

// startRouter starts a file destination named dest writing to dir.
func (r *run) startRouter(dest, dir string, extra ...string) (*router, error) {
	rt, err := r.c.StartRouter(dest, dir, extra...)
	if rt == nil {
		return nil, err
	}
	out := &router{Router: rt, dest: dest, dir: dir}
	r.mu.Lock()
	r.routers = append(r.routers, out)
	r.mu.Unlock()
	return out, err
}

// pollRouters keeps each live router's duplicates counter, so a router
// killed with SIGKILL still reports what it dropped until shortly before.
func (r *run) pollRouters(ctx context.Context) {
	defer close(r.pollDone)
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-r.stopPoll:
			return
		case <-ctx.Done():
			return
		case <-t.C:
		}
		r.mu.Lock()
		routers := append([]*router(nil), r.routers...)
		r.mu.Unlock()
		for _, rt := range routers {
			r.scrapeRouter(ctx, rt)
		}
	}
}

func (r *run) scrapeRouter(ctx context.Context, rt *router) {
	if exited, _ := rt.Exited(); exited {
		return
	}
	samples, err := scrape(ctx, rt.HTTP)
	if err != nil {
		return
	}
	v := sum(samples, "ferry_router_duplicates_dropped_total", nil)
	r.mu.Lock()
	rt.dups = max(rt.dups, v)
	r.mu.Unlock()
}

// routerMetric scrapes one router and sums a metric.
func (r *run) routerMetric(ctx context.Context, rt *router, name string, labels map[string]string) (float64, error) {
	samples, err := scrape(ctx, rt.HTTP)
	if err != nil {
		return 0, err
	}
	return sum(samples, name, labels), nil
}

// killRouter ends a router with SIGKILL, as a crash would.
func (r *run) killRouter(ctx context.Context, rt *router) {
	r.scrapeRouter(ctx, rt)
	rt.Kill()
}

// stopRouter ends a router with SIGTERM; it must exit 0 within its grace.
func (r *run) stopRouter(ctx context.Context, rt *router) {
	r.scrapeRouter(ctx, rt)
	start := time.Now()
	if err := rt.Stop(); err != nil {
		r.fail("router %s did not stop cleanly on SIGTERM: %v", rt.dest, err)
	} else if d := time.Since(start); d > 10*time.Second {
		r.fail("router %s took %s to stop on SIGTERM", rt.dest, d.Round(time.Millisecond))
	}
}

// pause freezes a process with SIGSTOP until resume (or the run's close).
func (r *run) pause(pid int) error {
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		return fmt.Errorf("SIGSTOP %d: %w", pid, err)
	}
	r.mu.Lock()
	r.paused = append(r.paused, pid)
	r.mu.Unlock()
	return nil
}

func (r *run) resume(pid int) {
	syscall.Kill(pid, syscall.SIGCONT)
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, p := range r.paused {
		if p == pid {
			r.paused = append(r.paused[:i], r.paused[i+1:]...)
			break
		}
	}
}

// startAgent runs the test host with the settings of every scenario:
// workers flush threads (Fluent Bit's `workers`), a chunk answered retry
// tried again every 200 ms for as long as a scenario can last (Retry_Limit
// no_limits), and acks awaited at most 10 s.
func (r *run) startAgent(ctx context.Context, chunks []chunk, workers int) (*agent, error) {
	a, err := startAgent(ctx, r.env.plugin, agentSpec{
		Ingester: r.c.IngesterAddr, AccessKey: accessKey, TokenFile: r.tokenF,
		AgentID: "host-" + r.name, Tag: "app.faults", Workers: workers,
		Retries: 5000, RetryDelay: 200 * time.Millisecond,
		Props:  []string{"Ack_Timeout=10s"},
		Chunks: chunks, Log: filepath.Join(r.dir, "testhost.log"),
	})
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.agents = append(r.agents, a)
	r.mu.Unlock()
	return a, nil
}

// chunks makes n chunks of perChunk events for this scenario.
func (r *run) chunks(ctx context.Context, set string, n, perChunk int) ([]chunk, error) {
	return makeChunks(ctx, r.env.plugin.MkChunk, filepath.Join(r.dir, "chunks"), r.name+"-"+set, n, perChunk)
}

// waitDelivered polls the destinations' files until every id is at every
// one of them, or limit passes. It returns how long that took.
func (r *run) waitDelivered(ctx context.Context, ids []string, limit time.Duration, routers ...*router) (time.Duration, error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	for {
		missing := 0
		var where []string
		for _, rt := range routers {
			c, err := countDir(rt.dir)
			if err != nil {
				return 0, err
			}
			if m := c.missing(ids); m > 0 {
				missing += m
				where = append(where, fmt.Sprintf("%s lacks %d", rt.dest, m))
			}
		}
		if missing == 0 {
			return time.Since(start), nil
		}
		select {
		case <-ctx.Done():
			return time.Since(start), fmt.Errorf("not delivered within %s: %s", limit, strings.Join(where, ", "))
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// finish stops the routers gracefully (their files are then final), counts
// what each destination holds, and compares it with what was sent.
func (r *run) finish(ctx context.Context, sent []string, routers ...*router) tally {
	for _, rt := range routers {
		if exited, _ := rt.Exited(); !exited {
			r.stopRouter(ctx, rt)
		}
	}
	dests := map[string]*copies{}
	for _, rt := range routers {
		c, err := countDir(rt.dir)
		if err != nil {
			r.fail("count %s: %v", rt.dest, err)
			c = &copies{ids: map[string]int{}}
		}
		if c.noBatchID > 0 {
			r.fail("%s: %d lines without batch_id", rt.dest, c.noBatchID)
		}
		dests[rt.dest] = c
	}
	return compare(sent, dests)
}

// dupsSeen is the duplicate batches every router of the run dropped.
func (r *run) dupsSeen() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	total := 0.0
	for _, rt := range r.routers {
		total += rt.dups
	}
	return int(total)
}

// close ends everything the run started, on every path: thaws what it
// froze, kills the agents, stops the services.
func (r *run) close() {
	r.mu.Lock()
	paused := append([]int(nil), r.paused...)
	agents := append([]*agent(nil), r.agents...)
	r.mu.Unlock()
	for _, pid := range paused {
		r.resume(pid)
	}
	r.env.broker.Resume()
	for _, a := range agents {
		select {
		case <-a.done:
		default:
			a.cmd.Process.Kill()
			<-a.done
		}
	}
	select {
	case <-r.stopPoll:
	default:
		close(r.stopPoll)
	}
	<-r.pollDone
	r.c.Close()
}
