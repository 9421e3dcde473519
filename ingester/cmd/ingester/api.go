package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/ferrylog/ferry/ingester/internal/app"
	"github.com/ferrylog/ferry/internal/kafkaconf"
	"github.com/ferrylog/ferry/internal/record"
)

func runAPI(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ingester api", flag.ContinueOnError)
	var cfg app.APIConfig
	fs.StringVar(&cfg.Listen, "listen", "127.0.0.1:7400", "gRPC `address` agents connect to")
	fs.StringVar(&cfg.HTTPListen, "http-listen", "127.0.0.1:7401", "HTTP `address` for /metrics, /healthz and /readyz")
	fs.StringVar(&cfg.TLSCert, "tls-cert", "", "server certificate `file` (PEM)")
	fs.StringVar(&cfg.TLSKey, "tls-key", "", "server private key `file` (PEM)")
	fs.StringVar(&cfg.TLSClientCA, "tls-client-ca", "", "CA `file`; when set, agents must present a client certificate it signed (mTLS)")
	fs.BoolVar(&cfg.Insecure, "insecure", false, "serve plaintext gRPC (trusted networks and local development only)")
	fs.StringVar(&cfg.ConfigFile, "config", "ferry.json", "access-key config `file`; reloaded when it changes")
	fs.StringVar(&cfg.KeyringFile, "keyring", "secrets/keyring.json", "encryption keyring `file` from `ingester init`")
	fs.StringVar(&cfg.TokenKeysFile, "token-keys", "secrets/token-keys.json", "token key set `file` from `ingester init` (a public-only EdDSA set verifies without issuing)")
	brokers := fs.String("kafka-brokers", kafkaconf.DefaultBrokers, "Kafka bootstrap `brokers`, comma-separated host:port")
	fs.StringVar(&cfg.Topic, "topic", kafkaconf.EventsTopic, "Kafka `topic` for event batches (created if missing)")
	fs.IntVar(&cfg.TopicPartitions, "topic-partitions", 6, "partitions of the topics when the ingester creates them")
	fs.IntVar(&cfg.Replication, "topic-replication", 1, "replication factor of the topics when the ingester creates them")
	compression := fs.String("compression", string(record.CodecZstd), "compression of batches before encryption: zstd, lz4, snappy or none")
	fs.Int64Var(&cfg.MaxInFlightBytes, "max-inflight-bytes", 256<<20, "bytes of batches held awaiting Kafka across all streams; over it agents are told to retry")
	fs.BoolVar(&cfg.PrintEvents, "print-events", false, "print every accepted event to stdout as a JSON line (debugging)")
	fs.BoolVar(&cfg.Pprof, "pprof", false, "serve Go's profiler at /debug/pprof/ on --http-listen")
	fs.DurationVar(&cfg.ShutdownGrace, "shutdown-grace", 30*time.Second, "on SIGTERM, how long streams may drain and the producer flush before a hard stop")
	fs.DurationVar(&cfg.ConfigReload, "config-reload-interval", time.Second, "how often the config file is checked for changes")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn, error")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	logger, err := newLogger(stderr, *logLevel, *logFormat)
	if err != nil {
		return err
	}
	if cfg.Brokers, err = kafkaconf.ParseBrokers(*brokers); err != nil {
		return usageError{fmt.Errorf("--kafka-brokers: %w", err)}
	}
	if cfg.Compression, err = record.ParseCodec(*compression); err != nil {
		return usageError{fmt.Errorf("--compression: %w", err)}
	}
	if err := cfg.Validate(); err != nil {
		return usageError{err}
	}
	return app.RunAPI(ctx, cfg, logger, stdout)
}
