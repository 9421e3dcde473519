// Command ingester is Ferry's ingest service and its operator tools.
//
//	ingester api           serve agents: gRPC in, Kafka out
//	ingester init          create the keyring and token signing keys of a new install
//	ingester access-token  issue an access token (JWT) for an access key
//	ingester certs         create a development CA and certificates
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
	"syscall"
)

var version = "dev"

type command struct {
	name, summary string
	run           func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

var commands = []command{
	{"api", "serve agents: authenticated gRPC streams in, encrypted Kafka records out", runAPI},
	{"init", "create the encryption keyring and token signing keys of a new install", runInit},
	{"access-token", "issue an access token (JWT) for an access key", runAccessToken},
	{"certs", "create a development CA, server and client certificates", runCerts},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	go func() {
		// The first signal starts the graceful shutdown; restoring the
		// default handlers lets a second one end the process at once.
		<-ctx.Done()
		stop()
	}()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run returns the exit code: 0 ok, 1 failed, 2 bad usage.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	if args[0] == "version" || args[0] == "--version" {
		fmt.Fprintln(stdout, "ingester", version)
		return 0
	}
	for _, c := range commands {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, args[1:], stdout, stderr)
		var usageErr usageError
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.As(err, &usageErr):
			fmt.Fprintf(stderr, "ingester %s: %v\n", c.name, err)
			return 2
		default:
			fmt.Fprintf(stderr, "ingester %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "ingester: unknown command %q; run `ingester help` for the list\n", args[0])
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: ingester <command> [flags]\n\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-13s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun `ingester <command> -h` for a command's flags.")
}

// usageError marks bad flags (exit code 2).
type usageError struct{ error }

func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) error {
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q; flags go before nothing else", fs.Arg(0))}
	}
	return nil
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, usageError{fmt.Errorf("--log-level %q: use debug, info, warn or error", level)}
	}
	opts := &slog.HandlerOptions{Level: l}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usageError{fmt.Errorf("--log-format %q: use text or json", format)}
}
