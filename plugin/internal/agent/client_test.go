package agent

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferrylog/ferry/plugin/internal/config"
	"github.com/ferrylog/ferry/plugin/internal/ingestertest"
	"github.com/ferrylog/ferry/plugin/internal/msgpackchunk"
	ingestv1 "github.com/ferrylog/ferry/proto/ferry/ingest/v1"
	"go.uber.org/goleak"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var testTime = time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)

func testConfig(addr string, kv ...string) config.Config {
	src := config.MapGetter{"Ingester": addr, "Access_Key": "key-1", "Access_Token": ingestertest.Token, "Agent_ID": "agent-1",
		"Insecure": "true", "Ack_Timeout": "5s", "Connect_Timeout": "2s", "Exit_Timeout": "2s"}
	for i := 0; i < len(kv); i += 2 {
		src[kv[i]] = kv[i+1]
	}
	cfg, err := config.Load(src, func(string) (string, bool) { return "", false })
	if err != nil {
		panic(err)
	}
	return cfg
}

func newTestClient(t *testing.T, cfg config.Config) *Client {
	t.Helper()
	c, err := New(Options{
		Config: cfg, InstanceName: "ferry.0", PluginVersion: "test",
		Logger:  slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug})),
		Backoff: Backoff{Min: 10 * time.Millisecond, Max: 50 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	c.Start()
	t.Cleanup(c.Close)
	return c
}

// chunkOf builds a Fluent Bit 2.1+ chunk of n records {"msg": "<prefix> i"}.
func chunkOf(t testing.TB, prefix string, n int) []byte {
	var chunk []byte
	var err error
	for i := 0; i < n; i++ {
		chunk, err = msgpackchunk.AppendRecord(chunk, testTime.Add(time.Duration(i)), map[string]any{"src": "test"},
			map[string]any{"msg": fmt.Sprintf("%s %d", prefix, i)})
		if err != nil {
			t.Fatal(err)
		}
	}
	return chunk
}

// eventually polls cond until it holds or the time is up.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func flushUntilOK(t *testing.T, c *Client, tag string, chunk []byte) {
	t.Helper()
	eventually(t, 5*time.Second, "a flush answered OK", func() bool { return c.Flush(tag, chunk) == OK })
}

func TestFlushOKDeliversEvents(t *testing.T) {
	fi := ingestertest.Start(t, "")
	fi.Update(func(f *ingestertest.State) { f.Config.Labels = map[string]string{"env": "test"} })
	c := newTestClient(t, testConfig(fi.Addr))

	chunk := chunkOf(t, "hello", 3)
	if got := c.Flush("app.logs", chunk); got != OK {
		t.Fatalf("Flush = %v, want OK", got)
	}
	batches := fi.Received()
	if len(batches) != 1 {
		t.Fatalf("ingester got %d batches, want 1", len(batches))
	}
	b := batches[0]
	if b.Sequence != 1 || b.Tag != "app.logs" || len(b.Events) != 3 {
		t.Fatalf("batch seq=%d tag=%q events=%d", b.Sequence, b.Tag, len(b.Events))
	}
	if want := chunkID("agent-1", "app.logs", chunk) + "-0"; b.BatchId != want || !regexp.MustCompile(`^[0-9a-f]{32}-0$`).MatchString(b.BatchId) {
		t.Fatalf("batch id %q, want %q", b.BatchId, want)
	}
	for i, ev := range b.Events {
		if ev.TimeUnixNano != testTime.Add(time.Duration(i)).UnixNano() {
			t.Errorf("event %d time %d", i, ev.TimeUnixNano)
		}
		if want := fmt.Sprintf(`{"msg":"hello %d"}`, i); string(ev.Body) != want {
			t.Errorf("event %d body %s, want %s", i, ev.Body, want)
		}
		if want := `{"src":"test","env":"test"}`; string(ev.Metadata) != want {
			t.Errorf("event %d metadata %s, want %s", i, ev.Metadata, want)
		}
	}
	hello := fi.Snapshot().Hellos[0]
	if hello.AgentId != "agent-1" || hello.AccessKey != "key-1" || hello.InstanceName != "ferry.0" || hello.PluginVersion != "test" || hello.StreamEpoch == 0 {
		t.Fatalf("hello %+v", hello)
	}
	// Fluent Bit retrying the same chunk gets the same batch id.
	if c.Flush("app.logs", chunk) != OK || fi.Received()[1].BatchId != b.BatchId || fi.Received()[1].Sequence != 2 {
		t.Fatalf("retry of the same chunk: %+v", fi.Received()[1])
	}
}

