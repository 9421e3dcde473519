package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ferrylog/ferry/e2e/cluster"
)

// The plugin's contract test: the real out_ferry.so, loaded by the C test
// host exactly as Fluent Bit loads it, against the real ingester, router and
// Kafka. Fluent Bit itself cannot be installed here; the host is the
// stand-in, and everything behind it is real.

const pluginConfig = `{
  "access_keys": {
    "AK-plugin-1": {"tenant": "acme", "labels": {"env": "test"}},
    "AK-plugin-2": {"tenant": "globex", "max_batch_bytes": 65536},
    "AK-plugin-revoked": {"tenant": "acme", "revoked": true}
  }
}`

type hostRun struct {
	args   []string
	stdout string
	stderr string
	code   int
}

// instance is one [OUTPUT] section of the test host. The host starts with
// one instance; "-i" starts the next.
type instance struct {
	accessKey string
	tokenFile string
	extra     []string
}

func (in instance) args(c *cluster.Cluster) []string {
	a := []string{
		"-p", "Ingester=" + c.IngesterAddr, "-p", "Insecure=true",
		"-p", "Access_Key=" + in.accessKey, "-p", "Access_Token_File=" + in.tokenFile,
		"-p", "Agent_ID=host-" + in.accessKey}
	for _, e := range in.extra {
		a = append(a, "-p", e)
	}
	return a
}

