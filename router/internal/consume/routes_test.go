package consume_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ferrylog/ferry/internal/configstore"
	"github.com/ferrylog/ferry/router/internal/consume"
	"github.com/ferrylog/ferry/router/internal/destination/file"
)

// TestConfigReloadChangesRouting uses a real config store file: a key routed
// elsewhere is skipped, and after the file changes (as --config's watcher
// reloads it) the key's new records are written.
func TestConfigReloadChangesRouting(t *testing.T) {
	brokers := kafkaBrokers(t)
	topic := newTopic(t, brokers, 1)
	dlqTopic := newTopic(t, brokers, 1)
	kr := testKeyring(t)
	p := newProducer(t, brokers, kr, topic)
	dir := t.TempDir()
	name := "routes-" + filepath.Base(topic)

	configPath := filepath.Join(t.TempDir(), "ferry.json")
	write := func(dests string) {
		data := `{"access_keys": {"AK-a": {"tenant": "acme", "destinations": ` + dests + `}}}`
		if err := os.WriteFile(configPath, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(`["elsewhere"]`)
	store, err := configstore.Open(configPath, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	dest, err := file.New(file.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer dest.Close()
	r := start(t, consume.Config{Brokers: brokers, Topic: topic, DLQTopic: dlqTopic, Destination: name, Keyring: kr, Routes: store, Logger: testLogger(t)}, dest)

	p.send(p.message(agentBatch("AK-a", "agent-1", 0, 4), nil))
	waitFor(t, 60*time.Second, "the skipped record", func() bool { return r.metric(t, "ferry_router_skipped_total") == 1 })
	if n := lineCount(t, filepath.Join(dir, "AK-a.log")); n != 0 {
		t.Fatalf("%d lines written for a key routed elsewhere", n)
	}

	write(`["elsewhere", "` + name + `"]`)
	if changed, err := store.Reload(); err != nil || !changed {
		t.Fatalf("Reload = %v, %v", changed, err)
	}
	p.send(p.message(agentBatch("AK-a", "agent-1", 1, 4), nil))
	waitFor(t, 30*time.Second, "the routed record", func() bool { return lineCount(t, filepath.Join(dir, "AK-a.log")) == 4 })
	if got := r.metric(t, "ferry_router_events_written_total"); got != 4 {
		t.Errorf("events_written_total = %v, want 4", got)
	}
}
