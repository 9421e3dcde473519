package hosttest

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ferrylog/ferry/plugin/internal/ingestertest"
	"github.com/ferrylog/ferry/plugin/internal/msgpackchunk"
	ingestv1 "github.com/ferrylog/ferry/proto/ferry/ingest/v1"
	"google.golang.org/grpc/codes"
)

// binaries are built once per test run: the plugin and the host.
var soPath, hostPath string

func TestMain(m *testing.M) {
	code := func() int {
		flag.Parse()
		if testing.Short() {
			fmt.Println("hosttest: skipped in -short mode (builds the c-shared plugin)")
			return 0
		}
		if _, err := exec.LookPath("gcc"); err != nil {
			fmt.Println("hosttest: skipped: gcc not found")
			return 0
		}
		dir, err := os.MkdirTemp("", "ferry-hosttest-")
		if err != nil {
			fmt.Println(err)
			return 1
		}
		defer os.RemoveAll(dir)
		soPath = filepath.Join(dir, "out_ferry.so")
		hostPath = filepath.Join(dir, "testhost")
		for _, cmd := range []*exec.Cmd{
			// The plugin exactly as the README builds it.
			command("../..", "go", "build", "-buildmode=c-shared", "-o", soPath, "."),
			command("..", "gcc", "-O2", "-Wall", "-Werror", "-o", hostPath, "testhost.c", "-ldl", "-lpthread"),
		} {
			if out, err := cmd.CombinedOutput(); err != nil {
				fmt.Printf("hosttest: %s: %v\n%s", strings.Join(cmd.Args, " "), err, out)
				return 1
			}
		}
		return m.Run()
	}()
	os.Exit(code)
}

func command(dir string, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	return cmd
}

// hostRun is the parsed output of one run of the host.
type hostRun struct {
	exitCode int
	lines    []string
	inits    map[int]string      // instance -> rc
	flushes  map[string][]string // file base name -> rc of each attempt
	exits    map[int]string      // instance -> rc
	stderr   string
}

var lineRE = regexp.MustCompile(`(\w+)=(\S+)`)

func runHost(t *testing.T, args ...string) hostRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, hostPath, append([]string{"-e", soPath}, args...)...)
	// Configuration must come from properties, not the test's environment.
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	run := hostRun{inits: map[int]string{}, flushes: map[string][]string{}, exits: map[int]string{}, stderr: stderr.String()}
	if exitErr, ok := err.(*exec.ExitError); ok {
		run.exitCode = exitErr.ExitCode()
	} else if err != nil {
		t.Fatalf("running the host: %v\nstderr:\n%s", err, stderr.String())
	}
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		line := sc.Text()
		run.lines = append(run.lines, line)
		kv := map[string]string{}
		for _, m := range lineRE.FindAllStringSubmatch(line, -1) {
			kv[m[1]] = m[2]
		}
		var instance int
		fmt.Sscan(kv["instance"], &instance)
		switch strings.Fields(line)[0] {
		case "init":
			run.inits[instance] = kv["rc"]
		case "flush":
			f := filepath.Base(kv["file"])
			run.flushes[f] = append(run.flushes[f], kv["rc"])
		case "exit":
			run.exits[instance] = kv["rc"]
		}
	}
	t.Logf("host output:\n%s", strings.Join(run.lines, "\n"))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("host stderr:\n%s", run.stderr)
		}
	})
	return run
}

