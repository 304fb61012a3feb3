package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/zk2kraft/zk2kraft/migrate"
	"github.com/zk2kraft/zk2kraft/progress"
	"github.com/zk2kraft/zk2kraft/translate"
	"github.com/zk2kraft/zk2kraft/verify"
)

func init() { register(newVerifyCmd) }

// migrationTranslateFlags are the translation settings verify and migrate
// share (they must match between the copy and its verification).
type migrationTranslateFlags struct {
	metadataVersion string
	secret          string
	passThrough     bool
	assignTopicIDs  bool
}

func addMigrationTranslateFlags(cmd *cobra.Command, f *migrationTranslateFlags) {
	fl := cmd.Flags()
	fl.StringVar(&f.metadataVersion, "metadata-version", "3.9-IV0", "target metadata.version (3.6-IV1 … 3.9-IV0)")
	fl.StringVar(&f.secret, "password-encoder-secret", "", "the brokers' password.encoder.secret, to decrypt dynamic password configs (better: set "+passwordSecretEnv+")")
	fl.BoolVar(&f.passThrough, "pass-through-encrypted-passwords", false, "copy password configs that cannot be decrypted as stored ciphertext (Kafka's NOOP encoder behaviour)")
	fl.BoolVar(&f.assignTopicIDs, "assign-topic-ids", false, "give topics whose znode has no topic id a derived one (Kafka's migration refuses them)")
}

func (f *migrationTranslateFlags) options() translate.Options {
	secret := f.secret
	if secret == "" {
		secret = os.Getenv(passwordSecretEnv)
	}
	return translate.Options{MetadataVersion: f.metadataVersion, PasswordEncoderSecret: secret, PassThroughEncryptedPasswords: f.passThrough}
}

// cliProgress shows progress on stderr when it is a terminal.
func cliProgress() (progress.Func, func()) {
	if !isTerminal(os.Stderr) {
		return nil, func() {}
	}
	pr := &stderrProgress{w: os.Stderr}
	fn := func(e progress.Event) {
		pr.show(e)
		cliMetrics.Progress(e)
	}
	return fn, pr.done
}

func newVerifyCmd() *cobra.Command {
	var (
		zf      zkReadFlags
		tf      migrationTranslateFlags
		qf      quorumFlags
		rounds  int
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "verify --zk CONNECT --quorum HOST:PORT,...",
		Short: "Prove parity: compare the quorum's image with a fresh translation of ZooKeeper, object by object",
		Long: `verify reads ZooKeeper afresh, translates it and replays it with the quorum's own apply code into the
expected image, and compares it with the quorum's image: topic by topic, partition by partition, config,
quota, SCRAM user, ACL, producer id. Every difference is listed with the object, the field, the ZooKeeper
value and the quorum value, plus counts and a digest per section.

It is sound while the cluster changes: a difference whose ZooKeeper side is newer than the mirror's
position is "in flight", not a mismatch. Parity is declared only when the mirror's lag is zero and two
consecutive comparisons both find no difference.

Exit codes: 0 parity, 1 differences (or still in flight at the deadline), 2 could not run.`,
		Example: `  zk2kraft verify --zk zk1:2181/kafka --quorum c1:9990,c2:9990,c3:9990
  zk2kraft verify --zk zk1:2181/kafka --quorum c1:9990 --output json | jq .status`,
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
			pf, done := cliProgress()
			topts := tf.options()
			if tf.assignTopicIDs {
				topts.AssignedTopicIDs = nil // taken from the quorum for topics without an id
			}
			res, err := verify.Run(cmd.Context(), verify.Options{ZK: zo, Quorum: q, Translate: topts, MaxRounds: rounds, Timeout: timeout, Progress: pf, Logger: slog.Default()})
			done()
			if err != nil {
				return withExitCode(2, err)
			}
			cliMetrics.ParityMismatches.Set(float64(len(res.Mismatches)))
			if globals.Output == "json" {
				if err := writeJSON(cmd.OutOrStdout(), res); err != nil {
					return withExitCode(2, err)
				}
			} else {
				printVerify(cmd.OutOrStdout(), res)
			}
			if !res.Parity {
				return withExitCode(1, nil)
			}
			return nil
		},
	}
	addZKReadFlags(cmd, &zf, false)
	addMigrationTranslateFlags(cmd, &tf)
	qf.add(cmd, false)
	cmd.Flags().IntVar(&rounds, "rounds", 10, "at most this many comparisons")
	cmd.Flags().DurationVar(&timeout, "timeout", 2*time.Minute, "give up (exit 1, in flight) after this long")
	return cmd
}

func printVerify(w io.Writer, res *verify.Result) {
	fmt.Fprintf(w, "verify: %s after %d comparison(s) in %s\n", res.Status, len(res.Rounds), res.Duration.Round(time.Millisecond))
	if l := res.Last; l != nil {
		fmt.Fprintf(w, "  mirror zxid 0x%x, newest ZooKeeper zxid read 0x%x, lag zero: %v, quorum offset %d\n", l.MirrorZxid, l.SnapshotZxid, l.LagZero, l.QuorumOffset)
	}
	fmt.Fprintln(w, "Sections (count and digest, ZooKeeper vs quorum):")
	migrate.WriteSections(w, res.Sections)
	for _, d := range res.Mismatches {
		fmt.Fprintf(w, "MISMATCH %s\n", d.String())
	}
	for _, d := range res.InFlight {
		fmt.Fprintf(w, "in flight (ZooKeeper zxid 0x%x) %s\n", d.ZKZxid, d.String())
	}
	if len(res.Skipped) > 0 {
		fmt.Fprintf(w, "%d object(s) not migrated by design (see zk2kraft translate)\n", len(res.Skipped))
	}
}

var errNoQuorum = errors.New("--quorum is required")
