package tui

import (
	"context"
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/spinner"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/zk2kraft/zk2kraft/preflight"
	"github.com/zk2kraft/zk2kraft/progress"
)

// screen is one step of the wizard.
type screen int

const (
	scrConnect screen = iota
	scrPreflight
	scrPlan
	scrCopy
	scrMirror
	scrVerify
	scrCutover
	scrDone
	scrAborted
)

var stepNames = []string{"Connect", "Pre-flight", "Plan", "Copy", "Dual-write", "Verify", "Cutover"}

// Minimum terminal size the layout is designed for.
const (
	MinWidth  = 80
	MinHeight = 24
)

// dialog is a question over the current screen.
type dialog int

const (
	dlgNone dialog = iota
	dlgQuit
	dlgAbort
)

// Phases the Connection reports that change the wizard's path (the
// migrate package's persistent states).
const (
	PhaseCutoverStarted = "cutover-started"
	PhaseCutover        = "cutover"
)

// Outcome is how the wizard ended.
type Outcome string

const (
	OutcomeQuit      Outcome = "quit"    // left before cutover; state kept, migrate resumes
	OutcomeCutover   Outcome = "cutover" // the quorum is authoritative
	OutcomeAborted   Outcome = "aborted" // everything the migration created was removed
	OutcomeUndecided Outcome = ""        // still running
)

// Messages from the Driver calls (commands).
type (
	connectedMsg struct {
		c   Connection
		err error
	}
	checkedMsg struct {
		r   *preflight.Report
		err error
	}
	plannedMsg struct {
		p   Plan
		err error
	}
	progressMsg     struct{ ev progress.Event }
	busyProgressMsg struct{ ev progress.Event } // progress of a step without its own screen (check, plan)
	copyDoneMsg     struct{ err error }
	mirrorStartMsg  struct{ err error }
	mirrorSampleMsg struct{ s MirrorStats }
	verifiedMsg     struct {
		v   Verification
		err error
	}
	cutoverMsg struct {
		c   Cutover
		err error
	}
	abortedMsg struct{ err error }
)

// streamMsg carries one message from a long-running call, with the channel
// the next ones come from.
type streamMsg struct {
	ch  chan tea.Msg
	msg tea.Msg
}

// Options configure a wizard.
type Options struct {
	Settings Settings // initial values of the Connect screen (from flags, env, config)
}

// Model is the wizard's bubbletea model.
type Model struct {
	ctx    context.Context
	driver Driver
	st     styles

	width, height int
	screen        screen
	dialog        dialog
	busy          string // what a running driver call is doing ("" when idle)
	spin          spinner.Model
	busyProgress  progress.Event // the running call's last progress event
	status        string         // the last error or notice
	statusBad     bool
	outcome       Outcome

	conn       Connection
	connect    connectModel
	preflight  preflightModel
	plan       planModel
	copy       copyModel
	mirror     mirrorModel
	verify     verifyModel
	cutover    cutoverModel
	mirroring  bool
	cutoverRes Cutover
}

// New returns the wizard's model. ctx bounds every driver call: the caller
// cancels it after the program ends (quitting keeps the migration's state, so
// `zk2kraft migrate` resumes).
func New(ctx context.Context, d Driver, opts Options) Model {
	st := newStyles()
	m := Model{
		ctx: ctx, driver: d, st: st, width: MinWidth, height: MinHeight,
		spin:    spinner.New(spinner.WithSpinner(spinner.Line)),
		connect: newConnectModel(st, opts.Settings),
		copy:    newCopyModel(st),
		mirror:  newMirrorModel(st),
	}
	m.layout()
	return m
}

// Outcome says how the wizard ended.
func (m Model) Outcome() Outcome { return m.outcome }

// Init focuses the first field.
func (m Model) Init() tea.Cmd { return m.connect.focusCmd() }

func (m *Model) layout() {
	bw, bh := m.bodySize()
	m.connect.setSize(bw, bh)
	m.preflight.setSize(bw, bh)
	m.plan.setSize(bw, bh)
	m.verify.setSize(bw, bh)
	m.cutover.setSize(bw, bh)
}

// bodySize is the area between the header (2 lines) and the footer (2 lines).
func (m Model) bodySize() (int, int) {
	return max(m.width, 20), max(m.height-4, 4)
}

func (m Model) startBusy(what string, cmd tea.Cmd) (Model, tea.Cmd) {
	m.busy = what
	m.busyProgress = progress.Event{}
	m.status = ""
	return m, tea.Batch(cmd, m.spin.Tick)
}

