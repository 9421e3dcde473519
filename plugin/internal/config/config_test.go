package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const testToken = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LXRva2Vu.c2lnbmF0dXJl"

func noEnv(string) (string, bool) { return "", false }

func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func minimal() MapGetter {
	return MapGetter{"ingester": "127.0.0.1:4317", "access_key": "key-1", "access_token": testToken, "agent_id": "agent-1"}
}

func with(base MapGetter, kv ...string) MapGetter {
	out := MapGetter{}
	for k, v := range base {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		out[strings.ToLower(kv[i])] = kv[i+1]
	}
	return out
}

func without(base MapGetter, keys ...string) MapGetter {
	out := with(base)
	for _, k := range keys {
		delete(out, strings.ToLower(k))
	}
	return out
}

func TestLoadDefaults(t *testing.T) {
	cfg, err := Load(minimal(), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Ingester != "127.0.0.1:4317" || cfg.AccessKey != "key-1" || cfg.AccessToken.Reveal() != testToken || cfg.AgentID != "agent-1" {
		t.Fatalf("unexpected config: %+v", cfg)
	}
	if cfg.ConnectTimeout != 10*time.Second || cfg.AckTimeout != 30*time.Second || cfg.ExitTimeout != 5*time.Second {
		t.Fatalf("timeouts: %v %v %v", cfg.ConnectTimeout, cfg.AckTimeout, cfg.ExitTimeout)
	}
	if cfg.Insecure || cfg.MaxBatchBytes != 0 || cfg.MaxBatchesInFlight != 0 {
		t.Fatalf("optional keys not zero: %+v", cfg)
	}
}

func TestLoadKeysMatchWithoutCase(t *testing.T) {
	cfg, err := Load(MapGetter{"INGESTER": "h:1", "ACCESS_key": "k", "Access_Token": "t", "agent_ID": "a", "insecure": "On"}, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Insecure || cfg.Ingester != "h:1" || cfg.AgentID != "a" {
		t.Fatalf("%+v", cfg)
	}
}

func TestLoadValidValues(t *testing.T) {
	for _, tc := range []struct {
		key, value string
		check      func(Config) bool
	}{
		{"Connect_Timeout", "3", func(c Config) bool { return c.ConnectTimeout == 3*time.Second }},
		{"Connect_Timeout", "0.5", func(c Config) bool { return c.ConnectTimeout == 500*time.Millisecond }},
		{"Ack_Timeout", "1m30s", func(c Config) bool { return c.AckTimeout == 90*time.Second }},
		{"Exit_Timeout", "250ms", func(c Config) bool { return c.ExitTimeout == 250*time.Millisecond }},
		{"Max_Batches_In_Flight", "4", func(c Config) bool { return c.MaxBatchesInFlight == 4 }},
		{"Max_Batch_Bytes", "65536", func(c Config) bool { return c.MaxBatchBytes == 65536 }},
		{"Max_Batch_Bytes", "900K", func(c Config) bool { return c.MaxBatchBytes == 900000 }},
		{"Max_Batch_Bytes", "1MiB", func(c Config) bool { return c.MaxBatchBytes == 1<<20 }},
		{"Max_Batch_Bytes", "2 MB", func(c Config) bool { return c.MaxBatchBytes == 2000000 }},
		{"Insecure", "false", func(c Config) bool { return !c.Insecure }},
		{"Insecure", "YES", func(c Config) bool { return c.Insecure }},
		{"TLS_Server_Name", "ingester.internal", func(c Config) bool { return c.TLS.ServerName == "ingester.internal" }},
		{"Ingester", "[::1]:4317", func(c Config) bool { return c.Ingester == "[::1]:4317" }},
	} {
		t.Run(tc.key+"="+tc.value, func(t *testing.T) {
			cfg, err := Load(with(minimal(), tc.key, tc.value), noEnv)
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(cfg) {
				t.Fatalf("unexpected config %+v", cfg)
			}
		})
	}
}

func TestLoadRejectsBadValues(t *testing.T) {
	dir := t.TempDir()
	emptyFile := filepath.Join(dir, "empty")
	os.WriteFile(emptyFile, []byte("  \n"), 0o600)
	notPEM := filepath.Join(dir, "ca.txt")
	os.WriteFile(notPEM, []byte("not a certificate"), 0o600)

	for _, tc := range []struct {
		name string
		src  MapGetter
		want string // a part of the error that names the key and what is accepted
	}{
		{"ingester missing", without(minimal(), "ingester"), "Ingester is required"},
		{"ingester without port", with(minimal(), "Ingester", "localhost"), "want host:port"},
		{"ingester without host", with(minimal(), "Ingester", ":4317"), "want host:port"},
		{"ingester port zero", with(minimal(), "Ingester", "h:0"), "port must be a number from 1 to 65535"},
		{"ingester port too big", with(minimal(), "Ingester", "h:70000"), "port must be a number from 1 to 65535"},
		{"ingester port not a number", with(minimal(), "Ingester", "h:grpc"), "port must be a number"},
		{"access key missing", without(minimal(), "access_key"), "Access_Key is required"},
		{"token missing", without(minimal(), "access_token"), "an access token is required"},
		{"token and token file", with(minimal(), "Access_Token_File", "/x"), "Access_Token and Access_Token_File are both set"},
		{"token file missing", with(without(minimal(), "access_token"), "Access_Token_File", filepath.Join(dir, "nope")), "Access_Token_File"},
		{"token file empty", with(without(minimal(), "access_token"), "Access_Token_File", emptyFile), "is empty"},
		{"insecure not a bool", with(minimal(), "Insecure", "maybe"), `Insecure="maybe": want true or false`},
		{"insecure with tls", with(minimal(), "Insecure", "true", "TLS_CA_File", notPEM), "Insecure=true turns TLS off"},
		{"cert without key", with(minimal(), "TLS_Cert_File", "/c.pem"), "set both or neither"},
		{"key without cert", with(minimal(), "TLS_Key_File", "/k.pem"), "set both or neither"},
		{"ca file missing", with(minimal(), "TLS_CA_File", filepath.Join(dir, "nope.pem")), "TLS_CA_File"},
		{"ca file not pem", with(minimal(), "TLS_CA_File", notPEM), "no PEM certificate"},
		{"cert file missing", with(minimal(), "TLS_Cert_File", "/nope/c.pem", "TLS_Key_File", "/nope/k.pem"), "cannot load the client certificate"},
		{"connect timeout word", with(minimal(), "Connect_Timeout", "soon"), `Connect_Timeout="soon": want a duration`},
		{"connect timeout zero", with(minimal(), "Connect_Timeout", "0"), "Connect_Timeout"},
		{"connect timeout negative", with(minimal(), "Connect_Timeout", "-1s"), "above zero"},
		{"ack timeout too long", with(minimal(), "Ack_Timeout", "2h"), "at most 1h"},
		{"ack timeout NaN", with(minimal(), "Ack_Timeout", "NaN"), "Ack_Timeout"},
		{"ack timeout Inf", with(minimal(), "Ack_Timeout", "+Inf"), "Ack_Timeout"},
		{"exit timeout unit only", with(minimal(), "Exit_Timeout", "s"), "Exit_Timeout"},
		{"in flight zero", with(minimal(), "Max_Batches_In_Flight", "0"), "Max_Batches_In_Flight=\"0\": want a whole number"},
		{"in flight negative", with(minimal(), "Max_Batches_In_Flight", "-3"), "Max_Batches_In_Flight"},
		{"in flight fraction", with(minimal(), "Max_Batches_In_Flight", "1.5"), "Max_Batches_In_Flight"},
		{"in flight huge", with(minimal(), "Max_Batches_In_Flight", "99999999"), "Max_Batches_In_Flight"},
		{"batch bytes word", with(minimal(), "Max_Batch_Bytes", "big"), `Max_Batch_Bytes="big": want a size`},
		{"batch bytes too small", with(minimal(), "Max_Batch_Bytes", "100"), "at least 1024 bytes"},
		{"batch bytes negative", with(minimal(), "Max_Batch_Bytes", "-1M"), "Max_Batch_Bytes"},
		{"batch bytes overflow", with(minimal(), "Max_Batch_Bytes", "99999999999999999G"), "Max_Batch_Bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(tc.src, noEnv)
			if err == nil {
				t.Fatal("Load accepted a bad configuration")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), testToken) {
				t.Fatalf("error reveals the token: %q", err)
			}
		})
	}
}

