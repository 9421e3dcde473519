// Package app assembles `ingester api`: the gRPC server, the Kafka producer,
// the config store and the HTTP endpoints, and runs them until a signal.
package app

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/ferrylog/ferry/ingester/internal/auth"
	"github.com/ferrylog/ferry/ingester/internal/ingest"
	"github.com/ferrylog/ferry/ingester/internal/kafka"
	"github.com/ferrylog/ferry/ingester/internal/metrics"
	"github.com/ferrylog/ferry/internal/configstore"
	"github.com/ferrylog/ferry/internal/crypto"
	"github.com/ferrylog/ferry/internal/pprofhttp"
	"github.com/ferrylog/ferry/internal/record"
	"github.com/ferrylog/ferry/internal/token"
	ingestv1 "github.com/ferrylog/ferry/proto/ferry/ingest/v1"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"
)

// APIConfig is everything `ingester api` takes.
type APIConfig struct {
	Listen           string
	HTTPListen       string
	TLSCert, TLSKey  string
	TLSClientCA      string
	Insecure         bool
	ConfigFile       string
	KeyringFile      string
	TokenKeysFile    string
	Brokers          []string
	Topic            string
	TopicPartitions  int
	Replication      int
	Compression      record.Codec
	MaxInFlightBytes int64
	PrintEvents      bool
	Pprof            bool
	ShutdownGrace    time.Duration
	ConfigReload     time.Duration
}

// Validate reports the first problem with the flags.
func (c *APIConfig) Validate() error {
	switch {
	case c.Insecure && (c.TLSCert != "" || c.TLSKey != ""):
		return errors.New("--insecure and --tls-cert/--tls-key contradict each other; pick one")
	case !c.Insecure && (c.TLSCert == "" || c.TLSKey == ""):
		return errors.New("TLS is on by default: pass --tls-cert and --tls-key (make a development pair with `ingester certs`), or --insecure for plaintext on a trusted network")
	case c.TLSClientCA != "" && c.Insecure:
		return errors.New("--tls-client-ca needs TLS; drop --insecure")
	case c.ConfigFile == "":
		return errors.New("--config is required: the access-key config file")
	case c.KeyringFile == "":
		return errors.New("--keyring is required (create one with `ingester init`)")
	case c.TokenKeysFile == "":
		return errors.New("--token-keys is required (create one with `ingester init`)")
	case c.TopicPartitions < 1:
		return fmt.Errorf("--topic-partitions must be at least 1, got %d", c.TopicPartitions)
	case c.Replication < 1:
		return fmt.Errorf("--topic-replication must be at least 1, got %d", c.Replication)
	case c.MaxInFlightBytes < 1<<20:
		return fmt.Errorf("--max-inflight-bytes must be at least 1 MiB, got %d", c.MaxInFlightBytes)
	case c.ShutdownGrace <= 0:
		return errors.New("--shutdown-grace must be positive")
	}
	return nil
}