func (m Model) fail(err error) Model {
	m.busy = ""
	m.status = err.Error()
	m.statusBad = true
	return m
}

func (m Model) notice(s string) Model {
	m.status = s
	m.statusBad = false
	return m
}

// Update handles a message. It is pure: all I/O is in the returned commands.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.layout()
		return m, nil
	case streamMsg:
		next, cmd := m.Update(msg.msg)
		return next, tea.Batch(cmd, nextFrom(msg.ch))
	case spinner.TickMsg:
		if m.busy == "" {
			return m, nil
		}
		var cmd tea.Cmd
		m.spin, cmd = m.spin.Update(msg)
		return m, cmd
	case tea.KeyMsg:
		return m.key(msg)
	}
	return m.result(msg)
}

// result handles the driver calls' results.
func (m Model) result(msg tea.Msg) (Model, tea.Cmd) {
	switch msg := msg.(type) {
	case connectedMsg:
		if msg.err != nil {
			return m.fail(fmt.Errorf("connection test: %w", msg.err)), nil
		}
		m.conn = msg.c
		m.busy = ""
		m.cutover = newCutoverModel(m.st, msg.c.ClusterID)
		switch msg.c.Phase {
		case PhaseCutover:
			// Nothing left to do: say so (a pre-flight now would only find
			// the quorum's controller in ZooKeeper).
			m.screen = scrDone
			m.outcome = OutcomeCutover
			m.cutoverRes = Cutover{Report: []string{"This migration was cut over on an earlier run: the quorum is the cluster's metadata authority. `zk2kraft migrate` with the same settings prints the report and the next steps."}}
			m.layout()
			return m.notice("already cut over"), nil
		case PhaseCutoverStarted:
			// Past the point of no return: only finishing the cutover is left.
			m.screen = scrCutover
			m.cutover = m.cutover.reset([]string{
				"ZooKeeper  " + m.conn.ZKServer,
				"Quorum     " + m.conn.Quorum,
				"State      a cutover was started and did not finish: ZooKeeper's controller role may already be the quorum's; confirm to finish it",
			})
			m.layout()
			return m.notice("a cutover is in progress: finish it"), m.cutover.focusCmd()
		}
		m.screen = scrPreflight
		m.layout()
		if msg.c.Phase != "" {
			m = m.notice(fmt.Sprintf("a migration is in progress (phase %s): the wizard resumes it", msg.c.Phase))
		}
		return m.startBusy("reading ZooKeeper and checking", checkCmd(m.ctx, m.driver))
	case checkedMsg:
		if msg.err != nil {
			return m.fail(fmt.Errorf("pre-flight: %w", msg.err)), nil
		}
		m.busy = ""
		m.preflight = newPreflightModel(m.st, msg.r)
		m.layout()
		return m, nil
	case plannedMsg:
		if msg.err != nil {
			return m.fail(fmt.Errorf("plan: %w", msg.err)), nil
		}
		m.busy = ""
		m.plan = newPlanModel(m.st, msg.p)
		m.screen = scrPlan
		m.layout()
		return m, nil
	case busyProgressMsg:
		m.busyProgress = msg.ev
		return m, nil
	case progressMsg:
		if m.screen == scrVerify || msg.ev.Phase == "verify" {
			m.verify.progress = msg.ev
			m.busyProgress = msg.ev
			return m, nil
		}
		m.copy = m.copy.event(msg.ev)
		return m, nil
	case copyDoneMsg:
		m.busy = ""
		if msg.err != nil {
			m.copy.err = msg.err.Error()
			return m.fail(fmt.Errorf("copy: %w", msg.err)), nil
		}
		m.copy.done = true
		return m.notice("copy complete: the quorum holds the snapshot's metadata"), nil
	case mirrorStartMsg:
		m.busy = ""
		if msg.err != nil {
			m.mirroring = false
			return m.fail(fmt.Errorf("dual-write: %w", msg.err)), nil
		}
		return m, nil
	case mirrorSampleMsg:
		m.mirror = m.mirror.sample(msg.s)
		return m, nil
	case verifiedMsg:
		m.busy = ""
		if msg.err != nil {
			return m.fail(fmt.Errorf("verify: %w", msg.err)), nil
		}
		m.verify = m.verify.result(msg.v)
		m.layout()
		if msg.v.Parity {
			return m.notice("parity verified: cutover is possible"), nil
		}
		return m, nil
	case cutoverMsg:
		m.busy = ""
		if msg.err != nil {
			return m.fail(fmt.Errorf("cutover: %w", msg.err)), nil
		}
		m.cutoverRes = msg.c
		m.screen = scrDone
		m.outcome = OutcomeCutover
		return m.notice("cutover complete: the quorum is authoritative"), nil
	case abortedMsg:
		m.busy = ""
		if msg.err != nil {
			return m.fail(fmt.Errorf("abort: %w", msg.err)), nil
		}
		m.screen = scrAborted
		m.outcome = OutcomeAborted
		return m.notice("aborted: ZooKeeper is as it was before the migration"), nil
	}
	return m, nil
}

