// Package ingestertest is a test double of the ingester: a real gRPC server
// on 127.0.0.1 that speaks ferry.ingest.v1 with scripted answers, for the
// plugin's unit and ABI tests, which must run without Kafka. It checks what
// the plugin must get right (bearer token, Hello first, increasing sequence
// numbers) and records what it received. The real-chain contract test
// against the real ingester runs in e2e.
package ingestertest

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"

	ingestv1 "github.com/ferrylog/ferry/proto/ferry/ingest/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Token is the bearer token a new Server accepts.
const Token = "test-token"

// State is the script and the record of a Server. Change it with Update,
// read it with Snapshot.
type State struct {
	// Token is the bearer token accepted.
	Token string
	// Config is GetConfig's answer and the first frame of every stream.
	Config *ingestv1.AgentConfig
	// GetConfigErr, when set, is GetConfig's answer.
	GetConfigErr error
	// Answer decides the ack of a batch; nil acks OK. Returning nil sends no
	// ack. It runs on a goroutine of its own, so it may block.
	Answer func(*ingestv1.Batch) *ingestv1.Ack

	// Batches holds every batch received, in arrival order.
	Batches []*ingestv1.Batch
	Hellos  []*ingestv1.Hello
	// MaxInFlight is the most batches one stream had unacked at once.
	MaxInFlight int
	// ClosedBySender counts streams the agent half-closed (a drain).
	ClosedBySender int
	Heartbeats     int
}

// Server is the running double.
type Server struct {
	ingestv1.UnimplementedIngestServer
	// Addr is host:port to dial.
	Addr string
	srv  *grpc.Server

	mu      sync.Mutex
	state   State
	streams map[*stream]bool
}

type stream struct {
	sendMu   sync.Mutex
	ended    bool // set when the handler returned: gRPC forbids Send after that
	server   ingestv1.Ingest_StreamServer
	kill     chan error
	inFlight int
}

func (s *stream) send(f *ingestv1.IngesterFrame) error {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	if s.ended {
		return io.EOF
	}
	return s.server.Send(f)
}

// Start serves on addr ("" picks a free port on 127.0.0.1) until the test ends.
func Start(t testing.TB, addr string) *Server {
	t.Helper()
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{
		Addr: lis.Addr().String(),
		srv:  grpc.NewServer(),
		state: State{
			Token:  Token,
			Config: &ingestv1.AgentConfig{Tenant: "t1", AccessKey: "key-1", Version: 1, MaxBatchBytes: 1 << 20, MaxBatchesInFlight: 16},
		},
		streams: map[*stream]bool{},
	}
	ingestv1.RegisterIngestServer(s.srv, s)
	go s.srv.Serve(lis)
	t.Cleanup(s.srv.Stop)
	return s
}

// Update changes the script under the server's lock.
func (s *Server) Update(fn func(*State)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(&s.state)
}

// Snapshot returns a copy of the state.
func (s *Server) Snapshot() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.state
	st.Batches = append([]*ingestv1.Batch(nil), st.Batches...)
	st.Hellos = append([]*ingestv1.Hello(nil), st.Hellos...)
	return st
}

// Received returns the batches received so far.
func (s *Server) Received() []*ingestv1.Batch { return s.Snapshot().Batches }

// Push sends a frame on every open stream and returns how many there were.
func (s *Server) Push(frame *ingestv1.IngesterFrame) int {
	s.mu.Lock()
	var open []*stream
	for st := range s.streams {
		open = append(open, st)
	}
	s.mu.Unlock()
	for _, st := range open {
		st.send(frame)
	}
	return len(open)
}

// BreakStreams ends every open stream with err.
func (s *Server) BreakStreams(err error) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	for st := range s.streams {
		st.kill <- err
	}
	return len(s.streams)
}

// OpenStreams counts the streams open now.
func (s *Server) OpenStreams() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.streams)
}

func (s *Server) authorize(ctx context.Context) error {
	md, _ := metadata.FromIncomingContext(ctx)
	s.mu.Lock()
	want := "Bearer " + s.state.Token
	s.mu.Unlock()
	if got := md.Get("authorization"); len(got) != 1 || got[0] != want {
		return status.Error(codes.Unauthenticated, "bad token")
	}
	return nil
}

// GetConfig implements ingestv1.IngestServer.
func (s *Server) GetConfig(ctx context.Context, req *ingestv1.GetConfigRequest) (*ingestv1.AgentConfig, error) {
	if err := s.authorize(ctx); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state.GetConfigErr != nil {
		return nil, s.state.GetConfigErr
	}
	if req.AccessKey != s.state.Config.AccessKey {
		return nil, status.Error(codes.PermissionDenied, "token for another key")
	}
	return s.state.Config, nil
}

// Stream implements ingestv1.IngestServer.
func (s *Server) Stream(server ingestv1.Ingest_StreamServer) error {
	if err := s.authorize(server.Context()); err != nil {
		return err
	}
	first, err := server.Recv()
	if err != nil {
		return err
	}
	hello := first.GetHello()
	if hello == nil {
		return status.Error(codes.InvalidArgument, "the first frame must be Hello")
	}
	st := &stream{server: server, kill: make(chan error, 1)}
	s.mu.Lock()
	s.state.Hellos = append(s.state.Hellos, hello)
	s.streams[st] = true
	cfg := s.state.Config
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.streams, st)
		s.mu.Unlock()
		st.sendMu.Lock()
		st.ended = true
		st.sendMu.Unlock()
	}()
	if err := st.send(&ingestv1.IngesterFrame{Frame: &ingestv1.IngesterFrame_Config{Config: cfg}}); err != nil {
		return err
	}

	frames := make(chan *ingestv1.AgentFrame)
	recvErr := make(chan error, 1)
	go func() {
		for {
			fr, err := server.Recv()
			if err != nil {
				recvErr <- err
				return
			}
			select {
			case frames <- fr:
			case <-server.Context().Done():
				return
			}
		}
	}()
	var lastSeq uint64
	for {
		select {
		case err := <-st.kill:
			return err
		case err := <-recvErr:
			if errors.Is(err, io.EOF) {
				s.Update(func(state *State) { state.ClosedBySender++ })
				return nil
			}
			return err
		case fr := <-frames:
			if fr.GetHeartbeat() != nil {
				s.Update(func(state *State) { state.Heartbeats++ })
				continue
			}
			b := fr.GetBatch()
			if b == nil {
				return status.Error(codes.InvalidArgument, "want a Batch frame")
			}
			if b.Sequence <= lastSeq {
				return status.Errorf(codes.InvalidArgument, "sequence %d after %d", b.Sequence, lastSeq)
			}
			lastSeq = b.Sequence
			s.mu.Lock()
			s.state.Batches = append(s.state.Batches, b)
			st.inFlight++
			s.state.MaxInFlight = max(s.state.MaxInFlight, st.inFlight)
			answer := s.state.Answer
			s.mu.Unlock()
			go s.acknowledge(st, b, answer)
		}
	}
}

func (s *Server) acknowledge(st *stream, b *ingestv1.Batch, answer func(*ingestv1.Batch) *ingestv1.Ack) {
	ack := &ingestv1.Ack{Result: ingestv1.AckResult_ACK_RESULT_OK, BatchId: b.BatchId}
	if answer != nil {
		ack = answer(b)
	}
	if ack == nil {
		return
	}
	ack.Sequence = b.Sequence
	s.mu.Lock()
	st.inFlight--
	s.mu.Unlock()
	st.send(&ingestv1.IngesterFrame{Frame: &ingestv1.IngesterFrame_Ack{Ack: ack}})
}
