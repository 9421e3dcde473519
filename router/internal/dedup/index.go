package dedup

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Defaults of the retention settings.
const (
	DefaultWindow = 24 * time.Hour
	DefaultMaxIDs = 2_000_000
)

// minCompactSlack keeps a small index from being rewritten every few groups:
// compaction waits until the file holds this many lines more than it needs.
const minCompactSlack = 4096

// Options of an index.
type Options struct {
	// Window is how long an id is remembered after it was written.
	Window time.Duration
	// MaxIDs bounds the ids remembered; the oldest go first.
	MaxIDs int
	Logger *slog.Logger
	// Now is time.Now; tests move the clock.
	Now func() time.Time
}

// Validate checks the options and fills defaults.
func (o *Options) Validate() error {
	if o.Window == 0 {
		o.Window = DefaultWindow
	}
	if o.MaxIDs == 0 {
		o.MaxIDs = DefaultMaxIDs
	}
	if o.Window < 0 {
		return fmt.Errorf("dedup window %s must be positive", o.Window)
	}
	if o.MaxIDs < 0 {
		return fmt.Errorf("dedup max ids %d must be positive", o.MaxIDs)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return nil
}

// Index is the durable record of the batch ids a destination wrote, with
// the Set rebuilt from it. It is safe for concurrent use.
type Index struct {
	opt  Options
	path string
	lock *os.File

	mu    sync.Mutex
	f     *os.File
	size  int64 // bytes of whole, fsynced lines
	dirty bool  // a failed append may have left bytes past size
	lines int   // record lines in the file (not counting the header)
	set   *Set
	ends  map[string]int64 // the last recorded End per file
	buf   []byte

	created bool // there was no index before Open
	clean   bool // the last line read at Open was a clean close

	// fsync is os.File.Sync; tests make it fail.
	fsync func(*os.File) error
}

// Open loads the index at path (created when missing, with its directory),
// cutting off a torn last line, and compacts it when it holds dead lines.
// It takes an exclusive lock on path+".lock" for the life of the Index.
func Open(path string, opt Options) (*Index, error) {
	if err := opt.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("create the dedup index directory: %w", err)
	}
	lock, err := lockFile(path + ".lock")
	if err != nil {
		return nil, err
	}
	x := &Index{
		opt: opt, path: path, lock: lock,
		set: NewSet(opt.Window, opt.MaxIDs), ends: map[string]int64{},
		fsync: (*os.File).Sync,
	}
	if err := x.load(); err != nil {
		lock.Close()
		return nil, err
	}
	// Without this line, a process that crashed before its first append
	// would leave the previous clean close as the last line, and its
	// unconfirmed writes would look like someone else's at the next start.
	opened := []Entry{{Kind: kindOpened, Time: opt.Now()}}
	if err := x.append(opened); err != nil {
		x.f.Close()
		lock.Close()
		return nil, err
	}
	return x, nil
}

func (x *Index) load() error {
	f, err := os.OpenFile(x.path, os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		x.created = true
		return x.create()
	}
	if err != nil {
		return fmt.Errorf("open the dedup index: %w", err)
	}
	x.f = f
	st, err := x.read()
	if err != nil {
		f.Close()
		return err
	}
	if st.torn > 0 || st.bad > 0 {
		x.opt.Logger.Warn("dedup index: dropped damaged lines (a crash in the middle of an append leaves one)",
			"path", x.path, "torn_bytes", st.torn, "bad_lines", st.bad)
	}
	if st.torn > 0 {
		// New lines must not be glued to a partial one.
		if err := f.Truncate(x.size); err != nil {
			f.Close()
			return fmt.Errorf("cut the torn end of the dedup index: %w", err)
		}
		if err := x.fsync(f); err != nil {
			f.Close()
			return fmt.Errorf("fsync the dedup index: %w", err)
		}
	}
	if x.lines > x.set.Len()+len(x.ends)+2 || st.bad > 0 { // +2: the last open and close lines
		x.compact()
	}
	x.opt.Logger.Info("dedup index loaded", "path", x.path, "ids", x.set.Len(), "files", len(x.ends),
		"lines", x.lines, "closed_cleanly", x.clean)
	return nil
}

