package agent

// Result is the outcome of a flush, mapped one to one onto Fluent Bit's
// return codes by the cgo shim.
type Result int

const (
	// Error: the chunk can never be delivered; Fluent Bit drops it.
	Error Result = iota
	// OK: every batch of the chunk was stored.
	OK
	// Retry: a transient failure; Fluent Bit keeps the chunk and retries.
	Retry
)

func (r Result) String() string {
	switch r {
	case OK:
		return "ok"
	case Retry:
		return "retry"
	case Error:
		return "error"
	}
	return "unknown"
}
