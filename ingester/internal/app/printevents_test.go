package app

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	ingestv1 "github.com/ferrylog/ferry/proto/ferry/ingest/v1"
)

// syncBuffer is written by the ingester's goroutines and read by the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestPrintEventsWritesAcceptedEventsAsJSONLines(t *testing.T) {
	var out syncBuffer
	ti := startIngesterWith(t, kafkaBrokers(t), func(c *APIConfig) { c.PrintEvents = true }, &out)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	stream, err := openStream(ctx, ti.client(t), ti.token(t, "AK-acme"), "AK-acme")
	if err != nil {
		t.Fatal(err)
	}
	stream.Send(batchFrame(1, `{"msg":"first"}`, `{"msg":"second"}`))
	if ack := recvAck(t, stream); ack.Result != ingestv1.AckResult_ACK_RESULT_OK {
		t.Fatalf("ack = %+v", ack)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("printed %d lines, want 2: %q", len(lines), out.String())
	}
	var first struct {
		Tenant    string          `json:"tenant"`
		AccessKey string          `json:"access_key"`
		AgentID   string          `json:"agent_id"`
		Record    json.RawMessage `json:"record"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	if first.Tenant != "acme" || first.AccessKey != "AK-acme" || first.AgentID != "test-agent" || string(first.Record) != `{"msg":"first"}` {
		t.Fatalf("first printed event = %+v", first)
	}
}
