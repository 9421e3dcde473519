// Package dlq decides why a record can never be delivered and sends such
// records to the dead-letter topic, so one bad record never blocks the
// records behind it and is never lost silently.
package dlq

import (
	"errors"
	"fmt"

	"github.com/ferrylog/ferry/internal/crypto"
	"github.com/ferrylog/ferry/internal/record"
)

// Reason is the value of the ferry.dlq.reason header and of the reason label
// of ferry_router_dead_lettered_total. The set is small on purpose: it is a
// metric label.
type Reason string

// Reasons a record is dead-lettered.
const (
	ReasonBadHeaders     Reason = "bad_headers"      // headers missing or malformed: not written by a Ferry ingester
	ReasonBadAccessKey   Reason = "bad_access_key"   // access key unusable as a destination name (path separator, bad alphabet)
	ReasonUnknownKeyID   Reason = "unknown_key_id"   // encryption key not in this router's keyring
	ReasonDecrypt        Reason = "decrypt_failed"   // tampered, or moved to another tenant/access key/batch
	ReasonBadContentType Reason = "bad_content_type" // not a Ferry batch, or an unknown codec
	ReasonCorrupt        Reason = "corrupt_batch"    // decompress or decode failed, or identity differs from headers
	ReasonNotJSON        Reason = "not_json"         // an event body is not a JSON object, or metadata is not JSON
	ReasonOther          Reason = "other"
)

// Error marks a record as undeliverable for a reason. No retry can help.
type Error struct {
	Reason Reason
	Err    error
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %v", e.Reason, e.Err) }
func (e *Error) Unwrap() error { return e.Err }

// Reject wraps err as undeliverable for reason.
func Reject(reason Reason, err error) error { return &Error{Reason: reason, Err: err} }

// Classify names the reason of an undeliverable error.
func Classify(err error) Reason {
	var e *Error
	switch {
	case errors.As(err, &e):
		return e.Reason
	case errors.Is(err, crypto.ErrUnknownKeyID):
		return ReasonUnknownKeyID
	case errors.Is(err, crypto.ErrDecrypt):
		return ReasonDecrypt
	case errors.Is(err, record.ErrBadContentType):
		return ReasonBadContentType
	case errors.Is(err, record.ErrCorrupt):
		return ReasonCorrupt
	}
	return ReasonOther
}
