package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/ferrylog/ferry/internal/crypto"
	"github.com/ferrylog/ferry/internal/kafkaconf"
	"github.com/ferrylog/ferry/internal/record"
	"github.com/ferrylog/ferry/internal/token"
	ingestv1 "github.com/ferrylog/ferry/proto/ferry/ingest/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// BenchmarkIngestPath runs the whole ingester in this process (gRPC server,
// token check, seal, sarama producer with acks=all) against the real broker
// and drives it closed loop from 4 streams with 8 batches in flight each,
// 500 events of 256 bytes per batch. It exists to be profiled:
//
//	go test -run XXX -bench IngestPath -benchtime 2000x -cpuprofile cpu.out ./internal/app
//
// The services expose no pprof endpoint, so this is where their hot path
// can be seen. The client side runs in the same process; read the profile
// under ingest.(*session) and kafka.(*Producer) for the server's share.
func BenchmarkIngestPath(b *testing.B) {
	env := os.Getenv("FERRY_KAFKA_BROKERS")
	if env == "" {
		b.Skip("FERRY_KAFKA_BROKERS is not set; start a broker (make kafka-up) and export it")
	}
	for _, codec := range []record.Codec{record.CodecZstd, record.CodecLZ4} {
		b.Run(string(codec), func(b *testing.B) { benchIngest(b, env, codec) })
	}
}

func benchIngest(b *testing.B, brokers string, codec record.Codec) {
	dir := b.TempDir()
	ln, hl := freeAddrB(b), freeAddrB(b)
	cfg := APIConfig{
		Listen: ln, HTTPListen: hl, Insecure: true,
		ConfigFile: filepath.Join(dir, "ferry.json"), KeyringFile: filepath.Join(dir, "keyring.json"),
		TokenKeysFile: filepath.Join(dir, "token-keys.json"), Brokers: []string{brokers},
		Topic: "ferry.bench." + randomSuffix(), TopicPartitions: 3, Replication: 1,
		Compression: codec, MaxInFlightBytes: 256 << 20, ShutdownGrace: 10 * time.Second, ConfigReload: time.Second,
	}
	must(b, os.WriteFile(cfg.ConfigFile, []byte(`{"access_keys": {"AK-bench": {"tenant": "bench"}}}`), 0o644))
	must(b, crypto.GenerateKeyringFile(cfg.KeyringFile))
	must(b, token.GenerateKeySetFile(cfg.TokenKeysFile, "", token.AlgHS256, time.Now()))
	keys, err := token.LoadKeySet(cfg.TokenKeysFile)
	must(b, err)
	raw, err := keys.Issue("AK-bench", token.ScopeAgent, time.Hour, time.Now())
	must(b, err)

	ctx, cancel := context.WithCancel(context.Background())
	exited := make(chan error, 1)
	go func() { exited <- RunAPI(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard) }()
	defer func() {
		cancel()
		<-exited
		// The run writes hundreds of MB to the shared broker: drop them.
		if admin, err := sarama.NewClusterAdmin(cfg.Brokers, kafkaconf.Producer("ferry-bench-cleanup")); err == nil {
			admin.DeleteTopic(cfg.Topic)
			admin.Close()
		}
	}()
	ti := &testIngester{cfg: cfg}
	waitReadyB(b, ti)

	conn, err := grpc.NewClient(cfg.Listen, grpc.WithTransportCredentials(insecure.NewCredentials()))
	must(b, err)
	defer conn.Close()
	client := ingestv1.NewIngestClient(conn)
	const agents, window, events = 4, 8, 500
	batches := benchBatches(32, events)

	b.ReportAllocs()
	b.ResetTimer()
	var wg sync.WaitGroup
	perAgent := b.N / agents
	for a := range agents {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stream, err := openStream(withToken(context.Background(), raw), client, raw, "AK-bench")
			if err != nil {
				b.Error(err)
				return
			}
			slots := make(chan struct{}, window)
			acks := make(chan error, 1)
			go func() {
				for got := 0; got < perAgent; {
					f, err := stream.Recv()
					if err != nil {
						acks <- err
						return
					}
					if a := f.GetAck(); a != nil {
						got++
						<-slots
						if a.Result != ingestv1.AckResult_ACK_RESULT_OK {
							acks <- fmt.Errorf("ack %v: %s", a.Result, a.Reason)
							return
						}
					}
				}
				acks <- nil
			}()
			for i := range perAgent {
				slots <- struct{}{}
				batch := batches[(a*perAgent+i)%len(batches)]
				frame := &ingestv1.AgentFrame{Frame: &ingestv1.AgentFrame_Batch{Batch: &ingestv1.Batch{Sequence: uint64(i + 1), Tag: "bench", Events: batch}}}
				if err := stream.Send(frame); err != nil {
					b.Error(err)
					return
				}
			}
			if err := <-acks; err != nil {
				b.Error(err)
			}
			stream.CloseSend()
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(perAgent*agents*events)/b.Elapsed().Seconds(), "events/s")
}

// benchBatches makes n batches of access-log-like events of 256 bytes with
// random ids, so compression works as hard as on real logs.
func benchBatches(n, events int) [][]*ingestv1.Event {
	r := rand.New(rand.NewPCG(3, 4))
	out := make([][]*ingestv1.Event, n)
	for i := range out {
		for j := range events {
			body := fmt.Appendf(nil, `{"level":"info","host":"web-%02d","path":"/api/v1/orders/%d","status":%d,"duration_ms":%.2f,"trace_id":"%016x","msg":"request served upstream cache miss retry`,
				r.IntN(40), r.IntN(100000), 200+100*r.IntN(4), r.ExpFloat64()*25, r.Uint64())
			for len(body) < 254 {
				body = append(body, " order placed"...)
			}
			body = append(body[:254], `"}`...)
			out[i] = append(out[i], &ingestv1.Event{TimeUnixNano: time.Now().UnixNano() + int64(j), Body: body})
		}
	}
	return out
}

func freeAddrB(b *testing.B) string {
	l, err := netListen()
	must(b, err)
	defer l.Close()
	return l.Addr().String()
}

func waitReadyB(b *testing.B, ti *testIngester) {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if ready(ti.cfg.HTTPListen) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.Fatal("ingester not ready within 60 s")
}

func must(b *testing.B, err error) {
	b.Helper()
	if err != nil {
		b.Fatal(err)
	}
}
func netListen() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }

// ready reports whether /readyz answers 200.
func ready(httpAddr string) bool {
	resp, err := http.Get("http://" + httpAddr + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
