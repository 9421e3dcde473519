package msgpackchunk

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
)

// FuzzDecodeChunk feeds arbitrary bytes to the decoder: it must never panic,
// must either fail with an *Error or return events whose JSON is valid.
func FuzzDecodeChunk(f *testing.F) {
	seed, _ := AppendRecord(nil, time.Unix(1700000000, 5), map[string]any{"m": []any{1, "x"}}, map[string]any{"log": "hello", "n": -3, "f": 1.5, "b": []byte{0xff}})
	f.Add(seed)
	legacy, _ := AppendLegacyRecord(nil, 1700000000, map[string]any{"k": map[string]any{"z": nil}})
	f.Add(legacy)
	marker, _ := AppendGroupMarker(nil, true, map[string]any{"r": 1})
	f.Add(append(marker, seed...))
	f.Add([]byte{0x92, 0x05, 0x84, 0x01, 0xa1, 'a', 0xc0, 0xc3, 0x91, 0x01, 0x02, 0xa1, 'e', 0xd5, 0x05, 'x', 'y'})
	f.Add([]byte{0x92, 0x01, 0xdf, 0x7f, 0xff, 0xff, 0xff})
	f.Add([]byte{})

	dec := NewDecoder(map[string]string{"env": "fuzz"})
	f.Fuzz(func(t *testing.T, chunk []byte) {
		evs, err := dec.Decode(chunk, nil)
		if err != nil {
			var de *Error
			if !errors.As(err, &de) {
				t.Fatalf("error is not *Error: %v", err)
			}
			if de.Offset < 0 || de.Offset > len(chunk) {
				t.Fatalf("offset %d outside chunk of %d bytes", de.Offset, len(chunk))
			}
		}
		for i, ev := range evs {
			if !json.Valid(ev.Body) || len(ev.Body) == 0 || ev.Body[0] != '{' {
				t.Fatalf("event %d body is not a JSON object: %q", i, ev.Body)
			}
			if !json.Valid(ev.Metadata) {
				t.Fatalf("event %d metadata is not JSON: %q", i, ev.Metadata)
			}
		}
	})
}
