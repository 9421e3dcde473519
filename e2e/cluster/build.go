package cluster

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
)

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// RepoRoot is the repository's top folder.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Binaries builds ingester and router once per test process, with the race
// detector so races in the real processes fail tests too, and returns the
// folder that holds them.
func Binaries() (string, error) {
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "ferry-e2e-bin-")
		if buildErr != nil {
			return
		}
		root := RepoRoot()
		for name, pkg := range map[string]string{
			"ingester": "./ingester/cmd/ingester",
			"router":   "./router/cmd/router",
		} {
			cmd := exec.Command("go", "build", "-race", "-o", filepath.Join(binDir, name), pkg)
			cmd.Dir = root
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("build %s: %v\n%s", name, err, out)
				return
			}
		}
	})
	return binDir, buildErr
}

var (
	buildNoRaceOnce sync.Once
	binNoRaceDir    string
	buildNoRaceErr  error
)

// BinariesNoRace builds ingester and router once per process without the
// race detector, into a folder of their own, for benchmarks: the race
// detector slows the binaries several times and would make throughput and
// CPU figures meaningless.
func BinariesNoRace() (string, error) {
	buildNoRaceOnce.Do(func() {
		binNoRaceDir, buildNoRaceErr = os.MkdirTemp("", "ferry-bench-bin-")
		if buildNoRaceErr != nil {
			return
		}
		root := RepoRoot()
		for name, pkg := range map[string]string{
			"ingester": "./ingester/cmd/ingester",
			"router":   "./router/cmd/router",
		} {
			cmd := exec.Command("go", "build", "-o", filepath.Join(binNoRaceDir, name), pkg)
			cmd.Dir = root
			if out, err := cmd.CombinedOutput(); err != nil {
				buildNoRaceErr = fmt.Errorf("build %s: %v\n%s", name, err, out)
				return
			}
		}
	})
	return binNoRaceDir, buildNoRaceErr
}

// NewNoRace is New with the binaries of BinariesNoRace. It repeats New's
// few lines instead of sharing them so New stays exactly as the tests
// know it.
func NewNoRace(dir, brokers, config string) (*Cluster, error) {
	bin, err := BinariesNoRace()
	if err != nil {
		return nil, err
	}
	suffix := make([]byte, 4)
	rand.Read(suffix)
	c := &Cluster{
		Dir: dir, Brokers: brokers, bin: bin,
		Topic:      "ferry.bench." + hex.EncodeToString(suffix),
		DLQTopic:   "ferry.dlq",
		ConfigFile: filepath.Join(dir, "ferry.json"),
		Keyring:    filepath.Join(dir, "secrets", "keyring.json"),
		TokenKeys:  filepath.Join(dir, "secrets", "token-keys.json"),
	}
	if _, err := c.run("ingester", "init", "--dir", filepath.Join(dir, "secrets")); err != nil {
		return nil, err
	}
	if err := os.WriteFile(c.ConfigFile, []byte(config), 0o644); err != nil {
		return nil, err
	}
	if c.IngesterAddr, err = FreeAddr(); err != nil {
		return nil, err
	}
	if c.IngesterHTTP, err = FreeAddr(); err != nil {
		return nil, err
	}
	return c, nil
}
