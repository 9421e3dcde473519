package events

import (
	"encoding/json"
	"testing"
)

func TestPoolMakesValidObjectsOfExactSize(t *testing.T) {
	for _, size := range []int{256, 1024} {
		for i, b := range Pool(200, size, 1) {
			if len(b) != size {
				t.Fatalf("size %d: event %d has %d bytes", size, i, len(b))
			}
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatalf("size %d: event %d is not a JSON object: %v\n%s", size, i, err, b)
			}
		}
	}
}
