package consume

import (
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"time"

	"github.com/ferrylog/ferry/internal/configstore"
	"github.com/ferrylog/ferry/internal/crypto"
	"github.com/prometheus/client_golang/prometheus"
)

// Initial offsets of a new consumer group.
const (
	InitialOldest = "oldest"
	InitialNewest = "newest"
)

// Defaults of the grouping and retry settings.
const (
	DefaultMaxGroupRecords = 512
	DefaultMaxGroupBytes   = 4 << 20
	DefaultRetryMin        = 100 * time.Millisecond
	DefaultRetryMax        = 30 * time.Second
)

// GroupIDPrefix prefixes the destination name to form the consumer group id.
const GroupIDPrefix = "ferry.router."

// destinationName keeps names usable in group ids, metric labels and headers.
var destinationName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)

// Routes is the configuration store (configstore.Store satisfies it): it
// says which destinations an access key's events go to.
type Routes interface {
	Current() *configstore.Snapshot
}

// Config of a consumer. Zero values of the optional fields take defaults.
type Config struct {
	Brokers  []string
	Topic    string
	DLQTopic string
	// Destination names the destination; the group id is ferry.router.<Destination>.
	Destination string
	// InitialOffset is where a group without committed offsets starts.
	InitialOffset string
	// Keyring decrypts records. Nil means headers only (printing without
	// --decrypt-events); destinations that need events refuse such batches.
	Keyring *crypto.Keyring
	// Routes, when set, skips records whose access key does not list this
	// destination. Keys the store does not know are delivered: a router whose
	// copy of the file is older than the ingester's must not drop a new key.
	Routes Routes

	MaxGroupRecords int
	MaxGroupBytes   int
	RetryMin        time.Duration
	RetryMax        time.Duration

	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// GroupID is the Kafka consumer group of the destination.
func (c *Config) GroupID() string { return GroupIDPrefix + c.Destination }

// Validate checks the configuration and fills defaults.
func (c *Config) Validate() error {
	var errs []error
	if len(c.Brokers) == 0 {
		errs = append(errs, errors.New("no Kafka brokers given"))
	}
	if c.Topic == "" {
		errs = append(errs, errors.New("the events topic is empty"))
	}
	if c.DLQTopic == "" {
		errs = append(errs, errors.New("the dead-letter topic is empty"))
	}
	if c.Topic != "" && c.Topic == c.DLQTopic {
		errs = append(errs, fmt.Errorf("the dead-letter topic must differ from the events topic %q", c.Topic))
	}
	if !destinationName.MatchString(c.Destination) {
		errs = append(errs, fmt.Errorf("destination name %q: use 1 to 100 letters, digits, '.', '_' or '-'", c.Destination))
	}
	switch c.InitialOffset {
	case "":
		c.InitialOffset = InitialOldest
	case InitialOldest, InitialNewest:
	default:
		errs = append(errs, fmt.Errorf("initial offset %q: use oldest or newest", c.InitialOffset))
	}
	if c.MaxGroupRecords == 0 {
		c.MaxGroupRecords = DefaultMaxGroupRecords
	}
	if c.MaxGroupBytes == 0 {
		c.MaxGroupBytes = DefaultMaxGroupBytes
	}
	if c.RetryMin == 0 {
		c.RetryMin = DefaultRetryMin
	}
	if c.RetryMax == 0 {
		c.RetryMax = DefaultRetryMax
	}
	if c.MaxGroupRecords < 1 || c.MaxGroupBytes < 1 {
		errs = append(errs, errors.New("group limits must be positive"))
	}
	if c.RetryMin <= 0 || c.RetryMax < c.RetryMin {
		errs = append(errs, fmt.Errorf("retry backoff %s..%s: the minimum must be positive and not above the maximum", c.RetryMin, c.RetryMax))
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Registerer == nil {
		c.Registerer = prometheus.NewRegistry()
	}
	return errors.Join(errs...)
}
