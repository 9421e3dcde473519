package baseline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/IBM/sarama"
	"github.com/ferrylog/ferry/bench/internal/load"
	"github.com/ferrylog/ferry/internal/kafkaconf"
)

// ErrNoFluentBit is returned (as the skip reason) when fluent-bit is not
// on PATH.
var ErrNoFluentBit = errors.New("fluent-bit not on PATH")

// FluentBitSpec is a run of Fluent Bit's out_kafka straight to the broker.
type FluentBitSpec struct {
	Brokers  string
	Topic    string
	Pool     [][]byte
	Duration time.Duration
	Dir      string // for the config and the input file
}

// RunFluentBit runs fluent-bit with the tail input reading a file of the
// pool's events and out_kafka writing one record per event with acks=all
// and idempotence, then counts the records in the topic. Only throughput
// is measured: Fluent Bit reports no per-record ack latency.
func RunFluentBit(ctx context.Context, s FluentBitSpec) (*load.Result, error) {
	bin, err := exec.LookPath("fluent-bit")
	if err != nil {
		return nil, ErrNoFluentBit
	}
	input := filepath.Join(s.Dir, "fluentbit-input.jsonl")
	// Enough lines that the file outlasts the run at several 100k events/s.
	f, err := os.Create(input)
	if err != nil {
		return nil, err
	}
	for i := range 2_000_000 {
		f.Write(s.Pool[i%len(s.Pool)])
		f.Write([]byte{'\n'})
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	conf := filepath.Join(s.Dir, "fluentbit-kafka.conf")
	cfg := fmt.Sprintf(`[SERVICE]
    flush     1
    log_level warn
[INPUT]
    name           tail
    path           %s
    read_from_head true
    parser         json
[OUTPUT]
    name    kafka
    match   *
    brokers %s
    topics  %s
    rdkafka.request.required.acks -1
    rdkafka.enable.idempotence    true
`, input, s.Brokers, s.Topic)
	if err := os.WriteFile(conf, []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	res := load.NewResult()
	ctx, cancel := context.WithTimeout(ctx, s.Duration)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-c", conf)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	_ = cmd.Run() // ends at the deadline
	n, err := countRecords(strings.Split(s.Brokers, ","), s.Topic)
	if err != nil {
		return nil, err
	}
	res.OKEvents.Add(n)
	res.OKBatches.Add(n)
	res.OKBytes.Add(n * int64(len(s.Pool[0])))
	res.Acked(res.Start.Add(s.Duration))
	return res, nil
}

func countRecords(brokers []string, topic string) (int64, error) {
	client, err := sarama.NewClient(brokers, kafkaconf.Consumer("ferry-bench-count"))
	if err != nil {
		return 0, err
	}
	defer client.Close()
	parts, err := client.Partitions(topic)
	if err != nil {
		return 0, err
	}
	var n int64
	for _, p := range parts {
		off, err := client.GetOffset(topic, p, sarama.OffsetNewest)
		if err != nil {
			return 0, err
		}
		n += off
	}
	return n, nil
}
