package main

import (
	"context"
	"fmt"
	"syscall"

	"github.com/ferrylog/ferry/bench/internal/load"
	"github.com/ferrylog/ferry/bench/internal/pluginhost"
	"github.com/ferrylog/ferry/e2e/cluster"
)

// withRouterPaused runs f with the router stopped by SIGSTOP, and resumes
// it afterwards whatever happens.
func (r *runner) withRouterPaused(f func() *load.Result) *load.Result {
	pid := r.env.router.Pid()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		res := load.NewResult()
		res.Fail(fmt.Errorf("pause the router: %w", err))
		return res
	}
	defer syscall.Kill(pid, syscall.SIGCONT)
	return f()
}

// pluginChunkEvents is the records of one test-host flush: a Fluent Bit
// chunk of about 560 KB of msgpack for 256-byte events, which the plugin
// splits into two batches under max_batch_bytes.
const pluginChunkEvents = 2000

// runPlugin builds the plugin and test host on first use and runs as many
// flushes as the scenario's duration should need at the max rate measured
// before, within the test host's limit of 1024.
func (r *runner) runPlugin(ctx context.Context, s scenario, spec load.Spec) (*load.Result, error) {
	if r.plugin == nil {
		tools, err := cluster.Plugin()
		if err != nil {
			return nil, err
		}
		r.plugin = &tools
	}
	flushes := 300
	if m := r.max[s.size]; m > 0 {
		// About 8 s of work at the max rate seen: bounded, not a soak.
		flushes = min(600, max(50, int(m*8/pluginChunkEvents)))
	}
	return pluginhost.Run(ctx, *r.plugin, pluginhost.Spec{
		Addr: spec.Addr, AccessKey: spec.AccessKey, Token: spec.Token,
		Instances: spec.Agents, Workers: 2 * spec.Agents, ChunkEvents: pluginChunkEvents, Flushes: flushes,
		Pool: spec.Pool, Dir: r.env.cluster.Dir, Timeout: s.duration,
	})
}
