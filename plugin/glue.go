package main

import (
	"runtime/debug"
	"unsafe"

	"github.com/ferrylog/ferry/plugin/internal/agent"
	"github.com/fluent/fluent-bit-go/output"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3";
// otherwise the module version recorded in the binary is used.
var version = ""

func pluginVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// pluginConfig reads [OUTPUT] keys through Fluent Bit's API. It wraps the
// plugin pointer only for the duration of FLBPluginInit.
type pluginConfig struct{ plugin unsafe.Pointer }

func (p pluginConfig) Get(key string) string { return output.FLBPluginConfigKey(p.plugin, key) }

// returnCode maps a flush result onto Fluent Bit's return codes.
func returnCode(r agent.Result) int {
	switch r {
	case agent.OK:
		return output.FLB_OK
	case agent.Retry:
		return output.FLB_RETRY
	}
	return output.FLB_ERROR
}
