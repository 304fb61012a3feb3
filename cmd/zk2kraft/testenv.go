package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/zk2kraft/zk2kraft/testenv"
)

func init() { register(newTestenvCmd) }

// testenvStateRoot is where `testenv up` keeps one dir per named ensemble:
// $XDG_RUNTIME_DIR/zk2kraft-testenv, else /tmp/zk2kraft-testenv.
func testenvStateRoot() string {
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "zk2kraft-testenv")
	}
	return filepath.Join(os.TempDir(), "zk2kraft-testenv")
}

func newTestenvCmd() *cobra.Command {
	var name string
	stateDir := func() string { return filepath.Join(testenvStateRoot(), name) }
	cmd := &cobra.Command{
		Use:   "testenv",
		Short: "Run a local ZooKeeper ensemble seeded like a Kafka cluster (for tests, demos and trying zk2kraft)",
		Long: `testenv runs a real ZooKeeper 3.8 ensemble on this machine: Docker containers built from the host's
Debian packages when a Docker engine answers, else plain java processes. 'up' starts it in the
background (a small daemon keeps it, its seeding session and the expected model) and prints the
connect string; the other subcommands find it by --name in ` + testenvStateRoot() + `.`,
	}
	cmd.PersistentFlags().StringVar(&name, "name", "default", "name of the ensemble (one state dir per name)")
	cmd.AddCommand(newTestenvUpCmd(stateDir), newTestenvDaemonCmd(), newTestenvSeedCmd(stateDir), newTestenvChurnCmd(stateDir),
		newTestenvFaultCmd(stateDir), newTestenvStatusCmd(stateDir), newTestenvDownCmd(stateDir), newTestenvExpectedCmd(stateDir), newTestenvImageCmd())
	return cmd
}

type upFlags struct {
	backend, seed, chroot string
	nodes                 int
	tls                   bool
	snapCount             int
	heapMB                int
	timeout               time.Duration
}

func (f *upFlags) args(stateDir string) []string {
	return []string{"testenv", "daemon", "--state-dir", stateDir, "--backend", f.backend, "--nodes", strconv.Itoa(f.nodes),
		"--seed", f.seed, "--chroot", f.chroot, "--tls=" + strconv.FormatBool(f.tls), "--snap-count", strconv.Itoa(f.snapCount), "--heap-mb", strconv.Itoa(f.heapMB)}
}

func newTestenvUpCmd(stateDir func() string) *cobra.Command {
	f := &upFlags{}
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Start an ensemble in the background (seeded unless --seed none) and print its connect string",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch f.seed {
			case "small", "medium", "large", "none":
			default:
				return withExitCode(2, fmt.Errorf("--seed %q: want small, medium, large or none", f.seed))
			}
			switch f.backend {
			case "", "docker", "process":
			default:
				return withExitCode(2, fmt.Errorf("--backend %q: want docker or process", f.backend))
			}
			dir := stateDir()
			if st, err := testenv.ReadState(dir); err == nil {
				if _, err := testenv.Call(cmd.Context(), dir, testenv.ControlRequest{Cmd: "status"}); err == nil {
					return withExitCode(2, fmt.Errorf("testenv %q is already up (%s): run `zk2kraft testenv down` first", filepath.Base(dir), st.ConnectString))
				}
				_ = os.Remove(filepath.Join(dir, testenv.StateFile)) // a dead daemon's leftovers
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return withExitCode(2, err)
			}
			logPath := filepath.Join(dir, "daemon.log")
			logf, err := os.Create(logPath)
			if err != nil {
				return withExitCode(2, err)
			}
			defer logf.Close()
			self, err := os.Executable()
			if err != nil {
				return withExitCode(2, err)
			}
			d := exec.Command(self, f.args(dir)...)
			d.Stdout, d.Stderr = logf, logf
			d.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // outlives this command
			if err := d.Start(); err != nil {
				return withExitCode(2, fmt.Errorf("start the testenv daemon: %w", err))
			}
			exited := make(chan error, 1)
			go func() { exited <- d.Wait() }()
			deadline := time.After(f.timeout)
			for {
				if st, err := testenv.ReadState(dir); err == nil && st.PID == d.Process.Pid {
					return printUp(cmd.OutOrStdout(), st)
				}
				select {
				case err := <-exited:
					return withExitCode(2, fmt.Errorf("testenv daemon exited (%v):\n%s", err, tailFile(logPath, 4096)))
				case <-deadline:
					_ = d.Process.Signal(syscall.SIGTERM)
					return withExitCode(2, fmt.Errorf("testenv not up after %v (log: %s)", f.timeout, logPath))
				case <-cmd.Context().Done():
					_ = d.Process.Signal(syscall.SIGTERM)
					return withExitCode(2, cmd.Context().Err())
				case <-time.After(200 * time.Millisecond):
				}
			}
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.backend, "backend", "", "docker or process (default: docker when an engine answers)")
	fl.IntVar(&f.nodes, "nodes", 3, "ensemble size")
	fl.StringVar(&f.seed, "seed", "small", "seed the cluster: small, medium (~10k partitions), large (100k partitions) or none")
	fl.StringVar(&f.chroot, "chroot", "", "seed under this chroot, e.g. /kafka")
	fl.BoolVar(&f.tls, "tls", false, "also serve TLS on a secure client port (generated CA and certificates)")
	fl.IntVar(&f.snapCount, "snap-count", 0, "ZooKeeper snapCount (0: ZooKeeper's default)")
	fl.IntVar(&f.heapMB, "heap-mb", 512, "each node's Java heap in MiB (about 1 GiB per million znodes)")
	fl.DurationVar(&f.timeout, "timeout", 5*time.Minute, "how long to wait for the ensemble (and the seed)")
	return cmd
}

