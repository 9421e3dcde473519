// Package baseline measures what Ferry is compared with in the same run:
// a bare sarama producer (the ceiling of the Kafka hop) and Fluent Bit's own
// out_kafka.
package baseline

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/ferrylog/ferry/bench/internal/load"
	"github.com/ferrylog/ferry/internal/crypto"
	"github.com/ferrylog/ferry/internal/kafkaconf"
	"github.com/ferrylog/ferry/internal/record"
	ingestv1 "github.com/ferrylog/ferry/proto/ferry/ingest/v1"
	recordv1 "github.com/ferrylog/ferry/proto/ferry/record/v1"
	"google.golang.org/protobuf/proto"
)

// SaramaSpec is a bare-producer run.
type SaramaSpec struct {
	Brokers    []string
	Topic      string // created with Partitions when missing
	Partitions int32
	Keyring    *crypto.Keyring
	// Agents and Window give the keys and the records in flight: the same
	// as the Ferry run it is compared with (Agents × Window batches).
	Agents, Window int
	BatchEvents    int
	Pool           [][]byte
	Duration       time.Duration
	Mode           SaramaMode
}

// SaramaMode says what the bare producer writes.
type SaramaMode int

const (
	// KafkaZstd writes each batch's clear serialized bytes and lets sarama
	// compress them with Kafka's zstd: the same events, the same acks and
	// compression, as a plain Kafka producer would send them. This is the
	// baseline ratio_vs_sarama is measured against.
	KafkaZstd SaramaMode = iota
	// Presealed replays records sealed before the clock started: how fast
	// the broker takes Ferry's bytes when nothing is computed.
	Presealed
	// SealInline seals every record in the produce loop (one goroutine per
	// agent, as the ingester seals on each stream's goroutine): the Kafka
	// hop plus compression and encryption, without gRPC and the services.
	SealInline
)

// sealed is one prepared record: what the ingester would produce.
type sealed struct {
	batch     *recordv1.StoredBatch
	value     []byte
	plain     []byte // the serialized batch before compression and encryption
	headers   []sarama.RecordHeader
	events    int64
	bodyBytes int64
}

// RunSarama produces sealed batch-sized records with the ingester's
// producer configuration (idempotent, acks=all, kafkaconf.Producer), closed
// loop, from one goroutine per agent keyed like that agent's batches.
func RunSarama(ctx context.Context, s SaramaSpec) (*load.Result, error) {
	records, err := prepare(s)
	if err != nil {
		return nil, err
	}
	cfg := kafkaconf.Producer("ferry-bench-sarama")
	if s.Mode == KafkaZstd {
		cfg.Producer.Compression = sarama.CompressionZSTD
	}
	client, err := sarama.NewClient(s.Brokers, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to Kafka: %w", err)
	}
	defer client.Close()
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		return nil, err
	}
	if err := kafkaconf.EnsureTopic(admin, s.Topic, s.Partitions, 1); err != nil {
		return nil, err
	}
	producer, err := sarama.NewAsyncProducerFromClient(client)
	if err != nil {
		return nil, err
	}
	res := load.NewResult()
	var wg sync.WaitGroup
	window := make(chan struct{}, s.Agents*s.Window)
	wg.Add(2)
	go func() {
		defer wg.Done()
		for msg := range producer.Successes() {
			now := time.Now()
			rec := msg.Metadata.(*meta)
			res.AckLatency.Record(now.Sub(rec.sent))
			res.OKEvents.Add(rec.events)
			res.OKBytes.Add(rec.bodyBytes)
			res.OKBatches.Add(1)
			res.Acked(now)
			<-window
		}
	}()
	go func() {
		defer wg.Done()
		for perr := range producer.Errors() {
			res.Fail(perr.Err)
			res.RetryBatches.Add(1)
			<-window
		}
	}()
	keys := make([]sarama.ByteEncoder, s.Agents)
	for i := range keys {
		keys[i] = record.Key("bench", fmt.Sprintf("sarama-agent-%d", i))
	}
	sealer := record.NewSealer(s.Keyring, record.CodecZstd)
	var senders sync.WaitGroup
	for a := range s.Agents {
		senders.Add(1)
		go func() {
			defer senders.Done()
			start := time.Now()
			for i := a; time.Since(start) < s.Duration && ctx.Err() == nil; i += s.Agents {
				r := records[i%len(records)]
				began := time.Now()
				value, headers := r.value, r.headers
				if s.Mode == KafkaZstd {
					value = r.plain
				}
				if s.Mode == SealInline {
					v, m, err := sealer.Seal(r.batch)
					if err != nil {
						res.Fail(err)
						return
					}
					value, headers = v, m.Headers()
				}
				window <- struct{}{}
				res.SentEvents.Add(r.events)
				producer.Input() <- &sarama.ProducerMessage{
					Topic: s.Topic, Key: keys[a], Value: sarama.ByteEncoder(value),
					Headers: headers, Metadata: &meta{sent: began, events: r.events, bodyBytes: r.bodyBytes},
				}
			}
		}()
	}
	senders.Wait()
	producer.AsyncClose() // flushes what is in flight
	wg.Wait()
	return res, nil
}

type meta struct {
	sent              time.Time
	events, bodyBytes int64
}

// prepare seals 32 distinct batches, as the ingester would, so the values
// have the sizes and entropy of real records.
func prepare(s SaramaSpec) ([]sealed, error) {
	sealer := record.NewSealer(s.Keyring, record.CodecZstd)
	out := make([]sealed, 32)
	next := 0
	for i := range out {
		b := &recordv1.StoredBatch{Tenant: "bench", AccessKey: "AK-bench-sarama", AgentId: "sarama-agent", Hostname: "sarama-agent",
			BatchId: fmt.Sprintf("sarama-%d", i), Sequence: uint64(i + 1), Tag: "bench.sarama", ReceivedUnixNano: time.Now().UnixNano()}
		var bytes int64
		for j := range s.BatchEvents {
			body := s.Pool[next]
			next = (next + 1) % len(s.Pool)
			b.Events = append(b.Events, &ingestv1.Event{TimeUnixNano: time.Now().UnixNano() + int64(j), Body: body})
			bytes += int64(len(body))
		}
		value, m, err := sealer.Seal(b)
		if err != nil {
			return nil, err
		}
		plain, err := proto.Marshal(b)
		if err != nil {
			return nil, err
		}
		out[i] = sealed{batch: b, value: value, plain: plain, headers: m.Headers(), events: int64(s.BatchEvents), bodyBytes: bytes}
	}
	return out, nil
}
