package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ferrylog/ferry/e2e/cluster"
)

// env is the system under test: the broker and the two services, built
// without the race detector, on loopback.
type env struct {
	brokers   string
	brokerPid int
	cluster   *cluster.Cluster
	ingester  *cluster.Process
	router    *cluster.Router
	outDir    string
	tokens    map[string]string // access key → token
}

// accessKey is the key of one scenario: one output file per scenario, so
// the follower sees only that scenario's lines.
func accessKey(s scenario) string { return "AK-bench-" + s.name }

func startEnv(dir string, scenarios []scenario) (*env, error) {
	root := cluster.RepoRoot()
	port := os.Getenv("FERRY_KAFKA_PORT")
	if port == "" {
		port = "19092"
	}
	e := &env{brokers: os.Getenv("FERRY_KAFKA_BROKERS"), tokens: map[string]string{}}
	if e.brokers == "" {
		e.brokers = "127.0.0.1:" + port
	}
	up := exec.Command(filepath.Join(root, "deploy", "kafka", "kafka.sh"), "up")
	up.Dir = root
	if out, err := up.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("deploy/kafka/kafka.sh up: %v\n%s", err, out)
	}
	pid, err := os.ReadFile(filepath.Join(root, ".cache", "kafka", "run-"+port, "kafka.pid"))
	if err == nil {
		e.brokerPid, _ = strconv.Atoi(strings.TrimSpace(string(pid)))
	}

	var cfg bytes.Buffer
	cfg.WriteString(`{"access_keys": {`)
	for i, s := range scenarios {
		if i > 0 {
			cfg.WriteString(",")
		}
		// Defaults as an agent gets them: max_batch_bytes 512 KiB, 8 in flight.
		fmt.Fprintf(&cfg, "\n  %q: {\"tenant\": \"bench\"}", accessKey(s))
	}
	cfg.WriteString("\n}}\n")
	if e.cluster, err = cluster.NewNoRace(dir, e.brokers, cfg.String()); err != nil {
		return nil, err
	}
	if e.ingester, err = e.cluster.StartIngester("--log-level", "warn", "--pprof"); err != nil {
		e.close()
		return nil, err
	}
	e.outDir = filepath.Join(dir, "out")
	if e.router, err = e.cluster.StartRouter("file", e.outDir, "--log-level", "warn", "--pprof"); err != nil {
		e.close()
		return nil, err
	}
	for _, s := range scenarios {
		tok, err := e.cluster.Token(accessKey(s), 2*time.Hour)
		if err != nil {
			e.close()
			return nil, err
		}
		e.tokens[accessKey(s)] = tok
	}
	return e, nil
}

// pids are the processes whose cost is reported; the agent is this process.
func (e *env) pids() map[string]int {
	m := map[string]int{"ingester": e.ingester.Pid(), "router": e.router.Pid(), "agent": 0}
	if e.brokerPid > 0 {
		m["broker"] = e.brokerPid
	}
	return m
}

func (e *env) close() {
	if e.cluster == nil {
		return
	}
	e.cluster.Close()
	if err := deleteTopics(e.brokers, e.cluster.Topic); err != nil {
		fmt.Fprintln(os.Stderr, "ferry-bench: cleanup:", err)
	}
}
