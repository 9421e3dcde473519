package cluster

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
)

var (
	pluginOnce sync.Once
	pluginDir  string
	pluginErr  error
)

// PluginArtifacts are the plugin as Fluent Bit loads it, the C test host
// that loads it the same way, and mkchunk, which turns JSON lines into
// Fluent Bit msgpack chunks.
type PluginArtifacts struct {
	SharedObject string
	TestHost     string
	MkChunk      string
}

// Plugin builds out_ferry.so, the test host and mkchunk once per test process.
func Plugin() (PluginArtifacts, error) {
	pluginOnce.Do(func() {
		pluginDir, pluginErr = os.MkdirTemp("", "ferry-e2e-plugin-")
		if pluginErr != nil {
			return
		}
		root := RepoRoot()
		steps := [][]string{
			{"go", "build", "-buildmode=c-shared", "-o", filepath.Join(pluginDir, "out_ferry.so"), "."},
			{"go", "build", "-o", filepath.Join(pluginDir, "mkchunk"), "./cmd/mkchunk"},
			{"gcc", "-O2", "-Wall", "-o", filepath.Join(pluginDir, "testhost"), "testhost/testhost.c", "-ldl", "-lpthread"},
		}
		for _, step := range steps {
			cmd := exec.Command(step[0], step[1:]...)
			cmd.Dir = filepath.Join(root, "plugin")
			if out, err := cmd.CombinedOutput(); err != nil {
				pluginErr = fmt.Errorf("%v: %v\n%s", step, err, out)
				return
			}
		}
	})
	return PluginArtifacts{
		SharedObject: filepath.Join(pluginDir, "out_ferry.so"),
		TestHost:     filepath.Join(pluginDir, "testhost"),
		MkChunk:      filepath.Join(pluginDir, "mkchunk"),
	}, pluginErr
}
