package datadir_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zk2kraft/zk2kraft/testenv"
	"github.com/zk2kraft/zk2kraft/zkreader"
	"github.com/zk2kraft/zk2kraft/zkreader/datadir"
)

// stable blanks what legitimately differs between two reads of the same tree.
func stable(s *zkreader.Snapshot) *zkreader.Snapshot {
	c := *s
	c.TakenAt, c.MaxZxid, c.Source = time.Time{}, 0, ""
	return &c
}

// sameModel fails unless the two snapshots are deep-equal (Stats and
// findings included), showing the first differing lines of their JSON.
func sameModel(t *testing.T, what string, want, got *zkreader.Snapshot) {
	t.Helper()
	w, g := stable(want), stable(got)
	if reflect.DeepEqual(w, g) {
		return
	}
	wj, _ := json.MarshalIndent(w, "", " ")
	gj, _ := json.MarshalIndent(g, "", " ")
	wl, gl := strings.Split(string(wj), "\n"), strings.Split(string(gj), "\n")
	var out []string
	for i := 0; i < max(len(wl), len(gl)) && len(out) < 20; i++ {
		var a, b string
		if i < len(wl) {
			a = wl[i]
		}
		if i < len(gl) {
			b = gl[i]
		}
		if a != b {
			out = append(out, fmt.Sprintf("line %d: online %s | offline %s", i+1, strings.TrimSpace(a), strings.TrimSpace(b)))
		}
	}
	t.Fatalf("%s: offline model differs from the online read:\n%s\n%s", what, strings.Join(testenv.DiffSnapshots(w, g), "\n"), strings.Join(out, "\n"))
}

// waitSynced waits until every node reports the same zxid twice in a row.
func waitSynced(t *testing.T, env *testenv.Env) {
	t.Helper()
	prev := ""
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		st := env.Status(context.Background())
		z, same := st[0].Zxid, true
		for _, s := range st {
			same = same && s.Zxid == z && z != ""
		}
		if same && z == prev {
			return
		}
		if same {
			prev = z
		}
		time.Sleep(300 * time.Millisecond)
	}
	t.Fatalf("nodes never agreed on a zxid: %+v", env.Status(context.Background()))
}

func copyDir(t testing.TB, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		out := filepath.Join(dst, rel)
		if fi.IsDir() {
			return os.MkdirAll(out, 0o755)
		}
		if !fi.Mode().IsRegular() {
			return nil
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		o, err := os.Create(out)
		if err != nil {
			return err
		}
		if _, err := io.Copy(o, in); err != nil {
			o.Close()
			return err
		}
		return o.Close()
	})
	if err != nil {
		t.Fatalf("copy %s: %v", src, err)
	}
}

func files(t *testing.T, dir, prefix string) []string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, "version-2", prefix+".*"))
	return m
}

