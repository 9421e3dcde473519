package file

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/ferrylog/ferry/router/internal/dedup"
)

// recoverFiles runs once at start-up, before the first write, and makes each
// data file agree with the dedup index.
//
// A group is confirmed in this order: data written, data fsynced, index
// entries appended and fsynced, offsets marked. So bytes past the last size
// the index recorded for a file were never confirmed: their offsets were
// not marked and Kafka delivers them again. After a crash they are cut off,
// instead of their batch ids being recovered from the lines: a crash in the
// middle of a write (a SIGKILL interrupts a large write between pages) can
// leave some complete lines of a batch but not all of them, and remembering
// that batch's id would drop the redelivery that completes it. Cutting also
// removes a torn last line.
//
// Data past the recorded size after a clean close, or a file shorter than
// recorded, was changed outside the router (another writer, log rotation):
// it is kept, only a torn last line is cut, and its size is recorded anew.
func (d *Destination) recoverFiles() error {
	entries, err := os.ReadDir(d.cfg.Dir)
	if err != nil {
		return fmt.Errorf("list the file destination directory: %w", err)
	}
	log := d.cfg.Logger
	present := map[string]bool{}
	var checkpoints []dedup.Entry
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || !strings.HasSuffix(name, ".log") || strings.HasPrefix(name, ".") {
			continue
		}
		present[name] = true
		path := filepath.Join(d.cfg.Dir, name)
		info, err := e.Info()
		if err != nil {
			return fmt.Errorf("stat %s: %w", path, err)
		}
		size := info.Size()
		end, known := d.index.End(name)
		switch {
		case known && size == end:
			continue
		case known && size > end && !d.index.ClosedCleanly():
			ok, err := endsLine(path, end)
			if err != nil {
				return err
			}
			if ok {
				if err := truncate(path, end); err != nil {
					return err
				}
				log.Warn("cut unconfirmed lines left by a crash; Kafka delivers them again", "file", path, "bytes", size-end, "size", end)
				continue
			}
			log.Warn("data file does not match the dedup index (a line does not end where it recorded): keeping it as it is", "file", path, "size", size, "recorded", end)
		case known:
			log.Warn("data file changed while the router was stopped (rotated, truncated or written by something else): keeping it as it is", "file", path, "size", size, "recorded", end)
		}
		cut, err := cutTornLine(path, size)
		if err != nil {
			return err
		}
		if cut != size {
			log.Warn("cut a torn last line", "file", path, "bytes", size-cut)
		}
		size = cut
		checkpoints = append(checkpoints, dedup.Entry{Kind: dedup.KindCheckpoint, Time: d.cfg.Now(), File: name, End: size})
	}
	for name := range d.index.Ends() {
		if !present[name] {
			d.index.Forget(name) // deleted or moved away: nothing to recover
		}
	}
	if len(checkpoints) > 0 {
		if err := d.index.Append(checkpoints...); err != nil {
			return err
		}
	}
	return nil
}

// endsLine reports whether offset end of the file is a line boundary.
func endsLine(path string, end int64) (bool, error) {
	if end == 0 {
		return true, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return false, fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	var b [1]byte
	if _, err := f.ReadAt(b[:], end-1); err != nil {
		return false, fmt.Errorf("read %s: %w", path, err)
	}
	return b[0] == '\n', nil
}

// cutTornLine truncates a last line that has no newline: it was being
// written when the process died, so it was never confirmed. It returns the
// new size.
func cutTornLine(path string, size int64) (int64, error) {
	if size == 0 {
		return 0, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for end := size; end > 0; {
		start := max(end-int64(len(buf)), 0)
		chunk := buf[:end-start]
		if _, err := f.ReadAt(chunk, start); err != nil && err != io.EOF {
			return 0, fmt.Errorf("read %s: %w", path, err)
		}
		if end == size && chunk[len(chunk)-1] == '\n' {
			return size, nil
		}
		if i := bytes.LastIndexByte(chunk, '\n'); i >= 0 {
			return start + int64(i) + 1, truncate(path, start+int64(i)+1)
		}
		end = start
	}
	return 0, truncate(path, 0)
}

// truncate cuts the file to size and fsyncs it, so the cut is durable
// before anything is appended after it.
func truncate(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		return fmt.Errorf("truncate %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", path, err)
	}
	return nil
}