func TestFlushOnlyGroupMarkersIsOK(t *testing.T) {
	fi := ingestertest.Start(t, "")
	c := newTestClient(t, testConfig(fi.Addr))
	chunk, _ := msgpackchunk.AppendGroupMarker(nil, true, map[string]any{})
	chunk, _ = msgpackchunk.AppendGroupMarker(chunk, false, map[string]any{})
	if got := c.Flush("t", chunk); got != OK {
		t.Fatalf("Flush = %v", got)
	}
	if n := len(fi.Received()); n != 0 {
		t.Fatalf("sent %d batches for markers only", n)
	}
}

func TestFlushAnswersFollowAcks(t *testing.T) {
	for _, tc := range []struct {
		name string
		ack  *ingestv1.Ack
		want Result
	}{
		{"retry", &ingestv1.Ack{Result: ingestv1.AckResult_ACK_RESULT_RETRY, Code: int32(codes.Unavailable), Reason: "Kafka down"}, Retry},
		{"rejected", &ingestv1.Ack{Result: ingestv1.AckResult_ACK_RESULT_REJECTED, Code: int32(codes.InvalidArgument), Reason: "bad body"}, Error},
		{"unspecified", &ingestv1.Ack{}, Retry},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fi := ingestertest.Start(t, "")
			fi.Update(func(f *ingestertest.State) {
				f.Answer = func(*ingestv1.Batch) *ingestv1.Ack { return proto.Clone(tc.ack).(*ingestv1.Ack) }
			})
			c := newTestClient(t, testConfig(fi.Addr))
			if got := c.Flush("t", chunkOf(t, "x", 2)); got != tc.want {
				t.Fatalf("Flush = %v, want %v", got, tc.want)
			}
			if n := len(fi.Received()); n != 1 {
				t.Fatalf("ingester got %d batches", n)
			}
		})
	}
}

func TestFlushRetriesWhenNoAckInTime(t *testing.T) {
	fi := ingestertest.Start(t, "")
	fi.Update(func(f *ingestertest.State) { f.Answer = func(*ingestv1.Batch) *ingestv1.Ack { return nil } })
	c := newTestClient(t, testConfig(fi.Addr, "Ack_Timeout", "300ms"))
	start := time.Now()
	if got := c.Flush("t", chunkOf(t, "x", 1)); got != Retry {
		t.Fatalf("Flush = %v, want Retry", got)
	}
	if took := time.Since(start); took < 300*time.Millisecond || took > 2*time.Second {
		t.Fatalf("Flush took %s, want about Ack_Timeout (300ms)", took)
	}
}

