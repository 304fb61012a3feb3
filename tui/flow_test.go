package tui

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/teatest"

	"github.com/zk2kraft/zk2kraft/translate"
)

// The tests in this file run the real bubbletea program loop (teatest) with
// the fake driver, so the commands, streams and key handling are exercised
// as in a terminal.

func startProgram(t *testing.T, d *fakeDriver, s Settings) (*teatest.TestModel, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	m := New(ctx, d, Options{Settings: s})
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(MinWidth, MinHeight))
	return tm, cancel
}

func waitFor(t *testing.T, tm *teatest.TestModel, want string) {
	t.Helper()
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte(want)) },
		teatest.WithDuration(5*time.Second), teatest.WithCheckInterval(5*time.Millisecond))
}

func typeInto(tm *teatest.TestModel, s string) {
	for _, r := range s {
		tm.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
	}
}

func finalModel(t *testing.T, tm *teatest.TestModel) Model {
	t.Helper()
	return tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(Model)
}

var validSettings = Settings{ZK: "127.0.0.1:2181/kafka", Quorum: "127.0.0.1:9190,127.0.0.1:9191"}

func TestFlowThroughCutover(t *testing.T) {
	d := &fakeDriver{parityAfter: 2}
	tm, _ := startProgram(t, d, validSettings)
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	waitFor(t, tm, "No blocker")
	typeInto(tm, "c")
	waitFor(t, tm, "Record preview")
	typeInto(tm, "c")
	waitFor(t, tm, "Copy complete")
	typeInto(tm, "c")
	waitFor(t, tm, "Changes per second")
	typeInto(tm, "v")
	waitFor(t, tm, "NO PARITY")
	typeInto(tm, "c") // refused: no parity
	waitFor(t, tm, "cutover is refused")
	typeInto(tm, "r")
	waitFor(t, tm, "PARITY —")
	typeInto(tm, "c")
	waitFor(t, tm, "POINT OF NO RETURN")
	typeInto(tm, "wrong-id")
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	waitFor(t, tm, "does not match")
	for range "wrong-id" {
		tm.Send(tea.KeyMsg{Type: tea.KeyBackspace})
	}
	typeInto(tm, fakeClusterID)
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	waitFor(t, tm, "Cutover complete")
	typeInto(tm, "q")
	fm := finalModel(t, tm)
	if fm.Outcome() != OutcomeCutover {
		t.Errorf("outcome %q, want %q", fm.Outcome(), OutcomeCutover)
	}
	calls := d.Calls()
	want := []string{"connect", "check", "plan", "copy", "mirror", "verify", "verify", "cutover"}
	if !slices.Equal(calls, want) {
		t.Errorf("driver calls %v, want %v (a wrong confirmation must not reach the driver)", calls, want)
	}
	if d.settings != validSettings {
		t.Errorf("driver got settings %+v, want %+v", d.settings, validSettings)
	}
}

func TestBlockersStopTheWizard(t *testing.T) {
	d := &fakeDriver{blockers: true}
	tm, _ := startProgram(t, d, validSettings)
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	waitFor(t, tm, "stop the migration")
	typeInto(tm, "c")
	waitFor(t, tm, "fix them and press r")
	tm.Send(tea.KeyMsg{Type: tea.KeyCtrlC})
	typeInto(tm, "y")
	fm := finalModel(t, tm)
	if fm.screen != scrPreflight {
		t.Errorf("screen %d, want pre-flight", fm.screen)
	}
	if slices.Contains(d.Calls(), "plan") {
		t.Errorf("plan was called despite blockers: %v", d.Calls())
	}
}

