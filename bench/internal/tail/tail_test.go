package tail

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestFollowCountsLinesAndLatency(t *testing.T) {
	path := filepath.Join(t.TempDir(), "AK.log")
	f := Follow(path, 2*time.Millisecond)
	defer f.Stop()
	time.Sleep(10 * time.Millisecond) // the file does not exist yet
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	sent := time.Now().Add(-50 * time.Millisecond).UTC()
	line := `{"time":"` + sent.Format(time.RFC3339Nano) + `","tag":"t","record":{}}` + "\n"
	out.WriteString(line + line[:10])
	out.WriteString(line[10:] + "garbage\n")
	deadline := time.Now().Add(5 * time.Second)
	for f.Lines() < 3 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if f.Lines() != 3 || f.Unparsed() != 1 {
		t.Fatalf("lines %d unparsed %d, want 3 and 1", f.Lines(), f.Unparsed())
	}
	if p := f.Latency.Quantile(0.5); p < 50*time.Millisecond || p > 2*time.Second {
		t.Fatalf("p50 %s, want about 50 ms", p)
	}
}