// writeChunk writes n records {"msg": "<prefix> <i>", "i": i} and returns the path.
func writeChunk(t *testing.T, name, prefix string, n int) string {
	t.Helper()
	var chunk []byte
	var err error
	base := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	for i := 0; i < n; i++ {
		chunk, err = msgpackchunk.AppendRecord(chunk, base.Add(time.Duration(i)*time.Millisecond), nil,
			map[string]any{"msg": fmt.Sprintf("%s %d", prefix, i), "i": i})
		if err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, chunk, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func props(addr string, extra ...string) []string {
	kv := []string{"Ingester=" + addr, "access_key=key-1", "ACCESS_TOKEN=" + ingestertest.Token, "Insecure=true", "Agent_ID=host-test", "Ack_Timeout=5s"}
	kv = append(kv, extra...)
	var args []string
	for _, p := range kv {
		args = append(args, "-p", p)
	}
	return args
}

// answerByTag acks OK, RETRY or REJECTED depending on the batch's tag.
func answerByTag(b *ingestv1.Batch) *ingestv1.Ack {
	switch b.Tag {
	case "retry":
		return &ingestv1.Ack{Result: ingestv1.AckResult_ACK_RESULT_RETRY, Code: int32(codes.Unavailable), Reason: "Kafka is down"}
	case "reject":
		return &ingestv1.Ack{Result: ingestv1.AckResult_ACK_RESULT_REJECTED, Code: int32(codes.InvalidArgument), Reason: "malformed"}
	}
	return &ingestv1.Ack{Result: ingestv1.AckResult_ACK_RESULT_OK, BatchId: b.BatchId}
}

func TestReturnCodesAndDeliveryWithTwoInstances(t *testing.T) {
	ingA := ingestertest.Start(t, "")
	ingB := ingestertest.Start(t, "")
	ingA.Update(func(s *ingestertest.State) { s.Answer = answerByTag })
	ingB.Update(func(s *ingestertest.State) { s.Answer = answerByTag })

	okA := writeChunk(t, "ok-a.mp", "alpha", 25)
	retryA := writeChunk(t, "retry-a.mp", "beta", 3)
	rejectA := writeChunk(t, "reject-a.mp", "gamma", 2)
	okB := writeChunk(t, "ok-b.mp", "delta", 120)

	args := props(ingA.Addr)
	args = append(args, "-i")
	args = append(args, props(ingB.Addr, "Max_Batch_Bytes=2048")...)
	args = append(args, "-w", "2",
		"-t", "app.logs", "-f", "0:"+okA,
		"-t", "retry", "-f", "0:"+retryA,
		"-t", "reject", "-f", "0:"+rejectA,
		"-t", "app.logs", "-f", "1:"+okB)
	run := runHost(t, args...)

	if run.exitCode != 0 {
		t.Fatalf("host exit code %d", run.exitCode)
	}
	if !strings.HasPrefix(run.lines[0], "register rc=0 type=2 proxy=11 name=ferry") {
		t.Fatalf("register line %q", run.lines[0])
	}
	if run.inits[0] != "1" || run.inits[1] != "1" {
		t.Fatalf("init rc %v, want 1 for both instances", run.inits)
	}
	want := map[string]string{"ok-a.mp": "1", "retry-a.mp": "2", "reject-a.mp": "0", "ok-b.mp": "1"}
	for file, rc := range want {
		if got := run.flushes[file]; len(got) != 1 || got[0] != rc {
			t.Errorf("flush %s answered %v, want [%s]", file, got, rc)
		}
	}
	if run.exits[0] != "1" || run.exits[1] != "1" {
		t.Errorf("exit rc %v, want 1 for both", run.exits)
	}
	if last := run.lines[len(run.lines)-1]; last != "unregister" {
		t.Errorf("last line %q, want unregister", last)
	}

	// Instance 0 delivered exactly its chunks; instance 1 only its own, split.
	checkEvents(t, ingA.Received(), "app.logs", "alpha", 25)
	checkEvents(t, ingB.Received(), "app.logs", "delta", 120)
	if n := len(ingB.Received()); n < 2 {
		t.Errorf("instance 1's Max_Batch_Bytes=2048 did not split its chunk (%d batches)", n)
	}
	for name, ing := range map[string]*ingestertest.Server{"ferry.0": ingA, "ferry.1": ingB} {
		st := ing.Snapshot()
		if len(st.Hellos) != 1 || st.Hellos[0].InstanceName != name || st.Hellos[0].AgentId != "host-test" || st.Hellos[0].AccessKey != "key-1" {
			t.Errorf("hello at the ingester of %s: %+v", name, st.Hellos)
		}
		if st.ClosedBySender != 1 {
			t.Errorf("%s: the stream was not closed cleanly at exit (%d half-closes)", name, st.ClosedBySender)
		}
	}
}

// checkEvents asserts the batches of tag carry prefix 0..n-1 once each, in order.
func checkEvents(t *testing.T, batches []*ingestv1.Batch, tag, prefix string, n int) {
	t.Helper()
	var got []string
	for _, b := range batches {
		if b.Tag != tag {
			continue
		}
		for _, ev := range b.Events {
			got = append(got, string(ev.Body))
			if ev.TimeUnixNano == 0 {
				t.Errorf("event without a time: %s", ev.Body)
			}
		}
	}
	if len(got) != n {
		t.Fatalf("ingester got %d events of tag %s, want %d", len(got), tag, n)
	}
	for i, body := range got {
		if want := fmt.Sprintf(`{"i":%d,"msg":"%s %d"}`, i, prefix, i); body != want {
			t.Fatalf("event %d body %s, want %s", i, body, want)
		}
	}
}

func TestRetriedChunkKeepsItsBatchID(t *testing.T) {
	ing := ingestertest.Start(t, "")
	first := true
	ing.Update(func(s *ingestertest.State) {
		s.Answer = func(b *ingestv1.Batch) *ingestv1.Ack {
			if first {
				first = false
				return &ingestv1.Ack{Result: ingestv1.AckResult_ACK_RESULT_RETRY, Reason: "once"}
			}
			return &ingestv1.Ack{Result: ingestv1.AckResult_ACK_RESULT_OK}
		}
	})
	chunk := writeChunk(t, "c.mp", "x", 3)
	run := runHost(t, append(props(ing.Addr), "-r", "3", "-d", "50", "-f", chunk)...)
	if got := run.flushes["c.mp"]; strings.Join(got, ",") != "2,1" {
		t.Fatalf("attempts answered %v, want [2 1]", got)
	}
	batches := ing.Received()
	if len(batches) != 2 || batches[0].BatchId != batches[1].BatchId {
		t.Fatalf("the retry changed the batch id: %v", ids(batches))
	}
}

func ids(batches []*ingestv1.Batch) []string {
	var out []string
	for _, b := range batches {
		out = append(out, b.BatchId)
	}
	sort.Strings(out)
	return out
}

func TestBadConfigFailsInit(t *testing.T) {
	run := runHost(t, "-p", "Ingester=nohostport", "-p", "Access_Key=k", "-p", "Access_Token=secret-abc-123")
	if run.exitCode != 2 || run.inits[0] != "0" {
		t.Fatalf("exit %d, init %v; want exit 2 and init rc 0", run.exitCode, run.inits)
	}
	if !strings.Contains(run.stderr, "Ingester") {
		t.Errorf("the log does not name the bad key:\n%s", run.stderr)
	}
	if strings.Contains(run.stderr, "secret-abc-123") {
		t.Errorf("the token appears in the log")
	}
}

func TestIngesterDownAnswersRetryQuickly(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close()
	chunk := writeChunk(t, "down.mp", "x", 1)
	start := time.Now()
	run := runHost(t, append(props(addr, "Exit_Timeout=1s"), "-f", chunk)...)
	if run.inits[0] != "1" {
		t.Fatalf("init rc %v: an unreachable ingester must not fail Init", run.inits)
	}
	if got := run.flushes["down.mp"]; len(got) != 1 || got[0] != "2" {
		t.Fatalf("flush answered %v, want [2]", got)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("the host took %s with the ingester down", took)
	}
}

func TestOverlappingFlushesOnWorkerThreads(t *testing.T) {
	ing := ingestertest.Start(t, "")
	ing.Update(func(s *ingestertest.State) {
		s.Config.MaxBatchesInFlight = 2
		s.Answer = func(b *ingestv1.Batch) *ingestv1.Ack {
			time.Sleep(20 * time.Millisecond) // keep acks in flight so flushes overlap
			return &ingestv1.Ack{Result: ingestv1.AckResult_ACK_RESULT_OK}
		}
	})
	args := props(ing.Addr)
	args = append(args, "-w", "4")
	const files, perFile = 12, 7
	for i := 0; i < files; i++ {
		args = append(args, "-f", writeChunk(t, fmt.Sprintf("w%02d.mp", i), fmt.Sprintf("file%02d", i), perFile))
	}
	run := runHost(t, args...)
	for i := 0; i < files; i++ {
		if got := run.flushes[fmt.Sprintf("w%02d.mp", i)]; len(got) != 1 || got[0] != "1" {
			t.Errorf("flush of w%02d.mp answered %v, want [1]", i, got)
		}
	}
	st := ing.Snapshot()
	events := 0
	for _, b := range st.Batches {
		events += len(b.Events)
	}
	if events != files*perFile {
		t.Fatalf("ingester got %d events, want %d", events, files*perFile)
	}
	if st.MaxInFlight != 2 {
		t.Errorf("at most %d batches were in flight; want the limit 2 reached and kept", st.MaxInFlight)
	}
}
