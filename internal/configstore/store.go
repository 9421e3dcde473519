package configstore

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"sync"
	"sync/atomic"
	"time"
)

// Store holds the current configuration of one file and reloads it when the
// file changes. Readers call Current; they never see a half-loaded file.
type Store struct {
	path   string
	logger *slog.Logger

	current atomic.Pointer[Snapshot]

	mu       sync.Mutex // guards lastData, changed, reload
	lastData []byte
	changed  chan struct{}
}

// Open loads path. A missing or invalid file is an error at start-up; later
// broken edits are logged and the last good configuration stays in force.
func Open(path string, logger *slog.Logger) (*Store, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config file: %w", err)
	}
	snap, err := Parse(data, path)
	if err != nil {
		return nil, err
	}
	snap.Generation = 1
	for _, a := range snap.AccessKeys {
		a.Version = 1
	}
	s := &Store{path: path, logger: logger, lastData: data, changed: make(chan struct{})}
	s.current.Store(snap)
	return s, nil
}

// Current returns the configuration in force.
func (s *Store) Current() *Snapshot { return s.current.Load() }

// Changed returns a channel that is closed at the next successful reload.
func (s *Store) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

// Reload reads the file again. It reports whether the configuration changed;
// on error the last good configuration stays in force.
func (s *Store) Reload() (bool, error) {
	data, err := os.ReadFile(s.path)
	if err != nil {
		return false, fmt.Errorf("read config file: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if bytes.Equal(data, s.lastData) {
		return false, nil
	}
	snap, err := Parse(data, s.path)
	if err != nil {
		return false, err
	}
	s.lastData = data
	prev := s.current.Load()
	snap.Generation = prev.Generation + 1
	for key, a := range snap.AccessKeys {
		a.Version = snap.Generation
		if old, ok := prev.AccessKeys[key]; ok && sameSettings(old, a) {
			a.Version = old.Version
		}
	}
	s.current.Store(snap)
	close(s.changed)
	s.changed = make(chan struct{})
	return true, nil
}

func sameSettings(a, b *AccessKey) bool {
	x, y := *a, *b
	x.Version, y.Version = 0, 0
	return reflect.DeepEqual(x, y)
}

// Watch reloads the file every interval until ctx ends. Polling (rather
// than inotify) also sees files replaced by rename, as editors and
// Kubernetes config maps do.
func (s *Store) Watch(ctx context.Context, interval time.Duration) {
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	var lastErr string
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		changed, err := s.Reload()
		switch {
		case err != nil && err.Error() != lastErr:
			lastErr = err.Error()
			s.logger.Error("config file has an error; keeping the last good configuration", "error", err)
		case err == nil && changed:
			lastErr = ""
			snap := s.Current()
			s.logger.Info("config file reloaded", "file", s.path, "generation", snap.Generation, "access_keys", len(snap.AccessKeys))
		}
	}
}