func tokenFile(t *testing.T, c *cluster.Cluster, key string) string {
	t.Helper()
	tok, err := c.Token(key, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(c.Dir, key+".token")
	if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// writeChunk writes n JSON events (with unique ids) as a Fluent Bit chunk.
func writeChunk(t *testing.T, p cluster.PluginArtifacts, path, prefix string, n int) []string {
	t.Helper()
	var lines bytes.Buffer
	var bodies []string
	for i := 0; i < n; i++ {
		body := fmt.Sprintf(`{"id":"%s-%05d","level":"info","msg":"request served in %d ms","path":"/api/v1/items/%d"}`, prefix, i, i%97, i)
		bodies = append(bodies, body)
		lines.WriteString(body + "\n")
	}
	cmd := exec.Command(p.MkChunk, "-o", path)
	cmd.Stdin = &lines
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("mkchunk: %v: %s", err, out)
	}
	return bodies
}

func runHost(ctx context.Context, p cluster.PluginArtifacts, args ...string) hostRun {
	cmd := exec.CommandContext(ctx, p.TestHost, append([]string{"-e", p.SharedObject}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if exitErr, ok := err.(*exec.ExitError); ok {
		code = exitErr.ExitCode()
	} else if err != nil {
		code = -1
	}
	return hostRun{args: args, stdout: stdout.String(), stderr: stderr.String(), code: code}
}

var flushLine = regexp.MustCompile(`(?m)^flush instance=(\d+) file=(\S+) tag=\S+ attempt=(\d+) rc=(\d+)$`)

// finalCodes maps "instance:file" to the rc of its last attempt.
func finalCodes(out string) map[string]string {
	codes := map[string]string{}
	for _, m := range flushLine.FindAllStringSubmatch(out, -1) {
		codes[m[1]+":"+filepath.Base(m[2])] = m[4]
	}
	return codes
}

// pluginCluster builds the plugin and prepares an install with the plugin
// tests' access keys; the ingester runs when withIngester is set.
func pluginCluster(t *testing.T, withIngester bool) (*cluster.Cluster, cluster.PluginArtifacts) {
	t.Helper()
	c, err := cluster.New(t.TempDir(), brokers(t), pluginConfig)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	p, err := cluster.Plugin()
	if err != nil {
		t.Fatal(err)
	}
	if withIngester {
		if _, err := c.StartIngester(); err != nil {
			t.Fatal(err)
		}
	}
	return c, p
}

func TestPluginThroughTheRealChain(t *testing.T) {
	c, p := pluginCluster(t, true)
	out := filepath.Join(c.Dir, "out")
	router, err := c.StartRouter("file", out)
	if err != nil {
		t.Fatal(err)
	}

	// Two [OUTPUT] instances with different access keys, two workers, so
	// flushes overlap as with Fluent Bit's `workers`.
	const chunks, perChunk = 10, 1000
	instances := []instance{
		{accessKey: "AK-plugin-1", tokenFile: tokenFile(t, c, "AK-plugin-1")},
		{accessKey: "AK-plugin-2", tokenFile: tokenFile(t, c, "AK-plugin-2")},
	}
	args := []string{"-w", "2", "-t", "app.logs"}
	for i, in := range instances {
		if i > 0 {
			args = append(args, "-i")
		}
		args = append(args, in.args(c)...)
	}
	want := map[string][]string{}
	for i, in := range instances {
		for k := 0; k < chunks; k++ {
			path := filepath.Join(c.Dir, fmt.Sprintf("i%d-c%02d.mp", i, k))
			want[in.accessKey] = append(want[in.accessKey], writeChunk(t, p, path, fmt.Sprintf("%s-c%02d", in.accessKey, k), perChunk)...)
			args = append(args, "-f", fmt.Sprintf("%d:%s", i, path))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := time.Now()
	run := runHost(ctx, p, args...)
	elapsed := time.Since(start)
	if run.code != 0 || strings.Count(run.stdout, "init instance=") != 2 || strings.Contains(run.stdout, "init instance=0 rc=0") {
		t.Fatalf("test host exit %d:\n%s\n%s", run.code, run.stdout, run.stderr)
	}
	codes := finalCodes(run.stdout)
	if len(codes) != 2*chunks {
		t.Fatalf("%d flush results, want %d:\n%s", len(codes), 2*chunks, run.stdout)
	}
	for chunk, rc := range codes {
		if rc != "1" {
			t.Fatalf("flush %s answered rc=%s, want 1 (FLB_OK):\n%s\n%s", chunk, rc, run.stdout, run.stderr)
		}
	}
	total := 2 * chunks * perChunk
	t.Logf("plugin: %d events acked through the test host in %s: %.0f events/s (flush rc=1 means Kafka has them; services built with -race)",
		total, elapsed.Round(time.Millisecond), float64(total)/elapsed.Seconds())

	for _, in := range instances {
		lines := waitForLines(t, filepath.Join(out, in.accessKey+".log"), len(want[in.accessKey]), 90*time.Second, router)
		seen := map[string]int{}
		for _, l := range lines {
			seen[string(l.Record)]++
			if l.AgentID != "host-"+in.accessKey || l.Tag != "app.logs" {
				t.Fatalf("line %+v: wrong agent or tag", l)
			}
		}
		for _, body := range want[in.accessKey] {
			if seen[body] != 1 {
				t.Fatalf("%s: event %s written %d times, want once", in.accessKey, body, seen[body])
			}
		}
	}
	labelled := readRawLines(t, filepath.Join(out, "AK-plugin-1.log"))
	if !strings.Contains(labelled[0], `"metadata":{"env":"test"}`) {
		t.Fatalf("labels from the access key's config are missing: %s", labelled[0])
	}
}

func TestPluginRetriesWhileIngesterDownThenDelivers(t *testing.T) {
	c, p := pluginCluster(t, false)
	chunk := filepath.Join(c.Dir, "late.mp")
	bodies := writeChunk(t, p, chunk, "late", 50)
	in := instance{accessKey: "AK-plugin-1", tokenFile: tokenFile(t, c, "AK-plugin-1")}

	// The ingester is not running: Init must still succeed, and the flush
	// answer retry until the ingester is up; then the re-flush answers ok.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	done := make(chan hostRun, 1)
	go func() {
		args := append([]string{"-r", "200", "-d", "250"}, in.args(c)...)
		done <- runHost(ctx, p, append(args, "-f", chunk)...)
	}()
	time.Sleep(3 * time.Second) // several attempts answered retry meanwhile
	if _, err := c.StartIngester(); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(c.Dir, "out")
	router, err := c.StartRouter("file", out)
	if err != nil {
		t.Fatal(err)
	}
	run := <-done
	if run.code != 0 || !strings.Contains(run.stdout, "init instance=0 rc=1") {
		t.Fatalf("host exit %d:\n%s\n%s", run.code, run.stdout, run.stderr)
	}
	attempts := flushLine.FindAllStringSubmatch(run.stdout, -1)
	if len(attempts) < 2 || attempts[0][4] != "2" || attempts[len(attempts)-1][4] != "1" {
		t.Fatalf("want retry (rc=2) while the ingester was down, then ok (rc=1):\n%s", run.stdout)
	}
	lines := waitForLines(t, filepath.Join(out, "AK-plugin-1.log"), len(bodies), 60*time.Second, router)
	for i, l := range lines {
		if string(l.Record) != bodies[i] {
			t.Fatalf("line %d = %s, want %s", i, l.Record, bodies[i])
		}
	}
}

func TestPluginRevokedKeyAnswersError(t *testing.T) {
	c, p := pluginCluster(t, true)
	chunk := filepath.Join(c.Dir, "revoked.mp")
	writeChunk(t, p, chunk, "revoked", 10)
	in := instance{accessKey: "AK-plugin-revoked", tokenFile: tokenFile(t, c, "AK-plugin-revoked")}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// Retries allowed: a permanent refusal must not be retried into success.
	run := runHost(ctx, p, append(append([]string{"-r", "3", "-d", "200"}, in.args(c)...), "-f", chunk)...)
	codes := finalCodes(run.stdout)
	if codes["0:revoked.mp"] != "0" {
		t.Fatalf("revoked key: flush rc=%q, want 0 (FLB_ERROR):\n%s\n%s", codes["0:revoked.mp"], run.stdout, run.stderr)
	}
	if !strings.Contains(run.stderr, "revoked") {
		t.Fatalf("no log line says the key is revoked:\n%s", run.stderr)
	}
	tok, _ := os.ReadFile(in.tokenFile)
	if strings.Contains(run.stderr, strings.TrimSpace(string(tok))) {
		t.Fatal("the plugin logged the access token")
	}
}

func readRawLines(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(data)), "\n")
}
