package faults_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zk2kraft/zk2kraft/image"
	"github.com/zk2kraft/zk2kraft/migrate"
)

// diskFull fills the disk of a quorum follower (each node's data dir is its
// own 64 MiB tmpfs) when the copy starts. The majority goes on, so the
// migration completes; the full node logs a clear error naming the cause,
// and once space is freed it catches up to the same image, also after a
// restart from its own files (nothing on its disk was corrupted).
func diskFull() fault {
	var node int // the full node's index (0-based; its data dir and id are node+1)
	return fault{
		name: "quorum follower's disk full during the copy", at: migrate.PhaseCopy, hold: 5 * time.Second,
		opts: fixtureOptions{quorumDir: func(t *testing.T, dir string) {
			for i := 1; i <= 3; i++ {
				d := filepath.Join(dir, fmt.Sprintf("node-%d", i))
				if err := os.MkdirAll(d, 0o755); err != nil {
					t.Fatal(err)
				}
				if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", d).CombinedOutput(); err != nil {
					t.Skipf("cannot mount a tmpfs for a full disk (needs root): %v: %s", err, strings.TrimSpace(string(out)))
				}
				t.Cleanup(func() { exec.Command("umount", "-l", d).Run() })
			}
		}},
		inject: func(t *testing.T, f *fixture) func() {
			node = (quorumLeader(t, f) + 1) % f.lc.Size()
			filler := filepath.Join(f.quorumDir, fmt.Sprintf("node-%d", node+1), "filler")
			n, err := fill(filler)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("quorum node %d: disk filled (%d MiB)", node+1, n>>20)
			return func() { must(t, os.Remove(filler)) }
		},
		check: func(t *testing.T, f *fixture, _ *migrate.Report) {
			id := fmt.Sprint(node + 1)
			if logs := f.logs.text(id); !strings.Contains(logs, "no space left on device") {
				t.Errorf("node %s did not log the full disk; its warnings:\n%s", id, logs)
			}
			waitSameImage(t, f, node)
			must(t, f.lc.Kill(node))
			must(t, f.lc.Restart(t.Context(), node))
			waitSameImage(t, f, node)
		},
	}
}

// fill writes path until the file system has no space left; it returns the
// bytes written.
func fill(path string) (int64, error) {
	fh, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	defer fh.Close()
	buf := make([]byte, 1<<20)
	var n int64
	for {
		k, err := fh.Write(buf)
		n += int64(k)
		if errors.Is(err, syscall.ENOSPC) {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("fill %s: %w", path, err)
		}
	}
}

// waitSameImage waits until node has applied what the leader has and
// compares the two images object by object.
func waitSameImage(t *testing.T, f *fixture, node int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	for {
		leader := quorumLeader(t, f)
		want, wpos, err := f.lc.Node(leader).Image()
		if err != nil {
			t.Fatal(err)
		}
		got, gpos, err := f.lc.Node(node).Image()
		if err != nil {
			t.Fatal(err)
		}
		if gpos.NextOffset == wpos.NextOffset {
			for _, d := range image.Diff(want, got) {
				t.Errorf("node %d differs from the leader %d: %s", node+1, leader+1, d)
			}
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("node %d stays at offset %d; the leader is at %d", node+1, gpos.NextOffset, wpos.NextOffset)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
