package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferrylog/ferry/plugin/internal/config"
	ingestv1 "github.com/ferrylog/ferry/proto/ferry/ingest/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
)

// Options configure a Client.
type Options struct {
	Config config.Config
	// InstanceName, PluginVersion and FluentBitVersion go into Hello.
	InstanceName     string
	PluginVersion    string
	FluentBitVersion string
	Logger           *slog.Logger
	// Backoff between reconnects when the ingester gives no hints;
	// zero means 1s to 30s.
	Backoff Backoff
	// InitialWait bounds how long Start waits for the first connection;
	// zero means the default (2s), negative means not at all.
	InitialWait time.Duration
	// DialOptions are added to the connection's (tests).
	DialOptions []grpc.DialOption
}

// defaultInitialWait is how long Start waits for the first connection: long
// enough for a healthy ingester, so the first flush is not a needless retry;
// short enough that an ingester that is down delays Fluent Bit's start-up
// only a little (per instance; Fluent Bit initializes them one by one).
const defaultInitialWait = 2 * time.Second

// pauseCap bounds how long one SLOW_DOWN or retry hint can pause sending.
const pauseCap = time.Minute

// tokenCheckInterval is how often the token file is checked for rotation.
const tokenCheckInterval = 5 * time.Second

// Client is one plugin instance's link to the ingester. Its methods are safe
// for concurrent use.
type Client struct {
	opts   Options
	cfg    config.Config
	log    *slog.Logger
	tokens config.TokenSource
	conn   *grpc.ClientConn
	api    ingestv1.IngestClient

	// runCtx stops the connect loop; streamsCtx, cancelled last, ends streams.
	runCtx        context.Context
	stopRun       context.CancelFunc
	streamsCtx    context.Context
	cancelStreams context.CancelFunc
	wg            sync.WaitGroup
	startOnce     sync.Once
	closeOnce     sync.Once
	firstAttempt  chan struct{} // closed when the first connect attempt ended
	handover      chan *session // a request to replace this session

	mu          sync.Mutex
	current     *session
	settings    settings
	connectErr  error // why the last connect failed; nil once connected
	lastToken   string
	pausedUntil time.Time
	closing     bool
	flushes     sync.WaitGroup

	stats struct{ sent, acked, retried, rejected atomic.Uint64 }
}

// New validates the transport settings and prepares the connection; nothing
// is dialled until Start.
func New(opts Options) (*Client, error) {
	cfg := opts.Config
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	log = log.With("agent_id", cfg.AgentID)
	if opts.Backoff.Min <= 0 {
		opts.Backoff.Min = defaultBackoffMin
	}
	if opts.Backoff.Max <= 0 {
		opts.Backoff.Max = defaultBackoffMax
	}

	var transport credentials.TransportCredentials
	if cfg.Insecure {
		transport = insecure.NewCredentials()
	} else {
		tlsConfig, err := cfg.TLS.ClientConfig()
		if err != nil {
			return nil, err
		}
		transport = credentials.NewTLS(tlsConfig)
	}
	dial := append([]grpc.DialOption{
		grpc.WithTransportCredentials(transport),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 30 * time.Second, Timeout: 10 * time.Second, PermitWithoutStream: true}),
		grpc.WithUserAgent("ferry-fluent-bit-plugin/" + opts.PluginVersion),
	}, opts.DialOptions...)
	conn, err := grpc.NewClient(cfg.Ingester, dial...)
	if err != nil {
		return nil, fmt.Errorf("the Ingester address %q is not usable: %w", cfg.Ingester, err)
	}

	c := &Client{
		opts: opts, cfg: cfg, log: log, tokens: cfg.TokenSource(),
		conn: conn, api: ingestv1.NewIngestClient(conn),
		firstAttempt: make(chan struct{}),
		handover:     make(chan *session, 1),
		settings:     initialSettings(cfg, opts.Backoff),
		connectErr:   errors.New("not connected to the ingester yet"),
	}
	c.runCtx, c.stopRun = context.WithCancel(context.Background())
	c.streamsCtx, c.cancelStreams = context.WithCancel(context.Background())
	return c, nil
}

// Start begins connecting in the background and waits for the first attempt
// at most InitialWait. It never fails because the ingester is down: flushes
// answer Retry until a stream is up.
func (c *Client) Start() {
	c.startOnce.Do(func() {
		c.wg.Add(1)
		go c.run()
		wait := c.opts.InitialWait
		if wait == 0 {
			wait = defaultInitialWait
		}
		if wait < 0 {
			return
		}
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-c.firstAttempt:
		case <-t.C:
			c.log.Warn("the ingester did not answer within the start-up wait; connecting in the background, flushes answer retry until connected", "ingester", c.cfg.Ingester, "waited", wait)
		}
	})
}