func TestStreamBrokenMidFlushRetriesThenReconnects(t *testing.T) {
	fi := ingestertest.Start(t, "")
	acked := make(chan struct{})
	fi.Update(func(f *ingestertest.State) {
		f.Answer = func(b *ingestv1.Batch) *ingestv1.Ack {
			<-acked // hold the ack until the stream broke
			return nil
		}
	})
	c := newTestClient(t, testConfig(fi.Addr, "Ack_Timeout", "10s"))

	result := make(chan Result)
	go func() { result <- c.Flush("t", chunkOf(t, "x", 1)) }()
	eventually(t, 2*time.Second, "the batch to arrive", func() bool { return len(fi.Received()) == 1 })
	start := time.Now()
	fi.BreakStreams(status.Error(codes.Unavailable, "ingester restarting"))
	if got := <-result; got != Retry {
		t.Fatalf("Flush = %v, want Retry", got)
	}
	if took := time.Since(start); took > time.Second {
		t.Fatalf("Flush answered %s after the break; want at once, not after Ack_Timeout", took)
	}
	close(acked)
	fi.Update(func(f *ingestertest.State) { f.Answer = nil })

	flushUntilOK(t, c, "t", chunkOf(t, "y", 1))
	if n := len(fi.Snapshot().Hellos); n != 2 {
		t.Fatalf("%d streams opened, want 2", n)
	}
	last := fi.Received()[len(fi.Received())-1]
	if last.Sequence != 1 {
		t.Fatalf("a new stream numbers from 1, got %d", last.Sequence)
	}
	hellos := fi.Snapshot().Hellos
	e1, e2 := hellos[0].StreamEpoch, hellos[1].StreamEpoch
	if e1 == e2 {
		t.Fatal("the new stream reused the stream epoch")
	}
}

func TestLargeChunkIsSplitAndAllPartsAcked(t *testing.T) {
	fi := ingestertest.Start(t, "")
	fi.Update(func(f *ingestertest.State) { f.Config.MaxBatchBytes = 4096 })
	c := newTestClient(t, testConfig(fi.Addr))

	const n = 300
	chunk := chunkOf(t, strings.Repeat("payload ", 20), n)
	if got := c.Flush("big", chunk); got != OK {
		t.Fatalf("Flush = %v", got)
	}
	batches := fi.Received()
	if len(batches) < 10 {
		t.Fatalf("%d batches for %d bytes of events under 4096-byte frames", len(batches), len(chunk))
	}
	prefix := chunkID("agent-1", "big", chunk)
	seen := 0
	for i, b := range batches {
		frame := &ingestv1.AgentFrame{Frame: &ingestv1.AgentFrame_Batch{Batch: b}}
		if size := proto.Size(frame); size > 4096 {
			t.Errorf("batch %d is %d bytes serialized, over 4096", i, size)
		}
		if want := fmt.Sprintf("%s-%d", prefix, i); b.BatchId != want {
			t.Errorf("batch %d id %q, want %q", i, b.BatchId, want)
		}
		for _, ev := range b.Events {
			var body struct{ Msg string }
			json.Unmarshal(ev.Body, &body)
			if !strings.HasSuffix(body.Msg, fmt.Sprintf(" %d", seen)) {
				t.Fatalf("event %d out of order or lost: %q", seen, body.Msg)
			}
			seen++
		}
	}
	if seen != n {
		t.Fatalf("ingester got %d events, want %d", seen, n)
	}
}

func TestOverlappingFlushesFromEightWorkers(t *testing.T) {
	fi := ingestertest.Start(t, "")
	fi.Update(func(f *ingestertest.State) {
		f.Config.MaxBatchesInFlight = 3
		f.Config.MaxBatchBytes = 2048
		// Acks come back out of order: later batches may be acked first.
		f.Answer = func(b *ingestv1.Batch) *ingestv1.Ack {
			time.Sleep(time.Duration(b.Sequence%4) * time.Millisecond)
			return &ingestv1.Ack{Result: ingestv1.AckResult_ACK_RESULT_OK, BatchId: b.BatchId}
		}
	})
	c := newTestClient(t, testConfig(fi.Addr))

	const workers, flushes = 8, 15
	var wg sync.WaitGroup
	results := make(chan Result, workers*flushes)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < flushes; i++ {
				results <- c.Flush(fmt.Sprintf("w%d", w), chunkOf(t, fmt.Sprintf("w%d-f%d-%s", w, i, strings.Repeat("z", 50)), 1+i%12))
			}
		}()
	}
	wg.Wait()
	close(results)
	for r := range results {
		if r != OK {
			t.Fatalf("a flush answered %v", r)
		}
	}
	wantEvents := 0
	for i := 0; i < flushes; i++ {
		wantEvents += 1 + i%12
	}
	wantEvents *= workers
	got := 0
	var lastSeq uint64
	for _, b := range fi.Received() {
		got += len(b.Events)
		if b.Sequence != lastSeq+1 {
			t.Fatalf("sequence %d after %d: the sender must number batches in wire order", b.Sequence, lastSeq)
		}
		lastSeq = b.Sequence
	}
	if got != wantEvents {
		t.Fatalf("ingester got %d events, want %d", got, wantEvents)
	}
	maxInFlight := fi.Snapshot().MaxInFlight
	if maxInFlight > 3 || maxInFlight < 2 {
		t.Fatalf("at most %d batches were in flight; want the limit of 3 used and respected", maxInFlight)
	}
}

