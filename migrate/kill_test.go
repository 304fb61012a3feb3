package migrate_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zk2kraft/zk2kraft/migrate"
	"github.com/zk2kraft/zk2kraft/testenv"
	"github.com/zk2kraft/zk2kraft/translate/batch"
	"github.com/zk2kraft/zk2kraft/translate/records"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testenv.RemoveBinaries()
	os.Exit(code)
}

// migrateArgs is the command line the test kills and reruns.
func migrateArgs(c *cluster, stateDir string) []string {
	args := []string{"migrate", "--zk", c.zk.Connect, "--quorum", strings.Join(c.lc.APIAddrs(), ","),
		"--yes", "--pass-through-encrypted-passwords", "--assign-topic-ids", "--max-batch-records", "40", "--kraft-controller-id", "3000",
		"--output", "json", "--log-level", "debug", "--verify-timeout", "30s"}
	if stateDir != "" {
		args = append(args, "--state-dir", stateDir)
	}
	return args
}

// runUntilLine starts the command and kills it with SIGKILL as soon as a
// stderr line contains marker. It reports whether the marker was seen.
func runUntilLine(t *testing.T, bin string, args []string, marker string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "ZK2KRAFT_CONFIG=/dev/null")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = &bytes.Buffer{}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	seen := false
	sc := bufio.NewScanner(stderr)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if containsAll(sc.Text(), strings.Split(marker, "|")) {
			cmd.Process.Signal(syscall.SIGKILL)
			seen = true
			break
		}
	}
	go func() {
		for sc.Scan() {
		}
	}()
	cmd.Wait()
	return seen
}

func containsAll(s string, subs []string) bool {
	for _, x := range subs {
		if !strings.Contains(s, x) {
			return false
		}
	}
	return true
}

// TestKillAtEachPhaseAndRerun kills `zk2kraft migrate` with SIGKILL at each
// phase in turn and shows that running the same command again finishes the
// migration with parity, with one copy in the quorum's log.
func TestKillAtEachPhaseAndRerun(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: needs ZooKeeper")
	}
	bin := testenv.Zk2kraftBinary(t)
	env := testenv.Start(t, testenv.Options{Nodes: 3})
	cases := []struct {
		name, marker string
		stateDir     bool
		wantAborts   int // AbortTransactionRecords in the log: a mid-copy kill without a saved snapshot restarts the copy
	}{
		{"check", "phase started|phase=check", false, 0},
		{"snapshot", "phase started|phase=snapshot", false, 0},
		{"translate", "phase started|phase=translate", false, 0},
		{"copy resumed from the saved snapshot", "copy batch committed|batch=5 ", true, 0},
		{"copy restarted from a new read", "copy batch committed|batch=5 ", false, 1},
		{"copied", "phase ended|phase=copy", false, 0},
		{"mirroring", "phase ended|phase=mirroring", false, 0},
		{"verified", "phase started|phase=verified", false, 0},
		{"cutover before the claim", "cutover started: past the point of no return", false, 0},
		{"cutover after the claim", "ZooKeeper controller role claimed", false, 0},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			chroot := "/kill" + string(rune('a'+i))
			c := newCluster(t, env, chroot, testenv.SeedSpec{Brokers: 3, Topics: 60, PartitionsPerTopic: 10, ReplicationFactor: 3, EdgeCases: true})
			state := ""
			if tc.stateDir {
				state = t.TempDir()
			}
			args := migrateArgs(c, state)
			if !runUntilLine(t, bin, args, tc.marker) {
				t.Fatalf("the run ended without logging %q", tc.marker)
			}
			st, err := migrate.LoadState(t.Context(), c.q)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("killed in state %q (copy batch %d of %d)", st.State, st.CopyNext, st.CopyTotal)
			rerun := exec.CommandContext(t.Context(), bin, args...)
			var stderr bytes.Buffer
			rerun.Stderr = &stderr
			out, err := rerun.Output()
			if err != nil {
				lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
				t.Fatalf("rerun: %v\n%s\nstderr (end):\n%s", err, out, strings.Join(lines[max(0, len(lines)-8):], "\n"))
			}
			var rep migrate.Report
			if err := json.Unmarshal(out, &rep); err != nil {
				t.Fatalf("rerun output: %v\n%s", err, out)
			}
			if rep.State != migrate.StateCutover || rep.Verify == nil || !rep.Verify.Parity {
				t.Fatalf("rerun ended in state %q, verify %+v", rep.State, rep.Verify)
			}
			assertParity(t, c, c.seeded)
			begins, aborts := countTransactions(t, c)
			if begins != tc.wantAborts+1 || aborts != tc.wantAborts {
				t.Errorf("log has %d \"ZK Migration\" transactions and %d aborts; want %d and %d", begins, aborts, tc.wantAborts+1, tc.wantAborts)
			}
		})
	}
}

// countTransactions reads the quorum's whole log and counts the copy's
// BeginTransactionRecords and the AbortTransactionRecords.
func countTransactions(t *testing.T, c *cluster) (begins, aborts int) {
	t.Helper()
	from := int64(0)
	for {
		data, next, err := c.q.Records(t.Context(), from, 0)
		if err != nil {
			t.Fatal(err)
		}
		for len(data) > 0 {
			b, n, err := batch.Decode(data)
			if err != nil {
				t.Fatal(err)
			}
			data = data[n:]
			recs, err := batch.DecodeRecords(&b)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range recs {
				switch r := v.Record.(type) {
				case *records.BeginTransactionRecord:
					if r.Name != nil && *r.Name == "ZK Migration" {
						begins++
					}
				case *records.AbortTransactionRecord:
					aborts++
				}
			}
		}
		if next <= from {
			return
		}
		from = next
	}
}
