package consume

import (
	"errors"

	"github.com/IBM/sarama"
	"github.com/ferrylog/ferry/internal/configstore"
	"github.com/ferrylog/ferry/internal/record"
	"github.com/ferrylog/ferry/router/internal/destination"
	"github.com/ferrylog/ferry/router/internal/dlq"
)

// Skip reasons (label of ferry_router_skipped_total).
const skipNotRouted = "not_routed"

// decoded is what became of one record: a batch to write, a reason to skip
// it, or an undeliverable error for the dead-letter topic.
type decoded struct {
	msg    *sarama.ConsumerMessage
	batch  *destination.Batch
	skip   string
	reject error // *dlq.Error
}

// decode turns a record into a batch. Every failure here is permanent for
// this record (the same bytes fail the same way), so it is rejected, never
// retried.
func (c *Consumer) decode(msg *sarama.ConsumerMessage) decoded {
	d := decoded{msg: msg}
	meta, err := record.MetaFromHeaders(msg.Headers)
	if err != nil {
		d.reject = dlq.Reject(dlq.ReasonBadHeaders, err)
		return d
	}
	if !configstore.ValidAccessKey(meta.AccessKey) {
		d.reject = dlq.Reject(dlq.ReasonBadAccessKey, errors.New("the access key header is not a valid access key"))
		return d
	}
	if c.cfg.Routes != nil {
		if snap := c.cfg.Routes.Current(); snap != nil {
			if key, ok := snap.Lookup(meta.AccessKey); ok && !key.SendsTo(c.cfg.Destination) {
				d.skip = skipNotRouted
				return d
			}
		}
	}
	b := &destination.Batch{
		Meta:   meta,
		Source: destination.Source{Topic: msg.Topic, Partition: msg.Partition, Offset: msg.Offset},
	}
	if c.cfg.Keyring != nil {
		stored, err := record.Open(c.cfg.Keyring, meta, msg.Value)
		if err != nil {
			d.reject = dlq.Reject(dlq.Classify(err), err)
			return d
		}
		b.Stored = stored
	}
	if err := destination.CheckEvents(b); err != nil {
		d.reject = err
		return d
	}
	if err := c.dest.Validate(b); err != nil {
		var rejected *dlq.Error
		if !errors.As(err, &rejected) {
			err = dlq.Reject(dlq.ReasonOther, err)
		}
		d.reject = err
		return d
	}
	d.batch = b
	return d
}