func printUp(w io.Writer, st *testenv.State) error {
	if globals.Output == "json" {
		return writeJSON(w, st)
	}
	fmt.Fprintln(w, st.ConnectString+st.Chroot)
	seeded := st.Seeded
	if seeded == "" {
		seeded = "none"
	}
	fmt.Fprintf(os.Stderr, "testenv %s up: %d-node %s ensemble, seeded %s, daemon pid %d, state in %s\n",
		filepath.Base(st.Dir), st.Nodes, st.Backend, seeded, st.PID, st.Dir)
	return nil
}

func tailFile(path string, max int64) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	if int64(len(b)) > max {
		b = b[int64(len(b))-max:]
	}
	return string(b)
}

// newTestenvDaemonCmd is the background process `up` starts.
func newTestenvDaemonCmd() *cobra.Command {
	f := &upFlags{}
	var stateDir string
	cmd := &cobra.Command{
		Use:    "daemon",
		Short:  "Run an ensemble in the foreground and serve testenv commands (started by `testenv up`)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
			defer stop()
			opts := testenv.Options{Nodes: f.nodes, Backend: f.backend, TLS: f.tls, SnapCount: f.snapCount, HeapMB: f.heapMB,
				Name: "zk2kraft-" + sanitizeName(filepath.Base(stateDir)) + "-" + strconv.Itoa(os.Getpid()),
				Logf: func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }}
			var seed *testenv.SeedSpec
			if f.seed != "none" {
				seed = &testenv.SeedSpec{Preset: f.seed, Chroot: f.chroot}
			}
			d, err := testenv.NewDaemon(ctx, stateDir, opts, seed)
			if err != nil {
				return withExitCode(2, err)
			}
			fmt.Fprintf(os.Stderr, "testenv daemon serving %s\n", d.Env().ConnectString())
			if err := d.Serve(ctx); err != nil {
				return withExitCode(2, err)
			}
			fmt.Fprintln(os.Stderr, "testenv daemon: ensemble removed")
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&stateDir, "state-dir", "", "state dir")
	fl.StringVar(&f.backend, "backend", "", "docker or process")
	fl.IntVar(&f.nodes, "nodes", 3, "ensemble size")
	fl.StringVar(&f.seed, "seed", "small", "preset or none")
	fl.StringVar(&f.chroot, "chroot", "", "chroot")
	fl.BoolVar(&f.tls, "tls", false, "TLS")
	fl.IntVar(&f.snapCount, "snap-count", 0, "snapCount")
	fl.IntVar(&f.heapMB, "heap-mb", 512, "heap")
	_ = cmd.MarkFlagRequired("state-dir")
	return cmd
}

func sanitizeName(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return "env"
	}
	return b.String()
}

// call sends a request and maps errors to exit code 2.
func call(ctx context.Context, stateDir string, req testenv.ControlRequest) (*testenv.ControlResponse, error) {
	resp, err := testenv.Call(ctx, stateDir, req)
	if err != nil {
		return resp, withExitCode(2, err)
	}
	return resp, nil
}

