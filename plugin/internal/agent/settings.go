package agent

import (
	"time"

	"github.com/ferrylog/ferry/plugin/internal/config"
	"github.com/ferrylog/ferry/plugin/internal/msgpackchunk"
	ingestv1 "github.com/ferrylog/ferry/proto/ferry/ingest/v1"
)

// Used when neither the ingester nor the [OUTPUT] section sets a limit.
const (
	// Under Kafka's default message limit (1 MiB) with room for the
	// ingester's envelope.
	defaultMaxBatchBytes = 1<<20 - 64<<10
	defaultInFlight      = 8
	defaultBackoffMin    = time.Second
	defaultBackoffMax    = 30 * time.Second
)

// settings are the limits in force: the local caps of the [OUTPUT] section
// combined with the latest AgentConfig, the lower of the two winning.
type settings struct {
	version       int64
	maxBatchBytes int
	inFlight      int
	decoder       *msgpackchunk.Decoder
	backoff       Backoff
}

func initialSettings(cfg config.Config, backoff Backoff) settings {
	return combine(cfg, &ingestv1.AgentConfig{}, backoff)
}

func combine(cfg config.Config, server *ingestv1.AgentConfig, fallback Backoff) settings {
	s := settings{
		version:       server.GetVersion(),
		maxBatchBytes: int(lowerOf(cfg.MaxBatchBytes, server.GetMaxBatchBytes(), defaultMaxBatchBytes)),
		inFlight:      int(lowerOf(int64(cfg.MaxBatchesInFlight), int64(server.GetMaxBatchesInFlight()), defaultInFlight)),
		decoder:       msgpackchunk.NewDecoder(server.GetLabels()),
		backoff:       fallback,
	}
	if ms := server.GetRetryMinBackoffMs(); ms > 0 {
		s.backoff.Min = time.Duration(ms) * time.Millisecond
	}
	if ms := server.GetRetryMaxBackoffMs(); ms > 0 {
		s.backoff.Max = time.Duration(ms) * time.Millisecond
	}
	if s.backoff.Max < s.backoff.Min {
		s.backoff.Max = s.backoff.Min
	}
	return s
}

// lowerOf returns the smaller of the values that are set (> 0), or def.
func lowerOf(local, server, def int64) int64 {
	switch {
	case local > 0 && server > 0:
		return min(local, server)
	case local > 0:
		return local
	case server > 0:
		return server
	}
	return def
}
