package token

import (
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Issuer and Audience are fixed: a token from another system never verifies here.
const (
	Issuer   = "ferry-ingester"
	Audience = "ferry-ingest"
)

// Scopes a token may carry.
const (
	ScopeAgent = "agent"
)

// clockSkew tolerates small clock differences between issuer and verifier.
const clockSkew = 30 * time.Second

// Claims are the claims of a Ferry access token.
type Claims struct {
	jwt.RegisteredClaims
	Scope string `json:"scope"`
}

// AccessKey is the access key the token may act for (its subject).
func (c *Claims) AccessKey() string { return c.Subject }

// Errors a verification can end with, wrapped with details. The gRPC layer
// maps all of them to Unauthenticated.
var (
	ErrMalformed = errors.New("access token is malformed")
	ErrExpired   = errors.New("access token has expired")
	ErrSignature = errors.New("access token signature does not verify")
	ErrClaims    = errors.New("access token claims are not valid")
)

// Issue signs a token for accessKey with the current key.
func (ks *KeySet) Issue(accessKey, scope string, ttl time.Duration, now time.Time) (string, error) {
	if accessKey == "" {
		return "", errors.New("an access key is required")
	}
	if ttl <= 0 {
		return "", fmt.Errorf("expiry must be positive, got %s", ttl)
	}
	k, ok := ks.keys[ks.current]
	if !ok || ks.current == "" {
		return "", errors.New("the key set names no current key to sign with")
	}
	if k.signKey == nil {
		return "", fmt.Errorf("key %q can only verify; issue tokens where the private key is", ks.current)
	}
	claims := Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    Issuer,
			Subject:   accessKey,
			Audience:  jwt.ClaimStrings{Audience},
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ID:        randomHex(16),
		},
		Scope: scope,
	}
	t := jwt.NewWithClaims(signingMethod(k.alg), claims)
	t.Header["kid"] = ks.current
	return t.SignedString(k.signKey)
}

// Verify checks a token's signature (with the key its kid names, pinned to
// that key's algorithm), issuer, audience, expiry, issue time and subject, and
// that it carries wantScope.
func (ks *KeySet) Verify(raw, wantScope string, now time.Time) (*Claims, error) {
	var claims Claims
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{AlgHS256, AlgEdDSA}),
		jwt.WithIssuer(Issuer),
		jwt.WithAudience(Audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(clockSkew),
		jwt.WithTimeFunc(func() time.Time { return now }),
	)
	_, err := parser.ParseWithClaims(raw, &claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		k, ok := ks.keys[kid]
		if !ok {
			return nil, fmt.Errorf("signing key id %q is unknown here", kid)
		}
		if t.Method.Alg() != k.alg {
			return nil, fmt.Errorf("key %q signs with %s, the token claims %s", kid, k.alg, t.Method.Alg())
		}
		return k.verify, nil
	})
	switch {
	case err == nil:
	case errors.Is(err, jwt.ErrTokenMalformed):
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	case errors.Is(err, jwt.ErrTokenExpired):
		exp := "an unknown time"
		if claims.ExpiresAt != nil {
			exp = claims.ExpiresAt.UTC().Format(time.RFC3339)
		}
		return nil, fmt.Errorf("%w (at %s)", ErrExpired, exp)
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		return nil, fmt.Errorf("%w: %v", ErrSignature, err)
	default:
		return nil, fmt.Errorf("%w: %v", ErrClaims, err)
	}
	if claims.Subject == "" {
		return nil, fmt.Errorf("%w: no subject (access key)", ErrClaims)
	}
	if claims.ID == "" {
		return nil, fmt.Errorf("%w: no token id (jti)", ErrClaims)
	}
	if claims.Scope != wantScope {
		return nil, fmt.Errorf("%w: scope %q, this call needs %q", ErrClaims, claims.Scope, wantScope)
	}
	return &claims, nil
}

// ParseExpiry reads a token lifetime: a Go duration ("720h", "90m") or, as
// the original design took it, a bare number of seconds ("3600").
func ParseExpiry(s string) (time.Duration, error) {
	if d, err := time.ParseDuration(s); err == nil {
		if d <= 0 {
			return 0, fmt.Errorf("expiry %q must be positive", s)
		}
		return d, nil
	}
	var secs int64
	if _, err := fmt.Sscanf(s, "%d", &secs); err == nil && fmt.Sprint(secs) == s {
		if secs <= 0 {
			return 0, fmt.Errorf("expiry %q must be positive", s)
		}
		return time.Duration(secs) * time.Second, nil
	}
	return 0, fmt.Errorf("expiry %q is neither a duration like 720h nor a number of seconds", s)
}
