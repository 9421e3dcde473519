package agent

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/ferrylog/ferry/plugin/internal/config"
	ingestv1 "github.com/ferrylog/ferry/proto/ferry/ingest/v1"
	"google.golang.org/grpc/metadata"
)

// run keeps one session up until Close: connect, supervise, and on failure
// wait a backoff and connect again.
func (c *Client) run() {
	defer c.wg.Done()
	firstDone := false
	markFirst := func() {
		if !firstDone {
			firstDone = true
			close(c.firstAttempt)
		}
	}
	defer markFirst()

	attempt := 0
	var lastErr error
	for c.runCtx.Err() == nil {
		sess, err := c.connect()
		if err != nil {
			if c.runCtx.Err() != nil {
				return
			}
			c.connectFailed(err, lastErr, attempt)
			lastErr = err
			markFirst()
			if !c.sleep(c.retryDelay(err, attempt)) {
				return
			}
			attempt++
			continue
		}
		c.install(sess)
		markFirst()
		if lastErr != nil {
			c.log.Info("connected to the ingester again", "ingester", c.cfg.Ingester, "after_attempts", attempt+1)
		}
		attempt, lastErr = 0, nil

		// Supervise, handing over to a new stream when asked, until the
		// current one ends or Close begins.
		for sess != nil {
			if !c.supervise(sess) {
				sess = c.sessionEnded(sess)
				break
			}
			next, err := c.connect()
			if err != nil {
				c.log.Warn("could not open a new stream for the handover; keeping the current one", "error", redact(err.Error(), c.currentToken()))
				continue
			}
			c.install(next)
			c.wg.Add(1)
			go func(old *session) {
				defer c.wg.Done()
				// Close cuts this short: it has already waited for flushes.
				old.drain(c.runCtx, c.cfg.AckTimeout)
			}(sess)
			sess = next
		}
		if sess != nil {
			lastErr = sess.endErr
		}
	}
}

// sessionEnded removes an ended session and returns it, with its reason
// logged; it returns nil when the loop is stopping instead.
func (c *Client) sessionEnded(sess *session) *session {
	select {
	case <-sess.done:
	default:
		return nil // Close is underway; it drains the session
	}
	c.mu.Lock()
	if c.current == sess {
		c.current = nil
	}
	c.connectErr = sess.endErr
	c.mu.Unlock()
	sess.close(sess.endErr)
	code := codeOf(sess.endErr)
	c.log.Warn("the stream to the ingester ended; reconnecting", "code", code.String(),
		"error", redact(sess.endErr.Error(), c.currentToken()), "advice", advice(code, c.cfg.AccessKey))
	if c.runCtx.Err() == nil {
		c.sleep(c.retryDelay(sess.endErr, 0))
	}
	return sess
}

// supervise waits until sess ends (false) or should be replaced (true).
func (c *Client) supervise(sess *session) bool {
	var tokenCheck <-chan time.Time
	ft, fromFile := c.tokens.(*config.FileToken)
	if fromFile {
		t := time.NewTicker(tokenCheckInterval)
		defer t.Stop()
		tokenCheck = t.C
	}
	for {
		select {
		case <-sess.done:
			return false
		case <-c.runCtx.Done():
			return false
		case from := <-c.handover:
			if from == sess {
				return true
			}
		case <-tokenCheck:
			if ft.Changed() {
				c.log.Info("the token file changed; reconnecting with the new token", "file", c.cfg.AccessTokenFile)
				return true
			}
		}
	}
}

func (c *Client) install(sess *session) {
	c.mu.Lock()
	c.current = sess
	c.connectErr = nil
	c.mu.Unlock()
}

func (c *Client) connectFailed(err, previous error, attempt int) {
	c.mu.Lock()
	c.connectErr = err
	c.mu.Unlock()
	code := codeOf(err)
	// Log every change of reason, and a reminder every tenth attempt.
	if previous == nil || codeOf(previous) != code || attempt%10 == 0 {
		c.log.Warn("cannot connect to the ingester", "ingester", c.cfg.Ingester, "code", code.String(),
			"error", redact(err.Error(), c.currentToken()), "advice", advice(code, c.cfg.AccessKey), "attempt", attempt+1)
	}
}

