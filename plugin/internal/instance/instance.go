package instance

import (
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"

	"github.com/ferrylog/ferry/plugin/internal/agent"
	"github.com/ferrylog/ferry/plugin/internal/config"
)

// PluginName is the name the plugin registers with Fluent Bit; instances are
// named "<PluginName>.<n>" in the order Fluent Bit initializes them, as
// Fluent Bit names its own instances.
const PluginName = "ferry"

// Info describes the build for Hello and logs.
type Info struct {
	PluginVersion    string
	FluentBitVersion string
	// Logger is where instances log; nil means text lines on stderr.
	Logger *slog.Logger
	// LookupEnv reads the environment; nil means os.LookupEnv.
	LookupEnv func(string) (string, bool)
}

// Client is what an instance needs of agent.Client; tests put a double here.
type Client interface {
	Flush(tag string, chunk []byte) agent.Result
	Close()
}

// Instance is one [OUTPUT] section of the plugin.
type Instance struct {
	name   string
	log    *slog.Logger
	client Client
	poison *poisonTracker
	closed atomic.Bool
}

var (
	registryMu sync.Mutex
	registry   = map[*Instance]bool{}
	nextIndex  int
)

// Open validates the configuration, starts the client (which connects in
// the background), and registers the instance for CloseAll. A configuration
// error is logged with every problem and returned.
func Open(src config.Getter, info Info) (*Instance, error) {
	log := info.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil)).With("plugin", PluginName)
	}
	lookupEnv := info.LookupEnv
	if lookupEnv == nil {
		lookupEnv = os.LookupEnv
	}

	registryMu.Lock()
	name := fmt.Sprintf("%s.%d", PluginName, nextIndex)
	nextIndex++
	registryMu.Unlock()
	log = log.With("instance", name)

	cfg, err := config.Load(src, lookupEnv)
	if err != nil {
		log.Error("the output cannot start; fix its [OUTPUT] section", "error", err)
		return nil, err
	}
	client, err := agent.New(agent.Options{
		Config: cfg, InstanceName: name, PluginVersion: info.PluginVersion,
		FluentBitVersion: info.FluentBitVersion, Logger: log,
	})
	if err != nil {
		log.Error("the output cannot start", "error", err)
		return nil, err
	}
	client.Start()
	inst := register(name, log, client)
	log.Info("output started", "ingester", cfg.Ingester, "agent_id", cfg.AgentID, "plugin_version", info.PluginVersion)
	return inst, nil
}

func register(name string, log *slog.Logger, client Client) *Instance {
	inst := &Instance{name: name, log: log, client: client, poison: newPoisonTracker()}
	registryMu.Lock()
	registry[inst] = true
	registryMu.Unlock()
	return inst
}

// Name is the instance's name, for example "ferry.0".
func (i *Instance) Name() string { return i.name }

// Flush answers one Fluent Bit flush. It is nil-safe (an unknown context
// answers Error: nothing could ever deliver for it) and never panics.
func (i *Instance) Flush(tag string, chunk []byte) (result agent.Result) {
	if i == nil {
		slog.Error("flush for an unknown plugin context; was FLBPluginInit successful?", "plugin", PluginName)
		return agent.Error
	}
	defer func() {
		if p := recover(); p != nil {
			result = i.poison.panicked(i.log, tag, chunk, p)
		}
	}()
	if i.closed.Load() {
		return agent.Retry
	}
	return i.client.Flush(tag, chunk)
}

// Close waits (up to Exit_Timeout) for the acks in flight and closes the
// connection. It is idempotent.
func (i *Instance) Close() {
	if i == nil || !i.closed.CompareAndSwap(false, true) {
		return
	}
	registryMu.Lock()
	delete(registry, i)
	registryMu.Unlock()
	i.client.Close()
	i.log.Info("output stopped")
}

// CloseAll closes every instance still open, in parallel so that their
// Exit_Timeouts do not add up.
func CloseAll() {
	registryMu.Lock()
	open := make([]*Instance, 0, len(registry))
	for inst := range registry {
		open = append(open, inst)
	}
	registryMu.Unlock()
	var wg sync.WaitGroup
	for _, inst := range open {
		wg.Go(inst.Close)
	}
	wg.Wait()
}
