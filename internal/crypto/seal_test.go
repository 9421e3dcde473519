package crypto

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func testKeyring(t *testing.T, current string, ids ...string) *Keyring {
	t.Helper()
	keys := map[string][]byte{}
	for i, id := range ids {
		keys[id] = bytes.Repeat([]byte{byte(i + 1)}, KeySize)
	}
	kr, err := NewKeyring(current, keys)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

func TestSealOpenRoundTrip(t *testing.T) {
	kr := testKeyring(t, "k1", "k1")
	plain := []byte(`{"msg":"hello"}`)
	aad := AAD("acme", "AK1", "b-1")
	keyID, sealed, err := kr.Seal(nil, plain, aad)
	if err != nil {
		t.Fatal(err)
	}
	if keyID != "k1" {
		t.Fatalf("key id = %q, want k1", keyID)
	}
	if len(sealed) != len(plain)+Overhead {
		t.Fatalf("sealed length = %d, want %d", len(sealed), len(plain)+Overhead)
	}
	if bytes.Contains(sealed, plain) {
		t.Fatal("sealed value contains the clear text")
	}
	got, err := kr.Open(keyID, sealed, aad)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, plain) {
		t.Fatalf("opened %q, want %q", got, plain)
	}
}

func TestSealUsesFreshNonces(t *testing.T) {
	kr := testKeyring(t, "k1", "k1")
	_, a, _ := kr.Seal(nil, []byte("same"), nil)
	_, b, _ := kr.Seal(nil, []byte("same"), nil)
	if bytes.Equal(a, b) {
		t.Fatal("two seals of the same plaintext are identical: nonce reused")
	}
}

func TestOpenRefusals(t *testing.T) {
	kr := testKeyring(t, "k1", "k1", "k2")
	aad := AAD("acme", "AK1", "b-1")
	_, sealed, err := kr.Seal(nil, []byte("secret events"), aad)
	if err != nil {
		t.Fatal(err)
	}
	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-20] ^= 0x01

	cases := []struct {
		name  string
		keyID string
		value []byte
		aad   []byte
		want  error
	}{
		{"unknown key id", "k9", sealed, aad, ErrUnknownKeyID},
		{"wrong key id", "k2", sealed, aad, ErrDecrypt},
		{"tampered ciphertext", "k1", tampered, aad, ErrDecrypt},
		{"other tenant", "k1", sealed, AAD("globex", "AK1", "b-1"), ErrDecrypt},
		{"other access key", "k1", sealed, AAD("acme", "AK2", "b-1"), ErrDecrypt},
		{"other batch id", "k1", sealed, AAD("acme", "AK1", "b-2"), ErrDecrypt},
		{"truncated", "k1", sealed[:10], aad, ErrDecrypt},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := kr.Open(tc.keyID, tc.value, tc.aad)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Open error = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestRotationKeepsOldRecordsReadable(t *testing.T) {
	old := testKeyring(t, "k1", "k1")
	keyID, sealed, err := old.Seal(nil, []byte("before rotation"), nil)
	if err != nil {
		t.Fatal(err)
	}
	rotated := testKeyring(t, "k2", "k1", "k2")
	if rotated.CurrentKeyID() != "k2" {
		t.Fatalf("current = %q", rotated.CurrentKeyID())
	}
	got, err := rotated.Open(keyID, sealed, nil)
	if err != nil || string(got) != "before rotation" {
		t.Fatalf("Open after rotation = %q, %v", got, err)
	}
}

func TestAADIsUnambiguous(t *testing.T) {
	if bytes.Equal(AAD("ab", "c", "d"), AAD("a", "bc", "d")) {
		t.Fatal("AAD of different parts collide")
	}
}

func TestNewKeyringRejectsBadKeys(t *testing.T) {
	if _, err := NewKeyring("k1", map[string][]byte{"k1": make([]byte, 16)}); err == nil {
		t.Fatal("accepted a 16-byte key for AES-256")
	}
	if _, err := NewKeyring("k2", map[string][]byte{"k1": make([]byte, 32)}); err == nil {
		t.Fatal("accepted a current key that is not in the ring")
	}
	if _, err := NewKeyring("", nil); err == nil {
		t.Fatal("accepted an empty keyring")
	}
}

func TestKeyringFileRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keyring.json")
	if err := GenerateKeyringFile(path); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Fatalf("keyring file mode = %o, want 600", perm)
	}
	if err := GenerateKeyringFile(path); err == nil {
		t.Fatal("GenerateKeyringFile overwrote an existing keyring")
	}
	kr, err := LoadKeyring(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(kr.KeyIDs()) != 1 {
		t.Fatalf("key ids = %v", kr.KeyIDs())
	}
	_, err = LoadKeyring(filepath.Join(t.TempDir(), "missing.json"))
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("ingester init")) {
		t.Fatalf("missing keyring error = %v, want a hint to run ingester init", err)
	}
}

func TestNewKeyIDsSortByDate(t *testing.T) {
	a, _, _ := NewKey(time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC))
	b, _, _ := NewKey(time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC))
	if !(a < b) {
		t.Fatalf("%q does not sort before %q", a, b)
	}
}
