// Package auth checks the access token of every gRPC call and stream once,
// when it opens, and hands the verified claims to the handlers.
package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ferrylog/ferry/internal/configstore"
	"github.com/ferrylog/ferry/internal/token"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Identity is who a call acts for, from the verified token and the config
// store; never from the payload.
type Identity struct {
	Claims    *token.Claims
	AccessKey string
	Tenant    string
}

type identityKey struct{}

// FromContext returns the identity the interceptor stored.
func FromContext(ctx context.Context) (*Identity, bool) {
	id, ok := ctx.Value(identityKey{}).(*Identity)
	return id, ok
}

// Authenticator verifies tokens against a key set and the access keys of a
// config store.
type Authenticator struct {
	Keys   *token.KeySet
	Config func() *configstore.Snapshot
	Now    func() time.Time
	// OnFailure is told the gRPC code of every refused call (for metrics).
	OnFailure func(codes.Code)
}

// Authenticate checks the bearer token in ctx's metadata.
func (a *Authenticator) Authenticate(ctx context.Context) (*Identity, error) {
	raw, err := bearerToken(ctx)
	if err != nil {
		return nil, err
	}
	claims, err := a.Keys.Verify(raw, token.ScopeAgent, a.Now())
	if err != nil {
		hint := "issue a new token with `ingester access-token --access-key <key>`"
		if errors.Is(err, token.ErrExpired) {
			return nil, status.Errorf(codes.Unauthenticated, "%v; %s", err, hint)
		}
		return nil, status.Errorf(codes.Unauthenticated, "%v; check ACCESS_TOKEN, or %s", err, hint)
	}
	return a.Authorize(claims)
}

// Authorize checks that verified claims may act now: the access key exists,
// and neither it nor the token is revoked. Streams call it again when the
// config changes.
func (a *Authenticator) Authorize(claims *token.Claims) (*Identity, error) {
	snap := a.Config()
	key := claims.AccessKey()
	ak, ok := snap.Lookup(key)
	switch {
	case !ok:
		return nil, status.Errorf(codes.PermissionDenied, "access key %q is not configured on this ingester; add it to the config file or use another key", key)
	case ak.Revoked:
		return nil, status.Errorf(codes.PermissionDenied, "access key %q is revoked; ask the operator for a new access key and token", key)
	case snap.RevokedTokenIDs[claims.ID]:
		return nil, status.Errorf(codes.PermissionDenied, "this access token (id %s) is revoked; issue a new one with `ingester access-token --access-key %s`", claims.ID, key)
	}
	return &Identity{Claims: claims, AccessKey: key, Tenant: ak.Tenant}, nil
}

func bearerToken(ctx context.Context) (string, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	values := md.Get("authorization")
	if len(values) == 0 || values[0] == "" {
		return "", status.Error(codes.Unauthenticated, "no access token: send `authorization: Bearer <ACCESS_TOKEN>` metadata")
	}
	raw, ok := strings.CutPrefix(values[0], "Bearer ")
	if !ok {
		return "", status.Error(codes.Unauthenticated, "authorization metadata must be `Bearer <ACCESS_TOKEN>`")
	}
	return strings.TrimSpace(raw), nil
}

// Unauthenticated methods: health checks and reflection serve load balancers
// and grpcurl without a token.
func public(fullMethod string) bool {
	return strings.HasPrefix(fullMethod, "/grpc.health.v1.Health/") ||
		strings.HasPrefix(fullMethod, "/grpc.reflection.")
}

func (a *Authenticator) refuse(err error) error {
	if a.OnFailure != nil {
		a.OnFailure(status.Code(err))
	}
	return err
}

// UnaryInterceptor authenticates unary calls.
func (a *Authenticator) UnaryInterceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if public(info.FullMethod) {
		return handler(ctx, req)
	}
	id, err := a.Authenticate(ctx)
	if err != nil {
		return nil, a.refuse(err)
	}
	return handler(context.WithValue(ctx, identityKey{}, id), req)
}

// StreamInterceptor authenticates a stream once, when it opens.
func (a *Authenticator) StreamInterceptor(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if public(info.FullMethod) {
		return handler(srv, ss)
	}
	id, err := a.Authenticate(ss.Context())
	if err != nil {
		return a.refuse(err)
	}
	return handler(srv, &identityStream{ServerStream: ss, ctx: context.WithValue(ss.Context(), identityKey{}, id)})
}

type identityStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *identityStream) Context() context.Context { return s.ctx }

// RecoveryUnary turns a handler panic into codes.Internal, so one bad call
// never takes the server (and every other stream) down.
func RecoveryUnary(onPanic func(any)) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if r := recover(); r != nil {
				onPanic(r)
				err = status.Error(codes.Internal, fmt.Sprintf("internal error in %s; the ingester logged it", info.FullMethod))
			}
		}()
		return handler(ctx, req)
	}
}

// RecoveryStream is RecoveryUnary for streams.
func RecoveryStream(onPanic func(any)) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
		defer func() {
			if r := recover(); r != nil {
				onPanic(r)
				err = status.Error(codes.Internal, fmt.Sprintf("internal error in %s; the ingester logged it", info.FullMethod))
			}
		}()
		return handler(srv, ss)
	}
}
