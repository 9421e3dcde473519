package msgpackchunk

import "fmt"

// Error describes malformed input: which record (counted from 0, markers
// included) and the byte offset in the chunk where decoding stopped.
type Error struct {
	Record int
	Offset int
	Reason string
}

func (e *Error) Error() string {
	return fmt.Sprintf("malformed msgpack chunk: record %d at byte offset %d: %s", e.Record, e.Offset, e.Reason)
}
