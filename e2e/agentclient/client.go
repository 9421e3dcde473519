// Package agentclient is a minimal Go client of the ferry.ingest.v1
// protocol for tests and load generation: it speaks to the ingester
// exactly as the Fluent Bit plugin does (bearer token, Hello, pipelined
// Batch frames, one Ack per sequence), without Fluent Bit.
package agentclient

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	ingestv1 "github.com/ferrylog/ferry/proto/ferry/ingest/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
)

// Stream is one agent stream with acks delivered per sequence number.
type Stream struct {
	conn    *grpc.ClientConn
	stream  ingestv1.Ingest_StreamClient
	Config  *ingestv1.AgentConfig
	sendMu  sync.Mutex
	mu      sync.Mutex
	waiters map[uint64]chan *ingestv1.Ack
	err     error
	done    chan struct{}
	seq     uint64
}

// Open dials addr (plaintext), opens the stream and sends Hello.
func Open(ctx context.Context, addr, token, accessKey, agentID string) (*Stream, error) {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	stream, err := ingestv1.NewIngestClient(conn).Stream(ctx)
	if err != nil {
		conn.Close()
		return nil, err
	}
	hello := &ingestv1.Hello{AgentId: agentID, Hostname: agentID, AccessKey: accessKey, PluginVersion: "agentclient", StreamEpoch: uint64(time.Now().UnixNano())}
	if err := stream.Send(&ingestv1.AgentFrame{Frame: &ingestv1.AgentFrame_Hello{Hello: hello}}); err != nil && err != io.EOF {
		conn.Close()
		return nil, err
	}
	first, err := stream.Recv()
	if err != nil {
		conn.Close()
		return nil, err
	}
	if first.GetConfig() == nil {
		conn.Close()
		return nil, fmt.Errorf("first frame from the ingester is %T, want Config", first.Frame)
	}
	s := &Stream{conn: conn, stream: stream, Config: first.GetConfig(), waiters: map[uint64]chan *ingestv1.Ack{}, done: make(chan struct{})}
	go s.receive()
	return s, nil
}

func (s *Stream) receive() {
	defer close(s.done)
	for {
		f, err := s.stream.Recv()
		if err != nil {
			s.mu.Lock()
			s.err = err
			for seq, w := range s.waiters {
				close(w)
				delete(s.waiters, seq)
			}
			s.mu.Unlock()
			return
		}
		if ack := f.GetAck(); ack != nil {
			s.mu.Lock()
			w := s.waiters[ack.Sequence]
			delete(s.waiters, ack.Sequence)
			s.mu.Unlock()
			if w != nil {
				w <- ack
			}
		}
	}
}

// Send sends one batch and returns a channel that yields its ack (closed
// without a value when the stream ended first).
func (s *Stream) Send(b *ingestv1.Batch) (<-chan *ingestv1.Ack, error) {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	s.seq++
	b.Sequence = s.seq
	w := make(chan *ingestv1.Ack, 1)
	s.mu.Lock()
	if s.err != nil {
		s.mu.Unlock()
		return nil, s.err
	}
	s.waiters[b.Sequence] = w
	s.mu.Unlock()
	if err := s.stream.Send(&ingestv1.AgentFrame{Frame: &ingestv1.AgentFrame_Batch{Batch: b}}); err != nil {
		return nil, err
	}
	return w, nil
}

// Err is the error that ended the stream, if it ended.
func (s *Stream) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Close half-closes the stream, waits (bounded) for the ingester to end it,
// and closes the connection.
func (s *Stream) Close() {
	s.sendMu.Lock()
	s.stream.CloseSend()
	s.sendMu.Unlock()
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
	}
	s.conn.Close()
}
