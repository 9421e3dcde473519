package cluster

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Cluster is one Ferry install in a folder: secrets, config, and the
// processes started from it.
type Cluster struct {
	Dir        string
	Brokers    string
	Topic      string
	DLQTopic   string
	ConfigFile string
	Keyring    string
	TokenKeys  string

	IngesterAddr string // gRPC
	IngesterHTTP string

	bin   string
	mu    sync.Mutex
	procs []*Process
}

// New builds the binaries, runs `ingester init` and writes config (the JSON
// config file contents) into dir. Topics get a random suffix so tests never
// read each other's records.
func New(dir, brokers, config string) (*Cluster, error) {
	bin, err := Binaries()
	if err != nil {
		return nil, err
	}
	return newCluster(dir, brokers, config, bin, "ferry.e2e.")
}

// NewNoRace is New with the binaries of BinariesNoRace, for benchmarks.
func NewNoRace(dir, brokers, config string) (*Cluster, error) {
	bin, err := BinariesNoRace()
	if err != nil {
		return nil, err
	}
	return newCluster(dir, brokers, config, bin, "ferry.bench.")
}

func newCluster(dir, brokers, config, bin, topicPrefix string) (*Cluster, error) {
	suffix := make([]byte, 4)
	rand.Read(suffix)
	c := &Cluster{
		Dir: dir, Brokers: brokers, bin: bin,
		Topic:      topicPrefix + hex.EncodeToString(suffix),
		DLQTopic:   "ferry.dlq",
		ConfigFile: filepath.Join(dir, "ferry.json"),
		Keyring:    filepath.Join(dir, "secrets", "keyring.json"),
		TokenKeys:  filepath.Join(dir, "secrets", "token-keys.json"),
	}
	if _, err := c.run("ingester", "init", "--dir", filepath.Join(dir, "secrets")); err != nil {
		return nil, err
	}
	if err := os.WriteFile(c.ConfigFile, []byte(config), 0o644); err != nil {
		return nil, err
	}
	var err error
	if c.IngesterAddr, err = FreeAddr(); err != nil {
		return nil, err
	}
	if c.IngesterHTTP, err = FreeAddr(); err != nil {
		return nil, err
	}
	return c, nil
}

// Bin is the path of a built binary.
func (c *Cluster) Bin(name string) string { return filepath.Join(c.bin, name) }

func (c *Cluster) run(name string, args ...string) (string, error) {
	cmd := exec.Command(c.Bin(name), args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

// Token issues an access token with the real `ingester access-token`.
func (c *Cluster) Token(accessKey string, expiry time.Duration) (string, error) {
	out, err := c.run("ingester", "access-token", "--token-keys", c.TokenKeys, "--access-key", accessKey, "--expiry", expiry.String())
	return strings.TrimSpace(out), err
}

// StartIngester starts `ingester api` (plaintext on loopback) and waits
// until it is ready.
func (c *Cluster) StartIngester(extra ...string) (*Process, error) {
	args := append([]string{"api", "--insecure",
		"--listen", c.IngesterAddr, "--http-listen", c.IngesterHTTP,
		"--config", c.ConfigFile, "--keyring", c.Keyring, "--token-keys", c.TokenKeys,
		"--kafka-brokers", c.Brokers, "--topic", c.Topic, "--topic-partitions", "3",
		"--config-reload-interval", "200ms", "--shutdown-grace", "20s"}, extra...)
	p, err := c.start("ingester", args...)
	if err != nil {
		return nil, err
	}
	return p, p.WaitReady("http://"+c.IngesterHTTP+"/readyz", 60*time.Second)
}

// Router is a running `router consumer` with its HTTP address.
type Router struct {
	*Process
	HTTP string
}

// StartRouter starts `router consumer` for one file destination writing
// into outDir, and waits until its consumer group session is up.
func (c *Cluster) StartRouter(destination, outDir string, extra ...string) (*Router, error) {
	httpAddr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	args := append([]string{"consumer",
		"--kafka-brokers", c.Brokers, "--topic", c.Topic, "--dlq-topic", c.DLQTopic,
		"--destination", destination, "--file-dir", outDir, "--keyring", c.Keyring,
		"--http-listen", httpAddr}, extra...)
	p, err := c.start("router-"+destination, args...)
	if err != nil {
		return nil, err
	}
	return &Router{Process: p, HTTP: httpAddr}, p.WaitReady("http://"+httpAddr+"/readyz", 60*time.Second)
}

func (c *Cluster) start(name string, args ...string) (*Process, error) {
	p, err := Start(c.Dir, name, c.Bin(strings.SplitN(name, "-", 2)[0]), args...)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.procs = append(c.procs, p)
	c.mu.Unlock()
	return p, nil
}

// Close stops every process still running, gracefully.
func (c *Cluster) Close() {
	c.mu.Lock()
	procs := c.procs
	c.mu.Unlock()
	for i := len(procs) - 1; i >= 0; i-- {
		procs[i].Stop()
	}
}
