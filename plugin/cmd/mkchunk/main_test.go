package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ferrylog/ferry/plugin/internal/msgpackchunk"
)

func TestRoundTripThroughTheDecoder(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	os.WriteFile(in, []byte(`{"msg":"a","n":1,"time":"2026-01-02T03:04:05.5Z"}

{"msg":"b","f":1.25,"time":1700000000}
`), 0o600)
	for _, legacy := range []bool{false, true} {
		out := filepath.Join(dir, "out.mp")
		if err := run(out, legacy, "time", `{"source":"sample"}`, []string{in}); err != nil {
			t.Fatal(err)
		}
		chunk, _ := os.ReadFile(out)
		evs, err := msgpackchunk.NewDecoder(nil).Decode(chunk, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 2 {
			t.Fatalf("legacy=%v: %d events", legacy, len(evs))
		}
		if want := time.Date(2026, 1, 2, 3, 4, 5, 5e8, time.UTC).UnixNano(); evs[0].TimeUnixNano != want {
			t.Errorf("legacy=%v: time %d, want %d", legacy, evs[0].TimeUnixNano, want)
		}
		if evs[1].TimeUnixNano != 1700000000e9 {
			t.Errorf("legacy=%v: time %d", legacy, evs[1].TimeUnixNano)
		}
		if got := string(evs[0].Body); got != `{"msg":"a","n":1,"time":"2026-01-02T03:04:05.5Z"}` {
			t.Errorf("body %s", got)
		}
		wantMD := `{"source":"sample"}`
		if legacy {
			wantMD = ""
		}
		if string(evs[0].Metadata) != wantMD {
			t.Errorf("legacy=%v: metadata %s", legacy, evs[0].Metadata)
		}
	}
}

func TestRejectsBadInput(t *testing.T) {
	dir := t.TempDir()
	for name, text := range map[string]string{"array": "[1]\n", "garbage": "{nope\n", "empty": "\n\n", "bad time": `{"time":"yesterday"}`} {
		in := filepath.Join(dir, "in.jsonl")
		os.WriteFile(in, []byte(text), 0o600)
		if err := run(filepath.Join(dir, "o.mp"), false, "time", "", []string{in}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