func (c *Client) retryDelay(err error, attempt int) time.Duration {
	c.mu.Lock()
	b := c.settings.backoff
	c.mu.Unlock()
	if waitsLong(err) {
		return b.Max
	}
	return b.Delay(attempt)
}

// sleep waits d, or less when Close begins (then false).
func (c *Client) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.runCtx.Done():
		return false
	}
}

// currentToken is the token of the last connect attempt, for redaction. It
// does not read the token source, which would hide a rotation from Changed.
func (c *Client) currentToken() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastToken
}

// connect fetches the configuration and opens a stream, all within
// Connect_Timeout; the stream is accepted when its first AgentConfig arrives.
func (c *Client) connect() (*session, error) {
	token, err := c.tokens.Token()
	if err != nil {
		return nil, fmt.Errorf("reading the access token: %w", err)
	}
	c.mu.Lock()
	c.lastToken = token
	c.mu.Unlock()
	auth := func(ctx context.Context) context.Context {
		return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	}

	ctx, cancel := context.WithTimeout(c.runCtx, c.cfg.ConnectTimeout)
	defer cancel()
	ac, err := c.api.GetConfig(auth(ctx), &ingestv1.GetConfigRequest{AccessKey: c.cfg.AccessKey, AgentId: c.cfg.AgentID})
	if err != nil {
		return nil, err
	}
	c.applyConfig(ac)

	// The stream outlives this call, so it has a context of its own; until
	// the ingester accepted it, Connect_Timeout (or Close) cancels it.
	streamCtx, cancelStream := context.WithCancel(c.streamsCtx)
	stopTimeout := context.AfterFunc(ctx, cancelStream)
	defer stopTimeout()
	stream, err := c.api.Stream(auth(streamCtx))
	if err != nil {
		cancelStream()
		return nil, err
	}
	epoch := uint64(time.Now().UnixNano())
	host, _ := os.Hostname()
	hello := &ingestv1.Hello{
		AgentId: c.cfg.AgentID, Hostname: host, PluginVersion: c.opts.PluginVersion,
		FluentBitVersion: c.opts.FluentBitVersion, InstanceName: c.opts.InstanceName,
		AccessKey: c.cfg.AccessKey, StreamEpoch: epoch,
	}
	if err := stream.Send(&ingestv1.AgentFrame{Frame: &ingestv1.AgentFrame_Hello{Hello: hello}}); err != nil {
		cancelStream()
		_, recvErr := stream.Recv() // the status, if the server ended the stream
		return nil, firstNonNil(recvErr, err)
	}
	first, err := stream.Recv()
	if err != nil {
		cancelStream()
		if ctx.Err() != nil && c.runCtx.Err() == nil {
			return nil, fmt.Errorf("no answer to Hello within Connect_Timeout (%s): %w", c.cfg.ConnectTimeout, err)
		}
		return nil, err
	}
	if !stopTimeout() {
		cancelStream() // the timeout fired just as the answer came
		return nil, fmt.Errorf("no answer to Hello within Connect_Timeout (%s)", c.cfg.ConnectTimeout)
	}
	accepted := first.GetConfig()
	if accepted == nil {
		cancelStream()
		return nil, fmt.Errorf("the ingester's first frame on a new stream was %T, want an AgentConfig; are plugin and ingester versions compatible?", first.GetFrame())
	}
	c.applyConfig(accepted)

	c.mu.Lock()
	inFlight := c.settings.inFlight
	c.mu.Unlock()
	sess := newSession(stream, cancelStream, epoch, inFlight, 2*c.cfg.AckTimeout, c, c.log.With("stream_epoch", epoch))
	sess.start()
	c.log.Info("stream to the ingester open", "ingester", c.cfg.Ingester, "stream_epoch", epoch, "config_version", accepted.GetVersion())
	return sess, nil
}

func firstNonNil(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