func (m Model) key(k tea.KeyMsg) (Model, tea.Cmd) {
	s := k.String()
	// Dialogs first.
	switch m.dialog {
	case dlgQuit:
		switch s {
		case "y", "Y", "ctrl+c":
			m.dialog = dlgNone
			if m.outcome == OutcomeUndecided {
				m.outcome = OutcomeQuit
			}
			return m, tea.Quit
		case "n", "N", "esc":
			m.dialog = dlgNone
		}
		return m, nil
	case dlgAbort:
		switch s {
		case "y", "Y":
			m.dialog = dlgNone
			return m.startBusy("aborting: removing what the migration created", abortCmd(m.ctx, m.driver))
		case "n", "N", "esc", "ctrl+c":
			m.dialog = dlgNone
		}
		return m, nil
	}
	if s == "ctrl+c" {
		if m.screen == scrDone || m.screen == scrAborted {
			return m, tea.Quit
		}
		m.dialog = dlgQuit
		return m, nil
	}
	if m.busy != "" {
		// While a call runs only scrolling works.
		return m.screenKey(k, true)
	}
	return m.screenKey(k, false)
}

// abortAllowed: abort is offered on every screen after Connect and before the
// cutover is done.
func (m Model) abortAllowed() bool {
	return m.screen >= scrPreflight && m.screen <= scrCutover
}

func (m Model) screenKey(k tea.KeyMsg, busy bool) (Model, tea.Cmd) {
	s := k.String()
	if !busy && m.abortAllowed() && (s == "ctrl+x" || (s == "a" && m.screen != scrCutover)) {
		m.dialog = dlgAbort
		return m, nil
	}
	switch m.screen {
	case scrConnect:
		if busy {
			return m, nil
		}
		var submit bool
		var cmd tea.Cmd
		m.connect, submit, cmd = m.connect.update(k)
		if submit {
			m.status = ""
			return m.startBusy("testing the connection", connectCmd(m.ctx, m.driver, m.connect.settings()))
		}
		return m, cmd
	case scrPreflight:
		m.preflight = m.preflight.update(k)
		if busy {
			return m, nil
		}
		switch s {
		case "r":
			return m.startBusy("reading ZooKeeper and checking", checkCmd(m.ctx, m.driver))
		case "c":
			if m.preflight.report == nil {
				return m, nil
			}
			if m.preflight.report.HasBlockers() {
				return m.fail(fmt.Errorf("%d blocker(s): fix them and press r to check again", m.preflight.report.Summary.Blockers)), nil
			}
			return m.startBusy("planning", planCmd(m.ctx, m.driver))
		}
	case scrPlan:
		m.plan = m.plan.update(k)
		if !busy && s == "c" {
			m.screen = scrCopy
			m.copy = newCopyModel(m.st)
			return m.startBusy("copying", copyCmd(m.ctx, m.driver))
		}
	case scrCopy:
		if !busy && s == "c" && m.copy.done {
			m.screen = scrMirror
			m.mirroring = true
			return m.startBusy("starting the dual-write mirror", mirrorCmd(m.ctx, m.driver))
		}
		if !busy && s == "r" && !m.copy.done {
			m.copy = newCopyModel(m.st)
			return m.startBusy("copying (resuming)", copyCmd(m.ctx, m.driver))
		}
	case scrMirror:
		if !busy && s == "v" {
			m.screen = scrVerify
			return m.startBusy("verifying parity", verifyCmd(m.ctx, m.driver))
		}
	case scrVerify:
		m.verify = m.verify.update(k)
		if busy {
			return m, nil
		}
		switch s {
		case "r":
			return m.startBusy("verifying parity", verifyCmd(m.ctx, m.driver))
		case "d":
			m.screen = scrMirror
		case "c":
			if !m.verify.v.Parity {
				return m.fail(fmt.Errorf("no parity yet: cutover is refused until verify declares parity")), nil
			}
			m.screen = scrCutover
			m.cutover = m.cutover.reset(m.summary())
			m.layout()
			return m, m.cutover.focusCmd()
		}
	case scrCutover:
		if busy {
			return m, nil
		}
		if s == "esc" {
			m.screen = scrVerify
			return m, nil
		}
		var submit bool
		var cmd tea.Cmd
		m.cutover, submit, cmd = m.cutover.update(k)
		if submit {
			if !m.cutover.confirmed() {
				return m.fail(fmt.Errorf("the confirmation does not match the cluster id %s", m.conn.ClusterID)), cmd
			}
			return m.startBusy("cutting over", cutoverCmd(m.ctx, m.driver, m.cutover.input.Value()))
		}
		return m, cmd
	case scrDone, scrAborted:
		if s == "q" || s == "enter" {
			return m, tea.Quit
		}
	}
	return m, nil
}

