package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	"github.com/ferrylog/ferry/ingester/internal/auth"
	"github.com/ferrylog/ferry/internal/configstore"
	"github.com/ferrylog/ferry/internal/record"
	ingestv1 "github.com/ferrylog/ferry/proto/ferry/ingest/v1"
	recordv1 "github.com/ferrylog/ferry/proto/ferry/record/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// tokenWarning is how long before its token expires a stream is told so.
const tokenWarning = time.Minute

// session is the state of one agent stream.
type session struct {
	svc    *Service
	stream ingestv1.Ingest_StreamServer
	id     *auth.Identity
	hello  *ingestv1.Hello

	out      chan *ingestv1.IngesterFrame
	stopSend chan struct{} // closed when no more frames will be queued

	lastSeq       uint64
	configVersion int64
	inFlight      atomic.Int64
	pending       sync.WaitGroup
}

// Stream serves one agent's bidirectional stream.
func (s *Service) Stream(stream ingestv1.Ingest_StreamServer) error {
	id, ok := auth.FromContext(stream.Context())
	if !ok {
		return status.Error(codes.Unauthenticated, "no verified identity on this stream")
	}
	s.opts.Metrics.StreamsOpen.Inc()
	defer s.opts.Metrics.StreamsOpen.Dec()

	frames, recvErr := receive(stream)
	hello, err := s.awaitHello(id, frames, recvErr)
	if err != nil {
		return err
	}
	sess := &session{
		svc: s, stream: stream, id: id, hello: hello,
		out:      make(chan *ingestv1.IngesterFrame, 256),
		stopSend: make(chan struct{}),
	}
	log := s.opts.Logger.With("access_key", id.AccessKey, "agent_id", hello.AgentId, "instance", hello.InstanceName)
	log.Info("agent stream opened", "hostname", hello.Hostname, "plugin_version", hello.PluginVersion, "fluent_bit_version", hello.FluentBitVersion)

	sendDone := make(chan struct{})
	go func() { defer close(sendDone); sess.sendLoop() }()

	result := sess.run(frames, recvErr)

	// Let Kafka answer what was produced, so those acks reach the agent.
	sess.waitPending(s.opts.DrainTimeout)
	close(sess.stopSend)
	<-sendDone
	log.Info("agent stream closed", "reason", describe(result))
	return result
}

func describe(err error) string {
	if err == nil {
		return "the agent closed it"
	}
	return err.Error()
}

// receive reads frames in its own goroutine so the session can also react
// to draining, config changes and token expiry while Recv blocks.
func receive(stream ingestv1.Ingest_StreamServer) (<-chan *ingestv1.AgentFrame, <-chan error) {
	frames := make(chan *ingestv1.AgentFrame)
	errc := make(chan error, 1)
	go func() {
		for {
			f, err := stream.Recv()
			if err != nil {
				errc <- err
				return
			}
			select {
			case frames <- f:
			case <-stream.Context().Done():
				errc <- stream.Context().Err()
				return
			}
		}
	}()
	return frames, errc
}

func (s *Service) awaitHello(id *auth.Identity, frames <-chan *ingestv1.AgentFrame, recvErr <-chan error) (*ingestv1.Hello, error) {
	timer := time.NewTimer(s.opts.HelloTimeout)
	defer timer.Stop()
	var first *ingestv1.AgentFrame
	select {
	case first = <-frames:
	case err := <-recvErr:
		return nil, err
	case <-timer.C:
		return nil, status.Errorf(codes.InvalidArgument, "no Hello frame within %s; an agent must send Hello first", s.opts.HelloTimeout)
	}
	hello := first.GetHello()
	if hello == nil {
		return nil, status.Error(codes.InvalidArgument, "the first frame of a stream must be Hello")
	}
	if err := checkID("Hello.agent_id", hello.AgentId, true); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "%v", err)
	}
	for what, v := range map[string]string{"Hello.hostname": hello.Hostname, "Hello.instance_name": hello.InstanceName, "Hello.plugin_version": hello.PluginVersion, "Hello.fluent_bit_version": hello.FluentBitVersion} {
		if err := checkID(what, v, false); err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "%v", err)
		}
	}
	if hello.AccessKey != "" && hello.AccessKey != id.AccessKey {
		return nil, status.Errorf(codes.PermissionDenied, "this token was issued for access key %q, not %q; use the token issued for that key", id.AccessKey, hello.AccessKey)
	}
	return hello, nil
}

