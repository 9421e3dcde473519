package dlq

import (
	"fmt"

	"github.com/IBM/sarama"
)

// Header names added to a dead-lettered record, next to its original headers.
const (
	HeaderReason      = "ferry.dlq.reason"
	HeaderDestination = "ferry.dlq.destination"
	HeaderSource      = "ferry.dlq.source" // topic/partition/offset of the original record
	HeaderError       = "ferry.dlq.error"  // the error text, for the operator reading the DLQ
)

// Producer writes undeliverable records to the dead-letter topic.
type Producer struct {
	producer    sarama.SyncProducer
	topic       string
	destination string
}

// NewProducer sends to topic for the named destination. The producer should
// be idempotent with acks=all (kafkaconf.Producer): a dead-lettered record is
// marked as consumed only after the DLQ write is acknowledged.
func NewProducer(p sarama.SyncProducer, topic, destination string) *Producer {
	return &Producer{producer: p, topic: topic, destination: destination}
}

// Send copies msg to the dead-letter topic with the reason headers. An error
// is transient (Kafka unavailable): the caller retries and does not mark msg.
func (p *Producer) Send(msg *sarama.ConsumerMessage, reason Reason, cause error) error {
	_, _, err := p.producer.SendMessage(Message(msg, p.topic, p.destination, reason, cause))
	if err != nil {
		return fmt.Errorf("write to dead-letter topic %s: %w", p.topic, err)
	}
	return nil
}

// Message builds the dead-letter record: same key and value, the original
// headers, then the ferry.dlq.* headers.
func Message(msg *sarama.ConsumerMessage, topic, destination string, reason Reason, cause error) *sarama.ProducerMessage {
	headers := make([]sarama.RecordHeader, 0, len(msg.Headers)+4)
	for _, h := range msg.Headers {
		if h != nil {
			headers = append(headers, *h)
		}
	}
	add := func(k, v string) { headers = append(headers, sarama.RecordHeader{Key: []byte(k), Value: []byte(v)}) }
	add(HeaderReason, string(reason))
	add(HeaderDestination, destination)
	add(HeaderSource, fmt.Sprintf("%s/%d/%d", msg.Topic, msg.Partition, msg.Offset))
	if cause != nil {
		add(HeaderError, cause.Error())
	}
	out := &sarama.ProducerMessage{Topic: topic, Headers: headers, Value: sarama.ByteEncoder(msg.Value)}
	if msg.Key != nil {
		out.Key = sarama.ByteEncoder(msg.Key)
	}
	return out
}

// Close flushes and closes the underlying producer.
func (p *Producer) Close() error { return p.producer.Close() }
