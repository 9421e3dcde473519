package msgpackchunk

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// MaxDepth bounds the nesting of maps and arrays in a record.
const MaxDepth = 128

// appendValue reads one value from r and appends its JSON to dst.
func appendValue(dst []byte, r *reader, depth int) ([]byte, error) {
	v, err := r.next()
	if err != nil {
		return dst, err
	}
	return appendDecoded(dst, r, v, depth)
}

func appendDecoded(dst []byte, r *reader, v value, depth int) ([]byte, error) {
	switch v.kind {
	case kindNil:
		return append(dst, "null"...), nil
	case kindBool:
		return strconv.AppendBool(dst, v.b), nil
	case kindInt:
		return strconv.AppendInt(dst, v.i, 10), nil
	case kindUint:
		return strconv.AppendUint(dst, v.u, 10), nil
	case kindFloat:
		return appendFloat(dst, v.f, v.f32), nil
	case kindStr, kindBin:
		return appendText(dst, v.data), nil
	case kindExt:
		return appendExt(dst, v), nil
	case kindArray:
		if depth >= MaxDepth {
			return dst, fmt.Errorf("nesting deeper than %d levels", MaxDepth)
		}
		dst = append(dst, '[')
		var err error
		for i := 0; i < v.n; i++ {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, err = appendValue(dst, r, depth+1); err != nil {
				return dst, err
			}
		}
		return append(dst, ']'), nil
	case kindMap:
		if depth >= MaxDepth {
			return dst, fmt.Errorf("nesting deeper than %d levels", MaxDepth)
		}
		return appendMap(dst, r, v.n, depth, nil)
	}
	return dst, fmt.Errorf("unknown value kind %d", v.kind)
}

// keyVisitor sees the text of every string key of a map; the metadata writer
// uses it to know which labels the record already has.
type keyVisitor func(key []byte)

func appendMap(dst []byte, r *reader, pairs int, depth int, visit keyVisitor) ([]byte, error) {
	dst = append(dst, '{')
	var err error
	for i := 0; i < pairs; i++ {
		if i > 0 {
			dst = append(dst, ',')
		}
		if dst, err = appendKey(dst, r, depth, visit); err != nil {
			return dst, err
		}
		dst = append(dst, ':')
		if dst, err = appendValue(dst, r, depth+1); err != nil {
			return dst, err
		}
	}
	return append(dst, '}'), nil
}

// appendKey writes a map key. JSON keys are strings, so any other key becomes
// the string of its JSON text.
func appendKey(dst []byte, r *reader, depth int, visit keyVisitor) ([]byte, error) {
	k, err := r.next()
	if err != nil {
		return dst, err
	}
	if k.kind == kindStr || k.kind == kindBin {
		if visit != nil {
			visit(k.data)
		}
		return appendText(dst, k.data), nil
	}
	// A container as a key would be rendered, quoted, and its inner keys
	// quoted again at every level: output doubling per level. No producer of
	// Fluent Bit records writes such keys, so they are malformed input.
	if k.kind == kindMap || k.kind == kindArray {
		return dst, fmt.Errorf("a map key is %s; keys must be strings or scalars", describe(k))
	}
	// Rare: a scalar key; render into a buffer of its own, then quote it.
	text, err := appendDecoded(nil, r, k, depth+1)
	if err != nil {
		return dst, err
	}
	if visit != nil {
		visit(text)
	}
	return appendJSONString(dst, text), nil
}

func appendFloat(dst []byte, f float64, f32 bool) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, "null"...)
	}
	bits := 64
	if f32 {
		bits = 32
	}
	return strconv.AppendFloat(dst, f, 'g', -1, bits)
}

// appendText writes bytes as a JSON string when they are UTF-8, else as the
// base64 of the bytes (see the package documentation).
func appendText(dst []byte, b []byte) []byte {
	if utf8.Valid(b) {
		return appendJSONString(dst, b)
	}
	dst = append(dst, '"')
	dst = base64.StdEncoding.AppendEncode(dst, b)
	return append(dst, '"')
}

func appendExt(dst []byte, v value) []byte {
	if v.extType == 0 && len(v.data) == 8 {
		sec := binary.BigEndian.Uint32(v.data[:4])
		nsec := binary.BigEndian.Uint32(v.data[4:])
		dst = append(dst, '"')
		dst = time.Unix(int64(sec), int64(nsec)).UTC().AppendFormat(dst, time.RFC3339Nano)
		return append(dst, '"')
	}
	dst = append(dst, '"')
	dst = base64.StdEncoding.AppendEncode(dst, v.data)
	return append(dst, '"')
}

const hexDigits = "0123456789abcdef"

// appendJSONString quotes valid UTF-8 as a JSON string, escaping only what
// JSON requires (quote, backslash, control characters).
func appendJSONString(dst []byte, s []byte) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
