package msgpackchunk

import (
	"fmt"
	"testing"
	"time"
)

// benchChunk is a chunk of n records shaped like a Kubernetes container log.
func benchChunk(b *testing.B, n int) []byte {
	var chunk []byte
	var err error
	for i := 0; i < n; i++ {
		chunk, err = AppendRecord(chunk, time.Unix(1700000000, int64(i)), nil, map[string]any{
			"log":    fmt.Sprintf("2026-03-04T05:06:07Z INFO request served path=/api/v1/items/%d status=200 duration_ms=12", i),
			"stream": "stdout",
			"kubernetes": map[string]any{
				"pod_name": "web-7d9f8c6b5-x2x9q", "namespace_name": "shop", "container_name": "web",
				"labels": map[string]any{"app": "web", "tier": "frontend"},
			},
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	return chunk
}

func BenchmarkDecode(b *testing.B) {
	for _, n := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("records=%d", n), func(b *testing.B) {
			chunk := benchChunk(b, n)
			dec := NewDecoder(map[string]string{"env": "prod", "cluster": "eu-1"})
			evs := make([]Event, 0, n)
			b.SetBytes(int64(len(chunk)))
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if evs, err = dec.Decode(chunk, evs[:0]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/event")
		})
	}
}
