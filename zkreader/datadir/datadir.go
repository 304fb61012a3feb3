package datadir

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/zk2kraft/zk2kraft/progress"
	"github.com/zk2kraft/zk2kraft/zkreader"
)

// Options of an offline read.
type Options struct {
	// DataDir is the server's dataDir (or its version-2 subdirectory),
	// where the snapshots are.
	DataDir string
	// DataLogDir is the server's dataLogDir when it differs from DataDir
	// (where the transaction logs are); empty: DataDir.
	DataLogDir string
	// AtZxid stops the replay after this zxid (0: at the newest complete
	// transaction). The newest snapshot that is consistent by then is used.
	AtZxid int64
	// Chroot is the Kafka chroot, e.g. "/kafka".
	Chroot   string
	Progress progress.Func
	Logger   *slog.Logger
}

// Report says what an offline read used and where it stopped.
type Report struct {
	Snapshot     string   `json:"snapshot"`     // the snapshot file loaded
	SnapshotZxid int64    `json:"snapshotZxid"` // the zxid in its name
	FuzzyUntil   int64    `json:"fuzzyUntil,omitempty"`
	Skipped      []string `json:"skipped,omitempty"` // newer snapshots not used, and why
	Logs         []string `json:"logs"`              // transaction logs read
	Txns         int64    `json:"txns"`              // transactions applied after the snapshot
	Zxid         int64    `json:"zxid"`              // the zxid the tree is at
	// TornTail names the torn last transaction (file and offset) where the
	// replay stopped; empty when the log ended cleanly. A live server's
	// newest log usually has one.
	TornTail string `json:"tornTail,omitempty"`
	// TornEarlier are torn tails of older logs (a server that crashed and
	// restarted); ZooKeeper skips them too.
	TornEarlier []string      `json:"tornEarlier,omitempty"`
	Znodes      int           `json:"znodes"` // znodes in the tree (the chroot's subtree and its ancestors)
	Load        time.Duration `json:"load"`
	Replay      time.Duration `json:"replay"`
	Build       time.Duration `json:"build"`
}

type dataFile struct {
	path string
	zxid int64
}

// versionDir returns dir/version-2 when it exists, else dir itself.
func versionDir(dir string) string {
	v := filepath.Join(dir, "version-2")
	if st, err := os.Stat(v); err == nil && st.IsDir() {
		return v
	}
	return dir
}

// listFiles returns prefix.<hex zxid>[.suffix] files sorted by zxid.
func listFiles(dir, prefix string) ([]dataFile, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []dataFile
	for _, e := range ents {
		name := e.Name()
		if e.IsDir() || !strings.HasPrefix(name, prefix+".") {
			continue
		}
		hex := strings.TrimPrefix(name, prefix+".")
		if i := strings.IndexByte(hex, '.'); i >= 0 {
			// snapshot.<zxid>.gz / .snappy; anything else (e.g. the .tmp
			// of a snapshot being written atomically) is not a data file
			if ext := hex[i:]; prefix != "snapshot" || ext != ".gz" && ext != ".snappy" {
				continue
			}
			hex = hex[:i]
		}
		z, err := strconv.ParseUint(hex, 16, 64)
		if err != nil {
			continue // not ZooKeeper's (ZooKeeper skips them too)
		}
		out = append(out, dataFile{path: filepath.Join(dir, name), zxid: int64(z)})
	}
	sort.Slice(out, func(i, k int) bool {
		if out[i].zxid != out[k].zxid {
			return out[i].zxid < out[k].zxid
		}
		return out[i].path < out[k].path
	})
	return out, nil
}

// readSnapshotFile reads a snapshot into memory, decompressing .gz (a plain
// one is mapped, see mapFile). release frees the bytes.
func readSnapshotFile(path string) (_ []byte, release func(), _ error) {
	switch {
	case strings.HasSuffix(path, ".snappy"):
		return nil, nil, &FormatError{File: path, Msg: "snappy-compressed snapshots are not supported; decompress it or let ZooKeeper write gzip or plain snapshots (zookeeper.snapshot.compression.method)"}
	case strings.HasSuffix(path, ".gz"):
		f, err := os.Open(path)
		if err != nil {
			return nil, nil, err
		}
		defer f.Close()
		st, _ := f.Stat()
		zr, err := gzip.NewReader(bufio.NewReaderSize(f, 1<<20))
		if err != nil {
			return nil, nil, &FormatError{File: path, Msg: "not a gzip stream: " + err.Error()}
		}
		buf := make([]byte, 0, st.Size()*4+512)
		for {
			if len(buf) == cap(buf) {
				buf = append(buf, 0)[:len(buf)]
			}
			n, err := zr.Read(buf[len(buf):cap(buf)])
			buf = buf[:len(buf)+n]
			if err == io.EOF {
				return buf, func() {}, nil
			}
			if err != nil {
				return nil, nil, &FormatError{File: path, Offset: int64(len(buf)), Msg: "gzip stream broken (offset in the uncompressed stream): " + err.Error()}
			}
		}
	default:
		return mapFile(path)
	}
}

