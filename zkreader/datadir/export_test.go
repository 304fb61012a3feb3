package datadir

import (
	"io"
	"os"
	"testing"
)

// Entry is one complete transaction of a log file.
type Entry struct {
	Offset int64
	Zxid   int64
	Type   int32
}

// LogEntries lists the complete transactions of a log file (for tests that
// cut or corrupt a chosen one).
func LogEntries(t testing.TB, path string) []Entry {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	lr, err := newLogReader(path, f, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	var out []Entry
	for {
		b, at, err := lr.next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		h := readHeader(&rd{b: b})
		out = append(out, Entry{Offset: at, Zxid: h.zxid, Type: h.typ})
	}
}
