package consume

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

type metrics struct {
	records         prometheus.Counter
	skipped         *prometheus.CounterVec
	eventsWritten   prometheus.Counter
	bytesWritten    prometheus.Counter
	deadLettered    *prometheus.CounterVec
	deadLetterError prometheus.Counter
	writeErrors     prometheus.Counter
	// duplicatesDropped counts batches not written because their id was
	// already written (or repeated within the group).
	duplicatesDropped prometheus.Counter
	writeSeconds      prometheus.Histogram
	lag               *prometheus.GaugeVec
	ready             prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer, destination string) *metrics {
	f := promauto.With(prometheus.WrapRegistererWith(prometheus.Labels{"destination": destination}, reg))
	return &metrics{
		records: f.NewCounter(prometheus.CounterOpts{
			Name: "ferry_router_records_total", Help: "Kafka records handled and marked (written, skipped or dead-lettered)."}),
		skipped: f.NewCounterVec(prometheus.CounterOpts{
			Name: "ferry_router_skipped_total", Help: "Records marked without writing, by reason."}, []string{"reason"}),
		eventsWritten: f.NewCounter(prometheus.CounterOpts{
			Name: "ferry_router_events_written_total", Help: "Events the destination confirmed durable."}),
		bytesWritten: f.NewCounter(prometheus.CounterOpts{
			Name: "ferry_router_bytes_written_total", Help: "Bytes the destination confirmed durable."}),
		deadLettered: f.NewCounterVec(prometheus.CounterOpts{
			Name: "ferry_router_dead_lettered_total", Help: "Records sent to the dead-letter topic, by reason."}, []string{"reason"}),
		deadLetterError: f.NewCounter(prometheus.CounterOpts{
			Name: "ferry_router_dead_letter_errors_total", Help: "Failed attempts to write to the dead-letter topic (retried)."}),
		writeErrors: f.NewCounter(prometheus.CounterOpts{
			Name: "ferry_router_write_errors_total", Help: "Failed destination writes (retried with backoff, not marked)."}),
		duplicatesDropped: f.NewCounter(prometheus.CounterOpts{
			Name: "ferry_router_duplicates_dropped_total", Help: "Batches dropped because the destination already wrote their batch id (marked, not written)."}),
		writeSeconds: f.NewHistogram(prometheus.HistogramOpts{
			Name: "ferry_router_write_seconds", Help: "Duration of destination writes of one group, including fsync.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}),
		lag: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ferry_router_consumer_lag", Help: "Records of the partition not yet durably written (high-water mark minus the oldest record not yet handled), updated every second."}, []string{"topic", "partition"}),
		ready: f.NewGauge(prometheus.GaugeOpts{
			Name: "ferry_router_ready", Help: "1 while a consumer group session is established."}),
	}
}

func partitionLabel(p int32) string { return strconv.FormatInt(int64(p), 10) }
