package main

// The functions Fluent Bit looks up in out_ferry.so. Each recovers panics:
// a Go panic unwinding into Fluent Bit's C code would kill the process.
// data and tag belong to Fluent Bit and are copied before use; no pointer
// from Fluent Bit is kept after a call returns.

import "C"

import (
	"unsafe"

	"github.com/ferrylog/ferry/plugin/internal/instance"
	"github.com/fluent/fluent-bit-go/output"
)

//export FLBPluginRegister
func FLBPluginRegister(def unsafe.Pointer) (rc C.int) {
	defer instance.Recover("FLBPluginRegister", &rc, -1)
	return C.int(output.FLBPluginRegister(def, instance.PluginName, "Ferry: ship records to the Ferry ingester over gRPC, acked after Kafka stored them"))
}

//export FLBPluginInit
func FLBPluginInit(plugin unsafe.Pointer) (rc C.int) {
	defer instance.Recover("FLBPluginInit", &rc, output.FLB_ERROR)
	inst, err := instance.Open(pluginConfig{plugin: plugin}, instance.Info{PluginVersion: pluginVersion()})
	if err != nil {
		return output.FLB_ERROR // Open logged what to fix
	}
	output.FLBPluginSetContext(plugin, inst)
	return output.FLB_OK
}

//export FLBPluginFlushCtx
func FLBPluginFlushCtx(ctx, data unsafe.Pointer, length C.size_t, tag *C.char) (rc C.int) {
	// A panic outside Instance.Flush (which has its own policy) answers
	// retry: the chunk stays with Fluent Bit.
	defer instance.Recover("FLBPluginFlushCtx", &rc, output.FLB_RETRY)
	chunk := C.GoBytes(data, C.int(length))
	inst, _ := output.FLBPluginGetContext(ctx).(*instance.Instance)
	return C.int(returnCode(inst.Flush(C.GoString(tag), chunk)))
}

//export FLBPluginExitCtx
func FLBPluginExitCtx(ctx unsafe.Pointer) (rc C.int) {
	defer instance.Recover("FLBPluginExitCtx", &rc, output.FLB_ERROR)
	if inst, ok := output.FLBPluginGetContext(ctx).(*instance.Instance); ok {
		inst.Close()
	}
	return output.FLB_OK
}

//export FLBPluginExit
func FLBPluginExit() (rc C.int) {
	defer instance.Recover("FLBPluginExit", &rc, output.FLB_ERROR)
	// Only called by hosts that do not know FLBPluginExitCtx.
	instance.CloseAll()
	return output.FLB_OK
}

//export FLBPluginUnregister
func FLBPluginUnregister(def unsafe.Pointer) {
	var rc int
	defer instance.Recover("FLBPluginUnregister", &rc, 0)
	output.FLBPluginUnregister(def)
}
