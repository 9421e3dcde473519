// Package secretfile reads and writes the small JSON files that hold Ferry's
// secrets (the encryption keyring and the token signing keys). Secrets live in
// files with 0600 permissions, never in flags, so they do not show in `ps`.
package secretfile

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Write stores v as indented JSON in path with 0600 permissions. It refuses to
// overwrite an existing file: replacing a keyring by accident makes every
// record encrypted with it unreadable.
func Write(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create the folder for %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s exists already; move it away first if you really mean to replace it (records and tokens made with its keys stop working)", path)
	}
	if err != nil {
		return err
	}
	if _, err := f.Write(append(data, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Read decodes the JSON file at path into v. The error names the file and
// says what to do, without quoting the file's contents.
func Read(path, what string, v any) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s file %s does not exist; create one with `ingester init`", what, path)
	}
	if err != nil {
		return fmt.Errorf("read %s file: %w", what, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		// The JSON error may quote part of the file; say only where it broke.
		var syntaxErr *json.SyntaxError
		if errors.As(err, &syntaxErr) {
			return fmt.Errorf("%s file %s is not valid JSON (at byte %d)", what, path, syntaxErr.Offset)
		}
		return fmt.Errorf("%s file %s has an unexpected layout; compare it with one made by `ingester init`", what, path)
	}
	return nil
}
