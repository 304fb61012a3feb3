package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/zk2kraft/zk2kraft/quorum"
	"github.com/zk2kraft/zk2kraft/quorum/client"
)

func init() { register(newQuorumCmd) }

func newQuorumCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "quorum",
		Short: "Run a controller node of the KRaft-style metadata quorum, or show the quorum's status",
	}
	cmd.AddCommand(newQuorumRunCmd(), newQuorumStatusCmd())
	return cmd
}

// quorumFlags are --quorum and the mutual-TLS flags of every command that talks
// to a quorum as a client.
type quorumFlags struct {
	addrs string
	tls   quorum.TLSFiles
}

// add registers --quorum (required when required is set) and the TLS flags.
func (f *quorumFlags) add(cmd *cobra.Command, required bool) {
	cmd.Flags().StringVar(&f.addrs, "quorum", "", "the quorum's client API addresses HOST:PORT,...")
	addQuorumTLSFlags(cmd, &f.tls)
	if required {
		cmd.MarkFlagRequired("quorum")
	}
}

// client builds the quorum client the flags describe.
func (f *quorumFlags) client() (*client.Client, error) { return newQuorumClient(f.addrs, f.tls) }

// addQuorumTLSFlags adds the mutual-TLS flags (also used by quorum run for its own listeners).
func addQuorumTLSFlags(cmd *cobra.Command, f *quorum.TLSFiles) {
	cmd.Flags().StringVar(&f.CA, "tls-ca", "", "PEM CA bundle that signs every node and client certificate (mutual TLS)")
	cmd.Flags().StringVar(&f.Cert, "tls-cert", "", "PEM certificate this process presents (serverAuth + clientAuth)")
	cmd.Flags().StringVar(&f.Key, "tls-key", "", "PEM private key of --tls-cert")
}

func newQuorumRunCmd() *cobra.Command {
	var (
		cfg                 quorum.Config
		voters              string
		tlsFiles            quorum.TLSFiles
		heartbeat, election time.Duration
		lease               time.Duration
	)
	cmd := &cobra.Command{
		Use:   "run --node-id N --bind HOST:PORT --api HOST:PORT --data-dir DIR --voters 1@h1:p1,2@h2:p2,3@h3:p3 [--cluster-id ID]",
		Short: "Run one controller node (raft + metadata image + client API) until interrupted",
		Long: `Runs one controller node as its own process. The first start bootstraps the quorum from --voters
(raft addresses) and needs --cluster-id (the Kafka cluster id, ZooKeeper's /cluster/id); later starts
recover from the data dir and refuse another cluster id. --api is the client API the other commands'
--quorum flag names. Listening beyond loopback requires mutual TLS (--tls-ca, --tls-cert, --tls-key).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			vs, err := quorum.ParseVoters(voters)
			if err != nil {
				return withExitCode(2, fmt.Errorf("--voters: %w", err))
			}
			cfg.Voters = vs
			if cfg.Bind == "" {
				for _, v := range vs {
					if v.ID == cfg.NodeID {
						cfg.Bind = v.Addr
					}
				}
			}
			if tlsFiles.Enabled() {
				if cfg.TLS, err = tlsFiles.Load(); err != nil {
					return withExitCode(2, err)
				}
			}
			cfg.Timing = quorum.LoopbackTiming
			if heartbeat > 0 {
				cfg.Timing.Heartbeat = heartbeat
			}
			if election > 0 {
				cfg.Timing.Election = election
			}
			if lease > 0 {
				cfg.Timing.LeaderLease = lease
			}
			cfg.Logger = slog.Default()
			ctx := cmd.Context()
			node, err := quorum.Start(ctx, cfg)
			if err != nil {
				return withExitCode(2, err)
			}
			fmt.Fprintf(os.Stderr, "zk2kraft quorum: node %s of cluster %s: raft on %s, client API on %s\n", cfg.NodeID, node.ClusterID(), cfg.Bind, node.APIAddr())
			<-ctx.Done()
			fmt.Fprintf(os.Stderr, "zk2kraft quorum: node %s stopping\n", cfg.NodeID)
			if err := node.Close(); err != nil {
				return withExitCode(2, err)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.NodeID, "node-id", "", "this node's id (one of --voters)")
	f.StringVar(&cfg.Bind, "bind", "", "raft listen address HOST:PORT (default: this node's --voters address)")
	f.StringVar(&cfg.API, "api", "127.0.0.1:9190", "client API listen address HOST:PORT")
	f.StringVar(&cfg.DataDir, "data-dir", "", "data directory: raft log, snapshots (Kafka .checkpoint inside), cluster.id")
	f.StringVar(&voters, "voters", "", "the quorum's voters: ID@HOST:PORT,... (raft addresses)")
	f.StringVar(&cfg.ClusterID, "cluster-id", "", "Kafka cluster id; required on first start, checked on later starts")
	f.Uint64Var(&cfg.SnapshotThreshold, "snapshot-threshold", 8192, "raft entries between snapshots")
	f.DurationVar(&heartbeat, "raft-heartbeat-timeout", 0, "raft heartbeat timeout (default 500ms, loopback/LAN)")
	f.DurationVar(&election, "raft-election-timeout", 0, "raft election timeout (default 500ms)")
	f.DurationVar(&lease, "raft-leader-lease-timeout", 0, "raft leader lease timeout (default 500ms)")
	addQuorumTLSFlags(cmd, &tlsFiles)
	cmd.MarkFlagRequired("node-id")
	cmd.MarkFlagRequired("data-dir")
	cmd.MarkFlagRequired("voters")
	return cmd
}

// quorumClient builds a client from --quorum and the TLS flags.
func newQuorumClient(addrs string, tlsFiles quorum.TLSFiles) (*client.Client, error) {
	list := client.ParseAddrs(addrs)
	if len(list) == 0 {
		return nil, withExitCode(2, fmt.Errorf("--quorum: want the client API addresses HOST:PORT,..."))
	}
	var err error
	var c *client.Client
	if tlsFiles.Enabled() {
		conf, lerr := tlsFiles.Load()
		if lerr != nil {
			return nil, withExitCode(2, lerr)
		}
		c, err = client.New(list, conf)
	} else {
		c, err = client.New(list, nil)
	}
	if err != nil {
		return nil, withExitCode(2, err)
	}
	return c, nil
}

func newQuorumStatusCmd() *cobra.Command {
	var (
		qf      quorumFlags
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "status --quorum h1:a1,h2:a2,...",
		Short: "Print every node's view of the quorum: leader, term, commit index, applied offset, voters, last contact",
		Long: `Asks every node's client API for its status. Exit code 0 when every node answers and they agree on
one leader, 1 when the quorum is degraded (a node unreachable, no leader, state machine errors), 2 when no
node answers.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := qf.client()
			if err != nil {
				return err
			}
			defer c.Close()
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			all := c.StatusAll(ctx)
			if globals.Output == "json" {
				if err := writeJSON(os.Stdout, all); err != nil {
					return withExitCode(2, err)
				}
			} else {
				printQuorumStatus(os.Stdout, all)
			}
			return quorumHealth(all)
		},
	}
	qf.add(cmd, true)
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Second, "how long to wait for the nodes")
	return cmd
}

