package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/spf13/cobra"

	"github.com/zk2kraft/zk2kraft/migrate"
	"github.com/zk2kraft/zk2kraft/progress"
	"github.com/zk2kraft/zk2kraft/quorum"
	"github.com/zk2kraft/zk2kraft/quorum/client"
	"github.com/zk2kraft/zk2kraft/testenv"
	"github.com/zk2kraft/zk2kraft/translate"
	"github.com/zk2kraft/zk2kraft/zkreader"
)

func init() { register(newDemoCmd) }

type demoFlags struct {
	backend    string
	topics     int
	partitions int
	churnRate  float64
	churnFor   time.Duration
	keep       bool
	dir        string
}

func newDemoCmd() *cobra.Command {
	f := &demoFlags{}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "The whole migration on a local seeded cluster: ZooKeeper ensemble with churn, 3-node quorum, verified cutover",
		Long: `demo starts a local 3-node ZooKeeper ensemble (Docker when an engine answers, else plain java
processes), seeds it with a Kafka cluster's metadata (every edge case: topics without ids, reassignments,
configs with an encrypted password, quotas, SCRAM users, ACLs, delegation tokens, ...), keeps changing it
(churn: leaders and ISRs move, configs change, topics are created) while an in-process 3-node quorum is
bootstrapped with the cluster's id and 'migrate' runs every phase: check, snapshot, translate, copy,
mirroring, verified and the cutover (THE POINT OF NO RETURN). Churn stops when verification starts, as an
operator freezes admin changes for the cutover window. Then it prints the report and tears everything down
(--keep leaves it running until Ctrl-C).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runDemo(cmd.Context(), cmd.OutOrStdout(), f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.backend, "backend", "", "ZooKeeper backend: docker, process or empty (docker when available)")
	fl.IntVar(&f.topics, "topics", 400, "plain topics to seed (besides the edge cases)")
	fl.IntVar(&f.partitions, "partitions", 10, "partitions per plain topic")
	fl.Float64Var(&f.churnRate, "churn-rate", 50, "changes per second while the migration copies and mirrors (0: none)")
	fl.DurationVar(&f.churnFor, "churn-for", 5*time.Second, "how long the mirror runs under churn before verification")
	fl.BoolVar(&f.keep, "keep", false, "keep the ensemble and the quorum running after the report, until Ctrl-C")
	fl.StringVar(&f.dir, "dir", "", "where the ensemble and quorum keep their data (default: a temp dir, removed at the end)")
	return cmd
}

func runDemo(ctx context.Context, out io.Writer, f *demoFlags) error {
	start := time.Now()
	say := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "[%5.1fs] "+format+"\n", append([]any{time.Since(start).Seconds()}, args...)...)
	}
	dir := f.dir
	if dir == "" {
		d, err := os.MkdirTemp("", "zk2kraft-demo-")
		if err != nil {
			return withExitCode(2, err)
		}
		dir = d
		if !f.keep {
			defer os.RemoveAll(dir)
		}
	}
	if err := testenv.Available(f.backend); err != nil {
		return withExitCode(2, fmt.Errorf("demo: no ZooKeeper backend (run scripts/setup.sh): %w", err))
	}
	say("starting a 3-node ZooKeeper ensemble (backend %s) in %s", orAuto(f.backend), dir)
	env, err := testenv.New(ctx, testenv.Options{Nodes: 3, Backend: f.backend, Dir: filepath.Join(dir, "zookeeper"), StartTimeout: 90 * time.Second})
	if err != nil {
		return withExitCode(2, fmt.Errorf("demo: start ZooKeeper: %w", err))
	}
	defer func() {
		if !f.keep {
			env.Close()
		}
	}()
	say("ensemble up (%s): %s", env.Backend(), env.ConnectString())
	conn, err := env.Dial(ctx)
	if err != nil {
		return withExitCode(2, err)
	}
	defer conn.Close() // the seeding session holds the brokers' ephemeral znodes
	const chroot = "/kafka"
	seeded, err := testenv.Seed(ctx, conn, testenv.SeedSpec{Brokers: 3, Topics: f.topics, PartitionsPerTopic: f.partitions,
		ReplicationFactor: 3, EdgeCases: true, Chroot: chroot})
	if err != nil {
		return withExitCode(2, fmt.Errorf("demo: seed: %w", err))
	}
	parts := 0
	for _, t := range seeded.Topics {
		parts += len(t.Partitions)
	}
	say("seeded cluster %s under %s: %d brokers, %d topics, %d partitions, %d ACL resources, %d SCRAM credentials",
		seeded.ClusterID.ID, chroot, len(seeded.Brokers), len(seeded.Topics), parts, len(seeded.ACLs), len(seeded.Scram))

	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	lc, err := quorum.StartLocalCluster(ctx, 3, filepath.Join(dir, "quorum"), seeded.ClusterID.ID, func(c *quorum.Config) { c.Logger = quiet })
	if err != nil {
		return withExitCode(2, fmt.Errorf("demo: start the quorum: %w", err))
	}
	defer func() {
		if !f.keep {
			lc.Close()
		}
	}()
	q, err := client.New(lc.APIAddrs(), nil)
	if err != nil {
		return withExitCode(2, err)
	}
	defer q.Close()
	say("3-node quorum up, bootstrapped with cluster id %s: %s", seeded.ClusterID.ID, strings.Join(lc.APIAddrs(), ","))

	zo := zkreader.Options{Connect: env.ConnectString() + chroot, Logger: quiet}
	topts := translate.Options{PassThroughEncryptedPasswords: true}
	opts := migrate.Options{ZK: zo, Quorum: q, Yes: true, Translate: topts, AssignTopicIDs: true,
		StateDir: filepath.Join(dir, "state"), Logger: quiet, VerifyTimeout: time.Minute,
		// Kafka controller node ids must differ from broker ids (1..3 here).
		KRaftControllerID: 3000}

	var ch *demoChurn
	if f.churnRate > 0 && newMirrorStarter != nil {
		cconn, err := env.Dial(ctx)
		if err != nil {
			return withExitCode(2, err)
		}
		defer cconn.Close()
		ch = startDemoChurn(ctx, cconn, seeded, f.churnRate)
		defer ch.stop()
		say("churn running: up to %.0f changes/s of every kind (topics, partitions, leaders, ISRs, controller moves, configs, quotas, ACLs, SCRAM, producer ids)", f.churnRate)
	} else if f.churnRate > 0 {
		say("no mirror available in this build: running without churn")
	}
	if newMirrorStarter != nil {
		opts.StartMirror = newMirrorStarter(zo, q, topts)
	}
	var lastPhase string
	var plMu sync.Mutex
	opts.Progress = func(e progress.Event) {
		if !e.Final {
			return
		}
		plMu.Lock()
		defer plMu.Unlock()
		say("  %s%s: %d %s in %s (%.0f/s)", e.Phase, stepOf(e.Step), e.Done, e.Unit, e.Elapsed.Round(time.Millisecond), e.Rate)
	}
	opts.OnPhase = func(p migrate.PhaseReport) {
		switch p.Status {
		case "running":
			lastPhase = p.Name
			if p.PointOfNoReturn {
				say("phase %s — THE POINT OF NO RETURN: claiming ZooKeeper's controller role", p.Name)
			} else {
				say("phase %s", p.Name)
			}
			if p.Name == string(migrate.PhaseVerified) && ch != nil {
				say("churn stopped after %s; changes frozen for the cutover window", churnSummary(ch.stop()))
			}
		default:
			say("phase %s %s in %.2fs %s", p.Name, p.Status, p.Seconds, p.Note)
			if p.Name == string(migrate.PhaseMirroring) && p.Status == "done" && ch != nil && f.churnFor > 0 {
				say("mirroring under churn for %s ...", f.churnFor)
				time.Sleep(f.churnFor)
			}
		}
	}
	rep, err := migrate.Run(ctx, opts)
	if rep != nil {
		if ch != nil {
			rep.Notes = append(rep.Notes, "demo: "+churnSummary(ch.stop())+" were made in ZooKeeper during the copy and mirroring (churn), then changes were frozen for verification and cutover")
		}
		if globals.Output == "json" {
			writeJSON(out, rep)
		} else {
			fmt.Fprintln(out)
			rep.WriteText(out)
		}
	}
	if err != nil {
		return withExitCode(2, fmt.Errorf("demo: phase %s: %w", lastPhase, err))
	}
	say("done: migrated, verified and cut over in %s", time.Since(start).Round(100*time.Millisecond))
	if f.keep {
		say("--keep: ZooKeeper %s%s, quorum %s, data in %s; Ctrl-C to stop", env.ConnectString(), chroot, strings.Join(lc.APIAddrs(), ","), dir)
		sig, stop := signal.NotifyContext(context.Background(), os.Interrupt)
		<-sig.Done()
		stop()
		lc.Close()
		env.Close()
	}
	return nil
}

func stepOf(s string) string {
	if s == "" {
		return ""
	}
	return " (" + s + ")"
}

func orAuto(b string) string {
	if b == "" {
		return "auto"
	}
	return b
}

// demoChurn runs testenv.Churn (every kind of change a live cluster makes:
// topics created and deleted, partitions added, leaders and ISRs moved,
// controller moves, configs, quotas, ACLs, SCRAM users, producer-id blocks)
// until stopped.
type demoChurn struct {
	cancel context.CancelFunc
	done   chan struct{}
	log    *testenv.ChurnLog
	err    error
	once   sync.Once
}

func startDemoChurn(ctx context.Context, conn *zk.Conn, seeded *zkreader.Snapshot, rate float64) *demoChurn {
	ctx, cancel := context.WithCancel(ctx)
	c := &demoChurn{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		c.log, c.err = testenv.Churn(ctx, conn, seeded, testenv.ChurnOptions{Rate: rate, Seed: uint64(time.Now().UnixNano())})
	}()
	return c
}

// stop ends the churn and returns what it did.
func (c *demoChurn) stop() *testenv.ChurnLog {
	c.once.Do(func() {
		c.cancel()
		<-c.done
		if c.log == nil {
			c.log = &testenv.ChurnLog{}
		}
		if c.err != nil && !errors.Is(c.err, context.Canceled) {
			fmt.Fprintf(os.Stderr, "demo: churn stopped on an error: %v\n", c.err)
		}
	})
	return c.log
}

func churnSummary(l *testenv.ChurnLog) string {
	var parts []string
	for _, k := range testenv.AllChurnKinds {
		if n := l.ByKind[k]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", k, n))
		}
	}
	return fmt.Sprintf("%d changes (%s)", l.Changes, strings.Join(parts, ", "))
}
