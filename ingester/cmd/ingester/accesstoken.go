package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/ferrylog/ferry/internal/configstore"
	"github.com/ferrylog/ferry/internal/token"
)

func runAccessToken(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ingester access-token", flag.ContinueOnError)
	keysFile := fs.String("token-keys", "secrets/token-keys.json", "token key set `file` from `ingester init`")
	accessKey := fs.String("access-key", "", "the access `key` the token may act for (required)")
	expiry := fs.String("expiry", "720h", "lifetime: a duration like 720h, or a number of seconds")
	scope := fs.String("scope", token.ScopeAgent, "token scope")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if *accessKey == "" {
		return usageError{errors.New("--access-key is required")}
	}
	if !configstore.ValidAccessKey(*accessKey) {
		return usageError{fmt.Errorf("--access-key %q: use 1 to 128 letters, digits, '.', '_' or '-'", *accessKey)}
	}
	ttl, err := token.ParseExpiry(*expiry)
	if err != nil {
		return usageError{fmt.Errorf("--expiry: %w", err)}
	}
	keys, err := token.LoadKeySet(*keysFile)
	if err != nil {
		return err
	}
	raw, err := keys.Issue(*accessKey, *scope, ttl, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, raw)
	return nil
}
