package record

import (
	"errors"
	"fmt"

	"github.com/ferrylog/ferry/internal/crypto"
	recordv1 "github.com/ferrylog/ferry/proto/ferry/record/v1"
	"google.golang.org/protobuf/proto"
)

// ErrUndeliverable marks a record that no retry can open: a router sends it
// to the dead-letter topic with the reason. Open's errors also wrap the
// cause: crypto.ErrUnknownKeyID, crypto.ErrDecrypt, ErrBadContentType or
// ErrCorrupt.
var ErrUndeliverable = errors.New("undeliverable record")

var (
	// ErrBadContentType: the record is not a Ferry batch, or its codec is unknown.
	ErrBadContentType = errors.New("not a Ferry batch content type")
	// ErrCorrupt: the value decrypted but does not decompress or decode, or
	// it names another identity than its headers.
	ErrCorrupt = errors.New("corrupt batch")
)

// Sealer turns batches into record values. It is safe for concurrent use.
type Sealer struct {
	keyring *crypto.Keyring
	codec   Codec
}

// NewSealer seals with the keyring's current key after compressing with codec.
func NewSealer(keyring *crypto.Keyring, codec Codec) *Sealer {
	return &Sealer{keyring: keyring, codec: codec}
}

// Seal serializes, compresses and encrypts one batch. The batch's identity
// fields must be filled (by the ingester, from the verified token).
func (s *Sealer) Seal(b *recordv1.StoredBatch) (value []byte, meta Meta, err error) {
	plain, err := proto.Marshal(b)
	if err != nil {
		return nil, Meta{}, fmt.Errorf("serialize batch: %w", err)
	}
	codec := s.codec
	packed, err := compress(codec, nil, plain)
	if errors.Is(err, errIncompressible) {
		codec = CodecNone
		packed = plain
	} else if err != nil {
		return nil, Meta{}, fmt.Errorf("compress batch: %w", err)
	}
	keyID, value, err := s.keyring.Seal(make([]byte, 0, len(packed)+crypto.Overhead), packed, crypto.AAD(b.Tenant, b.AccessKey, b.BatchId))
	if err != nil {
		return nil, Meta{}, err
	}
	meta = Meta{
		Tenant:      b.Tenant,
		AccessKey:   b.AccessKey,
		AgentID:     b.AgentId,
		BatchID:     b.BatchId,
		KeyID:       keyID,
		EventCount:  len(b.Events),
		ContentType: codec.ContentType(),
	}
	if n := len(b.Events); n > 0 {
		meta.FirstEventTime = b.Events[0].TimeUnixNano
		meta.LastEventTime = b.Events[n-1].TimeUnixNano
	}
	return value, meta, nil
}

// Open decrypts, decompresses and decodes a record value. Every error it
// returns wraps ErrUndeliverable: retrying with the same keyring cannot help.
func Open(keyring *crypto.Keyring, meta Meta, value []byte) (*recordv1.StoredBatch, error) {
	codec, err := codecOf(meta.ContentType)
	if err != nil {
		return nil, fmt.Errorf("%w: %w: %v", ErrUndeliverable, ErrBadContentType, err)
	}
	packed, err := keyring.Open(meta.KeyID, value, crypto.AAD(meta.Tenant, meta.AccessKey, meta.BatchID))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUndeliverable, err)
	}
	plain, err := decompress(codec, packed)
	if err != nil {
		return nil, fmt.Errorf("%w: %w: decompress %s: %v", ErrUndeliverable, ErrCorrupt, codec, err)
	}
	var b recordv1.StoredBatch
	if err := proto.Unmarshal(plain, &b); err != nil {
		return nil, fmt.Errorf("%w: %w: decode: %v", ErrUndeliverable, ErrCorrupt, err)
	}
	if b.Tenant != meta.Tenant || b.AccessKey != meta.AccessKey || b.BatchId != meta.BatchID {
		return nil, fmt.Errorf("%w: %w: the headers name another tenant, access key or batch than the sealed batch", ErrUndeliverable, ErrCorrupt)
	}
	return &b, nil
}
