// Package events makes the JSON log lines the benchmark sends: realistic
// access-log and application events of an exact size, with enough variety
// (ids, paths, durations, words) that zstd compresses them about as well as
// it compresses real logs, not as well as it compresses a repeated string.
package events

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

var (
	services = []string{"checkout", "cart", "search", "auth", "payments", "catalog", "shipping", "notifications"}
	levels   = []string{"info", "info", "info", "info", "debug", "warn", "error"}
	methods  = []string{"GET", "GET", "GET", "POST", "PUT", "DELETE"}
	paths    = []string{"/api/v1/orders/%d", "/api/v1/items/%d", "/api/v2/users/%d/profile", "/healthz", "/api/v1/search?q=item-%d", "/static/app.%d.js"}
	statuses = []int{200, 200, 200, 200, 201, 204, 301, 400, 404, 500, 503}
	agents   = []string{"Mozilla/5.0 (X11; Linux x86_64)", "curl/8.5.0", "okhttp/4.12.0", "Go-http-client/2.0", "kube-probe/1.30"}
	words    = strings.Fields(`request served upstream cache miss hit retry timeout connection reset
		user session token refreshed order placed payment authorized declined inventory reserved
		released shipment label printed queue depth worker pool saturated slow query index scan rows
		returned bytes written compressed latency budget exceeded circuit breaker open half closed`)
)

// Pool returns n distinct JSON objects of exactly size bytes each (size at
// least about 200), made deterministically from seed.
func Pool(n, size int, seed uint64) [][]byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	out := make([][]byte, n)
	for i := range out {
		out[i] = one(r, size)
	}
	return out
}

func one(r *rand.Rand, size int) []byte {
	head := fmt.Sprintf(`{"level":%q,"service":%q,"host":"web-%02d","method":%q,"path":%q,"status":%d,"duration_ms":%.2f,"trace_id":"%016x",`,
		pick(r, levels), pick(r, services), r.IntN(40), pick(r, methods),
		fmt.Sprintf(pick(r, paths), r.IntN(100000)), statuses[r.IntN(len(statuses))],
		r.ExpFloat64()*25, r.Uint64())
	if size >= 512 {
		// Larger events carry what larger real events carry: more fields.
		head += fmt.Sprintf(`"span_id":"%016x","bytes":%d,"user_agent":%q,"region":"eu-%d",`, r.Uint64(), r.IntN(1<<20), pick(r, agents), r.IntN(4))
	}
	head += `"msg":"`
	const tail = `"}`
	var b strings.Builder
	b.Grow(size)
	b.WriteString(head)
	room := size - len(head) - len(tail)
	if room < 0 {
		panic(fmt.Sprintf("event size %d is below the %d bytes of the fixed fields", size, len(head)+len(tail)))
	}
	msg := make([]byte, 0, room)
	for len(msg) < room {
		w := pick(r, words)
		if len(msg) > 0 {
			msg = append(msg, ' ')
		}
		msg = append(msg, w...)
	}
	b.Write(msg[:room])
	b.WriteString(tail)
	return []byte(b.String())
}

func pick(r *rand.Rand, s []string) string { return s[r.IntN(len(s))] }
