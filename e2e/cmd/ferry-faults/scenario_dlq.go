package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"time"

	"github.com/IBM/sarama"
	"github.com/ferrylog/ferry/internal/crypto"
	"github.com/ferrylog/ferry/internal/kafkaconf"
	"github.com/ferrylog/ferry/internal/record"
	ingestv1 "github.com/ferrylog/ferry/proto/ferry/ingest/v1"
	recordv1 "github.com/ferrylog/ferry/proto/ferry/record/v1"
)

// poison is a record no router can ever deliver, and the dead-letter
// reason it must get.
type poison struct {
	reason string
	value  []byte
	meta   record.Meta
	ids    []string
}

// poisonPerReason is how many records of each kind are produced.
const poisonPerReason = 2

// undeliverable: records that can never be delivered arrive between the
// agent's batches, in the same partition: tampered (decrypt_failed), sealed
// with a key the router does not have (unknown_key_id), and refused by the
// destination (an event body that is not JSON: not_json). Each must go to
// the dead-letter topic with its reason, be counted, and not hold up the
// records behind it.
func undeliverable(ctx context.Context, r *run) (tally, error) {
	a, rt, err := r.stream(ctx, defaultChunks)
	if err != nil {
		return tally{}, err
	}
	poisons, err := makePoison(r)
	if err != nil {
		return tally{}, err
	}
	if err := producePoison(r, poisons); err != nil {
		return tally{}, err
	}
	r.note("%d undeliverable records produced between the agent's batches after %d chunks were acknowledged", len(poisons), a.OK())
	// The agent's later events reaching the file proves the consumer moved
	// on past the poison; the dead letters are checked while the router runs.
	sent, err := r.awaitDelivery(ctx, a, rt)
	if err != nil {
		return tally{}, err
	}
	r.checkDeadLetters(ctx, rt, poisons)
	return r.finish(ctx, sent, rt), nil
}

// makePoison builds the records with the real sealer, so everything but the
// one defect is what an ingester writes.
func makePoison(r *run) ([]poison, error) {
	keyring, err := crypto.LoadKeyring(r.c.Keyring)
	if err != nil {
		return nil, err
	}
	rogueKey := make([]byte, 32)
	rand.Read(rogueKey)
	rogue, err := crypto.NewKeyring("rogue-2026", map[string][]byte{"rogue-2026": rogueKey})
	if err != nil {
		return nil, err
	}
	var out []poison
	for i := range poisonPerReason {
		for _, reason := range []string{"decrypt_failed", "unknown_key_id", "not_json"} {
			p := poison{reason: reason}
			batch := &recordv1.StoredBatch{
				Tenant: "faults", AccessKey: accessKey, AgentId: "host-" + r.name,
				BatchId: fmt.Sprintf("poison-%s-%d", reason, i), Tag: "app.faults",
				ReceivedUnixNano: time.Now().UnixNano(),
			}
			for e := range 5 {
				id := fmt.Sprintf("%s-poison-%s-%d-e%d", r.name, reason, i, e)
				p.ids = append(p.ids, id)
				body := fmt.Sprintf(`{"id":%q,"msg":"must never be written"}`, id)
				if reason == "not_json" && e == 2 {
					body = fmt.Sprintf(`id=%s this line is not JSON`, id)
				}
				batch.Events = append(batch.Events, &ingestv1.Event{TimeUnixNano: time.Now().UnixNano(), Body: []byte(body)})
			}
			sealWith := keyring
			if reason == "unknown_key_id" {
				sealWith = rogue
			}
			if p.value, p.meta, err = record.NewSealer(sealWith, record.CodecZstd).Seal(batch); err != nil {
				return nil, err
			}
			if reason == "decrypt_failed" {
				p.value[len(p.value)-1] ^= 0x55 // the GCM tag no longer matches
			}
			out = append(out, p)
		}
	}
	return out, nil
}

