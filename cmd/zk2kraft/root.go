package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/zk2kraft/zk2kraft/internal/hugepages"
	"github.com/zk2kraft/zk2kraft/metrics"
)

// version and commit are set at build time with
// -ldflags "-X main.version=... -X main.commit=...".
var (
	version = "dev"
	commit  = ""
)

// globalOptions are the flags every command takes.
type globalOptions struct {
	Output      string // text or json
	LogLevel    string
	LogFormat   string
	Config      string // settings file (see loadConfigFile)
	NoColor     bool
	MetricsAddr string // serve Prometheus metrics here while the command runs
}

var globals globalOptions

// cliMetrics are the process's metrics; long-running commands feed them
// (cliMetrics.Progress is a progress.Func). They are served when
// --metrics-addr is given.
var cliMetrics = metrics.New(version, buildCommit())

// metricsServer is the --metrics-addr endpoint while a command runs (nil
// without --metrics-addr).
var metricsServer *metrics.Server

// envPrefix: every flag --some-flag can also be set as ZK2KRAFT_SOME_FLAG.
const envPrefix = "ZK2KRAFT_"

// commandFactories is filled by each command file's init, so command files
// can be added without touching this one.
var commandFactories []func() *cobra.Command

func register(f func() *cobra.Command) { commandFactories = append(commandFactories, f) }

// runWizardFn starts the interactive wizard; wizard.go sets it. zk2kraft with
// no arguments on a terminal runs it.
var runWizardFn func(cmd *cobra.Command) error

const rootLong = `zk2kraft reads a ZooKeeper-mode Kafka cluster's metadata, translates it into KRaft metadata records,
copies it into a Raft controller quorum, mirrors later changes and proves parity before cutover.
With no arguments on a terminal it starts the interactive wizard (zk2kraft wizard).

Settings: every flag --some-flag can also come from the environment variable ZK2KRAFT_SOME_FLAG
(e.g. ZK2KRAFT_ZK, ZK2KRAFT_QUORUM, ZK2KRAFT_OUTPUT) or from a config file (--config FILE, or
ZK2KRAFT_CONFIG, else $XDG_CONFIG_HOME/zk2kraft/config if it exists) with one "flag-name = value"
per line ('#' starts a comment). Flags win over the environment, the environment over the file.

Exit codes: 0 ok; 1 findings (check), differences (verify) or a degraded quorum; 2 usage or runtime
error; 130 interrupted.`

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "zk2kraft",
		Short: "Move a Kafka cluster's metadata from ZooKeeper to a KRaft quorum",
		Long:  rootLong,
		Example: `  zk2kraft                                   # the wizard (on a terminal)
  zk2kraft check --zk zk1:2181,zk2:2181/kafka
  ZK2KRAFT_ZK=zk1:2181/kafka zk2kraft snapshot --out cluster.snap
  zk2kraft --config prod.conf migrate --until verified --output json`,
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.NoArgs,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if err := applySettings(cmd, os.LookupEnv); err != nil {
				return withExitCode(2, err)
			}
			switch globals.Output {
			case "text", "json":
			default:
				return withExitCode(2, fmt.Errorf("--output %q: want text or json", globals.Output))
			}
			logger, err := newLogger(os.Stderr, globals.LogLevel, globals.LogFormat)
			if err != nil {
				return withExitCode(2, err)
			}
			slog.SetDefault(logger)
			if fillsLargeHeap(cmd) {
				// A million partitions fill a GiB or two of fresh heap in
				// seconds; with 4 KB pages a third of that time was page faults.
				hugepages.AdviseHeap(4 << 30)
			}
			if globals.MetricsAddr != "" {
				srv, err := metrics.Serve(cmd.Context(), globals.MetricsAddr, cliMetrics)
				if err != nil {
					return withExitCode(2, fmt.Errorf("--metrics-addr: %w", err))
				}
				metricsServer = srv
				slog.Info("serving metrics", "addr", "http://"+srv.Addr+"/metrics")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if runWizardFn != nil && isTerminal(os.Stdin) && isTerminal(os.Stderr) {
				return runWizardFn(cmd)
			}
			return cmd.Help()
		},
	}
	root.SetVersionTemplate(versionLine() + "\n")
	pf := root.PersistentFlags()
	pf.StringVarP(&globals.Output, "output", "o", "text", "output format: text or json (JSON goes to stdout, progress and logs to stderr)")
	pf.StringVar(&globals.LogLevel, "log-level", "warn", "log level: debug, info, warn, error")
	pf.StringVar(&globals.LogFormat, "log-format", "text", "log format: text or json")
	pf.StringVar(&globals.Config, "config", "", "settings file: one \"flag-name = value\" per line (flags and ZK2KRAFT_* variables win)")
	pf.BoolVar(&globals.NoColor, "no-color", false, "no colours (also when NO_COLOR is set or TERM=dumb)")
	pf.StringVar(&globals.MetricsAddr, "metrics-addr", "", "serve Prometheus metrics on HOST:PORT/metrics while the command runs")
	completeWords(root, "output", "text", "json")
	completeWords(root, "log-level", "debug", "info", "warn", "error")
	completeWords(root, "log-format", "text", "json")
	root.MarkPersistentFlagFilename("config")
	for _, f := range commandFactories {
		root.AddCommand(f())
	}
	addDefaultExamples(root)
	return root
}

