// Package file is the file destination: one JSON-lines file per access key,
// appended and fsynced before the router marks the records consumed.
package file

import (
	"errors"
	"os"
)

// Config of the file destination.
type Config struct {
	// Dir holds one <access-key>.log per access key. It is created if missing.
	Dir string
	// FileMode is the permission of new files; logs may be sensitive, so the
	// default keeps them from other users.
	FileMode os.FileMode
}

// Validate checks the configuration once, before the destination opens.
func (c *Config) Validate() error {
	if c.Dir == "" {
		return errors.New("the file destination needs a directory (--file-dir)")
	}
	return nil
}

func (c *Config) fileMode() os.FileMode {
	if c.FileMode == 0 {
		return 0o640
	}
	return c.FileMode
}
