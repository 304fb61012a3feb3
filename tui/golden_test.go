package tui

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"

	"github.com/zk2kraft/zk2kraft/progress"
)

// updating: -update (the flag is defined by x/exp/golden, which teatest
// imports) rewrites testdata/*.golden and SCREENS.md.
func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

func TestMain(m *testing.M) {
	// Golden frames are plain text: the NO_COLOR rendering.
	lipgloss.SetColorProfile(termenv.Ascii)
	os.Exit(m.Run())
}

// frame is one golden frame: a screen in a given state.
type frame struct {
	name, caption string
	view          string
	width, height int
	model         Model
}

// session drives a model with key presses and fake driver events, without a
// terminal, and records frames.
type session struct {
	t      *testing.T
	m      Model
	d      *fakeDriver
	frames []frame
}

func newSession(t *testing.T, s Settings) *session {
	d := &fakeDriver{parityAfter: 2}
	m := New(context.Background(), d, Options{Settings: s})
	ss := &session{t: t, m: m, d: d}
	ss.send(tea.WindowSizeMsg{Width: MinWidth, Height: MinHeight})
	return ss
}

// send applies messages; commands are not run (their results are sent
// explicitly, as fake events), except that the last command is kept for
// inspection.
func (s *session) send(msgs ...tea.Msg) tea.Cmd {
	var cmd tea.Cmd
	for _, msg := range msgs {
		next, c := s.m.Update(msg)
		s.m = next.(Model)
		cmd = c
	}
	return cmd
}

func (s *session) typeText(text string) {
	for _, r := range text {
		if r == ' ' {
			s.send(tea.KeyMsg{Type: tea.KeySpace, Runes: []rune{' '}})
			continue
		}
		s.send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
	}
}

func (s *session) key(t tea.KeyType) tea.Cmd { return s.send(tea.KeyMsg{Type: t}) }

func (s *session) snap(name, caption string) {
	s.t.Helper()
	v := s.m.View()
	s.checkFits(name, v)
	s.frames = append(s.frames, frame{name: name, caption: caption, view: v, width: s.m.width, height: s.m.height, model: s.m})
}

// checkFits asserts the frame fits the terminal: no line wider, no more lines.
func (s *session) checkFits(name, v string) {
	s.t.Helper()
	lines := strings.Split(v, "\n")
	if len(lines) > s.m.height {
		s.t.Errorf("%s: %d lines on a %d-line terminal", name, len(lines), s.m.height)
	}
	for i, l := range lines {
		if w := ansi.StringWidth(l); w > s.m.width {
			s.t.Errorf("%s: line %d is %d cells wide on a %d-cell terminal: %q", name, i+1, w, s.m.width, l)
		}
	}
}

