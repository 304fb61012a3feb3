package datadir_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/zk2kraft/zk2kraft/progress"
	"github.com/zk2kraft/zk2kraft/zkreader/datadir"
)

// testdata/zk is a real data dir ZooKeeper 3.8 wrote (TestGenerateTestdata):
// the older snapshot holds the tree before a churn and the seeding
// session's end, the newest the tree after; expected.json is the online
// read at the end.
var older, newest, newestZxid = func() (string, string, int64) {
	m, _ := filepath.Glob(filepath.Join("testdata", "zk", "version-2", "snapshot.*"))
	z := func(p string) int64 {
		v, _ := strconv.ParseInt(strings.TrimPrefix(filepath.Ext(p), "."), 16, 64)
		return v
	}
	sort.Slice(m, func(i, k int) bool { return z(m[i]) < z(m[k]) })
	return filepath.Base(m[0]), filepath.Base(m[len(m)-1]), z(m[len(m)-1])
}()

func testdataCopy(t *testing.T, drop ...string) string {
	t.Helper()
	dir := t.TempDir()
	copyDir(t, filepath.Join("testdata", "zk"), dir)
	for _, d := range drop {
		if err := os.Remove(filepath.Join(dir, "version-2", d)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func readJSON(t *testing.T, dir string) ([]byte, *datadir.Report, error) {
	t.Helper()
	s, rep, err := datadir.Read(context.Background(), datadir.Options{DataDir: dir, Chroot: "/kafka"})
	if err != nil {
		return nil, rep, err
	}
	j, _ := json.MarshalIndent(stable(s), "", "  ")
	return append(j, '\n'), rep, nil
}

func expected(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestReadTestdata(t *testing.T) {
	want := expected(t)
	for _, c := range []struct {
		name, snapshot string
		drop           []string
	}{
		{"newest snapshot", newest, nil},
		// the older snapshot replays the churn's multis, setData, creates,
		// deletes and the closeSession that removes the brokers' ephemerals
		{"older snapshot", older, []string{newest}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, rep, err := readJSON(t, testdataCopy(t, c.drop...))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("offline read differs from the online read in expected.json:\n%s", got)
			}
			if filepath.Base(rep.Snapshot) != c.snapshot || rep.Zxid < newestZxid || rep.TornTail != "" {
				t.Fatalf("report %+v", rep)
			}
			if c.snapshot == older && rep.Txns < 5 {
				t.Fatalf("only %d txns replayed", rep.Txns)
			}
		})
	}
}

func TestGzipSnapshot(t *testing.T) {
	dir := testdataCopy(t)
	p := filepath.Join(dir, "version-2", newest)
	raw, _ := os.ReadFile(p)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(raw)
	zw.Close()
	os.Remove(p)
	os.WriteFile(p+".gz", buf.Bytes(), 0o644)
	got, rep, err := readJSON(t, dir)
	if err != nil || !bytes.Equal(got, expected(t)) || !strings.HasSuffix(rep.Snapshot, ".gz") {
		t.Fatalf("gzip: err %v, report %+v", err, rep)
	}
	// a gzip snapshot cut short is skipped with its file named
	os.WriteFile(p+".gz", buf.Bytes()[:buf.Len()/2], 0o644)
	_, rep, err = readJSON(t, dir)
	if err != nil || len(rep.Skipped) != 1 || !strings.Contains(rep.Skipped[0], newest+".gz") {
		t.Fatalf("cut gzip: err %v, report %+v", err, rep)
	}
}

// TestEveryByteOfSnapshotCorrupted flips each byte of the newest snapshot in
// turn: every flip is caught (checksum, marker or structure), the snapshot
// is skipped with its name and an offset, and the older one plus the logs
// give the same tree.
func TestEveryByteOfSnapshotCorrupted(t *testing.T) {
	dir := testdataCopy(t)
	p := filepath.Join(dir, "version-2", newest)
	orig, _ := os.ReadFile(p)
	want := expected(t)
	for i := range orig {
		// every byte of the header, sessions, ACLs and seals; every 31st of the nodes
		if i > 256 && i < len(orig)-64 && i%31 != 0 {
			continue
		}
		b := bytes.Clone(orig)
		b[i] ^= 0x20
		os.WriteFile(p, b, 0o644)
		got, rep, err := readJSON(t, dir)
		if err != nil {
			t.Fatalf("byte %d: %v", i, err)
		}
		if len(rep.Skipped) != 1 || !strings.Contains(rep.Skipped[0], p+": offset ") || !bytes.Equal(got, want) {
			t.Fatalf("byte %d flipped: skipped %v", i, rep.Skipped)
		}
	}
}

// TestTruncatedLogs cuts the newest log at every offset: the replay stops
// at the last complete transaction and says where. Cutting an older log
// makes transactions go missing: an error naming the file.
func TestTruncatedLogs(t *testing.T) {
	dir := testdataCopy(t, newest)
	logs, _ := filepath.Glob(filepath.Join(dir, "version-2", "log.*"))
	last := logs[len(logs)-1]
	orig, _ := os.ReadFile(last)
	entries := datadir.LogEntries(t, last)
	os.WriteFile(last, orig[:16], 0o644)
	_, rep, err := readJSON(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	before := rep.Zxid // where the logs before the newest end
	for cut := 16; cut < len(orig); cut++ {
		os.WriteFile(last, orig[:cut], 0o644)
		_, rep, err := readJSON(t, dir)
		if err != nil {
			t.Fatalf("cut at %d: %v", cut, err)
		}
		complete := before
		for i, e := range entries {
			if i+1 < len(entries) && entries[i+1].Offset <= int64(cut) {
				complete = max(complete, e.Zxid)
			}
		}
		if rep.Zxid != complete && !isBoundary(entries, cut) {
			t.Fatalf("cut at %d: replay reached %#x, want the last complete transaction %#x", cut, rep.Zxid, complete)
		}
		if rep.TornTail == "" && !isBoundary(entries, cut) {
			t.Fatalf("cut at %d: no torn tail reported (zxid %#x)", cut, rep.Zxid)
		}
	}
	os.WriteFile(last, orig, 0o644)
	// an older log cut in the middle: the next log does not continue it
	mid := logs[len(logs)-2]
	b, _ := os.ReadFile(mid)
	es := datadir.LogEntries(t, mid)
	if len(es) < 2 {
		t.Skip("older log too short")
	}
	os.WriteFile(mid, b[:es[1].Offset+5], 0o644)
	_, _, err = readJSON(t, dir)
	var fe *datadir.FormatError
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), "transactions missing") {
		t.Fatalf("older log cut: err %v", err)
	}
}

// isBoundary: a cut exactly between entries leaves a clean log.
func isBoundary(es []datadir.Entry, cut int) bool {
	for _, e := range es {
		if e.Offset == int64(cut) {
			return true
		}
	}
	return cut == 16
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	if _, _, err := datadir.Read(ctx, datadir.Options{DataDir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "no snapshot") {
		t.Fatalf("empty dir: %v", err)
	}
	if _, _, err := datadir.Read(ctx, datadir.Options{DataDir: testdataCopy(t), Chroot: "/nope"}); err == nil || !strings.Contains(err.Error(), "chroot /nope does not exist") {
		t.Fatalf("missing chroot: %v", err)
	}
	// a log that is not a log
	dir := testdataCopy(t)
	logs, _ := filepath.Glob(filepath.Join(dir, "version-2", "log.*"))
	os.WriteFile(logs[len(logs)-1], []byte("not a log at all"), 0o644)
	_, _, err := datadir.Read(ctx, datadir.Options{DataDir: dir, Chroot: "/kafka"})
	if err == nil || !strings.Contains(err.Error(), logs[len(logs)-1]+": offset 0: not a ZooKeeper transaction log") {
		t.Fatalf("bad log: %v", err)
	}
	// a separate dataLogDir
	dir = testdataCopy(t)
	logDir := t.TempDir()
	os.MkdirAll(filepath.Join(logDir, "version-2"), 0o755)
	logs, _ = filepath.Glob(filepath.Join(dir, "version-2", "log.*"))
	for _, l := range logs {
		os.Rename(l, filepath.Join(logDir, "version-2", filepath.Base(l)))
	}
	s, _, err := datadir.Read(ctx, datadir.Options{DataDir: dir, DataLogDir: logDir, Chroot: "/kafka"})
	if err != nil {
		t.Fatal(err)
	}
	j, _ := json.MarshalIndent(stable(s), "", "  ")
	if !bytes.Equal(append(j, '\n'), expected(t)) {
		t.Fatal("separate dataLogDir: different model")
	}
}

func TestAtZxid(t *testing.T) {
	ctx := context.Background()
	dir := testdataCopy(t)
	olderZxid, _ := strconv.ParseInt(strings.TrimPrefix(filepath.Ext(older), "."), 16, 64)
	z := olderZxid + 2
	s, rep, err := datadir.Read(ctx, datadir.Options{DataDir: dir, Chroot: "/kafka", AtZxid: z})
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(rep.Snapshot) != older || rep.Zxid != z || s.MaxZxid != z || len(rep.Skipped) != 1 {
		t.Fatalf("--at-zxid %#x: report %+v", z, rep)
	}
	// before every snapshot: nothing to start from
	if _, _, err := datadir.Read(ctx, datadir.Options{DataDir: dir, Chroot: "/kafka", AtZxid: olderZxid - 1}); err == nil || !strings.Contains(err.Error(), "no usable snapshot") {
		t.Fatalf("--at-zxid before the snapshots: %v", err)
	}
}

// TestIgnoresForeignFiles: files that are not ZooKeeper's data files (a
// snapshot being written atomically, an editor's backup) are not read.
func TestIgnoresForeignFiles(t *testing.T) {
	dir := testdataCopy(t)
	v := filepath.Join(dir, "version-2")
	os.WriteFile(filepath.Join(v, "snapshot.ffff.tmp"), []byte("partial"), 0o644)
	os.WriteFile(filepath.Join(v, "log.ffff~"), []byte("junk"), 0o644)
	os.WriteFile(filepath.Join(v, "snapshot.notanumber"), []byte("junk"), 0o644)
	got, rep, err := readJSON(t, dir)
	if err != nil || !bytes.Equal(got, expected(t)) || len(rep.Skipped) != 0 {
		t.Fatalf("err %v, report %+v", err, rep)
	}
}

// TestProgress: an offline read reports its progress in znodes read, the
// last event final, with every znode of the model counted (partition
// states read in batches included) and a rate.
func TestProgress(t *testing.T) {
	var mu sync.Mutex
	var evs []progress.Event
	s, _, err := datadir.Read(context.Background(), datadir.Options{DataDir: testdataCopy(t), Chroot: "/kafka",
		Progress: func(e progress.Event) { mu.Lock(); evs = append(evs, e); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) == 0 {
		t.Fatal("no progress events")
	}
	last := evs[len(evs)-1]
	if !last.Final || last.Unit != "znodes" || last.Done != s.ZnodesRead || last.Total != last.Done || last.Rate <= 0 {
		t.Fatalf("last event %+v, model read %d znodes", last, s.ZnodesRead)
	}
	states := 0
	for _, tp := range s.Topics {
		for _, p := range tp.Partitions {
			if p.State != nil {
				states++
			}
		}
	}
	if states == 0 || s.ZnodesRead < int64(states+len(s.Topics)) {
		t.Fatalf("%d znodes read for %d topics and %d states", s.ZnodesRead, len(s.Topics), states)
	}
}
