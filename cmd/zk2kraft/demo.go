package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/spf13/cobra"

	"github.com/zk2kraft/zk2kraft/kafka"
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
		ch = startDemoChurn(ctx, cconn, chroot, seeded, f.churnRate)
		defer ch.stop()
		say("churn running: %.0f changes/s (leaders, ISRs, topic configs, new topics)", f.churnRate)
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
				n := ch.stop()
				say("churn stopped after %d changes (admin changes frozen for the cutover window)", n)
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
			rep.Notes = append(rep.Notes, fmt.Sprintf("demo: %d changes were made in ZooKeeper during the copy and mirroring (churn), then changes were frozen for verification and cutover", ch.count()))
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

// demoChurn changes the seeded cluster the way a running ZooKeeper-mode
// Kafka cluster does: the controller moves leaders and shrinks/expands ISRs
// (conditional on the state znode's version, bumping the leader epoch),
// admins change topic configs and create topics.
type demoChurn struct {
	cancel context.CancelFunc
	done   chan struct{}
	n      atomic.Int64
	once   sync.Once
}

func (c *demoChurn) count() int64 { return c.n.Load() }

func (c *demoChurn) stop() int64 {
	c.once.Do(func() {
		c.cancel()
		<-c.done
	})
	return c.n.Load()
}

type churnPartition struct {
	path     string
	replicas []int32
}

func startDemoChurn(ctx context.Context, conn *zk.Conn, chroot string, seeded *zkreader.Snapshot, rate float64) *demoChurn {
	ctx, cancel := context.WithCancel(ctx)
	c := &demoChurn{cancel: cancel, done: make(chan struct{})}
	var parts []churnPartition
	var topics []string
	pending := map[string]bool{}
	for _, p := range seeded.PendingDeletions {
		pending[p] = true
	}
	for _, t := range seeded.Topics {
		if !strings.HasPrefix(t.Name, "topic-") || pending[t.Name] || t.TopicID == nil {
			continue
		}
		topics = append(topics, t.Name)
		for _, p := range t.Partitions {
			if p.State != nil && len(p.AddingReplicas) == 0 && len(p.Replicas) > 0 {
				parts = append(parts, churnPartition{path: fmt.Sprintf("%s/brokers/topics/%s/partitions/%d/state", chroot, t.Name, p.ID), replicas: p.Replicas})
			}
		}
	}
	rnd := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	go func() {
		defer close(c.done)
		tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
		defer tick.Stop()
		created := 0
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			var err error
			switch x := rnd.IntN(10); {
			case x < 7 && len(parts) > 0:
				err = churnLeader(conn, parts[rnd.IntN(len(parts))], rnd)
			case x < 9 && len(topics) > 0:
				name := topics[rnd.IntN(len(topics))]
				cfg := fmt.Sprintf(`{"version":1,"config":{"retention.ms":"%d"}}`, 3600000*(1+rnd.IntN(168)))
				_, err = conn.Set(chroot+"/config/topics/"+name, []byte(cfg), -1)
				if errors.Is(err, zk.ErrNoNode) {
					_, err = conn.Create(chroot+"/config/topics/"+name, []byte(cfg), 0, zk.WorldACL(zk.PermAll))
				}
			default:
				created++
				err = churnCreateTopic(conn, chroot, fmt.Sprintf("demo-new-%d-%d", time.Now().UnixNano()%100000, created), rnd)
			}
			if err == nil {
				c.n.Add(1)
			}
		}
	}()
	return c
}

type partitionState struct {
	ControllerEpoch int     `json:"controller_epoch"`
	Leader          int32   `json:"leader"`
	Version         int     `json:"version"`
	LeaderEpoch     int32   `json:"leader_epoch"`
	ISR             []int32 `json:"isr"`
}

func churnLeader(conn *zk.Conn, p churnPartition, rnd *rand.Rand) error {
	data, st, err := conn.Get(p.path)
	if err != nil {
		return err
	}
	var s partitionState
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	// A new leader from the replicas; the ISR shrinks to it or grows to all.
	s.Leader = p.replicas[rnd.IntN(len(p.replicas))]
	if rnd.IntN(2) == 0 {
		s.ISR = []int32{s.Leader}
	} else {
		s.ISR = append([]int32(nil), p.replicas...)
	}
	s.LeaderEpoch++
	b, _ := json.Marshal(s)
	_, err = conn.Set(p.path, b, st.Version)
	return err
}

func churnCreateTopic(conn *zk.Conn, chroot, name string, rnd *rand.Rand) error {
	tid := kafka.DerivedUUID("zk2kraft-demo-topic", name, fmt.Sprint(rnd.Uint64())).String()
	acl := zk.WorldACL(zk.PermAll)
	topic := fmt.Sprintf(`{"version":3,"partitions":{"0":[1,2,3],"1":[2,3,1]},"adding_replicas":{},"removing_replicas":{},"topic_id":"%s"}`, tid)
	base := chroot + "/brokers/topics/" + name
	ops := []any{
		&zk.CreateRequest{Path: chroot + "/config/topics/" + name, Data: []byte(`{"version":1,"config":{}}`), Acl: acl},
		&zk.CreateRequest{Path: base, Data: []byte(topic), Acl: acl},
		&zk.CreateRequest{Path: base + "/partitions", Acl: acl},
	}
	for p, l := range []int32{1, 2} {
		ops = append(ops,
			&zk.CreateRequest{Path: fmt.Sprintf("%s/partitions/%d", base, p), Acl: acl},
			&zk.CreateRequest{Path: fmt.Sprintf("%s/partitions/%d/state", base, p), Acl: acl,
				Data: []byte(fmt.Sprintf(`{"controller_epoch":1,"leader":%d,"version":1,"leader_epoch":0,"isr":[1,2,3]}`, l))})
	}
	_, err := conn.Multi(ops...)
	return err
}
