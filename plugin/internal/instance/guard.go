package instance

import (
	"log/slog"
	"runtime/debug"
)

// Recover is deferred by every exported function of the shim: a panic that
// reached it is logged with its stack and the function returns fallback
// instead of unwinding into Fluent Bit's C code.
//
//	defer instance.Recover("FLBPluginInit", &rc, output.FLB_ERROR)
func Recover[T any](function string, result *T, fallback T) {
	if p := recover(); p != nil {
		slog.Error("the plugin panicked; this is a bug, please report it with the stack", "plugin", PluginName, "function", function, "panic", p, "stack", string(debug.Stack()))
		*result = fallback
	}
}
