package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
)

// chunk is one Fluent Bit chunk file and the unique ids of its events.
type chunk struct {
	path string
	ids  []string
}

// makeChunks writes n chunks of perChunk events with mkchunk, the project's
// tool that writes Fluent Bit's msgpack chunk format. Every event carries a
// unique id (prefix-cNNNN-eNNNN) that the tally looks for in the router's
// files; the rest of the body is ordinary log line filler of about 200 bytes.
func makeChunks(ctx context.Context, mkchunk, dir, prefix string, n, perChunk int) ([]chunk, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	chunks := make([]chunk, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	slots := make(chan struct{}, 4) // mkchunk processes at once
	for c := range n {
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer func() { <-slots; wg.Done() }()
			errs[c] = mkchunkOne(ctx, mkchunk, dir, prefix, c, perChunk, &chunks[c])
		}()
	}
	wg.Wait()
	return chunks, errors.Join(errs...)
}

// mkchunkOne writes chunk number c into *dst.
func mkchunkOne(ctx context.Context, mkchunk, dir, prefix string, c, perChunk int, dst *chunk) error {
	var lines bytes.Buffer
	ids := make([]string, perChunk)
	for e := range perChunk {
		ids[e] = fmt.Sprintf("%s-c%04d-e%04d", prefix, c, e)
		fmt.Fprintf(&lines, `{"id":%q,"level":"info","service":"checkout","msg":"order %d of chunk %d processed","path":"/api/v1/orders/%d","latency_ms":%d}`+"\n",
			ids[e], e, c, c*perChunk+e, (c*31+e*17)%997)
	}
	path := filepath.Join(dir, fmt.Sprintf("%s-c%04d.mp", prefix, c))
	cmd := exec.CommandContext(ctx, mkchunk, "-o", path)
	cmd.Stdin = &lines
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("mkchunk %s: %v: %s", path, err, out)
	}
	*dst = chunk{path: path, ids: ids}
	return nil
}
