package ingest

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/ferrylog/ferry/ingester/internal/auth"
	"github.com/ferrylog/ferry/ingester/internal/metrics"
	"github.com/ferrylog/ferry/internal/configstore"
	"github.com/ferrylog/ferry/internal/record"
	ingestv1 "github.com/ferrylog/ferry/proto/ferry/ingest/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Producer is the part of the Kafka producer the service uses.
type Producer interface {
	Produce(msg *sarama.ProducerMessage, done func(error))
	Ready() (bool, string)
}

// Options configure a Service.
type Options struct {
	Config        func() *configstore.Snapshot
	ConfigChanged func() <-chan struct{}
	Auth          *auth.Authenticator
	Producer      Producer
	Sealer        *record.Sealer
	Topic         string
	Metrics       *metrics.Ingester
	Logger        *slog.Logger
	// MaxInFlightBytes bounds the batch bytes held awaiting Kafka's ack
	// across all streams.
	MaxInFlightBytes int64
	// PrintEvents, when set, receives every accepted event as a JSON line.
	PrintEvents io.Writer
	// HelloTimeout bounds the wait for a stream's first frame.
	HelloTimeout time.Duration
	// DrainTimeout bounds how long a closing stream waits for Kafka to
	// answer the batches it already produced.
	DrainTimeout time.Duration
	Now          func() time.Time
}

// Service implements ingestv1.IngestServer.
type Service struct {
	ingestv1.UnimplementedIngestServer
	opts    Options
	budget  *byteBudget
	drain   chan struct{}
	drainMu sync.Once
	printMu sync.Mutex
}

// NewService builds the service.
func NewService(opts Options) *Service {
	if opts.HelloTimeout == 0 {
		opts.HelloTimeout = 10 * time.Second
	}
	if opts.DrainTimeout == 0 {
		opts.DrainTimeout = 20 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Service{opts: opts, budget: &byteBudget{limit: opts.MaxInFlightBytes}, drain: make(chan struct{})}
}

// Drain asks every open stream to finish: no new batches are taken, the
// acks of batches already produced are sent, the agent is told to
// reconnect, and the stream ends. grpc.Server.GracefulStop then returns
// once every handler has.
func (s *Service) Drain() { s.drainMu.Do(func() { close(s.drain) }) }

// GetConfig answers the agent configuration of the token's access key.
func (s *Service) GetConfig(ctx context.Context, req *ingestv1.GetConfigRequest) (*ingestv1.AgentConfig, error) {
	id, ok := auth.FromContext(ctx)
	if !ok {
		return nil, status.Error(codes.Unauthenticated, "no verified identity on this call")
	}
	if req.GetAccessKey() != "" && req.GetAccessKey() != id.AccessKey {
		return nil, status.Errorf(codes.PermissionDenied, "this token was issued for access key %q, not %q; use the token issued for that key", id.AccessKey, req.GetAccessKey())
	}
	ak, ok := s.opts.Config().Lookup(id.AccessKey)
	if !ok {
		return nil, status.Errorf(codes.PermissionDenied, "access key %q is no longer configured", id.AccessKey)
	}
	return agentConfig(id.AccessKey, ak), nil
}

func agentConfig(key string, ak *configstore.AccessKey) *ingestv1.AgentConfig {
	return &ingestv1.AgentConfig{
		Tenant:             ak.Tenant,
		AccessKey:          key,
		Version:            ak.Version,
		MaxBatchBytes:      ak.MaxBatchBytes,
		MaxBatchesInFlight: int32(ak.MaxBatchesInFlight),
		FlushIntervalMs:    ak.FlushInterval.Milliseconds(),
		RetryMinBackoffMs:  ak.RetryMinBackoff.Milliseconds(),
		RetryMaxBackoffMs:  ak.RetryMaxBackoff.Milliseconds(),
		Labels:             ak.Labels,
	}
}

// printEvents writes accepted events as JSON lines (--print-events).
func (s *Service) printEvents(tenant, key, agent, tag string, events []*ingestv1.Event) {
	s.printMu.Lock()
	defer s.printMu.Unlock()
	enc := json.NewEncoder(s.opts.PrintEvents)
	for _, e := range events {
		enc.Encode(struct {
			Time      string          `json:"time"`
			Tenant    string          `json:"tenant"`
			AccessKey string          `json:"access_key"`
			AgentID   string          `json:"agent_id"`
			Tag       string          `json:"tag"`
			Record    json.RawMessage `json:"record"`
		}{time.Unix(0, e.TimeUnixNano).UTC().Format(time.RFC3339Nano), tenant, key, agent, tag, e.Body})
	}
}
