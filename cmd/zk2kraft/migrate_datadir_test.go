package main

import (
	"strconv"
	"strings"
	"testing"

	"github.com/go-zookeeper/zk"

	"github.com/zk2kraft/zk2kraft/quorum/quorumtest"
	"github.com/zk2kraft/zk2kraft/testenv"
)

// TestMigrateFromDataDir: `migrate --zk-data-dir` copies the tree read from a
// ZooKeeper server's own files at an earlier zxid; a topic created after that
// zxid reaches the quorum through the mirror (the hand-over from the files to
// the live stream), and verify, reading ZooKeeper online, finds parity.
func TestMigrateFromDataDir(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: needs ZooKeeper")
	}
	env := testenv.Start(t, testenv.Options{Nodes: 1})
	conn := env.Connect(t)
	seeded, err := testenv.Seed(t.Context(), conn, testenv.SeedSpec{Preset: "small", Chroot: "/kafka"})
	if err != nil {
		t.Fatal(err)
	}
	_, st, err := conn.Get("/kafka/cluster/id")
	if err != nil {
		t.Fatal(err)
	}
	// The copy is of the tree at this zxid: the topic below comes later.
	at := st.Mzxid
	for _, s := range []string{"/kafka/brokers/topics/after-the-files", "/kafka/config/topics/after-the-files"} {
		if _, err := conn.Create(s, nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := conn.Set("/kafka/brokers/topics/after-the-files", []byte(`{"version":3,"topic_id":"q0iS6mMcRdKhk0aDXUc5Ig","partitions":{"0":[1]},"adding_replicas":{},"removing_replicas":{}}`), -1); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Set("/kafka/config/topics/after-the-files", []byte(`{"version":1,"config":{"retention.ms":"1234"}}`), -1); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/kafka/brokers/topics/after-the-files/partitions", "/kafka/brokers/topics/after-the-files/partitions/0"} {
		if _, err := conn.Create(p, nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := conn.Create("/kafka/brokers/topics/after-the-files/partitions/0/state",
		[]byte(`{"controller_epoch":1,"leader":1,"version":1,"leader_epoch":0,"isr":[1]}`), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}

	lc, _ := quorumtest.Start(t, 3, "", seeded.ClusterID.ID)
	bin := buildBinary(t)
	zkc := env.ConnectString() + "/kafka"
	q := strings.Join(lc.APIAddrs(), ",")
	out, code, stderr := runBin(t, bin, "migrate", "--zk", zkc, "--zk-data-dir", env.DataDir(1), "--at-zxid", strconv.FormatInt(at, 10),
		"--quorum", q, "--until", "verified", "--assign-topic-ids", "--pass-through-encrypted-passwords", "--verify-timeout", "60s", "-o", "json")
	if code != 0 {
		t.Fatalf("migrate --zk-data-dir: exit %d: %s\n%s", code, stderr, out)
	}
	rep := parseJSON(t, "migrate", out)
	if st := field(t, "migrate", rep, "state"); st != "verified" {
		t.Errorf("state = %v, want verified", st)
	}
	if z := field(t, "migrate", rep, "snapshot_zxid"); z != float64(at) {
		t.Errorf("snapshot_zxid = %v, want the data dir's zxid %d", z, at)
	}
	if src, _ := field(t, "migrate", rep, "source").(string); !strings.HasPrefix(src, "datadir:") {
		t.Errorf("source = %q, want the data dir", src)
	}
	img, _, err := lc.Node(lc.Leader()).Image()
	if err != nil {
		t.Fatal(err)
	}
	if img.TopicByName("after-the-files") == nil {
		t.Error("the topic created after the data dir's zxid is not in the quorum: the mirror did not catch up from it")
	}

	// Commands that only read ZooKeeper online do not take --zk-data-dir.
	if _, code, stderr := runBin(t, bin, "verify", "--zk", zkc, "--zk-data-dir", env.DataDir(1), "--quorum", q); code != 2 || !strings.Contains(stderr, "zk-data-dir") {
		t.Errorf("verify --zk-data-dir: exit %d, stderr %q; want a usage error naming the flag", code, stderr)
	}
}
