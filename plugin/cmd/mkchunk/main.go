// Command mkchunk turns JSON lines into a msgpack chunk file shaped like the
// ones Fluent Bit hands to output plugins, so tests, the C test host and
// `make up` can replay sample logs without Fluent Bit.
//
//	mkchunk [-o chunk.mp] [-legacy] [-time-key time] [-metadata '{"k":"v"}'] [file.jsonl ...]
//
// Each input line must be a JSON object; it becomes one record. Without
// -legacy records are [[EventTime, metadata], body] (Fluent Bit 2.1+); with
// it, [EventTime, body]. The event time is the -time-key field when present
// (RFC 3339 string, or seconds as a number; the field stays in the body),
// otherwise the time mkchunk runs. Empty lines are skipped.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"time"

	"github.com/ferrylog/ferry/plugin/internal/msgpackchunk"
)

func main() {
	out := flag.String("o", "-", "output file (- for stdout)")
	legacy := flag.Bool("legacy", false, "write [time, body] records instead of [[time, metadata], body]")
	timeKey := flag.String("time-key", "", "body field that holds the event time (RFC 3339 or epoch seconds)")
	metadata := flag.String("metadata", "", "JSON object used as the metadata of every record")
	flag.Parse()

	if err := run(*out, *legacy, *timeKey, *metadata, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "mkchunk:", err)
		os.Exit(1)
	}
}

func run(out string, legacy bool, timeKey, metadataJSON string, files []string) error {
	var md map[string]any
	if metadataJSON != "" {
		if err := decodeObject([]byte(metadataJSON), &md); err != nil {
			return fmt.Errorf("-metadata: %w", err)
		}
	}
	var inputs []io.Reader
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		inputs = append(inputs, f)
	}
	if len(inputs) == 0 {
		inputs = append(inputs, os.Stdin)
	}

	now := time.Now()
	var chunk []byte
	records := 0
	for _, in := range inputs {
		sc := bufio.NewScanner(in)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for line := 1; sc.Scan(); line++ {
			text := bytes.TrimSpace(sc.Bytes())
			if len(text) == 0 {
				continue
			}
			var body map[string]any
			if err := decodeObject(text, &body); err != nil {
				return fmt.Errorf("line %d: %w", line, err)
			}
			ts, err := eventTime(body, timeKey, now)
			if err != nil {
				return fmt.Errorf("line %d: %w", line, err)
			}
			if legacy {
				chunk, err = msgpackchunk.AppendLegacyRecord(chunk, ts, body)
			} else {
				chunk, err = msgpackchunk.AppendRecord(chunk, ts, md, body)
			}
			if err != nil {
				return fmt.Errorf("line %d: %w", line, err)
			}
			records++
		}
		if err := sc.Err(); err != nil {
			return err
		}
	}
	if records == 0 {
		return errors.New("no records in the input")
	}
	if out == "-" {
		_, err := os.Stdout.Write(chunk)
		return err
	}
	return os.WriteFile(out, chunk, 0o644)
}

// decodeObject keeps numbers exact (json.Number) so integers stay integers.
func decodeObject(text []byte, into *map[string]any) error {
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.UseNumber()
	if err := dec.Decode(into); err != nil {
		return fmt.Errorf("not a JSON object: %w", err)
	}
	if *into == nil {
		return errors.New("not a JSON object")
	}
	return nil
}

func eventTime(body map[string]any, key string, fallback time.Time) (time.Time, error) {
	if key == "" {
		return fallback, nil
	}
	switch v := body[key].(type) {
	case nil:
		return fallback, nil
	case string:
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return time.Time{}, fmt.Errorf("%s=%q: want an RFC 3339 time", key, v)
		}
		return t, nil
	case json.Number:
		f, err := v.Float64()
		if err != nil || f < 0 || f > math.MaxUint32 {
			return time.Time{}, fmt.Errorf("%s=%s: want epoch seconds", key, v)
		}
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(math.Round(frac*1e9))), nil
	}
	return time.Time{}, fmt.Errorf("%s: want an RFC 3339 string or epoch seconds", key)
}
