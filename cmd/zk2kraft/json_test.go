package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/zk2kraft/zk2kraft/quorum/quorumtest"
	"github.com/zk2kraft/zk2kraft/testenv"
)

// jsonCovered names the test that parses each command's --output json.
// TestEveryCommandHasAJSONTest fails when a command is added without one.
var jsonCovered = map[string]string{
	"abort":         "TestCommandsOutputJSON",
	"check":         "TestCommandsOutputJSON (and TestSnapshotAndCheckCLI)",
	"decode":        "TestDecode* (decode_test.go: JSON lines)",
	"demo":          "TestDemoOutputJSON",
	"export":        "TestCommandsOutputJSON",
	"migrate":       "TestCommandsOutputJSON (and migrate/kill_test.go)",
	"mirror":        "TestCommandsOutputJSON",
	"quorum status": "TestCommandsOutputJSON (and quorum/process_test.go)",
	"snapshot":      "TestCommandsOutputJSON (and TestSnapshotAndCheckCLI)",
	"translate":     "translate_test.go",
	"verify":        "TestCommandsOutputJSON",
	"version":       "TestVersionJSON",
	"wizard":        "TestWizardEndToEnd, TestWizardQuitKeepsState",

	"testenv up":       "TestTestenvCommandsOutputJSON",
	"testenv status":   "TestTestenvCommandsOutputJSON",
	"testenv seed":     "TestTestenvCommandsOutputJSON",
	"testenv churn":    "TestTestenvCommandsOutputJSON",
	"testenv expected": "TestTestenvCommandsOutputJSON",
	"testenv fault":    "TestTestenvCommandsOutputJSON",
	"testenv image":    "TestTestenvCommandsOutputJSON (when a Docker engine answers)",
}

// jsonExempt are commands with no JSON output, and why.
var jsonExempt = map[string]string{
	"completion bash": "prints a shell script", "completion zsh": "prints a shell script",
	"completion fish": "prints a shell script", "completion powershell": "prints a shell script",
	"help":           "prints help",
	"quorum run":     "a server: prints nothing on stdout, logs on stderr",
	"testenv daemon": "hidden: the process `testenv up` starts",
	"docs":           "hidden: writes Markdown (TestCLIReference)",
	"testenv down":   "prints nothing on stdout (a line on stderr); TestTestenvCommandsOutputJSON checks that",
}

func TestEveryCommandHasAJSONTest(t *testing.T) {
	root := newRootCmd()
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	var leaves []string
	var walk func(c *cobra.Command, prefix string)
	walk = func(c *cobra.Command, prefix string) {
		for _, sub := range c.Commands() {
			name := strings.TrimSpace(prefix + " " + sub.Name())
			if sub.HasSubCommands() {
				walk(sub, name)
				continue
			}
			leaves = append(leaves, name)
		}
	}
	walk(root, "")
	sort.Strings(leaves)
	for _, name := range leaves {
		if jsonCovered[name] == "" && jsonExempt[name] == "" {
			t.Errorf("command %q has no test that parses its --output json (add one and list it in jsonCovered)", name)
		}
	}
}

// runBin runs the zk2kraft binary; it returns stdout, the exit code and stderr.
func runBin(t *testing.T, bin string, args ...string) ([]byte, int, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return stdout.Bytes(), code, stderr.String()
}

// parseJSON parses out as one JSON value (object or array) and returns it.
func parseJSON(t *testing.T, what string, out []byte) any {
	t.Helper()
	var v any
	dec := json.NewDecoder(bytes.NewReader(out))
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%s --output json: not JSON: %v\n%s", what, err, out)
	}
	if dec.More() {
		t.Fatalf("%s --output json: more than one JSON value on stdout:\n%s", what, out)
	}
	return v
}

func field(t *testing.T, what string, v any, key string) any {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%s: JSON is %T, want an object", what, v)
	}
	x, ok := m[key]
	if !ok {
		t.Fatalf("%s: JSON lacks %q: %v", what, key, m)
	}
	return x
}

