package agent

import (
	"errors"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// codeOf returns the gRPC code of err, Unavailable for errors that carry none
// (a broken connection).
func codeOf(err error) codes.Code {
	if err == nil {
		return codes.OK
	}
	if s, ok := status.FromError(err); ok {
		return s.Code()
	}
	if errors.Is(err, errStreamEnded) {
		return codes.Unavailable
	}
	return codes.Unknown
}

// deniesKey reports whether err means the access key itself may not send:
// a revoked key or a token issued for another key. Data sent under this key
// can never be delivered, so flushes answer Error.
func deniesKey(err error) bool { return codeOf(err) == codes.PermissionDenied }

// waitsLong reports whether retrying soon cannot help, so reconnects use the
// longest backoff: the operator has to issue a token or fix the key.
func waitsLong(err error) bool {
	switch codeOf(err) {
	case codes.Unauthenticated, codes.PermissionDenied, codes.InvalidArgument:
		return true
	}
	return false
}

// advice says what an operator should do about a failure with this code.
func advice(code codes.Code, accessKey string) string {
	switch code {
	case codes.Unauthenticated:
		return "the access token is invalid or expired: issue a new token with `ingester access-token --access-key " + accessKey + "` and put it in Access_Token_File (re-read when it changes) or Access_Token; data stays buffered in Fluent Bit meanwhile"
	case codes.PermissionDenied:
		return "the ingester denies access key " + accessKey + " (revoked, or the token was issued for another key): check Access_Key, and issue a token for it with `ingester access-token --access-key " + accessKey + "`; chunks are dropped until then"
	case codes.InvalidArgument:
		return "the ingester refused the data as malformed: check the tag, Agent_ID and the filters that build records, and that plugin and ingester versions match"
	case codes.ResourceExhausted:
		return "the ingester is over a limit; the plugin backs off and retries"
	case codes.Unavailable:
		return "the ingester is unreachable or cannot reach Kafka; the plugin retries"
	case codes.DeadlineExceeded:
		return "the ingester did not answer in time (Connect_Timeout); check the address and network; the plugin retries"
	}
	return "the plugin retries"
}

// redact removes the token from a message that came from elsewhere, so a
// server that echoes it cannot make the plugin log a secret.
func redact(msg, token string) string {
	if token == "" || len(token) < 8 {
		return msg
	}
	return strings.ReplaceAll(msg, token, "[redacted]")
}
