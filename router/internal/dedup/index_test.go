package dedup

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func openIndex(t *testing.T, path string, c *clock, opt Options) *Index {
	t.Helper()
	opt.Now = c.now
	x, err := Open(path, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close(false) })
	return x
}

func written(id, file string, end int64, at time.Time) Entry {
	return Entry{Kind: KindWritten, Time: at, File: file, End: end, ID: id}
}

// crash releases the index as a killed process would: no clean-close line.
func crash(t *testing.T, x *Index) {
	t.Helper()
	if err := x.Close(false); err != nil {
		t.Fatal(err)
	}
}

func TestIndexSurvivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".ferry", "written.idx")
	c := &clock{time.Unix(1_700_000_000, 0)}
	x := openIndex(t, path, c, Options{})
	if !x.Created() || x.ClosedCleanly() {
		t.Fatalf("new index: created %v clean %v", x.Created(), x.ClosedCleanly())
	}
	odd := "agent \"7\"\n-1-2" // any header value round-trips
	if err := x.Append(
		Entry{Kind: KindCheckpoint, Time: c.t, File: "AK-1.log", End: 0},
		written("h-1-1", "AK-1.log", 100, c.t),
		written(odd, "AK-2.log", 50, c.t),
		written("h-1-2", "AK-1.log", 180, c.t),
	); err != nil {
		t.Fatal(err)
	}
	if !x.Written("h-1-1") || !x.Written(odd) || x.Written("h-1-3") {
		t.Fatal("ids not remembered after Append")
	}
	crash(t, x)

	x = openIndex(t, path, c, Options{})
	if x.Created() || x.ClosedCleanly() {
		t.Fatalf("reopened after a crash: created %v clean %v", x.Created(), x.ClosedCleanly())
	}
	if !x.Written("h-1-1") || !x.Written("h-1-2") || !x.Written(odd) || x.Written("h-1-3") || x.Len() != 3 {
		t.Fatalf("after reopen: %d ids", x.Len())
	}
	if end, _ := x.End("AK-1.log"); end != 180 {
		t.Fatalf("AK-1.log end %d, want the last recorded 180", end)
	}
	if err := x.Close(true); err != nil {
		t.Fatal(err)
	}
	x = openIndex(t, path, c, Options{})
	if !x.ClosedCleanly() || !x.Written(odd) {
		t.Fatalf("after a clean close: clean %v", x.ClosedCleanly())
	}
}

func TestIndexCutsTornLineAndSkipsDamage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "written.idx")
	c := &clock{time.Unix(1_700_000_000, 0)}
	x := openIndex(t, path, c, Options{})
	if err := x.Append(written("a", "f.log", 10, c.t), written("b", "f.log", 20, c.t)); err != nil {
		t.Fatal(err)
	}
	crash(t, x)
	data, _ := os.ReadFile(path)
	// Damage line "a" in place (a flipped digit: the checksum catches it),
	// and leave half of a third line at the end, as a crash mid-append does.
	lineA := string(appendLine(nil, written("a", "f.log", 10, c.t)))
	if !strings.Contains(string(data), lineA) {
		t.Fatalf("index lacks %q:\n%s", lineA, data)
	}
	damaged := strings.Replace(string(data), lineA, strings.Replace(lineA, "10", "19", 1), 1)
	torn := appendLine(nil, written("c", "f.log", 30, c.t))
	torn = torn[:len(torn)/2]
	os.WriteFile(path, append([]byte(damaged), torn...), 0o640)

	x = openIndex(t, path, c, Options{})
	if x.Written("a") || !x.Written("b") || x.Written("c") {
		t.Fatalf("a=%v b=%v c=%v, want only b", x.Written("a"), x.Written("b"), x.Written("c"))
	}
	if err := x.Append(written("d", "f.log", 40, c.t)); err != nil {
		t.Fatal(err)
	}
	crash(t, x)
	x = openIndex(t, path, c, Options{})
	if !x.Written("b") || !x.Written("d") {
		t.Fatal("a line appended after the torn one was lost")
	}
	if end, _ := x.End("f.log"); end != 40 {
		t.Fatalf("end %d, want 40", end)
	}
}

func TestIndexWindowAndMaxCountSurviveReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "written.idx")
	c := &clock{time.Unix(1_700_000_000, 0)}
	opt := Options{Window: time.Hour, MaxIDs: 3}
	x := openIndex(t, path, c, opt)
	for i := range 5 {
		if err := x.Append(written(fmt.Sprint("id-", i), "f.log", int64(i+1)*10, c.t.Add(time.Duration(i)*time.Minute))); err != nil {
			t.Fatal(err)
		}
	}
	if x.Len() != 3 || x.Written("id-1") || !x.Written("id-2") {
		t.Fatalf("max count: len %d", x.Len())
	}
	crash(t, x)
	c.t = c.t.Add(time.Hour + 3*time.Minute + 30*time.Second) // id-2 and id-3 are past the window
	x = openIndex(t, path, c, opt)
	if x.Len() != 1 || !x.Written("id-4") || x.Written("id-3") || x.Written("id-0") {
		t.Fatalf("after reopen: len %d, id-4 %v", x.Len(), x.Written("id-4"))
	}
	// Start-up compaction kept only what is live, and the file's size.
	data, _ := os.ReadFile(path)
	if got := strings.Count(string(data), "\n"); got != 4 { // header, id-4, checkpoint, opened
		t.Fatalf("compacted index has %d lines:\n%s", got, data)
	}
	if end, _ := x.End("f.log"); end != 50 {
		t.Fatalf("end %d after compaction, want 50", end)
	}
}

func TestIndexCompactsWhenItGrowsAndKeepsLiveIDs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "written.idx")
	c := &clock{time.Unix(1_700_000_000, 0)}
	opt := Options{Window: time.Hour, MaxIDs: 100}
	x := openIndex(t, path, c, opt)
	x.fsync = func(*os.File) error { return nil } // thousands of appends: durability is not what this tests
	total := 3 * minCompactSlack
	for i := range total {
		if err := x.Append(written(fmt.Sprint("id-", i), fmt.Sprintf("f%d.log", i%3), int64(i), c.t)); err != nil {
			t.Fatal(err)
		}
	}
	if x.lines > 100+3+minCompactSlack {
		t.Fatalf("index holds %d lines for 100 live ids: never compacted", x.lines)
	}
	data, _ := os.ReadFile(path)
	if n := bytes.Count(data, []byte("\n")) - 1; n != x.lines {
		t.Fatalf("file has %d lines, index counts %d", n, x.lines)
	}
	crash(t, x)
	x = openIndex(t, path, c, opt)
	for i := total - 100; i < total; i++ {
		if !x.Written(fmt.Sprint("id-", i)) {
			t.Fatalf("live id-%d lost by compaction", i)
		}
	}
	if x.Len() != 100 || x.Written(fmt.Sprint("id-", total-101)) {
		t.Fatalf("len %d after reopen", x.Len())
	}
	for f, want := range map[string]int64{"f0.log": int64(total - 3), "f1.log": int64(total - 2), "f2.log": int64(total - 1)} {
		if end, _ := x.End(f); end != want {
			t.Errorf("%s end %d, want %d", f, end, want)
		}
	}
	if _, err := os.Stat(path + ".tmp"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("compaction left its temporary file: %v", err)
	}
}

func TestIndexFailedAppendRecordsNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "written.idx")
	c := &clock{time.Unix(1_700_000_000, 0)}
	x := openIndex(t, path, c, Options{})
	diskFull := errors.New("no space left on device")
	x.fsync = func(*os.File) error { return diskFull }
	if err := x.Append(written("a", "f.log", 10, c.t)); !errors.Is(err, diskFull) {
		t.Fatalf("Append = %v, want the fsync error", err)
	}
	if x.Written("a") {
		t.Fatal("an id whose entry failed to be durable is remembered")
	}
	x.fsync = (*os.File).Sync
	if err := x.Append(written("b", "f.log", 20, c.t)); err != nil {
		t.Fatal(err)
	}
	crash(t, x)
	x = openIndex(t, path, c, Options{})
	if x.Written("a") || !x.Written("b") {
		t.Fatalf("after reopen: a=%v b=%v", x.Written("a"), x.Written("b"))
	}
}

func TestIndexIsExclusiveAndRefusesForeignFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "written.idx")
	c := &clock{time.Unix(1_700_000_000, 0)}
	openIndex(t, path, c, Options{})
	if _, err := Open(path, Options{}); err == nil || !strings.Contains(err.Error(), "another router") {
		t.Fatalf("second Open = %v, want a lock error", err)
	}
	other := filepath.Join(dir, "other.idx")
	os.WriteFile(other, []byte("something else\n"), 0o640)
	if _, err := Open(other, Options{}); err == nil || !strings.Contains(err.Error(), "not a dedup index") {
		t.Fatalf("Open(foreign) = %v", err)
	}
	if _, err := Open(filepath.Join(dir, "x.idx"), Options{Window: -time.Hour}); err == nil {
		t.Fatal("negative window accepted")
	}
}