func writeExpected(path string, resp *testenv.ControlResponse, ctx context.Context, stateDir string) error {
	if path == "" {
		return nil
	}
	r, err := call(ctx, stateDir, testenv.ControlRequest{Cmd: "expected"})
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(r.Expected, "", "  ")
	if err != nil {
		return withExitCode(2, err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return withExitCode(2, fmt.Errorf("write %s: %w", path, err))
	}
	return nil
}

func newTestenvSeedCmd(stateDir func() string) *cobra.Command {
	spec := testenv.SeedSpec{}
	var expected string
	cmd := &cobra.Command{
		Use:   "seed",
		Short: "Seed the running ensemble with a Kafka cluster's znodes (another chroot than earlier seeds)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if spec.Preset == "none" {
				spec.Preset = ""
			}
			resp, err := call(cmd.Context(), stateDir(), testenv.ControlRequest{Cmd: "seed", Seed: &spec})
			if err != nil {
				return err
			}
			if err := writeExpected(expected, resp, cmd.Context(), stateDir()); err != nil {
				return err
			}
			if globals.Output == "json" {
				return writeJSON(cmd.OutOrStdout(), resp.Seeded)
			}
			s := resp.Seeded
			fmt.Fprintf(cmd.OutOrStdout(), "seeded %d topics, %d partitions in %v\n", s.Topics, s.Partitions, s.Took.Round(time.Millisecond))
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&spec.Preset, "preset", "small", "small, medium, large, or none (then the scale flags alone)")
	fl.IntVar(&spec.Brokers, "brokers", 0, "brokers (0: the preset's)")
	fl.IntVar(&spec.Topics, "topics", 0, "plain topics (0: the preset's)")
	fl.IntVar(&spec.PartitionsPerTopic, "partitions", 0, "partitions per plain topic (0: the preset's)")
	fl.IntVar(&spec.ReplicationFactor, "replication-factor", 0, "replication factor (0: the preset's)")
	fl.StringVar(&spec.Chroot, "chroot", "", "seed under this chroot, e.g. /kafka")
	fl.BoolVar(&spec.EdgeCases, "edge-cases", false, "add the edge cases (presets always do)")
	fl.StringVar(&spec.DigestAuth, "digest-auth", "", "user:pass: every znode gets a digest ACL for this user only")
	fl.StringVar(&spec.Migration, "migration", "", "add a /migration znode: valid or null")
	fl.StringVar(&expected, "expected", "", "write the expected model (zkreader.Snapshot JSON) to this file")
	return cmd
}

func newTestenvChurnCmd(stateDir func() string) *cobra.Command {
	opts := testenv.ChurnOptions{}
	var kinds []string
	var logPath, expected string
	cmd := &cobra.Command{
		Use:   "churn",
		Short: "Change the seeded cluster like a live one (topics, partitions, leaders, ISRs, configs, quotas, ACLs, SCRAM)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, k := range kinds {
				opts.Kinds = append(opts.Kinds, testenv.ChurnKind(k))
			}
			if opts.Duration <= 0 && opts.MaxChanges <= 0 {
				return withExitCode(2, errors.New("give --duration or --max"))
			}
			resp, err := call(cmd.Context(), stateDir(), testenv.ControlRequest{Cmd: "churn", Churn: &opts})
			if err != nil {
				return err
			}
			if logPath != "" {
				b, _ := json.MarshalIndent(resp.Churn, "", "  ")
				if err := os.WriteFile(logPath, b, 0o644); err != nil {
					return withExitCode(2, fmt.Errorf("write %s: %w", logPath, err))
				}
			}
			if err := writeExpected(expected, resp, cmd.Context(), stateDir()); err != nil {
				return err
			}
			if globals.Output == "json" {
				return writeJSON(cmd.OutOrStdout(), resp.Churn)
			}
			l := resp.Churn
			fmt.Fprintf(cmd.OutOrStdout(), "%d changes (%d writes) in %v\n", l.Changes, len(l.Events), l.Elapsed.Round(time.Millisecond))
			for _, k := range testenv.AllChurnKinds {
				if n := l.ByKind[k]; n > 0 {
					fmt.Fprintf(cmd.OutOrStdout(), "  %-18s %d\n", k, n)
				}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.Float64Var(&opts.Rate, "rate", 20, "changes per second")
	fl.DurationVar(&opts.Duration, "duration", 10*time.Second, "how long to churn")
	fl.IntVar(&opts.MaxChanges, "max", 0, "stop after this many changes (0: no limit)")
	fl.Uint64Var(&opts.Seed, "seed", uint64(time.Now().UnixNano()), "random seed")
	fl.StringSliceVar(&kinds, "kinds", nil, "kinds of change (default all): "+joinKinds())
	fl.StringVar(&logPath, "log", "", "write the change log (JSON) to this file")
	fl.StringVar(&expected, "expected", "", "write the expected model after the churn to this file")
	return cmd
}

func joinKinds() string {
	var s []string
	for _, k := range testenv.AllChurnKinds {
		s = append(s, string(k))
	}
	return strings.Join(s, ",")
}

func newTestenvFaultCmd(stateDir func() string) *cobra.Command {
	return &cobra.Command{
		Use:       "fault stop|kill|start|partition|heal NODE",
		Short:     "Stop, kill (-9) or restart a node, or cut it off from the others and heal it (nodes are 1..N)",
		Args:      cobra.ExactArgs(2),
		ValidArgs: []string{"stop", "kill", "start", "partition", "heal"},
		RunE: func(cmd *cobra.Command, args []string) error {
			node, err := strconv.Atoi(args[1])
			if err != nil {
				return withExitCode(2, fmt.Errorf("NODE %q: want a node number (1..N)", args[1]))
			}
			switch args[0] {
			case "stop", "kill", "start", "partition", "heal":
			default:
				return withExitCode(2, fmt.Errorf("fault %q: want stop, kill, start, partition or heal", args[0]))
			}
			resp, err := call(cmd.Context(), stateDir(), testenv.ControlRequest{Cmd: "fault", Action: args[0], Node: node})
			if err != nil {
				return err
			}
			return printStatus(cmd.OutOrStdout(), resp)
		},
	}
}

func newTestenvStatusCmd(stateDir func() string) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show every node's state (leader, follower, down, partitioned)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			resp, err := call(cmd.Context(), stateDir(), testenv.ControlRequest{Cmd: "status"})
			if err != nil {
				return err
			}
			if resp.State != nil && globals.Output != "json" {
				fmt.Fprintf(cmd.OutOrStdout(), "%s: %d-node %s ensemble, seeded %q, connect %s%s\n", filepath.Base(resp.State.Dir),
					resp.State.Nodes, resp.State.Backend, resp.State.Seeded, resp.State.ConnectString, resp.State.Chroot)
			}
			return printStatus(cmd.OutOrStdout(), resp)
		},
	}
}

