package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/ferrylog/ferry/internal/configstore"
	"github.com/ferrylog/ferry/internal/crypto"
	"github.com/ferrylog/ferry/internal/kafkaconf"
	"github.com/ferrylog/ferry/router/internal/consume"
	"github.com/ferrylog/ferry/router/internal/dedup"
	"github.com/ferrylog/ferry/router/internal/destination"
	"github.com/ferrylog/ferry/router/internal/destination/file"
	"github.com/ferrylog/ferry/router/internal/destination/stdout"
	"github.com/ferrylog/ferry/router/internal/httpserver"
	rungroup "github.com/oklog/run"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// printDestination is the destination name of a router that only prints, so
// a debugging session does not join (and take partitions from) the group of
// the real file destination unless --destination says so.
const printDestination = "print"

type consumerFlags struct {
	brokers, topic, dlqTopic  string
	destination               string
	destinationSet            bool
	fileDir, keyring, config  string
	configReload              time.Duration
	printEvents, decrypt      bool
	initialOffset, httpListen string
	logLevel, logFormat       string
	shutdownGrace             time.Duration
	dedupWindow               time.Duration
	dedupMaxIDs               int
	pprof                     bool
}

func newConsumerFlagSet(f *consumerFlags) *flag.FlagSet {
	fs := flag.NewFlagSet("router consumer", flag.ContinueOnError)
	fs.StringVar(&f.brokers, "kafka-brokers", kafkaconf.DefaultBrokers, "Kafka brokers, `host:port[,host:port]`")
	fs.StringVar(&f.topic, "topic", kafkaconf.EventsTopic, "events `topic` to consume")
	fs.StringVar(&f.dlqTopic, "dlq-topic", kafkaconf.DeadLetterTopic, "dead-letter `topic` for records that can never be delivered")
	fs.StringVar(&f.destination, "destination", "file", "destination `name`; the consumer group is ferry.router.<name> (\"print\" when only --print-events is given)")
	fs.StringVar(&f.fileDir, "file-dir", "", "file destination: write <access-key>.log JSON lines into `DIR`")
	fs.StringVar(&f.keyring, "keyring", "", "keyring `FILE` to decrypt records (required for --file-dir and --decrypt-events)")
	fs.StringVar(&f.config, "config", "", "config store `FILE`: skip records whose access key does not list this destination; reloaded while running")
	fs.DurationVar(&f.configReload, "config-reload", 5*time.Second, "how often the config file is checked for changes")
	fs.BoolVar(&f.pprof, "pprof", false, "serve Go's profiler at /debug/pprof/ on --http-listen")
	fs.BoolVar(&f.printEvents, "print-events", false, "print consumed batches to stdout as JSON lines (headers only unless --decrypt-events)")
	fs.BoolVar(&f.decrypt, "decrypt-events", false, "decrypt the events printed by --print-events")
	fs.StringVar(&f.initialOffset, "initial-offset", consume.InitialOldest, "where a new consumer group starts: oldest or newest")
	fs.StringVar(&f.httpListen, "http-listen", "127.0.0.1:7402", "`address` of /metrics, /healthz and /readyz")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&f.logFormat, "log-format", "text", "text or json")
	fs.DurationVar(&f.dedupWindow, "dedup-window", dedup.DefaultWindow, "file destination: how long a written batch id is remembered to drop its duplicates; a duplicate arriving later is written again")
	fs.IntVar(&f.dedupMaxIDs, "dedup-max-ids", dedup.DefaultMaxIDs, "file destination: most batch ids remembered (about 80 bytes of memory each); the oldest are forgotten first")
	fs.DurationVar(&f.shutdownGrace, "shutdown-grace", 30*time.Second, "on SIGTERM/SIGINT, time to finish the group being written before a hard stop")
	return fs
}

// parseConsumerFlags parses and checks the flags. Errors are one line each.
func parseConsumerFlags(args []string) (*consumerFlags, error) {
	f := &consumerFlags{}
	fs := newConsumerFlagSet(f)
	fs.SetOutput(io.Discard) // errors are reported once, by the caller
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q; all settings are flags", fs.Arg(0))
	}
	fs.Visit(func(fl *flag.Flag) { f.destinationSet = f.destinationSet || fl.Name == "destination" })
	if !f.destinationSet && f.fileDir == "" && f.printEvents {
		f.destination = printDestination
	}
	return f, f.validate()
}

