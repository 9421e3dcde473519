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
	files map[string]*os.File // open files by access key, kept open between groups
	buf   []byte              // lines of the current group, reused
	// fsync is os.File.Sync; tests replace it to see the durability path.
	fsync func(*os.File) error
}

var _ destination.Destination = (*Destination)(nil)

// New creates the directory when missing. A directory that cannot be created
// is a start-up error; one that fails later makes Write fail and be retried.
func New(cfg Config) (*Destination, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("create the file destination directory: %w", err)
	}
	return &Destination{cfg: cfg, files: map[string]*os.File{}, fsync: (*os.File).Sync}, nil
}

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
// fsyncs each touched file once. On error the touched files are cut back to
// their size before the call, so a retry does not duplicate lines.
func (d *Destination) Write(_ context.Context, batches []*destination.Batch) (int64, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, b := range batches {
		if b.Stored == nil {
			return 0, destination.ErrNoEvents
		}
	}
	// Lines are rendered into one buffer, kept between calls, grouped by
	// file so each file gets one write and one fsync.
	type span struct {
		key        string
		start, end int
	}
	var spans []span
	buf := d.buf[:0]
	for i, b := range batches {
		key := b.Meta.AccessKey
		if slices.ContainsFunc(spans, func(s span) bool { return s.key == key }) {
			continue // rendered with the first batch of its key
		}
		sp := span{key: key, start: len(buf)}
		for _, later := range batches[i:] {
			if later.Meta.AccessKey != key {
				continue
			}
			fields := destination.LineFields(later, false)
			for _, ev := range later.Stored.Events {
				buf = destination.AppendLine(buf, fields, ev)
			}
		}
		sp.end = len(buf)
		spans = append(spans, sp)
	}
	d.buf = buf

	type written struct {
		f    *os.File
		key  string
		size int64
	}
	var done []written
	var total int64
	fail := func(err error) (int64, error) {
		for _, w := range done {
			_ = w.f.Truncate(w.size) // best effort: keep retries from duplicating lines
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
		n, err := f.Write(buf[sp.start:sp.end])
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
	return total, nil
}

// open returns the file of an access key, creating it when missing. A new
// file's directory entry is fsynced too, or a crash could lose the file
// while its offsets are already committed.
func (d *Destination) open(key string) (*os.File, error) {
	if f, ok := d.files[key]; ok {
		return f, nil
	}
	path := filepath.Join(d.cfg.Dir, key+".log")
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

// Close closes every open file.
func (d *Destination) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	var errs []error
	for key, f := range d.files {
		errs = append(errs, f.Close())
		delete(d.files, key)
	}
	return errors.Join(errs...)
}
