package config

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The example Fluent Bit configs in deploy/fluent-bit must only use keys
// the plugin reads, or keys Fluent Bit itself handles for every output:
// a typo in an example would be copied into production configs.
var fluentBitOwnKeys = map[string]bool{
	"name": true, "match": true, "match_regex": true, "alias": true, "workers": true,
	"retry_limit": true, "log_level": true, "storage.total_limit_size": true,
}

func pluginKeys() map[string]bool {
	keys := map[string]bool{}
	for _, k := range []string{KeyIngester, KeyAccessKey, KeyAccessToken, KeyAccessTokenFile, KeyTLSCAFile,
		KeyTLSServerName, KeyTLSCertFile, KeyTLSKeyFile, KeyInsecure, KeyAgentID, KeyConnectTimeout,
		KeyAckTimeout, KeyExitTimeout, KeyMaxBatchesInFlight, KeyMaxBatchBytes} {
		keys[strings.ToLower(k)] = true
	}
	return keys
}

func examplesDir() string { return filepath.Join("..", "..", "..", "deploy", "fluent-bit") }

// ferryOutputKeys returns the keys of the ferry output in a classic or YAML
// Fluent Bit config.
func ferryOutputKeys(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var keys []string
	inFerry, yaml := false, strings.HasSuffix(path, ".yaml")
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if yaml {
			if strings.HasPrefix(line, "- name:") {
				inFerry = strings.TrimSpace(strings.TrimPrefix(line, "- name:")) == "ferry"
				if inFerry {
					keys = append(keys, "name")
				}
				continue
			}
			if inFerry && strings.Contains(line, ":") && !strings.HasPrefix(line, "-") {
				keys = append(keys, strings.TrimSpace(strings.SplitN(line, ":", 2)[0]))
			}
			continue
		}
		if strings.HasPrefix(line, "[") {
			inFerry = strings.EqualFold(line, "[OUTPUT]")
			continue
		}
		if inFerry {
			keys = append(keys, strings.Fields(line)[0])
		}
	}
	return keys
}

func TestExampleConfigsUseKnownKeys(t *testing.T) {
	known := pluginKeys()
	for _, name := range []string{"fluent-bit.conf", "fluent-bit.yaml"} {
		keys := ferryOutputKeys(t, filepath.Join(examplesDir(), name))
		if len(keys) < 4 {
			t.Fatalf("%s: found only %v in the ferry output", name, keys)
		}
		for _, k := range keys {
			lower := strings.ToLower(k)
			if !known[lower] && !fluentBitOwnKeys[lower] {
				t.Errorf("%s: key %q is neither a ferry plugin key nor one Fluent Bit handles", name, k)
			}
		}
	}
}
