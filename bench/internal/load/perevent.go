package load

import (
	"context"
	"fmt"
	"io"
	"time"

	ingestv1 "github.com/ferrylog/ferry/proto/ferry/ingest/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
)

// RunPerEvent is the original design's way, for comparison: every flush
// opens a new gRPC stream (token check, Hello, Config) on the agent's
// connection and sends each event as its own message (a batch of one, so
// one seal and one Kafka record per event), pipelined up to Window, then
// closes the stream. Spec.BatchEvents is the events of one flush; Rate is
// ignored (closed loop).
func RunPerEvent(ctx context.Context, s Spec) *Result { return eachAgent(ctx, s, perEventAgent) }

func perEventAgent(ctx context.Context, s Spec, idx int, res *Result) error {
	agentID := fmt.Sprintf("%s-agent-%d", s.Name, idx)
	conn, err := grpc.NewClient(s.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	client := ingestv1.NewIngestClient(conn)
	start := time.Now()
	next := idx * len(s.Pool) / s.Agents
	for flush := 0; time.Since(start) < s.Duration && ctx.Err() == nil; flush++ {
		if err := perEventFlush(ctx, client, s, agentID, flush, &next, res); err != nil {
			return fmt.Errorf("%s: flush %d: %w", agentID, flush, err)
		}
	}
	return nil
}

// perEventFlush is one flush: one stream, one message per event.
func perEventFlush(ctx context.Context, client ingestv1.IngestClient, s Spec, agentID string, flush int, next *int, res *Result) error {
	ctx, cancel := context.WithTimeout(metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+s.Token), s.AckTimeout)
	defer cancel()
	stream, err := client.Stream(ctx)
	if err != nil {
		return err
	}
	hello := &ingestv1.Hello{AgentId: agentID, Hostname: agentID, AccessKey: s.AccessKey, PluginVersion: "bench-per-event", StreamEpoch: uint64(time.Now().UnixNano())}
	if err := stream.Send(&ingestv1.AgentFrame{Frame: &ingestv1.AgentFrame_Hello{Hello: hello}}); err != nil {
		return err
	}
	if first, err := stream.Recv(); err != nil || first.GetConfig() == nil {
		return fmt.Errorf("no Config after Hello: %v", err)
	}
	// Acks of one stream come back in order (one agent, one partition),
	// so the send times wait in a FIFO.
	sentAt := make(chan time.Time, s.Window)
	recvDone := make(chan error, 1)
	go func() {
		for got := 0; got < s.BatchEvents; {
			f, err := stream.Recv()
			if err != nil {
				recvDone <- err
				return
			}
			a := f.GetAck()
			if a == nil {
				continue
			}
			got++
			t := <-sentAt
			now := time.Now()
			if a.Result == ingestv1.AckResult_ACK_RESULT_OK {
				res.AckLatency.Record(now.Sub(t))
				res.OKEvents.Add(1)
				res.OKBytes.Add(int64(len(s.Pool[0])))
				res.OKBatches.Add(1)
				res.Acked(now)
			} else {
				res.RetryBatches.Add(1)
			}
		}
		recvDone <- nil
	}()
	for i := range s.BatchEvents {
		body := s.Pool[*next]
		*next = (*next + 1) % len(s.Pool)
		now := time.Now()
		sentAt <- now // blocks while Window events are unacked
		b := &ingestv1.Batch{Sequence: uint64(i + 1), Tag: "bench." + s.Name, BatchId: fmt.Sprintf("%s-%d-%d", agentID, flush, i),
			Events: []*ingestv1.Event{{TimeUnixNano: now.UnixNano(), Body: body}}}
		if err := stream.Send(&ingestv1.AgentFrame{Frame: &ingestv1.AgentFrame_Batch{Batch: b}}); err != nil {
			return err
		}
		res.SentEvents.Add(1)
	}
	if err := <-recvDone; err != nil {
		return err
	}
	stream.CloseSend()
	// The ingester ends the stream after the agent's half-close.
	for {
		if _, err := stream.Recv(); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
	}
}
