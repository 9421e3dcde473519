package stdout

import (
	"bytes"
	"context"
	"testing"

	"github.com/ferrylog/ferry/internal/record"
	ingestv1 "github.com/ferrylog/ferry/proto/ferry/ingest/v1"
	recordv1 "github.com/ferrylog/ferry/proto/ferry/record/v1"
	"github.com/ferrylog/ferry/router/internal/destination"
)

func sample() *destination.Batch {
	return &destination.Batch{
		Meta:   record.Meta{Tenant: "acme", AccessKey: "AK-1", AgentID: "h1", BatchID: "h1-1-7", KeyID: "k1", EventCount: 1, FirstEventTime: 5, LastEventTime: 5, ContentType: "ct"},
		Stored: &recordv1.StoredBatch{Tag: "app", AgentId: "h1", Events: []*ingestv1.Event{{TimeUnixNano: 5, Body: []byte(`{"m":1}`)}}},
		Source: destination.Source{Topic: "ferry.events", Partition: 2, Offset: 41},
	}
}

func TestPrintDecryptedEvents(t *testing.T) {
	var out bytes.Buffer
	if _, err := New(&out, true).Write(context.Background(), []*destination.Batch{sample()}); err != nil {
		t.Fatal(err)
	}
	want := `{"time":"1970-01-01T00:00:00.000000005Z","tag":"app","agent_id":"h1","batch_id":"h1-1-7","tenant":"acme","access_key":"AK-1","record":{"m":1}}` + "\n"
	if out.String() != want {
		t.Fatalf("printed %q\nwant    %q", out.String(), want)
	}
}

func TestPrintHeadersOnly(t *testing.T) {
	var out bytes.Buffer
	b := sample()
	b.Stored = nil
	if _, err := New(&out, false).Write(context.Background(), []*destination.Batch{b}); err != nil {
		t.Fatal(err)
	}
	want := `{"topic":"ferry.events","partition":2,"offset":41,"tenant":"acme","access_key":"AK-1","agent_id":"h1","batch_id":"h1-1-7","key_id":"k1","event_count":1,"first_event_time_unix_nano":5,"last_event_time_unix_nano":5,"content_type":"ct"}` + "\n"
	if out.String() != want {
		t.Fatalf("printed %q\nwant    %q", out.String(), want)
	}
}
