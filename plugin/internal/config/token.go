package config

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// maxTokenFileBytes bounds what is read from a token file; a JWT is far smaller.
const maxTokenFileBytes = 64 << 10

// ReadTokenFile reads a token file: surrounding white space is ignored, and an
// empty file is an error. The error never contains the file's contents.
func ReadTokenFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	buf, err := io.ReadAll(io.LimitReader(f, maxTokenFileBytes+1))
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", path, err)
	}
	if len(buf) > maxTokenFileBytes {
		return "", fmt.Errorf("%s is larger than %d bytes: it does not hold a token", path, maxTokenFileBytes)
	}
	tok := strings.TrimSpace(string(buf))
	if tok == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return tok, nil
}

// TokenSource gives the access token to present on the next connect.
type TokenSource interface {
	Token() (string, error)
}

// TokenSource returns the token source the config names.
func (c Config) TokenSource() TokenSource {
	if c.AccessTokenFile != "" {
		return &FileToken{Path: c.AccessTokenFile}
	}
	return staticToken(c.AccessToken)
}

type staticToken Secret

func (s staticToken) Token() (string, error) { return string(s), nil }

// FileToken re-reads its file when the file's modification time or size
// changed since the last read, so a rotated secret (for example a Kubernetes
// secret volume) is picked up on the next connect without a restart. When the
// file cannot be read the last good token is kept.
type FileToken struct {
	Path string

	mu      sync.Mutex
	token   string
	modTime time.Time
	size    int64
}

// Token returns the current token.
func (f *FileToken) Token() (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st, err := os.Stat(f.Path)
	if err != nil {
		if f.token != "" {
			return f.token, nil
		}
		return "", err
	}
	if f.token != "" && st.ModTime().Equal(f.modTime) && st.Size() == f.size {
		return f.token, nil
	}
	tok, err := ReadTokenFile(f.Path)
	if err != nil {
		if f.token != "" {
			return f.token, nil
		}
		return "", err
	}
	f.token, f.modTime, f.size = tok, st.ModTime(), st.Size()
	return tok, nil
}

// Changed reports whether the file differs from what the last Token call
// read, for a client that wants to reconnect when the secret rotates.
func (f *FileToken) Changed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	st, err := os.Stat(f.Path)
	if err != nil {
		return false
	}
	return !st.ModTime().Equal(f.modTime) || st.Size() != f.size
}
