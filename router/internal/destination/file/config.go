// Package file is the file destination: one JSON-lines file per access key,
// appended and fsynced before the router marks the records consumed.
package file

import (
	"errors"
	"log/slog"
	"os"
	"time"

	"github.com/ferrylog/ferry/router/internal/dedup"
)

// Config of the file destination.
type Config struct {
	// Dir holds one <access-key>.log per access key. It is created if missing.
	Dir string
	// FileMode is the permission of new files; logs may be sensitive, so the
	// default keeps them from other users.
	FileMode os.FileMode
	// DedupWindow is how long a written batch id is remembered (default
	// 24h); a duplicate arriving later is written again.
	DedupWindow time.Duration
	// DedupMaxIDs bounds the remembered ids (default 2,000,000), oldest
	// evicted first.
	DedupMaxIDs int
	Logger      *slog.Logger
	// Now is time.Now; tests move the clock.
	Now func() time.Time
}

// Validate checks the configuration once, before the destination opens.
func (c *Config) Validate() error {
	if c.Dir == "" {
		return errors.New("the file destination needs a directory (--file-dir)")
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	opt := c.dedupOptions()
	return opt.Validate()
}

func (c *Config) dedupOptions() dedup.Options {
	return dedup.Options{Window: c.DedupWindow, MaxIDs: c.DedupMaxIDs, Logger: c.Logger, Now: c.Now}
}

func (c *Config) fileMode() os.FileMode {
	if c.FileMode == 0 {
		return 0o640
	}
	return c.FileMode
}
