package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zk2kraft/zk2kraft/preflight"
	"github.com/zk2kraft/zk2kraft/testenv"
	"github.com/zk2kraft/zk2kraft/zkreader"
)

// runZKCmd runs zk2kraft in-process and returns stdout, the exit code and the error text.
func runZKCmd(t *testing.T, args ...string) (string, int, string) {
	t.Helper()
	root := newRootCmd()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	globals = globalOptions{} // flags bind to globals; reset between runs
	if err == nil {
		return out.String(), 0, ""
	}
	code := 2
	var ee *exitError
	if errors.As(err, &ee) {
		code = ee.code
	}
	return out.String(), code, err.Error()
}

func TestSnapshotAndCheckCLI(t *testing.T) {
	env := testenv.Start(t, testenv.Options{Nodes: 1})
	conn := env.Connect(t)
	ctx := context.Background()
	seeded, err := testenv.Seed(ctx, conn, testenv.SeedSpec{Preset: "small", Chroot: "/k"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := testenv.Seed(ctx, conn, testenv.SeedSpec{Topics: 2, Chroot: "/m", Migration: "null"}); err != nil {
		t.Fatal(err)
	}
	if _, err := testenv.Seed(ctx, conn, testenv.SeedSpec{Topics: 2, Chroot: "/sec", DigestAuth: "kafka:hunter2"}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "snap.zk2k")

	// snapshot, JSON summary
	out, code, msg := runZKCmd(t, "snapshot", "--zk", env.ConnectString()+"/k", "--out", file, "-o", "json")
	if code != 0 {
		t.Fatalf("snapshot exit %d: %s", code, msg)
	}
	var sum snapshotSummary
	if err := json.Unmarshal([]byte(out), &sum); err != nil {
		t.Fatalf("snapshot JSON: %v\n%s", err, out)
	}
	if sum.File != file || sum.Topics != len(seeded.Topics) || sum.Brokers != len(seeded.Brokers) || sum.ZnodesRead == 0 || sum.MaxZxid == 0 || sum.Partitions == 0 {
		t.Fatalf("summary %+v", sum)
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := zkreader.Load(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if d := testenv.DiffSnapshots(seeded, loaded); len(d) > 0 {
		t.Fatalf("snapshot file differs from the seed: %v", d)
	}

	// check from the file: the small preset has topics without ids (blocker)
	out, code, _ = runZKCmd(t, "check", "--snapshot", file, "-o", "json")
	var rep preflight.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("check JSON: %v\n%s", err, out)
	}
	if code != 1 || rep.OK || rep.Summary.Blockers == 0 {
		t.Fatalf("check exit %d, report %+v", code, rep.Summary)
	}
	has := func(r preflight.Report, c string) bool {
		for _, f := range r.Findings {
			if f.Code == c {
				return f.Remedy != "" && f.Path != ""
			}
		}
		return false
	}
	for _, c := range []string{preflight.CodeTopicWithoutID, preflight.CodePendingDeletion, preflight.CodeReassignment, preflight.CodeOfflinePartition, preflight.CodePasswordConfigs} {
		if !has(rep, c) {
			t.Errorf("check report lacks %s", c)
		}
	}
	// with --assign-topic-ids the missing ids are warnings; exit code follows the report
	out, code, _ = runZKCmd(t, "check", "--snapshot", file, "--assign-topic-ids", "-o", "json")
	rep = preflight.Report{}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if (code == 0) != rep.OK {
		t.Fatalf("exit %d with ok=%v: %+v", code, rep.OK, rep.Findings)
	}

	// check online: a /migration znode with null data is a blocker
	out, code, _ = runZKCmd(t, "check", "--zk", env.ConnectString(), "--chroot", "/m", "-o", "json")
	rep = preflight.Report{}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("check JSON: %v\n%s", err, out)
	}
	if code != 1 || !has(rep, preflight.CodeMigrationZnodeInvalid) {
		t.Fatalf("exit %d, findings %+v", code, rep.Findings)
	}

	// text output names the finding and its remedy
	out, code, _ = runZKCmd(t, "check", "--zk", env.ConnectString()+"/m")
	if code != 1 || !strings.Contains(out, preflight.CodeMigrationZnodeInvalid) || !strings.Contains(out, "remedy:") || !strings.Contains(out, "NOT READY") {
		t.Fatalf("text output (exit %d):\n%s", code, out)
	}

	// digest auth: right password reads, wrong one fails without echoing it
	if _, code, msg := runZKCmd(t, "snapshot", "--zk", env.ConnectString()+"/sec", "--zk-auth", "digest:kafka:hunter2", "--out", filepath.Join(dir, "sec"), "-o", "json"); code != 0 {
		t.Fatalf("auth snapshot exit %d: %s", code, msg)
	}
	t.Setenv(zkAuthEnv, "digest:kafka:wrong-hunter2")
	out, code, msg = runZKCmd(t, "check", "--zk", env.ConnectString()+"/sec", "-o", "json")
	if code != 2 || strings.Contains(out+msg, "hunter2") {
		t.Fatalf("wrong password: exit %d, output %q, error %q", code, out, msg)
	}

	// could not run: exit 2
	for _, args := range [][]string{
		{"check"},
		{"check", "--snapshot", filepath.Join(dir, "missing")},
		{"check", "--zk", "127.0.0.1:1", "--zk-session-timeout", "1s"},
		{"snapshot", "--zk", env.ConnectString()},
		{"snapshot", "--zk", env.ConnectString(), "--out", file, "--read-mode", "fast"},
		{"snapshot", "--zk", env.ConnectString(), "--out", file, "--zk-auth", "kafka:secretpw"},
	} {
		_, code, msg := runZKCmd(t, args...)
		if code != 2 || msg == "" || strings.Contains(msg, "secretpw") {
			t.Errorf("%v: exit %d, error %q", args, code, msg)
		}
	}
	// a corrupted snapshot file is rejected clearly
	b, _ := os.ReadFile(file)
	b[len(b)/2] ^= 1
	bad := filepath.Join(dir, "bad.zk2k")
	os.WriteFile(bad, b, 0o644)
	if _, code, msg := runZKCmd(t, "check", "--snapshot", bad); code != 2 || !strings.Contains(msg, "bad.zk2k") {
		t.Fatalf("corrupted file: exit %d, %q", code, msg)
	}
}
