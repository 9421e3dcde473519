package record

import (
	"fmt"
	"math/rand/v2"
	"testing"

	ingestv1 "github.com/ferrylog/ferry/proto/ferry/ingest/v1"
	recordv1 "github.com/ferrylog/ferry/proto/ferry/record/v1"
	"google.golang.org/protobuf/proto"
)

// realisticBatch is a batch of n access-log events of about size bytes with
// random ids, so compression ratios are those of real logs rather than of
// sampleBatch's near-identical lines.
func realisticBatch(n, size int) *recordv1.StoredBatch {
	r := rand.New(rand.NewPCG(1, 2))
	b := &recordv1.StoredBatch{Tenant: "acme", AccessKey: "AK1", AgentId: "host-1", BatchId: "bench-0", Sequence: 1, Tag: "app.log"}
	words := []string{"request", "served", "upstream", "cache", "miss", "retry", "timeout", "order", "placed", "payment", "declined"}
	for i := range n {
		body := fmt.Appendf(nil, `{"level":"info","service":"svc-%d","host":"web-%02d","path":"/api/v1/orders/%d","status":%d,"duration_ms":%.2f,"trace_id":"%016x","msg":"`,
			r.IntN(8), r.IntN(40), r.IntN(100000), 200+r.IntN(4)*100, r.ExpFloat64()*25, r.Uint64())
		for len(body) < size-2 {
			body = append(body, words[r.IntN(len(words))]...)
			body = append(body, ' ')
		}
		body = append(body[:size-2], `"}`...)
		b.Events = append(b.Events, &ingestv1.Event{TimeUnixNano: int64(1_700_000_000_000_000_000 + i), Body: body})
	}
	return b
}

// BenchmarkBatchMarshal is the agent's encode of one Batch frame (500
// events of 256 bytes, a bench flush) and the ingester's re-encode of it as
// a StoredBatch, which Seal does before compressing.
func BenchmarkBatchMarshal(b *testing.B) {
	stored := realisticBatch(500, 256)
	frame := &ingestv1.AgentFrame{Frame: &ingestv1.AgentFrame_Batch{Batch: &ingestv1.Batch{Sequence: 1, Tag: stored.Tag, Events: stored.Events}}}
	for name, m := range map[string]proto.Message{"agent-frame": frame, "stored-batch": stored} {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(proto.Size(m)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := proto.Marshal(m); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*500), "ns/event")
		})
	}
}

// BenchmarkSealRealistic is the ingester's seal of one batch of realistic
// events (500 of 256 bytes), per codec.
func BenchmarkSealRealistic(b *testing.B) {
	kr := testKeyring(b)
	batch := realisticBatch(500, 256)
	size := proto.Size(batch)
	for _, c := range []Codec{CodecZstd, CodecLZ4, CodecSnappy, CodecNone} {
		b.Run(string(c), func(b *testing.B) {
			s := NewSealer(kr, c)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			var out int
			for b.Loop() {
				v, _, err := s.Seal(batch)
				if err != nil {
					b.Fatal(err)
				}
				out = len(v)
			}
			b.ReportMetric(float64(out)/float64(size), "ratio")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*500), "ns/event")
		})
	}
}

// BenchmarkOpen is the router's decrypt, decompress and decode of one
// record (500 events of 256 bytes), per codec.
func BenchmarkOpen(b *testing.B) {
	kr := testKeyring(b)
	batch := realisticBatch(500, 256)
	size := proto.Size(batch)
	for _, c := range []Codec{CodecZstd, CodecLZ4, CodecSnappy, CodecNone} {
		b.Run(string(c), func(b *testing.B) {
			value, meta, err := NewSealer(kr, c).Seal(batch)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Open(kr, meta, value); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*500), "ns/event")
		})
	}
}
