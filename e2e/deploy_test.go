package e2e

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ferrylog/ferry/e2e/cluster"
	"gopkg.in/yaml.v3"
)

// These tests keep the Dockerfile and docker-compose.yaml true to the
// binaries: no Docker engine runs here, so they read the files instead.

type dockerStage struct {
	name   string
	copies []string // sources of COPY lines without --from
	cmd    []string // exec-form CMD
}

func parseDockerfile(t *testing.T) map[string]*dockerStage {
	t.Helper()
	f, err := os.Open(filepath.Join(cluster.RepoRoot(), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	stages := map[string]*dockerStage{}
	var cur *dockerStage
	var logical string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		if strings.HasSuffix(line, "\\") {
			logical += strings.TrimSuffix(line, "\\") + " "
			continue
		}
		line, logical = logical+line, ""
		fields := strings.Fields(line)
		switch strings.ToUpper(fields[0]) {
		case "FROM":
			if len(fields) != 4 || !strings.EqualFold(fields[2], "AS") {
				t.Fatalf("FROM without a stage name: %q", line)
			}
			cur = &dockerStage{name: fields[3]}
			stages[cur.name] = cur
		case "COPY":
			if !strings.HasPrefix(fields[1], "--from") {
				cur.copies = append(cur.copies, fields[1:len(fields)-1]...)
			}
		case "CMD":
			if err := json.Unmarshal([]byte(strings.TrimSpace(line[3:])), &cur.cmd); err != nil {
				t.Fatalf("CMD is not in exec form: %q", line)
			}
		}
	}
	return stages
}

// flagsOf lists the flags `bin sub -h` documents.
func flagsOf(t *testing.T, bin, sub string) map[string]bool {
	t.Helper()
	out, _ := exec.Command(bin, sub, "-h").CombinedOutput()
	flags := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\s+-([a-z0-9-]+)`).FindAllStringSubmatch(string(out), -1) {
		flags[m[1]] = true
	}
	if len(flags) == 0 {
		t.Fatalf("%s %s -h lists no flags:\n%s", bin, sub, out)
	}
	return flags
}

// checkCommand fails when args use a subcommand flag the binary lacks.
func checkCommand(t *testing.T, where, binName string, args []string) {
	t.Helper()
	bin, err := cluster.Binaries()
	if err != nil {
		t.Fatal(err)
	}
	if len(args) == 0 {
		t.Fatalf("%s: no command", where)
	}
	flags := flagsOf(t, filepath.Join(bin, binName), args[0])
	for _, a := range args[1:] {
		if !strings.HasPrefix(a, "-") {
			continue
		}
		name := strings.SplitN(strings.TrimLeft(a, "-"), "=", 2)[0]
		if !flags[name] {
			t.Errorf("%s: `%s %s` has no flag --%s", where, binName, args[0], name)
		}
	}
}

func TestDockerfileMatchesBinaries(t *testing.T) {
	stages := parseDockerfile(t)
	for _, target := range []string{"build", "ingester", "router", "fluent-bit"} {
		if stages[target] == nil {
			t.Fatalf("Dockerfile has no %q target", target)
		}
	}
	for _, s := range stages {
		for _, src := range s.copies {
			if _, err := os.Stat(filepath.Join(cluster.RepoRoot(), src)); err != nil {
				t.Errorf("stage %s copies %s, which does not exist", s.name, src)
			}
		}
	}
	checkCommand(t, "Dockerfile ingester CMD", "ingester", stages["ingester"].cmd)
	checkCommand(t, "Dockerfile router CMD", "router", stages["router"].cmd)
}

type composeFile struct {
	Services map[string]struct {
		Build      struct{ Target string } `yaml:"build"`
		Image      string                  `yaml:"image"`
		Command    []string                `yaml:"command"`
		Entrypoint []string                `yaml:"entrypoint"`
		Env        map[string]string       `yaml:"environment"`
	} `yaml:"services"`
}

func TestComposeMatchesBinaries(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(cluster.RepoRoot(), "docker-compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	if err := yaml.Unmarshal(data, &c); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"kafka", "ingester", "router", "agent"} {
		if _, ok := c.Services[want]; !ok {
			t.Fatalf("docker-compose.yaml has no %q service", want)
		}
	}
	if img := c.Services["kafka"].Image; !strings.HasPrefix(img, "apache/kafka:4.") {
		t.Errorf("kafka image %q is not the official apache/kafka 4.x", img)
	}
	checkCommand(t, "compose ingester", "ingester", c.Services["ingester"].Command)
	checkCommand(t, "compose router", "router", c.Services["router"].Command)
	// ferry-init runs shell lines; each `ingester ...` in them must parse.
	for _, script := range c.Services["ferry-init"].Command {
		for _, line := range strings.Split(script, "\n") {
			if i := strings.Index(line, "ingester "); i >= 0 {
				words := strings.Fields(strings.SplitN(line[i:], ">", 2)[0])
				checkCommand(t, "compose ferry-init", "ingester", words[1:])
			}
		}
	}
	agent := c.Services["agent"]
	if agent.Build.Target != "fluent-bit" || agent.Env["ACCESS_KEY"] == "" {
		t.Errorf("agent must be built from the fluent-bit target and get ACCESS_KEY: %+v", agent)
	}
	if _, ok := agent.Env["ACCESS_TOKEN"]; !ok {
		t.Error("agent gets no ACCESS_TOKEN variable")
	}
}