func quorumHealth(all []client.NodeStatus) error {
	answered, leaders := 0, map[string]bool{}
	var problems []string
	for _, ns := range all {
		if ns.Status == nil {
			problems = append(problems, fmt.Sprintf("%s unreachable", ns.Addr))
			continue
		}
		answered++
		if ns.Status.LeaderID != "" {
			leaders[ns.Status.LeaderID] = true
		}
		if ns.Status.FSMErrors.Count > 0 {
			problems = append(problems, fmt.Sprintf("node %s: %d rejected entries", ns.Status.NodeID, ns.Status.FSMErrors.Count))
		}
	}
	if answered == 0 {
		return withExitCode(2, fmt.Errorf("no quorum node answered"))
	}
	if len(leaders) != 1 {
		problems = append(problems, fmt.Sprintf("%d leaders known", len(leaders)))
	}
	if len(problems) > 0 {
		return withExitCode(1, fmt.Errorf("quorum degraded: %s", strings.Join(problems, "; ")))
	}
	return nil
}

func printQuorumStatus(w io.Writer, all []client.NodeStatus) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ADDR\tNODE\tSTATE\tLEADER\tTERM\tCOMMIT\tAPPLIED\tLAST OFFSET\tEPOCH\tLAST CONTACT\tFSM ERRORS")
	var voters []quorum.Voter
	var cluster string
	var meta map[string]string
	var lastErr string
	for _, ns := range all {
		if ns.Status == nil {
			fmt.Fprintf(tw, "%s\t-\tUNREACHABLE\t-\t-\t-\t-\t-\t-\t-\t%s\n", ns.Addr, ns.Error)
			continue
		}
		s := ns.Status
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\t%d\n", ns.Addr, s.NodeID, s.State, s.LeaderID, s.Term,
			s.CommitIndex, s.AppliedIndex, s.Position.LastOffset, s.Position.LastEpoch, s.LastContact, s.FSMErrors.Count)
		if len(s.Voters) > len(voters) {
			voters = s.Voters
		}
		cluster = s.ClusterID
		if s.State == "Leader" || meta == nil {
			meta = s.Meta
		}
		if s.FSMErrors.LastError != "" {
			lastErr = s.FSMErrors.LastError
		}
	}
	tw.Flush()
	if cluster != "" {
		fmt.Fprintf(w, "cluster id: %s\n", cluster)
	}
	var vs []string
	for _, v := range voters {
		vs = append(vs, v.ID+"@"+v.Addr)
	}
	if len(vs) > 0 {
		fmt.Fprintf(w, "voters: %s\n", strings.Join(vs, ","))
	}
	for k, v := range meta {
		fmt.Fprintf(w, "meta %s = %s\n", k, v)
	}
	if lastErr != "" {
		fmt.Fprintf(w, "last state machine error: %s\n", lastErr)
	}
}
