// Package crypto seals Ferry batches with AES-256-GCM before they are written
// to Kafka, and opens them in the routers.
//
// A Keyring holds named 32-byte keys. New records use the current key; the key
// id travels with each record (a Kafka header), so records written before a
// rotation stay readable as long as their key stays in the ring.
package crypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/ferrylog/ferry/internal/secretfile"
)

// KeySize is the AES-256 key size in bytes.
const KeySize = 32

// ErrUnknownKeyID means a record names a key that is not in the keyring:
// the key was removed too early, or the record comes from another install.
var ErrUnknownKeyID = errors.New("unknown encryption key id")

// ErrDecrypt means authentication failed: the ciphertext was changed, or it
// is being opened with other additional data (another tenant, access key or
// batch id) than it was sealed with.
var ErrDecrypt = errors.New("record does not decrypt: it was tampered with, or it belongs to another tenant, access key or batch")

// keyringFile is the on-disk layout of a keyring.
type keyringFile struct {
	Current string            `json:"current"`
	Keys    map[string]string `json:"keys"` // id → base64 of 32 bytes
}

// Keyring is immutable after construction and safe for concurrent use.
type Keyring struct {
	current string
	aeads   map[string]cipher.AEAD
}

// NewKeyring builds a keyring from raw keys. current must be one of them.
func NewKeyring(current string, keys map[string][]byte) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, errors.New("keyring has no keys; create one with `ingester init`")
	}
	kr := &Keyring{current: current, aeads: make(map[string]cipher.AEAD, len(keys))}
	for id, key := range keys {
		if id == "" {
			return nil, errors.New("keyring has a key with an empty id")
		}
		if len(key) != KeySize {
			return nil, fmt.Errorf("keyring key %q is %d bytes; AES-256 needs %d", id, len(key), KeySize)
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		kr.aeads[id] = aead
	}
	if _, ok := kr.aeads[current]; !ok {
		return nil, fmt.Errorf("keyring's current key %q is not among its keys", current)
	}
	return kr, nil
}

// LoadKeyring reads a keyring file written by GenerateKeyringFile.
func LoadKeyring(path string) (*Keyring, error) {
	var f keyringFile
	if err := secretfile.Read(path, "keyring", &f); err != nil {
		return nil, err
	}
	keys := make(map[string][]byte, len(f.Keys))
	for id, encoded := range f.Keys {
		key, err := base64.StdEncoding.DecodeString(encoded)
		if err != nil {
			return nil, fmt.Errorf("keyring file %s: key %q is not valid base64", path, id)
		}
		keys[id] = key
	}
	kr, err := NewKeyring(f.Current, keys)
	if err != nil {
		return nil, fmt.Errorf("keyring file %s: %w", path, err)
	}
	return kr, nil
}

// GenerateKeyringFile writes a new keyring with one random key to path (0600).
func GenerateKeyringFile(path string) error {
	id, key, err := NewKey(time.Now())
	if err != nil {
		return err
	}
	return secretfile.Write(path, keyringFile{
		Current: id,
		Keys:    map[string]string{id: base64.StdEncoding.EncodeToString(key)},
	})
}

// NewKey returns a fresh random key and an id derived from its creation date,
// so ids sort by age.
func NewKey(now time.Time) (id string, key []byte, err error) {
	key = make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return "", nil, err
	}
	suffix := make([]byte, 3)
	if _, err := rand.Read(suffix); err != nil {
		return "", nil, err
	}
	return fmt.Sprintf("k%s-%x", now.UTC().Format("20060102"), suffix), key, nil
}

// CurrentKeyID is the id of the key new records are sealed with.
func (k *Keyring) CurrentKeyID() string { return k.current }

// KeyIDs lists the ids in the ring, sorted.
func (k *Keyring) KeyIDs() []string {
	ids := make([]string, 0, len(k.aeads))
	for id := range k.aeads {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}