// Close stops accepting flushes, waits up to Exit_Timeout for the flushes
// and acks in flight, then closes the stream and the connection. It is safe
// to call more than once, and without Start.
func (c *Client) Close() {
	c.closeOnce.Do(func() {
		deadline := time.Now().Add(c.cfg.ExitTimeout)
		c.mu.Lock()
		c.closing = true
		c.mu.Unlock()

		flushesDone := make(chan struct{})
		go func() { c.flushes.Wait(); close(flushesDone) }()
		t := time.NewTimer(time.Until(deadline))
		select {
		case <-flushesDone:
		case <-t.C:
			c.log.Warn("exit: flushes still waiting for acks after Exit_Timeout; closing anyway (Fluent Bit keeps those chunks)", "exit_timeout", c.cfg.ExitTimeout)
		}
		t.Stop()

		c.stopRun()
		c.wg.Wait() // the connect loop has left; no new session appears
		c.mu.Lock()
		sess := c.current
		c.current = nil
		c.mu.Unlock()
		if sess != nil {
			sess.drain(context.Background(), max(time.Until(deadline), 0))
		}
		c.cancelStreams()
		_ = c.conn.Close()
		<-flushesDone
	})
}

// applyConfig puts a new AgentConfig in force, for new flushes and for the
// current stream's in-flight bound.
func (c *Client) applyConfig(ac *ingestv1.AgentConfig) {
	s := combine(c.cfg, ac, c.opts.Backoff)
	c.mu.Lock()
	previous := c.settings.version
	c.settings = s
	sess := c.current
	c.mu.Unlock()
	if sess != nil {
		sess.slots.setLimit(s.inFlight)
	}
	level := slog.LevelInfo
	if s.version == previous {
		level = slog.LevelDebug // the same version again, as on every reconnect
	}
	c.log.Log(context.Background(), level, "agent configuration applied", "version", s.version, "max_batch_bytes", s.maxBatchBytes,
		"max_batches_in_flight", s.inFlight, "labels", len(ac.GetLabels()))
}

func (c *Client) handleControl(from *session, ctl *ingestv1.Control) {
	switch ctl.GetKind() {
	case ingestv1.Control_KIND_SLOW_DOWN:
		c.pause(time.Duration(ctl.GetRetryAfterMs())*time.Millisecond, "the ingester asked to slow down: "+ctl.GetReason())
	case ingestv1.Control_KIND_RECONNECT:
		if ctl.GetTarget() != "" {
			c.log.Info("the ingester suggested another target; reconnecting to the configured Ingester address instead", "target", ctl.GetTarget())
		}
		c.log.Info("the ingester asked to reconnect", "reason", ctl.GetReason())
		c.requestHandover(from)
	case ingestv1.Control_KIND_TOKEN_EXPIRING:
		expires := time.Unix(0, ctl.GetTokenExpiresUnixNano()).UTC()
		ft, fromFile := c.tokens.(*config.FileToken)
		switch {
		case fromFile && ft.Changed():
			c.log.Info("the access token expires soon and the token file has a new one; reconnecting with it", "expires", expires)
			c.requestHandover(from)
		case fromFile:
			c.log.Warn("the access token expires soon; put a new token into Access_Token_File (the plugin reconnects when the file changes)", "expires", expires, "file", c.cfg.AccessTokenFile)
		default:
			c.log.Warn("the access token expires soon and comes from Access_Token or ACCESS_TOKEN, which cannot change without a restart; use Access_Token_File for rotation", "expires", expires)
		}
	}
}

func (c *Client) requestHandover(s *session) {
	select {
	case c.handover <- s:
	default: // one request pending is enough
	}
}

func (c *Client) pause(d time.Duration, why string) {
	if d <= 0 {
		return
	}
	d = min(d, pauseCap)
	c.mu.Lock()
	until := time.Now().Add(d)
	if until.After(c.pausedUntil) {
		c.pausedUntil = until
	}
	c.mu.Unlock()
	c.log.Info("pausing new batches", "for", d, "reason", why)
}

func (c *Client) countAck(ack *ingestv1.Ack) {
	switch ack.GetResult() {
	case ingestv1.AckResult_ACK_RESULT_OK:
		c.stats.acked.Add(1)
	case ingestv1.AckResult_ACK_RESULT_REJECTED:
		c.stats.rejected.Add(1)
	default:
		c.stats.retried.Add(1)
	}
}

func (c *Client) heartbeat() *ingestv1.Heartbeat {
	return &ingestv1.Heartbeat{
		TimeUnixNano:    time.Now().UnixNano(),
		BatchesSent:     c.stats.sent.Load(),
		BatchesAcked:    c.stats.acked.Load(),
		BatchesRetried:  c.stats.retried.Load(),
		BatchesRejected: c.stats.rejected.Load(),
	}
}
