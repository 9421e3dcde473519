// Package tail follows a file the router writes and measures, for each line
// as it appears, how long ago its event was sent: the bench sets every
// event's time to the wall clock at send, and the router writes that time
// into the line. The file is polled, so each latency is late by up to one
// poll interval (the resolution the report states).
package tail

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"sync/atomic"
	"time"

	"github.com/ferrylog/ferry/bench/internal/hist"
)

// linePrefix is how the router's file destination starts every line.
var linePrefix = []byte(`{"time":"`)

// Follower counts the lines of one file and their latencies.
type Follower struct {
	path     string
	interval time.Duration
	Latency  *hist.Hist
	lines    atomic.Int64
	bad      atomic.Int64
	last     atomic.Int64 // unix nano when a line was last seen
	stop     chan struct{}
	done     chan struct{}
}

// Follow starts polling path (which may not exist yet) every interval.
func Follow(path string, interval time.Duration) *Follower {
	f := &Follower{path: path, interval: interval, Latency: hist.New(), stop: make(chan struct{}), done: make(chan struct{})}
	go f.run()
	return f
}

// Lines is the number of complete lines seen so far.
func (f *Follower) Lines() int64 { return f.lines.Load() }

// Unparsed is the number of lines whose time could not be read.
func (f *Follower) Unparsed() int64 { return f.bad.Load() }

// LastLine is when the latest line was seen (zero before the first).
func (f *Follower) LastLine() time.Time {
	if n := f.last.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}

// Stop ends the polling after one last read.
func (f *Follower) Stop() {
	close(f.stop)
	<-f.done
}

func (f *Follower) run() {
	defer close(f.done)
	var file *os.File
	defer func() {
		if file != nil {
			file.Close()
		}
	}()
	buf := make([]byte, 0, 1<<20)
	chunk := make([]byte, 1<<20)
	ticker := time.NewTicker(f.interval)
	defer ticker.Stop()
	for {
		if file == nil {
			opened, err := os.Open(f.path)
			if err == nil {
				file = opened
			} else if !errors.Is(err, fs.ErrNotExist) {
				return
			}
		}
		if file != nil {
			// Lines are consumed after every read so a backlog (a router
			// catching up writes hundreds of MB at once) never sits in memory.
			for {
				n, err := file.Read(chunk)
				buf = f.consume(append(buf, chunk[:n]...), time.Now())
				if n == 0 || err != nil {
					break
				}
			}
		}
		select {
		case <-f.stop:
			return
		case <-ticker.C:
		}
	}
}

// consume handles the complete lines in buf, seen at now, and returns the
// unfinished rest moved to the front.
func (f *Follower) consume(buf []byte, now time.Time) []byte {
	rest := buf
	var count int64
	for {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			break
		}
		line := rest[:i]
		rest = rest[i+1:]
		count++
		t, ok := eventTime(line)
		if !ok {
			f.bad.Add(1)
			continue
		}
		f.Latency.Record(now.Sub(t))
	}
	if count > 0 {
		f.lines.Add(count)
		f.last.Store(now.UnixNano())
	}
	return append(buf[:0], rest...)
}

func eventTime(line []byte) (time.Time, bool) {
	rest, ok := bytes.CutPrefix(line, linePrefix)
	if !ok {
		return time.Time{}, false
	}
	end := bytes.IndexByte(rest, '"')
	if end < 0 {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, string(rest[:end]))
	return t, err == nil
}
