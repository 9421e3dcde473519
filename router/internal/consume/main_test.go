package consume_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when a test leaves goroutines behind: a
// consumer that does not stop cleanly would hold partitions in production.
func TestMain(m *testing.M) {
	// go-metrics (sarama's metrics) starts one process-wide ticker on first
	// use and never stops it by design.
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/rcrowley/go-metrics.(*meterArbiter).tick"))
}
