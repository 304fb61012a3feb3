package datadir

import (
	"math"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"sync"
)

// An offline read allocates the tree and the model once and keeps nearly
// all of it to the end: collecting while it runs mostly rescans live memory
// (a third of the CPU of a 1M-partition read). So the collector is off for
// the call, with a memory limit as the bound: it runs only if the heap
// grows past what the snapshot's size predicts (4 bytes per byte of
// snapshot, measured: ~2.6), never above a limit already set. Concurrent
// reads share one setting; the last one out restores the process's own.
var gcPause struct {
	sync.Mutex
	n       int
	percent int
	limit   int64
}

// pauseGC turns the collector off for a read that may allocate about
// budget bytes (readBudget); the memory limit then lets the collector run
// only if the read goes past it. The returned func undoes it.
func pauseGC(budget int64) (restore func()) {
	gcPause.Lock()
	defer gcPause.Unlock()
	if gcPause.n == 0 {
		s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}}
		metrics.Read(s)
		gcPause.limit = debug.SetMemoryLimit(-1)
		gcPause.percent = debug.SetGCPercent(-1)
		if gcPause.percent < 0 {
			// the process runs without a collector already
			debug.SetGCPercent(gcPause.percent)
		}
		base := int64(s[0].Value.Uint64())
		debug.SetMemoryLimit(min(gcPause.limit, satAdd(base, budget)))
	} else {
		// another read is running: add this one's budget
		cur := debug.SetMemoryLimit(-1)
		debug.SetMemoryLimit(min(gcPause.limit, satAdd(cur, budget)))
	}
	gcPause.n++
	done := false
	return func() {
		gcPause.Lock()
		defer gcPause.Unlock()
		if done {
			return
		}
		done = true
		gcPause.n--
		if gcPause.n == 0 {
			debug.SetGCPercent(gcPause.percent)
			debug.SetMemoryLimit(gcPause.limit)
		}
	}
}

func satAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// snapshotSize estimates the uncompressed size of the newest snapshot of
// the data dir (gzip: ~5x its file); 0 if there is none.
func snapshotSize(dataDir string) int64 {
	snaps, err := listFiles(versionDir(dataDir), "snapshot")
	if err != nil || len(snaps) == 0 {
		return 0
	}
	s := snaps[len(snaps)-1]
	st, err := os.Stat(s.path)
	if err != nil {
		return 0
	}
	if strings.HasSuffix(s.path, ".gz") {
		return 5 * st.Size()
	}
	return st.Size()
}

// readBudget is what a read of the data dir may allocate: about four times
// the newest snapshot's bytes, and twice those of the transaction logs that
// may follow it (a tree written mostly since the last snapshot is built by
// the replay; log files are preallocated, so this errs high).
func readBudget(dataDir, logDir string) int64 {
	budget := 4*snapshotSize(dataDir) + 64<<20
	var newest int64
	if snaps, err := listFiles(versionDir(dataDir), "snapshot"); err == nil && len(snaps) > 0 {
		newest = snaps[len(snaps)-1].zxid
	}
	if logDir == "" {
		logDir = dataDir
	}
	logs, err := listFiles(versionDir(logDir), "log")
	if err != nil {
		return budget
	}
	for i, l := range logs {
		// a log holds the transactions from its zxid to the next log's
		if i+1 < len(logs) && logs[i+1].zxid <= newest {
			continue
		}
		if st, err := os.Stat(l.path); err == nil {
			budget = satAdd(budget, 2*st.Size())
		}
	}
	return budget
}
