package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/zk2kraft/zk2kraft/progress"
	"github.com/zk2kraft/zk2kraft/zkreader"
	"github.com/zk2kraft/zk2kraft/zkreader/datadir"
)

// dataDirFlags select an offline read of ZooKeeper's own files instead of
// an online read: --zk-data-dir DIR [--zk-data-log-dir DIR] [--at-zxid Z].
//
// Commands that can read offline register them through addZKReadFlags(..., true).
type dataDirFlags struct {
	dir    string
	logDir string
	atZxid string
}

func addDataDirFlags(cmd *cobra.Command, f *dataDirFlags) {
	fl := cmd.Flags()
	fl.StringVar(&f.dir, "zk-data-dir", "", "read ZooKeeper's own files instead of connecting: a server's dataDir (a copy, or the live dir of a running server; read-only)")
	fl.StringVar(&f.logDir, "zk-data-log-dir", "", "the server's dataLogDir when it differs from --zk-data-dir")
	fl.StringVar(&f.atZxid, "at-zxid", "", "with --zk-data-dir: the tree at this zxid (hex 0x... or decimal; default: the newest complete transaction)")
}

func (f *dataDirFlags) set() bool { return f.dir != "" || f.logDir != "" || f.atZxid != "" }

// options checks the flags; chroot comes from --chroot or the chroot part of --zk.
func (f *dataDirFlags) options(connect, chroot string) (datadir.Options, error) {
	var o datadir.Options
	if f.dir == "" {
		return o, errors.New("--zk-data-log-dir and --at-zxid need --zk-data-dir")
	}
	o.DataDir, o.DataLogDir = f.dir, f.logDir
	if f.atZxid != "" {
		z, err := zkreader.ParseZxid(strings.TrimSpace(f.atZxid))
		if err != nil || z <= 0 {
			return o, fmt.Errorf("--at-zxid %q: want a positive zxid, hex (0x1000004d2) or decimal", f.atZxid)
		}
		o.AtZxid = z
	}
	o.Chroot = chroot
	if connect != "" {
		_, c, err := zkreader.ParseConnect(connect)
		if err != nil {
			return o, err
		}
		if c != "" && chroot != "" && strings.TrimRight(c, "/") != strings.TrimRight(chroot, "/") {
			return o, fmt.Errorf("--chroot %q differs from the chroot %q in --zk", chroot, c)
		}
		if c != "" {
			o.Chroot = c
		}
	}
	return o, nil
}

// readDataDirSnapshot reads a data dir with progress on stderr when it is a
// terminal; where the replay stopped goes to the log.
func readDataDirSnapshot(ctx context.Context, f *zkReadFlags) (*zkreader.Snapshot, error) {
	read, err := dataDirSource(f)
	if err != nil {
		return nil, withExitCode(2, err)
	}
	var pf progress.Func
	var pr *stderrProgress
	if isTerminal(os.Stderr) {
		pr = &stderrProgress{w: os.Stderr}
		pf = pr.show
	}
	snap, err := read(ctx, pf)
	if pr != nil {
		pr.done()
	}
	if err != nil {
		return nil, withExitCode(2, err)
	}
	return snap, nil
}

// dataDirSource reads --zk-data-dir (snapshot, check, translate, and migrate's
// ReadSource: the check and the copy read ZooKeeper's own files at one zxid
// with no load on the ensemble; the mirror then catches up online from the
// zxid reached).
func dataDirSource(f *zkReadFlags) (func(context.Context, progress.Func) (*zkreader.Snapshot, error), error) {
	o, err := f.dataDir.options(f.connect, f.chroot)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, pf progress.Func) (*zkreader.Snapshot, error) {
		o := o
		o.Progress, o.Logger = pf, slog.Default()
		snap, rep, err := datadir.Read(ctx, o)
		if err != nil {
			return nil, err
		}
		slog.Info("data dir read", "snapshot", rep.Snapshot, "logs", len(rep.Logs), "txns", rep.Txns,
			"zxid", fmt.Sprintf("%#x", rep.Zxid), "torn_tail", rep.TornTail, "skipped_snapshots", len(rep.Skipped))
		for _, s := range rep.Skipped {
			slog.Warn("snapshot not used", "why", s)
		}
		return snap, nil
	}, nil
}