func printStatus(w io.Writer, resp *testenv.ControlResponse) error {
	if globals.Output == "json" {
		return writeJSON(w, resp)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tADDRESS\tRUNNING\tPARTITIONED\tMODE\tZXID\tZNODES")
	for _, s := range resp.Status {
		fmt.Fprintf(tw, "%d\t%s\t%v\t%v\t%s\t%s\t%s\n", s.ID, s.Addr, s.Running, s.Partitioned, s.Mode, s.Zxid, s.Znodes)
	}
	return tw.Flush()
}

func newTestenvDownCmd(stateDir func() string) *cobra.Command {
	return &cobra.Command{
		Use:   "down",
		Short: "Stop the ensemble and remove everything it left (processes, containers, network, dirs)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir := stateDir()
			st, _ := testenv.ReadState(dir)
			_, err := testenv.Call(cmd.Context(), dir, testenv.ControlRequest{Cmd: "down"})
			if err != nil && st == nil {
				if _, statErr := os.Stat(dir); os.IsNotExist(statErr) {
					return withExitCode(2, fmt.Errorf("no testenv %q is up", filepath.Base(dir)))
				}
			}
			if err == nil && st != nil {
				// Wait for the daemon to finish its teardown.
				for i := 0; i < 600 && syscall.Kill(st.PID, 0) == nil; i++ {
					time.Sleep(100 * time.Millisecond)
				}
			} else if st != nil {
				if syscall.Kill(st.PID, 0) == nil {
					_ = syscall.Kill(st.PID, syscall.SIGTERM) // a daemon that does not answer
					time.Sleep(2 * time.Second)
				}
				if err := testenv.Cleanup(cmd.Context(), st); err != nil {
					return withExitCode(2, err)
				}
			}
			if err := os.RemoveAll(dir); err != nil {
				return withExitCode(2, err)
			}
			fmt.Fprintf(os.Stderr, "testenv %s down\n", filepath.Base(dir))
			return nil
		},
	}
}

func newTestenvExpectedCmd(stateDir func() string) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "expected",
		Short: "Print (or write) the model of what the cluster holds now, as seed and churn recorded it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			resp, err := call(cmd.Context(), stateDir(), testenv.ControlRequest{Cmd: "expected"})
			if err != nil {
				return err
			}
			if out == "" {
				return writeJSON(cmd.OutOrStdout(), resp.Expected)
			}
			return writeExpected(out, resp, cmd.Context(), stateDir())
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "write to this file instead of stdout")
	return cmd
}

func newTestenvImageCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "image",
		Short: "Build the ZooKeeper Docker image from this host's Debian packages (no registry), unless it exists",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !testenv.DockerAvailable() {
				return withExitCode(2, errors.New("no Docker engine answers `docker info`"))
			}
			info, err := testenv.EnsureImage(cmd.Context(), func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) })
			if err != nil {
				return withExitCode(2, err)
			}
			if globals.Output == "json" {
				return writeJSON(cmd.OutOrStdout(), info)
			}
			state := "exists"
			if info.Built {
				state = "built"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s (%s, %d files, %v)\n", info.Tag, state, info.Files, info.Took.Round(time.Millisecond))
			return nil
		},
	}
}
