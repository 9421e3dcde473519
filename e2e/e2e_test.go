package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/ferrylog/ferry/e2e/agentclient"
	"github.com/ferrylog/ferry/e2e/cluster"
	"github.com/ferrylog/ferry/internal/kafkaconf"
	"github.com/ferrylog/ferry/internal/record"
	ingestv1 "github.com/ferrylog/ferry/proto/ferry/ingest/v1"
)

const twoKeysConfig = `{
  "access_keys": {
    "AK-e2e-a": {"tenant": "acme"},
    "AK-e2e-b": {"tenant": "globex"}
  }
}`

func brokers(t *testing.T) string {
	b := os.Getenv("FERRY_KAFKA_BROKERS")
	if b == "" {
		t.Skip("FERRY_KAFKA_BROKERS is not set; run `make test` (it starts a real Kafka broker)")
	}
	return b
}

// sentEvent is what an agent sent, to compare with what arrived.
type sentEvent struct {
	time int64
	body string
}

// fileLine is one line the router's file destination writes.
type fileLine struct {
	Time    string          `json:"time"`
	Tag     string          `json:"tag"`
	AgentID string          `json:"agent_id"`
	Record  json.RawMessage `json:"record"`
}

func TestEventsTravelFromStreamToRouterFiles(t *testing.T) {
	c, err := cluster.New(t.TempDir(), brokers(t), twoKeysConfig)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.StartIngester(); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(c.Dir, "out")
	router, err := c.StartRouter("file", out)
	if err != nil {
		t.Fatal(err)
	}

	const perAgent, batchSize, inFlight = 5000, 100, 4
	agents := map[string]string{"AK-e2e-a": "agent-a", "AK-e2e-b": "agent-b"}
	sent := map[string][]sentEvent{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	errs := make(chan error, len(agents))
	for key, agent := range agents {
		tok, err := c.Token(key, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			events, err := streamEvents(c.IngesterAddr, tok, key, agent, perAgent, batchSize, inFlight)
			mu.Lock()
			sent[agent] = events
			mu.Unlock()
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	total := perAgent * len(agents)
	t.Logf("e2e: %d events acked in %s: %.0f events/s (ingester and router built with -race)", total, elapsed.Round(time.Millisecond), float64(total)/elapsed.Seconds())

	for key, agent := range agents {
		lines := waitForLines(t, filepath.Join(out, key+".log"), perAgent, 90*time.Second, router)
		for i, line := range lines {
			want := sent[agent][i]
			if line.AgentID != agent || line.Tag != "e2e."+agent || string(line.Record) != want.body {
				t.Fatalf("%s line %d = %+v, want agent %s record %s (in order, once)", key, i, line, agent, want.body)
			}
			at, err := time.Parse(time.RFC3339Nano, line.Time)
			if err != nil || at.UnixNano() != want.time {
				t.Fatalf("%s line %d time %q, want %d ns", key, i, line.Time, want.time)
			}
		}
	}
	checkTopicWithPlainConsumer(t, c, total/batchSize)
}

// streamEvents sends n events in batches with up to inFlight unacked, and
// fails on any ack that is not OK.
func streamEvents(addr, token, key, agent string, n, batchSize, inFlight int) ([]sentEvent, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := agentclient.Open(ctx, addr, token, key, agent)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	sent := make([]sentEvent, 0, n)
	pending := make(chan (<-chan *ingestv1.Ack), inFlight)
	acksDone := make(chan error, 1)
	go func() {
		for w := range pending {
			ack, ok := <-w
			if !ok {
				acksDone <- fmt.Errorf("%s: stream ended before an ack: %v", agent, s.Err())
				return
			}
			if ack.Result != ingestv1.AckResult_ACK_RESULT_OK {
				acksDone <- fmt.Errorf("%s: batch %d answered %v: %s", agent, ack.Sequence, ack.Result, ack.Reason)
				return
			}
		}
		acksDone <- nil
	}()
	base := time.Now().UnixNano()
	for i := 0; i < n; i += batchSize {
		b := &ingestv1.Batch{Tag: "e2e." + agent, BatchId: fmt.Sprintf("%s-%d", agent, i)}
		for j := i; j < i+batchSize && j < n; j++ {
			e := sentEvent{time: base + int64(j)*1000 + 7, body: fmt.Sprintf(`{"agent":%q,"n":%d,"msg":"event number %d from %s"}`, agent, j, j, agent)}
			sent = append(sent, e)
			b.Events = append(b.Events, &ingestv1.Event{TimeUnixNano: e.time, Body: []byte(e.body)})
		}
		w, err := s.Send(b)
		if err != nil {
			close(pending)
			return nil, err
		}
		select {
		case pending <- w:
		case err := <-acksDone:
			return nil, err
		}
	}
	close(pending)
	return sent, <-acksDone
}

func waitForLines(t *testing.T, path string, want int, limit time.Duration, router *cluster.Router) []fileLine {
	t.Helper()
	deadline := time.Now().Add(limit)
	var lines []fileLine
	for {
		lines = readLines(t, path)
		if len(lines) >= want || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if len(lines) != want {
		t.Fatalf("%s has %d lines, want %d; router log:\n%s", path, len(lines), want, router.Tail(3000))
	}
	return lines
}

func readLines(t *testing.T, path string) []fileLine {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []fileLine
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var l fileLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("%s: line %d is not JSON: %v", path, len(lines)+1, err)
		}
		lines = append(lines, l)
	}
	return lines
}

// checkTopicWithPlainConsumer reads the topic as any Kafka consumer would:
// headers name the tenant, key, agent, batch and key id; values are sealed.
func checkTopicWithPlainConsumer(t *testing.T, c *cluster.Cluster, wantRecords int) {
	t.Helper()
	brokerList, _ := kafkaconf.ParseBrokers(c.Brokers)
	consumer, err := sarama.NewConsumer(brokerList, kafkaconf.Consumer("e2e-plain"))
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	partitions, err := consumer.Partitions(c.Topic)
	if err != nil {
		t.Fatal(err)
	}
	records := 0
	for _, p := range partitions {
		pc, err := consumer.ConsumePartition(c.Topic, p, sarama.OffsetOldest)
		if err != nil {
			t.Fatal(err)
		}
		for pc.HighWaterMarkOffset() > 0 {
			msg := <-pc.Messages()
			records++
			meta, err := record.MetaFromHeaders(msg.Headers)
			if err != nil {
				t.Fatal(err)
			}
			if meta.Tenant == "" || meta.AccessKey == "" || meta.AgentID == "" || meta.BatchID == "" || meta.KeyID == "" || meta.EventCount != 100 {
				t.Fatalf("record headers incomplete: %+v", meta)
			}
			if want := "AK-e2e-a"; meta.Tenant == "acme" && meta.AccessKey != want {
				t.Fatalf("tenant acme record has access key %s", meta.AccessKey)
			}
			if strings.Contains(string(msg.Value), "event number") || strings.Contains(string(msg.Value), `"agent"`) {
				t.Fatal("a record value holds clear text")
			}
			if msg.Offset == pc.HighWaterMarkOffset()-1 {
				break
			}
		}
		pc.Close()
	}
	if records != wantRecords {
		t.Fatalf("topic holds %d records, want %d (one per batch)", records, wantRecords)
	}
}
