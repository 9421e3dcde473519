package dlq

import (
	"errors"
	"fmt"

	"github.com/IBM/sarama"
)

// Header names added to a dead-lettered record, next to its original headers.
const (
	HeaderReason      = "ferry.dlq.reason"
	HeaderDestination = "ferry.dlq.destination"
	HeaderSource      = "ferry.dlq.source" // topic/partition/offset of the original record
	HeaderError       = "ferry.dlq.error"  // the error text, for the operator reading the DLQ
	// HeaderValueDropped is set when the original value was too large to copy.
	HeaderValueDropped = "ferry.dlq.value_dropped"
)

// maxErrorHeader bounds the error text copied into a header.
const maxErrorHeader = 1024

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
	out := Message(msg, p.topic, p.destination, reason, cause)
	_, _, err := p.producer.SendMessage(out)
	if tooLarge(err) {
		// The added headers can push a record that just fit the events
		// topic over the limit. Retrying cannot help and would stall the
		// partition: keep the headers and say the value was dropped.
		out.Value = nil
		out.Headers = append(out.Headers, sarama.RecordHeader{Key: []byte(HeaderValueDropped), Value: fmt.Appendf(nil, "the %d-byte value did not fit the dead-letter topic", len(msg.Value))})
		_, _, err = p.producer.SendMessage(out)
	}
	if err != nil {
		return fmt.Errorf("write to dead-letter topic %s: %w", p.topic, err)
	}
	return nil
}

func tooLarge(err error) bool {
	var cfgErr sarama.ConfigurationError // the client's own size check
	return err != nil && (errors.Is(err, sarama.ErrMessageSizeTooLarge) || errors.As(err, &cfgErr))
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
		text := cause.Error()
		if len(text) > maxErrorHeader {
			text = text[:maxErrorHeader]
		}
		add(HeaderError, text)
	}
	out := &sarama.ProducerMessage{Topic: topic, Headers: headers, Value: sarama.ByteEncoder(msg.Value)}
	if msg.Key != nil {
		out.Key = sarama.ByteEncoder(msg.Key)
	}
	return out
}

// Close flushes and closes the underlying producer.
func (p *Producer) Close() error { return p.producer.Close() }
