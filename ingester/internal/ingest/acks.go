package ingest

import (
	"fmt"
	"time"

	ingestv1 "github.com/ferrylog/ferry/proto/ferry/ingest/v1"
	"google.golang.org/grpc/codes"
)

func okAck(seq uint64, batchID string) *ingestv1.Ack {
	return &ingestv1.Ack{Sequence: seq, Result: ingestv1.AckResult_ACK_RESULT_OK, Code: int32(codes.OK), BatchId: batchID}
}

// retryAck answers a transient failure: the agent keeps the chunk and sends
// it again after retryAfter.
func retryAck(seq uint64, code codes.Code, retryAfter time.Duration, format string, args ...any) *ingestv1.Ack {
	return &ingestv1.Ack{
		Sequence: seq, Result: ingestv1.AckResult_ACK_RESULT_RETRY, Code: int32(code),
		Reason: fmt.Sprintf(format, args...), RetryAfterMs: retryAfter.Milliseconds(),
	}
}

// rejectAck answers a permanent failure: sending the same batch again cannot succeed.
func rejectAck(seq uint64, code codes.Code, format string, args ...any) *ingestv1.Ack {
	return &ingestv1.Ack{
		Sequence: seq, Result: ingestv1.AckResult_ACK_RESULT_REJECTED, Code: int32(code),
		Reason: fmt.Sprintf(format, args...),
	}
}

func resultLabel(r ingestv1.AckResult) string {
	switch r {
	case ingestv1.AckResult_ACK_RESULT_OK:
		return "ok"
	case ingestv1.AckResult_ACK_RESULT_RETRY:
		return "retry"
	default:
		return "rejected"
	}
}
