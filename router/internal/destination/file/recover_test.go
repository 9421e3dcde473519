package file

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferrylog/ferry/router/internal/destination"
)

// crash releases d the way a killed process does: files closed, the index
// left without its clean-close line.
func crash(t *testing.T, d *Destination) {
	t.Helper()
	for key, f := range d.files {
		f.Close()
		delete(d.files, key)
	}
	if err := d.index.Close(false); err != nil {
		t.Fatal(err)
	}
}

func reopen(t *testing.T, dir string) *Destination {
	t.Helper()
	d, err := New(Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func withID(b *destination.Batch, id string) *destination.Batch {
	b.Meta.BatchID = id
	return b
}

func write(t *testing.T, d *Destination, batches ...*destination.Batch) {
	t.Helper()
	if _, err := d.Write(context.Background(), batches); err != nil {
		t.Fatal(err)
	}
}

func appendFile(t *testing.T, path, data string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(data); err != nil {
		t.Fatal(err)
	}
}

func TestWrittenIDsSurviveRestart(t *testing.T) {
	d, dir := newDest(t)
	write(t, d, withID(batch("AK-1", "h", "t", ev(1, `{"a":1}`, "")), "h-1-1"),
		withID(batch("AK-2", "h", "t", ev(2, `{"b":2}`, "")), "h-1-2"))
	if !d.Written("h-1-1") || !d.Written("h-1-2") || d.Written("h-1-3") {
		t.Fatal("ids not written after Write")
	}
	crash(t, d)
	d = reopen(t, dir)
	if !d.Written("h-1-1") || !d.Written("h-1-2") || d.Written("h-1-3") {
		t.Fatal("ids lost by a restart")
	}
	if got := read(t, filepath.Join(dir, "AK-1.log")); !strings.Contains(got, `"batch_id":"h-1-1"`) || strings.Count(got, "\n") != 1 {
		t.Fatalf("AK-1.log = %q", got)
	}
}

// A crash after the data fsync and before the index fsync leaves complete
// lines whose ids the index lacks, here a whole batch and part of another
// (a kill between pages of one large write), and a torn line. Start-up
// cuts all of it: those offsets were never marked, so Kafka delivers the
// batches again, and then they are written whole, once.
func TestUnconfirmedTailIsCutAfterACrash(t *testing.T) {
	d, dir := newDest(t)
	path := filepath.Join(dir, "AK-1.log")
	write(t, d, withID(batch("AK-1", "h", "t", ev(1, `{"n":1}`, "")), "h-1-1"))
	confirmed := read(t, path)
	crash(t, d)
	appendFile(t, path, `{"time":"x","tag":"t","agent_id":"h","batch_id":"h-1-2","record":{"n":2}}`+"\n"+
		`{"time":"x","tag":"t","agent_id":"h","batch_id":"h-1-3","record":{"n":3}}`+"\n"+
		`{"time":"x","tag":"t","agent_id":"h","batch_id":"h-1-3","rec`)

	d = reopen(t, dir)
	if got := read(t, path); got != confirmed {
		t.Fatalf("after recovery AK-1.log = %q, want the confirmed %q", got, confirmed)
	}
	if !d.Written("h-1-1") || d.Written("h-1-2") || d.Written("h-1-3") {
		t.Fatal("recovery must remember only the confirmed batch")
	}
	write(t, d, withID(batch("AK-1", "h", "t", ev(2, `{"n":2}`, "")), "h-1-2"),
		withID(batch("AK-1", "h", "t", ev(3, `{"n":3}`, ""), ev(4, `{"n":4}`, "")), "h-1-3"))
	got := read(t, path)
	if strings.Count(got, "\n") != 4 || strings.Count(got, `"batch_id":"h-1-3"`) != 2 {
		t.Fatalf("after redelivery AK-1.log =\n%s", got)
	}
}

// A file created by a group that crashed before its index entries is cut to
// empty: the checkpoint recorded before its first write says so.
func TestNewFileOfACrashedGroupIsEmptied(t *testing.T) {
	d, dir := newDest(t)
	if _, err := d.open("AK-late"); err != nil { // creates the file and its checkpoint at 0
		t.Fatal(err)
	}
	crash(t, d)
	late := filepath.Join(dir, "AK-late.log")
	appendFile(t, late, `{"batch_id":"h-2-1"}`+"\n")
	d = reopen(t, dir)
	if got := read(t, late); got != "" {
		t.Fatalf("AK-late.log = %q, want empty", got)
	}
	if d.Written("h-2-1") {
		t.Fatal("unconfirmed id remembered")
	}
}

// The index append of a group can itself be torn between two batches of one
// file: each entry records the size after its own batch, so recovery keeps
// exactly the batches the index names and the rest is delivered again.
func TestIndexTornBetweenBatchesKeepsTheNamedOnes(t *testing.T) {
	d, dir := newDest(t)
	path := filepath.Join(dir, "AK-1.log")
	write(t, d, withID(batch("AK-1", "h", "t", ev(1, `{"n":1}`, "")), "h-1-1"))
	afterFirst := read(t, path)
	write(t, d, withID(batch("AK-1", "h", "t", ev(2, `{"n":2}`, "")), "h-1-2"),
		withID(batch("AK-1", "h", "t", ev(3, `{"n":3}`, "")), "h-1-3"))
	crash(t, d)
	idx := filepath.Join(dir, ".ferry", "written.idx")
	data := read(t, idx)
	lines := strings.SplitAfter(strings.TrimSuffix(data, "\n"), "\n")
	last := lines[len(lines)-1] // the entry of h-1-3, without its newline
	if !strings.Contains(last, `"h-1-3"`) {
		t.Fatalf("last index line %q", last)
	}
	os.WriteFile(idx, []byte(data[:len(data)-len(last)/2]), 0o640)

	d = reopen(t, dir)
	if !d.Written("h-1-2") || d.Written("h-1-3") {
		t.Fatalf("h-1-2 %v h-1-3 %v, want only h-1-2", d.Written("h-1-2"), d.Written("h-1-3"))
	}
	got := read(t, path)
	if !strings.HasPrefix(got, afterFirst) || strings.Count(got, "\n") != 2 || !strings.Contains(got, `"h-1-2"`) {
		t.Fatalf("AK-1.log after recovery =\n%s", got)
	}
}

func TestTornLastLineOfUnknownFileIsCut(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	os.MkdirAll(dir, 0o750)
	path := filepath.Join(dir, "AK-old.log")
	appendFile(t, path, "{\"n\":1}\n{\"n\":2}\n{\"n\"")
	d := reopen(t, dir)
	if got := read(t, path); got != "{\"n\":1}\n{\"n\":2}\n" {
		t.Fatalf("AK-old.log = %q", got)
	}
	// The adopted size is recorded: the next group appends after it.
	write(t, d, withID(batch("AK-old", "h", "t", ev(1, `{"n":3}`, "")), "h-1-1"))
	if got := strings.Count(read(t, path), "\n"); got != 3 {
		t.Fatalf("%d lines, want 3", got)
	}
}

// After a clean stop, data past the recorded size was not left by this
// router (another writer, a rollback to a router without an index): it is
// kept, never cut.
func TestGrowthAfterCleanCloseIsKept(t *testing.T) {
	d, dir := newDest(t)
	path := filepath.Join(dir, "AK-1.log")
	write(t, d, withID(batch("AK-1", "h", "t", ev(1, `{}`, "")), "h-1-1"))
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	appendFile(t, path, "{\"other\":1}\n")
	want := read(t, path)
	d = reopen(t, dir)
	if got := read(t, path); got != want {
		t.Fatalf("AK-1.log = %q, want %q kept", got, want)
	}
	// And a file rotated (shorter than recorded) is kept too.
	crash(t, d)
	os.WriteFile(path, []byte("{\"rotated\":1}\n"), 0o640)
	d = reopen(t, dir)
	if got := read(t, path); got != "{\"rotated\":1}\n" || !d.Written("h-1-1") {
		t.Fatalf("rotated AK-1.log = %q", got)
	}
}

// A process that starts after a clean close and is killed before it records
// anything must not make its unconfirmed write look like someone else's.
func TestCrashAfterCleanRestartStillCutsTheTail(t *testing.T) {
	d, dir := newDest(t)
	path := filepath.Join(dir, "AK-1.log")
	write(t, d, withID(batch("AK-1", "h", "t", ev(1, `{}`, "")), "h-1-1"))
	confirmed := read(t, path)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	d = reopen(t, dir)
	crash(t, d) // killed after writing data, before its index entries
	appendFile(t, path, `{"batch_id":"h-1-2"}`+"\n")
	d = reopen(t, dir)
	if got := read(t, path); got != confirmed || d.Written("h-1-2") {
		t.Fatalf("AK-1.log = %q, want the confirmed %q", got, confirmed)
	}
}
