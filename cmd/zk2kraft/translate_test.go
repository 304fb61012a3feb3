package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zk2kraft/zk2kraft/testenv"
	"github.com/zk2kraft/zk2kraft/translate/batch/checkpoint"
	"github.com/zk2kraft/zk2kraft/translate/records"
	"github.com/zk2kraft/zk2kraft/zkreader"
)

// edgeSnapshotFile saves translate's edge-case snapshot as a snapshot file.
func edgeSnapshotFile(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../translate/testdata/edge-snapshot.json")
	if err != nil {
		t.Fatal(err)
	}
	var s zkreader.Snapshot
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "edge.snap")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := zkreader.Save(f, &s); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

func runCLI(t *testing.T, args ...string) error {
	t.Helper()
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(&bytes.Buffer{})
	root.SetErr(&bytes.Buffer{})
	return root.ExecuteContext(context.Background())
}

func exitCodeOf(err error) int {
	var ee *exitError
	if err == nil {
		return 0
	}
	if errors.As(err, &ee) {
		return ee.code
	}
	return 2
}

func TestTranslateCLIJSON(t *testing.T) {
	snap := edgeSnapshotFile(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "records.jsonl")
	err := runCLI(t, "translate", "--snapshot", snap, "--output", "json", "--out", out, "--password-encoder-secret", "secret")
	// The edge snapshot has a topic without id: a blocker, exit code 1.
	if code := exitCodeOf(err); code != 1 {
		t.Fatalf("exit code %d (%v), want 1", code, err)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	counts := map[string]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var line struct {
			Type    string          `json:"type"`
			Version int             `json:"version"`
			Data    json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("not JSON: %s: %v", sc.Text(), err)
		}
		if _, err := records.UnmarshalJSONLine(sc.Bytes()); err != nil && !strings.Contains(sc.Text(), records.Redacted) {
			t.Fatalf("record does not parse back: %v", err)
		}
		counts[line.Type]++
		if strings.Contains(sc.Text(), "keystore-pw") || strings.Contains(sc.Text(), "YWxpY2Utc2FsdC0yNTY=") {
			t.Fatalf("secret shown without --show-secrets: %s", sc.Text())
		}
	}
	if counts["TOPIC_RECORD"] != 3 || counts["PARTITION_RECORD"] != 7 || counts["REGISTER_BROKER_RECORD"] != 5 || counts["ACCESS_CONTROL_ENTRY_RECORD"] != 27 {
		t.Fatalf("counts %v", counts)
	}
}

func TestTranslateCLICheckpointAndText(t *testing.T) {
	snap := edgeSnapshotFile(t)
	dir := t.TempDir()
	cp := filepath.Join(dir, "00000000000000000100-0000000000.checkpoint")
	if code := exitCodeOf(runCLI(t, "translate", "--snapshot", snap, "-o", "checkpoint", "--out", cp, "--password-encoder-secret", "secret")); code != 1 {
		t.Fatalf("exit code %d", code)
	}
	s, err := checkpoint.Read(cp)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Records) == 0 || s.Records[0].Record.TypeName() != "FEATURE_LEVEL_RECORD" {
		t.Fatalf("checkpoint records %d", len(s.Records))
	}
	want, err := os.ReadFile("../../translate/testdata/edge.checkpoint")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(cp)
	if !bytes.Equal(got, want) {
		t.Fatal("CLI checkpoint differs from translate's golden checkpoint")
	}
	// A directory gets Kafka's file name: end offset = records of the log.
	if code := exitCodeOf(runCLI(t, "translate", "--snapshot", snap, "-o", "checkpoint", "--out", dir, "--password-encoder-secret", "secret")); code != 1 {
		t.Fatalf("exit code %d", code)
	}
	named := filepath.Join(dir, "00000000000000000074-0000000000.checkpoint")
	if b, err := os.ReadFile(named); err != nil || !bytes.Equal(b, want) {
		t.Fatalf("checkpoint in directory: %v", err)
	}
	txt := filepath.Join(dir, "summary.txt")
	if code := exitCodeOf(runCLI(t, "translate", "--snapshot", snap, "--out", txt)); code != 1 {
		t.Fatalf("exit code %d", code)
	}
	b, _ := os.ReadFile(txt)
	for _, s := range []string{"password-config", "topic-without-id", "BLOCKED", "TOPIC_RECORD"} {
		if !strings.Contains(string(b), s) {
			t.Errorf("text summary lacks %q", s)
		}
	}
}

func TestTranslateCLIUsage(t *testing.T) {
	for _, args := range [][]string{
		{"translate"},
		{"translate", "--snapshot", "x", "--zk", "h:1"},
		{"translate", "--snapshot", "x", "-o", "yaml"},
		{"translate", "--snapshot", "x", "--metadata-version", "3.5"},
		{"translate", "--snapshot", "/nonexistent/file"},
	} {
		if code := exitCodeOf(runCLI(t, args...)); code != 2 {
			t.Errorf("%v: exit code %d, want 2", args, code)
		}
	}
}

// TestTranslateCLIReadsZooKeeperOnly runs the dry run against a seeded
// ensemble and checks that ZooKeeper was not written (its highest zxid is
// unchanged) and that the JSON covers the seeded cluster.
func TestTranslateCLIReadsZooKeeperOnly(t *testing.T) {
	if testing.Short() {
		t.Skip("needs ZooKeeper")
	}
	env := testenv.Start(t, testenv.Options{Nodes: 1})
	conn := env.Connect(t)
	seed, err := testenv.Seed(t.Context(), conn, testenv.SeedSpec{Preset: "small", Chroot: "/kafka"})
	if err != nil {
		t.Fatal(err)
	}
	// Every znode with its Stat (versions, mzxid, pzxid): a write anywhere
	// under the chroot changes it. (Session creation moves ZooKeeper's zxid,
	// so the highest zxid alone is not a proof.)
	state := func() string {
		s, err := zkreader.Read(t.Context(), zkreader.Options{Connect: env.ConnectString() + "/kafka"})
		if err != nil {
			t.Fatal(err)
		}
		s.TakenAt, s.MaxZxid = time.Time{}, 0
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	before := state()
	out := filepath.Join(t.TempDir(), "out.jsonl")
	err = runCLI(t, "translate", "--zk", env.ConnectString()+"/kafka", "-o", "json", "--out", out, "--pass-through-encrypted-passwords")
	if code := exitCodeOf(err); code != 1 { // the seeded cluster has topics without id
		t.Fatalf("exit code %d: %v", code, err)
	}
	if after := state(); after != before {
		t.Fatal("ZooKeeper was written: a znode or its Stat changed during translate")
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	n := strings.Count(string(b), `"type":"TOPIC_RECORD"`)
	want := 0
	pending := map[string]bool{}
	for _, p := range seed.PendingDeletions {
		pending[p] = true
	}
	for _, tp := range seed.Topics {
		if tp.TopicID != nil && !pending[tp.Name] {
			want++
		}
	}
	if n != want || want == 0 {
		t.Fatalf("%d TopicRecords, want %d", n, want)
	}
}
