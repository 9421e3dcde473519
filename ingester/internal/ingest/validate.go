package ingest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"

	ingestv1 "github.com/ferrylog/ferry/proto/ferry/ingest/v1"
)

const maxIDLength = 256

// checkID accepts ids that are safe in Kafka headers, keys and log lines.
func checkID(what, s string, required bool) error {
	if s == "" {
		if required {
			return fmt.Errorf("%s is empty; set it", what)
		}
		return nil
	}
	if len(s) > maxIDLength {
		return fmt.Errorf("%s is %d bytes; the limit is %d", what, len(s), maxIDLength)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%s is not valid UTF-8", what)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%s contains a control character", what)
		}
	}
	return nil
}

// checkEvents makes sure every body is a JSON object and every metadata a
// JSON value, so routers can write them verbatim into JSON lines.
func checkEvents(events []*ingestv1.Event) error {
	for i, e := range events {
		if e == nil {
			return fmt.Errorf("event %d is empty", i)
		}
		body := bytes.TrimLeft(e.Body, " \t\r\n")
		if len(body) == 0 || body[0] != '{' || !json.Valid(e.Body) {
			return fmt.Errorf("event %d: body is not a JSON object", i)
		}
		if len(e.Metadata) > 0 && !json.Valid(e.Metadata) {
			return fmt.Errorf("event %d: metadata is not valid JSON", i)
		}
	}
	return nil
}
