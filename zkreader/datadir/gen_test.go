package datadir_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/zk2kraft/zk2kraft/testenv"
	"github.com/zk2kraft/zk2kraft/zkreader"
)

// TestGenerateTestdata rewrites testdata/zk (a small real data dir written
// by ZooKeeper: snapshots, logs with creates, setData, deletes, multis, a
// closed session's ephemerals) and testdata/expected.json (the online read
// of the same tree). Run with ZK2KRAFT_GEN_TESTDATA=1.
func TestGenerateTestdata(t *testing.T) {
	if os.Getenv("ZK2KRAFT_GEN_TESTDATA") == "" {
		t.Skip("set ZK2KRAFT_GEN_TESTDATA=1 to regenerate testdata")
	}
	env := testenv.Start(t, testenv.Options{Nodes: 1, SnapCount: 6})
	ctx := context.Background()
	conn, err := env.Dial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want, err := testenv.Seed(ctx, conn, testenv.SeedSpec{Brokers: 3, Topics: 6, PartitionsPerTopic: 2, ReplicationFactor: 2, Chroot: "/kafka"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := testenv.Churn(ctx, conn, want, testenv.ChurnOptions{Rate: 200, MaxChanges: 10, Seed: 7,
		Kinds: []testenv.ChurnKind{testenv.ChurnCreateTopic, testenv.ChurnDeleteTopic, testenv.ChurnMoveLeader, testenv.ChurnShrinkISR, testenv.ChurnTopicConfig, testenv.ChurnACL}}); err != nil {
		t.Fatal(err)
	}
	conn.Close() // the brokers' ephemerals go with the session (a closeSession txn)
	waitSynced(t, env)
	got, err := zkreader.Read(ctx, zkreader.Options{Connect: env.ConnectString() + "/kafka"})
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join("testdata", "zk", "version-2")
	os.RemoveAll(filepath.Join("testdata", "zk"))
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(env.DataDir(1), "version-2")
	snaps, _ := filepath.Glob(filepath.Join(src, "snapshot.*"))
	logs, _ := filepath.Glob(filepath.Join(src, "log.*"))
	zxid := func(p string) uint64 {
		z, _ := strconv.ParseUint(strings.TrimPrefix(filepath.Ext(p), "."), 16, 64)
		return z
	}
	sort.Slice(snaps, func(i, k int) bool { return zxid(snaps[i]) < zxid(snaps[k]) })
	keep := append([]string(nil), snaps[len(snaps)-min(2, len(snaps)):]...) // the two newest
	for _, l := range logs {                                                // the logs the older kept snapshot needs
		if zxid(l) >= zxid(keep[0])-8 {
			keep = append(keep, l)
		}
	}
	for _, p := range keep {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		b = bytes.TrimRight(b, "\x00") // the preallocated zeros
		if err := os.WriteFile(filepath.Join(dst, filepath.Base(p)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	j, _ := json.MarshalIndent(stable(got), "", "  ")
	if err := os.WriteFile(filepath.Join("testdata", "expected.json"), append(j, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %d files, %d topics, max zxid %#x", len(keep), len(got.Topics), got.MaxZxid)
}
