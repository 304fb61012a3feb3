package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/zk2kraft/zk2kraft/testenv"
	"github.com/zk2kraft/zk2kraft/zkreader"
)

// colorSGR matches an SGR sequence that sets a foreground or background colour.
var colorSGR = regexp.MustCompile(`\x1b\[(?:[0-9]+;)*(?:3[0-8]|4[0-8]|9[0-7]|10[0-7])[;m]`)

// freeAddr returns a loopback address with a port free right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// buildBinary builds zk2kraft into a temp dir once per test binary run;
// TestMain removes it.
var builtBinary string

func TestMain(m *testing.M) {
	code := m.Run()
	if builtBinary != "" {
		os.RemoveAll(filepath.Dir(builtBinary))
	}
	os.Exit(code)
}

func buildBinary(t *testing.T) string {
	t.Helper()
	if builtBinary != "" {
		return builtBinary
	}
	dir, err := os.MkdirTemp("", "zk2kraft-bin-")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "zk2kraft")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	builtBinary = bin
	return bin
}

// tmuxSession is a detached tmux server of its own (its own socket), so the
// test never touches another tmux server; Close kills only it.
type tmuxSession struct {
	t      *testing.T
	socket string
	name   string
}

func startTmux(t *testing.T, width, height int, command string) *tmuxSession {
	t.Helper()
	s := &tmuxSession{t: t, socket: fmt.Sprintf("zk2kraft-test-%d-%d", os.Getpid(), time.Now().UnixNano()), name: "wizard"}
	s.run("new-session", "-d", "-s", s.name, "-x", fmt.Sprint(width), "-y", fmt.Sprint(height), command)
	t.Cleanup(func() { exec.Command("tmux", "-L", s.socket, "kill-server").Run() })
	return s
}