func TestCtrlCAsksAndKeepsState(t *testing.T) {
	d := &fakeDriver{}
	tm, _ := startProgram(t, d, validSettings)
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	waitFor(t, tm, "No blocker")
	tm.Send(tea.KeyMsg{Type: tea.KeyCtrlC})
	waitFor(t, tm, "Quit the wizard?")
	typeInto(tm, "n") // stay
	tm.Send(tea.WindowSizeMsg{Width: 100, Height: 30})
	typeInto(tm, "c")
	waitFor(t, tm, "Record preview")
	tm.Send(tea.KeyMsg{Type: tea.KeyCtrlC})
	waitFor(t, tm, "zk2kraft migrate --zk")
	typeInto(tm, "y")
	fm := finalModel(t, tm)
	if fm.Outcome() != OutcomeQuit {
		t.Errorf("outcome %q, want %q", fm.Outcome(), OutcomeQuit)
	}
	if fm.screen != scrPlan || fm.width != 100 || fm.height != 30 {
		t.Errorf("final screen %d at %dx%d, want the plan at 100x30", fm.screen, fm.width, fm.height)
	}
	if slices.Contains(d.Calls(), "abort") {
		t.Error("quitting aborted the migration")
	}
}

func TestAbortFromEveryStepBeforeCutover(t *testing.T) {
	// The keys that reach each screen, then abort.
	paths := map[string][]string{
		"preflight": {},
		"plan":      {"c"},
		"copy":      {"c", "c"},
		"mirror":    {"c", "c", "c"},
		"verify":    {"c", "c", "c", "v"},
	}
	waits := map[string]string{"preflight": "No blocker", "plan": "Record preview", "copy": "Copy complete", "mirror": "Changes per second", "verify": "NO PARITY"}
	for name, keys := range paths {
		t.Run(name, func(t *testing.T) {
			d := &fakeDriver{}
			tm, _ := startProgram(t, d, validSettings)
			tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
			waitFor(t, tm, "No blocker")
			for i, k := range keys {
				typeInto(tm, k)
				switch {
				case i == len(keys)-1:
				case k == "c" && i == 0:
					waitFor(t, tm, "Record preview")
				case k == "c" && i == 1:
					waitFor(t, tm, "Copy complete")
				case k == "c" && i == 2:
					waitFor(t, tm, "Changes per second")
				}
			}
			if len(keys) > 0 {
				waitFor(t, tm, waits[name])
			}
			typeInto(tm, "a")
			waitFor(t, tm, "Abort the migration?")
			typeInto(tm, "y")
			waitFor(t, tm, "was aborted")
			typeInto(tm, "q")
			fm := finalModel(t, tm)
			if fm.Outcome() != OutcomeAborted || !d.aborted {
				t.Errorf("outcome %q, driver aborted %v", fm.Outcome(), d.aborted)
			}
		})
	}
}

func TestConnectValidation(t *testing.T) {
	tests := []struct {
		name  string
		s     Settings
		field int
		want  string
	}{
		{"ok", Settings{ZK: "a:1,b:2/kafka", Quorum: "q:9190"}, -1, ""},
		{"ok local", Settings{ZK: "[::1]:2181", LocalQuorum: true}, -1, ""},
		{"zk required", Settings{Quorum: "q:1"}, fieldZK, "required"},
		{"zk port", Settings{ZK: "a:x", Quorum: "q:1"}, fieldZK, "port must be a number"},
		{"zk port range", Settings{ZK: "a:70000", Quorum: "q:1"}, fieldZK, "port must be a number"},
		{"zk no port", Settings{ZK: "a", Quorum: "q:1"}, fieldZK, "want HOST:PORT"},
		{"zk chroot slash", Settings{ZK: "a:1/kafka/", Quorum: "q:1"}, fieldZK, "must not end with /"},
		{"chroot relative", Settings{ZK: "a:1", Chroot: "kafka", Quorum: "q:1"}, fieldChroot, "must start with /"},
		{"chroot twice", Settings{ZK: "a:1/k1", Chroot: "/k2", Quorum: "q:1"}, fieldChroot, "already names chroot /k1"},
		{"chroot double slash", Settings{ZK: "a:1", Chroot: "/a//b", Quorum: "q:1"}, fieldChroot, "empty path element"},
		{"auth form", Settings{ZK: "a:1", Auth: "justuser", Quorum: "q:1"}, fieldAuth, "USER:PASSWORD"},
		{"tls key alone", Settings{ZK: "a:1", TLSKey: "k.pem", Quorum: "q:1"}, fieldTLSCert, "needs its certificate"},
		{"tls cert alone", Settings{ZK: "a:1", TLSCert: "c.pem", Quorum: "q:1"}, fieldTLSKey, "needs its key"},
		{"quorum required", Settings{ZK: "a:1"}, fieldQuorum, "or start a local quorum"},
		{"quorum bad", Settings{ZK: "a:1", Quorum: "q:1,q2"}, fieldQuorum, "want HOST:PORT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newConnectModel(newStyles(), tt.s)
			got := m.firstError()
			if got != tt.field {
				t.Fatalf("first invalid field %d (%q), want %d", got, m.errs, tt.field)
			}
			if tt.field >= 0 && !strings.Contains(m.errs[tt.field], tt.want) {
				t.Errorf("error %q, want it to contain %q", m.errs[tt.field], tt.want)
			}
			if tt.s.Auth != "" && strings.Contains(m.view(MinWidth), tt.s.Auth) {
				t.Error("the auth secret is shown")
			}
		})
	}
}

