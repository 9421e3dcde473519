// Package kafkaconf builds the sarama configurations Ferry's services share,
// so the delivery guarantee (idempotent producer, acks=all; offsets marked
// only after a durable write) is set in one place.
package kafkaconf

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/IBM/sarama"
)

// Topic names.
const (
	EventsTopic     = "ferry.events"
	DeadLetterTopic = "ferry.dlq"
)

// DefaultBrokers matches deploy/kafka/kafka.sh's default port.
const DefaultBrokers = "127.0.0.1:19092"

// MaxRecordBytes is the largest record the producer sends. It stays under
// the broker's default message.max.bytes (1048588) with room for the batch
// framing around the record.
const MaxRecordBytes = 1_000_000

// kafkaVersion is the protocol version sarama speaks: Kafka 4.x brokers
// dropped the oldest protocol versions, and 3.x speaks what they keep.
var kafkaVersion = sarama.V3_9_0_0

// ParseBrokers splits a comma-separated broker list.
func ParseBrokers(s string) ([]string, error) {
	var out []string
	for _, b := range strings.Split(s, ",") {
		if b = strings.TrimSpace(b); b != "" {
			if !strings.Contains(b, ":") {
				return nil, fmt.Errorf("broker %q has no port; write host:port", b)
			}
			out = append(out, b)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no Kafka brokers given; pass host:port[,host:port]")
	}
	return out, nil
}

func base(clientID string) *sarama.Config {
	cfg := sarama.NewConfig()
	cfg.ClientID = clientID
	cfg.Version = kafkaVersion
	cfg.Net.DialTimeout = 5 * time.Second
	cfg.Metadata.Retry.Max = 5
	cfg.Metadata.Retry.Backoff = 500 * time.Millisecond
	return cfg
}

// Producer returns the configuration of the ingester's producer: idempotent,
// acks=all, and no Kafka-level compression because values arrive compressed
// and encrypted already. The idempotent producer allows one request in flight
// per broker; throughput comes from how many records one request carries.
func Producer(clientID string) *sarama.Config {
	cfg := base(clientID)
	cfg.Producer.Idempotent = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Net.MaxOpenRequests = 1
	cfg.Producer.Retry.Max = 10
	cfg.Producer.Retry.Backoff = 200 * time.Millisecond
	cfg.Producer.Return.Successes = true
	cfg.Producer.Return.Errors = true
	cfg.Producer.Compression = sarama.CompressionNone
	cfg.Producer.MaxMessageBytes = MaxRecordBytes
	cfg.Producer.Partitioner = sarama.NewHashPartitioner
	// No linger: a request leaves as soon as the previous one is answered, and
	// records that arrive meanwhile ride in it. Acks stay fast at low rates.
	cfg.Producer.Flush.Frequency = 0
	cfg.Producer.Flush.MaxMessages = 0
	cfg.Producer.Timeout = 10 * time.Second
	return cfg
}

// Consumer returns the configuration of a router's consumer group. Offsets
// are marked by the destination after its durable write and committed on an
// interval and at close; a new group starts at the oldest record so nothing
// written before the first start is skipped.
func Consumer(clientID string) *sarama.Config {
	cfg := base(clientID)
	cfg.Consumer.Return.Errors = true
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.Offsets.AutoCommit.Enable = true
	cfg.Consumer.Offsets.AutoCommit.Interval = time.Second
	cfg.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{sarama.NewBalanceStrategySticky()}
	cfg.Consumer.Group.Session.Timeout = 20 * time.Second
	cfg.Consumer.Group.Heartbeat.Interval = 3 * time.Second
	cfg.Consumer.Fetch.Default = 4 << 20
	cfg.Consumer.MaxProcessingTime = 5 * time.Second
	return cfg
}

// EnsureTopic creates topic with the given partitions when it does not
// exist. The error says what to do when the client may not create topics.
func EnsureTopic(admin sarama.ClusterAdmin, topic string, partitions int32, replication int16) error {
	topics, err := admin.ListTopics()
	if err != nil {
		return fmt.Errorf("list Kafka topics: %w", err)
	}
	if _, ok := topics[topic]; ok {
		return nil
	}
	err = admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: partitions, ReplicationFactor: replication}, false)
	var topicErr *sarama.TopicError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &topicErr) && topicErr.Err == sarama.ErrTopicAlreadyExists:
		return nil // another ingester created it first
	case errors.As(err, &topicErr) && (topicErr.Err == sarama.ErrTopicAuthorizationFailed || topicErr.Err == sarama.ErrClusterAuthorizationFailed):
		return fmt.Errorf("topic %s does not exist and this client may not create it; create it with %d partitions, or grant CREATE on it: %w", topic, partitions, err)
	default:
		return fmt.Errorf("create topic %s: %w", topic, err)
	}
}
