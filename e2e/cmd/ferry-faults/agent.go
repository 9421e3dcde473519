package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/ferrylog/ferry/e2e/cluster"
)

// Flush return codes of a Fluent Bit output plugin.
const (
	rcError = 0
	rcOK    = 1
	rcRetry = 2
)

// agentSpec is one run of the C test host: the real out_ferry.so, loaded
// as Fluent Bit loads it, flushing the chunks on worker threads and retrying
// a chunk answered retry as Fluent Bit's scheduler does.
type agentSpec struct {
	Ingester  string
	AccessKey string
	TokenFile string
	AgentID   string
	Tag       string
	Workers   int
	// Retries and RetryDelay are the host's -r and -d: with many retries a
	// chunk is retried through any outage a scenario makes, as with
	// Retry_Limit no_limits.
	Retries    int
	RetryDelay time.Duration
	// Props are more plugin keys (key=value).
	Props  []string
	Chunks []chunk
	Log    string // the host's stderr (the plugin's log)
}

// agent is a running test host. It reads the host's flush lines as they
// come, so a scenario can act when some chunks are acknowledged.
type agent struct {
	spec agentSpec
	cmd  *exec.Cmd
	done chan struct{}

	mu       sync.Mutex
	changed  chan struct{} // closed and replaced on every flush line
	final    map[string]int
	attempts map[string]int
	retries  []time.Time // when each rc=2 answer came
	okCount  int
	waitErr  error
}

// maxFlushes is the test host's queue limit (MAX_FLUSHES in testhost.c).
const maxFlushes = 1024

var flushLine = regexp.MustCompile(`^flush instance=\d+ file=(\S+) tag=\S+ attempt=(\d+) rc=(\S+)$`)

func startAgent(ctx context.Context, p cluster.PluginArtifacts, spec agentSpec) (*agent, error) {
	if len(spec.Chunks) > maxFlushes {
		return nil, fmt.Errorf("%d chunks, the test host takes at most %d", len(spec.Chunks), maxFlushes)
	}
	args := []string{"-e", p.SharedObject,
		"-w", strconv.Itoa(spec.Workers), "-r", strconv.Itoa(spec.Retries),
		"-d", strconv.FormatInt(spec.RetryDelay.Milliseconds(), 10), "-t", spec.Tag,
		"-p", "Ingester=" + spec.Ingester, "-p", "Insecure=true",
		"-p", "Access_Key=" + spec.AccessKey, "-p", "Access_Token_File=" + spec.TokenFile,
		"-p", "Agent_ID=" + spec.AgentID}
	for _, kv := range spec.Props {
		args = append(args, "-p", kv)
	}
	for _, c := range spec.Chunks {
		args = append(args, "-f", c.path)
	}
	logFile, err := os.OpenFile(spec.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, p.TestHost, args...)
	cmd.Stderr = logFile
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		logFile.Close()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start the test host: %w", err)
	}
	a := &agent{spec: spec, cmd: cmd, done: make(chan struct{}), changed: make(chan struct{}),
		final: map[string]int{}, attempts: map[string]int{}}
	go func() {
		a.read(stdout, logFile)
		err := cmd.Wait()
		logFile.Close()
		a.mu.Lock()
		a.waitErr = err
		close(a.changed)
		a.mu.Unlock()
		close(a.done)
	}()
	return a, nil
}

// read parses the host's stdout; every line also goes to the log file, so
// the flush history is there to read after a failure.
func (a *agent) read(stdout io.Reader, log io.Writer) {
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		fmt.Fprintln(log, line)
		m := flushLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		rc, err := strconv.Atoi(m[3])
		if err != nil {
			rc = -1 // skipped-init-failed, unreadable: never delivered
		}
		attempt, _ := strconv.Atoi(m[2])
		a.mu.Lock()
		a.final[m[1]] = rc
		a.attempts[m[1]] = attempt
		switch rc {
		case rcOK:
			a.okCount++
		case rcRetry:
			a.retries = append(a.retries, time.Now())
		}
		close(a.changed)
		a.changed = make(chan struct{})
		a.mu.Unlock()
	}
}

// WaitOK waits until at least n chunks were answered ok.
func (a *agent) WaitOK(ctx context.Context, n int) error {
	for {
		a.mu.Lock()
		ok, changed := a.okCount, a.changed
		a.mu.Unlock()
		if ok >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d of %d chunks acknowledged when waiting ended: %w", ok, n, ctx.Err())
		case <-a.done:
			return fmt.Errorf("the test host exited with %d chunks acknowledged, waited for %d", ok, n)
		case <-changed:
		}
	}
}

// OK is the number of chunks answered ok so far.
func (a *agent) OK() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.okCount
}

// RetriesBetween counts the flushes answered retry in [from, to).
func (a *agent) RetriesBetween(from, to time.Time) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, t := range a.retries {
		if !t.Before(from) && t.Before(to) {
			n++
		}
	}
	return n
}

// Wait waits for the host to finish every chunk and exit.
func (a *agent) Wait(ctx context.Context) error {
	select {
	case <-a.done:
	case <-ctx.Done():
		a.cmd.Process.Kill()
		<-a.done
		return fmt.Errorf("the test host did not finish in time: %w", ctx.Err())
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.waitErr != nil {
		return fmt.Errorf("the test host: %w (log %s)", a.waitErr, a.spec.Log)
	}
	return nil
}

// Outcome is what the flushes answered in the end.
type outcome struct {
	sent      []string // ids of chunks answered ok: Kafka has them
	okChunks  int
	errChunks int // answered error (0): Fluent Bit drops them
	unacked   int // still retry after all retries, or never flushed
	attempts  int // flush calls in all
}

// Outcome sorts the chunks by their last answer; call it after Wait.
func (a *agent) Outcome() outcome {
	a.mu.Lock()
	defer a.mu.Unlock()
	var o outcome
	for _, c := range a.spec.Chunks {
		rc, seen := a.final[c.path]
		o.attempts += a.attempts[c.path]
		switch {
		case seen && rc == rcOK:
			o.okChunks++
			o.sent = append(o.sent, c.ids...)
		case seen && rc == rcError:
			o.errChunks++
		default:
			o.unacked++
		}
	}
	return o
}
