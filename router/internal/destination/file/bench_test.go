package file

import (
	"context"
	"fmt"
	"testing"

	ingestv1 "github.com/ferrylog/ferry/proto/ferry/ingest/v1"
	"github.com/ferrylog/ferry/router/internal/destination"
)

// BenchmarkWriteGroup writes a group like the consumer's largest: 64 batches
// of 100 events over 4 access keys, with the fsyncs.
func BenchmarkWriteGroup(b *testing.B) {
	d, err := New(Config{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	var group []*destination.Batch
	events := 0
	for i := range 64 {
		var evs []*ingestv1.Event
		for j := range 100 {
			evs = append(evs, &ingestv1.Event{TimeUnixNano: int64(i*100 + j), Body: fmt.Appendf(nil, `{"level":"info","msg":"request served","path":"/api/v1/items/%d","status":200,"duration_ms":12.5}`, j)})
		}
		group = append(group, batch(fmt.Sprintf("AK-%d", i%4), "host", "app.log", evs...))
		events += len(evs)
	}
	var bytes int64
	b.ReportAllocs()
	for b.Loop() {
		n, err := d.Write(context.Background(), group)
		if err != nil {
			b.Fatal(err)
		}
		bytes = n
	}
	b.SetBytes(bytes)
	b.ReportMetric(float64(events*b.N)/b.Elapsed().Seconds(), "events/s")
}
