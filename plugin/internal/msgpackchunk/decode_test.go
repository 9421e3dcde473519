package msgpackchunk

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 4, 5, 6, 7, 890123456, time.UTC)

func mustRecord(t testing.TB, dst []byte, ts time.Time, md, body map[string]any) []byte {
	t.Helper()
	out, err := AppendRecord(dst, ts, md, body)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func decode(t testing.TB, labels map[string]string, chunk []byte) []Event {
	t.Helper()
	evs, err := NewDecoder(labels).Decode(chunk, nil)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	for i, ev := range evs {
		if !json.Valid(ev.Body) {
			t.Fatalf("event %d body is not JSON: %s", i, ev.Body)
		}
		if ev.Metadata != nil && !json.Valid(ev.Metadata) {
			t.Fatalf("event %d metadata is not JSON: %s", i, ev.Metadata)
		}
	}
	return evs
}

func TestDecodeFluentBitV2Record(t *testing.T) {
	chunk := mustRecord(t, nil, t0, map[string]any{"otlp": map[string]any{"severity": "INFO"}}, map[string]any{"log": "hello", "n": 3})
	evs := decode(t, nil, chunk)
	if len(evs) != 1 {
		t.Fatalf("got %d events", len(evs))
	}
	if evs[0].TimeUnixNano != t0.UnixNano() {
		t.Errorf("time %d, want %d", evs[0].TimeUnixNano, t0.UnixNano())
	}
	if got, want := string(evs[0].Body), `{"log":"hello","n":3}`; got != want {
		t.Errorf("body %s, want %s", got, want)
	}
	if got, want := string(evs[0].Metadata), `{"otlp":{"severity":"INFO"}}`; got != want {
		t.Errorf("metadata %s, want %s", got, want)
	}
}

// TestDecodeHandWrittenBytes pins the wire form without trusting our encoder:
// [[EventTime(1700000000, 5), {}], {"a": "b"}].
func TestDecodeHandWrittenBytes(t *testing.T) {
	chunk := []byte{
		0x92, 0x92, 0xd7, 0x00, 0x65, 0x53, 0xf1, 0x00, 0x00, 0x00, 0x00, 0x05, 0x80,
		0x81, 0xa1, 'a', 0xa1, 'b',
	}
	evs := decode(t, nil, chunk)
	if len(evs) != 1 || evs[0].TimeUnixNano != 1700000000_000000005 || string(evs[0].Body) != `{"a":"b"}` || evs[0].Metadata != nil {
		t.Fatalf("got %+v", evs)
	}
}

func TestDecodeLegacyTimes(t *testing.T) {
	for _, tc := range []struct {
		name string
		time any
		want int64
	}{
		{"EventTime", t0, t0.UnixNano()},
		{"integer seconds", int64(1700000000), 1700000000 * 1e9},
		{"small integer seconds", 5, 5e9},
		{"unsigned integer seconds", uint64(1700000001), 1700000001 * 1e9},
		{"float seconds", 1700000000.25, 1700000000*1e9 + 250000000},
		{"float32 seconds", float32(1.5), 1.5e9},
	} {
		t.Run(tc.name, func(t *testing.T) {
			chunk, err := AppendLegacyRecord(nil, tc.time, map[string]any{"k": "v"})
			if err != nil {
				t.Fatal(err)
			}
			evs := decode(t, nil, chunk)
			if len(evs) != 1 || evs[0].TimeUnixNano != tc.want || string(evs[0].Body) != `{"k":"v"}` || evs[0].Metadata != nil {
				t.Fatalf("got %+v (%s), want time %d", evs, evs[0].Body, tc.want)
			}
		})
	}
}

func TestDecodeSkipsGroupMarkers(t *testing.T) {
	var chunk []byte
	var err error
	chunk, err = AppendGroupMarker(chunk, true, map[string]any{"resource": "r"})
	if err != nil {
		t.Fatal(err)
	}
	chunk = mustRecord(t, chunk, t0, nil, map[string]any{"i": 1})
	chunk = mustRecord(t, chunk, t0, nil, map[string]any{"i": 2})
	if chunk, err = AppendGroupMarker(chunk, false, map[string]any{}); err != nil {
		t.Fatal(err)
	}
	// Integer markers as some encoders write them.
	for _, marker := range []int{-1, -2} {
		if chunk, err = AppendLegacyRecord(chunk, marker, map[string]any{}); err != nil {
			t.Fatal(err)
		}
	}
	chunk = mustRecord(t, chunk, t0, nil, map[string]any{"i": 3})
	evs := decode(t, nil, chunk)
	if len(evs) != 3 {
		t.Fatalf("got %d events, want 3", len(evs))
	}
	for i, ev := range evs {
		if want := `{"i":` + string(rune('1'+i)) + `}`; string(ev.Body) != want {
			t.Errorf("event %d body %s, want %s", i, ev.Body, want)
		}
	}
}

func TestDecodeValueMapping(t *testing.T) {
	body := map[string]any{
		"str":     "tab\tquote\"backslash\\newline\nbell\x07 ünï",
		"bin":     []byte("text in bin"),
		"rawbin":  []byte{0xff, 0x00, 0xfe},
		"nested":  map[string]any{"arr": []any{1, -1, -100, true, false, nil, "x", []any{}}, "empty": map[string]any{}},
		"bigu":    uint64(math.MaxUint64),
		"bign":    int64(math.MinInt64),
		"float":   1.5,
		"float32": float32(0.25),
		"nan":     math.NaN(),
		"inf":     math.Inf(-1),
		"when":    time.Unix(1700000000, 1).UTC(),
	}
	evs := decode(t, nil, mustRecord(t, nil, t0, nil, body))
	var got map[string]any
	dec := json.NewDecoder(strings.NewReader(string(evs[0].Body)))
	dec.UseNumber()
	if err := dec.Decode(&got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"str":     "tab\tquote\"backslash\\newline\nbell\x07 ünï",
		"bin":     "text in bin",
		"rawbin":  "/wD+",
		"bigu":    json.Number("18446744073709551615"),
		"bign":    json.Number("-9223372036854775808"),
		"float":   json.Number("1.5"),
		"float32": json.Number("0.25"),
		"when":    "2023-11-14T22:13:20.000000001Z",
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s = %#v, want %#v", k, got[k], w)
		}
	}
	if got["nan"] != nil || got["inf"] != nil {
		t.Errorf("NaN/Inf should be null, got %v %v", got["nan"], got["inf"])
	}
	if s := string(evs[0].Body); !strings.Contains(s, `"nested":{"arr":[1,-1,-100,true,false,null,"x",[]],"empty":{}}`) {
		t.Errorf("nested values: %s", s)
	}
}

