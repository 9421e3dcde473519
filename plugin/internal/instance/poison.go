package instance

import (
	"crypto/sha256"
	"log/slog"
	"runtime/debug"
	"sync"

	"github.com/ferrylog/ferry/plugin/internal/agent"
)

// PoisonLimit is how many panics on the same chunk content answer Retry
// before the chunk is given up with Error.
const PoisonLimit = 3

// poisonRemembered bounds the memory of panicking chunks.
const poisonRemembered = 256

type poisonTracker struct {
	mu     sync.Mutex
	counts map[[sha256.Size]byte]int
}

func newPoisonTracker() *poisonTracker {
	return &poisonTracker{counts: map[[sha256.Size]byte]int{}}
}

// panicked records a panic during the flush of chunk and decides the answer.
func (p *poisonTracker) panicked(log *slog.Logger, tag string, chunk []byte, cause any) agent.Result {
	key := sha256.Sum256(append([]byte(tag+"\x00"), chunk...))
	p.mu.Lock()
	if len(p.counts) >= poisonRemembered {
		clear(p.counts)
	}
	p.counts[key]++
	n := p.counts[key]
	p.mu.Unlock()
	if n >= PoisonLimit {
		log.Error("the plugin panicked on this chunk again; giving it up so it cannot loop. This is a bug: please report it with the stack", "tag", tag, "panics", n, "panic", cause, "stack", string(debug.Stack()))
		return agent.Error
	}
	log.Error("the plugin panicked during a flush; answering retry. This is a bug: please report it with the stack", "tag", tag, "panics", n, "panic", cause, "stack", string(debug.Stack()))
	return agent.Retry
}
