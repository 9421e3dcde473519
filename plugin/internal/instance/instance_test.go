package instance

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/ferrylog/ferry/plugin/internal/agent"
	"github.com/ferrylog/ferry/plugin/internal/config"
)

type panickingClient struct {
	mu     sync.Mutex
	closed int
}

func (*panickingClient) Flush(string, []byte) agent.Result { panic("boom") }
func (p *panickingClient) Close() {
	p.mu.Lock()
	p.closed++
	p.mu.Unlock()
}

func TestOpenRejectsBadConfigAndNamesTheKeys(t *testing.T) {
	var logs bytes.Buffer
	_, err := Open(config.MapGetter{"Ingester": "nohostport", "Access_Key": "k", "Access_Token": "secret-token-123"},
		Info{Logger: slog.New(slog.NewTextHandler(&logs, nil)), LookupEnv: func(string) (string, bool) { return "", false }})
	if err == nil {
		t.Fatal("Open accepted a bad Ingester")
	}
	if !strings.Contains(err.Error(), "Ingester") || !strings.Contains(logs.String(), "Ingester") {
		t.Fatalf("error or log does not name the key: %v / %s", err, logs.String())
	}
	if strings.Contains(logs.String(), "secret-token-123") || strings.Contains(err.Error(), "secret-token-123") {
		t.Fatal("the token leaked into the error or the log")
	}
}

func TestOpenStartsWithoutIngesterAndCloses(t *testing.T) {
	inst, err := Open(config.MapGetter{"Ingester": "127.0.0.1:1", "Access_Key": "k", "Access_Token": "t", "Insecure": "true", "Exit_Timeout": "1s"},
		Info{Logger: slog.New(slog.DiscardHandler), LookupEnv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(inst.Name(), "ferry.") {
		t.Fatalf("name %q", inst.Name())
	}
	if got := inst.Flush("t", nil); got != agent.Retry {
		t.Fatalf("Flush while the ingester is down = %v, want Retry", got)
	}
	CloseAll()
	if got := inst.Flush("t", nil); got != agent.Retry {
		t.Fatalf("Flush after close = %v, want Retry", got)
	}
	inst.Close() // idempotent
}

func TestFlushPanicRetriesThenGivesUpPoisonChunk(t *testing.T) {
	client := &panickingClient{}
	inst := register("ferry.test", slog.New(slog.DiscardHandler), client)
	defer inst.Close()
	chunk := []byte("poison")
	for i := 1; i < PoisonLimit; i++ {
		if got := inst.Flush("t", chunk); got != agent.Retry {
			t.Fatalf("panic %d answered %v, want Retry", i, got)
		}
	}
	if got := inst.Flush("t", chunk); got != agent.Error {
		t.Fatalf("panic %d on the same chunk answered %v, want Error", PoisonLimit, got)
	}
	if got := inst.Flush("t", []byte("another chunk")); got != agent.Retry {
		t.Fatalf("a first panic on another chunk answered %v, want Retry", got)
	}
}

func TestFlushOnUnknownContextIsError(t *testing.T) {
	var inst *Instance
	if got := inst.Flush("t", nil); got != agent.Error {
		t.Fatalf("nil instance Flush = %v", got)
	}
	inst.Close()
}

func TestRecoverReturnsFallback(t *testing.T) {
	f := func() (rc int) {
		defer Recover("f", &rc, 7)
		panic("boom")
	}
	if got := f(); got != 7 {
		t.Fatalf("got %d, want the fallback 7", got)
	}
	g := func() (rc int) {
		defer Recover("g", &rc, 7)
		return 1
	}
	if got := g(); got != 1 {
		t.Fatalf("got %d without a panic, want 1", got)
	}
}
