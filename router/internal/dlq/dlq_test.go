package dlq

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/IBM/sarama"
	"github.com/ferrylog/ferry/internal/crypto"
	"github.com/ferrylog/ferry/internal/record"
	ingestv1 "github.com/ferrylog/ferry/proto/ferry/ingest/v1"
	recordv1 "github.com/ferrylog/ferry/proto/ferry/record/v1"
)

// TestClassifyRealErrors classifies the errors record.Open and
// MetaFromHeaders really return, so a change of their wording shows here.
func TestClassifyRealErrors(t *testing.T) {
	kr, err := crypto.NewKeyring("k1", map[string][]byte{"k1": bytes.Repeat([]byte{1}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	b := &recordv1.StoredBatch{Tenant: "acme", AccessKey: "AK-1", AgentId: "h", BatchId: "h-1-1", Events: []*ingestv1.Event{{Body: []byte(`{}`)}}}
	value, meta, err := record.NewSealer(kr, record.CodecZstd).Seal(b)
	if err != nil {
		t.Fatal(err)
	}
	open := func(change func(*record.Meta, []byte) []byte) error {
		m := meta
		v := change(&m, append([]byte(nil), value...))
		_, err := record.Open(kr, m, v)
		return err
	}
	for _, tc := range []struct {
		name string
		err  error
		want Reason
	}{
		{"unknown key id", open(func(m *record.Meta, v []byte) []byte { m.KeyID = "k9"; return v }), ReasonUnknownKeyID},
		{"tampered", open(func(m *record.Meta, v []byte) []byte { v[len(v)-1] ^= 1; return v }), ReasonDecrypt},
		{"other tenant", open(func(m *record.Meta, v []byte) []byte { m.Tenant = "globex"; return v }), ReasonDecrypt},
		{"short value", open(func(m *record.Meta, v []byte) []byte { return v[:5] }), ReasonDecrypt},
		{"foreign content type", open(func(m *record.Meta, v []byte) []byte { m.ContentType = "application/json"; return v }), ReasonBadContentType},
		{"unknown codec", open(func(m *record.Meta, v []byte) []byte {
			m.ContentType = "application/x-ferry-batch-v1+gzip"
			return v
		}), ReasonBadContentType},
		{"wrong codec", open(func(m *record.Meta, v []byte) []byte { m.ContentType = record.CodecSnappy.ContentType(); return v }), ReasonCorrupt},
		{"explicit reason", fmt.Errorf("wrapped: %w", Reject(ReasonNotJSON, errors.New("x"))), ReasonNotJSON},
		{"unrelated", errors.New("boom"), ReasonOther},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.err == nil {
				t.Fatal("the case produced no error")
			}
			if got := Classify(tc.err); got != tc.want {
				t.Fatalf("Classify(%v) = %s, want %s", tc.err, got, tc.want)
			}
		})
	}
}

func TestMessageCopiesHeadersAndAddsReason(t *testing.T) {
	msg := &sarama.ConsumerMessage{
		Topic: "ferry.events", Partition: 3, Offset: 99, Key: []byte("acme/h"), Value: []byte("sealed"),
		Headers: []*sarama.RecordHeader{{Key: []byte(record.HeaderTenant), Value: []byte("acme")}, nil},
	}
	out := Message(msg, "ferry.dlq", "file", ReasonUnknownKeyID, errors.New("unknown encryption key id \"k9\""))
	got := map[string]string{}
	for _, h := range out.Headers {
		got[string(h.Key)] = string(h.Value)
	}
	want := map[string]string{
		record.HeaderTenant: "acme",
		HeaderReason:        "unknown_key_id",
		HeaderDestination:   "file",
		HeaderSource:        "ferry.events/3/99",
		HeaderError:         "unknown encryption key id \"k9\"",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("header %s = %q, want %q", k, got[k], v)
		}
	}
	if len(out.Headers) != len(want) || out.Topic != "ferry.dlq" {
		t.Errorf("got %d headers on topic %s", len(out.Headers), out.Topic)
	}
	key, _ := out.Key.Encode()
	value, _ := out.Value.Encode()
	if string(key) != "acme/h" || string(value) != "sealed" {
		t.Errorf("key %q value %q, want the original", key, value)
	}
}
