package load

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/ferrylog/ferry/e2e/agentclient"
	ingestv1 "github.com/ferrylog/ferry/proto/ferry/ingest/v1"
)

// Spec is one batched load run.
type Spec struct {
	Addr, Token, AccessKey string
	// Name prefixes agent ids, so scenarios do not share Kafka keys.
	Name        string
	Agents      int
	Window      int // unacked batches per stream, as the plugin's max_batches_in_flight
	BatchEvents int
	Pool        [][]byte
	// Rate is events per second over all agents; 0 runs closed loop.
	Rate     float64
	Duration time.Duration
	// MaxEvents bounds the events sent over all agents (0: no bound).
	MaxEvents int64
	// AckTimeout bounds the wait for the last acks after sending stopped.
	AckTimeout time.Duration
}

// Run sends batches from Spec.Agents streams until Duration or MaxEvents.
func Run(ctx context.Context, s Spec) *Result { return eachAgent(ctx, s, runAgent) }

// eachAgent runs agent for every one of Spec.Agents at once, recording the
// error each ends with, and returns the shared result when all are done.
func eachAgent(ctx context.Context, s Spec, agent func(context.Context, Spec, int, *Result) error) *Result {
	res := NewResult()
	var wg sync.WaitGroup
	for i := range s.Agents {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := agent(ctx, s, i, res); err != nil {
				res.Fail(err)
			}
		}()
	}
	wg.Wait()
	return res
}

func runAgent(ctx context.Context, s Spec, idx int, res *Result) error {
	agentID := fmt.Sprintf("%s-agent-%d", s.Name, idx)
	st, err := agentclient.Open(ctx, s.Addr, s.Token, s.AccessKey, agentID)
	if err != nil {
		return fmt.Errorf("%s: open stream: %w", agentID, err)
	}
	defer st.Close()

	window := make(chan struct{}, s.Window)
	var pending sync.WaitGroup
	var interval time.Duration
	if s.Rate > 0 {
		// Each agent carries an equal share of the rate.
		interval = time.Duration(float64(time.Second) * float64(s.BatchEvents) * float64(s.Agents) / s.Rate)
	}
	perAgentMax := int64(0)
	if s.MaxEvents > 0 {
		perAgentMax = s.MaxEvents / int64(s.Agents)
	}
	start := time.Now()
	// Agents start at different points of the pool, so their batches differ.
	next := idx * len(s.Pool) / s.Agents
	var sent int64
	for k := 0; ; k++ {
		var due time.Time
		if interval > 0 {
			// A small stagger keeps agents from sending in lock step.
			due = start.Add(time.Duration(k)*interval + time.Duration(idx)*interval/time.Duration(s.Agents))
			if wait := time.Until(due); wait > 0 {
				time.Sleep(wait)
			}
		}
		if time.Since(start) >= s.Duration || (perAgentMax > 0 && sent >= perAgentMax) || ctx.Err() != nil {
			break
		}
		window <- struct{}{}
		if interval == 0 {
			// Closed loop: the clock starts when the window lets the batch go.
			due = time.Now()
		}
		b, bodyBytes := makeBatch(s, agentID, k, &next)
		ack, err := st.Send(b)
		if err != nil {
			<-window
			return fmt.Errorf("%s: send: %w", agentID, err)
		}
		n := int64(len(b.Events))
		sent += n
		res.SentEvents.Add(n)
		pending.Add(1)
		go func() {
			defer pending.Done()
			a, ok := <-ack
			now := time.Now()
			<-window
			switch {
			case !ok:
				res.Lost.Add(1)
			case a.Result == ingestv1.AckResult_ACK_RESULT_OK:
				res.AckLatency.Record(now.Sub(due))
				res.OKEvents.Add(n)
				res.OKBytes.Add(bodyBytes)
				res.OKBatches.Add(1)
				res.Acked(now)
			case a.Result == ingestv1.AckResult_ACK_RESULT_RETRY:
				res.RetryBatches.Add(1)
			default:
				res.Rejected.Add(1)
			}
		}()
	}
	done := make(chan struct{})
	go func() { pending.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(s.AckTimeout):
		return fmt.Errorf("%s: acks still missing %s after sending stopped", agentID, s.AckTimeout)
	}
	return st.Err()
}

// makeBatch builds a batch of the next events of the pool, stamped with the
// send time (the router writes it into the line, which is how end-to-end
// latency is measured). Events live in one slice to keep the generator's
// own allocations low: it shares two cores with what it measures.
func makeBatch(s Spec, agentID string, k int, next *int) (*ingestv1.Batch, int64) {
	evs := make([]ingestv1.Event, s.BatchEvents)
	ptrs := make([]*ingestv1.Event, s.BatchEvents)
	now := time.Now().UnixNano()
	var bytes int64
	for i := range evs {
		body := s.Pool[*next]
		*next = (*next + 1) % len(s.Pool)
		evs[i].TimeUnixNano = now + int64(i)
		evs[i].Body = body
		ptrs[i] = &evs[i]
		bytes += int64(len(body))
	}
	return &ingestv1.Batch{Tag: "bench." + s.Name, BatchId: fmt.Sprintf("%s-%d-%d", agentID, now, k), Events: ptrs}, bytes
}
