// Package metrics holds the ingester's Prometheus metrics. Their names and
// meanings are documented in the README's "Metrics" section.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Ingester metrics. Labels are bounded: result and code come from fixed
// sets; tenants are few per install.
type Ingester struct {
	Registry *prometheus.Registry

	Batches        *prometheus.CounterVec // result=ok|retry|rejected
	Events         *prometheus.CounterVec // tenant
	Bytes          *prometheus.CounterVec // tenant; serialized batch bytes accepted
	StreamsOpen    prometheus.Gauge
	AuthFailures   *prometheus.CounterVec // code
	AckSeconds     prometheus.Histogram   // batch received → ack sent
	ProduceSeconds prometheus.Histogram   // record handed to sarama → acks=all
	InFlightBytes  prometheus.Gauge
	KafkaReady     prometheus.Gauge
}

// NewIngester registers every metric on a fresh registry.
func NewIngester() *Ingester {
	latency := prometheus.ExponentialBuckets(0.0005, 2, 16) // 0.5 ms .. 16 s
	m := &Ingester{
		Registry: prometheus.NewRegistry(),
		Batches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ferry_ingester_batches_total", Help: "Batches answered, by result (ok = Kafka acknowledged with acks=all).",
		}, []string{"result"}),
		Events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ferry_ingester_events_total", Help: "Events acknowledged after Kafka stored them.",
		}, []string{"tenant"}),
		Bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ferry_ingester_batch_bytes_total", Help: "Serialized batch bytes acknowledged after Kafka stored them.",
		}, []string{"tenant"}),
		StreamsOpen: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ferry_ingester_streams_open", Help: "Agent streams open now.",
		}),
		AuthFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ferry_ingester_auth_failures_total", Help: "Calls and streams refused at authentication, by gRPC code.",
		}, []string{"code"}),
		AckSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "ferry_ingester_ack_seconds", Help: "Time from receiving a batch to sending its ack.", Buckets: latency,
		}),
		ProduceSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "ferry_ingester_produce_seconds", Help: "Time from handing a record to the producer to Kafka's acks=all.", Buckets: latency,
		}),
		InFlightBytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ferry_ingester_inflight_bytes", Help: "Bytes of batches received and not yet acknowledged.",
		}),
		KafkaReady: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ferry_ingester_kafka_ready", Help: "1 when the producer can reach Kafka.",
		}),
	}
	m.Registry.MustRegister(m.Batches, m.Events, m.Bytes, m.StreamsOpen, m.AuthFailures, m.AckSeconds,
		m.ProduceSeconds, m.InFlightBytes, m.KafkaReady,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
