package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"os"
	"strings"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
	"github.com/spf13/cobra"

	"github.com/zk2kraft/zk2kraft/dualwrite"
	"github.com/zk2kraft/zk2kraft/metrics"
	"github.com/zk2kraft/zk2kraft/migrate"
	"github.com/zk2kraft/zk2kraft/progress"
	"github.com/zk2kraft/zk2kraft/quorum"
	"github.com/zk2kraft/zk2kraft/tui"
)

func init() {
	register(newWizardCmd)
	runWizardFn = runWizardFromRoot
}

// wizardMirrorStats reads a running mirror's figures for the Dual-write
// screen when the mirror is package dualwrite's (else the screen samples the
// quorum's log).
func wizardMirrorStats(m migrate.Mirror) (tui.MirrorStats, bool) {
	r, ok := m.(interface{ Mirror() *dualwrite.Mirror })
	if !ok || r.Mirror() == nil {
		return tui.MirrorStats{}, false
	}
	s := r.Mirror().Stats()
	out := tui.MirrorStats{Applied: s.Applied, LagRecords: int64(s.Backlog), Backlog: int64(s.Backlog),
		LagP50: s.LagP50, LagP99: s.LagP99, Reconnects: int(s.Reconnects)}
	if e, ok := m.(interface{ Err() error }); ok {
		if err := e.Err(); err != nil {
			out.Err = "the mirror stopped: " + err.Error()
		}
	}
	return out, true
}

type wizardFlags struct {
	zf        zkReadFlags
	tf        migrationTranslateFlags
	quorum    string
	qtls      quorum.TLSFiles
	localQ    bool
	ctlID     int32
	stateDir  string
	logFile   string
	noAltScrn bool
}

func newWizardCmd() *cobra.Command {
	var f wizardFlags
	cmd := &cobra.Command{
		Use:   "wizard [--zk CONNECT] [--quorum HOST:PORT,... | --local-quorum]",
		Short: "Interactive migration: connect, pre-flight, plan, copy, dual-write, verify, cutover",
		Long: `wizard walks through the migration on a terminal, one screen per phase, over the same library
calls 'zk2kraft migrate' makes: Connect (ZooKeeper, chroot, auth/TLS, quorum or a local quorum, with a
connection test), Pre-flight (findings by severity; blockers stop), Plan (counts, what is skipped, the
estimate, a record preview with secrets redacted), Copy (progress per phase), Dual-write (lag, changes per
second, backlog, reconnects), Verify (parity, differences, digests) and Cutover — THE POINT OF NO RETURN,
confirmed by typing the cluster id. Abort is offered at every step before it.

Ctrl-C asks before leaving; the migration's state stays in the quorum, so 'zk2kraft migrate' with the
same --zk and --quorum resumes it. The flags (or ZK2KRAFT_* variables, or --config) fill in the Connect
screen. zk2kraft with no arguments on a terminal starts the wizard. The wizard draws on stderr; it needs
a terminal of at least 80x24 and honours NO_COLOR and --no-color.

Exit codes: 0 cut over or aborted, 2 error, 130 left before the cutover (rerun or 'migrate' resumes).`,
		Example: `  zk2kraft wizard --zk zk1:2181,zk2:2181/kafka --quorum c1:9190,c2:9190,c3:9190
  ZK2KRAFT_ZK=127.0.0.1:2181 zk2kraft wizard --local-quorum --state-dir /var/lib/zk2kraft`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runWizard(cmd, &f) },
	}
	addZKReadFlags(cmd, &f.zf, false)
	addMigrationTranslateFlags(cmd, &f.tf)
	fl := cmd.Flags()
	fl.StringVar(&f.quorum, "quorum", "", "the quorum's client API addresses HOST:PORT,...")
	addQuorumTLSFlags(cmd, &f.qtls)
	fl.BoolVar(&f.localQ, "local-quorum", false, "start a local 3-node quorum on loopback (trials, demos), bootstrapped with ZooKeeper's /cluster/id")
	fl.Int32Var(&f.ctlID, "kraft-controller-id", 0, "node id the quorum claims ZooKeeper's controller role as at the cutover (default: the quorum leader's id; must differ from every broker id)")
	fl.StringVar(&f.stateDir, "state-dir", "", "keep the snapshot being copied (and a local quorum's data) here (default: a new temporary directory)")
	fl.StringVar(&f.logFile, "log-file", "", "write logs here while the wizard runs (the terminal belongs to the wizard; default: logs are discarded)")
	fl.BoolVar(&f.noAltScrn, "no-alt-screen", false, "draw inline instead of on the terminal's alternate screen")
	return cmd
}

// runWizardFromRoot runs the wizard for `zk2kraft` with no arguments, with
// the wizard command's flags filled from ZK2KRAFT_* variables and the config file.
func runWizardFromRoot(root *cobra.Command) error {
	w, _, err := root.Find([]string{"wizard"})
	if err != nil || w == root {
		return fmt.Errorf("the wizard command is missing")
	}
	if err := w.ParseFlags(nil); err != nil {
		return withExitCode(2, err)
	}
	if err := applySettings(w, os.LookupEnv); err != nil {
		return withExitCode(2, err)
	}
	w.SetContext(root.Context())
	return w.RunE(w, nil)
}

