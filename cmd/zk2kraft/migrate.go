package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/zk2kraft/zk2kraft/dualwrite"
	"github.com/zk2kraft/zk2kraft/migrate"
	"github.com/zk2kraft/zk2kraft/progress"
	"github.com/zk2kraft/zk2kraft/quorum/client"
	"github.com/zk2kraft/zk2kraft/translate"
	"github.com/zk2kraft/zk2kraft/zkreader"
)

func init() {
	register(newMigrateCmd)
	newMirrorStarter = func(zo zkreader.Options, q *client.Client, topts translate.Options) migrate.MirrorStarter {
		return migrate.DualWrite(dualwrite.Options{ZK: zo, Quorum: q, Translate: topts, Metrics: cliMetrics, Logger: slog.Default()}, 0)
	}
}

// newMirrorStarter builds the dual-write the migrate command drives (nil:
// none available).
var newMirrorStarter func(zo zkreader.Options, q *client.Client, topts translate.Options) migrate.MirrorStarter

func newMigrateCmd() *cobra.Command {
	var (
		zf       zkReadFlags
		tf       migrationTranslateFlags
		qf       quorumFlags
		until    string
		dryRun   bool
		yes      bool
		stateDir string
		noMirror bool
		vtimeout time.Duration
		maxBatch int
		ctlID    int32
	)
	cmd := &cobra.Command{
		Use:   "migrate --zk CONNECT --quorum HOST:PORT,... [--until PHASE] [--dry-run] [--yes]",
		Short: "Run the whole migration as one resumable command: check, snapshot, translate, copy, mirroring, verified, cutover",
		Long: `migrate runs the migration's named phases in order:

  check      read ZooKeeper, pre-flight findings (blockers stop here)
  snapshot   the read that is copied (its zxid is recorded in the quorum)
  translate  ZooKeeper's metadata -> KRaft records
  copied     the records into the quorum, in batches, inside the "ZK Migration" transaction
  mirroring  ZooKeeper changes after the snapshot flow into the quorum (dual-write)
  verified   parity proven, object by object (see zk2kraft verify)
  cutover    THE POINT OF NO RETURN: the quorum claims ZooKeeper's controller role with a higher
             controller epoch (the ZooKeeper-mode controller is fenced), /migration records the
             quorum's offset, ZkMigrationStateRecord closes the migration. Needs --yes and parity.

The quorum must be bootstrapped with ZooKeeper's /cluster/id (a quorum with another id is refused:
Kafka would fail with INCONSISTENT_CLUSTER_ID). The migration's state lives in the quorum, so running
the same command again after a crash, a kill or Ctrl-C resumes where it stopped; it never starts a
second copy over a first. --dry-run writes nothing anywhere and prints the plan.
Before the cutover, 'zk2kraft abort' undoes everything.

Exit codes: 0 done up to --until, 1 blockers or no parity, 2 usage or runtime error (also: cutover
not confirmed), 130 interrupted (rerun to resume).`,
		Example: `  zk2kraft migrate --zk zk1:2181/kafka --quorum c1:9990,c2:9990,c3:9990 --dry-run
  zk2kraft migrate --zk zk1:2181/kafka --quorum c1:9990,c2:9990,c3:9990 --until verified
  zk2kraft migrate --zk zk1:2181/kafka --quorum c1:9990,c2:9990,c3:9990 --yes --output json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ph, err := migrate.ParseUntil(until)
			if err != nil {
				return withExitCode(2, err)
			}
			zo, err := zf.options(nil, slog.Default())
			if err != nil {
				return withExitCode(2, err)
			}
			q, err := qf.client()
			if err != nil {
				return err
			}
			defer q.Close()
			pf, done := cliProgress()
			topts := tf.options()
			topts.MaxBatchRecords = maxBatch
			opts := migrate.Options{
				ZK: zo, Quorum: q, Until: ph, DryRun: dryRun, Yes: yes, Translate: topts, AssignTopicIDs: tf.assignTopicIDs,
				StateDir: stateDir, VerifyTimeout: vtimeout, Logger: slog.Default(), KRaftControllerID: ctlID,
				Progress: func(e progress.Event) {
					if pf != nil {
						pf(e)
					}
					cliMetrics.Progress(e)
				},
				OnPhase: func(p migrate.PhaseReport) {
					recordPhaseMetric(cliMetrics, p)
					if p.PointOfNoReturn && p.Status == "running" {
						fmt.Fprintln(os.Stderr, "zk2kraft: cutover: THE POINT OF NO RETURN — claiming ZooKeeper's controller role")
					}
				},
			}
			if zf.dataDir.set() {
				if opts.ReadSource, err = dataDirSource(&zf); err != nil {
					return withExitCode(2, err)
				}
			}
			if !noMirror && newMirrorStarter != nil && !dryRun {
				opts.StartMirror = newMirrorStarter(zo, q, topts)
			}
			rep, err := migrate.Run(cmd.Context(), opts)
			done()
			if rep != nil {
				recordReportMetrics(rep)
				if globals.Output == "json" {
					if werr := writeJSON(cmd.OutOrStdout(), rep); werr != nil {
						return withExitCode(2, werr)
					}
				} else {
					rep.WriteText(cmd.OutOrStdout())
				}
			}
			switch {
			case err == nil:
				return nil
			case errors.Is(err, migrate.ErrBlocked), errors.Is(err, migrate.ErrNoParity):
				return withExitCode(1, err)
			default:
				return withExitCode(2, err)
			}
		},
	}
	addZKReadFlags(cmd, &zf, true)
	addMigrationTranslateFlags(cmd, &tf)
	fl := cmd.Flags()
	qf.add(cmd, false)
	fl.StringVar(&until, "until", "cutover", "stop after this phase: check, snapshot, copied, mirroring, verified or cutover (THE POINT OF NO RETURN)")
	fl.BoolVar(&dryRun, "dry-run", false, "write nothing anywhere; print the plan, the findings, record counts and the estimated time")
	fl.BoolVar(&yes, "yes", false, "confirm the cutover, THE POINT OF NO RETURN (needed for --until cutover)")
	fl.StringVar(&stateDir, "state-dir", "", "keep the snapshot being copied here, so an interrupted copy resumes with the same data (else it restarts from a new read)")
	fl.BoolVar(&noMirror, "no-mirror", false, "do not run the dual-write (only for a cluster frozen for the migration)")
	fl.DurationVar(&vtimeout, "verify-timeout", 2*time.Minute, "how long a verification may try to reach parity")
	fl.Int32Var(&ctlID, "kraft-controller-id", 0, "node id the quorum claims ZooKeeper's controller role as (default: the quorum leader's id; must differ from every broker id)")
	fl.IntVar(&maxBatch, "max-batch-records", 0, "records per copy batch (default Kafka's 10,000)")
	fl.MarkHidden("max-batch-records")
	completeWords(cmd, "until", "check", "snapshot", "copied", "mirroring", "verified", "cutover")
	return cmd
}

// recordReportMetrics feeds the run's figures to the Prometheus metrics.
func recordReportMetrics(rep *migrate.Report) {
	if rep.Verify != nil {
		cliMetrics.ParityMismatches.Set(float64(len(rep.Verify.Mismatches)))
	}
	for _, p := range rep.Phases {
		if p.Name == string(migrate.PhaseCopy) && p.Status == "done" {
			for t, n := range rep.Counts {
				cliMetrics.AddRecords(t, n)
			}
		}
	}
}