func TestLoadReportsAllProblemsAtOnce(t *testing.T) {
	_, err := Load(MapGetter{"Connect_Timeout": "x", "Max_Batch_Bytes": "y"}, noEnv)
	if err == nil {
		t.Fatal("expected an error")
	}
	for _, want := range []string{"Ingester is required", "Access_Key is required", "access token is required", "Connect_Timeout", "Max_Batch_Bytes"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestLoadFallsBackToEnvironment(t *testing.T) {
	cfg, err := Load(without(minimal(), "access_key", "access_token"), envOf(map[string]string{EnvAccessKey: "env-key", EnvAccessToken: " env-token\n"}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.AccessKey != "env-key" || cfg.AccessToken.Reveal() != "env-token" {
		t.Fatalf("%+v", cfg)
	}
	// The [OUTPUT] keys win over the environment.
	cfg, err = Load(minimal(), envOf(map[string]string{EnvAccessKey: "env-key", EnvAccessToken: "env-token"}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.AccessKey != "key-1" || cfg.AccessToken.Reveal() != testToken {
		t.Fatalf("%+v", cfg)
	}
}

func TestAgentIDDefaultsToHostname(t *testing.T) {
	host, err := os.Hostname()
	if err != nil {
		t.Skip("no hostname")
	}
	cfg, err := Load(without(minimal(), "agent_id"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.AgentID != host {
		t.Fatalf("agent id %q, want hostname %q", cfg.AgentID, host)
	}
}

func TestSecretNeverFormats(t *testing.T) {
	cfg, err := Load(minimal(), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	//lint:ignore S1025 the %s verb is the formatting under test: it must not reveal the secret
	for _, s := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), fmt.Sprintf("%s", cfg.AccessToken)} {
		if strings.Contains(s, testToken) {
			t.Fatalf("formatted config reveals the token: %s", s)
		}
	}
}

func TestFileTokenFollowsRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(path, []byte("first\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(with(without(minimal(), "access_token"), "Access_Token_File", path), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	src := cfg.TokenSource()
	if tok, err := src.Token(); err != nil || tok != "first" {
		t.Fatalf("token %q, %v", tok, err)
	}
	ft := src.(*FileToken)
	if ft.Changed() {
		t.Fatal("Changed before any change")
	}
	// A rotated secret: new contents and a new modification time.
	if err := os.WriteFile(path, []byte("second-token"), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(path, time.Now().Add(time.Minute), time.Now().Add(time.Minute))
	if !ft.Changed() {
		t.Fatal("Changed missed the rotation")
	}
	if tok, _ := src.Token(); tok != "second-token" {
		t.Fatalf("token after rotation %q", tok)
	}
	// A vanished or emptied file keeps the last good token.
	os.WriteFile(path, nil, 0o600)
	os.Chtimes(path, time.Now().Add(2*time.Minute), time.Now().Add(2*time.Minute))
	if tok, err := src.Token(); err != nil || tok != "second-token" {
		t.Fatalf("token after emptying %q, %v", tok, err)
	}
	os.Remove(path)
	if tok, err := src.Token(); err != nil || tok != "second-token" {
		t.Fatalf("token after removal %q, %v", tok, err)
	}
}

func TestTLSClientConfigWithCAAndClientCert(t *testing.T) {
	dir := t.TempDir()
	certPEM, keyPEM := selfSigned(t)
	ca := filepath.Join(dir, "ca.pem")
	crt := filepath.Join(dir, "client.pem")
	key := filepath.Join(dir, "client.key")
	os.WriteFile(ca, certPEM, 0o600)
	os.WriteFile(crt, certPEM, 0o600)
	os.WriteFile(key, keyPEM, 0o600)
	cfg, err := Load(with(minimal(), "TLS_CA_File", ca, "TLS_Cert_File", crt, "TLS_Key_File", key, "TLS_Server_Name", "ingester"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	tc, err := cfg.TLS.ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	if tc.RootCAs == nil || len(tc.Certificates) != 1 || tc.ServerName != "ingester" {
		t.Fatalf("tls config incomplete: %+v", tc)
	}
}

func selfSigned(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ingester"}, DNSNames: []string{"ingester"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
}
