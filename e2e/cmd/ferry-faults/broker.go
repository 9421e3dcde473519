package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/ferrylog/ferry/e2e/cluster"
)

// broker is the suite's own Kafka node, run by deploy/kafka/kafka.sh on
// ports of its own: the faults stop, freeze and restart it, which must
// never touch the shared broker other tests use at the same time.
type broker struct {
	port, controllerPort int
	script               string
	runDir               string // kafka.sh's run-<port> folder: pid file and logs

	mu     sync.Mutex
	paused int // pid frozen with SIGSTOP, 0 when none
}

func newBroker(port, controllerPort int) *broker {
	root := cluster.RepoRoot()
	return &broker{
		port: port, controllerPort: controllerPort,
		script: filepath.Join(root, "deploy", "kafka", "kafka.sh"),
		runDir: filepath.Join(root, ".cache", "kafka", "run-"+strconv.Itoa(port)),
	}
}

// Addr is the bootstrap address clients use.
func (b *broker) Addr() string { return "127.0.0.1:" + strconv.Itoa(b.port) }

// kafka runs kafka.sh with this broker's ports. Its output goes to the
// suite's log only on failure: the scenario lines stay readable.
func (b *broker) kafka(ctx context.Context, verb string) error {
	cmd := exec.CommandContext(ctx, b.script, verb)
	cmd.Env = append(os.Environ(),
		"FERRY_KAFKA_PORT="+strconv.Itoa(b.port),
		"FERRY_KAFKA_CONTROLLER_PORT="+strconv.Itoa(b.controllerPort),
		// A clean stop takes a few seconds; a broker that hangs is killed
		// well inside a scenario's time limit.
		"FERRY_KAFKA_STOP_SECONDS=15")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("kafka.sh %s (port %d): %v\n%s", verb, b.port, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Reset stops the broker if it runs and deletes its data: every suite run
// starts from empty topics and consumer groups.
func (b *broker) Reset(ctx context.Context) error { return b.kafka(ctx, "reset") }

// Up starts the broker (keeping its data) and waits until it serves.
func (b *broker) Up(ctx context.Context) error { return b.kafka(ctx, "up") }

// Down stops the broker cleanly (SIGTERM; kafka.sh kills it if it hangs).
// A frozen broker is thawed first, or it could not handle SIGTERM.
func (b *broker) Down(ctx context.Context) error {
	b.Resume()
	return b.kafka(ctx, "down")
}

// pid is the broker's java process, from kafka.sh's pid file.
func (b *broker) pid() (int, error) {
	raw, err := os.ReadFile(filepath.Join(b.runDir, "kafka.pid"))
	if err != nil {
		return 0, fmt.Errorf("broker pid: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		return 0, fmt.Errorf("broker pid file: %w", err)
	}
	return pid, nil
}

// Pause freezes the broker with SIGSTOP: connections stay open and nothing
// is answered, which is how an overloaded or stalled broker looks to its
// clients (unlike a stop, which refuses connections at once).
func (b *broker) Pause() error {
	pid, err := b.pid()
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.paused != 0 {
		return errors.New("the broker is already paused")
	}
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		return fmt.Errorf("SIGSTOP the broker (pid %d): %w", pid, err)
	}
	b.paused = pid
	return nil
}

// Resume thaws a paused broker; it does nothing when none is paused, so
// every exit path may call it.
func (b *broker) Resume() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.paused != 0 {
		syscall.Kill(b.paused, syscall.SIGCONT)
		b.paused = 0
	}
}
