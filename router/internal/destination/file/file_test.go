package file

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferrylog/ferry/internal/record"
	ingestv1 "github.com/ferrylog/ferry/proto/ferry/ingest/v1"
	recordv1 "github.com/ferrylog/ferry/proto/ferry/record/v1"
	"github.com/ferrylog/ferry/router/internal/destination"
	"github.com/ferrylog/ferry/router/internal/dlq"
)

func batch(accessKey, agent, tag string, events ...*ingestv1.Event) *destination.Batch {
	return &destination.Batch{
		Meta:   record.Meta{Tenant: "acme", AccessKey: accessKey, AgentID: agent, BatchID: agent + "-1-1"},
		Stored: &recordv1.StoredBatch{Tenant: "acme", AccessKey: accessKey, AgentId: agent, Tag: tag, Events: events},
	}
}

func ev(nanos int64, body, metadata string) *ingestv1.Event {
	e := &ingestv1.Event{TimeUnixNano: nanos, Body: []byte(body)}
	if metadata != "" {
		e.Metadata = []byte(metadata)
	}
	return e
}

func newDest(t *testing.T) (*Destination, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "out")
	d, err := New(Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d, dir
}

func read(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestWriteExactLinesOneFilePerAccessKey(t *testing.T) {
	d, dir := newDest(t)
	var synced []string
	d.fsync = func(f *os.File) error { synced = append(synced, filepath.Base(f.Name())); return f.Sync() }

	n, err := d.Write(context.Background(), []*destination.Batch{
		batch("AK-1", "host-a", "app.log",
			ev(1_700_000_000_000_000_001, `{"msg":"a1","n":1}`, ""),
			ev(1_700_000_000_123_000_000, `{"msg":"a2"}`, `{"k":"v"}`)),
		batch("AK-2", "host-b", `tag"q`, ev(0, `{ "spaced" : true }`, "")),
		batch("AK-1", "host-c", "app.log", ev(1_700_000_001_000_000_000, "{\n  \"multi\": \"line\"\n}", "")),
	})
	if err != nil {
		t.Fatal(err)
	}
	want1 := `{"time":"2023-11-14T22:13:20.000000001Z","tag":"app.log","agent_id":"host-a","batch_id":"host-a-1-1","record":{"msg":"a1","n":1}}` + "\n" +
		`{"time":"2023-11-14T22:13:20.123000000Z","tag":"app.log","agent_id":"host-a","batch_id":"host-a-1-1","record":{"msg":"a2"},"metadata":{"k":"v"}}` + "\n" +
		`{"time":"2023-11-14T22:13:21.000000000Z","tag":"app.log","agent_id":"host-c","batch_id":"host-c-1-1","record":{"multi":"line"}}` + "\n"
	want2 := `{"time":"1970-01-01T00:00:00.000000000Z","tag":"tag\"q","agent_id":"host-b","batch_id":"host-b-1-1","record":{ "spaced" : true }}` + "\n"
	if got := read(t, filepath.Join(dir, "AK-1.log")); got != want1 {
		t.Errorf("AK-1.log:\n got %q\nwant %q", got, want1)
	}
	if got := read(t, filepath.Join(dir, "AK-2.log")); got != want2 {
		t.Errorf("AK-2.log:\n got %q\nwant %q", got, want2)
	}
	if n != int64(len(want1)+len(want2)) {
		t.Errorf("Write reported %d bytes, wrote %d", n, len(want1)+len(want2))
	}
	if strings.Join(synced, ",") != "AK-1.log,AK-2.log" {
		t.Errorf("fsynced %v, want each touched file once", synced)
	}
	logs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	if len(logs) != 2 {
		t.Errorf("directory has %d data files, want 2", len(logs))
	}

	// A second group appends to the same files.
	if _, err := d.Write(context.Background(), []*destination.Batch{batch("AK-2", "host-b", "t", ev(0, `{}`, ""))}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(read(t, filepath.Join(dir, "AK-2.log")), "\n"); got != 2 {
		t.Errorf("AK-2.log has %d lines after the second write, want 2", got)
	}
}

func TestFailedFsyncLeavesNoPartialLines(t *testing.T) {
	d, dir := newDest(t)
	if _, err := d.Write(context.Background(), []*destination.Batch{batch("AK-1", "h", "t", ev(1, `{"first":1}`, ""))}); err != nil {
		t.Fatal(err)
	}
	before := read(t, filepath.Join(dir, "AK-1.log"))
	diskFull := errors.New("no space left on device")
	d.fsync = func(*os.File) error { return diskFull }
	_, err := d.Write(context.Background(), []*destination.Batch{
		batch("AK-1", "h", "t", ev(2, `{"second":2}`, "")),
		batch("AK-3", "h", "t", ev(3, `{"third":3}`, "")),
	})
	if !errors.Is(err, diskFull) {
		t.Fatalf("Write error = %v, want the fsync error", err)
	}
	if got := read(t, filepath.Join(dir, "AK-1.log")); got != before {
		t.Errorf("AK-1.log after failed write = %q, want it cut back to %q", got, before)
	}
	if got := read(t, filepath.Join(dir, "AK-3.log")); got != "" {
		t.Errorf("AK-3.log after failed write = %q, want empty", got)
	}
	// The retry after recovery writes each line once.
	d.fsync = (*os.File).Sync
	if _, err := d.Write(context.Background(), []*destination.Batch{batch("AK-1", "h", "t", ev(2, `{"second":2}`, ""))}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(read(t, filepath.Join(dir, "AK-1.log")), "second"); got != 1 {
		t.Errorf("second line written %d times, want 1", got)
	}
}

func TestUnwritableDirectoryIsAnError(t *testing.T) {
	d, dir := newDest(t)
	// A file where the directory was fails for root too, unlike chmod.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir, []byte("not a dir"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := d.Write(context.Background(), []*destination.Batch{batch("AK-1", "h", "t", ev(1, `{}`, ""))})
	if err == nil || !strings.Contains(err.Error(), "AK-1.log") {
		t.Fatalf("Write error = %v, want an error naming the file", err)
	}
	if _, err := New(Config{Dir: filepath.Join(dir, "sub")}); err == nil {
		t.Fatal("New under a regular file succeeded")
	}
	if _, err := New(Config{}); err == nil {
		t.Fatal("New without a directory succeeded")
	}
}

func TestValidateRefusesUnsafeAccessKeys(t *testing.T) {
	d, _ := newDest(t)
	for _, key := range []string{"../etc", "a/b", `a\b`, "..", ".", "", ".hidden", "AK 1"} {
		err := d.Validate(batch(key, "h", "t"))
		var rejected *dlq.Error
		if !errors.As(err, &rejected) || rejected.Reason != dlq.ReasonBadAccessKey {
			t.Errorf("Validate(%q) = %v, want a %s rejection", key, err, dlq.ReasonBadAccessKey)
		}
	}
	if err := d.Validate(batch("AK-1.prod_x", "h", "t")); err != nil {
		t.Errorf("Validate(good key) = %v", err)
	}
	headersOnly := batch("AK-1", "h", "t")
	headersOnly.Stored = nil
	if err := d.Validate(headersOnly); !errors.Is(err, destination.ErrNoEvents) {
		t.Errorf("Validate(undecrypted) = %v, want ErrNoEvents", err)
	}
}
