// Package stdout prints consumed batches as JSON lines, for
// `router consumer --print-events`: clear-text events when the router
// decrypts, otherwise one line of record headers per batch.
package stdout

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"

	"github.com/ferrylog/ferry/router/internal/destination"
)

// Printer writes to an io.Writer, normally os.Stdout.
type Printer struct {
	mu     sync.Mutex
	w      *bufio.Writer
	events bool
}

var _ destination.Destination = (*Printer)(nil)

// New prints events when events is true and the batches were decrypted;
// otherwise it prints each batch's headers.
func New(w io.Writer, events bool) *Printer {
	return &Printer{w: bufio.NewWriterSize(w, 64<<10), events: events}
}

// Validate implements destination.Destination; printing accepts anything.
func (p *Printer) Validate(*destination.Batch) error { return nil }

// headerLine is the per-batch line printed without decryption.
type headerLine struct {
	Topic          string `json:"topic"`
	Partition      int32  `json:"partition"`
	Offset         int64  `json:"offset"`
	Tenant         string `json:"tenant"`
	AccessKey      string `json:"access_key"`
	AgentID        string `json:"agent_id"`
	BatchID        string `json:"batch_id"`
	KeyID          string `json:"key_id"`
	EventCount     int    `json:"event_count"`
	FirstEventTime int64  `json:"first_event_time_unix_nano"`
	LastEventTime  int64  `json:"last_event_time_unix_nano"`
	ContentType    string `json:"content_type"`
}

// Write implements destination.Destination. Stdout is flushed, not synced:
// printing is for people, not a durable destination.
func (p *Printer) Write(_ context.Context, batches []*destination.Batch) (int64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var total int64
	var line []byte
	for _, b := range batches {
		if p.events && b.Stored != nil {
			fields := destination.LineFields(b, true)
			for _, ev := range b.Stored.Events {
				line = destination.AppendLine(line[:0], fields, ev)
				n, err := p.w.Write(line)
				total += int64(n)
				if err != nil {
					return total, fmt.Errorf("print events: %w", err)
				}
			}
			continue
		}
		m := b.Meta
		out, err := json.Marshal(headerLine{
			Topic: b.Source.Topic, Partition: b.Source.Partition, Offset: b.Source.Offset,
			Tenant: m.Tenant, AccessKey: m.AccessKey, AgentID: m.AgentID, BatchID: m.BatchID, KeyID: m.KeyID,
			EventCount: m.EventCount, FirstEventTime: m.FirstEventTime, LastEventTime: m.LastEventTime, ContentType: m.ContentType,
		})
		if err != nil {
			return total, err
		}
		n, err := p.w.Write(append(out, '\n'))
		total += int64(n)
		if err != nil {
			return total, fmt.Errorf("print events: %w", err)
		}
	}
	if err := p.w.Flush(); err != nil {
		return total, fmt.Errorf("print events: %w", err)
	}
	return total, nil
}

// Close flushes what is buffered.
func (p *Printer) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.w.Flush()
}
