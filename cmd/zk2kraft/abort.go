package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/zk2kraft/zk2kraft/migrate"
)

func init() { register(newAbortCmd) }

func newAbortCmd() *cobra.Command {
	var (
		zf       zkReadFlags
		qf       quorumFlags
		dataDirs []string
		yes      bool
	)
	cmd := &cobra.Command{
		Use:   "abort --zk CONNECT --quorum HOST:PORT,... [--data-dir DIR ...] --yes",
		Short: "Undo a migration before its cutover: ZooKeeper stays exactly as it was, the quorum is marked aborted and wiped",
		Long: `abort undoes a migration that has not reached its cutover (THE POINT OF NO RETURN). zk2kraft writes
nothing in ZooKeeper before the cutover, so /controller, /controller_epoch and /migration are as Kafka left
them and a ZooKeeper-mode controller keeps (or takes) the role with no offline partitions; abort checks this
and reports anything another tool changed (a KRaft /controller or a stale /migration, known rollback traps).
The quorum is marked aborted (no migrate run continues into it); with --data-dir (the quorum nodes
stopped) its data dirs are deleted, else the report says to delete them.

Exit codes: 0 aborted, 1 ZooKeeper holds state another tool left (see the report), 2 refused or failed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !yes {
				return withExitCode(2, errors.New("abort marks the quorum aborted and deletes its data: confirm with --yes"))
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
			o := migrate.AbortOptions{ZK: zo, Quorum: q, Logger: slog.Default()}
			if len(dataDirs) > 0 {
				o.Wipe = func(context.Context) error {
					for _, d := range dataDirs {
						if _, err := os.Stat(d + "/cluster.id"); err != nil {
							return fmt.Errorf("--data-dir %s: not a quorum data dir (no cluster.id): %w", d, err)
						}
					}
					for _, d := range dataDirs {
						if err := os.RemoveAll(d); err != nil {
							return err
						}
					}
					return nil
				}
			}
			rep, err := migrate.Abort(cmd.Context(), o)
			if rep != nil {
				if globals.Output == "json" {
					writeJSON(cmd.OutOrStdout(), rep)
				} else {
					printAbort(cmd.OutOrStdout(), rep)
				}
			}
			if err != nil {
				return withExitCode(2, err)
			}
			if !rep.ZKUntouched {
				return withExitCode(1, nil)
			}
			return nil
		},
	}
	addZKReadFlags(cmd, &zf, false)
	qf.add(cmd, false)
	cmd.Flags().StringArrayVar(&dataDirs, "data-dir", nil, "a stopped quorum node's data dir to delete (repeat for each node)")
	cmd.Flags().BoolVar(&yes, "yes", false, "confirm")
	return cmd
}

func printAbort(w io.Writer, r *migrate.AbortReport) {
	fmt.Fprintf(w, "abort: the migration was in state %q\n", r.StateBefore)
	if r.ZKUntouched {
		fmt.Fprintln(w, "  ZooKeeper: untouched by zk2kraft (/controller, /controller_epoch, /migration as Kafka keeps them)")
	}
	for _, c := range r.ZKChanges {
		fmt.Fprintf(w, "  ZooKeeper: %s\n", c)
	}
	if r.QuorumWiped {
		fmt.Fprintln(w, "  quorum: marked aborted and its data dirs deleted")
	} else {
		fmt.Fprintln(w, "  quorum: marked aborted")
	}
	for _, s := range r.NextSteps {
		fmt.Fprintf(w, "  next: %s\n", s)
	}
}