// TestCommandsOutputJSON runs the commands against a seeded ZooKeeper and an
// in-process quorum and parses each one's --output json (stdout holds JSON
// only: progress and logs go to stderr).
func TestCommandsOutputJSON(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: needs ZooKeeper")
	}
	env := testenv.Start(t, testenv.Options{Nodes: 1})
	conn := env.Connect(t)
	seeded, err := testenv.Seed(t.Context(), conn, testenv.SeedSpec{Preset: "small", Chroot: "/kafka"})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	lc, _ := quorumtest.Start(t, 3, filepath.Join(dir, "quorum"), seeded.ClusterID.ID)
	bin := buildBinary(t)
	zkc := env.ConnectString() + "/kafka"
	q := strings.Join(lc.APIAddrs(), ",")
	tr := []string{"--assign-topic-ids", "--pass-through-encrypted-passwords"}

	out, code, stderr := runBin(t, bin, "check", "--zk", zkc, "--assign-topic-ids", "-o", "json")
	if code != 0 {
		t.Fatalf("check: exit %d: %s", code, stderr)
	}
	if ok := field(t, "check", parseJSON(t, "check", out), "ok"); ok != true {
		t.Errorf("check: ok = %v", ok)
	}

	snap := filepath.Join(dir, "cluster.snap")
	out, code, stderr = runBin(t, bin, "snapshot", "--zk", zkc, "--out", snap, "-o", "json")
	if code != 0 {
		t.Fatalf("snapshot: exit %d: %s", code, stderr)
	}
	if n := field(t, "snapshot", parseJSON(t, "snapshot", out), "topics"); n != float64(len(seeded.Topics)) {
		t.Errorf("snapshot: topics = %v, want %d", n, len(seeded.Topics))
	}

	out, code, stderr = runBin(t, bin, append([]string{"migrate", "--zk", zkc, "--quorum", q, "--until", "copied", "-o", "json"}, tr...)...)
	if code != 0 {
		t.Fatalf("migrate: exit %d: %s", code, stderr)
	}
	if st := field(t, "migrate", parseJSON(t, "migrate", out), "state"); st != "copied" {
		t.Errorf("migrate --until copied: state = %v", st)
	}

	out, code, stderr = runBin(t, bin, append([]string{"verify", "--zk", zkc, "--quorum", q, "-o", "json"}, tr...)...)
	if code != 0 {
		t.Fatalf("verify: exit %d: %s\n%s", code, stderr, out)
	}
	if p := field(t, "verify", parseJSON(t, "verify", out), "parity"); p != true {
		t.Errorf("verify: parity = %v", p)
	}

	// mirror runs until SIGTERM, then prints its figures.
	mcmd := exec.Command(bin, append([]string{"mirror", "--zk", zkc, "--quorum", q, "-o", "json"}, tr...)...)
	var mout, merr bytes.Buffer
	mcmd.Stdout, mcmd.Stderr = &mout, &merr
	if err := mcmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	mcmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- mcmd.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		mcmd.Process.Kill()
		t.Fatalf("mirror did not stop after SIGTERM: %s", merr.String())
	}
	if mout.Len() == 0 {
		t.Fatalf("mirror --output json printed nothing; stderr: %s", merr.String())
	}
	parseJSON(t, "mirror", mout.Bytes())

	out, code, stderr = runBin(t, bin, "export", "--quorum", q, "--out", filepath.Join(dir, "export"), "-o", "json")
	if code != 0 {
		t.Fatalf("export: exit %d: %s", code, stderr)
	}
	if p, _ := field(t, "export", parseJSON(t, "export", out), "path").(string); !strings.HasSuffix(p, ".checkpoint") {
		t.Errorf("export: path %q", p)
	}

	out, code, stderr = runBin(t, bin, "quorum", "status", "--quorum", q, "-o", "json")
	if code != 0 {
		t.Fatalf("quorum status: exit %d: %s", code, stderr)
	}
	if all, ok := parseJSON(t, "quorum status", out).([]any); !ok || len(all) != 3 {
		t.Errorf("quorum status: want an array of 3 nodes: %s", out)
	}

	out, code, stderr = runBin(t, bin, "abort", "--zk", zkc, "--quorum", q, "--yes", "-o", "json")
	if code != 0 {
		t.Fatalf("abort: exit %d: %s", code, stderr)
	}
	if u := field(t, "abort", parseJSON(t, "abort", out), "zk_untouched"); u != true {
		t.Errorf("abort: zk_untouched = %v", u)
	}
}

// TestDemoOutputJSON: the demo's report parses (a small cluster, short churn).
func TestDemoOutputJSON(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: needs ZooKeeper")
	}
	if err := testenv.Available("process"); err != nil {
		t.Skip(err)
	}
	bin := buildBinary(t)
	out, code, stderr := runBin(t, bin, "demo", "--backend", "process", "--topics", "20", "--partitions", "2", "--churn-for", "1s", "--dir", t.TempDir(), "-o", "json")
	if code != 0 {
		t.Fatalf("demo: exit %d: %s", code, stderr)
	}
	parseJSON(t, "demo", out)
}

// TestTestenvCommandsOutputJSON drives `zk2kraft testenv` (a 1-node process
// ensemble in a private state root) and parses each subcommand's JSON.
func TestTestenvCommandsOutputJSON(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: needs ZooKeeper")
	}
	if err := testenv.Available("process"); err != nil {
		t.Skip(err)
	}
	bin := buildBinary(t)
	runtimeDir := t.TempDir()
	run := func(args ...string) ([]byte, int, string) {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"testenv", "--name", "jsontest"}, args...)...)
		cmd.Env = append(os.Environ(), "XDG_RUNTIME_DIR="+runtimeDir)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return stdout.Bytes(), ee.ExitCode(), stderr.String()
		} else if err != nil {
			t.Fatalf("testenv %v: %v", args, err)
		}
		return stdout.Bytes(), 0, stderr.String()
	}
	t.Cleanup(func() { run("down") })
	must := func(args ...string) any {
		t.Helper()
		out, code, stderr := run(append(args, "-o", "json")...)
		if code != 0 {
			t.Fatalf("testenv %v: exit %d: %s", args, code, stderr)
		}
		return parseJSON(t, "testenv "+strings.Join(args, " "), out)
	}
	up := must("up", "--backend", "process", "--nodes", "1", "--seed", "small", "--chroot", "/kafka")
	if cs, _ := field(t, "testenv up", up, "connectString").(string); cs == "" {
		t.Errorf("testenv up: no connectString: %v", up)
	}
	must("status")
	must("seed", "--preset", "none", "--topics", "2", "--partitions", "1", "--brokers", "1", "--chroot", "/other")
	must("churn", "--rate", "50", "--duration", "500ms")
	must("expected")
	must("fault", "stop", "1")
	must("fault", "start", "1")
	if testenv.DockerAvailable() {
		img := must("image")
		if tag, _ := field(t, "testenv image", img, "Tag").(string); tag == "" {
			t.Errorf("testenv image: no tag: %v", img)
		}
	}
	out, code, stderr := run("down", "-o", "json")
	if code != 0 {
		t.Fatalf("testenv down: exit %d: %s", code, stderr)
	}
	if len(bytes.TrimSpace(out)) != 0 {
		parseJSON(t, "testenv down", out)
	}
}