func TestConfigPushAppliesLive(t *testing.T) {
	fi := ingestertest.Start(t, "")
	c := newTestClient(t, testConfig(fi.Addr))
	if c.Flush("t", chunkOf(t, "before", 1)) != OK {
		t.Fatal("first flush failed")
	}
	if md := string(fi.Received()[0].Events[0].Metadata); md != `{"src":"test"}` {
		t.Fatalf("metadata before the push: %s", md)
	}
	fi.Push(&ingestv1.IngesterFrame{Frame: &ingestv1.IngesterFrame_Config{Config: &ingestv1.AgentConfig{
		Version: 2, MaxBatchBytes: 2048, MaxBatchesInFlight: 4, Labels: map[string]string{"region": "eu-1"},
	}}})
	eventually(t, 2*time.Second, "the pushed config to apply", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.settings.version == 2
	})
	c.mu.Lock()
	s := c.settings
	c.mu.Unlock()
	if s.maxBatchBytes != 2048 || s.inFlight != 4 {
		t.Fatalf("settings after push: %+v", s)
	}
	before := len(fi.Received())
	if c.Flush("t", chunkOf(t, strings.Repeat("after ", 30), 40)) != OK {
		t.Fatal("flush after push failed")
	}
	after := fi.Received()[before:]
	if len(after) < 2 {
		t.Fatalf("the smaller max_batch_bytes did not split: %d batches", len(after))
	}
	if md := string(after[0].Events[0].Metadata); md != `{"src":"test","region":"eu-1"}` {
		t.Fatalf("metadata after the push: %s", md)
	}
}

func TestLocalCapsWinWhenLower(t *testing.T) {
	fi := ingestertest.Start(t, "")
	c := newTestClient(t, testConfig(fi.Addr, "Max_Batch_Bytes", "3000", "Max_Batches_In_Flight", "2"))
	c.mu.Lock()
	s := c.settings
	c.mu.Unlock()
	if s.maxBatchBytes != 3000 || s.inFlight != 2 {
		t.Fatalf("effective limits %d bytes, %d in flight; want the local caps 3000 and 2", s.maxBatchBytes, s.inFlight)
	}
}

func TestIngesterDownAtStartDoesNotBlock(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close() // nothing listens here now

	start := time.Now()
	c := newTestClient(t, testConfig(addr))
	if took := time.Since(start); took > time.Second {
		t.Fatalf("Start took %s with the ingester down", took)
	}
	start = time.Now()
	if got := c.Flush("t", chunkOf(t, "x", 1)); got != Retry {
		t.Fatalf("Flush while down = %v, want Retry", got)
	}
	if took := time.Since(start); took > 100*time.Millisecond {
		t.Fatalf("Flush while down took %s; it must answer at once", took)
	}

	fi := ingestertest.Start(t, addr)
	flushUntilOK(t, c, "t", chunkOf(t, "y", 1))
	if n := len(fi.Received()); n < 1 {
		t.Fatal("no batch reached the ingester")
	}
}

