package ingest

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	ingestv1 "github.com/ferrylog/ferry/proto/ferry/ingest/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
)

func batch(bodies ...string) *ingestv1.Batch {
	b := &ingestv1.Batch{Sequence: 1, Tag: "app", BatchId: "b-1"}
	for _, body := range bodies {
		b.Events = append(b.Events, &ingestv1.Event{TimeUnixNano: 1, Body: []byte(body)})
	}
	return b
}

func TestCheckBatch(t *testing.T) {
	withMeta := batch(`{"a":1}`)
	withMeta.Events[0].Metadata = []byte(`{"k":`)
	badID := batch(`{"a":1}`)
	badID.BatchId = "line\nbreak"
	longTag := batch(`{"a":1}`)
	longTag.Tag = strings.Repeat("t", 300)
	nilEvent := batch()
	nilEvent.Events = []*ingestv1.Event{nil}

	cases := []struct {
		name   string
		b      *ingestv1.Batch
		max    int64
		result ingestv1.AckResult
		code   codes.Code
		says   string
	}{
		{"good", batch(`{"a":1}`, ` {"b":[1,2]}`), 1 << 20, 0, codes.OK, ""},
		{"over the size limit", batch(`{"a":"` + strings.Repeat("x", 200) + `"}`), 100, ingestv1.AckResult_ACK_RESULT_RETRY, codes.ResourceExhausted, "max_batch_bytes"},
		{"body not JSON", batch(`{"a":1}`, `oops`), 1 << 20, ingestv1.AckResult_ACK_RESULT_REJECTED, codes.InvalidArgument, "event 1"},
		{"body a JSON array", batch(`[1]`), 1 << 20, ingestv1.AckResult_ACK_RESULT_REJECTED, codes.InvalidArgument, "JSON object"},
		{"empty body", batch(``), 1 << 20, ingestv1.AckResult_ACK_RESULT_REJECTED, codes.InvalidArgument, "JSON object"},
		{"metadata not JSON", withMeta, 1 << 20, ingestv1.AckResult_ACK_RESULT_REJECTED, codes.InvalidArgument, "metadata"},
		{"control character in batch id", badID, 1 << 20, ingestv1.AckResult_ACK_RESULT_REJECTED, codes.InvalidArgument, "control character"},
		{"tag too long", longTag, 1 << 20, ingestv1.AckResult_ACK_RESULT_REJECTED, codes.InvalidArgument, "Batch.tag"},
		{"nil event", nilEvent, 1 << 20, ingestv1.AckResult_ACK_RESULT_REJECTED, codes.InvalidArgument, "event 0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ack := checkBatch(tc.b, int64(proto.Size(tc.b)), tc.max)
			if tc.code == codes.OK {
				if ack != nil {
					t.Fatalf("refused a good batch: %+v", ack)
				}
				return
			}
			if ack == nil || ack.Result != tc.result || codes.Code(ack.Code) != tc.code || !strings.Contains(ack.Reason, tc.says) {
				t.Fatalf("ack = %+v, want %v %v saying %q", ack, tc.result, tc.code, tc.says)
			}
		})
	}
}

// FuzzAgentFrame feeds arbitrary bytes through the path a frame from the
// network takes: protobuf decoding, then the batch checks. Whatever is
// accepted must be safe to write verbatim into JSON lines.
func FuzzAgentFrame(f *testing.F) {
	for _, b := range []*ingestv1.Batch{batch(`{"a":1}`), batch(`{"msg":"x"}`, `{"n":[1,{"m":null}]}`)} {
		data, _ := proto.Marshal(&ingestv1.AgentFrame{Frame: &ingestv1.AgentFrame_Batch{Batch: b}})
		f.Add(data)
	}
	hello, _ := proto.Marshal(&ingestv1.AgentFrame{Frame: &ingestv1.AgentFrame_Hello{Hello: &ingestv1.Hello{AgentId: "a"}}})
	f.Add(hello)
	f.Fuzz(func(t *testing.T, data []byte) {
		var frame ingestv1.AgentFrame
		if err := proto.Unmarshal(data, &frame); err != nil {
			return
		}
		if h := frame.GetHello(); h != nil {
			checkID("agent_id", h.AgentId, true)
			return
		}
		b := frame.GetBatch()
		if b == nil {
			return
		}
		if checkBatch(b, int64(proto.Size(b)), 1<<20) != nil {
			return
		}
		for _, e := range b.Events {
			if !json.Valid(e.Body) || !bytes.HasPrefix(bytes.TrimLeft(e.Body, " \t\r\n"), []byte("{")) {
				t.Fatalf("accepted a body that is not a JSON object: %q", e.Body)
			}
		}
		if strings.ContainsAny(b.BatchId+b.Tag, "\n\r\x00") {
			t.Fatalf("accepted a control character in %q / %q", b.BatchId, b.Tag)
		}
	})
}
