package config

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// Key names as an operator writes them in the [OUTPUT] section. Fluent Bit
// keeps some keys for itself (host, port, tls*, workers, ...) and never passes
// them to a plugin, so these names avoid them.
const (
	KeyIngester           = "Ingester"
	KeyAccessKey          = "Access_Key"
	KeyAccessToken        = "Access_Token"
	KeyAccessTokenFile    = "Access_Token_File"
	KeyTLSCAFile          = "TLS_CA_File"
	KeyTLSServerName      = "TLS_Server_Name"
	KeyTLSCertFile        = "TLS_Cert_File"
	KeyTLSKeyFile         = "TLS_Key_File"
	KeyInsecure           = "Insecure"
	KeyAgentID            = "Agent_ID"
	KeyConnectTimeout     = "Connect_Timeout"
	KeyAckTimeout         = "Ack_Timeout"
	KeyExitTimeout        = "Exit_Timeout"
	KeyMaxBatchesInFlight = "Max_Batches_In_Flight"
	KeyMaxBatchBytes      = "Max_Batch_Bytes"
)

// Environment variables used when the matching key is not set.
const (
	EnvAccessKey   = "ACCESS_KEY"
	EnvAccessToken = "ACCESS_TOKEN"
)

// Defaults of the optional keys.
const (
	DefaultConnectTimeout = 10 * time.Second
	DefaultAckTimeout     = 30 * time.Second
	DefaultExitTimeout    = 5 * time.Second
)

// Config is the validated configuration of one plugin instance.
type Config struct {
	// Ingester is the host:port of the ingester's gRPC endpoint.
	Ingester  string
	AccessKey string
	// AccessToken is set when the token came from the Access_Token key or the
	// ACCESS_TOKEN environment variable; AccessTokenFile when it is read from
	// a file (re-read when the file changes). Exactly one is set.
	AccessToken     Secret
	AccessTokenFile string

	TLS      TLSFiles
	Insecure bool

	AgentID string

	ConnectTimeout time.Duration
	AckTimeout     time.Duration
	ExitTimeout    time.Duration

	// Local caps; 0 means "no local cap, use what the ingester says".
	MaxBatchesInFlight int
	MaxBatchBytes      int64
}

// TLSFiles names the files of the TLS client configuration.
type TLSFiles struct {
	CAFile     string
	ServerName string
	CertFile   string
	KeyFile    string
}

// Secret holds a credential. It formats as "[redacted]" so that printing a
// Config, on purpose or by accident, never shows it.
type Secret string

// Reveal returns the secret itself, for the one place that must send it.
func (s Secret) Reveal() string { return string(s) }

// String implements fmt.Stringer without revealing the secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// GoString implements fmt.GoStringer without revealing the secret.
func (s Secret) GoString() string { return s.String() }

// Load reads and validates every key. lookupEnv is os.LookupEnv outside tests.
// All problems are reported together so an operator fixes them in one go.
func Load(src Getter, lookupEnv func(string) (string, bool)) (Config, error) {
	get := func(key string) string { return strings.TrimSpace(src.Get(key)) }
	var errs []error
	fail := func(err error) { errs = append(errs, err) }

	cfg := Config{
		Ingester:        get(KeyIngester),
		AccessKey:       get(KeyAccessKey),
		AccessToken:     Secret(get(KeyAccessToken)),
		AccessTokenFile: get(KeyAccessTokenFile),
		TLS: TLSFiles{
			CAFile:     get(KeyTLSCAFile),
			ServerName: get(KeyTLSServerName),
			CertFile:   get(KeyTLSCertFile),
			KeyFile:    get(KeyTLSKeyFile),
		},
		AgentID: get(KeyAgentID),
	}

	if err := validateHostPort(cfg.Ingester); err != nil {
		fail(err)
	}

	if cfg.AccessKey == "" {
		if v, ok := lookupEnv(EnvAccessKey); ok {
			cfg.AccessKey = strings.TrimSpace(v)
		}
	}
	if cfg.AccessKey == "" {
		fail(fmt.Errorf("%s is required: set it in the [OUTPUT] section or the %s environment variable", KeyAccessKey, EnvAccessKey))
	}

	switch {
	case cfg.AccessToken != "" && cfg.AccessTokenFile != "":
		fail(fmt.Errorf("%s and %s are both set: use only one", KeyAccessToken, KeyAccessTokenFile))
	case cfg.AccessTokenFile != "":
		if _, err := ReadTokenFile(cfg.AccessTokenFile); err != nil {
			fail(fmt.Errorf("%s: %w", KeyAccessTokenFile, err))
		}
	case cfg.AccessToken == "":
		if v, ok := lookupEnv(EnvAccessToken); ok {
			cfg.AccessToken = Secret(strings.TrimSpace(v))
		}
		if cfg.AccessToken == "" {
			fail(fmt.Errorf("an access token is required: set %s (a file, re-read when it changes), %s, or the %s environment variable; issue one with `ingester access-token --access-key KEY`",
				KeyAccessTokenFile, KeyAccessToken, EnvAccessToken))
		}
	}

	if v := get(KeyInsecure); v != "" {
		b, err := parseBool(v)
		if err != nil {
			fail(fmt.Errorf("%s=%q: %w", KeyInsecure, v, err))
		}
		cfg.Insecure = b
	}
	if err := cfg.TLS.validate(cfg.Insecure); err != nil {
		fail(err)
	}

	if cfg.AgentID == "" {
		host, err := os.Hostname()
		if err != nil || host == "" {
			fail(fmt.Errorf("%s is not set and the hostname is unknown (%v): set %s", KeyAgentID, err, KeyAgentID))
		}
		cfg.AgentID = host
	}

	cfg.ConnectTimeout = durationKey(get, KeyConnectTimeout, DefaultConnectTimeout, fail)
	cfg.AckTimeout = durationKey(get, KeyAckTimeout, DefaultAckTimeout, fail)
	cfg.ExitTimeout = durationKey(get, KeyExitTimeout, DefaultExitTimeout, fail)

	if v := get(KeyMaxBatchesInFlight); v != "" {
		n, err := parsePositiveInt(v)
		if err != nil {
			fail(fmt.Errorf("%s=%q: %w", KeyMaxBatchesInFlight, v, err))
		}
		cfg.MaxBatchesInFlight = n
	}
	if v := get(KeyMaxBatchBytes); v != "" {
		n, err := parseSize(v)
		if err != nil {
			fail(fmt.Errorf("%s=%q: %w", KeyMaxBatchBytes, v, err))
		}
		cfg.MaxBatchBytes = n
	}

	if err := errors.Join(errs...); err != nil {
		return Config{}, fmt.Errorf("invalid ferry output configuration: %w", err)
	}
	return cfg, nil
}

func durationKey(get func(string) string, key string, def time.Duration, fail func(error)) time.Duration {
	v := get(key)
	if v == "" {
		return def
	}
	d, err := parseDuration(v)
	if err != nil {
		fail(fmt.Errorf("%s=%q: %w", key, v, err))
		return def
	}
	return d
}