// defaultExamples are examples for commands whose file gives none (a command's
// own Example always wins).
var defaultExamples = map[string]string{
	"abort": `  zk2kraft abort --zk zk1:2181/kafka --quorum c1:9190,c2:9190,c3:9190 --yes
  zk2kraft abort --zk zk1:2181/kafka --quorum c1:9190 --data-dir /var/lib/zk2kraft/node-1 --yes --output json`,
	"check": `  zk2kraft check --zk zk1:2181,zk2:2181,zk3:2181/kafka
  zk2kraft check --snapshot cluster.snap --assign-topic-ids --output json`,
	"decode": `  zk2kraft decode /var/lib/kafka/__cluster_metadata-0/00000000000000012345-0000000003.checkpoint
  zk2kraft decode 00000000000000000000.log | jq -c 'select(.type == "TOPIC_RECORD")'`,
	"demo": `  zk2kraft demo
  zk2kraft demo --topics 2000 --partitions 50 --churn-rate 200 --output json`,
	"export": `  zk2kraft export --quorum c1:9190,c2:9190,c3:9190 --out /var/lib/kafka/__cluster_metadata-0/`,
	"quorum run": `  zk2kraft quorum run --node-id 3001 --data-dir /var/lib/zk2kraft/3001 --api 10.0.0.1:9190 \
      --voters 3001@10.0.0.1:9191,3002@10.0.0.2:9191,3003@10.0.0.3:9191 --cluster-id <ZooKeeper's /cluster/id> \
      --tls-ca ca.pem --tls-cert node.pem --tls-key node-key.pem`,
	"quorum status": `  zk2kraft quorum status --quorum c1:9190,c2:9190,c3:9190
  zk2kraft quorum status --quorum c1:9190 --output json | jq '.[].status.state'`,
	"snapshot": `  zk2kraft snapshot --zk zk1:2181/kafka --out cluster.snap
  zk2kraft snapshot --zk zk1:2181/kafka --zk-rate-limit 5000 --out cluster.snap --output json`,
	"translate": `  zk2kraft translate --snapshot cluster.snap
  zk2kraft translate --zk zk1:2181/kafka --output checkpoint --out ./metadata/`,
	"testenv up":       `  zk2kraft testenv up --seed medium --chroot /kafka`,
	"testenv status":   `  zk2kraft testenv status --output json`,
	"testenv seed":     `  zk2kraft testenv seed --preset none --topics 100 --partitions 10 --chroot /other`,
	"testenv churn":    `  zk2kraft testenv churn --rate 200 --duration 1m --log changes.json`,
	"testenv expected": `  zk2kraft testenv expected --out expected.json`,
	"testenv fault": `  zk2kraft testenv fault kill 2
  zk2kraft testenv fault partition 1 && sleep 10 && zk2kraft testenv fault heal 1`,
	"testenv down":  `  zk2kraft testenv down --name default`,
	"testenv image": `  zk2kraft testenv image --output json`,
}

func addDefaultExamples(root *cobra.Command) {
	var walk func(c *cobra.Command, path string)
	walk = func(c *cobra.Command, path string) {
		for _, sub := range c.Commands() {
			p := strings.TrimSpace(path + " " + sub.Name())
			if sub.Example == "" {
				sub.Example = defaultExamples[p]
			}
			walk(sub, p)
		}
	}
	walk(root, "")
}

func completeWords(cmd *cobra.Command, flag string, words ...string) {
	cmd.RegisterFlagCompletionFunc(flag, func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return words, cobra.ShellCompDirectiveNoFileComp
	})
}

// buildCommit is -X main.commit or the VCS revision Go stamped, if any.
func buildCommit() string {
	if commit != "" {
		return commit
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				return s.Value
			}
		}
	}
	return "unknown"
}