// summary is what the cutover screen shows above the confirmation.
func (m Model) summary() []string {
	var out []string
	out = append(out, fmt.Sprintf("ZooKeeper  %s", m.conn.ZKServer))
	out = append(out, fmt.Sprintf("Quorum     %s", m.conn.Quorum))
	var objs []string
	for _, c := range m.plan.plan.Objects {
		objs = append(objs, fmt.Sprintf("%s %s", num(c.N), c.Name))
	}
	if len(objs) > 0 {
		out = append(out, "Copied     "+strings.Join(objs, ", "))
	}
	if l := m.mirror.last; l != nil && l.LagKnown {
		out = append(out, fmt.Sprintf("Mirror     %s changes mirrored, lag %s records (p99 %s)", num(l.Applied), num(l.LagRecords), dur(l.LagP99)))
	} else if l != nil {
		out = append(out, fmt.Sprintf("Mirror     %s records appended since dual-write started", num(l.Applied)))
	}
	out = append(out, fmt.Sprintf("Parity     verified over %s objects (%d sections)", num(int64(m.verify.v.Compared)), len(m.verify.v.Digests)))
	return out
}

// View renders the current screen, fitted to the terminal.
func (m Model) View() string {
	var b strings.Builder
	b.WriteString(m.header())
	b.WriteByte('\n')
	b.WriteString(m.st.rule.Render(strings.Repeat("─", m.width)))
	b.WriteByte('\n')
	bw, bh := m.bodySize()
	body := m.body(bw, bh)
	if m.dialog != dlgNone {
		body = m.dialogView(bw)
	}
	body = fit(body, bw, bh)
	lines := strings.Count(body, "\n") + 1
	b.WriteString(body)
	b.WriteString(strings.Repeat("\n", bh-lines+1))
	b.WriteString(m.statusLine())
	b.WriteByte('\n')
	b.WriteString(m.helpLine())
	return fit(b.String(), m.width, m.height)
}

func (m Model) header() string {
	parts := []string{m.st.title.Render("zk2kraft")}
	cur := int(m.screen)
	for i, n := range stepNames {
		switch {
		case m.screen == scrAborted:
			parts = append(parts, m.st.step.Render(n))
		case i < cur:
			parts = append(parts, m.st.stepDone.Render("✓"+n))
		case i == cur:
			parts = append(parts, m.st.stepCurrent.Render("["+n+"]"))
		default:
			parts = append(parts, m.st.step.Render(n))
		}
	}
	return strings.Join(parts, " ")
}

func (m Model) body(w, h int) string {
	switch m.screen {
	case scrConnect:
		return m.connect.view(w)
	case scrPreflight:
		if m.preflight.report == nil {
			return "\n  Reading the cluster's metadata from ZooKeeper and running the pre-flight checks…"
		}
		return m.preflight.view(w, h)
	case scrPlan:
		return m.plan.view(w, h)
	case scrCopy:
		return m.copy.view(w)
	case scrMirror:
		return m.mirror.view(w, h)
	case scrVerify:
		return m.verify.view(w, h)
	case scrCutover:
		return m.cutover.view(w)
	case scrDone:
		return m.doneView(w)
	case scrAborted:
		lines := append([]string{""}, wrap("The migration was aborted. Everything it created (the quorum's data, any znode it wrote) is removed, and ZooKeeper's /controller, /controller_epoch and /migration are as they were: a ZooKeeper-mode controller can take over again.", w, "  ")...)
		return strings.Join(append(lines, "", "  Press q to leave."), "\n")
	}
	return ""
}

