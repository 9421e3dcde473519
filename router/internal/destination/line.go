package destination

import (
	"bytes"
	"encoding/json"
	"time"

	ingestv1 "github.com/ferrylog/ferry/proto/ferry/ingest/v1"
)

// TimeLayout is RFC 3339 with all nine fractional digits, so lines sort as
// text and no nanosecond is lost (time.RFC3339Nano drops trailing zeros).
const TimeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// LineFields are the per-batch fields of an event line, rendered once per
// batch: `,"tag":"...","agent_id":"...","batch_id":"..."` and optional extra
// identity. The batch id lets a reader of the files find every line of a
// batch, and drop repeats of its own beyond the router's dedup window.
func LineFields(b *Batch, withIdentity bool) []byte {
	var tag, agent string
	if b.Stored != nil {
		tag, agent = b.Stored.Tag, b.Stored.AgentId
	}
	if agent == "" {
		agent = b.Meta.AgentID
	}
	out := make([]byte, 0, 80+len(tag)+len(agent)+len(b.Meta.BatchID))
	out = appendField(out, "tag", tag)
	out = appendField(out, "agent_id", agent)
	out = appendField(out, "batch_id", b.Meta.BatchID)
	if withIdentity {
		out = appendField(out, "tenant", b.Meta.Tenant)
		out = appendField(out, "access_key", b.Meta.AccessKey)
	}
	return out
}

func appendField(dst []byte, name, value string) []byte {
	v, _ := json.Marshal(value) // a string always encodes
	dst = append(dst, ',', '"')
	dst = append(dst, name...)
	dst = append(dst, '"', ':')
	return append(dst, v...)
}

// AppendLine appends one event as a JSON line:
//
//	{"time":"...","tag":"...","agent_id":"...","batch_id":"...","record":<body>,"metadata":<metadata>}
//
// The body and metadata are copied verbatim; they were checked to be JSON
// (CheckEvent). JSON may hold insignificant newlines, which would split the
// line, so only such values are compacted.
func AppendLine(dst, fields []byte, ev *ingestv1.Event) []byte {
	dst = append(dst, `{"time":"`...)
	dst = time.Unix(0, ev.TimeUnixNano).UTC().AppendFormat(dst, TimeLayout)
	dst = append(dst, '"')
	dst = append(dst, fields...)
	dst = append(dst, `,"record":`...)
	dst = appendJSON(dst, ev.Body)
	if len(ev.Metadata) > 0 {
		dst = append(dst, `,"metadata":`...)
		dst = appendJSON(dst, ev.Metadata)
	}
	return append(dst, '}', '\n')
}

func appendJSON(dst, v []byte) []byte {
	if !bytes.ContainsAny(v, "\r\n") {
		return append(dst, v...)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, v); err != nil {
		return append(dst, "null"...) // unreachable after CheckEvent
	}
	return append(dst, buf.Bytes()...)
}
