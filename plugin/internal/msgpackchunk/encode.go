package msgpackchunk

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"time"
)

// The encoder writes chunks the way Fluent Bit does. The plugin never needs
// it at run time; it exists for tests, fuzz seeds and the mkchunk tool.

// AppendRecord appends a Fluent Bit 2.1+ record [[EventTime, metadata], body].
// A nil metadata is written as an empty map, as Fluent Bit does.
func AppendRecord(dst []byte, t time.Time, metadata, body map[string]any) ([]byte, error) {
	dst = append(dst, 0x92, 0x92)
	dst = AppendEventTime(dst, t)
	if metadata == nil {
		metadata = map[string]any{}
	}
	dst, err := AppendValue(dst, metadata)
	if err != nil {
		return dst, err
	}
	return AppendValue(dst, body)
}

// AppendLegacyRecord appends an older-format record [time, body], where time
// is a time.Time (written as EventTime), an integer or a float.
func AppendLegacyRecord(dst []byte, t any, body map[string]any) ([]byte, error) {
	dst = append(dst, 0x92)
	dst, err := AppendValue(dst, t)
	if err != nil {
		return dst, err
	}
	return AppendValue(dst, body)
}

// AppendGroupMarker appends a group start (start=true) or end record.
func AppendGroupMarker(dst []byte, start bool, attributes map[string]any) ([]byte, error) {
	sec := uint32(groupEndSeconds)
	if start {
		sec = groupStartSeconds
	}
	dst = append(dst, 0x92, 0x92, 0xd7, 0x00)
	dst = binary.BigEndian.AppendUint32(dst, sec)
	dst = binary.BigEndian.AppendUint32(dst, 0)
	dst = append(dst, 0x80)
	return AppendValue(dst, attributes)
}

// AppendEventTime appends an EventTime (ext type 0, fixext 8).
func AppendEventTime(dst []byte, t time.Time) []byte {
	dst = append(dst, 0xd7, 0x00)
	dst = binary.BigEndian.AppendUint32(dst, uint32(t.Unix()))
	return binary.BigEndian.AppendUint32(dst, uint32(t.Nanosecond()))
}

// AppendValue appends v as msgpack. It knows the types JSON decoding yields
// (with json.Number) plus integers, []byte (as bin) and time.Time (as
// EventTime). Map keys are written in sorted order.
func AppendValue(dst []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(dst, 0xc0), nil
	case bool:
		if x {
			return append(dst, 0xc3), nil
		}
		return append(dst, 0xc2), nil
	case int:
		return appendInt(dst, int64(x)), nil
	case int64:
		return appendInt(dst, x), nil
	case uint64:
		if x <= math.MaxInt64 {
			return appendInt(dst, int64(x)), nil
		}
		dst = append(dst, 0xcf)
		return binary.BigEndian.AppendUint64(dst, x), nil
	case float64:
		dst = append(dst, 0xcb)
		return binary.BigEndian.AppendUint64(dst, math.Float64bits(x)), nil
	case float32:
		dst = append(dst, 0xca)
		return binary.BigEndian.AppendUint32(dst, math.Float32bits(x)), nil
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return appendInt(dst, i), nil
		}
		f, err := x.Float64()
		if err != nil {
			return dst, fmt.Errorf("number %q: %w", x, err)
		}
		return AppendValue(dst, f)
	case string:
		return appendStr(dst, 0xa0, 0xd9, x), nil
	case []byte:
		return appendBin(dst, x), nil
	case time.Time:
		return AppendEventTime(dst, x), nil
	case []any:
		dst = appendHeader(dst, 0x90, 0xdc, len(x))
		var err error
		for _, e := range x {
			if dst, err = AppendValue(dst, e); err != nil {
				return dst, err
			}
		}
		return dst, nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		dst = appendHeader(dst, 0x80, 0xde, len(x))
		var err error
		for _, k := range keys {
			dst = appendStr(dst, 0xa0, 0xd9, k)
			if dst, err = AppendValue(dst, x[k]); err != nil {
				return dst, err
			}
		}
		return dst, nil
	}
	return dst, fmt.Errorf("cannot encode %T as msgpack", v)
}

func appendInt(dst []byte, i int64) []byte {
	switch {
	case i >= 0 && i <= 0x7f:
		return append(dst, byte(i))
	case i < 0 && i >= -32:
		return append(dst, byte(int8(i)))
	case i >= 0:
		dst = append(dst, 0xcf)
		return binary.BigEndian.AppendUint64(dst, uint64(i))
	default:
		dst = append(dst, 0xd3)
		return binary.BigEndian.AppendUint64(dst, uint64(i))
	}
}

func appendStr(dst []byte, fix, str8 byte, s string) []byte {
	switch n := len(s); {
	case n < 32:
		dst = append(dst, fix|byte(n))
	case n <= math.MaxUint8:
		dst = append(dst, str8, byte(n))
	case n <= math.MaxUint16:
		dst = binary.BigEndian.AppendUint16(append(dst, str8+1), uint16(n))
	default:
		dst = binary.BigEndian.AppendUint32(append(dst, str8+2), uint32(n))
	}
	return append(dst, s...)
}

func appendBin(dst []byte, b []byte) []byte {
	switch n := len(b); {
	case n <= math.MaxUint8:
		dst = append(dst, 0xc4, byte(n))
	case n <= math.MaxUint16:
		dst = binary.BigEndian.AppendUint16(append(dst, 0xc5), uint16(n))
	default:
		dst = binary.BigEndian.AppendUint32(append(dst, 0xc6), uint32(n))
	}
	return append(dst, b...)
}

func appendHeader(dst []byte, fix, x16 byte, n int) []byte {
	switch {
	case n < 16:
		return append(dst, fix|byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(dst, x16), uint16(n))
	default:
		return binary.BigEndian.AppendUint32(append(dst, x16+1), uint32(n))
	}
}