func (m Model) doneView(w int) string {
	lines := []string{"", m.st.ok.Render("  ✓ Cutover complete.")}
	lines = append(lines, wrap(fmt.Sprintf("The quorum is the cluster's metadata authority now (controller epoch %d).", m.cutoverRes.ControllerEpoch), w, "  ")...)
	lines = append(lines, "")
	for _, l := range m.cutoverRes.Report {
		lines = append(lines, wrap(l, w, "  ")...)
	}
	lines = append(lines, "", "  Press q to leave.")
	return strings.Join(lines, "\n")
}

func (m Model) dialogView(w int) string {
	var lines []string
	switch m.dialog {
	case dlgQuit:
		lines = append(lines, "", m.st.label.Render("  Quit the wizard?"), "")
		lines = append(lines, wrap("The migration's state is kept in the quorum; nothing is rolled back. To resume, run:", w, "  ")...)
		lines = append(lines, "", "    "+m.driver.ResumeCommand(), "")
		lines = append(lines, "  "+m.st.key.Render("y")+" quit   "+m.st.key.Render("n")+" stay")
	case dlgAbort:
		lines = append(lines, "", m.st.bad.Render("  Abort the migration?"), "")
		lines = append(lines, wrap("This removes everything the migration created — the quorum's data and any znode it wrote — and leaves ZooKeeper exactly as it was (/controller, /controller_epoch and /migration included), so a ZooKeeper-mode controller can take over again.", w, "  ")...)
		lines = append(lines, "", "  "+m.st.key.Render("y")+" abort the migration   "+m.st.key.Render("n")+" keep going")
	}
	return strings.Join(lines, "\n")
}

func (m Model) statusLine() string {
	switch {
	case m.busy != "":
		line := " " + m.spin.View() + " " + m.busy + "…"
		if ev := m.busyProgress; ev.Done > 0 {
			line += " " + num(ev.Done)
			if ev.Total > 0 {
				line += "/" + num(ev.Total)
			}
			line += " " + ev.Unit + ", " + rate(ev.Rate)
			if ev.ETA > 0 {
				line += ", ETA " + dur(ev.ETA)
			}
		}
		return line
	case m.status != "" && m.statusBad:
		return m.st.bad.Render(" ✗ " + m.status)
	case m.status != "":
		return m.st.ok.Render(" " + m.status)
	case m.width < MinWidth || m.height < MinHeight:
		return m.st.warn.Render(fmt.Sprintf(" ! terminal is %dx%d; the wizard is laid out for %dx%d", m.width, m.height, MinWidth, MinHeight))
	}
	return ""
}

func (m Model) helpLine() string {
	type kh struct{ k, h string }
	var keys []kh
	switch m.dialog {
	case dlgQuit, dlgAbort:
		return m.st.dim.Render(" y yes • n no")
	}
	switch m.screen {
	case scrConnect:
		keys = []kh{{"tab", "next field"}, {"space", "toggle"}, {"enter", "test connection"}}
	case scrPreflight:
		keys = []kh{{"↑/↓", "select"}, {"enter", "expand"}, {"r", "re-check"}}
		if m.preflight.report != nil && !m.preflight.report.HasBlockers() {
			keys = append(keys, kh{"c", "continue"})
		}
	case scrPlan:
		keys = []kh{{"↑/↓ pgup/pgdn", "scroll preview"}, {"c", "start the copy"}}
	case scrCopy:
		if m.copy.done {
			keys = []kh{{"c", "start dual-write"}}
		} else if m.busy == "" {
			keys = []kh{{"r", "retry (resumes)"}}
		}
	case scrMirror:
		keys = []kh{{"v", "verify parity"}}
	case scrVerify:
		if !m.verify.digests && len(m.verify.v.Differences) > 0 {
			keys = append(keys, kh{"↑/↓", "browse"})
		}
		keys = append(keys, kh{"tab", "pane"}, kh{"r", "re-verify"}, kh{"d", "dual-write"})
		if m.verify.v.Parity {
			keys = append(keys, kh{"c", "cutover"})
		}
	case scrCutover:
		keys = []kh{{"enter", "confirm"}, {"esc", "back"}, {"ctrl+x", "abort"}}
	case scrDone, scrAborted:
		keys = []kh{{"q", "quit"}}
	}
	if m.abortAllowed() && m.screen != scrCutover {
		keys = append(keys, kh{"a", "abort"})
	}
	if m.screen != scrDone && m.screen != scrAborted {
		keys = append(keys, kh{"ctrl+c", "quit"})
	}
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = m.st.key.Render(k.k) + " " + m.st.dim.Render(k.h)
	}
	return " " + strings.Join(parts, m.st.dim.Render(" • "))
}