func TestEnterOnInvalidFormFocusesTheError(t *testing.T) {
	s := newSession(t, Settings{ZK: "a:1"})
	for i := 0; i < 3; i++ {
		s.key(tea.KeyTab)
	}
	s.key(tea.KeyEnter)
	if s.m.connect.focus != fieldQuorum {
		t.Errorf("focus %d after enter on an invalid form, want the quorum field", s.m.connect.focus)
	}
	if s.m.busy != "" {
		t.Error("the connection test started with an invalid form")
	}
}

func TestUpdateIsPure(t *testing.T) {
	// Updating a model must not change the value it was called on: screens
	// share no mutable state between model values.
	s := newSession(t, validSettings)
	s.send(connectedMsg{c: fakeConnection()}, checkedMsg{r: fakeReport(false)})
	before := s.m.View()
	_, _ = s.m.Update(tea.KeyMsg{Type: tea.KeyEnter})   // expand
	_, _ = s.m.Update(tea.KeyMsg{Type: tea.KeyDown})    // move
	_, _ = s.m.Update(progressMsg{fakeCopyEvents()[0]}) // progress
	_, _ = s.m.Update(mirrorSampleMsg{fakeSample(3)})   // sample
	_, _ = s.m.Update(tea.WindowSizeMsg{Width: 100, Height: 40})
	if after := s.m.View(); after != before {
		t.Errorf("Update changed the model it was called on:\n%s\n---\n%s", before, after)
	}
}

func TestChartScales(t *testing.T) {
	series := []MirrorStats{{ChangesPerSec: 0}, {ChangesPerSec: 50}, {ChangesPerSec: 100}, {ChangesPerSec: 1}}
	rows := chart(series, 2, 100)
	if len(rows) != 2 {
		t.Fatalf("%d rows", len(rows))
	}
	// Column 2 (peak) is full in both rows, column 1 (half) fills the bottom row, column 0 is empty,
	// column 3 (tiny but non-zero) shows the smallest block.
	if got := []rune(rows[0]); got[2] != '█' || got[0] != ' ' || got[1] != ' ' {
		t.Errorf("top row %q", rows[0])
	}
	if got := []rune(rows[1]); got[2] != '█' || got[1] != '█' || got[0] != ' ' || got[3] != '▁' {
		t.Errorf("bottom row %q", rows[1])
	}
}

