package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/zk2kraft/zk2kraft/dualwrite"
	"github.com/zk2kraft/zk2kraft/zkreader"
)

func init() { register(newMirrorCmd) }

func newMirrorCmd() *cobra.Command {
	var (
		zf       zkReadFlags
		tf       migrationTranslateFlags
		qf       quorumFlags
		fromZxid string
		linger   time.Duration
		maxBatch int
		readers  int
		anyState bool
		every    time.Duration
	)
	cmd := &cobra.Command{
		Use:   "mirror --zk CONNECT --quorum HOST:PORT,...",
		Short: "Dual-write: mirror every ZooKeeper change into the quorum until interrupted",
		Long: `mirror runs the dual-write phase on its own (migrate runs it too): from the copy onward, every change
the cluster makes in ZooKeeper (topics created and deleted, partitions added, leaders and ISRs, topic and
broker configs, quotas, SCRAM credentials, ACLs, producer-id blocks, delegation tokens) is written to the
quorum as the records a KRaft controller would write, in order, batched, exactly once in effect.

It arms a watch on every znode it reads and re-reads a znode on each event, compares what it reads with the
quorum's image, and stores its position (the highest zxid whose changes are all committed) in the quorum
with each batch (meta mirror.zxid). Run it again after a crash or kill: it resumes from the quorum and
converges without a new copy. A ZooKeeper server loss, a session expiry (then the tree is read again) and a
quorum leader change are ridden out.

On a terminal it shows changes seen and applied, the backlog, lag p50/p99 (from the znode's mtime to the
quorum commit) and reconnects; with --metrics-addr the same figures are Prometheus metrics
(zk2kraft_mirror_*). It runs until Ctrl-C or SIGTERM, then prints a summary (--output json: the figures).

Exit codes: 0 stopped by a signal after a clean run, 2 could not run or stopped on a fault (another mirror
took over, the quorum refused the batches, the quorum holds no completed copy).`,
		Example: `  zk2kraft mirror --zk zk1:2181,zk2:2181/kafka --quorum c1:9990,c2:9990,c3:9990
  zk2kraft mirror --zk zk1:2181/kafka --quorum c1:9990 --metrics-addr :9404 --log-format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			zo, err := zf.options(nil, slog.Default())
			if err != nil {
				return withExitCode(2, err)
			}
			q, err := qf.client()
			if err != nil {
				return err
			}
			defer q.Close()
			ctx := cmd.Context()
			var from int64
			if fromZxid != "" {
				if from, err = zkreader.ParseZxid(fromZxid); err != nil {
					return withExitCode(2, fmt.Errorf("--from-zxid %q: want a zxid (decimal or 0x hex)", fromZxid))
				}
			} else if mv, err := q.Meta(ctx); err == nil {
				// The snapshot the copy was made from (migrate records it).
				if z, ok := mv.Meta["migrate.snapshot_zxid"]; ok {
					from, _ = zkreader.ParseZxid(z)
				}
			}
			cliMetrics.SetPhase("mirroring")
			opts := dualwrite.Options{ZK: zo, Quorum: q, Translate: tf.options(), FromZxid: from, AnyState: anyState,
				Linger: linger, MaxBatchRecords: maxBatch, Readers: readers, Metrics: cliMetrics, Logger: slog.Default()}
			run, err := dualwrite.Start(ctx, opts)
			if err != nil {
				return withExitCode(2, err)
			}
			m := run.Mirror()
			slog.Info("mirror running", "owner", m.Owner())
			term := isTerminal(os.Stderr)
			show := time.NewTicker(time.Second)
			logEvery := time.NewTicker(every)
			defer show.Stop()
			defer logEvery.Stop()
		loop:
			for {
				select {
				case <-run.Done():
					break loop
				case <-ctx.Done():
					break loop
				case <-show.C:
					if term {
						fmt.Fprintf(os.Stderr, "\r\033[K%s", statusLine(m.Stats()))
					}
				case <-logEvery.C:
					logStats(m.Stats())
				}
			}
			if term {
				fmt.Fprintln(os.Stderr)
			}
			runErr := run.Close()
			s := m.Stats()
			logStats(s)
			if globals.Output == "json" {
				if err := writeJSON(cmd.OutOrStdout(), s); err != nil {
					return withExitCode(2, err)
				}
			} else {
				printMirrorSummary(cmd.OutOrStdout(), s)
			}
			if runErr != nil && ctx.Err() == nil {
				return withExitCode(2, runErr)
			}
			if ctx.Err() != nil {
				return withExitCode(0, nil)
			}
			return runErr
		},
	}
	addZKReadFlags(cmd, &zf, false)
	addMigrationTranslateFlags(cmd, &tf)
	fl := cmd.Flags()
	qf.add(cmd, false)
	fl.StringVar(&fromZxid, "from-zxid", "", "position when the quorum holds none yet: the snapshot's zxid (default: migrate.snapshot_zxid in the quorum)")
	fl.DurationVar(&linger, "linger", 2*time.Millisecond, "how long a change waits for others to share its batch")
	fl.IntVar(&maxBatch, "max-batch", 2000, "records per batch (one object's records are never split)")
	fl.IntVar(&readers, "readers", 128, "ZooKeeper reads in flight")
	fl.BoolVar(&anyState, "any-state", false, "mirror onto a quorum whose ZkMigrationState is not MIGRATION (tests, demos)")
	fl.DurationVar(&every, "log-every", 10*time.Second, "log the figures this often")
	return cmd
}

func statusLine(s dualwrite.Stats) string {
	state := "mirroring"
	if s.Walking {
		state = "reading the tree"
	}
	return fmt.Sprintf("mirror: %s | seen %d applied %d records %d | backlog %d | lag p50 %s p99 %s | reconnects %d expirations %d | zxid 0x%x",
		state, s.Seen, s.Applied, s.Records, s.Backlog, s.LagP50.Round(time.Millisecond), s.LagP99.Round(time.Millisecond),
		s.Reconnects, s.Expired, s.Position)
}

func logStats(s dualwrite.Stats) {
	slog.Info("mirror", "changes_seen", s.Seen, "changes_applied", s.Applied, "records", s.Records, "batches", s.Batches,
		"backlog", s.Backlog, "lag_p50_ms", s.LagP50.Milliseconds(), "lag_p99_ms", s.LagP99.Milliseconds(),
		"reconnects", s.Reconnects, "session_expirations", s.Expired, "zxid", fmt.Sprintf("0x%x", s.Position), "seq", s.Seq)
}

func printMirrorSummary(w io.Writer, s dualwrite.Stats) {
	fmt.Fprintf(w, "mirror stopped at zxid 0x%x (batch %d)\n", s.Position, s.Seq)
	fmt.Fprintf(w, "  changes seen %d, applied %d (%d records in %d batches), backlog %d\n", s.Seen, s.Applied, s.Records, s.Batches, s.Backlog)
	fmt.Fprintf(w, "  lag p50 %s, p99 %s, max %s over %d changes\n", s.LagP50.Round(time.Microsecond), s.LagP99.Round(time.Microsecond), s.LagMax.Round(time.Microsecond), s.LagSamples)
	fmt.Fprintf(w, "  reconnects %d, session expirations %d, tree reads %d, append retries %d, rejected batches %d\n",
		s.Reconnects, s.Expired, s.Walks, s.Retries, s.Rejected)
}
