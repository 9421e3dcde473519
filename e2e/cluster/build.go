package cluster

import (
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
