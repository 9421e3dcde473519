package app

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/ferrylog/ferry/ingester/internal/metrics"
)

func TestPprofOnlyWithTheFlag(t *testing.T) {
	for _, on := range []bool{false, true} {
		rec := httptest.NewRecorder()
		httpHandler(metrics.NewIngester(), nil, on).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/debug/pprof/goroutine?debug=1", nil))
		want := http.StatusNotFound
		if on {
			want = http.StatusOK
		}
		if rec.Code != want {
			t.Errorf("--pprof=%v: /debug/pprof/goroutine answered %d, want %d", on, rec.Code, want)
		}
	}
}
