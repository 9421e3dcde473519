package msgpackchunk

import (
	"encoding/binary"
	"fmt"
	"math"
	"sort"
)

// Event is one log record with its body and metadata as JSON objects. Body
// and Metadata point into a buffer owned by the Decode call that made them;
// they stay valid and unchanged after the call returns.
type Event struct {
	TimeUnixNano int64
	Body         []byte
	// Metadata is nil when the record has no metadata and there are no labels.
	Metadata []byte
}

// Decoder turns chunks into events. It holds only the labels, so one Decoder
// may be shared by concurrent Decode calls.
type Decoder struct {
	labels     []label
	labelIndex map[string]int
}

type label struct {
	// pair is the pre-encoded JSON `"key":"value"`.
	pair []byte
}

// NewDecoder returns a decoder that adds labels to the metadata of every
// event. A key the record's own metadata already has keeps the record's
// value: the labels describe the agent, and never overwrite what the source
// said about the event.
func NewDecoder(labels map[string]string) *Decoder {
	d := &Decoder{labelIndex: make(map[string]int, len(labels))}
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys) // stable output for the same labels
	for i, k := range keys {
		var pair []byte
		pair = appendText(pair, []byte(k))
		pair = append(pair, ':')
		pair = appendText(pair, []byte(labels[k]))
		d.labels = append(d.labels, label{pair: pair})
		d.labelIndex[k] = i
	}
	return d
}

// Group marker seconds, as Fluent Bit writes them in an EventTime.
const (
	groupStartSeconds = 0xFFFFFFFF
	groupEndSeconds   = 0xFFFFFFFE
)

// Decode appends the events of chunk to dst and returns it. Group markers are
// skipped. On malformed input it returns an *Error and the events decoded
// before the bad record.
func (d *Decoder) Decode(chunk []byte, dst []Event) ([]Event, error) {
	r := reader{buf: chunk}
	// JSON is usually a little larger than msgpack; one buffer for the whole
	// chunk keeps allocations to a handful per chunk.
	arena := make([]byte, 0, len(chunk)+len(chunk)/2+64)
	var seen []bool
	if len(d.labels) > 0 {
		seen = make([]bool, len(d.labels))
	}
	for record := 0; r.remaining() > 0; record++ {
		ev, skip, next, err := d.decodeRecord(&r, arena, seen)
		if err != nil {
			return dst, &Error{Record: record, Offset: r.off, Reason: err.Error()}
		}
		if skip {
			continue // next is discarded: the marker's JSON is not kept
		}
		arena = next
		dst = append(dst, ev)
	}
	return dst, nil
}

// decodeRecord reads one record, writing its JSON at the end of arena. It
// returns the grown arena; a skipped record's bytes are left beyond the
// caller's arena length and overwritten by the next record.
func (d *Decoder) decodeRecord(r *reader, arena []byte, seen []bool) (Event, bool, []byte, error) {
	root, err := r.next()
	if err != nil {
		return Event{}, false, arena, err
	}
	if root.kind != kindArray || root.n != 2 {
		return Event{}, false, arena, fmt.Errorf("a record must be a 2-element array, got %s", describe(root))
	}

	first, err := r.next()
	if err != nil {
		return Event{}, false, arena, err
	}
	var timeValue value
	hasMetadata := false
	if first.kind == kindArray {
		if first.n != 2 {
			return Event{}, false, arena, fmt.Errorf("a record header must be [time, metadata], got an array of %d", first.n)
		}
		if timeValue, err = r.next(); err != nil {
			return Event{}, false, arena, err
		}
		hasMetadata = true
	} else {
		timeValue = first
	}
	nanos, marker, err := eventTime(timeValue)
	if err != nil {
		return Event{}, false, arena, err
	}

	var ev Event
	ev.TimeUnixNano = nanos
	if hasMetadata {
		mv, err := r.next()
		if err != nil {
			return Event{}, false, arena, err
		}
		if mv.kind != kindMap {
			return Event{}, false, arena, fmt.Errorf("record metadata must be a map, got %s", describe(mv))
		}
		begin := len(arena)
		if arena, err = d.appendMetadata(arena, r, mv.n, seen); err != nil {
			return Event{}, false, arena, err
		}
		if len(arena) > begin {
			ev.Metadata = arena[begin:len(arena):len(arena)]
		}
	} else if len(d.labels) > 0 {
		begin := len(arena)
		arena = d.appendLabelsOnly(arena)
		ev.Metadata = arena[begin:len(arena):len(arena)]
	}

	bv, err := r.next()
	if err != nil {
		return Event{}, false, arena, err
	}
	if bv.kind != kindMap {
		return Event{}, false, arena, fmt.Errorf("record body must be a map, got %s", describe(bv))
	}
	begin := len(arena)
	if arena, err = appendMap(arena, r, bv.n, 1, nil); err != nil {
		return Event{}, false, arena, err
	}
	ev.Body = arena[begin:len(arena):len(arena)]
	// Metadata may point into an older backing array if appending the body
	// grew arena; both stay valid since nothing writes there again.
	return ev, marker, arena, nil
}