func TestAuthFailures(t *testing.T) {
	t.Run("permission denied answers error", func(t *testing.T) {
		fi := ingestertest.Start(t, "")
		fi.Update(func(f *ingestertest.State) {
			f.GetConfigErr = status.Error(codes.PermissionDenied, "access key revoked")
		})
		c := newTestClient(t, testConfig(fi.Addr))
		eventually(t, 2*time.Second, "the denial to be known", func() bool { return c.Flush("t", chunkOf(t, "x", 1)) == Error })
	})
	t.Run("bad token answers retry until a new token arrives in the file", func(t *testing.T) {
		fi := ingestertest.Start(t, "")
		tokenFile := filepath.Join(t.TempDir(), "token")
		os.WriteFile(tokenFile, []byte("expired-token\n"), 0o600)
		cfg := testConfig(fi.Addr)
		cfg.AccessToken, cfg.AccessTokenFile = "", tokenFile
		c := newTestClient(t, cfg)
		for i := 0; i < 3; i++ {
			if got := c.Flush("t", chunkOf(t, "x", 1)); got != Retry {
				t.Fatalf("Flush with a bad token = %v, want Retry", got)
			}
		}
		os.WriteFile(tokenFile, []byte("test-token\n"), 0o600)
		os.Chtimes(tokenFile, time.Now().Add(time.Second), time.Now().Add(time.Second))
		flushUntilOK(t, c, "t", chunkOf(t, "y", 1))
	})
	t.Run("stream ended with permission denied answers error", func(t *testing.T) {
		fi := ingestertest.Start(t, "")
		fi.Update(func(f *ingestertest.State) { f.Answer = func(*ingestv1.Batch) *ingestv1.Ack { return nil } })
		c := newTestClient(t, testConfig(fi.Addr))
		result := make(chan Result)
		go func() { result <- c.Flush("t", chunkOf(t, "x", 1)) }()
		eventually(t, 2*time.Second, "the batch to arrive", func() bool { return len(fi.Received()) == 1 })
		fi.BreakStreams(status.Error(codes.PermissionDenied, "access key revoked"))
		if got := <-result; got != Error {
			t.Fatalf("Flush = %v, want Error", got)
		}
	})
}

func TestReconnectControlHandsOverWithoutLoss(t *testing.T) {
	fi := ingestertest.Start(t, "")
	c := newTestClient(t, testConfig(fi.Addr))
	if c.Flush("t", chunkOf(t, "a", 1)) != OK {
		t.Fatal("first flush failed")
	}
	fi.Push(&ingestv1.IngesterFrame{Frame: &ingestv1.IngesterFrame_Control{Control: &ingestv1.Control{Kind: ingestv1.Control_KIND_RECONNECT, Reason: "draining"}}})
	eventually(t, 3*time.Second, "the old stream to be half-closed by the agent", func() bool {
		st := fi.Snapshot()
		return st.ClosedBySender == 1 && len(st.Hellos) == 2
	})
	if got := c.Flush("t", chunkOf(t, "b", 1)); got != OK {
		t.Fatalf("flush after the handover = %v", got)
	}
	if n := fi.OpenStreams(); n != 1 {
		t.Fatalf("%d streams open after the handover, want 1", n)
	}
}

func TestSlowDownPausesNewBatches(t *testing.T) {
	fi := ingestertest.Start(t, "")
	c := newTestClient(t, testConfig(fi.Addr))
	flushUntilOK(t, c, "t", chunkOf(t, "a", 1))
	fi.Push(&ingestv1.IngesterFrame{Frame: &ingestv1.IngesterFrame_Control{Control: &ingestv1.Control{Kind: ingestv1.Control_KIND_SLOW_DOWN, RetryAfterMs: 400}}})
	eventually(t, time.Second, "the pause", func() bool { return c.Flush("t", chunkOf(t, "b", 1)) == Retry })
	sent := len(fi.Received())
	flushUntilOK(t, c, "t", chunkOf(t, "c", 1))
	if len(fi.Received()) != sent+1 {
		t.Fatalf("batches were sent during the pause: %d, then %d", sent, len(fi.Received()))
	}
}