func (s *tmuxSession) run(args ...string) string {
	s.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-L", s.socket}, args...)...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("tmux %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func (s *tmuxSession) keys(keys ...string) {
	s.t.Helper()
	s.run(append([]string{"send-keys", "-t", s.name}, keys...)...)
}

func (s *tmuxSession) screen() string {
	s.t.Helper()
	return s.run("capture-pane", "-p", "-t", s.name)
}

// waitForFunc polls the screen until ok says so.
func (s *tmuxSession) waitForFunc(what string, timeout time.Duration, ok func(string) bool) string {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	var scr string
	for time.Now().Before(deadline) {
		if scr = s.screen(); ok(scr) {
			return scr
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.t.Fatalf("the wizard did not show %s within %s:\n%s", what, timeout, scr)
	return ""
}

// waitFor polls the screen until it shows want (or one of the fail texts).
func (s *tmuxSession) waitFor(want string, timeout time.Duration, fail ...string) string {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	var scr string
	for time.Now().Before(deadline) {
		scr = s.screen()
		if strings.Contains(scr, want) {
			return scr
		}
		for _, f := range fail {
			if strings.Contains(scr, f) {
				s.t.Fatalf("the wizard shows %q while waiting for %q:\n%s", f, want, scr)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.t.Fatalf("the wizard did not show %q within %s:\n%s", want, timeout, scr)
	return ""
}

// TestWizardEndToEnd drives the real `zk2kraft wizard` binary in tmux (an
// 80x24 terminal) against a seeded 3-node ZooKeeper ensemble and a local
// 3-node quorum, through the copy to verified parity and the typed cutover.
func TestWizardEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: needs ZooKeeper and tmux")
	}
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux not installed")
	}
	env := testenv.Start(t, testenv.Options{Nodes: 3})
	conn := env.Connect(t) // keeps the seeded brokers' ephemeral znodes alive
	seeded, err := testenv.Seed(t.Context(), conn, testenv.SeedSpec{Preset: "small", Chroot: "/kafka"})
	if err != nil {
		t.Fatal(err)
	}
	clusterID := seeded.ClusterID.ID
	bin := buildBinary(t)
	dir := t.TempDir()
	stdout, exitFile := filepath.Join(dir, "stdout.json"), filepath.Join(dir, "exit")
	zkConnect := env.ConnectString() + "/kafka"
	metricsAddr := freeAddr(t)
	cmd := fmt.Sprintf("env -u NO_COLOR -u CI TERM=xterm-256color %s wizard --metrics-addr "+metricsAddr+" --zk %s --local-quorum --state-dir %s --assign-topic-ids --pass-through-encrypted-passwords --kraft-controller-id 3000 --no-alt-screen --log-file %s -o json > %s; echo $? > %s; sleep 600",
		bin, zkConnect, filepath.Join(dir, "state"), filepath.Join(dir, "wizard.log"), stdout, exitFile)
	tm := startTmux(t, 80, 24, cmd)
	failTexts := []string{"✗ connection test", "✗ pre-flight", "✗ plan", "✗ copy", "✗ verify", "✗ cutover", "zk2kraft:"}

	scr := tm.waitFor("Where is the cluster?", 20*time.Second)
	if !strings.Contains(scr, zkConnect[:20]) {
		t.Errorf("the --zk flag is not filled in:\n%s", scr)
	}
	tm.keys("Enter")
	scr = tm.waitFor("No blocker", 90*time.Second, failTexts...)
	if !colorSGR.MatchString(tm.run("capture-pane", "-p", "-e", "-t", tm.name)) {
		t.Error("no colours on a 256-colour terminal without NO_COLOR")
	}
	if !strings.Contains(scr, "Cluster id "+clusterID) {
		t.Errorf("pre-flight does not name the cluster id %s:\n%s", clusterID, scr)
	}
	tm.keys("c")
	scr = tm.waitFor("Record preview", 60*time.Second, failTexts...)
	for _, want := range []string{"Objects", "Records", "PARTITION", "partitions"} {
		if !strings.Contains(scr, want) {
			t.Errorf("plan lacks %q:\n%s", want, scr)
		}
	}
	tm.keys("c")
	scr = tm.waitFor("Copy complete", 120*time.Second, failTexts...)
	if strings.Count(scr, "100%") < 3 {
		t.Errorf("copy screen: want three phases at 100%%:\n%s", scr)
	}
	tm.keys("c")
	tm.waitFor("Dual-write: every ZooKeeper change", 30*time.Second, failTexts...)
	scr = tm.waitFor("Changes per second", 30*time.Second, failTexts...)
	if strings.Contains(scr, "Lag          p50") {
		// The mirror reports its figures: change a topic config in ZooKeeper
		// for a while and watch the Dual-write screen count the changes.
		if len(seeded.TopicConfigs) == 0 {
			t.Fatal("the seed has no topic config to change")
		}
		path := "/kafka/config/topics/" + seeded.TopicConfigs[0].Name
		for i := 0; i < 20; i++ {
			data := fmt.Sprintf(`{"version":1,"config":{"retention.ms":"%d"}}`, 3600000+i)
			if _, err := conn.Set(path, []byte(data), -1); err != nil {
				t.Fatalf("churn: set %s: %v", path, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		scr = tm.waitForFunc("the mirrored changes counted", 20*time.Second, func(scr string) bool {
			return strings.Contains(scr, "Mirrored") && !strings.Contains(scr, "Mirrored     0 changes")
		})
	}
	t.Logf("dual-write:\n%s", scr)
	tm.keys("v")
	scr = tm.waitFor("✓ PARITY", 180*time.Second, append(failTexts, "NO PARITY")...)
	t.Logf("verified parity:\n%s", scr)
	// --metrics-addr serves the migration's figures while the wizard runs.
	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatalf("scrape --metrics-addr: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, re := range []string{`zk2kraft_phase\{phase="verified"\} 1`, `zk2kraft_parity_mismatches 0`, `zk2kraft_znodes_read_total [1-9]`,
		`zk2kraft_records_written_total\{type="[A-Za-z]+"\} [1-9]`, `zk2kraft_build_info\{`} {
		if !regexp.MustCompile(re).Match(body) {
			t.Errorf("/metrics lacks %s", re)
		}
	}
	for _, line := range strings.Split(scr, "\n") {
		if strings.Contains(line, "≠") {
			t.Errorf("a digest differs at parity: %s", line)
		}
	}
	tm.keys("c")
	tm.waitFor("POINT OF NO RETURN", 10*time.Second, failTexts...)
	tm.keys("-l", "not-the-id")
	tm.keys("Enter")
	tm.waitFor("does not match the cluster id", 10*time.Second)
	for range "not-the-id" {
		tm.keys("BSpace")
	}
	tm.keys("-l", clusterID)
	tm.waitFor("matches: enter cuts over", 10*time.Second)
	tm.keys("Enter")
	scr = tm.waitFor("Cutover complete", 120*time.Second, failTexts...)
	t.Logf("cutover:\n%s", scr)
	tm.keys("q")
	deadline := time.Now().Add(30 * time.Second)
	var code []byte
	for time.Now().Before(deadline) {
		if code, err = os.ReadFile(exitFile); err == nil && len(code) > 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if strings.TrimSpace(string(code)) != "0" {
		t.Fatalf("wizard exit code %q, want 0; screen:\n%s", code, tm.screen())
	}
	var res wizardResult
	data, _ := os.ReadFile(stdout)
	if err := json.Unmarshal(data, &res); err != nil || res.Outcome != "cutover" {
		t.Errorf("--output json printed %q (%v), want outcome cutover", data, err)
	}
	// The cutover is real: ZooKeeper's /controller is the quorum's and
	// /migration holds the quorum's offset.
	admin := env.Connect(t)
	cdata, cst, err := admin.Get("/kafka/controller")
	if err != nil {
		t.Fatal(err)
	}
	ctl, _ := zkreader.ParseController("/controller", cdata, zkreader.Stat{})
	if ctl == nil || !ctl.IsKRaft() || cst.EphemeralOwner != 0 {
		t.Errorf("/kafka/controller = %s, want the quorum's persistent KRaft controller", cdata)
	}
	mdata, _, err := admin.Get("/kafka/migration")
	if err != nil {
		t.Fatal(err)
	}
	if mig, _ := zkreader.ParseMigration("/migration", mdata, zkreader.Stat{}); mig == nil || !mig.Valid || mig.KRaftMetadataOffset <= 0 {
		t.Errorf("/kafka/migration = %s, want the quorum's offset", mdata)
	}
}

// TestWizardQuitKeepsState: `zk2kraft` with no arguments starts the wizard
// with settings from the environment and a config file; Ctrl-C asks; leaving
// keeps the migration's state, prints how to resume and exits 130.
func TestWizardQuitKeepsState(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: needs ZooKeeper and tmux")
	}
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux not installed")
	}
	env := testenv.Start(t, testenv.Options{Nodes: 1})
	conn := env.Connect(t)
	if _, err := testenv.Seed(t.Context(), conn, testenv.SeedSpec{Preset: "small"}); err != nil {
		t.Fatal(err)
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	stdout, exitFile := filepath.Join(dir, "stdout.json"), filepath.Join(dir, "exit")
	// zk2kraft with no arguments on a terminal starts the wizard; its
	// settings come from ZK2KRAFT_* variables and a config file.
	conf := filepath.Join(dir, "zk2kraft.conf")
	if err := os.WriteFile(conf, []byte("# wizard test\nlocal-quorum = true\nassign_topic_ids: true\noutput = json\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := fmt.Sprintf("NO_COLOR=1 ZK2KRAFT_CONFIG=%s ZK2KRAFT_ZK=%s ZK2KRAFT_STATE_DIR=%s ZK2KRAFT_PASS_THROUGH_ENCRYPTED_PASSWORDS=true %s > %s; echo $? > %s; sleep 600",
		conf, env.ConnectString(), filepath.Join(dir, "state"), bin, stdout, exitFile)
	tm := startTmux(t, 80, 24, cmd)
	scr := tm.waitFor("Where is the cluster?", 20*time.Second)
	if !strings.Contains(scr, "[x] start a local") || !strings.Contains(scr, env.ConnectString()) {
		t.Errorf("the settings from the environment and the config file are not filled in:\n%s", scr)
	}
	tm.keys("Enter")
	tm.waitFor("No blocker", 90*time.Second, "✗ connection test", "✗ pre-flight")
	if ansi := tm.run("capture-pane", "-p", "-e", "-t", tm.name); colorSGR.MatchString(ansi) {
		t.Errorf("colours despite NO_COLOR: %q", colorSGR.FindString(ansi))
	}
	tm.run("resize-window", "-t", tm.name, "-x", "100", "-y", "30")
	tm.waitFor("[Pre-flight]", 5*time.Second)
	tm.keys("C-c")
	tm.waitFor("Quit the wizard?", 5*time.Second)
	tm.keys("n")
	tm.waitFor("press c to see the plan", 5*time.Second)
	tm.keys("C-c")
	tm.waitFor("zk2kraft migrate --zk", 5*time.Second)
	tm.keys("y")
	deadline := time.Now().Add(20 * time.Second)
	var code []byte
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(exitFile); err == nil && len(b) > 0 {
			code = b
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if strings.TrimSpace(string(code)) != "130" {
		t.Fatalf("exit code %q, want 130; screen:\n%s", code, tm.screen())
	}
	var res wizardResult
	data, _ := os.ReadFile(stdout)
	if err := json.Unmarshal(data, &res); err != nil || res.Outcome != "quit" || !strings.Contains(res.ResumeCommand, "zk2kraft migrate --zk "+env.ConnectString()) {
		t.Errorf("--output json printed %q (%v), want outcome quit with the resume command", data, err)
	}
}
