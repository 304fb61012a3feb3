package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/zk2kraft/zk2kraft/progress"
	"github.com/zk2kraft/zk2kraft/zkreader"
)

func init() { register(newSnapshotCmd) }

// zkReadFlags are the flags of every command that reads ZooKeeper with zkreader.
type zkReadFlags struct {
	connect        string
	chroot         string
	auth           string
	tlsCA          string
	tlsCert        string
	tlsKey         string
	rateLimit      float64
	maxInFlight    int
	batchSize      int
	connections    int
	mode           string
	sessionTimeout time.Duration
	dataDir        dataDirFlags // offline read of ZooKeeper's own files (snapshot_datadir.go)
}

// zkAuthEnv holds --zk-auth when it should not appear in the process list.
const zkAuthEnv = "ZK2KRAFT_ZK_AUTH"

// addZKReadFlags adds the ZooKeeper connection flags; withDataDir adds the
// offline source (--zk-data-dir ...) for commands that can read from it.
func addZKReadFlags(cmd *cobra.Command, f *zkReadFlags, withDataDir bool) {
	fl := cmd.Flags()
	fl.StringVar(&f.connect, "zk", "", "ZooKeeper connect string HOST:PORT[,HOST:PORT...][/chroot] (as the brokers' zookeeper.connect)")
	fl.StringVar(&f.chroot, "chroot", "", "Kafka chroot in ZooKeeper, e.g. /kafka (or put it in --zk)")
	fl.StringVar(&f.auth, "zk-auth", "", "ZooKeeper digest auth digest:USER:PASSWORD (better: set "+zkAuthEnv+"; never logged)")
	fl.StringVar(&f.tlsCA, "zk-tls-ca", "", "PEM CA file for ZooKeeper's secure client port (3.5+)")
	fl.StringVar(&f.tlsCert, "zk-tls-cert", "", "PEM client certificate file for ZooKeeper TLS")
	fl.StringVar(&f.tlsKey, "zk-tls-key", "", "PEM client key file for ZooKeeper TLS")
	fl.Float64Var(&f.rateLimit, "zk-rate-limit", 0, "read at most N znodes per second (0: no limit) to spare a busy production ensemble")
	fl.IntVar(&f.maxInFlight, "zk-max-inflight", 0, "requests in flight per connection (default 8 with multiRead, 128 with gets)")
	fl.IntVar(&f.batchSize, "zk-batch-size", 0, "reads per multiRead request (default 500)")
	fl.IntVar(&f.connections, "zk-connections", 0, "connections to ZooKeeper (default 1 with multiRead, 3 with gets)")
	fl.StringVar(&f.mode, "read-mode", "auto", "auto (multiRead on ZooKeeper 3.6+, else pipelined gets), multiread or get")
	fl.DurationVar(&f.sessionTimeout, "zk-session-timeout", 10*time.Second, "ZooKeeper session timeout")
	if withDataDir {
		addDataDirFlags(cmd, &f.dataDir)
	}
}

// options turns the flags into zkreader.Options; errors never echo the password.
func (f *zkReadFlags) options(progressFn progress.Func, logger *slog.Logger) (zkreader.Options, error) {
	o := zkreader.Options{
		Connect: f.connect, Chroot: f.chroot, RateLimit: f.rateLimit, MaxInFlight: f.maxInFlight,
		BatchSize: f.batchSize, Connections: f.connections, Mode: zkreader.Mode(strings.ToLower(f.mode)),
		SessionTimeout: f.sessionTimeout, Progress: progressFn, Logger: logger,
		TLS: zkreader.TLSOptions{CAFile: f.tlsCA, CertFile: f.tlsCert, KeyFile: f.tlsKey},
	}
	if f.connect == "" {
		return o, errors.New("--zk is required (HOST:PORT[,HOST:PORT...][/chroot])")
	}
	auth := f.auth
	if auth == "" {
		auth = os.Getenv(zkAuthEnv)
	}
	if auth != "" {
		scheme, rest, ok := strings.Cut(auth, ":")
		user, _, ok2 := strings.Cut(rest, ":")
		if !ok || !ok2 || scheme != "digest" || user == "" {
			return o, errors.New("--zk-auth: want digest:USER:PASSWORD")
		}
		o.Auth = rest
	}
	switch o.Mode {
	case zkreader.ModeAuto, zkreader.ModeMultiRead, zkreader.ModeGet:
	default:
		return o, fmt.Errorf("--read-mode %q: want auto, multiread or get", f.mode)
	}
	if f.rateLimit < 0 {
		return o, fmt.Errorf("--zk-rate-limit %v: must be >= 0", f.rateLimit)
	}
	return o, nil
}

// readSnapshot reads ZooKeeper with progress on stderr when it is a terminal.
func readSnapshot(ctx context.Context, f *zkReadFlags) (*zkreader.Snapshot, error) {
	if f.dataDir.set() {
		return readDataDirSnapshot(ctx, f)
	}
	var pf progress.Func
	var pr *stderrProgress
	if isTerminal(os.Stderr) {
		pr = &stderrProgress{w: os.Stderr}
		pf = pr.show
	}
	o, err := f.options(pf, slog.Default())
	if err != nil {
		return nil, withExitCode(2, err)
	}
	snap, err := zkreader.Read(ctx, o)
	if pr != nil {
		pr.done()
	}
	if err != nil {
		return nil, withExitCode(2, err)
	}
	return snap, nil
}

