package token

import (
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

var now = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

func newKeySet(t *testing.T, alg string) (*KeySet, string) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "keys.json")
	if err := GenerateKeySetFile(path, filepath.Join(dir, "public.json"), alg, now); err != nil {
		t.Fatal(err)
	}
	ks, err := LoadKeySet(path)
	if err != nil {
		t.Fatal(err)
	}
	return ks, dir
}

func TestIssueVerifyRoundTrip(t *testing.T) {
	for _, alg := range []string{AlgHS256, AlgEdDSA} {
		t.Run(alg, func(t *testing.T) {
			ks, _ := newKeySet(t, alg)
			raw, err := ks.Issue("AK1", ScopeAgent, time.Hour, now)
			if err != nil {
				t.Fatal(err)
			}
			c, err := ks.Verify(raw, ScopeAgent, now.Add(time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			if c.AccessKey() != "AK1" || c.Issuer != Issuer || c.ID == "" || c.Scope != ScopeAgent {
				t.Fatalf("claims = %+v", c)
			}
			if !c.ExpiresAt.Time.Equal(now.Add(time.Hour)) {
				t.Fatalf("exp = %v", c.ExpiresAt)
			}
		})
	}
}

func TestEdDSAVerifyOnlyKeySet(t *testing.T) {
	ks, dir := newKeySet(t, AlgEdDSA)
	raw, err := ks.Issue("AK1", ScopeAgent, time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	public, err := LoadKeySet(filepath.Join(dir, "public.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := public.Verify(raw, ScopeAgent, now); err != nil {
		t.Fatalf("verify-only key set refused a good token: %v", err)
	}
	if _, err := public.Issue("AK1", ScopeAgent, time.Hour, now); err == nil {
		t.Fatal("a verify-only key set issued a token")
	}
}

func TestVerifyRefusals(t *testing.T) {
	ks, _ := newKeySet(t, AlgHS256)
	other, _ := newKeySet(t, AlgHS256)
	good, _ := ks.Issue("AK1", ScopeAgent, time.Hour, now)
	fromOther, _ := other.Issue("AK1", ScopeAgent, time.Hour, now)
	wrongScope, _ := ks.Issue("AK1", "admin", time.Hour, now)

	none := jwt.NewWithClaims(jwt.SigningMethodNone, Claims{RegisteredClaims: jwt.RegisteredClaims{
		Issuer: Issuer, Subject: "AK1", Audience: jwt.ClaimStrings{Audience},
		ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)), IssuedAt: jwt.NewNumericDate(now), ID: "x",
	}, Scope: ScopeAgent})
	none.Header["kid"] = ks.current
	algNone, err := none.SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	// Same kid, but signed by a key with the other algorithm: alg confusion.
	edKeys, _ := newKeySet(t, AlgEdDSA)
	edKeys.keys[ks.current] = edKeys.keys[edKeys.current]
	edKeys.current = ks.current
	algSwap, _ := edKeys.Issue("AK1", ScopeAgent, time.Hour, now)

	foreignIssuer := jwt.NewWithClaims(jwt.SigningMethodHS256, Claims{RegisteredClaims: jwt.RegisteredClaims{
		Issuer: "someone-else", Subject: "AK1", Audience: jwt.ClaimStrings{Audience},
		ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)), IssuedAt: jwt.NewNumericDate(now), ID: "x",
	}, Scope: ScopeAgent})
	foreignIssuer.Header["kid"] = ks.current
	foreign, _ := foreignIssuer.SignedString(ks.keys[ks.current].signKey)

	cases := []struct {
		name string
		raw  string
		at   time.Time
		want error
	}{
		{"empty", "", now, ErrMalformed},
		{"garbage", "not-a-jwt", now, ErrMalformed},
		{"expired", good, now.Add(2 * time.Hour), ErrExpired},
		{"signed with another key", fromOther, now, ErrSignature},
		{"alg none", algNone, now, ErrSignature},
		{"alg swapped for the kid", algSwap, now, ErrSignature},
		{"tampered payload", tamper(good), now, ErrSignature},
		{"foreign issuer", foreign, now, ErrClaims},
		{"wrong scope", wrongScope, now, ErrClaims},
		{"used before issued", good, now.Add(-time.Hour), ErrClaims},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ks.Verify(tc.raw, ScopeAgent, tc.at)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Verify error = %v, want %v", err, tc.want)
			}
		})
	}
}