func TestCloseWaitsForAcksInFlight(t *testing.T) {
	fi := ingestertest.Start(t, "")
	fi.Update(func(f *ingestertest.State) {
		f.Answer = func(b *ingestv1.Batch) *ingestv1.Ack {
			time.Sleep(300 * time.Millisecond)
			return &ingestv1.Ack{Result: ingestv1.AckResult_ACK_RESULT_OK}
		}
	})
	c := newTestClient(t, testConfig(fi.Addr))
	result := make(chan Result)
	go func() { result <- c.Flush("t", chunkOf(t, "x", 1)) }()
	eventually(t, 2*time.Second, "the batch to arrive", func() bool { return len(fi.Received()) == 1 })
	c.Close()
	if got := <-result; got != OK {
		t.Fatalf("the flush in flight at Close answered %v, want OK", got)
	}
	if got := c.Flush("t", chunkOf(t, "y", 1)); got != Retry {
		t.Fatalf("Flush after Close = %v, want Retry", got)
	}
	eventually(t, 2*time.Second, "the stream to be half-closed", func() bool {
		return fi.Snapshot().ClosedBySender == 1
	})
}

func TestCloseWithoutStartAndTwice(t *testing.T) {
	c, err := New(Options{Config: testConfig("127.0.0.1:1")})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	c.Close()
	if got := c.Flush("t", nil); got != Retry {
		t.Fatalf("Flush after Close = %v", got)
	}
}

func TestMalformedChunkAnswersError(t *testing.T) {
	fi := ingestertest.Start(t, "")
	c := newTestClient(t, testConfig(fi.Addr))
	if got := c.Flush("t", []byte{0x92, 0x01, 0xa1, 'x'}); got != Error {
		t.Fatalf("Flush = %v, want Error", got)
	}
	if n := len(fi.Received()); n != 0 {
		t.Fatalf("a malformed chunk reached the ingester (%d batches)", n)
	}
}

func TestTokenExpiringHandsOverToTheRotatedToken(t *testing.T) {
	fi := ingestertest.Start(t, "")
	tokenFile := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tokenFile, []byte(ingestertest.Token), 0o600)
	cfg := testConfig(fi.Addr)
	cfg.AccessToken, cfg.AccessTokenFile = "", tokenFile
	c := newTestClient(t, cfg)
	flushUntilOK(t, c, "t", chunkOf(t, "a", 1))

	// The operator rotates the secret; the ingester accepts only the new token.
	os.WriteFile(tokenFile, []byte("rotated-token"), 0o600)
	os.Chtimes(tokenFile, time.Now().Add(time.Second), time.Now().Add(time.Second))
	fi.Update(func(s *ingestertest.State) { s.Token = "rotated-token" })
	fi.Push(&ingestv1.IngesterFrame{Frame: &ingestv1.IngesterFrame_Control{Control: &ingestv1.Control{
		Kind: ingestv1.Control_KIND_TOKEN_EXPIRING, TokenExpiresUnixNano: time.Now().Add(time.Minute).UnixNano()}}})
	eventually(t, 3*time.Second, "a new stream with the new token and the old one drained", func() bool {
		st := fi.Snapshot()
		return len(st.Hellos) == 2 && st.ClosedBySender == 1
	})
	if got := c.Flush("t", chunkOf(t, "b", 1)); got != OK {
		t.Fatalf("flush after the token handover = %v", got)
	}
}

func TestStreamWithoutAcksIsReplaced(t *testing.T) {
	fi := ingestertest.Start(t, "")
	fi.Update(func(s *ingestertest.State) { s.Answer = func(*ingestv1.Batch) *ingestv1.Ack { return nil } })
	c := newTestClient(t, testConfig(fi.Addr, "Ack_Timeout", "200ms"))
	if got := c.Flush("t", chunkOf(t, "x", 1)); got != Retry {
		t.Fatalf("Flush = %v, want Retry", got)
	}
	// Twice Ack_Timeout without an ack: the stream is given up and reopened.
	eventually(t, 3*time.Second, "a second stream", func() bool { return len(fi.Snapshot().Hellos) == 2 })
}
