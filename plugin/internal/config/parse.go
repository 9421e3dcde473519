package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"time"
)

// maxDuration bounds timeouts: a flush that waits longer stalls Fluent Bit.
const maxDuration = time.Hour

func validateHostPort(v string) error {
	if v == "" {
		return fmt.Errorf("%s is required: the ingester's gRPC address as host:port, for example ingester.example.com:4317", KeyIngester)
	}
	host, port, err := net.SplitHostPort(v)
	if err != nil || host == "" {
		return fmt.Errorf("%s=%q: want host:port, for example ingester.example.com:4317", KeyIngester, v)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 1 || p > 65535 {
		return fmt.Errorf("%s=%q: the port must be a number from 1 to 65535", KeyIngester, v)
	}
	return nil
}

// parseBool accepts the spellings Fluent Bit accepts for its own booleans.
func parseBool(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "true", "on", "yes", "1":
		return true, nil
	case "false", "off", "no", "0":
		return false, nil
	}
	return false, errors.New("want true or false (also on/off, yes/no, 1/0)")
}

// parseDuration accepts a Go duration ("1m30s", "500ms") or bare seconds
// ("10", "0.5"); the result must be above zero and at most an hour.
func parseDuration(v string) (time.Duration, error) {
	const accepted = "want a duration such as 10s, 500ms, 1m30s, or a number of seconds such as 10 or 0.5, above zero and at most 1h"
	var d time.Duration
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if math.IsNaN(secs) || math.IsInf(secs, 0) || secs > maxDuration.Seconds() {
			return 0, errors.New(accepted)
		}
		d = time.Duration(secs * float64(time.Second))
	} else {
		parsed, err := time.ParseDuration(v)
		if err != nil {
			return 0, errors.New(accepted)
		}
		d = parsed
	}
	if d <= 0 || d > maxDuration {
		return 0, errors.New(accepted)
	}
	return d, nil
}

func parsePositiveInt(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 1<<20 {
		return 0, errors.New("want a whole number from 1 to 1048576")
	}
	return n, nil
}

// sizeUnits follows Fluent Bit's own size keys (K = 1000) and adds the binary
// units for those who mean 1024.
var sizeUnits = []struct {
	suffix string
	factor int64
}{
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30},
	{"kb", 1000}, {"mb", 1000 * 1000}, {"gb", 1000 * 1000 * 1000},
	{"k", 1000}, {"m", 1000 * 1000}, {"g", 1000 * 1000 * 1000},
	{"b", 1},
}

// minBatchBytes keeps room for at least one small event beside the frame's
// own fields; a smaller cap would make every batch oversize.
const minBatchBytes = 1024

// parseSize accepts bytes ("1048576") or a number with a unit ("900K",
// "1MiB"), at least 1 KiB.
func parseSize(v string) (int64, error) {
	const accepted = "want a size in bytes such as 1048576, or with a unit such as 900K, 1M, 1MiB (K=1000, KiB=1024), at least 1024 bytes"
	lower := strings.ToLower(v)
	factor := int64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(lower, u.suffix) {
			lower = strings.TrimSpace(strings.TrimSuffix(lower, u.suffix))
			factor = u.factor
			break
		}
	}
	n, err := strconv.ParseInt(lower, 10, 64)
	if err != nil || n <= 0 || n > math.MaxInt64/factor || n*factor < minBatchBytes {
		return 0, errors.New(accepted)
	}
	return n * factor, nil
}