// loadSnapshot parses one snapshot file into a new tree.
func loadSnapshot(path, chroot string) (*tree, snapInfo, error) {
	b, release, err := readSnapshotFile(path)
	if err != nil {
		return nil, snapInfo{}, err
	}
	t := newTree(chroot, len(b)/128)
	info, err := parseSnapshot(path, b, t)
	if err != nil {
		t.stopPrefault()
		release()
		return nil, info, err
	}
	t.release = release
	return t, info, nil
}

func epoch(zxid int64) int64 { return zxid >> 32 }

// Load reads the newest usable snapshot and replays the logs after it.
func load(ctx context.Context, o Options) (*tree, *Report, error) {
	if o.DataDir == "" {
		return nil, nil, errors.New("data dir: not given")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	chroot := strings.TrimRight(o.Chroot, "/")
	snapDir := versionDir(o.DataDir)
	logDir := snapDir
	if o.DataLogDir != "" {
		logDir = versionDir(o.DataLogDir)
	}
	snaps, err := listFiles(snapDir, "snapshot")
	if err != nil {
		return nil, nil, fmt.Errorf("data dir %s: %w", o.DataDir, err)
	}
	logs, err := listFiles(logDir, "log")
	if err != nil {
		return nil, nil, fmt.Errorf("data log dir %s: %w", logDir, err)
	}
	if len(snaps) == 0 {
		return nil, nil, fmt.Errorf("data dir %s: no snapshot.<zxid> files in %s (is it ZooKeeper's dataDir?)", o.DataDir, snapDir)
	}
	rep := &Report{}
	start := time.Now()
	var t *tree
	var info snapInfo
	var snap dataFile
	for i := len(snaps) - 1; i >= 0 && t == nil; i-- {
		s := snaps[i]
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		if o.AtZxid > 0 && s.zxid > o.AtZxid {
			rep.Skipped = append(rep.Skipped, fmt.Sprintf("%s: after --at-zxid %#x", s.path, o.AtZxid))
			continue
		}
		st, si, err := loadSnapshot(s.path, chroot)
		if err != nil {
			o.Logger.Warn("snapshot unusable, trying an older one", "file", s.path, "err", err)
			rep.Skipped = append(rep.Skipped, err.Error())
			continue
		}
		if o.AtZxid > 0 && si.DigestZxid > o.AtZxid {
			st.stopPrefault()
			st.release()
			rep.Skipped = append(rep.Skipped, fmt.Sprintf("%s: fuzzy until zxid %#x, after --at-zxid %#x", s.path, si.DigestZxid, o.AtZxid))
			continue
		}
		t, info, snap = st, si, s
	}
	if t == nil {
		why := rep.Skipped
		if len(why) > 3 {
			why = append(why[:3:3], fmt.Sprintf("and %d more", len(rep.Skipped)-3))
		}
		return nil, rep, fmt.Errorf("data dir %s: no usable snapshot: %s", o.DataDir, strings.Join(why, "; "))
	}
	kept := false
	defer func() {
		t.stopPrefault() // the replay is over
		if !kept {
			t.release()
		}
	}()
	rep.Snapshot, rep.SnapshotZxid, rep.FuzzyUntil = snap.path, snap.zxid, info.DigestZxid
	rep.Load = time.Since(start)
	o.Logger.Info("snapshot loaded", "file", snap.path, "zxid", fmt.Sprintf("%#x", snap.zxid), "nodes", info.Nodes,
		"kept", t.count, "seconds", rep.Load.Seconds())

	// FileTxnSnapLog.restore: the logs after the snapshot's zxid, and the
	// newest one that starts at or before it.
	first := 0
	for i, l := range logs {
		if l.zxid <= snap.zxid {
			first = i
		}
	}
	start = time.Now()
	last := snap.zxid
	done := false
	for i := first; i < len(logs) && !done; i++ {
		l := logs[i]
		if o.AtZxid > 0 && l.zxid > o.AtZxid {
			break
		}
		rep.Logs = append(rep.Logs, l.path)
		newest := i == len(logs)-1
		done, last, err = replayLog(ctx, t, l.path, snap.zxid, o.AtZxid, last, newest, rep)
		if err != nil {
			return nil, rep, err
		}
	}
	rep.Zxid = last
	rep.Replay = time.Since(start)
	if o.AtZxid > 0 && last < o.AtZxid {
		return nil, rep, fmt.Errorf("data dir %s: --at-zxid %#x not reached: the transaction logs end at zxid %#x", o.DataDir, o.AtZxid, last)
	}
	if info.DigestZxid > last {
		return nil, rep, fmt.Errorf("data dir %s: snapshot %s holds changes up to zxid %#x but the transaction logs end at %#x: the tree would not be consistent (copy the logs too)",
			o.DataDir, snap.path, info.DigestZxid, last)
	}
	rep.Znodes = t.count
	o.Logger.Info("transaction logs replayed", "logs", len(rep.Logs), "txns", rep.Txns, "zxid", fmt.Sprintf("%#x", last),
		"torn_tail", rep.TornTail, "seconds", rep.Replay.Seconds())
	kept = true
	return t, rep, nil
}

// replayLog applies the transactions of one log after snapZxid (up to
// atZxid when set). done reports that the replay is over.
func replayLog(ctx context.Context, t *tree, path string, snapZxid, atZxid, last int64, newest bool, rep *Report) (done bool, _ int64, _ error) {
	f, err := os.Open(path) // O_RDONLY, no lock
	if err != nil {
		return false, last, fmt.Errorf("open transaction log: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return false, last, fmt.Errorf("stat transaction log: %w", err)
	}
	lr, err := newLogReader(path, f, st.Size())
	if err != nil {
		var fe *FormatError
		if newest && errors.As(err, &fe) && headerUnwritten(path) {
			// a log file the server is creating right now
			rep.TornTail = fmt.Sprintf("%s: offset 0: file header not written yet", path)
			return true, last, nil
		}
		return false, last, err
	}
	for n := 0; ; n++ {
		if n%4096 == 0 && ctx.Err() != nil {
			return false, last, ctx.Err()
		}
		entry, at, err := lr.next()
		if err == io.EOF {
			return false, last, nil
		}
		if errors.Is(err, errTorn) {
			if newest {
				rep.TornTail = err.Error()
				return true, last, nil
			}
			rep.TornEarlier = append(rep.TornEarlier, err.Error())
			return false, last, nil
		}
		if err != nil {
			return false, last, err
		}
		r := &rd{b: entry, base: at + 12, file: path}
		h := readHeader(r)
		if r.err != nil {
			return false, last, r.err
		}
		if h.zxid <= snapZxid {
			continue
		}
		if atZxid > 0 && h.zxid > atZxid {
			return true, last, nil
		}
		if h.zxid > last+1 && epoch(h.zxid) == epoch(last) {
			return false, last, &FormatError{File: path, Offset: at, Msg: fmt.Sprintf("transactions missing: zxid %#x follows %#x (a log file missing or cut?)", h.zxid, last)}
		}
		lr.keep() // the tree may point into the entry: no copies per path
		r.owned = true
		apply(t, h, h.typ, r)
		if r.err != nil {
			return false, last, r.err
		}
		last = max(last, h.zxid)
		rep.Txns++
	}
}

// headerUnwritten reports a log file whose 16-byte header is missing or
// still zero (just created by a live server).
func headerUnwritten(path string) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	return len(b) < 16 && bytes.Count(b, []byte{0}) == len(b) || len(b) >= 16 && bytes.Count(b[:16], []byte{0}) == 16
}

// Read reads a Kafka cluster's metadata from a ZooKeeper data dir: the tree
// at the newest complete transaction (or o.AtZxid), turned into the zkreader
// model by zkreader's own builder. Snapshot.MaxZxid is the zxid reached.
func Read(ctx context.Context, o Options) (*zkreader.Snapshot, *Report, error) {
	if o.DataDir != "" {
		defer pauseGC(readBudget(o.DataDir, o.DataLogDir))()
	}
	t, rep, err := load(ctx, o)
	if err != nil {
		return nil, rep, err
	}
	defer t.release() // the model holds nothing of the tree's memory
	start := time.Now()
	src := "datadir:" + o.DataDir
	snap, err := zkreader.ReadTree(ctx, t, zkreader.TreeOptions{Chroot: o.Chroot, Source: src, Progress: o.Progress, Logger: o.Logger})
	if err != nil {
		return nil, rep, fmt.Errorf("read %s: %w", src, err)
	}
	snap.MaxZxid = rep.Zxid
	rep.Build = time.Since(start)
	return snap, rep, nil
}
