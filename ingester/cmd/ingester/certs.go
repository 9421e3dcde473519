package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ferrylog/ferry/ingester/internal/devcerts"
)

func runCerts(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ingester certs", flag.ContinueOnError)
	dir := fs.String("dir", "certs", "`folder` for ca.pem, server.pem, server-key.pem, client.pem, client-key.pem")
	hosts := fs.String("hosts", "localhost,127.0.0.1", "comma-separated DNS names and IPs the server certificate is valid for")
	validFor := fs.Duration("valid-for", 365*24*time.Hour, "certificate lifetime")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	var names []string
	for _, h := range strings.Split(*hosts, ",") {
		if h = strings.TrimSpace(h); h != "" {
			names = append(names, h)
		}
	}
	if err := devcerts.Generate(*dir, names, *validFor, time.Now()); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote a development CA and certificates for %s into %s\n", strings.Join(names, ", "), *dir)
	return nil
}
