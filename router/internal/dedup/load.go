package dedup

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// maxLine bounds one index line; a longer one is damage, not data (batch
// ids are short).
const maxLine = 1 << 20

// loadStats says what reading the index found besides entries.
type loadStats struct {
	torn int64 // bytes of a last line without its newline
	bad  int   // whole lines that did not parse (damage)
}

// scanLines reads r line by line; each complete line (without its newline)
// goes to fn. It returns the offset just past the last complete line and the
// size of a trailing partial line.
func scanLines(r io.Reader, fn func(line string)) (end, torn int64, err error) {
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 64<<10), maxLine)
	s.Split(func(data []byte, atEOF bool) (int, []byte, error) {
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			return i + 1, data[:i+1], nil
		}
		if atEOF && len(data) > 0 {
			return len(data), data, nil // partial: reported as torn
		}
		return 0, nil, nil
	})
	for s.Scan() {
		tok := s.Bytes()
		if tok[len(tok)-1] != '\n' {
			torn = int64(len(tok))
			break
		}
		end += int64(len(tok))
		fn(string(tok[:len(tok)-1]))
	}
	if err := s.Err(); err != nil {
		return end, torn, fmt.Errorf("read the dedup index at byte %d: %w", end, err)
	}
	return end, torn, nil
}

// read loads x.f from the start: header, then entries in order.
func (x *Index) read() (loadStats, error) {
	var st loadStats
	first := true
	var headerErr error
	var entries []Entry
	end, torn, err := scanLines(x.f, func(line string) {
		if first {
			first = false
			if line+"\n" != header {
				headerErr = fmt.Errorf("%s is not a dedup index this router can read (first line %.40q); move it away to start without deduplication state", x.path, line)
			}
			return
		}
		e, err := parseLine(line)
		if err != nil {
			st.bad++
			return
		}
		x.lines++
		entries = append(entries, e)
		if len(entries) == 4096 { // apply in chunks: the index can be large
			x.apply(entries)
			entries = entries[:0]
		}
	})
	if err != nil {
		return st, err
	}
	if headerErr != nil {
		return st, headerErr
	}
	if first { // empty, or a torn header: a crash while it was being created
		x.created = true
		if err := x.f.Truncate(0); err != nil {
			return st, fmt.Errorf("reset the empty dedup index: %w", err)
		}
		if _, err := x.f.WriteAt([]byte(header), 0); err != nil {
			return st, fmt.Errorf("write the dedup index header: %w", err)
		}
		if err := x.fsync(x.f); err != nil {
			return st, fmt.Errorf("fsync the dedup index: %w", err)
		}
		x.size = int64(len(header))
		return st, nil
	}
	x.apply(entries)
	x.set.Evict(x.opt.Now())
	x.size, st.torn = end, torn
	return st, nil
}

// compact rewrites the index with only what it needs: the live written
// entries, oldest first, then one checkpoint per known file (last, so that
// reading the file in order ends with each file's current size). The new
// file is fsynced and renamed over the old one, then the directory is
// fsynced; a crash at any point leaves either the old or the new index.
// Failing is not fatal: the old index stays valid, and is logged.
func (x *Index) compact() {
	before := x.lines
	if err := x.rewrite(); err != nil {
		x.opt.Logger.Warn("dedup index compaction failed; keeping the longer index", "path", x.path, "error", err)
		return
	}
	x.opt.Logger.Info("dedup index compacted", "path", x.path, "lines_before", before, "lines_after", x.lines)
}

func (x *Index) rewrite() error {
	old, err := os.Open(x.path)
	if err != nil {
		return err
	}
	defer old.Close()
	tmpPath := x.path + ".tmp"
	tmp, err := os.OpenFile(tmpPath, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmpPath)
		}
	}()
	w := bufio.NewWriterSize(tmp, 256<<10)
	w.WriteString(header)
	lines := 0
	var buf []byte
	_, _, err = scanLines(io.LimitReader(old, x.size), func(line string) {
		if strings.HasPrefix(header, line) {
			return
		}
		e, err := parseLine(line)
		if err != nil || e.Kind != KindWritten {
			return
		}
		if ms, live := x.set.writtenAt(e.ID); !live || ms != e.Time.UnixMilli() {
			return
		}
		buf = appendLine(buf[:0], e)
		w.Write(buf)
		lines++
	})
	if err != nil {
		return err
	}
	now := x.opt.Now()
	for file, end := range x.ends {
		buf = appendLine(buf[:0], Entry{Kind: KindCheckpoint, Time: now, File: file, End: end})
		w.Write(buf)
		lines++
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := x.fsync(tmp); err != nil {
		return err
	}
	info, err := tmp.Stat()
	if err != nil {
		return err
	}
	if err := os.Rename(tmpPath, x.path); err != nil {
		return err
	}
	ok = true
	if err := syncDir(filepath.Dir(x.path)); err != nil {
		// The rename may not be durable yet, but both files are complete.
		x.opt.Logger.Warn("fsync of the dedup index directory failed", "error", err)
	}
	// tmp is the index now: keep appending to it.
	x.f.Close()
	x.f, x.size, x.lines, x.dirty = tmp, info.Size(), lines, false
	return nil
}