// tamper changes the subject in the payload while keeping the signature.
func tamper(raw string) string {
	parts := strings.Split(raw, ".")
	payload, _ := jwt.NewParser().DecodeSegment(parts[1])
	changed := strings.Replace(string(payload), `"AK1"`, `"AK2"`, 1)
	parts[1] = base64.RawURLEncoding.EncodeToString([]byte(changed))
	return strings.Join(parts, ".")
}

func TestRotationVerifiesOldAndNewKeys(t *testing.T) {
	ks, _ := newKeySet(t, AlgHS256)
	oldToken, _ := ks.Issue("AK1", ScopeAgent, time.Hour, now)
	rotated := &KeySet{current: "t-new", keys: map[string]key{}}
	for id, k := range ks.keys {
		rotated.keys[id] = k
	}
	secret := []byte(strings.Repeat("n", 32))
	rotated.keys["t-new"] = key{alg: AlgHS256, signKey: secret, verify: secret}
	newToken, _ := rotated.Issue("AK1", ScopeAgent, time.Hour, now)
	for name, raw := range map[string]string{"old": oldToken, "new": newToken} {
		if _, err := rotated.Verify(raw, ScopeAgent, now); err != nil {
			t.Fatalf("%s token refused after rotation: %v", name, err)
		}
	}
	if _, err := ks.Verify(newToken, ScopeAgent, now); !errors.Is(err, ErrSignature) {
		t.Fatalf("a key set without the new key accepted its token: %v", err)
	}
}

func TestLoadKeySetRefusesWeakSecret(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	os.WriteFile(path, []byte(`{"current":"a","keys":{"a":{"alg":"HS256","secret":"c2hvcnQ="}}}`), 0o600)
	_, err := LoadKeySet(path)
	if err == nil || !strings.Contains(err.Error(), "at least 32") {
		t.Fatalf("weak secret error = %v", err)
	}
	if strings.Contains(err.Error(), "c2hvcnQ") {
		t.Fatal("the error quotes the secret")
	}
}

func TestParseExpiry(t *testing.T) {
	good := map[string]time.Duration{"720h": 720 * time.Hour, "90m": 90 * time.Minute, "3600": time.Hour}
	for in, want := range good {
		got, err := ParseExpiry(in)
		if err != nil || got != want {
			t.Errorf("ParseExpiry(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "-5", "-1h", "soon", "12x"} {
		if _, err := ParseExpiry(in); err == nil {
			t.Errorf("ParseExpiry(%q) accepted", in)
		}
	}
}

func FuzzVerify(f *testing.F) {
	dir := f.TempDir()
	path := filepath.Join(dir, "keys.json")
	if err := GenerateKeySetFile(path, "", AlgHS256, now); err != nil {
		f.Fatal(err)
	}
	ks, err := LoadKeySet(path)
	if err != nil {
		f.Fatal(err)
	}
	good, _ := ks.Issue("AK1", ScopeAgent, time.Hour, now)
	f.Add(good)
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := ks.Verify(raw, ScopeAgent, now)
		if err == nil && (c.Subject == "" || c.ID == "") {
			t.Fatalf("accepted a token without subject or id: %q", raw)
		}
		// Only the one issued token can verify (base64 may spell it in more
		// than one way, so compare what it says, not its bytes).
		if err == nil && c.Subject != "AK1" {
			t.Fatalf("accepted a token this key set did not issue: %q", raw)
		}
	})
}
