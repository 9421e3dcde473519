// Package pprofhttp puts Go's profiler on a service's HTTP mux, behind each
// service's --pprof flag: off by default, because profiles reveal internals
// and cost CPU while they are taken.
package pprofhttp

import (
	"net/http"
	"net/http/pprof"
)

// Register serves /debug/pprof/ on mux.
func Register(mux *http.ServeMux) {
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
}