// RunAPI serves until ctx ends, then shuts down gracefully within the grace
// period: streams drain, the producer flushes, servers stop.
func RunAPI(ctx context.Context, cfg APIConfig, logger *slog.Logger, stdout io.Writer) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	keyring, err := crypto.LoadKeyring(cfg.KeyringFile)
	if err != nil {
		return err
	}
	keys, err := token.LoadKeySet(cfg.TokenKeysFile)
	if err != nil {
		return err
	}
	store, err := configstore.Open(cfg.ConfigFile, logger)
	if err != nil {
		return err
	}
	creds, err := serverCredentials(cfg)
	if err != nil {
		return err
	}
	lis, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen for gRPC on %s: %w", cfg.Listen, err)
	}
	httpLis, err := net.Listen("tcp", cfg.HTTPListen)
	if err != nil {
		lis.Close()
		return fmt.Errorf("listen for HTTP on %s: %w", cfg.HTTPListen, err)
	}

	m := metrics.NewIngester()
	producer := kafka.New(kafka.Options{
		Brokers: cfg.Brokers, Topic: cfg.Topic, Partitions: int32(cfg.TopicPartitions),
		ReplicationFact: int16(cfg.Replication), ClientID: "ferry-ingester", Logger: logger,
	})
	authn := &auth.Authenticator{
		Keys: keys, Config: store.Current, Now: time.Now,
		OnFailure: func(c codes.Code) { m.AuthFailures.WithLabelValues(c.String()).Inc() },
	}
	var printTo io.Writer
	if cfg.PrintEvents {
		printTo = stdout
	}
	svc := ingest.NewService(ingest.Options{
		Config: store.Current, ConfigChanged: store.Changed, Auth: authn, Producer: producer,
		Sealer: record.NewSealer(keyring, cfg.Compression), Topic: cfg.Topic, Metrics: m, Logger: logger,
		MaxInFlightBytes: cfg.MaxInFlightBytes, PrintEvents: printTo,
		DrainTimeout: cfg.ShutdownGrace / 2,
	})
	onPanic := func(r any) { logger.Error("handler panicked; the call failed with Internal", "panic", r) }
	grpcServer := grpc.NewServer(
		grpc.Creds(creds),
		grpc.ChainUnaryInterceptor(auth.RecoveryUnary(onPanic), authn.UnaryInterceptor),
		grpc.ChainStreamInterceptor(auth.RecoveryStream(onPanic), authn.StreamInterceptor),
		// Room for the largest batch the config allows, plus framing.
		grpc.MaxRecvMsgSize(2<<20),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 30 * time.Second, Timeout: 10 * time.Second}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
	)
	ingestv1.RegisterIngestServer(grpcServer, svc)
	healthServer := health.NewServer()
	healthpb.RegisterHealthServer(grpcServer, healthServer)
	reflection.Register(grpcServer)

	watchCtx, stopWatch := context.WithCancel(context.Background())
	defer stopWatch()
	go store.Watch(watchCtx, cfg.ConfigReload)
	go trackReadiness(watchCtx, producer, healthServer, m)

	httpServer := &http.Server{Handler: httpHandler(m, producer, cfg.Pprof), ReadHeaderTimeout: 5 * time.Second}
	serveErr := make(chan error, 2)
	go func() { serveErr <- grpcServer.Serve(lis) }()
	go func() {
		if err := httpServer.Serve(httpLis); !errors.Is(err, http.ErrServerClosed) {
			serveErr <- err
		}
	}()
	logger.Info("ingester serving", "grpc", lis.Addr().String(), "http", httpLis.Addr().String(),
		"tls", !cfg.Insecure, "mtls", cfg.TLSClientCA != "", "topic", cfg.Topic, "compression", cfg.Compression)

	var runErr error
	select {
	case <-ctx.Done():
		logger.Info("shutting down: draining streams", "grace", cfg.ShutdownGrace)
	case runErr = <-serveErr:
		logger.Error("server failed; shutting down", "error", runErr)
	}
	return errors.Join(runErr, shutdown(cfg.ShutdownGrace, logger, svc, grpcServer, healthServer, producer, httpServer))
}

// shutdown stops in the order that loses nothing: refuse new streams, let
// open streams finish their acks, flush the producer, then close the rest.
func shutdown(grace time.Duration, logger *slog.Logger, svc *ingest.Service, grpcServer *grpc.Server,
	healthServer *health.Server, producer *kafka.Producer, httpServer *http.Server) error {
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	healthServer.Shutdown()
	svc.Drain()
	stopped := make(chan struct{})
	go func() { grpcServer.GracefulStop(); close(stopped) }()
	var errs []error
	select {
	case <-stopped:
	case <-ctx.Done():
		logger.Warn("streams did not finish within the grace period; stopping hard")
		grpcServer.Stop()
		errs = append(errs, errors.New("shutdown grace period ended with streams open"))
	}
	if err := producer.Close(ctx); err != nil {
		errs = append(errs, err)
	}
	httpCtx, cancelHTTP := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancelHTTP()
	httpServer.Shutdown(httpCtx)
	logger.Info("ingester stopped")
	return errors.Join(errs...)
}

func trackReadiness(ctx context.Context, producer *kafka.Producer, hs *health.Server, m *metrics.Ingester) {
	ticker := time.NewTicker(500 * time.Millisecond)
	defer ticker.Stop()
	for {
		ready, _ := producer.Ready()
		st := healthpb.HealthCheckResponse_NOT_SERVING
		if ready {
			st = healthpb.HealthCheckResponse_SERVING
			m.KafkaReady.Set(1)
		} else {
			m.KafkaReady.Set(0)
		}
		hs.SetServingStatus("", st)
		hs.SetServingStatus(ingestv1.Ingest_ServiceDesc.ServiceName, st)
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

func httpHandler(m *metrics.Ingester, producer *kafka.Producer, withPprof bool) http.Handler {
	mux := http.NewServeMux()
	if withPprof {
		pprofhttp.Register(mux)
	}
	mux.Handle("/metrics", promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if ready, why := producer.Ready(); !ready {
			http.Error(w, "not ready: "+why, http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	return mux
}

func serverCredentials(cfg APIConfig) (credentials.TransportCredentials, error) {
	if cfg.Insecure {
		return insecureCreds(), nil
	}
	cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
	if err != nil {
		return nil, fmt.Errorf("load the TLS certificate and key (--tls-cert %s, --tls-key %s): %w", cfg.TLSCert, cfg.TLSKey, err)
	}
	tc := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if cfg.TLSClientCA != "" {
		pem, err := os.ReadFile(cfg.TLSClientCA)
		if err != nil {
			return nil, fmt.Errorf("read --tls-client-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--tls-client-ca %s holds no PEM certificate", cfg.TLSClientCA)
		}
		tc.ClientCAs = pool
		tc.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return credentials.NewTLS(tc), nil
}
