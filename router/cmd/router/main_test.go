package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestBinary builds the real router and checks what an operator sees for
// mistakes: one line on stderr, no stack trace, and the exit code.
func TestBinary(t *testing.T) {
	bin := buildRouter(t)
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stderr string // substring of the single stderr line
		stdout string // substring of stdout, when code is 0
	}{
		{"no command", nil, 2, "", "Usage: router"},
		{"unknown command", []string{"launch"}, 2, `unknown command "launch"`, ""},
		{"help", []string{"help"}, 0, "", "consumer"},
		{"consumer help", []string{"help", "consumer"}, 0, "", "--file-dir"},
		{"nothing to do", []string{"consumer"}, 2, "router consumer: nothing to do", ""},
		{"file without keyring", []string{"consumer", "--file-dir", "x"}, 2, "--file-dir needs --keyring", ""},
		{"unknown flag", []string{"consumer", "--print-events", "--fast"}, 2, "flag provided but not defined: -fast", ""},
		{"bad offset", []string{"consumer", "--print-events", "--initial-offset", "middle"}, 2, `initial offset "middle"`, ""},
		{"missing keyring file", []string{"consumer", "--file-dir", "x", "--keyring", "/nonexistent/keyring.json"}, 1, "keyring file /nonexistent/keyring.json does not exist", ""},
		{"missing config file", []string{"consumer", "--print-events", "--config", "/nonexistent/ferry.json"}, 1, "read config file", ""},
		{"busy port", []string{"consumer", "--print-events", "--http-listen", "256.0.0.1:1"}, 1, "listen on 256.0.0.1:1", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(bin, tc.args...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := 0
			var exitErr *exec.ExitError
			if errors.As(err, &exitErr) {
				code = exitErr.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.code {
				t.Fatalf("exit code %d, want %d; stderr %q", code, tc.code, stderr.String())
			}
			if strings.Contains(stderr.String(), "goroutine ") || strings.Contains(stderr.String(), "panic") {
				t.Fatalf("stack trace on stderr: %s", stderr.String())
			}
			if tc.stderr != "" {
				lines := strings.Split(strings.TrimRight(stderr.String(), "\n"), "\n")
				if len(lines) != 1 || !strings.Contains(lines[0], tc.stderr) {
					t.Fatalf("stderr %q, want one line containing %q", stderr.String(), tc.stderr)
				}
			}
			if tc.code == 0 && !strings.Contains(stdout.String(), tc.stdout) {
				t.Fatalf("stdout %q, want it to contain %q", stdout.String(), tc.stdout)
			}
			if tc.code != 0 && tc.stdout != "" && !strings.Contains(stdout.String()+stderr.String(), tc.stdout) {
				t.Fatalf("output lacks %q", tc.stdout)
			}
		})
	}
}

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// buildRouter builds the binary once per test run.
func buildRouter(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "router-bin-")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "router")
		if out, err := exec.Command("go", "build", "-o", builtBin, ".").CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if builtBin != "" {
		os.RemoveAll(filepath.Dir(builtBin))
	}
	os.Exit(code)
}