// run handles frames until the stream should end, and returns its status.
func (sess *session) run(frames <-chan *ingestv1.AgentFrame, recvErr <-chan error) error {
	s := sess.svc
	ak, ok := s.opts.Config().Lookup(sess.id.AccessKey)
	if !ok {
		return status.Errorf(codes.PermissionDenied, "access key %q is no longer configured", sess.id.AccessKey)
	}
	sess.configVersion = ak.Version
	sess.queue(&ingestv1.IngesterFrame{Frame: &ingestv1.IngesterFrame_Config{Config: agentConfig(sess.id.AccessKey, ak)}})

	expires := sess.id.Claims.ExpiresAt.Time
	warn := time.NewTimer(max(expires.Sub(s.opts.Now())-tokenWarning, 0))
	defer warn.Stop()
	expiry := time.NewTimer(expires.Sub(s.opts.Now()))
	defer expiry.Stop()
	changed := s.opts.ConfigChanged()

	for {
		select {
		case f := <-frames:
			if err := sess.handle(f); err != nil {
				return err
			}
		case err := <-recvErr:
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		case <-s.drain:
			sess.queue(control(ingestv1.Control_KIND_RECONNECT, "the ingester is shutting down; reconnect (to another ingester)"))
			return status.Error(codes.Unavailable, "the ingester is shutting down; reconnect")
		case <-changed:
			changed = s.opts.ConfigChanged()
			if err := sess.configChanged(); err != nil {
				return err
			}
		case <-warn.C:
			c := control(ingestv1.Control_KIND_TOKEN_EXPIRING, "the access token expires soon; reconnect with a fresh token")
			c.GetControl().TokenExpiresUnixNano = expires.UnixNano()
			sess.queue(c)
		case <-expiry.C:
			return status.Errorf(codes.Unauthenticated, "the access token expired at %s; issue a new one with `ingester access-token --access-key %s`", expires.UTC().Format(time.RFC3339), sess.id.AccessKey)
		}
	}
}

func control(kind ingestv1.Control_Kind, reason string) *ingestv1.IngesterFrame {
	return &ingestv1.IngesterFrame{Frame: &ingestv1.IngesterFrame_Control{Control: &ingestv1.Control{Kind: kind, Reason: reason}}}
}

// configChanged ends the stream when its key or token was revoked, and
// pushes the new agent config when this key's settings changed.
func (sess *session) configChanged() error {
	if _, err := sess.svc.opts.Auth.Authorize(sess.id.Claims); err != nil {
		return err
	}
	ak, _ := sess.svc.opts.Config().Lookup(sess.id.AccessKey)
	if ak.Version != sess.configVersion {
		sess.configVersion = ak.Version
		sess.queue(&ingestv1.IngesterFrame{Frame: &ingestv1.IngesterFrame_Config{Config: agentConfig(sess.id.AccessKey, ak)}})
	}
	return nil
}

// handle processes one agent frame. A frame that breaks the protocol ends
// the stream with InvalidArgument.
func (sess *session) handle(f *ingestv1.AgentFrame) error {
	switch frame := f.Frame.(type) {
	case *ingestv1.AgentFrame_Batch:
		if frame.Batch == nil {
			return status.Error(codes.InvalidArgument, "a Batch frame is empty")
		}
		sess.handleBatch(frame.Batch)
		return nil
	case *ingestv1.AgentFrame_Heartbeat:
		return nil
	case *ingestv1.AgentFrame_Hello:
		return status.Error(codes.InvalidArgument, "Hello may only be the first frame of a stream")
	default:
		return status.Error(codes.InvalidArgument, "an agent frame carries no Hello, Batch or Heartbeat; the agent may be newer than this ingester")
	}
}

