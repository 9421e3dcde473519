package app

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferrylog/ferry/internal/token"
	ingestv1 "github.com/ferrylog/ferry/proto/ferry/ingest/v1"
	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestStreamRefusalsAndOtherStreamsKeepWorking(t *testing.T) {
	ti := startIngester(t, kafkaBrokers(t))
	c := ti.client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	// A healthy stream stays open through every refusal below.
	healthy, err := openStream(ctx, c, ti.token(t, "AK-globex"), "AK-globex")
	if err != nil {
		t.Fatal(err)
	}

	expired, err := ti.keys.Issue("AK-acme", token.ScopeAgent, time.Hour, time.Now().Add(-2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	otherDir := t.TempDir()
	if err := token.GenerateKeySetFile(filepath.Join(otherDir, "k.json"), "", token.AlgHS256, time.Now()); err != nil {
		t.Fatal(err)
	}
	otherKeys, _ := token.LoadKeySet(filepath.Join(otherDir, "k.json"))
	foreign, _ := otherKeys.Issue("AK-acme", token.ScopeAgent, time.Hour, time.Now())
	none := jwt.NewWithClaims(jwt.SigningMethodNone, token.Claims{RegisteredClaims: jwt.RegisteredClaims{
		Issuer: token.Issuer, Subject: "AK-acme", Audience: jwt.ClaimStrings{token.Audience}, ID: "x",
		ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour)), IssuedAt: jwt.NewNumericDate(time.Now()),
	}, Scope: token.ScopeAgent})
	algNone, _ := none.SignedString(jwt.UnsafeAllowNoneSignatureType)

	cases := []struct {
		name      string
		token     string
		accessKey string
		code      codes.Code
		says      string
	}{
		{"no token", "", "AK-acme", codes.Unauthenticated, "authorization"},
		{"malformed token", "not.a.jwt", "AK-acme", codes.Unauthenticated, "malformed"},
		{"expired token", expired, "AK-acme", codes.Unauthenticated, "expired"},
		{"token signed with another key", foreign, "AK-acme", codes.Unauthenticated, "signature"},
		{"alg none", algNone, "AK-acme", codes.Unauthenticated, "signature"},
		{"token for A used for B", ti.token(t, "AK-acme"), "AK-globex", codes.PermissionDenied, "issued for access key \"AK-acme\""},
		{"unknown access key", ti.token(t, "AK-nobody"), "AK-nobody", codes.PermissionDenied, "not configured"},
		{"revoked access key", ti.token(t, "AK-revoked"), "AK-revoked", codes.PermissionDenied, "revoked"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := openStream(ctx, c, tc.token, tc.accessKey)
			assertStatus(t, err, tc.code, tc.says)
			_, err = c.GetConfig(withToken(ctx, tc.token), &ingestv1.GetConfigRequest{AccessKey: tc.accessKey})
			assertStatus(t, err, tc.code, tc.says)
		})
	}

	t.Run("first frame is not Hello", func(t *testing.T) {
		stream, err := c.Stream(withToken(ctx, ti.token(t, "AK-acme")))
		if err != nil {
			t.Fatal(err)
		}
		stream.Send(batchFrame(1, `{"a":1}`))
		_, err = stream.Recv()
		assertStatus(t, err, codes.InvalidArgument, "first frame")
	})
	t.Run("empty frame", func(t *testing.T) {
		stream, err := openStream(ctx, c, ti.token(t, "AK-acme"), "AK-acme")
		if err != nil {
			t.Fatal(err)
		}
		stream.Send(&ingestv1.AgentFrame{})
		_, err = stream.Recv()
		assertStatus(t, err, codes.InvalidArgument, "no Hello, Batch or Heartbeat")
	})

	t.Run("batch refusals are acks", func(t *testing.T) {
		stream, err := openStream(ctx, c, ti.token(t, "AK-acme"), "AK-acme")
		if err != nil {
			t.Fatal(err)
		}
		oversize := strings.Repeat("x", 9000)
		steps := []struct {
			frame  *ingestv1.AgentFrame
			result ingestv1.AckResult
			code   codes.Code
			says   string
		}{
			{batchFrame(1, `{"msg":"`+oversize+`"}`), ingestv1.AckResult_ACK_RESULT_RETRY, codes.ResourceExhausted, "max_batch_bytes"},
			{batchFrame(2, `not json`), ingestv1.AckResult_ACK_RESULT_REJECTED, codes.InvalidArgument, "JSON object"},
			{batchFrame(2, `{"msg":"again"}`), ingestv1.AckResult_ACK_RESULT_REJECTED, codes.InvalidArgument, "sequence"},
			{batchFrame(3, `{"msg":"fine"}`), ingestv1.AckResult_ACK_RESULT_OK, codes.OK, ""},
		}
		for _, step := range steps {
			if err := stream.Send(step.frame); err != nil {
				t.Fatal(err)
			}
			ack := recvAck(t, stream)
			seq := step.frame.GetBatch().Sequence
			if ack.Sequence != seq || ack.Result != step.result || codes.Code(ack.Code) != step.code || !strings.Contains(ack.Reason, step.says) {
				t.Fatalf("ack for sequence %d = %+v, want %v %v %q", seq, ack, step.result, step.code, step.says)
			}
		}
	})

	if err := healthy.Send(batchFrame(1, `{"msg":"still here"}`)); err != nil {
		t.Fatal(err)
	}
	if ack := recvAck(t, healthy); ack.Result != ingestv1.AckResult_ACK_RESULT_OK {
		t.Fatalf("the healthy stream's batch got %+v after the refusals", ack)
	}
}

func recvAck(t *testing.T, stream ingestv1.Ingest_StreamClient) *ingestv1.Ack {
	t.Helper()
	for {
		f, err := stream.Recv()
		if err != nil {
			t.Fatalf("stream ended waiting for an ack: %v", err)
		}
		if ack := f.GetAck(); ack != nil {
			return ack
		}
	}
}

func assertStatus(t *testing.T, err error, code codes.Code, says string) {
	t.Helper()
	st, _ := status.FromError(err)
	if err == nil || st.Code() != code || !strings.Contains(st.Message(), says) {
		t.Fatalf("error = %v, want code %v saying %q", err, code, says)
	}
}

func TestGetConfigAnswersTheKeysSettings(t *testing.T) {
	ti := startIngester(t, kafkaBrokers(t))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg, err := ti.client(t).GetConfig(withToken(ctx, ti.token(t, "AK-acme")), &ingestv1.GetConfigRequest{AccessKey: "AK-acme"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Tenant != "acme" || cfg.MaxBatchBytes != 8192 || cfg.MaxBatchesInFlight != 4 || cfg.Version < 1 {
		t.Fatalf("config = %+v", cfg)
	}
}
