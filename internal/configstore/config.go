// Package configstore maps access keys to their tenant, agent settings and
// destinations. The embedded store is one JSON file that the ingester and the
// routers reload when it changes; a broken edit keeps the last good
// configuration and reports the file, line and column of the problem.
package configstore

import (
	"fmt"
	"regexp"
	"time"
)

// Defaults for the agent settings an access key may leave out.
const (
	DefaultMaxBatchBytes      = 512 << 10
	DefaultMaxBatchesInFlight = 8
	DefaultFlushInterval      = time.Second
	DefaultRetryMinBackoff    = time.Second
	DefaultRetryMaxBackoff    = 30 * time.Second

	// The serialized batch must fit Kafka's default message limit (about
	// 1 MiB) after compression and encryption; compression usually shrinks
	// logs, but incompressible batches do not shrink, so the bound leaves room.
	minMaxBatchBytes = 4 << 10
	maxMaxBatchBytes = 900 << 10
)

// AccessKey is the configuration behind one access key.
type AccessKey struct {
	Tenant             string            `json:"tenant"`
	Topic              string            `json:"topic,omitempty"`
	MaxBatchBytes      int64             `json:"max_batch_bytes,omitempty"`
	MaxBatchesInFlight int               `json:"max_batches_in_flight,omitempty"`
	FlushInterval      Duration          `json:"flush_interval,omitempty"`
	RetryMinBackoff    Duration          `json:"retry_min_backoff,omitempty"`
	RetryMaxBackoff    Duration          `json:"retry_max_backoff,omitempty"`
	Labels             map[string]string `json:"labels,omitempty"`
	// Destinations names the router destinations that receive this key's
	// events. Empty means every destination.
	Destinations []string `json:"destinations,omitempty"`
	// Revoked refuses every call and stream of this key (PermissionDenied).
	Revoked bool `json:"revoked,omitempty"`
	// Version increases whenever this entry changes; set by the store.
	Version int64 `json:"-"`
}

// SendsTo reports whether events of this key go to the named destination.
func (a *AccessKey) SendsTo(destination string) bool {
	if len(a.Destinations) == 0 {
		return true
	}
	for _, d := range a.Destinations {
		if d == destination {
			return true
		}
	}
	return false
}

// Snapshot is one loaded configuration. It is never changed after loading.
type Snapshot struct {
	AccessKeys      map[string]*AccessKey
	RevokedTokenIDs map[string]bool
	// Generation counts the successful loads of the store.
	Generation int64
}

// Lookup returns the configuration of an access key.
func (s *Snapshot) Lookup(accessKey string) (*AccessKey, bool) {
	a, ok := s.AccessKeys[accessKey]
	return a, ok
}

var (
	// Access keys become file names at file destinations and parts of Kafka
	// record keys: keep them to a safe alphabet.
	accessKeyPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)
	tenantPattern    = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)
	topicPattern     = regexp.MustCompile(`^[A-Za-z0-9._-]{1,249}$`)
)

// ValidAccessKey reports whether s may be an access key.
func ValidAccessKey(s string) bool { return accessKeyPattern.MatchString(s) }

// applyDefaults fills unset settings and checks every value.
func (a *AccessKey) applyDefaults(key string) error {
	if !accessKeyPattern.MatchString(key) {
		return fmt.Errorf("access key %q: use 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit", key)
	}
	if a.Tenant == "" {
		return fmt.Errorf("access key %q: tenant is required", key)
	}
	if !tenantPattern.MatchString(a.Tenant) {
		return fmt.Errorf("access key %q: tenant %q: use 1 to 64 lower-case letters, digits, '.', '_' or '-'", key, a.Tenant)
	}
	if a.Topic != "" && !topicPattern.MatchString(a.Topic) {
		return fmt.Errorf("access key %q: topic %q is not a valid Kafka topic name", key, a.Topic)
	}
	if a.MaxBatchBytes == 0 {
		a.MaxBatchBytes = DefaultMaxBatchBytes
	}
	if a.MaxBatchBytes < minMaxBatchBytes || a.MaxBatchBytes > maxMaxBatchBytes {
		return fmt.Errorf("access key %q: max_batch_bytes %d is outside %d..%d (records must fit Kafka's message limit)", key, a.MaxBatchBytes, minMaxBatchBytes, maxMaxBatchBytes)
	}
	if a.MaxBatchesInFlight == 0 {
		a.MaxBatchesInFlight = DefaultMaxBatchesInFlight
	}
	if a.MaxBatchesInFlight < 1 || a.MaxBatchesInFlight > 1024 {
		return fmt.Errorf("access key %q: max_batches_in_flight %d is outside 1..1024", key, a.MaxBatchesInFlight)
	}
	for _, d := range []struct {
		name string
		v    *Duration
		def  time.Duration
	}{
		{"flush_interval", &a.FlushInterval, DefaultFlushInterval},
		{"retry_min_backoff", &a.RetryMinBackoff, DefaultRetryMinBackoff},
		{"retry_max_backoff", &a.RetryMaxBackoff, DefaultRetryMaxBackoff},
	} {
		if d.v.Duration == 0 {
			d.v.Duration = d.def
		}
		if d.v.Duration < 0 {
			return fmt.Errorf("access key %q: %s must be positive", key, d.name)
		}
	}
	if a.RetryMinBackoff.Duration > a.RetryMaxBackoff.Duration {
		return fmt.Errorf("access key %q: retry_min_backoff %s is above retry_max_backoff %s", key, a.RetryMinBackoff, a.RetryMaxBackoff)
	}
	return nil
}