func runWizard(cmd *cobra.Command, f *wizardFlags) error {
	if !isTerminal(os.Stdin) || !isTerminal(os.Stderr) {
		return withExitCode(2, errors.New("wizard: needs a terminal (stdin and stderr); for scripts use 'zk2kraft migrate'"))
	}
	// Logs must not draw over the wizard: to --log-file or nowhere (also
	// the standard logger's, which some libraries use).
	logger := slog.New(slog.DiscardHandler)
	var stdLogOut io.Writer = io.Discard
	if f.logFile != "" {
		lf, err := os.OpenFile(f.logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return withExitCode(2, fmt.Errorf("--log-file: %w", err))
		}
		defer lf.Close()
		if logger, err = newLogger(lf, globals.LogLevel, globals.LogFormat); err != nil {
			return withExitCode(2, err)
		}
		stdLogOut = lf
	}
	log.SetOutput(stdLogOut)
	defer log.SetOutput(os.Stderr)
	prevDefault := slog.Default()
	slog.SetDefault(logger)
	defer slog.SetDefault(prevDefault)

	renderer := lipgloss.NewRenderer(os.Stderr)
	lipgloss.SetDefaultRenderer(renderer)
	if !colorEnabled() {
		lipgloss.SetColorProfile(termenv.Ascii)
	}

	auth := f.zf.auth
	if auth == "" {
		auth = os.Getenv(zkAuthEnv)
	}
	auth = strings.TrimPrefix(auth, "digest:")
	settings := tui.Settings{
		ZK: f.zf.connect, Chroot: f.zf.chroot, Auth: auth, TLSCA: f.zf.tlsCA, TLSCert: f.zf.tlsCert, TLSKey: f.zf.tlsKey,
		Quorum: f.quorum, LocalQuorum: f.localQ,
	}
	topts := f.tf.options()
	d := tui.NewMigrateDriver(tui.MigrateConfig{
		QuorumTLS: f.qtls, Translate: topts, AssignTopicIDs: f.tf.assignTopicIDs, StateDir: f.stateDir, KRaftControllerID: f.ctlID,
		NewMirrorStarter: newMirrorStarter, MirrorStats: wizardMirrorStats, Logger: logger,
		ZKSessionTimeout: f.zf.sessionTimeout, Metrics: cliMetrics,
		Progress: func(e progress.Event) { cliMetrics.Progress(e) },
		OnPhase:  func(p migrate.PhaseReport) { recordPhaseMetric(cliMetrics, p) },
	})
	defer d.Close()

	ctx, cancel := context.WithCancel(cmd.Context())
	defer cancel()
	opts := []tea.ProgramOption{tea.WithContext(ctx), tea.WithOutput(os.Stderr), tea.WithInput(os.Stdin)}
	if !f.noAltScrn {
		opts = append(opts, tea.WithAltScreen())
	}
	final, err := tea.NewProgram(tui.New(ctx, d, tui.Options{Settings: settings}), opts...).Run()
	cancel() // stops the driver's calls; the migration's state stays in the quorum
	if err != nil && !errors.Is(err, tea.ErrProgramKilled) {
		return withExitCode(2, fmt.Errorf("wizard: %w", err))
	}
	m, _ := final.(tui.Model)
	outcome := m.Outcome()
	if outcome == tui.OutcomeUndecided {
		outcome = tui.OutcomeQuit
	}
	if globals.Output == "json" {
		res := wizardResult{Outcome: string(outcome)}
		if outcome == tui.OutcomeQuit {
			res.ResumeCommand = d.ResumeCommand()
		}
		if err := writeJSON(cmd.OutOrStdout(), res); err != nil {
			return withExitCode(2, err)
		}
	}
	switch outcome {
	case tui.OutcomeCutover:
		fmt.Fprintln(os.Stderr, "zk2kraft wizard: cutover complete; the quorum is the cluster's metadata authority.")
		return nil
	case tui.OutcomeAborted:
		fmt.Fprintln(os.Stderr, "zk2kraft wizard: the migration was aborted; ZooKeeper is as it was.")
		return nil
	}
	fmt.Fprintf(os.Stderr, "zk2kraft wizard: left before the cutover; the migration's state is kept. Resume with:\n  %s\n", d.ResumeCommand())
	return withExitCode(exitInterrupted, nil)
}

// recordPhaseMetric sets zk2kraft_phase from migrate's phase reports: the
// phase that is running, or the last one done.
func recordPhaseMetric(m *metrics.Metrics, p migrate.PhaseReport) {
	if p.Status != "running" && p.Status != "done" {
		return
	}
	if err := m.SetPhase(p.Name); err != nil {
		slog.Debug("metrics: phase", "err", err)
	}
}

// wizardResult is what `wizard --output json` prints on stdout when the
// wizard ends.
type wizardResult struct {
	Outcome       string `json:"outcome"` // cutover, aborted or quit
	ResumeCommand string `json:"resume_command,omitempty"`
}
