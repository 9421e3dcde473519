package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	ingestv1 "github.com/ferrylog/ferry/proto/ferry/ingest/v1"
)

// heartbeatInterval spaces the stats frames an agent sends on an idle stream.
const heartbeatInterval = 30 * time.Second

// errDraining is returned to a flush that raced a stream being handed over.
var errDraining = errors.New("the stream is being closed for a reconnect")

// outcome is what a waiting flush learns about one batch: the ack, or why
// none will come.
type outcome struct {
	ack *ingestv1.Ack
	err error
}

type waiter struct {
	result chan outcome // buffered: a delivery never blocks the receiver
	sentAt time.Time
}

type outgoing struct {
	batch  *ingestv1.Batch
	waiter *waiter
}

// sessionHooks are the client's reactions to frames a session receives.
type sessionHooks interface {
	applyConfig(*ingestv1.AgentConfig)
	handleControl(*session, *ingestv1.Control)
	countAck(*ingestv1.Ack)
	heartbeat() *ingestv1.Heartbeat
}

// session is one stream to the ingester.
type session struct {
	epoch      uint64
	stream     ingestv1.Ingest_StreamClient
	cancel     context.CancelFunc
	hooks      sessionHooks
	log        *slog.Logger
	slots      *semaphore
	staleAfter time.Duration

	outbox      chan outgoing
	stopSending chan struct{} // closed to make the sender CloseSend and leave
	stopOnce    sync.Once

	done    chan struct{} // closed when the stream ended
	endOnce sync.Once
	endErr  error

	mu       sync.Mutex
	nextSeq  uint64
	pending  map[uint64]*waiter
	draining bool
	drained  chan struct{} // closed when draining and nothing is pending

	wg sync.WaitGroup
}

func newSession(stream ingestv1.Ingest_StreamClient, cancel context.CancelFunc, epoch uint64, inFlight int, staleAfter time.Duration, hooks sessionHooks, log *slog.Logger) *session {
	return &session{
		epoch: epoch, stream: stream, cancel: cancel, hooks: hooks, log: log,
		slots:       newSemaphore(inFlight),
		staleAfter:  staleAfter,
		outbox:      make(chan outgoing),
		stopSending: make(chan struct{}),
		done:        make(chan struct{}),
		nextSeq:     1,
		pending:     make(map[uint64]*waiter),
		drained:     make(chan struct{}),
	}
}

func (s *session) start() {
	s.wg.Add(2)
	go s.sendLoop()
	go s.receiveLoop()
}

// submit queues a batch and returns the waiter its ack will reach. It waits
// for an in-flight slot no longer than ctx allows.
func (s *session) submit(ctx context.Context, b *ingestv1.Batch) (*waiter, error) {
	if err := s.slots.acquire(ctx, s.done); err != nil {
		return nil, err
	}
	w := &waiter{result: make(chan outcome, 1)}
	select {
	case s.outbox <- outgoing{batch: b, waiter: w}:
		return w, nil
	case <-s.done:
		s.slots.release()
		return nil, s.err()
	case <-s.stopSending:
		s.slots.release()
		return nil, errDraining
	case <-ctx.Done():
		s.slots.release()
		return nil, ctx.Err()
	}
}

// sendLoop is the only goroutine that writes to the stream: gRPC allows one
// sender at a time, and numbering here keeps sequence order equal to wire order.
func (s *session) sendLoop() {
	defer s.wg.Done()
	heartbeat := time.NewTicker(heartbeatInterval)
	defer heartbeat.Stop()
	watchdog := time.NewTicker(max(s.staleAfter/4, 10*time.Millisecond))
	defer watchdog.Stop()
	for {
		select {
		case out := <-s.outbox:
			seq, err := s.register(out.waiter)
			if err != nil {
				s.slots.release()
				out.waiter.result <- outcome{err: err}
				continue
			}
			out.batch.Sequence = seq
			frame := &ingestv1.AgentFrame{Frame: &ingestv1.AgentFrame_Batch{Batch: out.batch}}
			if err := s.stream.Send(frame); err != nil {
				// The status is on the receive side; Recv reports it.
				s.end(sendError(err))
				return
			}
		case <-heartbeat.C:
			frame := &ingestv1.AgentFrame{Frame: &ingestv1.AgentFrame_Heartbeat{Heartbeat: s.hooks.heartbeat()}}
			if err := s.stream.Send(frame); err != nil {
				s.end(sendError(err))
				return
			}
		case <-watchdog.C:
			if seq, age := s.oldestPending(); age > s.staleAfter {
				s.end(fmt.Errorf("no ack for batch %d after %s; reconnecting", seq, age.Round(time.Second)))
				return
			}
		case <-s.stopSending:
			_ = s.stream.CloseSend()
			return
		case <-s.done:
			return
		}
	}
}