func TestWrapAndFormat(t *testing.T) {
	lines := wrap("servers=127.0.0.1:9190,127.0.0.1:9191,127.0.0.1:9192 ok", 30, "  ")
	for _, l := range lines {
		if len(l) > 30 {
			t.Errorf("line %q longer than 30", l)
		}
	}
	if joined := strings.ReplaceAll(strings.Join(lines, ""), " ", ""); joined != "servers=127.0.0.1:9190,127.0.0.1:9191,127.0.0.1:9192ok" {
		t.Errorf("wrap lost text: %q", joined)
	}
	for in, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -4200: "-4,200"} {
		if got := num(in); got != want {
			t.Errorf("num(%d) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[time.Duration]string{850 * time.Millisecond: "850ms", 12300 * time.Millisecond: "12.3s", 245 * time.Second: "4m05s", 3720 * time.Second: "1h02m"} {
		if got := dur(in); got != want {
			t.Errorf("dur(%v) = %q, want %q", in, got, want)
		}
	}
}

func TestPlanMappings(t *testing.T) {
	kinds := kindCounts(map[string]int{"partitions": 30, "brokers": 3, "topics": 10, "zeta_things": 1, "acl_entries": 4})
	var names []string
	for _, c := range kinds {
		names = append(names, c.Name)
	}
	if want := []string{"brokers", "topics", "partitions", "acl entries", "zeta things"}; !slices.Equal(names, want) {
		t.Errorf("kind order %v, want %v", names, want)
	}
	recs := recordCounts(map[string]int{"TOPIC_RECORD": 10, "PARTITION_RECORD": 30, "CONFIG_RECORD": 10})
	if recs[0].Name != "PARTITION_RECORD" || recs[1].Name != "CONFIG_RECORD" || recs[2].Name != "TOPIC_RECORD" {
		t.Errorf("record order %v: want by count, then name", recs)
	}
	skips := groupSkips([]translate.Skip{
		{Path: "/a", Kind: "topic", Reason: "pending deletion"},
		{Path: "/b", Kind: "topic", Reason: "pending deletion"},
		{Path: "/c", Kind: "znode", Reason: "not migrated by Kafka"},
	})
	if len(skips) != 2 || skips[0].Count != 2 || skips[0].What != "topic" || skips[1].Reason != "not migrated by Kafka" {
		t.Errorf("grouped skips %+v", skips)
	}
}

// FuzzConnectForm: whatever is typed into the Connect form, validation never
// panics, the view fits 80 columns and the digest password is never shown.
func FuzzConnectForm(f *testing.F) {
	f.Add("zk1:2181,zk2:2181/kafka", "/kafka", "user:secret", "q:9190", false)
	f.Add("[::1]:2181", "", "", "", true)
	f.Add("a:99999//", "kafka/", "u", "q", false)
	f.Fuzz(func(t *testing.T, zk, chroot, auth, quorum string, local bool) {
		m := newConnectModel(newStyles(), Settings{ZK: zk, Chroot: chroot, Auth: auth, Quorum: quorum, LocalQuorum: local})
		m.setSize(MinWidth, MinHeight)
		v := m.view(MinWidth)
		if len(auth) >= 4 && !strings.ContainsAny(auth, "\n\r\t") && strings.Contains(v, auth) && !strings.Contains(fieldHints[fieldAuth]+zk+chroot+quorum, auth) {
			t.Fatalf("the auth value %q is shown", auth)
		}
		if m.firstError() < 0 && !local && strings.TrimSpace(quorum) == "" {
			t.Fatal("an empty quorum passed validation without a local quorum")
		}
	})
}

func TestResumeAfterCutoverStates(t *testing.T) {
	done := newSession(t, validSettings)
	c := fakeConnection()
	c.Phase = PhaseCutover
	done.send(connectedMsg{c: c})
	if done.m.screen != scrDone || done.m.Outcome() != OutcomeCutover || done.m.busy != "" {
		t.Errorf("state cutover: screen %d outcome %q busy %q, want the done screen", done.m.screen, done.m.Outcome(), done.m.busy)
	}
	started := newSession(t, validSettings)
	c.Phase = PhaseCutoverStarted
	started.send(connectedMsg{c: c})
	if started.m.screen != scrCutover || started.m.busy != "" {
		t.Fatalf("state cutover-started: screen %d busy %q, want the cutover confirmation", started.m.screen, started.m.busy)
	}
	if v := started.m.View(); !strings.Contains(v, "did not finish") || !strings.Contains(v, "POINT OF NO RETURN") {
		t.Errorf("cutover-started view:\n%s", v)
	}
}