func TestDecodeNonStringKeysAndOtherExt(t *testing.T) {
	// {1: "a", nil: true, 1.5: 2, "e": ext(5, "xy")}
	chunk := []byte{0x92, 0x05, 0x84,
		0x01, 0xa1, 'a',
		0xc0, 0xc3,
		0xca, 0x3f, 0xc0, 0x00, 0x00, 0x02,
		0xa1, 'e', 0xd5, 0x05, 'x', 'y',
	}
	evs := decode(t, nil, chunk)
	if got, want := string(evs[0].Body), `{"1":"a","null":true,"1.5":2,"e":"eHk="}`; got != want {
		t.Fatalf("body %s, want %s", got, want)
	}
}

func TestDecodeMergesLabels(t *testing.T) {
	labels := map[string]string{"env": "prod", "region": "eu-1", "source": "agent"}
	var chunk []byte
	chunk = mustRecord(t, chunk, t0, map[string]any{"source": "record"}, map[string]any{"a": 1})
	chunk = mustRecord(t, chunk, t0, nil, map[string]any{"a": 2})
	chunk, _ = AppendLegacyRecord(chunk, 7, map[string]any{"a": 3})
	evs := decode(t, labels, chunk)
	wants := []string{
		`{"source":"record","env":"prod","region":"eu-1"}`,
		`{"env":"prod","region":"eu-1","source":"agent"}`,
		`{"env":"prod","region":"eu-1","source":"agent"}`,
	}
	for i, w := range wants {
		if string(evs[i].Metadata) != w {
			t.Errorf("event %d metadata %s, want %s", i, evs[i].Metadata, w)
		}
	}
}

func TestDecodeEventsStayValidAfterLaterRecords(t *testing.T) {
	var chunk []byte
	for i := 0; i < 200; i++ {
		chunk = mustRecord(t, chunk, t0, map[string]any{"m": i}, map[string]any{"msg": strings.Repeat("x", i)})
	}
	evs := decode(t, nil, chunk)
	if len(evs) != 200 {
		t.Fatalf("got %d", len(evs))
	}
	for i, ev := range evs {
		var body struct{ Msg string }
		if err := json.Unmarshal(ev.Body, &body); err != nil || len(body.Msg) != i {
			t.Fatalf("event %d body corrupted: %s", i, ev.Body)
		}
		var md struct{ M int }
		if err := json.Unmarshal(ev.Metadata, &md); err != nil || md.M != i {
			t.Fatalf("event %d metadata corrupted: %s", i, ev.Metadata)
		}
	}
}

