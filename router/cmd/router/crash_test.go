package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/ferrylog/ferry/internal/crypto"
	"github.com/ferrylog/ferry/internal/kafkaconf"
	"github.com/ferrylog/ferry/internal/record"
	ingestv1 "github.com/ferrylog/ferry/proto/ferry/ingest/v1"
	recordv1 "github.com/ferrylog/ferry/proto/ferry/record/v1"
)

// Shape of the crash test's stream.
const (
	crashAgents    = 4
	crashSteps     = 600 // one batch per agent per step: about a minute of production
	crashPerBatch  = 20
	crashStepEvery = 100 * time.Millisecond
	crashResendGap = 5 // every 7th step re-sends the batches of 5 steps before
	crashMaxKills  = 5
	// A killed member stays in the group until its session times out
	// (20s), so each restart waits about that long for partitions.
	crashKillPhase = 80 * time.Second
)

// TestSIGKILLNeverDuplicatesOrLosesEvents runs the real router on a stream of
// batches that includes re-sent duplicates (the same sealed record, and the
// same batch re-sealed as an ingester does on a Fluent Bit retry), kills it
// with SIGKILL at random moments while it writes, restarts it, and finally
// checks that every event is in the files exactly once.
func TestSIGKILLNeverDuplicatesOrLosesEvents(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts the router for about two minutes")
	}
	brokers, brokerList, dir, keyringPath, kr, topic := setupBinaryTest(t)

	out := filepath.Join(dir, "out")
	r := &crashRouter{t: t, bin: buildRouter(t), args: []string{"consumer", "--kafka-brokers", brokers,
		"--topic", topic, "--dlq-topic", topic + ".dlq", "--destination", "crash-" + strings.TrimPrefix(topic, "ferry.test."),
		"--file-dir", out, "--keyring", keyringPath, "--log-format", "json", "--log-level", "debug", "--shutdown-grace", "20s"}}
	defer r.kill()

	producer, err := sarama.NewSyncProducer(brokerList, kafkaconf.Producer("ferry-router-crash-producer"))
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()
	stream := newCrashStream(t, kr, topic)
	var wg sync.WaitGroup
	produced := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		produced <- stream.produce(producer)
	}()
	defer wg.Wait()

	// Kill phase: start, wait until the session is up and a little more
	// (random), SIGKILL, repeat.
	kills := 0
	for began := time.Now(); kills < crashMaxKills && time.Since(began) < crashKillPhase; kills++ {
		r.start()
		if !r.waitReady(40 * time.Second) {
			break // the phase ran out while joining; the final run finishes
		}
		// The backlog of the rejoin wait drains right after the session
		// starts: kill early to land in the middle of large groups.
		time.Sleep(time.Duration(mrand.Int64N(int64(600 * time.Millisecond))))
		r.kill()
	}
	if err := <-produced; err != nil {
		t.Fatal(err)
	}

	// Final run: a sentinel batch on each partition, after everything else,
	// tells when every record (re-sends included) was handled.
	if err := stream.sendSentinels(brokerList); err != nil {
		t.Fatal(err)
	}
	r.start()
	want := stream.events()
	deadline := time.Now().Add(90 * time.Second)
	for countLines(t, out) < want+2 || !sentinelsArrived(t, out) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d lines after the final run's deadline; last stderr:\n%s", countLines(t, out), want+2, r.tail())
		}
		time.Sleep(200 * time.Millisecond)
	}
	_, metrics := get("http://" + r.addr + "/metrics")
	r.stop()

	seen := map[string]int{}
	files, _ := filepath.Glob(filepath.Join(out, "*.log"))
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if len(data) > 0 && data[len(data)-1] != '\n' {
			t.Errorf("%s ends with a torn line", filepath.Base(path))
		}
		for i, l := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
			var line struct {
				BatchID string `json:"batch_id"`
				Record  struct {
					Agent string `json:"agent"`
					N     int    `json:"n"`
				} `json:"record"`
			}
			if err := json.Unmarshal([]byte(l), &line); err != nil || line.BatchID == "" {
				t.Fatalf("%s line %d is not a whole event line (%v): %q", filepath.Base(path), i+1, err, l)
			}
			if line.Record.Agent != "sentinel" {
				seen[fmt.Sprintf("%s/%d", line.Record.Agent, line.Record.N)]++
			}
		}
	}
	dups, missing := 0, 0
	for a := range crashAgents {
		for n := range crashSteps * crashPerBatch {
			switch c := seen[fmt.Sprintf("agent-%d/%d", a, n)]; {
			case c == 0:
				missing++
			case c > 1:
				dups += c - 1
			}
		}
	}
	t.Logf("%d kills; %d events expected, %d lines (2 sentinels), %d duplicated, %d missing; %d batches re-sent; duplicates dropped over all runs: %d (final run's metric %s); unconfirmed tails cut after kills: %d",
		kills, want, countLines(t, out), dups, missing, stream.resent, r.logCount("duplicate batch dropped"),
		grepValue(metrics, "ferry_router_duplicates_dropped_total"), r.logCount("cut unconfirmed lines"))
	if dups != 0 || missing != 0 || len(seen) != want {
		t.Fatalf("%d duplicated and %d missing events (of %d)", dups, missing, want)
	}
	if kills < 3 {
		t.Errorf("only %d kills happened: the test did not exercise recovery enough", kills)
	}
}

