package file

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/ferrylog/ferry/internal/configstore"
	"github.com/ferrylog/ferry/router/internal/dedup"
	"github.com/ferrylog/ferry/router/internal/destination"
	"github.com/ferrylog/ferry/router/internal/dlq"
)

// Destination appends events to <Dir>/<access-key>.log. It is safe for
// concurrent use: the consumer writes from one goroutine per partition, and
// two partitions may carry agents of the same access key, so writes are
// serialized (a group is one write and one fsync per file, which keeps the
// lock short).
type Destination struct {
	cfg   Config
	mu    sync.Mutex
	index *dedup.Index
	files map[string]*os.File // open files by access key, kept open between groups
	buf   []byte              // lines of the current group, reused
	ends  []int               // per batch of the current group: its end in buf
	// unclean is set when a failed write could not be cut back: then the
	// files may hold unconfirmed lines, and Close must not claim otherwise.
	unclean bool
	// fsync is os.File.Sync; tests replace it to see the durability path.
	fsync func(*os.File) error
}

var (
	_ destination.Destination  = (*Destination)(nil)
	_ destination.Deduplicator = (*Destination)(nil)
)

// indexPath is where the dedup index lives, inside the destination
// directory: it describes these files and must move with them. Access keys
// cannot start with a dot, so it never collides with a data file.
const indexPath = ".ferry/written.idx"

// New creates the directory when missing, opens the dedup index and makes
// every data file agree with it (see recover.go). A directory that cannot be
// created or an index that cannot be read is a start-up error; a directory
// that fails later makes Write fail and be retried.
func New(cfg Config) (*Destination, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("create the file destination directory: %w", err)
	}
	index, err := dedup.Open(filepath.Join(cfg.Dir, indexPath), cfg.dedupOptions())
	if err != nil {
		return nil, err
	}
	d := &Destination{cfg: cfg, index: index, files: map[string]*os.File{}, fsync: (*os.File).Sync}
	if err := d.recoverFiles(); err != nil {
		index.Close(false)
		return nil, err
	}
	return d, nil
}

// Written reports whether the batch id was durably written here (within
// the dedup window); it implements destination.Deduplicator.
func (d *Destination) Written(id string) bool { return d.index.Written(id) }

