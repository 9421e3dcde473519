package destination

import (
	"context"
	"log/slog"
)

// BestEffort wraps a destination whose failures must not hold up the others
// in a Multi (printing next to the file destination): its write errors are
// logged, not returned, so a closed stdout never makes the file destination
// write a group twice.
func BestEffort(d Destination, logger *slog.Logger) Destination {
	return bestEffort{Destination: d, logger: logger}
}

type bestEffort struct {
	Destination
	logger *slog.Logger
}

func (b bestEffort) Validate(*Batch) error { return nil }

func (b bestEffort) Write(ctx context.Context, batches []*Batch) (int64, error) {
	n, err := b.Destination.Write(ctx, batches)
	if err != nil {
		b.logger.Warn("best-effort destination failed; the group is not retried for it", "error", err)
	}
	return n, nil
}
