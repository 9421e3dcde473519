package configstore

import (
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const goodConfig = `{
  "access_keys": {
    "AK-acme-1": {"tenant": "acme", "labels": {"env": "prod"}, "destinations": ["file"]},
    "AK-globex-1": {"tenant": "globex", "max_batch_bytes": 65536, "flush_interval": "250ms", "retry_max_backoff": 10}
  },
  "revoked_token_ids": ["jti-1"]
}`

func TestParseStructured(t *testing.T) {
	snap, err := Parse([]byte(goodConfig), "ferry.json")
	if err != nil {
		t.Fatal(err)
	}
	acme, ok := snap.Lookup("AK-acme-1")
	if !ok || acme.Tenant != "acme" || acme.Labels["env"] != "prod" {
		t.Fatalf("acme = %+v", acme)
	}
	if acme.MaxBatchBytes != DefaultMaxBatchBytes || acme.MaxBatchesInFlight != DefaultMaxBatchesInFlight {
		t.Fatalf("defaults not applied: %+v", acme)
	}
	if !acme.SendsTo("file") || acme.SendsTo("http") {
		t.Fatal("destinations filter wrong")
	}
	globex, _ := snap.Lookup("AK-globex-1")
	if globex.MaxBatchBytes != 65536 || globex.FlushInterval.Duration != 250*time.Millisecond || globex.RetryMaxBackoff.Duration != 10*time.Second {
		t.Fatalf("globex = %+v", globex)
	}
	if !globex.SendsTo("anything") {
		t.Fatal("a key without destinations goes to every destination")
	}
	if !snap.RevokedTokenIDs["jti-1"] {
		t.Fatal("revoked token id missing")
	}
}

func TestParseSeedFormat(t *testing.T) {
	snap, err := Parse([]byte(`{"AK1": {"tenant": "acme"}}`), "seed.json")
	if err != nil {
		t.Fatal(err)
	}
	if a, ok := snap.Lookup("AK1"); !ok || a.Tenant != "acme" {
		t.Fatalf("seed format not read: %+v", snap.AccessKeys)
	}
}

func TestParseErrorsNameFileLineAndProblem(t *testing.T) {
	cases := []struct {
		name, data string
		line       int
		contains   string
	}{
		{"syntax", "{\n  \"AK1\": {\"tenant\": \"acme\",}\n}", 2, "invalid character"},
		{"unknown field", "{\n  \"AK1\": {\"tenant\": \"acme\", \"tennant\": \"x\"}\n}", 2, "unknown field"},
		{"wrong type", "{\"access_keys\": {\n \"AK1\": {\"tenant\": 5}}}", 2, "tenant"},
		{"missing tenant", "{\n\n  \"AK1\": {}\n}", 3, "tenant is required"},
		{"bad access key", "{\"../etc\": {\"tenant\": \"acme\"}}", 1, "access key"},
		{"batch too large", "{\"AK1\": {\"tenant\": \"acme\", \"max_batch_bytes\": 10000000}}", 1, "max_batch_bytes"},
		{"bad duration", "{\"AK1\": {\"tenant\": \"acme\", \"flush_interval\": \"soon\"}}", 1, "duration"},
		{"backoff order", "{\"AK1\": {\"tenant\": \"acme\", \"retry_min_backoff\": \"1m\", \"retry_max_backoff\": \"1s\"}}", 1, "retry_min_backoff"},
		{"null entry", "{\"AK1\": null}", 0, "no settings"},
		{"not an object", "[1,2]", 1, "JSON object"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.data), "ferry.json")
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error = %v, want a ParseError", err)
			}
			if pe.Line != tc.line || !strings.Contains(err.Error(), tc.contains) || !strings.HasPrefix(err.Error(), "ferry.json") {
				t.Fatalf("error = %q (line %d), want line %d and %q", err, pe.Line, tc.line, tc.contains)
			}
		})
	}
}

func TestStoreReloadKeepsLastGoodConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ferry.json")
	write := func(s string) {
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(goodConfig)
	store, err := Open(path, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	changed := store.Changed()
	acmeVersion := store.Current().AccessKeys["AK-acme-1"].Version

	write(`{"access_keys": {"AK-acme-1": {"tenant": "acme", "labels": {"env": "prod"}, "destinations": ["file"]}, "AK-new": {"tenant": "initech"}}}`)
	if ok, err := store.Reload(); !ok || err != nil {
		t.Fatalf("Reload = %v, %v", ok, err)
	}
	select {
	case <-changed:
	default:
		t.Fatal("Changed channel not closed after a reload")
	}
	snap := store.Current()
	if _, ok := snap.Lookup("AK-new"); !ok {
		t.Fatal("new key not loaded")
	}
	if _, ok := snap.Lookup("AK-globex-1"); ok {
		t.Fatal("removed key still present")
	}
	if snap.AccessKeys["AK-acme-1"].Version != acmeVersion {
		t.Fatal("an unchanged entry got a new version")
	}
	if snap.AccessKeys["AK-new"].Version != snap.Generation {
		t.Fatal("a new entry did not get the new generation as version")
	}

	write(`{"access_keys": {`)
	if ok, err := store.Reload(); ok || err == nil {
		t.Fatalf("broken edit: Reload = %v, %v", ok, err)
	}
	if _, ok := store.Current().Lookup("AK-new"); !ok {
		t.Fatal("a broken edit replaced the last good configuration")
	}
	if ok, _ := store.Reload(); ok {
		t.Fatal("an unchanged file counted as a change")
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := Open(filepath.Join(t.TempDir(), "missing.json"), slog.Default()); err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Fatalf("missing file error = %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(goodConfig))
	f.Add([]byte(`{"AK1": {"tenant": "acme"}}`))
	f.Add([]byte(`{"access_keys": null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		snap, err := Parse(data, "fuzz.json")
		if err != nil {
			return
		}
		for key, a := range snap.AccessKeys {
			if !ValidAccessKey(key) || a.Tenant == "" || a.MaxBatchBytes < minMaxBatchBytes || a.MaxBatchesInFlight < 1 {
				t.Fatalf("accepted an invalid entry %q: %+v", key, a)
			}
		}
	})
}
