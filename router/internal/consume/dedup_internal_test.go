package consume

import (
	"context"
	"testing"

	"github.com/ferrylog/ferry/internal/record"
	"github.com/ferrylog/ferry/router/internal/destination"
)

// knownIDs is a destination that remembers ids; it stands in for the file
// destination so the split can be checked without Kafka.
type knownIDs map[string]bool

func (k knownIDs) Validate(*destination.Batch) error { return nil }
func (k knownIDs) Write(context.Context, []*destination.Batch) (int64, error) {
	return 0, nil
}
func (k knownIDs) Close() error           { return nil }
func (k knownIDs) Written(id string) bool { return k[id] }

func batchWithID(id string, offset int64) *destination.Batch {
	return &destination.Batch{Meta: record.Meta{BatchID: id}, Source: destination.Source{Offset: offset}}
}

func ids(bs []*destination.Batch) []string {
	var out []string
	for _, b := range bs {
		out = append(out, b.ID())
	}
	return out
}

func TestDropWrittenDropsKnownAndRepeatedIDs(t *testing.T) {
	group := []*destination.Batch{batchWithID("a", 1), batchWithID("b", 2), batchWithID("a", 3), batchWithID("old", 4), batchWithID("c", 5), batchWithID("b", 6)}
	c := &Consumer{dest: knownIDs{"old": true}}
	keep, dups := c.dropWritten(group)
	if got := ids(keep); len(got) != 3 || got[0] != "a" || got[1] != "b" || got[2] != "c" {
		t.Errorf("kept %v, want [a b c]", got)
	}
	if len(dups) != 3 || dups[0].Source.Offset != 3 || dups[1].Source.Offset != 4 || dups[2].Source.Offset != 6 {
		t.Errorf("dropped %v, want the copies at offsets 3, 4, 6", ids(dups))
	}

	// A destination without a record of its own still loses in-group repeats.
	c = &Consumer{dest: destination.Multi{}}
	keep, dups = c.dropWritten(group)
	if len(keep) != 4 || len(dups) != 2 {
		t.Errorf("without a record: kept %v dropped %v", ids(keep), ids(dups))
	}
}