// TestIntegrationDataDir seeds an ensemble that snapshots every few dozen
// transactions, churns it, and checks that reading a node's data dir (a
// copy, and the live dir) gives exactly the model of an online read of the
// same tree — Stats and findings included — also at an earlier zxid, with
// a torn log tail, and with corrupted files.
func TestIntegrationDataDir(t *testing.T) {
	if testing.Short() {
		t.Skip("needs ZooKeeper")
	}
	env := testenv.Start(t, testenv.Options{Nodes: 3, SnapCount: 40})
	conn := env.Connect(t)
	ctx := context.Background()
	want, err := testenv.Seed(ctx, conn, testenv.SeedSpec{Preset: "small", Topics: 60, PartitionsPerTopic: 20, Chroot: "/kafka"})
	if err != nil {
		t.Fatal(err)
	}
	churn := func(n int, seed uint64) *testenv.ChurnLog {
		log, err := testenv.Churn(ctx, conn, want, testenv.ChurnOptions{Rate: 400, MaxChanges: n, Seed: seed})
		if err != nil {
			t.Fatalf("churn: %v", err)
		}
		return log
	}
	online := func() *zkreader.Snapshot {
		waitSynced(t, env)
		s, err := zkreader.Read(ctx, zkreader.Options{Connect: env.ConnectString() + "/kafka"})
		if err != nil {
			t.Fatal(err)
		}
		if d := testenv.DiffSnapshots(want, s); len(d) > 0 {
			t.Fatalf("online read differs from the seeder's record: %v", d)
		}
		return s
	}
	churn(150, 1)
	mid := online()
	midCopy := t.TempDir()
	copyDir(t, env.DataDir(2), midCopy)
	churnLog := churn(150, 2)
	end := online()
	endCopy := t.TempDir()
	copyDir(t, env.DataDir(2), endCopy)
	if n := len(files(t, endCopy, "snapshot")); n < 3 {
		t.Fatalf("only %d snapshots written; the test wants several", n)
	}
	t.Logf("snapshots %d, logs %d, topics %d", len(files(t, endCopy, "snapshot")), len(files(t, endCopy, "log")), len(end.Topics))

	read := func(t *testing.T, o datadir.Options) (*zkreader.Snapshot, *datadir.Report) {
		t.Helper()
		o.Chroot = "/kafka"
		s, rep, err := datadir.Read(ctx, o)
		if err != nil {
			t.Fatalf("offline read: %v", err)
		}
		t.Logf("report: snapshot %s zxid %#x, %d logs, %d txns, at %#x, torn %q, skipped %v",
			filepath.Base(rep.Snapshot), rep.SnapshotZxid, len(rep.Logs), rep.Txns, rep.Zxid, rep.TornTail, rep.Skipped)
		return s, rep
	}

	t.Run("copy", func(t *testing.T) {
		got, rep := read(t, datadir.Options{DataDir: endCopy})
		sameModel(t, "copy", end, got)
		if got.ZnodesRead != end.ZnodesRead || got.MaxZxid != rep.Zxid {
			t.Fatalf("znodes %d (online %d), MaxZxid %#x, report zxid %#x", got.ZnodesRead, end.ZnodesRead, got.MaxZxid, rep.Zxid)
		}
		last := churnLog.Events[len(churnLog.Events)-1].Zxid
		if rep.Zxid < last {
			t.Fatalf("zxid reached %#x: want at least the last write's %#x", rep.Zxid, last)
		}
		if rep.Txns == 0 || !strings.HasPrefix(got.Source, "datadir:") {
			t.Fatalf("no transactions replayed (%d) or source %q", rep.Txns, got.Source)
		}
	})
	t.Run("mid-copy", func(t *testing.T) {
		got, _ := read(t, datadir.Options{DataDir: midCopy})
		sameModel(t, "mid copy", mid, got)
	})
	t.Run("live", func(t *testing.T) {
		for i := 1; i <= 3; i++ {
			got, _ := read(t, datadir.Options{DataDir: env.DataDir(i)})
			sameModel(t, fmt.Sprintf("live node %d", i), end, got)
		}
	})
	t.Run("at-zxid", func(t *testing.T) {
		// the tree at the mid read's zxid, from the end's files
		got, rep := read(t, datadir.Options{DataDir: endCopy, AtZxid: mid.MaxZxid})
		sameModel(t, "at-zxid", mid, got)
		if rep.Zxid > mid.MaxZxid {
			t.Fatalf("replay went to %#x past --at-zxid %#x", rep.Zxid, mid.MaxZxid)
		}
		if _, _, err := datadir.Read(ctx, datadir.Options{DataDir: endCopy, Chroot: "/kafka", AtZxid: end.MaxZxid + 1000}); err == nil || !strings.Contains(err.Error(), "not reached") {
			t.Fatalf("--at-zxid past the end: err %v, want 'not reached'", err)
		}
	})
	t.Run("torn-log", func(t *testing.T) {
		dir := t.TempDir()
		copyDir(t, endCopy, dir)
		logs := files(t, dir, "log")
		newest := logs[len(logs)-1]
		entries := datadir.LogEntries(t, newest)
		if len(entries) < 2 {
			t.Skipf("newest log has %d entries", len(entries))
		}
		cut := entries[len(entries)-1]
		// zero the last entry from its 20th byte on, as a torn write leaves it
		orig, err := os.ReadFile(newest)
		if err != nil {
			t.Fatal(err)
		}
		b := slices.Clone(orig)
		for i := cut.Offset + 20; i < int64(len(b)); i++ {
			b[i] = 0
		}
		if err := os.WriteFile(newest, b, 0o644); err != nil {
			t.Fatal(err)
		}
		_, rep := read(t, datadir.Options{DataDir: dir})
		if rep.Zxid != entries[len(entries)-2].Zxid || !strings.Contains(rep.TornTail, fmt.Sprintf("%s: offset %d", newest, cut.Offset)) {
			t.Fatalf("stopped at %#x (want %#x), torn tail %q", rep.Zxid, entries[len(entries)-2].Zxid, rep.TornTail)
		}
		// truncated instead of zeroed: same place
		if err := os.Truncate(newest, cut.Offset+7); err != nil {
			t.Fatal(err)
		}
		_, rep = read(t, datadir.Options{DataDir: dir})
		if rep.Zxid != entries[len(entries)-2].Zxid || rep.TornTail == "" {
			t.Fatalf("truncated: stopped at %#x, torn tail %q", rep.Zxid, rep.TornTail)
		}
		// a corrupted entry with data after it is an error naming file+offset
		// (in the whole log again: the last entry is the one with none after it)
		mid := entries[(len(entries)-1)/2]
		b = slices.Clone(orig)
		b[mid.Offset+30] ^= 0x5a
		if err := os.WriteFile(newest, b, 0o644); err != nil {
			t.Fatal(err)
		}
		_, _, err = datadir.Read(ctx, datadir.Options{DataDir: dir, Chroot: "/kafka"})
		var fe *datadir.FormatError
		if !errors.As(err, &fe) || fe.File != newest || fe.Offset != mid.Offset || !strings.Contains(err.Error(), "corrupted") {
			t.Fatalf("corrupted entry: err %v, want a FormatError at %s offset %d", err, newest, mid.Offset)
		}
	})
	t.Run("corrupted-snapshot", func(t *testing.T) {
		dir := t.TempDir()
		copyDir(t, endCopy, dir)
		snaps := files(t, dir, "snapshot")
		newest := snaps[len(snaps)-1]
		b, err := os.ReadFile(newest)
		if err != nil {
			t.Fatal(err)
		}
		i := bytes.Index(b, []byte(`"controller_epoch"`))
		if i < 0 {
			t.Fatal("no partition state in the newest snapshot")
		}
		b[i+3] ^= 0x01 // a bit flip in a partition state's data
		os.WriteFile(newest, b, 0o644)
		got, rep := read(t, datadir.Options{DataDir: dir})
		if len(rep.Skipped) != 1 || !strings.Contains(rep.Skipped[0], newest+": offset ") || !strings.Contains(rep.Skipped[0], "checksum mismatch") {
			t.Fatalf("skipped %v: want the corrupted %s with its offset", rep.Skipped, newest)
		}
		sameModel(t, "older snapshot + logs", end, got) // the older snapshot and more log give the same tree
		// every snapshot corrupted: an error naming each file and offset
		for _, s := range snaps {
			b, _ := os.ReadFile(s)
			b[len(b)-20] ^= 0x01
			os.WriteFile(s, b, 0o644)
		}
		_, _, err = datadir.Read(ctx, datadir.Options{DataDir: dir, Chroot: "/kafka"})
		if err == nil || !strings.Contains(err.Error(), "no usable snapshot") || !strings.Contains(err.Error(), snaps[len(snaps)-1]+": offset ") {
			t.Fatalf("all corrupted: err %v", err)
		}
	})
}
