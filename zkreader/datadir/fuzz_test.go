package datadir

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/zk2kraft/zk2kraft/zkreader"
)

func seedFiles(f *testing.F, pattern string) {
	m, _ := filepath.Glob(filepath.Join("testdata", "zk", "version-2", pattern))
	if len(m) == 0 {
		f.Fatalf("no seed files %s", pattern)
	}
	for _, p := range m {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// FuzzSnapshot: any bytes either parse into a tree zkreader can read, or
// fail with a FormatError — never a panic, never another error.
func FuzzSnapshot(f *testing.F) {
	seedFiles(f, "snapshot.*")
	f.Fuzz(func(t *testing.T, b []byte) {
		tr := newTree("/kafka", 0)
		_, err := parseSnapshot("fuzz", b, tr)
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) || fe.File != "fuzz" || fe.Offset < 0 || fe.Offset > int64(len(b)) {
				t.Fatalf("error %v is not a FormatError with an offset in the file", err)
			}
			return
		}
		if tr.root == nil {
			t.Fatal("parsed without a root")
		}
		if tr.lookup("/kafka") != nil {
			if _, err := zkreader.ReadTree(context.Background(), tr, zkreader.TreeOptions{Chroot: "/kafka"}); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// FuzzTxnLog: any bytes as a transaction log, replayed over the testdata
// tree, end cleanly, as a torn tail, or with a FormatError — never a panic.
func FuzzTxnLog(f *testing.F) {
	seedFiles(f, "log.*")
	snaps, _ := filepath.Glob(filepath.Join("testdata", "zk", "version-2", "snapshot.*"))
	if len(snaps) == 0 {
		f.Fatal("no snapshot in testdata")
	}
	base, err := os.ReadFile(snaps[0])
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		tr := newTree("", 0)
		if _, err := parseSnapshot("base", base, tr); err != nil {
			t.Fatal(err)
		}
		lr, err := newLogReader("fuzz", bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		for {
			entry, at, err := lr.next()
			if err == io.EOF || errors.Is(err, errTorn) {
				break
			}
			if err != nil {
				var fe *FormatError
				if !errors.As(err, &fe) {
					t.Fatalf("error %v is not a FormatError", err)
				}
				return
			}
			r := &rd{b: entry, base: at + 12, file: "fuzz"}
			h := readHeader(r)
			if r.err != nil {
				return
			}
			apply(tr, h, h.typ, r)
			if r.err != nil {
				return
			}
		}
		if _, err := zkreader.ReadTree(context.Background(), tr, zkreader.TreeOptions{Chroot: "/kafka"}); err != nil && tr.lookup("/kafka") != nil {
			t.Fatal(err)
		}
	})
}
