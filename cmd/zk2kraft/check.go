package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/zk2kraft/zk2kraft/preflight"
	"github.com/zk2kraft/zk2kraft/zkreader"
)

func init() { register(newCheckCmd) }

func newCheckCmd() *cobra.Command {
	var zf zkReadFlags
	var snapFile string
	var opts preflight.Options
	cmd := &cobra.Command{
		Use:   "check (--zk HOST:PORT[,...][/chroot] | --snapshot FILE)",
		Short: "Pre-flight: report what would block or complicate a migration",
		Long: "check reads the cluster's metadata from ZooKeeper (or a snapshot file) and reports every known trap:\n" +
			"malformed znodes, topics without ids, pending deletions, reassignments, offline partitions, unregistered\n" +
			"brokers, a /migration or KRaft /controller znode left by an earlier attempt, a missing cluster id, ...\n" +
			"Each finding has a severity (blocker, warning, info), the znodes involved and a remedy.\n" +
			"Exit code: 0 no blocker, 1 blockers found, 2 the check could not run.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var snap *zkreader.Snapshot
			var err error
			switch {
			case snapFile != "" && zf.connect != "":
				return withExitCode(2, errors.New("give --zk or --snapshot, not both"))
			case snapFile != "":
				if snap, err = loadSnapshotFile(snapFile); err != nil {
					return withExitCode(2, err)
				}
			default:
				if snap, err = readSnapshot(cmd.Context(), &zf); err != nil {
					return err
				}
			}
			r := preflight.Check(snap, opts)
			if globals.Output == "json" {
				if err := writeJSON(cmd.OutOrStdout(), r); err != nil {
					return withExitCode(2, err)
				}
			} else {
				printCheckReport(cmd.OutOrStdout(), &r)
			}
			if r.HasBlockers() {
				return withExitCode(1, nil)
			}
			return nil
		},
	}
	addZKReadFlags(cmd, &zf, true)
	cmd.Flags().StringVar(&snapFile, "snapshot", "", "check a snapshot file written by `zk2kraft snapshot` instead of reading ZooKeeper")
	cmd.Flags().BoolVar(&opts.AssignTopicIDs, "assign-topic-ids", false, "the translation will derive ids for topics without one (a missing id becomes a warning)")
	cmd.Flags().IntVar(&opts.MaxPaths, "max-paths", 50, "znodes listed per finding")
	return cmd
}

func printCheckReport(w io.Writer, r *preflight.Report) {
	s := r.Summary
	fmt.Fprintf(w, "pre-flight check of %s (cluster id %s, max zxid 0x%x)\n", r.Source, checkOrNone(r.ClusterID), r.MaxZxid)
	fmt.Fprintf(w, "  %d brokers, %d topics, %d partitions, %d ACL resources\n", s.Brokers, s.Topics, s.Partitions, s.ACLs)
	for _, sev := range []zkreader.Severity{zkreader.Blocker, zkreader.Warning, zkreader.Info} {
		for _, f := range r.Findings {
			if f.Severity != sev {
				continue
			}
			fmt.Fprintf(w, "\n%-7s %s  %s\n", f.Severity, f.Code, f.Path)
			if f.Field != "" {
				fmt.Fprintf(w, "        field %s, expected %s\n", f.Field, f.Expected)
			}
			fmt.Fprintf(w, "        %s\n", f.Message)
			for _, p := range f.Paths {
				if p != f.Path {
					fmt.Fprintf(w, "          %s\n", p)
				}
			}
			if f.Remedy != "" {
				fmt.Fprintf(w, "        remedy: %s\n", f.Remedy)
			}
		}
	}
	verdict := "OK: no blocker"
	if !r.OK {
		verdict = "NOT READY: blockers must be fixed before migrating"
	}
	fmt.Fprintf(w, "\n%d blocker(s), %d warning(s), %d info — %s\n", s.Blockers, s.Warnings, s.Infos, verdict)
}

func checkOrNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
