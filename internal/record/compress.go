package record

import (
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"strings"

	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// Codec names a compression of the serialized batch.
type Codec string

// Codecs the ingester can write; routers read all of them.
const (
	CodecNone   Codec = "none"
	CodecZstd   Codec = "zstd"
	CodecLZ4    Codec = "lz4"
	CodecSnappy Codec = "snappy"
)

// contentTypePrefix is the content type of a sealed StoredBatch; the codec
// follows it, so a router knows how to decompress before it decrypts.
const contentTypePrefix = "application/x-ferry-batch-v1+"

// maxDecompressedBytes bounds what one record may expand to, so a crafted
// record cannot exhaust a router's memory.
const maxDecompressedBytes = 64 << 20

// ParseCodec checks a codec name given by an operator.
func ParseCodec(s string) (Codec, error) {
	switch c := Codec(s); c {
	case CodecNone, CodecZstd, CodecLZ4, CodecSnappy:
		return c, nil
	}
	return "", fmt.Errorf("compression %q is not supported; use zstd, lz4, snappy or none", s)
}

// ContentType is the content-type header value for records of this codec.
func (c Codec) ContentType() string { return contentTypePrefix + string(c) }

func codecOf(contentType string) (Codec, error) {
	name, ok := strings.CutPrefix(contentType, contentTypePrefix)
	if !ok {
		return "", fmt.Errorf("content type %q is not a Ferry batch", contentType)
	}
	return ParseCodec(name)
}

// zstd encoders and decoders are safe for concurrent EncodeAll/DecodeAll;
// each concurrent call needs an encoder of its own, so there is one per core
// (with one, every stream's compression waits for the others).
var (
	zstdEncoder, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(runtime.GOMAXPROCS(0)))
	zstdDecoder, _ = zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(maxDecompressedBytes))
)

func compress(c Codec, dst, src []byte) ([]byte, error) {
	switch c {
	case CodecNone:
		return append(dst, src...), nil
	case CodecZstd:
		return zstdEncoder.EncodeAll(src, dst), nil
	case CodecSnappy:
		return append(dst, snappy.Encode(nil, src)...), nil
	case CodecLZ4:
		// lz4 blocks do not record their size: prefix it.
		out := binary.AppendUvarint(dst, uint64(len(src)))
		start := len(out)
		out = append(out, make([]byte, lz4.CompressBlockBound(len(src)))...)
		n, err := lz4.CompressBlock(src, out[start:], nil)
		if err != nil {
			return nil, err
		}
		if n == 0 && len(src) > 0 { // incompressible: lz4 says so with 0
			return nil, errIncompressible
		}
		return out[:start+n], nil
	}
	return nil, fmt.Errorf("unknown codec %q", c)
}

var errIncompressible = errors.New("incompressible")

func decompress(c Codec, src []byte) ([]byte, error) {
	switch c {
	case CodecNone:
		return src, nil
	case CodecZstd:
		return zstdDecoder.DecodeAll(src, nil)
	case CodecSnappy:
		n, err := snappy.DecodedLen(src)
		if err != nil {
			return nil, err
		}
		if n > maxDecompressedBytes {
			return nil, fmt.Errorf("record expands to %d bytes, over the %d limit", n, maxDecompressedBytes)
		}
		return snappy.Decode(nil, src)
	case CodecLZ4:
		size, read := binary.Uvarint(src)
		if read <= 0 || size > maxDecompressedBytes {
			return nil, errors.New("lz4 record has a bad size prefix")
		}
		out := make([]byte, size)
		n, err := lz4.UncompressBlock(src[read:], out)
		if err != nil {
			return nil, err
		}
		if uint64(n) != size {
			return nil, fmt.Errorf("lz4 record expanded to %d bytes, its prefix says %d", n, size)
		}
		return out, nil
	}
	return nil, fmt.Errorf("unknown codec %q", c)
}