// Validate refuses access keys that are not safe file names. The config
// store allows only a safe alphabet, but the record headers come from Kafka,
// so the check is repeated where the name becomes a path.
func (d *Destination) Validate(b *destination.Batch) error {
	key := b.Meta.AccessKey
	if strings.ContainsAny(key, `/\`) || key == "." || key == ".." || !configstore.ValidAccessKey(key) {
		return dlq.Reject(dlq.ReasonBadAccessKey, fmt.Errorf("access key %q cannot name a file", key))
	}
	if b.Stored == nil {
		return destination.ErrNoEvents
	}
	return nil
}

// Write appends every event of the batches to its access key's file, then
// fsyncs each touched file once, then records the batch ids with each
// batch's end offset in the dedup index and fsyncs it. Only then is the
// group confirmed. On error the touched files are cut back to their size
// before the call, so a retry does not duplicate lines.
//
// Write does not drop batches already written: the consumer asks Written
// first, so it can count and log what it drops.
func (d *Destination) Write(_ context.Context, batches []*destination.Batch) (int64, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, b := range batches {
		if b.Stored == nil {
			return 0, destination.ErrNoEvents
		}
	}
	spans := d.render(batches)
	type written struct {
		f    *os.File
		key  string
		size int64
	}
	var done []written
	var total int64
	fail := func(err error) (int64, error) {
		for _, w := range done {
			// Keep retries from duplicating lines. If the cut fails, the
			// next start-up cuts back to the index's record instead.
			if w.f.Truncate(w.size) != nil {
				d.unclean = true
			}
			d.drop(w.key)
		}
		return 0, err
	}
	for _, sp := range spans {
		key := sp.key
		f, err := d.open(key)
		if err != nil {
			return fail(err)
		}
		info, err := f.Stat()
		if err != nil {
			d.drop(key)
			return fail(fmt.Errorf("stat %s: %w", f.Name(), err))
		}
		done = append(done, written{f: f, key: key, size: info.Size()})
		n, err := f.Write(d.buf[sp.start:sp.end])
		total += int64(n)
		if err != nil {
			return fail(fmt.Errorf("write %s: %w", f.Name(), err))
		}
	}
	for _, w := range done {
		if err := d.fsync(w.f); err != nil {
			// After a failed fsync the page cache state is unknown: reopen.
			return fail(fmt.Errorf("fsync %s: %w", w.f.Name(), err))
		}
	}
	// Each batch's entry carries the file size just after its own lines, so
	// an index append torn between two batches keeps exactly the data of
	// the batches it names (recover.go cuts the rest).
	now := d.cfg.Now()
	entries := make([]dedup.Entry, 0, len(batches))
	for i, b := range batches {
		sp := spans[slices.IndexFunc(spans, func(s span) bool { return s.key == b.Meta.AccessKey })]
		base := done[slices.IndexFunc(done, func(w written) bool { return w.key == sp.key })].size
		entries = append(entries, dedup.Entry{
			Kind: dedup.KindWritten, Time: now, ID: b.ID(),
			File: fileName(sp.key), End: base + int64(d.ends[i]-sp.start),
		})
	}
	if err := d.index.Append(entries...); err != nil {
		return fail(err)
	}
	return total, nil
}

// span is the rendered lines of one access key in the group buffer.
type span struct {
	key        string
	start, end int
}

// render writes the group's lines into d.buf, kept between calls, grouped
// by file so each file gets one write and one fsync; batches keep their
// order within a file. d.ends[i] is where batch i's lines end in d.buf.
func (d *Destination) render(batches []*destination.Batch) []span {
	var spans []span
	buf := d.buf[:0]
	d.ends = slices.Grow(d.ends[:0], len(batches))[:len(batches)]
	for i, b := range batches {
		key := b.Meta.AccessKey
		if slices.ContainsFunc(spans, func(s span) bool { return s.key == key }) {
			continue // rendered with the first batch of its key
		}
		sp := span{key: key, start: len(buf)}
		for j := i; j < len(batches); j++ {
			later := batches[j]
			if later.Meta.AccessKey != key {
				continue
			}
			fields := destination.LineFields(later, false)
			for _, ev := range later.Stored.Events {
				buf = destination.AppendLine(buf, fields, ev)
			}
			d.ends[j] = len(buf)
		}
		sp.end = len(buf)
		spans = append(spans, sp)
	}
	d.buf = buf
	return spans
}

func fileName(accessKey string) string { return accessKey + ".log" }

// open returns the file of an access key, creating it when missing. A new
// file's directory entry is fsynced too, or a crash could lose the file
// while its offsets are already committed. A file the index does not know
// yet gets a checkpoint of its size before anything is written to it, so
// that a crash before the group's index entries leaves a known size to cut
// back to at start-up.
func (d *Destination) open(key string) (*os.File, error) {
	if f, ok := d.files[key]; ok {
		return f, nil
	}
	name := fileName(key)
	path := filepath.Join(d.cfg.Dir, name)
	_, statErr := os.Stat(path)
	created := errors.Is(statErr, os.ErrNotExist)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, d.cfg.fileMode())
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if created {
		if err := syncDir(d.cfg.Dir); err != nil {
			f.Close()
			return nil, err
		}
	}
	if _, known := d.index.End(name); !known {
		info, err := f.Stat()
		if err == nil {
			err = d.index.Append(dedup.Entry{Kind: dedup.KindCheckpoint, Time: d.cfg.Now(), File: name, End: info.Size()})
		}
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("record %s in the dedup index: %w", path, err)
		}
	}
	d.files[key] = f
	return f, nil
}

func (d *Destination) drop(key string) {
	if f, ok := d.files[key]; ok {
		f.Close()
		delete(d.files, key)
	}
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open directory %s: %w", dir, err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("fsync directory %s: %w", dir, err)
	}
	return nil
}

// Close closes every open file, then the index, recording a clean close
// unless a failed write could not be cut back.
func (d *Destination) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	var errs []error
	for key, f := range d.files {
		errs = append(errs, f.Close())
		delete(d.files, key)
	}
	errs = append(errs, d.index.Close(!d.unclean))
	return errors.Join(errs...)
}
