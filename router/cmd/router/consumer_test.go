package main

import (
	"errors"
	"flag"
	"strings"
	"testing"
)

func TestConsumerFlagValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string // substring of the error; empty means valid
	}{
		{"file destination", []string{"--file-dir", "/tmp/x", "--keyring", "k.json"}, ""},
		{"print headers only", []string{"--print-events"}, ""},
		{"print decrypted", []string{"--print-events", "--decrypt-events", "--keyring", "k.json"}, ""},
		{"nothing to do", nil, "nothing to do"},
		{"file without keyring", []string{"--file-dir", "/tmp/x"}, "--file-dir needs --keyring"},
		{"decrypt without print", []string{"--file-dir", "/tmp/x", "--keyring", "k", "--decrypt-events"}, "add --print-events"},
		{"decrypt without keyring", []string{"--print-events", "--decrypt-events"}, "--decrypt-events needs --keyring"},
		{"bad initial offset", []string{"--print-events", "--initial-offset", "latest"}, `initial offset "latest"`},
		{"bad destination name", []string{"--print-events", "--destination", "a/b"}, `destination name "a/b"`},
		{"broker without port", []string{"--print-events", "--kafka-brokers", "kafka1"}, "has no port"},
		{"no brokers", []string{"--print-events", "--kafka-brokers", " , "}, "no Kafka brokers"},
		{"same topics", []string{"--print-events", "--topic", "t", "--dlq-topic", "t"}, "must differ"},
		{"bad log level", []string{"--print-events", "--log-level", "loud"}, "--log-level"},
		{"bad log format", []string{"--print-events", "--log-format", "xml"}, "--log-format"},
		{"zero grace", []string{"--print-events", "--shutdown-grace", "0s"}, "--shutdown-grace"},
		{"dedup settings", []string{"--file-dir", "/tmp/x", "--keyring", "k", "--dedup-window", "2h", "--dedup-max-ids", "1000"}, ""},
		{"zero dedup window", []string{"--file-dir", "/tmp/x", "--keyring", "k", "--dedup-window", "0s"}, "--dedup-window 0s must be positive"},
		{"negative dedup window", []string{"--file-dir", "/tmp/x", "--keyring", "k", "--dedup-window", "-1h"}, "--dedup-window -1h0m0s must be positive"},
		{"zero dedup max ids", []string{"--file-dir", "/tmp/x", "--keyring", "k", "--dedup-max-ids", "0"}, "--dedup-max-ids 0 must be positive"},
		{"bad dedup max ids", []string{"--file-dir", "/tmp/x", "--keyring", "k", "--dedup-max-ids", "many"}, "invalid value"},
		{"bad duration", []string{"--print-events", "--shutdown-grace", "soon"}, "invalid value"},
		{"unknown flag", []string{"--print-events", "--bogus"}, "not defined: -bogus"},
		{"positional", []string{"--print-events", "extra"}, `unexpected argument "extra"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseConsumerFlags(tc.args)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("error %v, want none", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			case err != nil && strings.Contains(err.Error(), "\n"):
				t.Fatalf("error spans lines: %q", err)
			}
		})
	}
}

func TestDestinationNameAndGroup(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--file-dir", "d", "--keyring", "k"}, "file"},
		{[]string{"--print-events"}, "print"}, // a debugging printer does not join the file group
		{[]string{"--print-events", "--destination", "file"}, "file"},
		{[]string{"--file-dir", "d", "--keyring", "k", "--destination", "archive"}, "archive"},
	} {
		f, err := parseConsumerFlags(tc.args)
		if err != nil {
			t.Fatal(err)
		}
		cfg, _ := f.consumeConfig()
		if cfg.Destination != tc.want || cfg.GroupID() != "ferry.router."+tc.want {
			t.Errorf("%v: destination %q group %q, want %q", tc.args, cfg.Destination, cfg.GroupID(), tc.want)
		}
	}
}

func TestHelpFlag(t *testing.T) {
	if _, err := parseConsumerFlags([]string{"-h"}); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h gave %v", err)
	}
}