// producePoison writes the records with the agent's record key, so they sit
// in the partition of the agent's batches, between them.
func producePoison(r *run, poisons []poison) error {
	brokers, err := kafkaconf.ParseBrokers(r.c.Brokers)
	if err != nil {
		return err
	}
	producer, err := sarama.NewSyncProducer(brokers, kafkaconf.Producer("ferry-faults-poison"))
	if err != nil {
		return fmt.Errorf("connect a producer: %w", err)
	}
	defer producer.Close()
	for _, p := range poisons {
		_, _, err := producer.SendMessage(&sarama.ProducerMessage{
			Topic: r.c.Topic, Key: sarama.ByteEncoder(record.Key("faults", "host-"+r.name)),
			Value: sarama.ByteEncoder(p.value), Headers: p.meta.Headers(),
		})
		if err != nil {
			return fmt.Errorf("produce a poison record: %w", err)
		}
	}
	return nil
}

// checkDeadLetters compares the dead-letter topic, the router's counter
// and the files with the poison produced.
func (r *run) checkDeadLetters(ctx context.Context, rt *router, poisons []poison) {
	want := map[string]int{}
	for _, p := range poisons {
		want[p.reason]++
	}
	for reason, n := range want {
		got, err := r.routerMetric(ctx, rt, "ferry_router_dead_lettered_total", map[string]string{"reason": reason})
		r.expect(err == nil && int(got) == n, "ferry_router_dead_lettered_total{reason=%q} = %v, want %d (%v)", reason, got, n, err)
	}
	got, err := readDeadLetters(ctx, r.c.Brokers, r.c.DLQTopic)
	if err != nil {
		r.fail("read the dead-letter topic: %v", err)
		return
	}
	byReason := map[string]int{}
	for _, h := range got {
		byReason[h["ferry.dlq.reason"]]++
		r.expect(h["ferry.dlq.destination"] == rt.dest, "a dead letter names destination %q, want %q", h["ferry.dlq.destination"], rt.dest)
		r.expect(strings.HasPrefix(h["ferry.dlq.source"], r.c.Topic+"/"), "a dead letter's source is %q", h["ferry.dlq.source"])
		r.expect(h["ferry.dlq.error"] != "", "a dead letter (%s) carries no error text", h["ferry.dlq.reason"])
	}
	for reason, n := range want {
		r.expect(byReason[reason] == n, "%d dead letters with reason %s, want %d", byReason[reason], reason, n)
	}
	r.expect(len(got) == len(poisons), "%d records in the dead-letter topic, want %d", len(got), len(poisons))
	files, err := countDir(rt.dir)
	if err == nil {
		written := 0
		for _, p := range poisons {
			for _, id := range p.ids {
				written += files.ids[id]
			}
		}
		r.expect(written == 0, "%d events of undeliverable records were written", written)
	}
	r.note("dead-letter topic: %d records (%v), counted by reason in ferry_router_dead_lettered_total", len(got), byReason)
}

// readDeadLetters reads every record of the dead-letter topic and returns
// their headers.
func readDeadLetters(ctx context.Context, brokers, topic string) ([]map[string]string, error) {
	list, err := kafkaconf.ParseBrokers(brokers)
	if err != nil {
		return nil, err
	}
	consumer, err := sarama.NewConsumer(list, kafkaconf.Consumer("ferry-faults-dlq"))
	if err != nil {
		return nil, err
	}
	defer consumer.Close()
	partitions, err := consumer.Partitions(topic)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	var out []map[string]string
	for _, p := range partitions {
		pc, err := consumer.ConsumePartition(topic, p, sarama.OffsetOldest)
		if err != nil {
			return nil, err
		}
		for pc.HighWaterMarkOffset() > 0 {
			var msg *sarama.ConsumerMessage
			select {
			case msg = <-pc.Messages():
			case <-ctx.Done():
				pc.Close()
				return nil, fmt.Errorf("partition %d: %w", p, ctx.Err())
			}
			h := map[string]string{}
			for _, rh := range msg.Headers {
				h[string(rh.Key)] = string(rh.Value)
			}
			out = append(out, h)
			if msg.Offset+1 >= pc.HighWaterMarkOffset() {
				break
			}
		}
		pc.Close()
	}
	return out, nil
}
