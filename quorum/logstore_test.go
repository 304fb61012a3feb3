package quorum

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

func testSegLog(t *testing.T, dir string) *segmentLog {
	t.Helper()
	l, err := openSegmentLog(dir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	l.segBytes = 1000 // a few entries per segment
	t.Cleanup(func() { l.Close() })
	return l
}

func testEntry(index, term uint64) *raft.Log {
	e := &raft.Log{Index: index, Term: term, Type: raft.LogCommand, Data: bytes.Repeat([]byte{byte(index)}, 100+int(index%7)),
		AppendedAt: time.Unix(1700000000, int64(index)*1000)}
	if index%3 == 0 {
		e.Extensions = []byte(fmt.Sprintf("ext%d", index))
	}
	if index%5 == 0 {
		e.Type, e.Data = raft.LogNoop, nil
	}
	return e
}

func storeRange(t *testing.T, l *segmentLog, from, to, term uint64) {
	t.Helper()
	var batch []*raft.Log
	for i := from; i <= to; i++ {
		batch = append(batch, testEntry(i, term))
		if len(batch) == 3 || i == to {
			if err := l.StoreLogs(batch); err != nil {
				t.Fatal(err)
			}
			batch = nil
		}
	}
}

// checkLog asserts the log holds exactly from..to, entry i written with term(i).
func checkLog(t *testing.T, what string, l *segmentLog, from, to uint64, term func(uint64) uint64) {
	t.Helper()
	first, _ := l.FirstIndex()
	last, _ := l.LastIndex()
	if first != from || last != to {
		t.Fatalf("%s: log holds %d-%d, want %d-%d", what, first, last, from, to)
	}
	for i := from; i <= to && to > 0; i++ {
		var got raft.Log
		if err := l.GetLog(i, &got); err != nil {
			t.Fatalf("%s: GetLog(%d): %v", what, i, err)
		}
		want := testEntry(i, term(i))
		if got.Index != want.Index || got.Term != want.Term || got.Type != want.Type || !bytes.Equal(got.Data, want.Data) ||
			!bytes.Equal(got.Extensions, want.Extensions) || !got.AppendedAt.Equal(want.AppendedAt) {
			t.Fatalf("%s: entry %d = %+v, want %+v", what, i, got, *want)
		}
	}
	var l0 raft.Log
	for _, i := range []uint64{from - 1, to + 1} {
		if i == 0 {
			continue
		}
		if err := l.GetLog(i, &l0); !errors.Is(err, raft.ErrLogNotFound) {
			t.Fatalf("%s: GetLog(%d) outside the log: %v, want ErrLogNotFound", what, i, err)
		}
	}
}

func TestSegmentLogStoreReopenDelete(t *testing.T) {
	dir := t.TempDir()
	l := testSegLog(t, dir)
	term1 := func(uint64) uint64 { return 1 }
	checkLog(t, "empty", l, 0, 0, term1)
	storeRange(t, l, 1, 40, 1)
	checkLog(t, "stored", l, 1, 40, term1)
	segs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	if len(segs) < 4 {
		t.Fatalf("%d segment(s) for 40 entries of ~130 bytes at 1000 bytes a segment, want several", len(segs))
	}
	if err := l.StoreLogs([]*raft.Log{testEntry(42, 1)}); err == nil {
		t.Fatal("a gap after index 40 was accepted")
	}
	l.Close()
	l = testSegLog(t, dir)
	checkLog(t, "reopened", l, 1, 40, term1)

	// A new leader overwrites a suffix, reaching into an earlier segment.
	if err := l.DeleteRange(17, 40); err != nil {
		t.Fatal(err)
	}
	storeRange(t, l, 17, 30, 2)
	term12 := func(i uint64) uint64 {
		if i >= 17 {
			return 2
		}
		return 1
	}
	checkLog(t, "suffix overwritten", l, 1, 30, term12)
	l.Close()
	l = testSegLog(t, dir)
	checkLog(t, "suffix overwritten, reopened", l, 1, 30, term12)

	// Compaction after a snapshot: a prefix goes, whole segments are removed.
	before, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	if err := l.DeleteRange(1, 20); err != nil {
		t.Fatal(err)
	}
	checkLog(t, "prefix deleted", l, 21, 30, term12)
	after, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	if len(after) >= len(before) {
		t.Fatalf("prefix deletion kept all %d segment files", len(before))
	}
	storeRange(t, l, 31, 35, 2)
	checkLog(t, "appended after compaction", l, 21, 35, term12)
	l.Close()
	l = testSegLog(t, dir)
	// A reopened log may show entries of the prefix's last segment again;
	// they are the committed entries they were.
	first, _ := l.FirstIndex()
	if first > 21 || first < 15 {
		t.Fatalf("reopened after compaction: first index %d, want 15-21", first)
	}
	checkLog(t, "compacted, reopened", l, first, 35, term12)

	// After installing a snapshot raft empties the log and continues past it.
	if err := l.DeleteRange(first, 35); err != nil {
		t.Fatal(err)
	}
	checkLog(t, "emptied", l, 0, 0, term12)
	if left, _ := filepath.Glob(filepath.Join(dir, "*.log")); len(left) != 0 {
		t.Fatalf("emptied log keeps %v", left)
	}
	storeRange(t, l, 100, 110, 3)
	term3 := func(uint64) uint64 { return 3 }
	checkLog(t, "after snapshot", l, 100, 110, term3)
	l.Close()
	l = testSegLog(t, dir)
	checkLog(t, "after snapshot, reopened", l, 100, 110, term3)
	if err := l.DeleteRange(103, 105); err == nil {
		t.Fatal("deleting from the middle was accepted")
	}
}

// A crash during a write leaves a torn frame at the end of the last segment:
// open cuts it off and appends continue; damage elsewhere is an error.
func TestSegmentLogTornTail(t *testing.T) {
	term1 := func(uint64) uint64 { return 1 }
	lastSeg := func(dir string) string {
		segs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
		return segs[len(segs)-1]
	}
	for _, tc := range []struct {
		name   string
		damage func(path string, data []byte) []byte
	}{
		{"half a frame", func(_ string, d []byte) []byte { return append(d, appendFrame(nil, testEntry(21, 1))[:50]...) }},
		{"half a header", func(_ string, d []byte) []byte { return append(d, 0, 0, 0) }},
		{"zeros", func(_ string, d []byte) []byte { return append(d, make([]byte, 300)...) }},
		{"bad CRC", func(_ string, d []byte) []byte {
			f := appendFrame(nil, testEntry(21, 1))
			f[len(f)-1] ^= 1
			return append(d, f...)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			l := testSegLog(t, dir)
			storeRange(t, l, 1, 20, 1)
			l.Close()
			p := lastSeg(dir)
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, tc.damage(p, data), 0o600); err != nil {
				t.Fatal(err)
			}
			l = testSegLog(t, dir)
			checkLog(t, "after a torn write", l, 1, 20, term1)
			if st, _ := os.Stat(p); st.Size() != int64(len(data)) {
				t.Fatalf("segment is %d bytes after the cut, want %d", st.Size(), len(data))
			}
			storeRange(t, l, 21, 25, 1)
			l.Close()
			l = testSegLog(t, dir)
			checkLog(t, "appended after the cut", l, 1, 25, term1)
		})
	}
	t.Run("damage before the tail", func(t *testing.T) {
		dir := t.TempDir()
		l := testSegLog(t, dir)
		storeRange(t, l, 1, 30, 1)
		l.Close()
		segs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
		data, _ := os.ReadFile(segs[0])
		os.WriteFile(segs[0], data[:len(data)-10], 0o600)
		if l, err := openSegmentLog(dir, slog.New(slog.DiscardHandler)); err == nil {
			l.Close()
			t.Fatal("a damaged segment before the last one opened")
		}
	})
}
