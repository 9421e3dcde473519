package record

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/IBM/sarama"
	"github.com/ferrylog/ferry/internal/crypto"
	ingestv1 "github.com/ferrylog/ferry/proto/ferry/ingest/v1"
	recordv1 "github.com/ferrylog/ferry/proto/ferry/record/v1"
	"google.golang.org/protobuf/proto"
)

func testKeyring(t testing.TB) *crypto.Keyring {
	kr, err := crypto.NewKeyring("k1", map[string][]byte{"k1": bytes.Repeat([]byte{7}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

func sampleBatch(events int) *recordv1.StoredBatch {
	b := &recordv1.StoredBatch{Tenant: "acme", AccessKey: "AK1", AgentId: "host-1", BatchId: "abc-0", Sequence: 3, Tag: "app.log"}
	for i := 0; i < events; i++ {
		b.Events = append(b.Events, &ingestv1.Event{
			TimeUnixNano: int64(1_700_000_000_000_000_000 + i),
			Body:         []byte(fmt.Sprintf(`{"msg":"event %d","level":"info"}`, i)),
		})
	}
	return b
}

func pointers(h []sarama.RecordHeader) []*sarama.RecordHeader {
	out := make([]*sarama.RecordHeader, len(h))
	for i := range h {
		out[i] = &h[i]
	}
	return out
}

func TestSealOpenEveryCodec(t *testing.T) {
	kr := testKeyring(t)
	for _, codec := range []Codec{CodecNone, CodecZstd, CodecLZ4, CodecSnappy} {
		t.Run(string(codec), func(t *testing.T) {
			b := sampleBatch(200)
			value, meta, err := NewSealer(kr, codec).Seal(b)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(value, []byte("event 17")) {
				t.Fatal("record value holds clear text")
			}
			if meta.EventCount != 200 || meta.FirstEventTime != b.Events[0].TimeUnixNano || meta.LastEventTime != b.Events[199].TimeUnixNano || meta.KeyID != "k1" {
				t.Fatalf("meta = %+v", meta)
			}
			parsed, err := MetaFromHeaders(pointers(meta.Headers()))
			if err != nil {
				t.Fatal(err)
			}
			if parsed != meta {
				t.Fatalf("headers round trip: %+v != %+v", parsed, meta)
			}
			got, err := Open(kr, parsed, value)
			if err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(got, b) {
				t.Fatal("opened batch differs from the sealed one")
			}
		})
	}
}

func TestIncompressibleBatchFallsBackToNone(t *testing.T) {
	b := sampleBatch(1)
	noise := make([]byte, 64<<10)
	rand.Read(noise)
	b.Events[0].Body = noise
	value, meta, err := NewSealer(testKeyring(t), CodecLZ4).Seal(b)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Open(testKeyring(t), meta, value)
	if err != nil || !bytes.Equal(got.Events[0].Body, noise) {
		t.Fatalf("Open = %v", err)
	}
}

func TestOpenRefusesMovedRecords(t *testing.T) {
	kr := testKeyring(t)
	value, meta, err := NewSealer(kr, CodecZstd).Seal(sampleBatch(3))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		change func(*Meta)
		cause  error
	}{
		{"other tenant", func(m *Meta) { m.Tenant = "globex" }, crypto.ErrDecrypt},
		{"other access key", func(m *Meta) { m.AccessKey = "AK2" }, crypto.ErrDecrypt},
		{"other batch id", func(m *Meta) { m.BatchID = "zzz-0" }, crypto.ErrDecrypt},
		{"unknown key id", func(m *Meta) { m.KeyID = "k9" }, crypto.ErrUnknownKeyID},
		{"foreign content", func(m *Meta) { m.ContentType = "application/json" }, ErrBadContentType},
		{"wrong codec header", func(m *Meta) { m.ContentType = CodecSnappy.ContentType() }, ErrCorrupt},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := meta
			tc.change(&m)
			_, err := Open(kr, m, value)
			if !errors.Is(err, ErrUndeliverable) || !errors.Is(err, tc.cause) {
				t.Fatalf("Open error = %v, want ErrUndeliverable wrapping %v", err, tc.cause)
			}
		})
	}
}

func TestMetaFromHeadersErrors(t *testing.T) {
	_, meta, _ := NewSealer(testKeyring(t), CodecZstd).Seal(sampleBatch(1))
	headers := meta.Headers()
	if _, err := MetaFromHeaders(pointers(headers[1:])); err == nil || !strings.Contains(err.Error(), HeaderTenant) {
		t.Fatalf("missing tenant header: %v", err)
	}
	headers[5].Value = []byte("many")
	if _, err := MetaFromHeaders(pointers(headers)); err == nil || !strings.Contains(err.Error(), HeaderEventCount) {
		t.Fatalf("bad count header: %v", err)
	}
}

func TestParseCodec(t *testing.T) {
	if _, err := ParseCodec("gzip"); err == nil {
		t.Fatal("gzip accepted")
	}
	if c, err := ParseCodec("zstd"); err != nil || c != CodecZstd {
		t.Fatal(c, err)
	}
}

func FuzzOpen(f *testing.F) {
	kr := testKeyring(f)
	for _, c := range []Codec{CodecZstd, CodecLZ4, CodecSnappy, CodecNone} {
		value, meta, _ := NewSealer(kr, c).Seal(sampleBatch(2))
		f.Add(value, meta.ContentType, meta.BatchID)
	}
	f.Fuzz(func(t *testing.T, value []byte, contentType, batchID string) {
		meta := Meta{Tenant: "acme", AccessKey: "AK1", BatchID: batchID, KeyID: "k1", ContentType: contentType}
		b, err := Open(kr, meta, value)
		if err == nil && b.BatchId != batchID {
			t.Fatal("opened a record whose batch id differs from its header")
		}
		if err != nil && !errors.Is(err, ErrUndeliverable) {
			t.Fatalf("error does not wrap ErrUndeliverable: %v", err)
		}
	})
}

func FuzzDecompress(f *testing.F) {
	plain := []byte(strings.Repeat("ferry log line ", 100))
	for _, c := range []Codec{CodecZstd, CodecLZ4, CodecSnappy} {
		packed, _ := compress(c, nil, plain)
		f.Add(string(c), packed)
	}
	f.Fuzz(func(t *testing.T, codec string, data []byte) {
		c, err := ParseCodec(codec)
		if err != nil {
			return
		}
		out, err := decompress(c, data)
		if err == nil && len(out) > maxDecompressedBytes {
			t.Fatalf("expanded to %d bytes", len(out))
		}
	})
}