// crashPadding makes events log-sized, so a group takes a while to write.
var crashPadding = strings.Repeat("the quick brown fox jumps over the lazy dog ", 5)

// crashStream produces the test's batches at a steady pace, with re-sends.
type crashStream struct {
	t      *testing.T
	sealer *record.Sealer
	topic  string
	sent   []*sarama.ProducerMessage // by step*crashAgents+agent
	plain  []*recordv1.StoredBatch
	resent int
}

func newCrashStream(t *testing.T, kr *crypto.Keyring, topic string) *crashStream {
	return &crashStream{t: t, sealer: record.NewSealer(kr, record.CodecLZ4), topic: topic}
}

func (s *crashStream) events() int { return crashAgents * crashSteps * crashPerBatch }

func (s *crashStream) seal(b *recordv1.StoredBatch) (*sarama.ProducerMessage, error) {
	value, meta, err := s.sealer.Seal(b)
	if err != nil {
		return nil, err
	}
	return &sarama.ProducerMessage{Topic: s.topic, Key: sarama.ByteEncoder(record.Key(b.Tenant, b.AgentId)),
		Value: sarama.ByteEncoder(value), Headers: meta.Headers()}, nil
}

func (s *crashStream) produce(p sarama.SyncProducer) error {
	for step := range crashSteps {
		var msgs []*sarama.ProducerMessage
		for a := range crashAgents {
			agent := fmt.Sprintf("agent-%d", a)
			b := &recordv1.StoredBatch{Tenant: "acme", AccessKey: fmt.Sprintf("AK-%d", a%2), AgentId: agent,
				BatchId: fmt.Sprintf("%s-1-%d", agent, step), StreamEpoch: 1, Sequence: uint64(step), Tag: "crash"}
			for i := range crashPerBatch {
				n := step*crashPerBatch + i
				b.Events = append(b.Events, &ingestv1.Event{TimeUnixNano: int64(n), Body: fmt.Appendf(nil, `{"agent":%q,"n":%d,"msg":%q}`, agent, n, crashPadding)})
			}
			m, err := s.seal(b)
			if err != nil {
				return err
			}
			s.sent, s.plain = append(s.sent, m), append(s.plain, b)
			msgs = append(msgs, m)
		}
		if step%7 == 6 {
			for a := range crashAgents {
				i := (step-crashResendGap)*crashAgents + a
				m := s.sent[i]
				if a%2 == 0 { // the same record again
					m = &sarama.ProducerMessage{Topic: m.Topic, Key: m.Key, Value: m.Value, Headers: m.Headers}
				} else { // the same batch sealed again, as on a Fluent Bit retry
					var err error
					if m, err = s.seal(s.plain[i]); err != nil {
						return err
					}
				}
				msgs = append(msgs, m)
				s.resent++
			}
		}
		if err := p.SendMessages(msgs); err != nil {
			return err
		}
		time.Sleep(crashStepEvery)
	}
	return nil
}

