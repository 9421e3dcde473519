// Package pluginhost drives the real Fluent Bit plugin (out_ferry.so)
// through the project's C test host, which loads it as Fluent Bit does and
// calls flush with msgpack chunks from coroutine-sized stacks on worker
// threads. It measures the plugin's share of the path (msgpack decode,
// batch split, gRPC) that the Go load generator skips.
package pluginhost

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/ferrylog/ferry/bench/internal/load"
	"github.com/ferrylog/ferry/e2e/cluster"
)

// Tools are the built plugin, test host and chunk maker (cluster.Plugin).
type Tools = cluster.PluginArtifacts

// Spec is one test-host run.
type Spec struct {
	Addr, AccessKey, Token string
	Instances              int // plugin instances (streams)
	Workers                int // flush threads, as Fluent Bit's workers
	ChunkEvents            int
	Flushes                int // at most 1024 (the test host's limit)
	Pool                   [][]byte
	Dir                    string
	Timeout                time.Duration
}

// Run writes one distinct chunk file per flush (the plugin derives batch
// ids from chunk contents, so a repeated chunk is a Fluent Bit retry that a
// deduplicating destination drops), queues them round robin over the
// instances, and counts the flushes answered 1 (ok: every batch of
// the chunk acked after Kafka stored it). Elapsed covers the whole test
// host run, Init and connects included, so the rate is slightly low.
func Run(ctx context.Context, t Tools, s Spec) (*load.Result, error) {
	tokenFile := filepath.Join(s.Dir, "plugin-token")
	if err := os.WriteFile(tokenFile, []byte(s.Token), 0o600); err != nil {
		return nil, err
	}
	chunks, err := makeChunks(t, s)
	if err != nil {
		return nil, err
	}
	args := []string{"-e", t.SharedObject, "-w", fmt.Sprint(s.Workers), "-t", "bench.plugin"}
	for i := range s.Instances {
		if i > 0 {
			args = append(args, "-i")
		}
		args = append(args, "-p", "Ingester="+s.Addr, "-p", "Access_Key="+s.AccessKey, "-p", "Access_Token_File="+tokenFile,
			"-p", "Insecure=true", "-p", fmt.Sprintf("Agent_ID=bench-plugin-%d", i))
	}
	for f := range min(s.Flushes, 1024) {
		args = append(args, "-f", fmt.Sprintf("%d:%s", f%s.Instances, chunks[f]))
	}
	ctx, cancel := context.WithTimeout(ctx, s.Timeout)
	defer cancel()
	res := load.NewResult()
	cmd := exec.CommandContext(ctx, t.TestHost, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	end := time.Now()
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "flush ") {
			continue
		}
		if strings.HasSuffix(line, " rc=1") {
			res.OKEvents.Add(int64(s.ChunkEvents))
			res.OKBatches.Add(1)
			res.OKBytes.Add(int64(s.ChunkEvents * len(s.Pool[0])))
		} else {
			res.RetryBatches.Add(1)
		}
	}
	res.Acked(end)
	if err != nil {
		tail := stderr.String()
		if len(tail) > 400 {
			tail = tail[len(tail)-400:]
		}
		res.Fail(fmt.Errorf("testhost: %v: %s", err, tail))
	}
	return res, nil
}

// makeChunks runs mkchunk once per flush, a few at a time; each chunk
// holds the next ChunkEvents events of the pool and mkchunk's own time, so
// no two chunks are equal.
func makeChunks(t Tools, s Spec) ([]string, error) {
	n := min(s.Flushes, 1024)
	chunks := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for i := range n {
		var lines bytes.Buffer
		for j := range s.ChunkEvents {
			lines.Write(s.Pool[(i*s.ChunkEvents+j)%len(s.Pool)])
			lines.WriteByte('\n')
		}
		chunks[i] = filepath.Join(s.Dir, fmt.Sprintf("chunk-%d.mp", i))
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			cmd := exec.Command(t.MkChunk, "-o", chunks[i])
			cmd.Stdin = &lines
			if out, err := cmd.CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("mkchunk: %v: %s", err, out)
			}
		}()
	}
	wg.Wait()
	return chunks, errors.Join(errs...)
}
