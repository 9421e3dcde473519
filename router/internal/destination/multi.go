package destination

import (
	"context"
	"errors"
)

// Multi writes to several destinations in order, for example the file
// destination and --print-events. A group is confirmed only when every
// destination confirmed it; a retry repeats it at all of them.
type Multi []Destination

// Validate implements Destination.
func (m Multi) Validate(b *Batch) error {
	for _, d := range m {
		if err := d.Validate(b); err != nil {
			return err
		}
	}
	return nil
}

// Write implements Destination.
func (m Multi) Write(ctx context.Context, batches []*Batch) (int64, error) {
	var total int64
	for _, d := range m {
		n, err := d.Write(ctx, batches)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// Close implements Destination.
func (m Multi) Close() error {
	var errs []error
	for _, d := range m {
		errs = append(errs, d.Close())
	}
	return errors.Join(errs...)
}