// sendSentinels sends one batch to each partition of the topic, after the
// stream: once both are in the files, every record before them was handled.
func (s *crashStream) sendSentinels(brokers []string) error {
	cfg := kafkaconf.Producer("ferry-router-crash-sentinel")
	cfg.Producer.Partitioner = sarama.NewManualPartitioner
	p, err := sarama.NewSyncProducer(brokers, cfg)
	if err != nil {
		return err
	}
	defer p.Close()
	for part := range int32(2) {
		b := &recordv1.StoredBatch{Tenant: "acme", AccessKey: "AK-sentinel", AgentId: "sentinel",
			BatchId: fmt.Sprintf("sentinel-1-%d", part), Tag: "crash",
			Events: []*ingestv1.Event{{Body: fmt.Appendf(nil, `{"agent":"sentinel","n":%d}`, part)}}}
		m, err := s.seal(b)
		if err != nil {
			return err
		}
		m.Partition = part
		if _, _, err := p.SendMessage(m); err != nil {
			return err
		}
	}
	return nil
}

func sentinelsArrived(t *testing.T, dir string) bool {
	data, _ := os.ReadFile(filepath.Join(dir, "AK-sentinel.log"))
	return bytes.Count(data, []byte("\n")) >= 2
}

// crashRouter runs the router binary, one process at a time.
type crashRouter struct {
	t      *testing.T
	bin    string
	args   []string
	addr   string
	cmd    *exec.Cmd
	stderr *bytes.Buffer
	logs   []string // stderr of earlier runs
}

func (r *crashRouter) start() {
	r.addr = freePort(r.t)
	r.cmd = exec.Command(r.bin, append(r.args, "--http-listen", r.addr)...)
	r.stderr = &bytes.Buffer{}
	r.cmd.Stderr = r.stderr
	if err := r.cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
}

func (r *crashRouter) waitReady(timeout time.Duration) bool {
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if code, _ := get("http://" + r.addr + "/readyz"); code == http.StatusOK {
			return true
		}
	}
	return false
}

func (r *crashRouter) kill() {
	if r.cmd == nil {
		return
	}
	r.cmd.Process.Signal(syscall.SIGKILL)
	r.cmd.Wait()
	r.logs = append(r.logs, r.stderr.String())
	r.cmd = nil
}

func (r *crashRouter) stop() {
	r.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- r.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			r.t.Errorf("exit after SIGTERM: %v; stderr:\n%s", err, r.tail())
		}
	case <-time.After(25 * time.Second):
		r.t.Errorf("no exit 25s after SIGTERM")
		r.cmd.Process.Kill()
		<-done
	}
	r.logs = append(r.logs, r.stderr.String())
	r.cmd = nil
}

func (r *crashRouter) tail() string {
	s := r.stderr.String()
	return s[max(len(s)-4000, 0):]
}

func (r *crashRouter) logCount(msg string) int {
	n := 0
	for _, l := range r.logs {
		n += strings.Count(l, `"msg":"`+msg)
	}
	return n
}

func countLines(t *testing.T, dir string) int {
	files, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	n := 0
	for _, f := range files {
		data, _ := os.ReadFile(f)
		n += bytes.Count(data, []byte("\n"))
	}
	return n
}

func grepValue(metrics, name string) string {
	for _, l := range strings.Split(metrics, "\n") {
		if strings.HasPrefix(l, name) {
			return l[strings.LastIndexByte(l, ' ')+1:]
		}
	}
	return "?"
}
