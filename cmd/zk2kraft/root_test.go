package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
)

// runSettingsCmd runs a root with one extra test command that records the
// values its flags ended with.
func runSettingsCmd(t *testing.T, env map[string]string, args ...string) (map[string]string, error) {
	t.Helper()
	got := map[string]string{}
	root := newRootCmd()
	var zk, quorum, auth string
	var n int
	tc := &cobra.Command{
		Use: "settingstest",
		RunE: func(cmd *cobra.Command, _ []string) error {
			got["zk"], got["quorum"], got["zk-auth"] = zk, quorum, auth
			got["n"] = strings.TrimSpace(strings.Repeat("x", n))
			got["output"] = globals.Output
			return nil
		},
	}
	tc.Flags().StringVar(&zk, "zk", "", "")
	tc.Flags().StringVar(&quorum, "quorum", "default-q", "")
	tc.Flags().StringVar(&auth, "zk-auth", "", "")
	tc.Flags().IntVar(&n, "n", 0, "")
	tc.MarkFlagRequired("zk")
	root.AddCommand(tc)
	root.SetArgs(append([]string{"settingstest"}, args...))
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	for k, v := range env {
		t.Setenv(k, v)
	}
	t.Setenv("XDG_CONFIG_HOME", t.TempDir()) // no user config file
	err := root.Execute()
	return got, err
}

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "zk2kraft.conf")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSettingsPrecedence(t *testing.T) {
	conf := writeConfig(t, "# test\nzk = file-zk:2181\nquorum: \"file-q:9190\"\nN = 3\noutput = json\n")
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want map[string]string
	}{
		{"file only", nil, []string{"--config", conf},
			map[string]string{"zk": "file-zk:2181", "quorum": "file-q:9190", "n": "xxx", "output": "json"}},
		{"env beats file", map[string]string{"ZK2KRAFT_ZK": "env-zk:2181", "ZK2KRAFT_OUTPUT": "text"}, []string{"--config", conf},
			map[string]string{"zk": "env-zk:2181", "quorum": "file-q:9190", "output": "text"}},
		{"flag beats env and file", map[string]string{"ZK2KRAFT_ZK": "env-zk:2181"}, []string{"--config", conf, "--zk", "flag-zk:2181", "-o", "text"},
			map[string]string{"zk": "flag-zk:2181", "output": "text"}},
		{"config from env", map[string]string{"ZK2KRAFT_CONFIG": conf}, nil,
			map[string]string{"zk": "file-zk:2181", "quorum": "file-q:9190"}},
		{"env satisfies a required flag", map[string]string{"ZK2KRAFT_ZK": "e:1", "ZK2KRAFT_ZK_AUTH": "digest:u:p"}, nil,
			map[string]string{"zk": "e:1", "zk-auth": "digest:u:p", "quorum": "default-q", "n": ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := runSettingsCmd(t, tt.env, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

func TestSettingsErrors(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		conf    string
		want    string
		notWant string
	}{
		{"missing required", nil, "", "required flag", ""},
		{"unknown key", nil, "zk = a:1\nzookeeper = b:2\n", `line 2: unknown setting "zookeeper"`, ""},
		{"bad line", nil, "zk a:1\n", "line 1: want", ""},
		{"duplicate", nil, "zk = a:1\nzk = b:2\n", "already set on line 1", ""},
		{"bad int in file", nil, "zk = a:1\nn = many\n", `n = "many"`, ""},
		{"bad env int", map[string]string{"ZK2KRAFT_ZK": "a:1", "ZK2KRAFT_N": "lots"}, "", "ZK2KRAFT_N", ""},
		{"bad output", map[string]string{"ZK2KRAFT_ZK": "a:1", "ZK2KRAFT_OUTPUT": "yaml"}, "", `--output "yaml"`, ""},
		{"missing config file", nil, "-", "config file", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var args []string
			switch tt.conf {
			case "":
			case "-":
				args = []string{"--config", filepath.Join(t.TempDir(), "nope.conf")}
			default:
				args = []string{"--config", writeConfig(t, tt.conf)}
			}
			_, err := runSettingsCmd(t, tt.env, args...)
			if err == nil {
				t.Fatalf("no error, want one containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestSecretSettingsNotEchoed(t *testing.T) {
	// zk-auth is a string flag, so any value parses; check the message form
	// of a secret flag with a hook: an int-typed secret is not realistic, so
	// test isSecretFlag and the env path directly.
	for _, name := range []string{"zk-auth", "tls-key", "zk-tls-key", "scram-password"} {
		if !isSecretFlag(name) {
			t.Errorf("isSecretFlag(%q) = false", name)
		}
	}
	for _, name := range []string{"zk", "quorum", "output", "keys-per-batch"} {
		if isSecretFlag(name) {
			t.Errorf("isSecretFlag(%q) = true", name)
		}
	}
}

func TestEnvName(t *testing.T) {
	for flag, want := range map[string]string{"zk": "ZK2KRAFT_ZK", "zk-auth": "ZK2KRAFT_ZK_AUTH", "metrics-addr": "ZK2KRAFT_METRICS_ADDR"} {
		if got := envName(flag); got != want {
			t.Errorf("envName(%q) = %q, want %q", flag, got, want)
		}
	}
}

func TestVersionAndNoArgs(t *testing.T) {
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetArgs([]string{"--version"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "zk2kraft "+version+" (commit ") {
		t.Errorf("--version printed %q", out.String())
	}
	// No arguments and no terminal (go test's stdin is not one): help, not the wizard.
	root = newRootCmd()
	out.Reset()
	root.SetOut(&out)
	root.SetArgs(nil)
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "Available Commands") {
		t.Errorf("no-argument run printed %q, want the help", out.String())
	}
}

func TestCompletionScripts(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		root := newRootCmd()
		var out bytes.Buffer
		root.SetOut(&out)
		root.SetArgs([]string{"completion", shell})
		t.Setenv("XDG_CONFIG_HOME", t.TempDir())
		if err := root.Execute(); err != nil {
			t.Fatalf("completion %s: %v", shell, err)
		}
		if !strings.Contains(out.String(), "zk2kraft") {
			t.Errorf("completion %s: script does not mention zk2kraft", shell)
		}
	}
	// Flag value completion for --output.
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&bytes.Buffer{})
	root.SetArgs([]string{cobra.ShellCompRequestCmd, "check", "--output", ""})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "json") || !strings.Contains(out.String(), "text") {
		t.Errorf("--output completion = %q", out.String())
	}
}

func TestColorEnabled(t *testing.T) {
	globals.NoColor = false
	t.Setenv("TERM", "xterm")
	t.Setenv("NO_COLOR", "")
	if !colorEnabled() {
		t.Error("colour off without NO_COLOR")
	}
	t.Setenv("NO_COLOR", "1")
	if colorEnabled() {
		t.Error("colour on with NO_COLOR=1")
	}
	t.Setenv("NO_COLOR", "")
	t.Setenv("TERM", "dumb")
	if colorEnabled() {
		t.Error("colour on with TERM=dumb")
	}
	t.Setenv("TERM", "xterm")
	globals.NoColor = true
	defer func() { globals.NoColor = false }()
	if colorEnabled() {
		t.Error("colour on with --no-color")
	}
}

func TestVersionJSON(t *testing.T) {
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetArgs([]string{"version", "--output", "json"})
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	var v versionInfo
	if err := json.Unmarshal(out.Bytes(), &v); err != nil {
		t.Fatalf("version --output json: %v: %q", err, out.String())
	}
	if v.Version != version || v.Commit == "" || !strings.HasPrefix(v.GoVersion, "go") || v.Platform == "" {
		t.Errorf("version JSON %+v", v)
	}
}

// TestMetricsAddr: --metrics-addr serves the process's metrics while the
// command runs, and stops with it.
func TestMetricsAddr(t *testing.T) {
	root := newRootCmd()
	var scraped string
	tc := &cobra.Command{
		Use: "metricstest",
		RunE: func(cmd *cobra.Command, _ []string) error {
			cliMetrics.SetPhase("copy")
			resp, err := http.Get("http://" + metricsServer.Addr + "/metrics")
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			scraped = string(b)
			return err
		},
	}
	root.AddCommand(tc)
	root.SetArgs([]string{"metricstest", "--metrics-addr", "127.0.0.1:0"})
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	if err := root.ExecuteContext(ctx); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`zk2kraft_phase{phase="copy"} 1`, "zk2kraft_build_info{", "zk2kraft_mirror_lag_seconds"} {
		if !strings.Contains(scraped, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	addr := metricsServer.Addr
	cancel()
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := http.Get("http://" + addr + "/metrics"); err != nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Error("the metrics server outlived the command's context")
}

// TestEveryCommandHasHelpAndExamples: the issue asks for help text and
// examples on every command.
func TestEveryCommandHasHelpAndExamples(t *testing.T) {
	root := newRootCmd()
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if sub.Hidden || sub.Name() == "help" || sub.Name() == "completion" {
				continue
			}
			if sub.HasSubCommands() {
				if sub.Short == "" {
					t.Errorf("%s: no help text", sub.CommandPath())
				}
				walk(sub)
				continue
			}
			if sub.Short == "" {
				t.Errorf("%s: no help text", sub.CommandPath())
			}
			if sub.Example == "" {
				t.Errorf("%s: no example (add one to the command or to defaultExamples)", sub.CommandPath())
			}
		}
	}
	walk(root)
}

// TestCLIReference: the generated reference names every visible command, the
// conventions and the metric names; CLI.md is what `go generate` writes.
func TestCLIReference(t *testing.T) {
	var b bytes.Buffer
	root := newRootCmd()
	writeCLIReference(&b, root)
	doc := b.String()
	for _, c := range root.Commands() {
		if c.Hidden || c.Name() == "help" || c.Name() == "completion" {
			continue
		}
		if !strings.Contains(doc, "\n### zk2kraft "+c.Name()+"\n") {
			t.Errorf("reference lacks %s", c.Name())
		}
	}
	for _, want := range []string{"ZK2KRAFT_SOME_FLAG", "NO_COLOR", "zk2kraft_mirror_lag_seconds", "130 interrupted", "--metrics-addr"} {
		if !strings.Contains(doc, want) {
			t.Errorf("reference lacks %q", want)
		}
	}
}

// FuzzParseConfig: any config file text parses or fails with an error naming
// the file and line; never a panic, and every accepted name is normalised.
func FuzzParseConfig(f *testing.F) {
	for _, s := range []string{"zk = a:1\n", "# c\nquorum: \"q:1\"\n", "a b = c", "x=\"unterminated", "--Zk_Auth = digest:u:p\n\n;c\n", "=\n", ":"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		settings, err := parseConfig(strings.NewReader(text), "test.conf")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "test.conf") && !strings.HasPrefix(err.Error(), "read test.conf") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		for name, s := range settings {
			if name == "" || strings.ContainsAny(name, " \t_") || strings.HasPrefix(name, "--") || name != strings.ToLower(name) {
				t.Fatalf("name %q not normalised", name)
			}
			if s.line < 1 {
				t.Fatalf("setting %q has line %d", name, s.line)
			}
		}
	})
}

// TestLargeHeapCommandsExist: every command named in largeHeapCommands is
// one (a renamed command would silently lose its huge pages).
func TestLargeHeapCommandsExist(t *testing.T) {
	root := newRootCmd()
	for _, name := range largeHeapCommands {
		cmd, _, err := root.Find(strings.Fields(name))
		if err != nil || cmd == root || !fillsLargeHeap(cmd) {
			t.Errorf("%q: not a command of zk2kraft (found %v, %v)", name, cmd.CommandPath(), err)
		}
	}
	if v, _, _ := root.Find([]string{"version"}); fillsLargeHeap(v) {
		t.Error("version would advise huge pages")
	}
}
