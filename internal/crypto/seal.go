package crypto

import (
	"crypto/rand"
	"fmt"
)

// formatVersion is the first byte of every sealed value. It leaves room for a
// later format without guessing from lengths.
const formatVersion byte = 1

// NonceSize is GCM's standard 96-bit nonce.
const NonceSize = 12

// Overhead is how many bytes sealing adds to a plaintext.
const Overhead = 1 + NonceSize + 16

// Seal encrypts plaintext with the current key, binding it to aad, and appends
// the result to dst. The layout is version(1) | nonce(12) | ciphertext+tag.
// Nonces are random: one Kafka record is one encryption, which keeps the number
// of encryptions per key far below the 2^32 that NIST SP 800-38D allows for
// random nonces.
func (k *Keyring) Seal(dst, plaintext, aad []byte) (keyID string, sealed []byte, err error) {
	aead := k.aeads[k.current]
	start := len(dst)
	dst = append(dst, formatVersion)
	dst = append(dst, make([]byte, NonceSize)...)
	nonce := dst[start+1 : start+1+NonceSize]
	if _, err := rand.Read(nonce); err != nil {
		return "", nil, fmt.Errorf("read random nonce: %w", err)
	}
	return k.current, aead.Seal(dst, nonce, plaintext, aad), nil
}

// Open decrypts a value sealed with the key keyID and the same aad.
func (k *Keyring) Open(keyID string, sealed, aad []byte) ([]byte, error) {
	aead, ok := k.aeads[keyID]
	if !ok {
		return nil, fmt.Errorf("%w %q: add the key back to the keyring to read this record", ErrUnknownKeyID, keyID)
	}
	if len(sealed) < Overhead {
		return nil, fmt.Errorf("%w (value of %d bytes is shorter than the envelope)", ErrDecrypt, len(sealed))
	}
	if sealed[0] != formatVersion {
		return nil, fmt.Errorf("%w (format version %d; this build reads version %d)", ErrDecrypt, sealed[0], formatVersion)
	}
	nonce := sealed[1 : 1+NonceSize]
	plain, err := aead.Open(nil, nonce, sealed[1+NonceSize:], aad)
	if err != nil {
		return nil, ErrDecrypt
	}
	return plain, nil
}

// AAD builds the additional authenticated data that binds a record to its
// tenant, access key and batch id: a record copied into another tenant's
// stream, or given another batch id, does not decrypt. Each part is
// length-prefixed so that ("ab","c") and ("a","bc") differ.
func AAD(tenant, accessKey, batchID string) []byte {
	out := make([]byte, 0, 16+len(tenant)+len(accessKey)+len(batchID))
	out = append(out, "ferry.v1"...)
	for _, part := range []string{tenant, accessKey, batchID} {
		n := len(part)
		out = append(out, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
		out = append(out, part...)
	}
	return out
}
