package jsonvalid

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

var cases = []string{
	`{}`, ` { } `, `{"a":1}`, `{"a":[1,2,{"b":null}],"c":"x\"y\\z\u00e9\n"}`, `[]`, `[1,]`, `{"a":1,}`,
	`{"a" 1}`, `{a:1}`, `"str"`, `"unterminated`, "\"ctl\x01\"", `"bad \x escape"`, `"\u12"`, `"\u12G4"`,
	`0`, `-0`, `01`, `-`, `1.`, `1.5`, `.5`, `1e`, `1e+`, `1e5`, `1E-5`, `-1.5e+10`, `1.5e`, `+1`,
	`true`, `tru`, `truex`, `false`, `null`, `nul`, `NaN`, ``, ` `, `{} {}`, `{}x`, `[1 2]`,
	"{\"a\":\"\xff\xfe\"}", `{"a":{"b":{"c":[[[]]]}}}`, "\t\r\n{\"a\" : 1 }\n", `{"a":1 "b":2}`,
	`[`, `{`, `{"a":`, `{"a"`, `[1,`, `"\`, `{"\u0041":true}`,
}

func TestAgreesWithEncodingJSON(t *testing.T) {
	for _, c := range cases {
		want := json.Valid([]byte(c))
		if got := Value([]byte(c)); got != want {
			t.Errorf("Value(%q) = %v, encoding/json says %v", c, got, want)
		}
		wantObject := want && strings.HasPrefix(strings.TrimLeft(c, " \t\r\n"), "{")
		if got := Object([]byte(c)); got != wantObject {
			t.Errorf("Object(%q) = %v, want %v", c, got, wantObject)
		}
	}
}

func TestNestingLimitMatchesEncodingJSON(t *testing.T) {
	for _, depth := range []int{maxDepth - 1, maxDepth, maxDepth + 1} {
		doc := []byte(strings.Repeat("[", depth) + strings.Repeat("]", depth))
		if got, want := Value(doc), json.Valid(doc); got != want {
			t.Errorf("depth %d: Value = %v, encoding/json says %v", depth, got, want)
		}
	}
}

func FuzzAgreesWithEncodingJSON(f *testing.F) {
	for _, c := range cases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		want := json.Valid(b)
		if got := Value(b); got != want {
			t.Fatalf("Value(%q) = %v, encoding/json says %v", b, got, want)
		}
		if got := Object(b); got != (want && bytes.HasPrefix(bytes.TrimLeft(b, " \t\r\n"), []byte("{"))) {
			t.Fatalf("Object(%q) = %v", b, got)
		}
	})
}

var logLine = []byte(`{"time":"2026-11-21T09:00:00.000Z","level":"info","service":"checkout","msg":"order placed for customer 88231 after 3 attempts","order_id":"o-1001","amount_cents":4599,"tags":["web","eu-west-1"],"latency_ms":12.5,"ok":true}`)

func BenchmarkObject(b *testing.B) {
	b.SetBytes(int64(len(logLine)))
	for b.Loop() {
		if !Object(logLine) {
			b.Fatal("invalid")
		}
	}
}

func BenchmarkEncodingJSONValid(b *testing.B) {
	b.SetBytes(int64(len(logLine)))
	for b.Loop() {
		if !json.Valid(logLine) {
			b.Fatal("invalid")
		}
	}
}
