package consume

import (
	"context"
	"log/slog"
)

// retry runs op until it succeeds or ctx ends, waiting with capped
// exponential backoff between attempts. It logs when the failure first
// appears or changes and when it recovers, not every attempt, so a destination
// that is down for an hour writes a few lines, not thousands.
func (c *Consumer) retry(ctx context.Context, what string, failed func(error), op func() error) error {
	delay := c.cfg.RetryMin
	lastErr := ""
	for attempt := 1; ; attempt++ {
		err := op()
		if err == nil {
			if lastErr != "" {
				c.log.Info(what+" recovered", "attempts", attempt)
			}
			return nil
		}
		failed(err)
		if msg := err.Error(); msg != lastErr {
			lastErr = msg
			c.log.Error(what+" failed; retrying without marking the records", slog.Any("error", err), "retry_in", delay)
		}
		if !sleep(ctx, delay) {
			c.log.Warn(what+" abandoned: the session ended; the records will be delivered again", "attempts", attempt)
			return ctx.Err()
		}
		delay = min(delay*2, c.cfg.RetryMax)
	}
}
