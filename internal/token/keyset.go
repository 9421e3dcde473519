// Package token issues and verifies Ferry access tokens: JWTs whose subject is
// the access key they may act for.
//
// Several signing keys live side by side in a key set, named by `kid`, so keys
// rotate without downtime: add a key, make it current, and remove the old one
// once the tokens signed with it have expired. HS256 (a shared secret) is the
// simple default; EdDSA (Ed25519) lets ingesters hold only public keys and so
// verify tokens without being able to issue them.
package token

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/ferrylog/ferry/internal/secretfile"
	"github.com/golang-jwt/jwt/v5"
)

// Algorithms a key may use.
const (
	AlgHS256 = "HS256"
	AlgEdDSA = "EdDSA"
)

// keySetFile is the on-disk layout of a key set.
type keySetFile struct {
	Current string             `json:"current"`
	Keys    map[string]keyFile `json:"keys"`
}

type keyFile struct {
	Alg string `json:"alg"`
	// HS256: base64 of the shared secret (at least 32 bytes).
	Secret string `json:"secret,omitempty"`
	// EdDSA: base64 of the 32-byte seed (issuing) and/or the public key (verifying).
	PrivateKey string `json:"private_key,omitempty"`
	PublicKey  string `json:"public_key,omitempty"`
}

type key struct {
	alg     string
	signKey any // []byte or ed25519.PrivateKey; nil when this key only verifies
	verify  any // []byte or ed25519.PublicKey
}

// KeySet holds the signing and verification keys. It is immutable after
// construction and safe for concurrent use.
type KeySet struct {
	current string
	keys    map[string]key
}

const minSecretBytes = 32

// LoadKeySet reads a key set file written by GenerateKeySetFile.
func LoadKeySet(path string) (*KeySet, error) {
	var f keySetFile
	if err := secretfile.Read(path, "token key", &f); err != nil {
		return nil, err
	}
	ks, err := parseKeySet(f)
	if err != nil {
		return nil, fmt.Errorf("token key file %s: %w", path, err)
	}
	return ks, nil
}

func parseKeySet(f keySetFile) (*KeySet, error) {
	if len(f.Keys) == 0 {
		return nil, errors.New("no keys; create a key set with `ingester init`")
	}
	ks := &KeySet{current: f.Current, keys: make(map[string]key, len(f.Keys))}
	for id, kf := range f.Keys {
		k, err := parseKey(kf)
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", id, err)
		}
		ks.keys[id] = k
	}
	if f.Current != "" {
		if _, ok := ks.keys[f.Current]; !ok {
			return nil, fmt.Errorf("current key %q is not among the keys", f.Current)
		}
	}
	return ks, nil
}

func parseKey(kf keyFile) (key, error) {
	decode := func(field, s string) ([]byte, error) {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("%s is not valid base64", field)
		}
		return b, nil
	}
	switch kf.Alg {
	case AlgHS256:
		secret, err := decode("secret", kf.Secret)
		if err != nil {
			return key{}, err
		}
		if len(secret) < minSecretBytes {
			return key{}, fmt.Errorf("HS256 secret is %d bytes; use at least %d", len(secret), minSecretBytes)
		}
		return key{alg: AlgHS256, signKey: secret, verify: secret}, nil
	case AlgEdDSA:
		k := key{alg: AlgEdDSA}
		if kf.PrivateKey != "" {
			seed, err := decode("private_key", kf.PrivateKey)
			if err != nil {
				return key{}, err
			}
			if len(seed) != ed25519.SeedSize {
				return key{}, fmt.Errorf("EdDSA private_key must be a %d-byte seed", ed25519.SeedSize)
			}
			priv := ed25519.NewKeyFromSeed(seed)
			k.signKey = priv
			k.verify = priv.Public()
		}
		if kf.PublicKey != "" {
			pub, err := decode("public_key", kf.PublicKey)
			if err != nil {
				return key{}, err
			}
			if len(pub) != ed25519.PublicKeySize {
				return key{}, fmt.Errorf("EdDSA public_key must be %d bytes", ed25519.PublicKeySize)
			}
			k.verify = ed25519.PublicKey(pub)
		}
		if k.verify == nil {
			return key{}, errors.New("EdDSA key has neither private_key nor public_key")
		}
		return k, nil
	default:
		return key{}, fmt.Errorf("alg %q is not supported; use %s or %s", kf.Alg, AlgHS256, AlgEdDSA)
	}
}

// GenerateKeySetFile writes a new key set with one random key of alg to path
// (0600), and, for EdDSA, a verify-only copy to publicPath when it is set.
func GenerateKeySetFile(path, publicPath, alg string, now time.Time) error {
	id := fmt.Sprintf("t%s-%s", now.UTC().Format("20060102"), randomHex(3))
	var full, public keyFile
	switch alg {
	case AlgHS256:
		secret := make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			return err
		}
		full = keyFile{Alg: AlgHS256, Secret: base64.StdEncoding.EncodeToString(secret)}
	case AlgEdDSA:
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return err
		}
		pubText := base64.StdEncoding.EncodeToString(pub)
		full = keyFile{Alg: AlgEdDSA, PrivateKey: base64.StdEncoding.EncodeToString(priv.Seed()), PublicKey: pubText}
		public = keyFile{Alg: AlgEdDSA, PublicKey: pubText}
	default:
		return fmt.Errorf("alg %q is not supported; use %s or %s", alg, AlgHS256, AlgEdDSA)
	}
	if err := secretfile.Write(path, keySetFile{Current: id, Keys: map[string]keyFile{id: full}}); err != nil {
		return err
	}
	if publicPath != "" && alg == AlgEdDSA {
		return secretfile.Write(publicPath, keySetFile{Current: id, Keys: map[string]keyFile{id: public}})
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return fmt.Sprintf("%x", b)
}

// signingMethod returns the jwt method of an algorithm name.
func signingMethod(alg string) jwt.SigningMethod {
	if alg == AlgEdDSA {
		return jwt.SigningMethodEdDSA
	}
	return jwt.SigningMethodHS256
}
