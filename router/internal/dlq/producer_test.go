package dlq

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/ferrylog/ferry/internal/kafkaconf"
)

// TestSendTooLargeKeepsHeaders runs against the real broker: a dead-letter
// topic whose max.message.bytes is smaller than the record gets the headers
// with the value dropped, instead of a retry loop that would stall the
// partition.
func TestSendTooLargeKeepsHeaders(t *testing.T) {
	raw := os.Getenv("FERRY_KAFKA_BROKERS")
	if raw == "" {
		raw = kafkaconf.DefaultBrokers
	}
	brokers, err := kafkaconf.ParseBrokers(raw)
	if err != nil {
		t.Fatal(err)
	}
	cfg := kafkaconf.Producer("ferry-router-dlq-test")
	client, err := sarama.NewClient(brokers, cfg)
	if err != nil {
		t.Skipf("Kafka at %s is unreachable (%v); start it with `bash deploy/kafka/kafka.sh up`", raw, err)
	}
	defer client.Close()
	suffix := make([]byte, 6)
	rand.Read(suffix)
	topic := "ferry.test.dlq." + hex.EncodeToString(suffix)
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		t.Fatal(err)
	}
	limit := "4000"
	if err := admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: 1, ConfigEntries: map[string]*string{"max.message.bytes": &limit}}, false); err != nil {
		t.Fatal(err)
	}
	defer admin.DeleteTopic(topic)

	sp, err := sarama.NewSyncProducerFromClient(client)
	if err != nil {
		t.Fatal(err)
	}
	p := NewProducer(sp, topic, "file")
	small := &sarama.ConsumerMessage{Topic: "ferry.events", Partition: 0, Offset: 1, Value: []byte("small")}
	big := &sarama.ConsumerMessage{Topic: "ferry.events", Partition: 0, Offset: 2, Value: bytes.Repeat([]byte{'x'}, 8000)}
	for _, m := range []*sarama.ConsumerMessage{small, big} {
		if err := p.Send(m, ReasonDecrypt, errors.New("record does not decrypt")); err != nil {
			t.Fatalf("Send(offset %d) = %v", m.Offset, err)
		}
	}

	c, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	pc, err := c.ConsumePartition(topic, 0, sarama.OffsetOldest)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	for _, want := range []struct {
		value   string
		dropped bool
	}{{"small", false}, {"", true}} {
		select {
		case m := <-pc.Messages():
			dropped := false
			for _, h := range m.Headers {
				dropped = dropped || string(h.Key) == HeaderValueDropped
			}
			if string(m.Value) != want.value || dropped != want.dropped {
				t.Errorf("offset %d: value of %d bytes, dropped header %v; want %q, %v", m.Offset, len(m.Value), dropped, want.value, want.dropped)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("dead-letter record missing")
		}
	}
}