func sendError(err error) error {
	if errors.Is(err, io.EOF) {
		return errStreamEnded
	}
	return err
}

func (s *session) register(w *waiter) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending == nil {
		return 0, s.endErr
	}
	if s.draining {
		return 0, errDraining
	}
	seq := s.nextSeq
	s.nextSeq++
	w.sentAt = time.Now()
	s.pending[seq] = w
	return seq, nil
}

func (s *session) oldestPending() (uint64, time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var oldestSeq uint64
	var oldest time.Time
	for seq, w := range s.pending {
		if oldest.IsZero() || w.sentAt.Before(oldest) {
			oldestSeq, oldest = seq, w.sentAt
		}
	}
	if oldest.IsZero() {
		return 0, 0
	}
	return oldestSeq, time.Since(oldest)
}

func (s *session) receiveLoop() {
	defer s.wg.Done()
	for {
		frame, err := s.stream.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = errStreamEnded
			}
			s.end(err)
			return
		}
		switch f := frame.Frame.(type) {
		case *ingestv1.IngesterFrame_Ack:
			s.deliver(f.Ack)
		case *ingestv1.IngesterFrame_Config:
			s.hooks.applyConfig(f.Config)
		case *ingestv1.IngesterFrame_Control:
			s.hooks.handleControl(s, f.Control)
		}
	}
}

func (s *session) deliver(ack *ingestv1.Ack) {
	if ack == nil {
		return
	}
	s.mu.Lock()
	w := s.pending[ack.Sequence]
	delete(s.pending, ack.Sequence)
	if s.draining && len(s.pending) == 0 {
		closeOnce(s.drained)
	}
	s.mu.Unlock()
	if w == nil {
		s.log.Warn("ack for a sequence this stream is not waiting for; ignored", "sequence", ack.Sequence)
		return
	}
	s.slots.release()
	s.hooks.countAck(ack)
	w.result <- outcome{ack: ack}
}

// end closes the session for good and tells every waiting flush why.
func (s *session) end(err error) {
	s.endOnce.Do(func() {
		s.mu.Lock()
		s.endErr = err
		waiting := s.pending
		s.pending = nil
		closeOnce(s.drained)
		s.mu.Unlock()
		close(s.done)
		s.cancel()
		for _, w := range waiting {
			w.result <- outcome{err: err}
		}
	})
}

func (s *session) err() error {
	<-s.done
	return s.endErr
}

// drain stops new batches, waits up to timeout (or until parent ends) for
// the acks of those in flight, then half-closes the stream so the ingester
// ends it cleanly, and waits (within the same bound) for that end.
func (s *session) drain(parent context.Context, timeout time.Duration) {
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()
	s.mu.Lock()
	s.draining = true
	if len(s.pending) == 0 {
		closeOnce(s.drained)
	}
	s.mu.Unlock()
	select {
	case <-s.drained:
	case <-ctx.Done():
	}
	s.stopOnce.Do(func() { close(s.stopSending) })
	select {
	case <-s.done:
	case <-ctx.Done():
	}
	s.end(errStreamEnded)
	s.wg.Wait()
}

// close ends the session at once and waits for its goroutines.
func (s *session) close(err error) {
	s.end(err)
	s.wg.Wait()
}

func closeOnce(ch chan struct{}) {
	select {
	case <-ch:
	default:
		close(ch)
	}
}
