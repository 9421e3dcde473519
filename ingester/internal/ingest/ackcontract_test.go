package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/ferrylog/ferry/ingester/internal/auth"
	"github.com/ferrylog/ferry/ingester/internal/metrics"
	"github.com/ferrylog/ferry/internal/configstore"
	"github.com/ferrylog/ferry/internal/crypto"
	"github.com/ferrylog/ferry/internal/record"
	"github.com/ferrylog/ferry/internal/token"
	ingestv1 "github.com/ferrylog/ferry/proto/ferry/ingest/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
)

// heldProducer is a test double of the Kafka producer (the real one is
// exercised against the real broker in internal/app and e2e): it holds each
// record until the test decides what Kafka answered, so the test can see
// that no ack leaves before that answer.
type heldProducer struct{ records chan heldRecord }

type heldRecord struct {
	msg  *sarama.ProducerMessage
	done func(error)
}

func (p *heldProducer) Produce(msg *sarama.ProducerMessage, done func(error)) {
	p.records <- heldRecord{msg, done}
}

func (p *heldProducer) Ready() (bool, string) { return true, "" }

// TestAckOnlyAfterKafkaAnswered is the delivery guarantee at the ingester:
// a batch is acked OK only once Kafka acknowledged its record, and RETRY
// when Kafka failed it.
func TestAckOnlyAfterKafkaAnswered(t *testing.T) {
	dir := t.TempDir()
	if err := token.GenerateKeySetFile(filepath.Join(dir, "keys.json"), "", token.AlgHS256, time.Now()); err != nil {
		t.Fatal(err)
	}
	keys, err := token.LoadKeySet(filepath.Join(dir, "keys.json"))
	if err != nil {
		t.Fatal(err)
	}
	snap, err := configstore.Parse([]byte(`{"AK-1": {"tenant": "acme"}}`), "test.json")
	if err != nil {
		t.Fatal(err)
	}
	kr, err := crypto.NewKeyring("k1", map[string][]byte{"k1": make([]byte, crypto.KeySize)})
	if err != nil {
		t.Fatal(err)
	}
	config := func() *configstore.Snapshot { return snap }
	authn := &auth.Authenticator{Keys: keys, Config: config, Now: time.Now}
	producer := &heldProducer{records: make(chan heldRecord, 4)}
	never := make(chan struct{})
	svc := NewService(Options{
		Config: config, ConfigChanged: func() <-chan struct{} { return never }, Auth: authn, Producer: producer,
		Sealer: record.NewSealer(kr, record.CodecZstd), Topic: "ferry.events", Metrics: metrics.NewIngester(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), MaxInFlightBytes: 1 << 20, DrainTimeout: time.Second,
	})
	server := grpc.NewServer(grpc.StreamInterceptor(authn.StreamInterceptor))
	ingestv1.RegisterIngestServer(server, svc)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go server.Serve(lis)
	defer server.Stop()

	raw, err := keys.Issue("AK-1", token.ScopeAgent, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+raw), 20*time.Second)
	defer cancel()
	stream, err := ingestv1.NewIngestClient(conn).Stream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stream.Send(&ingestv1.AgentFrame{Frame: &ingestv1.AgentFrame_Hello{Hello: &ingestv1.Hello{AgentId: "agent-1"}}})
	frames := make(chan *ingestv1.IngesterFrame, 8)
	go func() {
		for {
			f, err := stream.Recv()
			if err != nil {
				close(frames)
				return
			}
			frames <- f
		}
	}()
	if f := <-frames; f.GetConfig() == nil {
		t.Fatalf("first frame = %v, want Config", f)
	}

	send := func(seq uint64) heldRecord {
		t.Helper()
		batch := &ingestv1.Batch{Sequence: seq, Tag: "app", BatchId: fmt.Sprintf("b-%d", seq),
			Events: []*ingestv1.Event{{TimeUnixNano: 1, Body: []byte(`{"tenant":"forged","msg":"x"}`)}}}
		if err := stream.Send(&ingestv1.AgentFrame{Frame: &ingestv1.AgentFrame_Batch{Batch: batch}}); err != nil {
			t.Fatal(err)
		}
		select {
		case r := <-producer.records:
			return r
		case <-time.After(5 * time.Second):
			t.Fatal("the batch never reached the producer")
		}
		return heldRecord{}
	}
	noAckFor := func(d time.Duration) {
		t.Helper()
		select {
		case f := <-frames:
			t.Fatalf("a frame left before Kafka answered: %v", f)
		case <-time.After(d):
		}
	}
	ack := func() *ingestv1.Ack {
		t.Helper()
		select {
		case f := <-frames:
			if f.GetAck() == nil {
				t.Fatalf("frame %v, want an Ack", f)
			}
			return f.GetAck()
		case <-time.After(5 * time.Second):
			t.Fatal("no ack after Kafka answered")
		}
		return nil
	}

	held := send(1)
	meta, err := record.MetaFromHeaders(pointers(held.msg.Headers))
	if err != nil {
		t.Fatal(err)
	}
	if meta.Tenant != "acme" || meta.AccessKey != "AK-1" || meta.AgentID != "agent-1" {
		t.Fatalf("record identity %+v, want the token's (acme, AK-1), never the payload's", meta)
	}
	noAckFor(300 * time.Millisecond)
	held.done(nil) // Kafka acknowledged with acks=all
	if a := ack(); a.Sequence != 1 || a.Result != ingestv1.AckResult_ACK_RESULT_OK {
		t.Fatalf("ack = %+v, want OK for sequence 1", a)
	}

	held = send(2)
	noAckFor(300 * time.Millisecond)
	held.done(errors.New("kafka: request timed out"))
	if a := ack(); a.Sequence != 2 || a.Result != ingestv1.AckResult_ACK_RESULT_RETRY || codes.Code(a.Code) != codes.Unavailable {
		t.Fatalf("ack = %+v, want RETRY/Unavailable for sequence 2", a)
	}
}

func pointers(h []sarama.RecordHeader) []*sarama.RecordHeader {
	out := make([]*sarama.RecordHeader, len(h))
	for i := range h {
		out[i] = &h[i]
	}
	return out
}