// wizardFrames walks the whole wizard and returns its frames in order.
func wizardFrames(t *testing.T) []frame {
	s := newSession(t, Settings{})
	s.snap("01-connect-empty", "Connect: the form as it opens with no settings; required fields are marked.")
	s.typeText("zk1:21a")
	s.snap("02-connect-invalid", "Connect: validation as you type (a bad port in the connect string).")
	s.key(tea.KeyBackspace)
	s.typeText("81,zk2:2181/kafka")
	s.key(tea.KeyTab)
	s.key(tea.KeyTab)
	s.typeText("admin:s3cret")
	for i := 0; i < 5; i++ {
		s.key(tea.KeyTab)
	}
	s.send(tea.KeyMsg{Type: tea.KeySpace, Runes: []rune{' '}})
	s.snap("03-connect-filled", "Connect: a valid form with digest auth (hidden) and \"start a local quorum\" ticked.")
	s.key(tea.KeyEnter)
	s.snap("04-connect-testing", "Connect: the connection test runs (spinner).")
	s.send(connectedMsg{c: fakeConnection()})
	s.send(busyProgressMsg{progress.Event{Phase: "check", Unit: "znodes", Done: 61234, Total: 160000, Rate: 24500, ETA: 4 * time.Second}})
	s.snap("05-preflight-reading", "Pre-flight: reading ZooKeeper, with the read's progress.")
	s.send(checkedMsg{r: fakeReport(true)})
	s.key(tea.KeyEnter)
	s.snap("06-preflight-blockers", "Pre-flight: findings grouped by severity, a blocker expanded to its znodes and remedy; blockers stop the wizard.")
	s.typeText("c")
	s.snap("07-preflight-blocked", "Pre-flight: trying to continue past a blocker is refused.")
	s.typeText("r")
	s.send(checkedMsg{r: fakeReport(false)})
	s.key(tea.KeyDown)
	s.key(tea.KeyEnter)
	s.snap("08-preflight-warnings", "Pre-flight: no blocker; a warning expanded (field, expected value, remedy).")
	s.typeText("c")
	s.send(plannedMsg{p: fakePlan()})
	s.key(tea.KeyDown)
	s.key(tea.KeyDown)
	s.snap("09-plan", "Plan: counts per object kind and record type, what is skipped and why, the estimate, a scrollable record preview (secrets redacted).")
	s.typeText("c")
	for _, ev := range fakeCopyEvents() {
		s.send(progressMsg{ev})
	}
	s.snap("10-copy-progress", "Copy: one progress bar per phase with counts, rate and ETA (fake progress events).")
	ev := fakeCopyEvents()[3]
	ev.Done, ev.Final, ev.Elapsed, ev.ETA = ev.Total, true, 1650e6, 0
	s.send(progressMsg{ev}, copyDoneMsg{})
	s.snap("11-copy-done", "Copy: every phase done.")
	s.typeText("c")
	s.send(mirrorStartMsg{})
	for i := 0; i < 90; i++ {
		s.send(mirrorSampleMsg{fakeSample(i)})
	}
	s.snap("12-dual-write", "Dual-write: lag p50/p99, backlog, reconnects and changes per second over time.")
	s.typeText("a")
	s.snap("13-abort-dialog", "Abort is offered on every screen before cutover.")
	s.typeText("n")
	s.typeText("v")
	s.send(verifiedMsg{v: fakeVerification(false)})
	s.key(tea.KeyDown)
	s.snap("14-verify-differences", "Verify: no parity yet; the differences in a browsable table (the selected one in full below), digests per section.")
	s.key(tea.KeyTab)
	s.snap("15-verify-digests", "Verify: the digests per section, to compare two runs at a glance (tab switches panes).")
	s.key(tea.KeyTab)
	s.send(tea.WindowSizeMsg{Width: 120, Height: 32})
	s.snap("16-resize-120x32", "The same screen after the terminal grew to 120x32.")
	s.send(tea.WindowSizeMsg{Width: 64, Height: 18})
	s.snap("17-resize-64x18", "... and shrank below 80x24: cut cleanly, with a notice.")
	s.send(tea.WindowSizeMsg{Width: MinWidth, Height: MinHeight})
	s.typeText("c")
	s.snap("18-verify-refused", "Verify: cutover is refused without parity.")
	s.typeText("r")
	s.send(verifiedMsg{v: fakeVerification(true)})
	s.snap("19-verify-parity", "Verify: parity.")
	s.typeText("c")
	s.typeText("MkU3OEVBNTcw")
	s.snap("20-cutover-typing", "Cutover: the summary and the typed confirmation of the cluster id (the point of no return).")
	s.typeText("NTJENDM2Qg")
	s.snap("21-cutover-confirmed", "Cutover: the confirmation matches.")
	s.send(tea.KeyMsg{Type: tea.KeyCtrlC})
	s.snap("22-quit-dialog", "Ctrl-C asks; the migration's state is kept and `zk2kraft migrate` resumes it.")
	s.typeText("n")
	s.key(tea.KeyEnter)
	s.send(cutoverMsg{c: Cutover{ControllerEpoch: 43, Report: []string{
		"Point the brokers at the new controllers: controller.quorum.bootstrap.servers=127.0.0.1:9190,127.0.0.1:9191,127.0.0.1:9192",
		"Phases: check 0.2s, snapshot 4.1s, translate 0.1s, copy 1.7s, mirroring 3m12s, verified 2.3s, cutover 0.4s",
	}}})
	s.snap("23-done", "Done: the cutover report.")
	a := newSession(t, Settings{ZK: "127.0.0.1:2181", Quorum: "127.0.0.1:9190"})
	a.key(tea.KeyEnter)
	a.send(connectedMsg{c: fakeConnection()}, checkedMsg{r: fakeReport(false)})
	a.typeText("a")
	a.typeText("y")
	a.send(abortedMsg{})
	a.snap("24-aborted", "After an abort: ZooKeeper is as it was.")
	e := newSession(t, Settings{ZK: "127.0.0.1:2181", Quorum: "127.0.0.1:9190"})
	e.key(tea.KeyEnter)
	e.send(connectedMsg{err: errors.New("dial 127.0.0.1:2181: connection refused")})
	e.snap("25-connect-error", "Connect: a failed connection test says why and stays on the form.")
	return append(append(s.frames, a.frames...), e.frames...)
}