// stderrProgress renders progress events on one terminal line.
type stderrProgress struct {
	mu    sync.Mutex
	w     io.Writer
	shown bool
}

func (p *stderrProgress) show(ev progress.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	line := fmt.Sprintf("\r%s (%s): %d %s", ev.Phase, ev.Step, ev.Done, ev.Unit)
	if ev.Total > 0 {
		line += fmt.Sprintf(" of ~%d", ev.Total)
	}
	line += fmt.Sprintf(", %.0f/s", ev.Rate)
	if ev.Limit > 0 {
		line += fmt.Sprintf(" (limit %.0f/s)", ev.Limit)
	}
	if ev.ETA > 0 {
		line += fmt.Sprintf(", ETA %s", ev.ETA.Round(time.Second))
	}
	if ev.Final {
		line += fmt.Sprintf(", done in %s", ev.Elapsed.Round(time.Millisecond))
	}
	fmt.Fprintf(p.w, "%s\x1b[K", line)
	p.shown = true
}

func (p *stderrProgress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown {
		fmt.Fprintln(p.w)
	}
}

// snapshotSummary is what `snapshot` prints.
type snapshotSummary struct {
	File       string             `json:"file"`
	Source     string             `json:"source"`
	TakenAt    time.Time          `json:"takenAt"`
	MaxZxid    int64              `json:"maxZxid"`
	ZnodesRead int64              `json:"znodesRead"`
	Seconds    float64            `json:"seconds"`
	Brokers    int                `json:"brokers"`
	Topics     int                `json:"topics"`
	Partitions int                `json:"partitions"`
	ACLs       int                `json:"aclResources"`
	Quotas     int                `json:"quotas"`
	Scram      int                `json:"scramCredentials"`
	Findings   []zkreader.Finding `json:"findings"`
}

func summarize(s *zkreader.Snapshot, file string, took time.Duration) snapshotSummary {
	sum := snapshotSummary{File: file, Source: s.Source, TakenAt: s.TakenAt, MaxZxid: s.MaxZxid, ZnodesRead: s.ZnodesRead,
		Seconds: took.Seconds(), Brokers: len(s.Brokers), Topics: len(s.Topics), ACLs: len(s.ACLs),
		Quotas: len(s.Quotas), Scram: len(s.Scram), Findings: s.Findings}
	for _, t := range s.Topics {
		sum.Partitions += len(t.Partitions)
	}
	if sum.Findings == nil {
		sum.Findings = []zkreader.Finding{}
	}
	return sum
}

func newSnapshotCmd() *cobra.Command {
	var zf zkReadFlags
	var out string
	cmd := &cobra.Command{
		Use:   "snapshot --zk HOST:PORT[,...][/chroot] --out FILE",
		Short: "Read every Kafka znode from ZooKeeper into a snapshot file",
		Long: "snapshot reads everything a ZooKeeper-mode Kafka cluster keeps in ZooKeeper (multiRead on ZooKeeper 3.6+,\n" +
			"pipelined gets on older servers) and saves it to a versioned, compressed, checksummed file that\n" +
			"translate, verify and check can use later, offline. Malformed znodes are reported, never dropped silently.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return withExitCode(2, errors.New("--out FILE is required"))
			}
			start := time.Now()
			snap, err := readSnapshot(cmd.Context(), &zf)
			if err != nil {
				return err
			}
			took := time.Since(start)
			if err := saveSnapshotFile(out, snap); err != nil {
				return withExitCode(2, err)
			}
			sum := summarize(snap, out, took)
			if globals.Output == "json" {
				return writeJSON(cmd.OutOrStdout(), sum)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "snapshot of %s written to %s\n", sum.Source, out)
			fmt.Fprintf(w, "  %d znodes in %.2fs (%.0f/s), max zxid 0x%x\n", sum.ZnodesRead, sum.Seconds, float64(sum.ZnodesRead)/max(sum.Seconds, 1e-9), sum.MaxZxid)
			fmt.Fprintf(w, "  %d brokers, %d topics, %d partitions, %d ACL resources, %d quotas, %d SCRAM credentials\n",
				sum.Brokers, sum.Topics, sum.Partitions, sum.ACLs, sum.Quotas, sum.Scram)
			if len(sum.Findings) > 0 {
				fmt.Fprintf(w, "  %d finding(s) (run `zk2kraft check --snapshot %s` for the full pre-flight):\n", len(sum.Findings), out)
				for i, f := range sum.Findings {
					if i == 20 {
						fmt.Fprintf(w, "    ... and %d more\n", len(sum.Findings)-i)
						break
					}
					fmt.Fprintf(w, "    %s\n", f)
				}
			}
			return nil
		},
	}
	addZKReadFlags(cmd, &zf, true)
	cmd.Flags().StringVar(&out, "out", "", "snapshot file to write")
	return cmd
}

// saveSnapshotFile writes the snapshot atomically (temp file, fsync, rename).
func saveSnapshotFile(path string, s *zkreader.Snapshot) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("create snapshot file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := zkreader.Save(tmp, s); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("sync %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("rename to %s: %w", path, err)
	}
	return nil
}

// loadSnapshotFile reads a snapshot file.
func loadSnapshotFile(path string) (*zkreader.Snapshot, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	s, err := zkreader.Load(f)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	return s, nil
}
