// Command router consumes Ferry batches from Kafka and writes them to a
// destination. main only wires flags into config structs and runs them; the
// work lives in router/internal.
package main

import (
	"fmt"
	"io"
	"os"
	"sort"
)

// command is one subcommand. run returns the process exit code: 0 ok,
// 1 start-up or runtime failure, 2 usage error.
type command struct {
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
}

var commands = map[string]command{
	"consumer": {"consume ferry.events and write to one destination (one consumer group per destination)", runConsumer},
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	name, rest := args[0], args[1:]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(rest) > 0 {
			if _, ok := commands[rest[0]]; ok {
				return commands[rest[0]].run([]string{"-h"}, stdout, stderr)
			}
			fmt.Fprintf(stderr, "router: unknown command %q; run `router help` for the list\n", rest[0])
			return 2
		}
		usage(stdout)
		return 0
	}
	cmd, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "router: unknown command %q; run `router help` for the list\n", name)
		return 2
	}
	return cmd.run(rest, stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: router <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintf(w, "  %-10s %s\n", "help", "list commands, or `router help <command>` for its flags")
}
