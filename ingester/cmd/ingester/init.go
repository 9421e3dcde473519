package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/ferrylog/ferry/internal/crypto"
	"github.com/ferrylog/ferry/internal/token"
)

func runInit(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ingester init", flag.ContinueOnError)
	dir := fs.String("dir", "secrets", "`folder` to write keyring.json and token-keys.json into (0600)")
	alg := fs.String("token-alg", token.AlgHS256, "token signing algorithm: HS256 (shared secret) or EdDSA (also writes token-keys.public.json, which verifies but cannot issue)")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	keyring := filepath.Join(*dir, "keyring.json")
	tokenKeys := filepath.Join(*dir, "token-keys.json")
	public := ""
	if *alg == token.AlgEdDSA {
		public = filepath.Join(*dir, "token-keys.public.json")
	}
	if *alg != token.AlgHS256 && *alg != token.AlgEdDSA {
		return usageError{fmt.Errorf("--token-alg %q: use HS256 or EdDSA", *alg)}
	}
	if err := crypto.GenerateKeyringFile(keyring); err != nil {
		return err
	}
	if err := token.GenerateKeySetFile(tokenKeys, public, *alg, time.Now()); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s (encryption keys) and %s (%s token keys)\n", keyring, tokenKeys, *alg)
	if public != "" {
		fmt.Fprintf(stdout, "wrote %s: give ingesters this one so they verify without being able to issue\n", public)
	}
	return nil
}