func versionLine() string {
	return fmt.Sprintf("zk2kraft %s (commit %s, %s, %s/%s)", version, buildCommit(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// applySettings fills every flag of cmd the command line did not set from
// ZK2KRAFT_<FLAG> environment variables, then from the config file. Values
// set this way count as given (so required flags are satisfied). lookupEnv is
// os.LookupEnv (a parameter for tests).
func applySettings(cmd *cobra.Command, lookupEnv func(string) (string, bool)) error {
	fs := cmd.Flags()
	var fromEnv []string
	var envErr error
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Changed || envErr != nil || f.Name == "help" || f.Name == "version" {
			return
		}
		v, ok := lookupEnv(envName(f.Name))
		if !ok {
			return
		}
		if err := fs.Set(f.Name, v); err != nil {
			if isSecretFlag(f.Name) {
				envErr = fmt.Errorf("%s: invalid value for --%s", envName(f.Name), f.Name)
			} else {
				envErr = fmt.Errorf("%s=%q: invalid value for --%s: %v", envName(f.Name), v, f.Name, err)
			}
		}
		fromEnv = append(fromEnv, f.Name)
	})
	if envErr != nil {
		return envErr
	}
	path, explicit := globals.Config, true
	if path == "" {
		explicit = false
		path = defaultConfigPath()
	}
	if path == "" {
		return nil
	}
	settings, err := loadConfigFile(path)
	if err != nil {
		if !explicit && errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	known := allFlagNames(cmd.Root())
	names := make([]string, 0, len(settings))
	for name := range settings {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		s := settings[name]
		if !known[name] {
			return fmt.Errorf("%s line %d: unknown setting %q (settings are flag names, e.g. zk, quorum, output)", path, s.line, name)
		}
		f := fs.Lookup(name)
		if f == nil || f.Changed || name == "config" {
			continue // another command's flag, or given on the command line / in the environment
		}
		if err := fs.Set(name, s.value); err != nil {
			if isSecretFlag(name) {
				return fmt.Errorf("%s line %d: invalid value for %s", path, s.line, name)
			}
			return fmt.Errorf("%s line %d: %s = %q: %v", path, s.line, name, s.value, err)
		}
	}
	return nil
}

// envName is the environment variable of a flag: zk-auth -> ZK2KRAFT_ZK_AUTH.
func envName(flag string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// isSecretFlag: values of these flags never appear in error messages.
func isSecretFlag(name string) bool {
	return strings.Contains(name, "auth") || strings.Contains(name, "password") || strings.Contains(name, "secret") || strings.HasSuffix(name, "-key")
}

func allFlagNames(root *cobra.Command) map[string]bool {
	names := map[string]bool{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.LocalFlags().VisitAll(func(f *pflag.Flag) { names[f.Name] = true })
		c.PersistentFlags().VisitAll(func(f *pflag.Flag) { names[f.Name] = true })
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	return names
}

func defaultConfigPath() string {
	if v, ok := os.LookupEnv(envName("config")); ok {
		return v
	}
	dir := os.Getenv("XDG_CONFIG_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "zk2kraft", "config")
}

type configSetting struct {
	value string
	line  int
}

// loadConfigFile reads "name = value" (or "name: value") lines; '#' and ';'
// start comments, values may be double-quoted, a name may be written with
// underscores or a leading "--".
func loadConfigFile(path string) (map[string]configSetting, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config file: %w", err)
	}
	defer f.Close()
	return parseConfig(f, path)
}

func parseConfig(r io.Reader, path string) (map[string]configSetting, error) {
	out := map[string]configSetting{}
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		i := strings.IndexAny(line, "=:")
		if i <= 0 || strings.ContainsAny(strings.TrimSpace(line[:i]), " \t") {
			return nil, fmt.Errorf("%s line %d: want \"name = value\"", path, n)
		}
		name := strings.TrimSpace(line[:i])
		name = strings.ReplaceAll(strings.TrimPrefix(name, "--"), "_", "-")
		name = strings.ToLower(name)
		if !validSettingName(name) {
			return nil, fmt.Errorf("%s line %d: %q is not a setting name (a flag name like zk or zk-auth)", path, n, name)
		}
		value := strings.TrimSpace(line[i+1:])
		if strings.HasPrefix(value, `"`) {
			uq, err := strconv.Unquote(value)
			if err != nil {
				return nil, fmt.Errorf("%s line %d: %s: bad quoted value", path, n, name)
			}
			value = uq
		}
		if prev, dup := out[name]; dup {
			return nil, fmt.Errorf("%s line %d: %s already set on line %d", path, n, name, prev.line)
		}
		out[name] = configSetting{value: value, line: n}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return out, nil
}

// validSettingName: lower-case letters, digits and inner dashes, as flag names.
func validSettingName(s string) bool {
	if s == "" || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// colorEnabled: colour only when not disabled by --no-color, NO_COLOR or TERM=dumb.
func colorEnabled() bool {
	if globals.NoColor {
		return false
	}
	if v, ok := os.LookupEnv("NO_COLOR"); ok && v != "" {
		return false
	}
	return os.Getenv("TERM") != "dumb"
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch strings.ToLower(format) {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}

// writeJSON writes v as indented JSON to w.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// isTerminal reports whether f is a terminal (progress is shown only then).
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// largeHeapCommands hold a cluster's metadata in memory (a snapshot, a
// model, an image): their heap is advised to use huge pages (package
// hugepages; ~20 ms of address-space bookkeeping).
var largeHeapCommands = []string{"snapshot", "check", "translate", "migrate", "verify", "mirror", "export", "demo", "wizard", "quorum run", "abort"}

func fillsLargeHeap(cmd *cobra.Command) bool {
	return slices.Contains(largeHeapCommands, strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" "))
}
