package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// copies counts how often each event id appears in a destination folder.
type copies struct {
	ids       map[string]int
	lines     int
	noBatchID int // lines without the batch_id field every line must carry
}

// fileLine is the part of a file destination line the tally reads.
type fileLine struct {
	BatchID string `json:"batch_id"`
	Record  struct {
		ID string `json:"id"`
	} `json:"record"`
}

// countDir reads every <access-key>.log in dir. A missing folder or file is
// no copies, not an error: the destination may not have written yet. A
// line that is not JSON is an error: the router must never leave one.
func countDir(dir string) (*copies, error) {
	c := &copies{ids: map[string]int{}}
	files, err := filepath.Glob(filepath.Join(dir, "*.log"))
	if err != nil {
		return nil, err
	}
	for _, path := range files {
		if info, err := os.Stat(path); err != nil || !info.Mode().IsRegular() {
			continue // the blocked destination's stand-in is a folder
		}
		if err := c.readFile(path); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func (c *copies) readFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		var l fileLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return fmt.Errorf("%s line %d is not JSON: %v", path, n, err)
		}
		c.lines++
		if l.BatchID == "" {
			c.noBatchID++
		}
		if l.Record.ID != "" {
			c.ids[l.Record.ID]++
		}
	}
	return sc.Err()
}

// missing is how many of want are absent.
func (c *copies) missing(want []string) int {
	n := 0
	for _, id := range want {
		if c.ids[id] == 0 {
			n++
		}
	}
	return n
}

// tally compares what the agent sent with what every destination holds.
type tally struct {
	sent      int
	delivered int // sent ids present at every destination
	lost      int // sent - delivered
	dupWrites int // extra copies of ids, summed over destinations
	strangers int // ids written that no chunk answered ok carried
	lostIDs   []string
}

func compare(sent []string, dests map[string]*copies) tally {
	t := tally{sent: len(sent)}
	want := make(map[string]bool, len(sent))
	for _, id := range sent {
		want[id] = true
		everywhere := true
		for _, c := range dests {
			if c.ids[id] == 0 {
				everywhere = false
			}
		}
		if everywhere {
			t.delivered++
		} else if len(t.lostIDs) < 5 {
			t.lostIDs = append(t.lostIDs, id)
		}
	}
	t.lost = t.sent - t.delivered
	for _, c := range dests {
		for id, n := range c.ids {
			if n > 1 {
				t.dupWrites += n - 1
			}
			if !want[id] {
				t.strangers++
			}
		}
	}
	return t
}

func (t tally) lostSample() string {
	if len(t.lostIDs) == 0 {
		return ""
	}
	return "e.g. " + strings.Join(t.lostIDs, ", ")
}
