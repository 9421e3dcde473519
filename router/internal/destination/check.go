package destination

import (
	"errors"
	"fmt"

	"github.com/ferrylog/ferry/internal/jsonvalid"
	"github.com/ferrylog/ferry/router/internal/dlq"
)

// CheckEvents enforces the wire contract every destination relies on: an
// event body is a JSON object and metadata is empty or JSON. A batch that
// breaks it can never be written and goes to the dead-letter topic whole,
// which keeps a batch delivered all-or-nothing.
func CheckEvents(b *Batch) error {
	if b.Stored == nil {
		return nil
	}
	for i, ev := range b.Stored.Events {
		if !jsonvalid.Object(ev.Body) {
			return dlq.Reject(dlq.ReasonNotJSON, fmt.Errorf("event %d of batch %s: the body is not a JSON object", i, b.ID()))
		}
		if len(ev.Metadata) > 0 && !jsonvalid.Value(ev.Metadata) {
			return dlq.Reject(dlq.ReasonNotJSON, fmt.Errorf("event %d of batch %s: the metadata is not JSON", i, b.ID()))
		}
	}
	return nil
}

// ErrNoEvents is returned by destinations that need decrypted events when a
// batch arrives without them; it is a wiring bug, not bad data.
var ErrNoEvents = errors.New("batch was not decrypted; this destination needs a keyring")