// create writes a new index holding only the header.
func (x *Index) create() error {
	f, err := os.OpenFile(x.path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return fmt.Errorf("create the dedup index: %w", err)
	}
	_, err = f.WriteString(header)
	if err == nil {
		err = x.fsync(f)
	}
	if err == nil {
		err = syncDir(filepath.Dir(x.path))
	}
	if err != nil {
		f.Close()
		os.Remove(x.path)
		return fmt.Errorf("create the dedup index: %w", err)
	}
	x.f, x.size = f, int64(len(header))
	return nil
}

// Created reports whether Open found no index and made a new one.
func (x *Index) Created() bool { return x.created }

// ClosedCleanly reports whether the index ended with a clean close when
// Open read it: no group was in flight when the previous process stopped.
func (x *Index) ClosedCleanly() bool { return x.clean }

// Ends returns, for every file the index knows, the last size it recorded.
func (x *Index) Ends() map[string]int64 {
	x.mu.Lock()
	defer x.mu.Unlock()
	out := make(map[string]int64, len(x.ends))
	for k, v := range x.ends {
		out[k] = v
	}
	return out
}

// Written reports whether id is remembered as durably written.
func (x *Index) Written(id string) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.set.Contains(id)
}

// Len is the number of ids remembered.
func (x *Index) Len() int {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.set.Len()
}

// Append writes the entries and fsyncs them; only then are written ids
// remembered. On error nothing was recorded: the bytes are cut back (now, or
// before the next append if the cut fails too).
func (x *Index) Append(entries ...Entry) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if err := x.append(entries); err != nil {
		return err
	}
	x.apply(entries)
	x.set.Evict(x.opt.Now())
	if x.lines > max(2*(x.set.Len()+len(x.ends)), x.set.Len()+len(x.ends)+minCompactSlack) {
		x.compact()
	}
	return nil
}

func (x *Index) append(entries []Entry) error {
	if x.f == nil {
		return errClosed
	}
	if x.dirty {
		if err := x.f.Truncate(x.size); err != nil {
			return fmt.Errorf("cut back the dedup index after a failed append: %w", err)
		}
		x.dirty = false
	}
	buf := x.buf[:0]
	for _, e := range entries {
		buf = appendLine(buf, e)
	}
	x.buf = buf
	_, err := x.f.WriteAt(buf, x.size)
	if err == nil {
		err = x.fsync(x.f)
	}
	if err != nil {
		x.dirty = x.f.Truncate(x.size) != nil
		return fmt.Errorf("append to the dedup index %s: %w", x.path, err)
	}
	x.size += int64(len(buf))
	x.lines += len(entries)
	return nil
}

// apply updates the in-memory state with entries already durable.
func (x *Index) apply(entries []Entry) {
	for _, e := range entries {
		switch e.Kind {
		case KindWritten:
			x.ends[e.File] = e.End
			if !x.set.expired(e.Time.UnixMilli(), x.opt.Now()) {
				x.set.Add(e.ID, e.Time)
			}
			x.clean = false
		case KindCheckpoint:
			x.ends[e.File] = e.End
			x.clean = false
		case kindClosed:
			x.clean = true
		case kindOpened:
			x.clean = false
		}
	}
}

var errClosed = errors.New("the dedup index is closed")

// End is the last size the index recorded for file.
func (x *Index) End(file string) (int64, bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	end, ok := x.ends[file]
	return end, ok
}

// Forget drops what the index knows of a file (it no longer exists). The
// next compaction leaves its checkpoint out.
func (x *Index) Forget(file string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	delete(x.ends, file)
}

// Close releases the file and its lock. With cleanly, it first records that
// nothing is in flight: the next Open then knows that data past a file's
// recorded size was not left by a crash of this destination (see
// ClosedCleanly). A destination that could not cut back a failed write
// closes without it.
func (x *Index) Close(cleanly bool) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.f == nil {
		return nil
	}
	var err error
	if cleanly {
		err = x.append([]Entry{{Kind: kindClosed, Time: x.opt.Now()}})
	}
	err = errors.Join(err, x.f.Close())
	x.f = nil
	return errors.Join(err, x.lock.Close())
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