func TestGoldenFrames(t *testing.T) {
	frames := wizardFrames(t)
	for _, f := range frames {
		path := filepath.Join("testdata", f.name+".golden")
		if updating() {
			if err := os.MkdirAll("testdata", 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(f.view), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go generate ./tui/ to create the golden frames)", err)
		}
		if string(want) != f.view {
			t.Errorf("frame %s differs from %s (go generate ./tui/ regenerates):\n--- got ---\n%s\n--- want ---\n%s", f.name, path, f.view, want)
		}
	}
	if updating() {
		if err := os.WriteFile("SCREENS.md", []byte(screensDoc(frames)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestScreensDocUpToDate: SCREENS.md is exactly what the golden frames give.
func TestScreensDocUpToDate(t *testing.T) {
	if updating() {
		t.Skip("being regenerated")
	}
	got, err := os.ReadFile("SCREENS.md")
	if err != nil {
		t.Fatal(err)
	}
	if want := screensDoc(wizardFrames(t)); string(got) != want {
		t.Error("SCREENS.md is stale: run go generate ./tui/")
	}
}

func screensDoc(frames []frame) string {
	var b strings.Builder
	b.WriteString("# The wizard's screens\n\n")
	b.WriteString("<!-- Generated by `go generate ./tui/` from tui/testdata/*.golden (the golden frames of\n")
	b.WriteString("     TestGoldenFrames, rendered without colour as under NO_COLOR). Do not edit. -->\n\n")
	b.WriteString("`zk2kraft wizard` (or `zk2kraft` with no arguments on a terminal) walks through the migration.\n")
	b.WriteString("These captures are the wizard's real output, driven by key presses and fake progress events.\n\n")
	for _, f := range frames {
		fmt.Fprintf(&b, "## %s\n\n%s (%dx%d)\n\n```text\n%s\n```\n\n", strings.TrimLeft(f.name, "0123456789-"), f.caption, f.width, f.height, f.view)
	}
	return b.String()
}

// TestViewFitsEverySize renders every frame's state at sizes from tiny to
// large: no panic, never wider or taller than the terminal.
func TestViewFitsEverySize(t *testing.T) {
	sizes := [][2]int{{1, 1}, {5, 2}, {20, 5}, {40, 10}, {79, 23}, {80, 24}, {81, 25}, {132, 43}, {250, 80}}
	for _, f := range wizardFrames(t) {
		for _, sz := range sizes {
			next, _ := f.model.Update(tea.WindowSizeMsg{Width: sz[0], Height: sz[1]})
			v := next.(Model).View()
			lines := strings.Split(v, "\n")
			if len(lines) > sz[1] {
				t.Errorf("%s at %dx%d: %d lines", f.name, sz[0], sz[1], len(lines))
			}
			for i, l := range lines {
				if w := ansi.StringWidth(l); w > sz[0] {
					t.Errorf("%s at %dx%d: line %d is %d wide", f.name, sz[0], sz[1], i+1, w)
				}
			}
		}
	}
}
