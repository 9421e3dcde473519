package destination

import (
	"context"
	"errors"
	"log/slog"
	"testing"
)

// sink records groups in memory: it stands for a downstream destination.
type sink struct {
	groups int
	err    error
}

func (s *sink) Validate(*Batch) error { return nil }
func (s *sink) Write(context.Context, []*Batch) (int64, error) {
	if s.err != nil {
		return 0, s.err
	}
	s.groups++
	return 10, nil
}
func (s *sink) Close() error { return nil }

func TestMultiRetriesAllButBestEffortNever(t *testing.T) {
	durable, broken := &sink{}, &sink{err: errors.New("stdout closed")}
	m := Multi{durable, BestEffort(broken, slog.New(slog.DiscardHandler))}
	n, err := m.Write(context.Background(), []*Batch{{}})
	if err != nil || n != 10 || durable.groups != 1 {
		t.Fatalf("Write = %d, %v; durable groups %d; want 10, nil, 1", n, err, durable.groups)
	}
	failing := &sink{err: errors.New("disk full")}
	if _, err := (Multi{failing, durable}).Write(context.Background(), nil); err == nil || durable.groups != 1 {
		t.Fatalf("a failing durable destination: err %v, later destination wrote %d groups", err, durable.groups)
	}
}
