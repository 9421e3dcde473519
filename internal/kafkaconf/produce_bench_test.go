package kafkaconf

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/IBM/sarama"
)

// BenchmarkProduce sends records of a sealed batch's size (500 events of
// 256 bytes compress to about 40 KiB) with the ingester's producer
// configuration to the real broker, keeping as many in flight as 4 agents
// with 8 batches each. It skips without FERRY_KAFKA_BROKERS.
func BenchmarkProduce(b *testing.B) {
	env := os.Getenv("FERRY_KAFKA_BROKERS")
	if env == "" {
		b.Skip("FERRY_KAFKA_BROKERS is not set; start a broker (make kafka-up) and export it")
	}
	brokers, err := ParseBrokers(env)
	if err != nil {
		b.Fatal(err)
	}
	for _, size := range []int{40 << 10, 160 << 10} {
		b.Run(fmt.Sprintf("value=%dKiB", size>>10), func(b *testing.B) {
			benchProduce(b, brokers, size, 32)
		})
	}
}

func benchProduce(b *testing.B, brokers []string, size, inFlight int) {
	client, err := sarama.NewClient(brokers, Producer("ferry-bench-produce"))
	if err != nil {
		b.Fatal(err)
	}
	defer client.Close()
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		b.Fatal(err)
	}
	suffix := make([]byte, 4)
	rand.Read(suffix)
	topic := "ferry.bench.produce." + hex.EncodeToString(suffix)
	if err := EnsureTopic(admin, topic, 3, 1); err != nil {
		b.Fatal(err)
	}
	defer admin.DeleteTopic(topic)
	producer, err := sarama.NewAsyncProducerFromClient(client)
	if err != nil {
		b.Fatal(err)
	}
	value := make([]byte, size)
	rand.Read(value) // sealed values are ciphertext: random to the broker
	window := make(chan struct{}, inFlight)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case _, ok := <-producer.Successes():
				if !ok {
					return
				}
			case perr, ok := <-producer.Errors():
				if !ok {
					return
				}
				b.Error(perr.Err)
			}
			<-window
		}
	}()
	keys := []sarama.StringEncoder{"bench/a", "bench/b", "bench/c", "bench/d"}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	start := time.Now()
	for i := 0; b.Loop(); i++ {
		window <- struct{}{}
		producer.Input() <- &sarama.ProducerMessage{Topic: topic, Key: keys[i%len(keys)], Value: sarama.ByteEncoder(value)}
	}
	for range inFlight {
		window <- struct{}{} // every record acked
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "records/s")
	producer.AsyncClose()
	<-done
}
