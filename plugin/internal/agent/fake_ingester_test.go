package agent

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

// fakeIngester is a test double of the ingester: a real gRPC server on
// 127.0.0.1 that speaks the ingest.v1 protocol with scripted answers. It
// exists because these unit tests must not need Kafka; the real-chain
// contract test against the real ingester runs in e2e.
type fakeIngester struct {
	ingestv1.UnimplementedIngestServer
	addr string
	srv  *grpc.Server

	mu sync.Mutex
	// token is the bearer token it accepts.
	token string
	// config is answered by GetConfig and as the first frame of a stream.
	config *ingestv1.AgentConfig
	// getConfigErr, when set, is GetConfig's answer.
	getConfigErr error
	// answer decides the ack of a batch; nil means OK. Returning nil sends
	// no ack at all. It runs on its own goroutine, so it may sleep.
	answer func(*ingestv1.Batch) *ingestv1.Ack
	// batches is every batch received, in arrival order.
	batches []*ingestv1.Batch
	hellos  []*ingestv1.Hello
	streams map[*fakeStream]bool
	// inFlight counts batches received and not yet acked, per stream.
	maxInFlight int
	// closedBySender counts streams the agent half-closed (drain).
	closedBySender int
	heartbeats     int
}

type fakeStream struct {
	sendMu   sync.Mutex
	ended    bool // set when the handler returned: gRPC forbids Send after that
	stream   ingestv1.Ingest_StreamServer
	kill     chan error
	inFlight int
}

func (s *fakeStream) send(f *ingestv1.IngesterFrame) error {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	if s.ended {
		return io.EOF
	}
	return s.stream.Send(f)
}

func startFakeIngester(t *testing.T, addr string) *fakeIngester {
	t.Helper()
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeIngester{
		addr:    lis.Addr().String(),
		srv:     grpc.NewServer(),
		token:   "test-token",
		config:  &ingestv1.AgentConfig{Tenant: "t1", AccessKey: "key-1", Version: 1, MaxBatchBytes: 1 << 20, MaxBatchesInFlight: 16},
		streams: map[*fakeStream]bool{},
	}
	ingestv1.RegisterIngestServer(f.srv, f)
	go f.srv.Serve(lis)
	t.Cleanup(f.stop)
	return f
}

func (f *fakeIngester) stop() { f.srv.Stop() }

func (f *fakeIngester) authorize(ctx context.Context) error {
	md, _ := metadata.FromIncomingContext(ctx)
	f.mu.Lock()
	want := "Bearer " + f.token
	f.mu.Unlock()
	if got := md.Get("authorization"); len(got) != 1 || got[0] != want {
		return status.Error(codes.Unauthenticated, "bad token")
	}
	return nil
}

func (f *fakeIngester) GetConfig(ctx context.Context, req *ingestv1.GetConfigRequest) (*ingestv1.AgentConfig, error) {
	if err := f.authorize(ctx); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.getConfigErr != nil {
		return nil, f.getConfigErr
	}
	if req.AccessKey != f.config.AccessKey {
		return nil, status.Error(codes.PermissionDenied, "token for another key")
	}
	return f.config, nil
}

func (f *fakeIngester) Stream(stream ingestv1.Ingest_StreamServer) error {
	if err := f.authorize(stream.Context()); err != nil {
		return err
	}
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	hello := first.GetHello()
	if hello == nil {
		return status.Error(codes.InvalidArgument, "Hello first")
	}
	fs := &fakeStream{stream: stream, kill: make(chan error, 1)}
	f.mu.Lock()
	f.hellos = append(f.hellos, hello)
	f.streams[fs] = true
	cfg := f.config
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		delete(f.streams, fs)
		f.mu.Unlock()
		fs.sendMu.Lock()
		fs.ended = true
		fs.sendMu.Unlock()
	}()
	if err := fs.send(&ingestv1.IngesterFrame{Frame: &ingestv1.IngesterFrame_Config{Config: cfg}}); err != nil {
		return err
	}

	frames := make(chan *ingestv1.AgentFrame)
	recvErr := make(chan error, 1)
	go func() {
		for {
			fr, err := stream.Recv()
			if err != nil {
				recvErr <- err
				return
			}
			select {
			case frames <- fr:
			case <-stream.Context().Done():
				return
			}
		}
	}()
	var lastSeq uint64
	for {
		select {
		case err := <-fs.kill:
			return err
		case err := <-recvErr:
			if errors.Is(err, io.EOF) {
				f.mu.Lock()
				f.closedBySender++
				f.mu.Unlock()
				return nil
			}
			return err
		case fr := <-frames:
			if fr.GetHeartbeat() != nil {
				f.mu.Lock()
				f.heartbeats++
				f.mu.Unlock()
				continue
			}
			b := fr.GetBatch()
			if b == nil {
				return status.Error(codes.InvalidArgument, "want Batch")
			}
			if b.Sequence <= lastSeq {
				return status.Errorf(codes.InvalidArgument, "sequence %d after %d", b.Sequence, lastSeq)
			}
			lastSeq = b.Sequence
			f.mu.Lock()
			f.batches = append(f.batches, b)
			fs.inFlight++
			f.maxInFlight = max(f.maxInFlight, fs.inFlight)
			answer := f.answer
			f.mu.Unlock()
			go func() {
				ack := &ingestv1.Ack{Sequence: b.Sequence, Result: ingestv1.AckResult_ACK_RESULT_OK, BatchId: b.BatchId}
				if answer != nil {
					ack = answer(b)
				}
				if ack == nil {
					return
				}
				ack.Sequence = b.Sequence
				f.mu.Lock()
				fs.inFlight--
				f.mu.Unlock()
				fs.send(&ingestv1.IngesterFrame{Frame: &ingestv1.IngesterFrame_Ack{Ack: ack}})
			}()
		}
	}
}

// push sends a frame on every open stream.
func (f *fakeIngester) push(frame *ingestv1.IngesterFrame) int {
	f.mu.Lock()
	var open []*fakeStream
	for s := range f.streams {
		open = append(open, s)
	}
	f.mu.Unlock()
	for _, s := range open {
		s.send(frame)
	}
	return len(open)
}

// breakStreams ends every open stream with err.
func (f *fakeIngester) breakStreams(err error) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	for s := range f.streams {
		s.kill <- err
	}
	return len(f.streams)
}

func (f *fakeIngester) openStreams() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.streams)
}

func (f *fakeIngester) received() []*ingestv1.Batch {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*ingestv1.Batch(nil), f.batches...)
}

func (f *fakeIngester) helloCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.hellos)
}

func (f *fakeIngester) set(fn func(f *fakeIngester)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}