func (f *consumerFlags) validate() error {
	switch {
	case f.fileDir == "" && !f.printEvents:
		return errors.New("nothing to do: give --file-dir DIR to write files, or --print-events to print")
	case f.fileDir != "" && f.keyring == "":
		return errors.New("--file-dir needs --keyring FILE to decrypt the records it writes")
	case f.decrypt && !f.printEvents:
		return errors.New("--decrypt-events only changes what --print-events prints; add --print-events")
	case f.decrypt && f.keyring == "":
		return errors.New("--decrypt-events needs --keyring FILE")
	case f.shutdownGrace <= 0:
		return fmt.Errorf("--shutdown-grace %s must be positive", f.shutdownGrace)
	case f.config != "" && f.configReload <= 0:
		return fmt.Errorf("--config-reload %s must be positive", f.configReload)
	case f.dedupWindow <= 0:
		return fmt.Errorf("--dedup-window %s must be positive", f.dedupWindow)
	case f.dedupMaxIDs <= 0:
		return fmt.Errorf("--dedup-max-ids %d must be positive", f.dedupMaxIDs)
	case f.httpListen == "":
		return errors.New("--http-listen is empty; give host:port")
	}
	if _, err := newLogger(io.Discard, f.logLevel, f.logFormat); err != nil {
		return err
	}
	cfg, err := f.consumeConfig()
	if err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("%s", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	return nil
}

// consumeConfig maps flags onto the consumer config (without the keyring,
// store and logger, which need files).
func (f *consumerFlags) consumeConfig() (consume.Config, error) {
	brokers, err := kafkaconf.ParseBrokers(f.brokers)
	if err != nil {
		return consume.Config{}, fmt.Errorf("--kafka-brokers: %w", err)
	}
	return consume.Config{
		Brokers:       brokers,
		Topic:         f.topic,
		DLQTopic:      f.dlqTopic,
		Destination:   f.destination,
		InitialOffset: f.initialOffset,
	}, nil
}

func runConsumer(args []string, stdoutW, stderr io.Writer) int {
	f, err := parseConsumerFlags(args)
	if errors.Is(err, flag.ErrHelp) {
		fs := newConsumerFlagSet(&consumerFlags{})
		fs.SetOutput(stdoutW)
		fmt.Fprintln(stdoutW, "Usage: router consumer [flags]")
		fs.PrintDefaults()
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "router consumer: %v (see `router consumer -h`)\n", err)
		return 2
	}
	logger, _ := newLogger(stderr, f.logLevel, f.logFormat)
	if err := serveConsumer(f, logger, stdoutW); err != nil {
		fmt.Fprintf(stderr, "router consumer: %v\n", err)
		return 1
	}
	return 0
}

// serveConsumer opens what the flags name, then runs the consumer, the HTTP
// server, the config watcher and the signal handler until one stops.
func serveConsumer(f *consumerFlags, logger *slog.Logger, stdoutW io.Writer) error {
	cfg, err := f.consumeConfig()
	if err != nil {
		return err
	}
	cfg.Logger = logger
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	cfg.Registerer = reg

	if f.keyring != "" && (f.fileDir != "" || f.decrypt) {
		if cfg.Keyring, err = crypto.LoadKeyring(f.keyring); err != nil {
			return err
		}
	}
	var store *configstore.Store
	if f.config != "" {
		if store, err = configstore.Open(f.config, logger); err != nil {
			return err
		}
		cfg.Routes = store
	}
	var dests destination.Multi
	if f.fileDir != "" {
		d, err := file.New(file.Config{Dir: f.fileDir, DedupWindow: f.dedupWindow, DedupMaxIDs: f.dedupMaxIDs, Logger: logger.With("destination", cfg.Destination)})
		if err != nil {
			return err
		}
		dests = append(dests, d)
	}
	if f.printEvents {
		var printer destination.Destination = stdout.New(stdoutW, f.decrypt)
		if len(dests) > 0 {
			printer = destination.BestEffort(printer, logger) // printing never makes the file destination retry
		}
		dests = append(dests, printer)
	}
	var dest destination.Destination = dests
	if len(dests) == 1 {
		dest = dests[0]
	}
	defer func() {
		if err := dest.Close(); err != nil {
			logger.Error("closing the destination", "error", err)
		}
	}()

	consumer, err := consume.New(cfg, dest)
	if err != nil {
		return err
	}
	srv := httpserver.New(reg, consumer.Ready, f.pprof)
	if err := srv.Listen(f.httpListen); err != nil {
		return err
	}

	var g rungroup.Group
	{
		ctx, cancel := context.WithCancel(context.Background())
		g.Add(func() error { return consumer.Run(ctx) }, func(error) {
			// Whatever ends the run, the consumer gets the grace period to
			// finish its group and commit, then the process stops hard.
			time.AfterFunc(f.shutdownGrace, func() {
				logger.Error("shutdown grace exceeded; exiting without waiting for the consumer", "grace", f.shutdownGrace)
				os.Exit(1)
			})
			cancel()
		})
	}
	g.Add(srv.Serve, func(error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	if store != nil {
		ctx, cancel := context.WithCancel(context.Background())
		g.Add(func() error { store.Watch(ctx, f.configReload); return nil }, func(error) { cancel() })
	}
	{
		signals := make(chan os.Signal, 2)
		signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
		done := make(chan struct{})
		g.Add(func() error {
			select {
			case sig := <-signals:
				logger.Info("stopping: finishing the group being written, then committing offsets", "signal", sig.String(), "grace", f.shutdownGrace)
				go func() { // a second signal means now
					if sig, ok := <-signals; ok {
						logger.Error("second signal; exiting now", "signal", sig.String())
						os.Exit(1)
					}
				}()
			case <-done:
			}
			return nil
		}, func(error) { close(done) })
	}

	logger.Info("router consumer starting", "destination", cfg.Destination, "group", cfg.GroupID(),
		"topic", cfg.Topic, "dlq_topic", cfg.DLQTopic, "brokers", cfg.Brokers, "http", srv.Addr())
	err = g.Run()
	logger.Info("router consumer stopped")
	return err
}
