package cluster

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
)

// binarySet is one build of ingester and router, made once per process.
type binarySet struct {
	once sync.Once
	dir  string
	err  error
}

var raceBuild, plainBuild binarySet

// RepoRoot is the repository's top folder.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Binaries builds ingester and router once per test process, with the race
// detector so races in the real processes fail tests too, and returns the
// folder that holds them.
func Binaries() (string, error) { return raceBuild.build("ferry-e2e-bin-", "-race") }

// BinariesNoRace builds them without the race detector, for benchmarks: the
// race detector slows the binaries several times and would make throughput
// and CPU figures meaningless.
func BinariesNoRace() (string, error) { return plainBuild.build("ferry-bench-bin-") }

func (b *binarySet) build(tempPrefix string, flags ...string) (string, error) {
	b.once.Do(func() {
		b.dir, b.err = os.MkdirTemp("", tempPrefix)
		if b.err != nil {
			return
		}
		for name, pkg := range map[string]string{
			"ingester": "./ingester/cmd/ingester",
			"router":   "./router/cmd/router",
		} {
			args := append(append([]string{"build"}, flags...), "-o", filepath.Join(b.dir, name), pkg)
			cmd := exec.Command("go", args...)
			cmd.Dir = RepoRoot()
			if out, err := cmd.CombinedOutput(); err != nil {
				b.err = fmt.Errorf("build %s: %v\n%s", name, err, out)
				return
			}
		}
	})
	return b.dir, b.err
}

// RemoveBuilds deletes the folders this process built binaries and the
// plugin into. Call it when the process is done with them (TestMain, the
// end of a program): each set is tens of megabytes in the temp folder.
func RemoveBuilds() {
	for _, dir := range []string{raceBuild.dir, plainBuild.dir, pluginDir} {
		if dir != "" {
			os.RemoveAll(dir)
		}
	}
}