// appendMetadata writes the record's metadata merged with the labels, or
// nothing when both are empty.
func (d *Decoder) appendMetadata(dst []byte, r *reader, pairs int, seen []bool) ([]byte, error) {
	if pairs == 0 {
		if len(d.labels) == 0 {
			return dst, nil
		}
		return d.appendLabelsOnly(dst), nil
	}
	clear(seen)
	visit := func(key []byte) {
		if i, ok := d.labelIndex[string(key)]; ok {
			seen[i] = true
		}
	}
	if len(d.labels) == 0 {
		visit = nil
	}
	dst, err := appendMap(dst, r, pairs, 1, visit)
	if err != nil || len(d.labels) == 0 {
		return dst, err
	}
	dst = dst[:len(dst)-1] // reopen the object to add the labels
	for i, l := range d.labels {
		if !seen[i] {
			dst = append(dst, ',')
			dst = append(dst, l.pair...)
		}
	}
	return append(dst, '}'), nil
}

func (d *Decoder) appendLabelsOnly(dst []byte) []byte {
	dst = append(dst, '{')
	for i, l := range d.labels {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, l.pair...)
	}
	return append(dst, '}')
}

// maxSeconds keeps seconds*1e9 inside int64 (year 2262).
const maxSeconds = math.MaxInt64 / 1_000_000_000

// eventTime converts a record time to Unix nanoseconds and reports whether it
// is a group marker.
func eventTime(v value) (nanos int64, marker bool, err error) {
	switch v.kind {
	case kindExt:
		if v.extType != 0 || len(v.data) != 8 {
			return 0, false, fmt.Errorf("record time is an extension of type %d with %d bytes, want EventTime (type 0, 8 bytes)", v.extType, len(v.data))
		}
		sec := binary.BigEndian.Uint32(v.data[:4])
		nsec := binary.BigEndian.Uint32(v.data[4:])
		if sec == groupStartSeconds || sec == groupEndSeconds {
			return 0, true, nil
		}
		if nsec >= 1e9 {
			return 0, false, fmt.Errorf("record time has %d nanoseconds, want fewer than 1e9", nsec)
		}
		return int64(sec)*1e9 + int64(nsec), false, nil
	case kindUint:
		if v.u > maxSeconds {
			return 0, false, fmt.Errorf("record time %d seconds is out of range", v.u)
		}
		return int64(v.u) * 1e9, false, nil
	case kindInt:
		switch {
		case v.i == -1 || v.i == -2:
			return 0, true, nil
		case v.i < 0:
			return 0, false, fmt.Errorf("record time %d is negative (only -1 and -2, the group markers, may be)", v.i)
		case v.i > maxSeconds:
			return 0, false, fmt.Errorf("record time %d seconds is out of range", v.i)
		}
		return v.i * 1e9, false, nil
	case kindFloat:
		if math.IsNaN(v.f) || v.f < 0 || v.f > maxSeconds {
			return 0, false, fmt.Errorf("record time %v seconds is out of range", v.f)
		}
		sec, frac := math.Modf(v.f)
		return int64(sec)*1e9 + int64(math.Round(frac*1e9)), false, nil
	}
	return 0, false, fmt.Errorf("record time must be an EventTime, integer or float, got %s", describe(v))
}

func describe(v value) string {
	switch v.kind {
	case kindArray:
		return fmt.Sprintf("an array of %d", v.n)
	case kindMap:
		return fmt.Sprintf("a map of %d", v.n)
	case kindInt, kindUint, kindExt:
		return "an " + v.kind.String()
	}
	return "a " + v.kind.String()
}
