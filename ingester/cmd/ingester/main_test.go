package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferrylog/ferry/internal/token"
)

// runCLI runs the command in-process as main would, returning the exit
// code and what it printed.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	code := run(ctx, args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestStartupErrorsAreOneClearLine(t *testing.T) {
	dir := t.TempDir()
	if code, _, errOut := runCLI(t, "init", "--dir", dir); code != 0 {
		t.Fatalf("init failed: %s", errOut)
	}
	config := filepath.Join(dir, "ferry.json")
	os.WriteFile(config, []byte(`{"AK1": {"tenant": "acme"}}`), 0o644)
	unreadable := filepath.Join(dir, "unreadable.json")
	os.WriteFile(unreadable, []byte(`{}`), 0o000)
	broken := filepath.Join(dir, "broken.json")
	os.WriteFile(broken, []byte("{\n  \"AK1\": {\"tenant\": \"acme\",}\n}"), 0o644)
	keyring := filepath.Join(dir, "keyring.json")
	tokenKeys := filepath.Join(dir, "token-keys.json")
	common := []string{"api", "--insecure", "--listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0"}

	cases := []struct {
		name string
		args []string
		code int
		says string
	}{
		{"missing keyring", append(common, "--config", config, "--keyring", filepath.Join(dir, "none.json"), "--token-keys", tokenKeys), 1, "ingester init"},
		{"missing config", append(common, "--config", filepath.Join(dir, "none.json"), "--keyring", keyring, "--token-keys", tokenKeys), 1, "none.json"},
		{"broken config", append(common, "--config", broken, "--keyring", keyring, "--token-keys", tokenKeys), 1, "broken.json:2:"},
		{"no TLS and no --insecure", []string{"api", "--config", config, "--keyring", keyring, "--token-keys", tokenKeys}, 2, "--tls-cert"},
		{"bad compression", append(common, "--compression", "gzip"), 2, "--compression"},
		{"bad brokers", append(common, "--kafka-brokers", "localhost"), 2, "no port"},
		{"unknown flag", []string{"api", "--no-such-flag"}, 2, "no-such-flag"},
		{"unknown command", []string{"serve"}, 2, "unknown command"},
		{"token without key", []string{"access-token", "--token-keys", tokenKeys}, 2, "--access-key is required"},
		{"token with bad expiry", []string{"access-token", "--token-keys", tokenKeys, "--access-key", "AK1", "--expiry", "soon"}, 2, "--expiry"},
		{"init over an existing install", []string{"init", "--dir", dir}, 1, "exists already"},
	}
	if os.Geteuid() != 0 { // root reads any file
		cases = append(cases, struct {
			name string
			args []string
			code int
			says string
		}{"unreadable config", append(common, "--config", unreadable, "--keyring", keyring, "--token-keys", tokenKeys), 1, "permission denied"})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := runCLI(t, tc.args...)
			lastLine := strings.TrimSpace(errOut[strings.LastIndex(strings.TrimRight(errOut, "\n"), "\n")+1:])
			if code != tc.code || !strings.Contains(lastLine, tc.says) {
				t.Fatalf("exit %d, stderr %q; want exit %d and a last line saying %q", code, errOut, tc.code, tc.says)
			}
			if strings.Contains(errOut, "goroutine ") || strings.Contains(errOut, "panic") {
				t.Fatalf("stderr holds a stack trace: %s", errOut)
			}
			if tc.code == 1 && strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
				t.Fatalf("start-up error is not one line: %q", errOut)
			}
		})
	}
}

func TestAccessTokenIssuesAVerifiableToken(t *testing.T) {
	dir := t.TempDir()
	if code, _, errOut := runCLI(t, "init", "--dir", dir); code != 0 {
		t.Fatal(errOut)
	}
	info, err := os.Stat(filepath.Join(dir, "token-keys.json"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("token keys file mode: %v %v", info.Mode(), err)
	}
	// The original design took the expiry in seconds: a bare number still works.
	code, out, errOut := runCLI(t, "access-token", "--token-keys", filepath.Join(dir, "token-keys.json"), "--access-key", "AK1", "--expiry", "3600")
	if code != 0 {
		t.Fatal(errOut)
	}
	keys, err := token.LoadKeySet(filepath.Join(dir, "token-keys.json"))
	if err != nil {
		t.Fatal(err)
	}
	claims, err := keys.Verify(strings.TrimSpace(out), token.ScopeAgent, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if claims.AccessKey() != "AK1" || claims.ExpiresAt.Sub(claims.IssuedAt.Time) != time.Hour {
		t.Fatalf("claims = %+v", claims)
	}
}

func TestCertsWritesAUsablePair(t *testing.T) {
	dir := t.TempDir()
	if code, _, errOut := runCLI(t, "certs", "--dir", dir, "--hosts", "localhost,127.0.0.1"); code != 0 {
		t.Fatal(errOut)
	}
	for _, f := range []string{"ca.pem", "server.pem", "server-key.pem", "client.pem", "client-key.pem"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatalf("%s missing: %v", f, err)
		}
	}
	if info, _ := os.Stat(filepath.Join(dir, "server-key.pem")); info.Mode().Perm() != 0o600 {
		t.Fatalf("server key mode %v, want 0600", info.Mode())
	}
}
