package msgpackchunk

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// errTruncated is reported when a value claims more bytes than the chunk has.
var errTruncated = errors.New("unexpected end of data (truncated value)")

// reader walks a msgpack buffer. It never allocates and never trusts a length
// prefix beyond the bytes that are really there.
type reader struct {
	buf []byte
	off int
}

func (r *reader) remaining() int { return len(r.buf) - r.off }

func (r *reader) readByte() (byte, error) {
	if r.off >= len(r.buf) {
		return 0, errTruncated
	}
	b := r.buf[r.off]
	r.off++
	return b, nil
}

func (r *reader) readN(n int) ([]byte, error) {
	if n < 0 || n > r.remaining() {
		return nil, errTruncated
	}
	b := r.buf[r.off : r.off+n]
	r.off += n
	return b, nil
}

func (r *reader) readUint(size int) (uint64, error) {
	b, err := r.readN(size)
	if err != nil {
		return 0, err
	}
	switch size {
	case 1:
		return uint64(b[0]), nil
	case 2:
		return uint64(binary.BigEndian.Uint16(b)), nil
	case 4:
		return uint64(binary.BigEndian.Uint32(b)), nil
	default:
		return binary.BigEndian.Uint64(b), nil
	}
}

// readLen reads a length of size bytes; it is bounded by the bytes left so a
// hostile prefix cannot make a caller loop or allocate for long.
func (r *reader) readLen(size int) (int, error) {
	n, err := r.readUint(size)
	if err != nil {
		return 0, err
	}
	if n > uint64(r.remaining()) {
		return 0, errTruncated
	}
	return int(n), nil
}

// kind is the family of a msgpack value, enough to route it.
type kind uint8

const (
	kindNil kind = iota
	kindBool
	kindInt
	kindUint
	kindFloat
	kindStr
	kindBin
	kindArray
	kindMap
	kindExt
)

var kindNames = [...]string{"nil", "boolean", "integer", "integer", "float", "string", "binary", "array", "map", "extension"}

func (k kind) String() string { return kindNames[k] }

// value is one decoded msgpack header. For str, bin and ext, data holds the
// payload; for arrays and maps, n is the element (pair) count and the
// elements follow in the reader.
type value struct {
	kind    kind
	b       bool
	i       int64
	u       uint64
	f       float64
	f32     bool
	n       int
	data    []byte
	extType int8
}

// next reads the header of the next value (and the payload of scalars).
func (r *reader) next() (value, error) {
	c, err := r.readByte()
	if err != nil {
		return value{}, err
	}
	switch {
	case c <= 0x7f:
		return value{kind: kindUint, u: uint64(c)}, nil
	case c >= 0xe0:
		return value{kind: kindInt, i: int64(int8(c))}, nil
	case c >= 0x80 && c <= 0x8f:
		return r.container(kindMap, uint64(c&0x0f), 2)
	case c >= 0x90 && c <= 0x9f:
		return r.container(kindArray, uint64(c&0x0f), 1)
	case c >= 0xa0 && c <= 0xbf:
		return r.bytes(kindStr, int(c&0x1f))
	}
	switch c {
	case 0xc0:
		return value{kind: kindNil}, nil
	case 0xc2, 0xc3:
		return value{kind: kindBool, b: c == 0xc3}, nil
	case 0xc4, 0xc5, 0xc6:
		n, err := r.readLen(1 << (c - 0xc4))
		if err != nil {
			return value{}, err
		}
		return r.bytes(kindBin, n)
	case 0xc7, 0xc8, 0xc9:
		n, err := r.readLen(1 << (c - 0xc7))
		if err != nil {
			return value{}, err
		}
		return r.ext(n)
	case 0xca:
		u, err := r.readUint(4)
		return value{kind: kindFloat, f: float64(math.Float32frombits(uint32(u))), f32: true}, err
	case 0xcb:
		u, err := r.readUint(8)
		return value{kind: kindFloat, f: math.Float64frombits(u)}, err
	case 0xcc, 0xcd, 0xce, 0xcf:
		u, err := r.readUint(1 << (c - 0xcc))
		return value{kind: kindUint, u: u}, err
	case 0xd0, 0xd1, 0xd2, 0xd3:
		size := 1 << (c - 0xd0)
		u, err := r.readUint(size)
		// Sign-extend from the encoded width.
		shift := 64 - 8*size
		return value{kind: kindInt, i: int64(u<<shift) >> shift}, err
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8:
		return r.ext(1 << (c - 0xd4))
	case 0xd9, 0xda, 0xdb:
		n, err := r.readLen(1 << (c - 0xd9))
		if err != nil {
			return value{}, err
		}
		return r.bytes(kindStr, n)
	case 0xdc, 0xdd:
		n, err := r.readUint(2 << (c - 0xdc))
		if err != nil {
			return value{}, err
		}
		return r.container(kindArray, n, 1)
	case 0xde, 0xdf:
		n, err := r.readUint(2 << (c - 0xde))
		if err != nil {
			return value{}, err
		}
		return r.container(kindMap, n, 2)
	}
	return value{}, fmt.Errorf("byte 0x%02x is not a msgpack type", c)
}

// container checks the count against the bytes left: every element takes at
// least one byte, so a larger count cannot be real.
func (r *reader) container(k kind, count uint64, perElement uint64) (value, error) {
	if count > uint64(r.remaining())/perElement {
		return value{}, errTruncated
	}
	return value{kind: k, n: int(count)}, nil
}

func (r *reader) bytes(k kind, n int) (value, error) {
	b, err := r.readN(n)
	return value{kind: k, data: b}, err
}

func (r *reader) ext(n int) (value, error) {
	t, err := r.readByte()
	if err != nil {
		return value{}, err
	}
	b, err := r.readN(n)
	return value{kind: kindExt, extType: int8(t), data: b}, err
}