// handleBatch answers every batch with exactly one ack, now or when Kafka
// answered.
func (sess *session) handleBatch(b *ingestv1.Batch) {
	s := sess.svc
	received := s.opts.Now()
	seq := b.Sequence
	if seq <= sess.lastSeq {
		sess.ack(received, rejectAck(seq, codes.InvalidArgument, "batch sequence %d is not above the previous %d; sequence numbers must increase within a stream", seq, sess.lastSeq))
		return
	}
	sess.lastSeq = seq
	ak, ok := s.opts.Config().Lookup(sess.id.AccessKey)
	if !ok {
		sess.ack(received, rejectAck(seq, codes.PermissionDenied, "access key %q is no longer configured", sess.id.AccessKey))
		return
	}
	size := int64(proto.Size(b))
	if refusal := checkBatch(b, size, ak.MaxBatchBytes); refusal != nil {
		sess.ack(received, refusal)
		return
	}
	batchID := b.BatchId
	if batchID == "" {
		batchID = fmt.Sprintf("%s-%d-%d", sess.hello.AgentId, sess.hello.StreamEpoch, seq)
	}
	if len(b.Events) == 0 {
		sess.ack(received, okAck(seq, batchID))
		return
	}
	if n := sess.inFlight.Load(); n >= int64(ak.MaxBatchesInFlight) {
		sess.ack(received, retryAck(seq, codes.ResourceExhausted, 100*time.Millisecond,
			"%d batches are in flight on this stream, the limit is %d (max_batches_in_flight); wait for acks before sending more", n, ak.MaxBatchesInFlight))
		return
	}
	if ready, why := s.opts.Producer.Ready(); !ready {
		sess.ack(received, retryAck(seq, codes.Unavailable, 2*time.Second, "Kafka is not reachable from the ingester (%s); the batch was not stored, retry later", why))
		return
	}
	if !s.budget.tryAcquire(size) {
		sess.ack(received, retryAck(seq, codes.ResourceExhausted, time.Second, "the ingester holds %d bytes awaiting Kafka, at its limit; retry shortly", s.budget.inUse()))
		return
	}
	s.opts.Metrics.InFlightBytes.Set(float64(s.budget.inUse()))

	stored := &recordv1.StoredBatch{
		Tenant: sess.id.Tenant, AccessKey: sess.id.AccessKey,
		AgentId: sess.hello.AgentId, Hostname: sess.hello.Hostname,
		BatchId: batchID, StreamEpoch: sess.hello.StreamEpoch, Sequence: seq,
		Tag: b.Tag, ReceivedUnixNano: received.UnixNano(), Events: b.Events,
	}
	value, meta, err := s.opts.Sealer.Seal(stored)
	if err != nil {
		s.budget.release(size)
		sess.ack(received, retryAck(seq, codes.Internal, time.Second, "the ingester could not seal the batch: %v", err))
		return
	}
	if s.opts.PrintEvents != nil {
		s.printEvents(sess.id.Tenant, sess.id.AccessKey, sess.hello.AgentId, b.Tag, b.Events)
	}
	msg := &sarama.ProducerMessage{
		Topic:   topicOf(ak, s.opts.Topic),
		Key:     sarama.ByteEncoder(record.Key(sess.id.Tenant, sess.hello.AgentId)),
		Value:   sarama.ByteEncoder(value),
		Headers: meta.Headers(),
	}
	events := len(b.Events)
	sess.inFlight.Add(1)
	sess.pending.Add(1)
	produced := s.opts.Now()
	s.opts.Producer.Produce(msg, func(err error) {
		defer sess.pending.Done()
		sess.inFlight.Add(-1)
		s.budget.release(size)
		s.opts.Metrics.InFlightBytes.Set(float64(s.budget.inUse()))
		s.opts.Metrics.ProduceSeconds.Observe(s.opts.Now().Sub(produced).Seconds())
		if err != nil {
			sess.ack(received, retryAck(seq, codes.Unavailable, time.Second, "Kafka did not store the batch (%v); retry", err))
			return
		}
		s.opts.Metrics.Events.WithLabelValues(sess.id.Tenant).Add(float64(events))
		s.opts.Metrics.Bytes.WithLabelValues(sess.id.Tenant).Add(float64(size))
		sess.ack(received, okAck(seq, batchID))
	})
}

func topicOf(ak *configstore.AccessKey, defaultTopic string) string {
	if ak.Topic != "" {
		return ak.Topic
	}
	return defaultTopic
}

func (sess *session) ack(received time.Time, a *ingestv1.Ack) {
	m := sess.svc.opts.Metrics
	m.Batches.WithLabelValues(resultLabel(a.Result)).Inc()
	m.AckSeconds.Observe(sess.svc.opts.Now().Sub(received).Seconds())
	f := &ingestv1.IngesterFrame{Frame: &ingestv1.IngesterFrame_Ack{Ack: a}}
	select {
	case sess.out <- f:
	default:
		// The agent reads slowly. Producer callbacks run on the producer's
		// dispatch goroutine, shared by every stream: never block it. The
		// goroutines this makes are bounded by the batches in flight.
		go sess.queue(f)
	}
}

// queue hands a frame to the sender. Producer callbacks call it from other
// goroutines; after stopSend nothing more is queued.
func (sess *session) queue(f *ingestv1.IngesterFrame) {
	select {
	case sess.out <- f:
	case <-sess.stopSend:
	}
}

// sendLoop is the only goroutine that calls stream.Send. After a send
// error it keeps draining so producer callbacks never block.
func (sess *session) sendLoop() {
	var broken bool
	send := func(f *ingestv1.IngesterFrame) {
		if broken {
			return
		}
		if err := sess.stream.Send(f); err != nil {
			broken = true
		}
	}
	for {
		select {
		case f := <-sess.out:
			send(f)
		case <-sess.stopSend:
			for {
				select {
				case f := <-sess.out:
					send(f)
				default:
					return
				}
			}
		}
	}
}

// waitPending waits, bounded, for Kafka to answer the batches produced.
func (sess *session) waitPending(limit time.Duration) {
	done := make(chan struct{})
	go func() { sess.pending.Wait(); close(done) }()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	select {
	case <-done:
	case <-ctx.Done():
	}
}
