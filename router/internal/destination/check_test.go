package destination

import (
	"errors"
	"testing"

	ingestv1 "github.com/ferrylog/ferry/proto/ferry/ingest/v1"
	recordv1 "github.com/ferrylog/ferry/proto/ferry/record/v1"
	"github.com/ferrylog/ferry/router/internal/dlq"
)

func TestCheckEvents(t *testing.T) {
	for _, tc := range []struct {
		name, body, metadata string
		ok                   bool
	}{
		{"object", `{"a":1}`, "", true},
		{"object with metadata", `{"a":1}`, `{"m":true}`, true},
		{"leading space", ` {"a":1}`, "", true},
		{"array body", `[1,2]`, "", false},
		{"string body", `"text"`, "", false},
		{"plain text", `hello`, "", false},
		{"truncated", `{"a":`, "", false},
		{"empty body", ``, "", false},
		{"bad metadata", `{}`, `{nope`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &Batch{Stored: &recordv1.StoredBatch{Events: []*ingestv1.Event{{Body: []byte(tc.body), Metadata: []byte(tc.metadata)}}}}
			err := CheckEvents(b)
			var rejected *dlq.Error
			switch {
			case tc.ok && err != nil:
				t.Fatalf("CheckEvents = %v, want nil", err)
			case !tc.ok && (!errors.As(err, &rejected) || rejected.Reason != dlq.ReasonNotJSON):
				t.Fatalf("CheckEvents = %v, want a %s rejection", err, dlq.ReasonNotJSON)
			}
		})
	}
}