func TestDecodeEmptyChunk(t *testing.T) {
	evs, err := NewDecoder(nil).Decode(nil, nil)
	if err != nil || len(evs) != 0 {
		t.Fatalf("%v %v", evs, err)
	}
}

func TestDecodeErrors(t *testing.T) {
	good := mustRecord(t, nil, t0, nil, map[string]any{"a": "b"})
	deep := append([]byte{0x92, 0x01, 0x81, 0xa1, 'k'}, []byte(strings.Repeat("\x91", MaxDepth+5))...)
	deep = append(deep, 0x01)
	for _, tc := range []struct {
		name       string
		chunk      []byte
		wantRecord int
		wantOffset int
		wantReason string
	}{
		{"truncated second record", append(append([]byte{}, good...), good[:len(good)-1]...), 1, len(good)*2 - 1, "unexpected end of data"},
		{"root not an array", []byte{0x81, 0xa1, 'a', 0x01}, 0, 1, "must be a 2-element array, got a map of 1"},
		{"root of three", []byte{0x93, 0x01, 0x80, 0x80}, 0, 1, "2-element array, got an array of 3"},
		{"header of three", []byte{0x92, 0x93, 0x01, 0x80, 0x80, 0x80}, 0, 2, "header must be [time, metadata]"},
		{"time is a string", []byte{0x92, 0xa1, 'x', 0x80}, 0, 3, "record time must be an EventTime, integer or float, got a string"},
		{"time ext of wrong type", []byte{0x92, 0xd7, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0x80}, 0, 11, "extension of type 1 with 8 bytes"},
		{"time ext of wrong size", []byte{0x92, 0xd6, 0x00, 0, 0, 0, 0, 0x80}, 0, 7, "type 0 with 4 bytes"},
		{"time negative", []byte{0x92, 0xfd, 0x80}, 0, 2, "is negative"},
		{"time nanoseconds too big", []byte{0x92, 0xd7, 0x00, 0, 0, 0, 1, 0x3b, 0x9a, 0xca, 0x00, 0x80}, 0, 11, "nanoseconds"},
		{"time float NaN", []byte{0x92, 0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 1, 0x80}, 0, 10, "out of range"},
		{"time too large", []byte{0x92, 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x80}, 0, 10, "out of range"},
		{"metadata not a map", []byte{0x92, 0x92, 0x01, 0x90, 0x80}, 0, 4, "metadata must be a map, got an array of 0"},
		{"body not a map", []byte{0x92, 0x01, 0xa1, 'x'}, 0, 4, "body must be a map, got a string"},
		{"never-used type byte", []byte{0x92, 0x01, 0x81, 0xa1, 'k', 0xc1}, 0, 6, "0xc1 is not a msgpack type"},
		{"string longer than chunk", []byte{0x92, 0x01, 0x81, 0xdb, 0xff, 0xff, 0xff, 0xff, 'k'}, 0, 8, "unexpected end of data"},
		{"map count beyond chunk", []byte{0x92, 0x01, 0xdf, 0x7f, 0xff, 0xff, 0xff}, 0, 7, "unexpected end of data"},
		{"map as a map key", []byte{0x92, 0x01, 0x81, 0x81, 0x01, 0x02, 0x03}, 0, 4, "a map key is a map of 1"},
		{"array as a map key", []byte{0x92, 0x01, 0x81, 0x91, 0x01, 0x02}, 0, 4, "a map key is an array of 1"},
		{"nesting too deep", deep, 0, 4 + MaxDepth, "nesting deeper than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := NewDecoder(nil).Decode(tc.chunk, nil)
			var de *Error
			if !errors.As(err, &de) {
				t.Fatalf("want *Error, got %v (events %d)", err, len(evs))
			}
			if de.Record != tc.wantRecord || de.Offset != tc.wantOffset || !strings.Contains(de.Reason, tc.wantReason) {
				t.Fatalf("got record %d offset %d reason %q; want record %d offset %d reason containing %q",
					de.Record, de.Offset, de.Reason, tc.wantRecord, tc.wantOffset, tc.wantReason)
			}
			if !strings.Contains(err.Error(), "record ") || !strings.Contains(err.Error(), "byte offset") {
				t.Fatalf("message does not name record and offset: %v", err)
			}
		})
	}
}
