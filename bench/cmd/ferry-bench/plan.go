package main

import "time"

// kind says which path a scenario measures.
type kind string

const (
	kindFerry kind = "ferry" // agents → ingester → Kafka → router
	// baseline (a): a bare sarama producer writing the same batches with the
	// same acks and compression (Kafka's zstd): the ratio's denominator.
	kindSarama kind = "sarama"
	// baseline (a'): the same producer replaying records Ferry sealed
	// before the clock started: how fast the broker takes the bytes.
	kindSaramaPresealed kind = "sarama-presealed"
	// baseline (a''): the same producer sealing each record inline: the Kafka
	// hop plus compression and encryption, without gRPC and the services.
	kindSaramaSeal kind = "sarama+seal"
	kindPerEvent   kind = "per-event"  // baseline (b): stream per flush, message per event
	kindFluentBit  kind = "fluent-bit" // baseline (c): Fluent Bit's out_kafka
	kindWarmup     kind = "warm-up"    // run, not reported: JIT and page cache
	// The ingest hop alone: the router is paused (SIGSTOP) while the load
	// runs and resumed for the drain, so the ingester and the broker have
	// the CPU the sarama baseline has. Kept under the consumer group's 20 s
	// session timeout so the pause causes no rebalance.
	kindIngestOnly kind = "ingest-only"
	kindPlugin     kind = "plugin" // the real out_ferry.so through the C test host (-plugin)
)

// isBaseline reports whether the scenario bypasses Ferry's services.
func (k kind) isBaseline() bool {
	switch k {
	case kindSarama, kindSaramaPresealed, kindSaramaSeal, kindFluentBit:
		return true
	}
	return false
}

// halfMax marks an open-loop rate of half the max measured earlier in the
// run for the same event size.
const halfMax = -1

type scenario struct {
	name     string
	kind     kind
	size     int     // event body bytes
	rate     float64 // events/s; 0 closed loop; halfMax
	duration time.Duration
}

// Bare sarama runs are short: at millions of events/s they write
// gigabytes to the broker's disk, and their rate settles within seconds.

// plan lists the scenarios in the order they run. Baselines run right
// before the Ferry runs they are compared with, so both see the same noise
// from the machine's other tenants as nearly as one run allows. The
// router-paused run comes after the latency runs: the backlog it leaves
// would otherwise be written during them and inflate their tails.
func plan(quick, withPlugin bool) []scenario {
	var out []scenario
	if quick {
		out = []scenario{
			{"warm-up", kindWarmup, 256, 0, 3 * time.Second},
			{"sarama-256", kindSarama, 256, 0, 5 * time.Second},
			{"sarama-presealed-256", kindSaramaPresealed, 256, 0, 4 * time.Second},
			{"sarama-seal-256", kindSaramaSeal, 256, 0, 5 * time.Second},
			{"max-256", kindFerry, 256, 0, 8 * time.Second},
			{"half-max-256", kindFerry, 256, halfMax, 7 * time.Second},
			{"ingest-only-256", kindIngestOnly, 256, 0, 6 * time.Second},
			{"per-event-256", kindPerEvent, 256, 0, 4 * time.Second},
			{"fluent-bit-256", kindFluentBit, 256, 0, 8 * time.Second},
		}
	} else {
		out = full()
	}
	if withPlugin {
		out = append(out, scenario{"plugin-256", kindPlugin, 256, 0, 60 * time.Second})
	}
	return out
}

func full() []scenario {
	return []scenario{
		{"warm-up", kindWarmup, 256, 0, 5 * time.Second},
		{"sarama-256", kindSarama, 256, 0, 8 * time.Second},
		{"sarama-presealed-256", kindSaramaPresealed, 256, 0, 6 * time.Second},
		{"sarama-seal-256", kindSaramaSeal, 256, 0, 10 * time.Second},
		{"max-256", kindFerry, 256, 0, 20 * time.Second},
		{"open-10k-256", kindFerry, 256, 10_000, 15 * time.Second},
		{"open-50k-256", kindFerry, 256, 50_000, 15 * time.Second},
		{"half-max-256", kindFerry, 256, halfMax, 15 * time.Second},
		{"ingest-only-256", kindIngestOnly, 256, 0, 12 * time.Second},
		{"sarama-1k", kindSarama, 1024, 0, 8 * time.Second},
		{"sarama-presealed-1k", kindSaramaPresealed, 1024, 0, 6 * time.Second},
		{"sarama-seal-1k", kindSaramaSeal, 1024, 0, 10 * time.Second},
		{"max-1k", kindFerry, 1024, 0, 20 * time.Second},
		{"open-10k-1k", kindFerry, 1024, 10_000, 15 * time.Second},
		{"half-max-1k", kindFerry, 1024, halfMax, 15 * time.Second},
		{"per-event-256", kindPerEvent, 256, 0, 10 * time.Second},
		{"fluent-bit-256", kindFluentBit, 256, 0, 15 * time.Second},
	}
}
