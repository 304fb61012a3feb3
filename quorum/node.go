// Package quorum runs the KRaft-style controller quorum zk2kraft migrates
// into: hashicorp/raft nodes whose log entries are Kafka RecordBatches of
// metadata records, whose state machine is the metadata image, and whose
// snapshots are Kafka .checkpoint files. Each node serves a small HTTP/JSON
// client API (see README.md); package quorum/client is its Go client.
package quorum

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"

	"github.com/zk2kraft/zk2kraft/image"
)

// Voter is one member of the quorum: its node id and raft address.
type Voter struct {
	ID   string `json:"id"`
	Addr string `json:"addr"`
}

// ParseVoters parses "1@host:port,2@host:port,...".
func ParseVoters(s string) ([]Voter, error) {
	var vs []Voter
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		id, addr, ok := strings.Cut(part, "@")
		if !ok || id == "" || addr == "" {
			return nil, fmt.Errorf("voter %q: want ID@HOST:PORT", part)
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return nil, fmt.Errorf("voter %q: address %q: want HOST:PORT", part, addr)
		}
		if seen[id] {
			return nil, fmt.Errorf("voter %q: node id %s listed twice", part, id)
		}
		seen[id] = true
		vs = append(vs, Voter{ID: id, Addr: addr})
	}
	if len(vs) == 0 {
		return nil, errors.New("no voters: want ID@HOST:PORT,...")
	}
	return vs, nil
}

// Timing holds the raft timeouts. LoopbackTiming suits nodes on one host or a
// LAN; hashicorp/raft's defaults (1 s / 1 s / 500 ms) suit slower networks.
type Timing struct {
	Heartbeat   time.Duration // follower waits this long (to 2x) without contact before an election
	Election    time.Duration // candidate's election timeout
	LeaderLease time.Duration // leader steps down without quorum contact this long
	Commit      time.Duration // max delay before followers learn a new commit index
}

// LoopbackTiming: failover well under 2 s after a leader dies.
var LoopbackTiming = Timing{Heartbeat: 500 * time.Millisecond, Election: 500 * time.Millisecond, LeaderLease: 500 * time.Millisecond, Commit: 5 * time.Millisecond}

// Config configures one controller node.
type Config struct {
	NodeID    string  // this node's id; must be one of Voters
	Bind      string  // raft listen address HOST:PORT (may be 0.0.0.0:port; peers dial the Voters address)
	API       string  // client API listen address HOST:PORT ("" = no API)
	DataDir   string  // raft log, stable store, snapshots, cluster.id
	Voters    []Voter // the quorum, bootstrapped on first start
	ClusterID string  // required on first start; later must match the data dir ("" = take it from the data dir)

	TLS *tls.Config // mutual TLS for raft and the API; required unless Bind and API are loopback

	Timing            Timing // zero: LoopbackTiming
	SnapshotThreshold uint64 // entries between snapshots (0: 8192)
	SnapshotInterval  time.Duration
	TrailingLogs      uint64 // entries kept after a snapshot (0: 2048)
	RetainBytes       int    // bytes of recent batches kept for the record stream (0: 64 MiB)

	NewMachine func() Machine // the state machine; nil: the metadata image
	Logger     *slog.Logger   // nil: slog.Default()

	// listener, when set, is used instead of listening on Bind (tests).
	listener net.Listener
	apiLn    net.Listener
}

// Node is a running controller node.
type Node struct {
	cfg       Config
	clusterID string
	log       *slog.Logger
	fsm       *fsm
	raft      *raft.Raft
	store     *raftboltdb.BoltStore
	snaps     *raft.FileSnapshotStore
	stream    *streamLayer
	trans     *raft.NetworkTransport
	api       *http.Server
	apiLn     net.Listener
	apiDone   chan struct{}

	closeOnce sync.Once
	closeErr  error
}

// CheckpointDirName is the directory in a node's data dir that holds the
// latest snapshot as a plain Kafka .checkpoint file (Kafka's own name for
// the metadata log directory).
const CheckpointDirName = "__cluster_metadata-0"

const (
	clusterIDFile = "cluster.id"
	nodeIDFile    = "node.id"
)

// Start opens (or on first start, creates and bootstraps) a node's data dir
// and starts raft and the client API.
func Start(ctx context.Context, cfg Config) (*Node, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("node", cfg.NodeID)
	if cfg.Timing == (Timing{}) {
		cfg.Timing = LoopbackTiming
	}
	if cfg.NewMachine == nil {
		cfg.NewMachine = NewMetadataMachine
	}
	var self *Voter
	for i := range cfg.Voters {
		if cfg.Voters[i].ID == cfg.NodeID {
			self = &cfg.Voters[i]
		}
	}
	if cfg.NodeID == "" || self == nil {
		return nil, fmt.Errorf("node id %q is not one of the voters %v", cfg.NodeID, cfg.Voters)
	}
	if cfg.TLS == nil {
		if cfg.listener == nil && !IsLoopback(cfg.Bind) {
			return nil, fmt.Errorf("raft address %s is not loopback: listening beyond loopback requires mutual TLS (--tls-ca, --tls-cert, --tls-key)", cfg.Bind)
		}
		if cfg.API != "" && cfg.apiLn == nil && !IsLoopback(cfg.API) {
			return nil, fmt.Errorf("API address %s is not loopback: listening beyond loopback requires mutual TLS (--tls-ca, --tls-cert, --tls-key)", cfg.API)
		}
	}
	clusterID, err := claimDataDir(cfg.DataDir, cfg.ClusterID, cfg.NodeID)
	if err != nil {
		return nil, err
	}
	n := &Node{cfg: cfg, clusterID: clusterID, log: log}
	n.fsm = newFSM(clusterID, cfg.NewMachine(), log)
	n.fsm.rebuild = n.rebuildMachine
	n.fsm.checkpointDir = filepath.Join(cfg.DataDir, CheckpointDirName)
	if cfg.RetainBytes > 0 {
		n.fsm.retainMax = cfg.RetainBytes
	}
	if err := n.startRaft(self.Addr); err != nil {
		n.Close()
		return nil, err
	}
	if cfg.API != "" || cfg.apiLn != nil {
		if err := n.startAPI(); err != nil {
			n.Close()
			return nil, err
		}
	}
	return n, nil
}

// claimDataDir creates the data dir on first start, or checks that it belongs
// to this cluster and node; it returns the cluster id.
func claimDataDir(dir, clusterID, nodeID string) (string, error) {
	if dir == "" {
		return "", errors.New("no data dir")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("create data dir: %w", err)
	}
	if err := validClusterID(clusterID); clusterID != "" && err != nil {
		return "", err
	}
	idPath := filepath.Join(dir, clusterIDFile)
	stored, err := os.ReadFile(idPath)
	switch {
	case err == nil:
		s := strings.TrimSpace(string(stored))
		if clusterID != "" && s != clusterID {
			return "", fmt.Errorf("%w: data dir %s belongs to cluster %q, not %q", ErrClusterIDMismatch, dir, s, clusterID)
		}
		clusterID = s
	case errors.Is(err, os.ErrNotExist):
		if clusterID == "" {
			return "", fmt.Errorf("data dir %s is new: the first start needs --cluster-id (the Kafka cluster id, ZooKeeper's /cluster/id)", dir)
		}
		if _, err := os.Stat(filepath.Join(dir, "raft.db")); err == nil {
			return "", fmt.Errorf("data dir %s holds a raft log but no %s: refusing to guess its cluster", dir, clusterIDFile)
		}
		if err := writeFileSync(idPath, clusterID+"\n"); err != nil {
			return "", err
		}
	default:
		return "", fmt.Errorf("read %s: %w", idPath, err)
	}
	nodePath := filepath.Join(dir, nodeIDFile)
	storedNode, err := os.ReadFile(nodePath)
	switch {
	case err == nil:
		if s := strings.TrimSpace(string(storedNode)); s != nodeID {
			return "", fmt.Errorf("data dir %s belongs to node %s, not %s", dir, s, nodeID)
		}
	case errors.Is(err, os.ErrNotExist):
		if err := writeFileSync(nodePath, nodeID+"\n"); err != nil {
			return "", err
		}
	default:
		return "", fmt.Errorf("read %s: %w", nodePath, err)
	}
	return clusterID, nil
}

func validClusterID(id string) error {
	if len(id) > 64 {
		return fmt.Errorf("cluster id %q: longer than 64 characters", id)
	}
	for _, r := range id {
		if r <= ' ' || r > '~' {
			return fmt.Errorf("cluster id %q: want printable ASCII without spaces", id)
		}
	}
	return nil
}

func writeFileSync(path, content string) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.WriteString(content); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func (n *Node) startRaft(advertise string) error {
	cfg := n.cfg
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(cfg.NodeID)
	rc.HeartbeatTimeout = cfg.Timing.Heartbeat
	rc.ElectionTimeout = cfg.Timing.Election
	rc.LeaderLeaseTimeout = cfg.Timing.LeaderLease
	rc.CommitTimeout = cfg.Timing.Commit
	rc.SnapshotThreshold = 8192
	if cfg.SnapshotThreshold > 0 {
		rc.SnapshotThreshold = cfg.SnapshotThreshold
	}
	if cfg.SnapshotInterval > 0 {
		rc.SnapshotInterval = cfg.SnapshotInterval
	}
	rc.TrailingLogs = 2048
	if cfg.TrailingLogs > 0 {
		rc.TrailingLogs = cfg.TrailingLogs
	}
	rc.BatchApplyCh = true
	rc.MaxAppendEntries = 64
	rc.NoLegacyTelemetry = true
	rc.Logger = newHCLogger(n.log)

	store, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(cfg.DataDir, "raft.db")})
	if err != nil {
		return fmt.Errorf("open raft log %s: %w", filepath.Join(cfg.DataDir, "raft.db"), err)
	}
	n.store = store
	logs, err := raft.NewLogCache(1024, store)
	if err != nil {
		return fmt.Errorf("raft log cache: %w", err)
	}
	snaps, err := raft.NewFileSnapshotStoreWithLogger(cfg.DataDir, 2, rc.Logger)
	if err != nil {
		return fmt.Errorf("open snapshot store in %s: %w", cfg.DataDir, err)
	}
	n.snaps = snaps
	ln := cfg.listener
	if ln == nil {
		ln, err = net.Listen("tcp", cfg.Bind)
		if err != nil {
			return fmt.Errorf("raft listen %s: %w", cfg.Bind, err)
		}
	}
	adv, err := net.ResolveTCPAddr("tcp", advertise)
	if err != nil {
		ln.Close()
		return fmt.Errorf("raft address %s: %w", advertise, err)
	}
	n.stream = newStreamLayer(ln, adv, n.clusterID, cfg.NodeID, cfg.TLS, n.log)
	n.trans = raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream:  n.stream,
		MaxPool: 4,
		Timeout: 10 * time.Second,
		Logger:  rc.Logger,
	})
	existing, err := raft.HasExistingState(logs, store, snaps)
	if err != nil {
		return fmt.Errorf("inspect raft state in %s: %w", cfg.DataDir, err)
	}
	r, err := raft.NewRaft(rc, n.fsm, logs, store, snaps, n.trans)
	if err != nil {
		return fmt.Errorf("start raft: %w", err)
	}
	n.raft = r
	if !existing {
		var servers []raft.Server
		for _, v := range cfg.Voters {
			servers = append(servers, raft.Server{Suffrage: raft.Voter, ID: raft.ServerID(v.ID), Address: raft.ServerAddress(v.Addr)})
		}
		if err := r.BootstrapCluster(raft.Configuration{Servers: servers}).Error(); err != nil && !errors.Is(err, raft.ErrCantBootstrap) {
			return fmt.Errorf("bootstrap quorum: %w", err)
		}
		n.log.Info("quorum: bootstrapped", "cluster_id", n.clusterID, "voters", len(servers))
	}
	return nil
}

// rebuildMachine replays the last snapshot before upTo and the log entries
// after it, up to (not including) upTo, into a fresh state machine.
func (n *Node) rebuildMachine(upTo uint64) (Machine, error) {
	tmp := newFSM(n.clusterID, n.cfg.NewMachine(), slog.New(slog.DiscardHandler))
	tmp.rebuild = n.rebuildMachine
	tmp.retainMax = 0
	start := uint64(0)
	metas, err := n.snaps.List()
	if err != nil {
		return nil, fmt.Errorf("list snapshots: %w", err)
	}
	for _, m := range metas {
		if m.Index >= upTo {
			continue
		}
		_, rc, err := n.snaps.Open(m.ID)
		if err != nil {
			return nil, fmt.Errorf("open snapshot %s: %w", m.ID, err)
		}
		if err := tmp.Restore(rc); err != nil {
			return nil, fmt.Errorf("restore snapshot %s: %w", m.ID, err)
		}
		start = m.Index
		break
	}
	for i := start + 1; i < upTo; i++ {
		var l raft.Log
		if err := n.store.GetLog(i, &l); err != nil {
			return nil, fmt.Errorf("read log entry %d: %w", i, err)
		}
		tmp.Apply(&l)
	}
	n.log.Warn("quorum: rebuilt the image to undo a partly applied batch", "snapshot_index", start, "replayed", upTo-1-start)
	return tmp.machine, nil
}

// ClusterID returns the node's cluster id.
func (n *Node) ClusterID() string { return n.clusterID }

// ID returns the node id.
func (n *Node) ID() string { return n.cfg.NodeID }

// APIAddr returns the client API's listen address ("" when none).
func (n *Node) APIAddr() string {
	if n.apiLn == nil {
		return ""
	}
	return n.apiLn.Addr().String()
}

// IsLeader reports whether this node is the raft leader now.
func (n *Node) IsLeader() bool { return n.raft != nil && n.raft.State() == raft.Leader }

// ErrNotLeader is returned by Append on a node that is not the leader.
var ErrNotLeader = errors.New("not the leader")

// NotLeaderError names the leader, when known.
type NotLeaderError struct {
	LeaderID, LeaderAddr string
}

func (e *NotLeaderError) Error() string {
	if e.LeaderID == "" {
		return "not the leader; no leader known"
	}
	return fmt.Sprintf("not the leader; the leader is node %s (%s)", e.LeaderID, e.LeaderAddr)
}

func (e *NotLeaderError) Unwrap() error { return ErrNotLeader }

// Append replicates one encoded Entry (see EncodeEntry) and waits until it is
// committed and applied on this node, the leader. The result's Error says
// whether the state machine applied it. A NotLeaderError means: ask the
// leader. Any other error leaves it unknown whether the entry will commit:
// retry with the same token. The log keeps entry: do not modify it after
// the call.
func (n *Node) Append(ctx context.Context, entry []byte) (AppendResult, error) {
	if _, err := DecodeEntry(entry); err != nil {
		return AppendResult{}, err
	}
	if n.raft.State() != raft.Leader {
		addr, id := n.raft.LeaderWithID()
		return AppendResult{}, &NotLeaderError{LeaderID: string(id), LeaderAddr: string(addr)}
	}
	timeout := 10 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	f := n.raft.Apply(entry, timeout)
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	select {
	case <-ctx.Done():
		return AppendResult{}, fmt.Errorf("append: %w (the entry may still commit; retry with the same token)", ctx.Err())
	case err := <-done:
		if err != nil {
			if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) || errors.Is(err, raft.ErrLeadershipTransferInProgress) {
				addr, id := n.raft.LeaderWithID()
				return AppendResult{}, fmt.Errorf("append: %w: %w", err, &NotLeaderError{LeaderID: string(id), LeaderAddr: string(addr)})
			}
			return AppendResult{}, fmt.Errorf("append: %w", err)
		}
		res, ok := f.Response().(AppendResult)
		if !ok {
			return AppendResult{}, fmt.Errorf("append: unexpected state machine response %T", f.Response())
		}
		return res, nil
	}
}

// Status is what a node reports about itself and the quorum.
type Status struct {
	NodeID       string            `json:"node_id"`
	ClusterID    string            `json:"cluster_id"`
	State        string            `json:"state"` // Leader, Follower, Candidate, Shutdown
	LeaderID     string            `json:"leader_id"`
	LeaderAddr   string            `json:"leader_addr"`
	Term         uint64            `json:"term"`
	CommitIndex  uint64            `json:"commit_index"`
	LastIndex    uint64            `json:"last_index"`
	AppliedIndex uint64            `json:"applied_index"`
	Position     Position          `json:"position"`
	Voters       []Voter           `json:"voters"`
	LastContact  string            `json:"last_contact"` // "0s" on the leader, "never" before any contact
	LastContactS float64           `json:"last_contact_seconds"`
	FSMErrors    FSMErrors         `json:"fsm_errors"`
	Diverged     string            `json:"diverged,omitempty"` // the node's image cannot be trusted (see README)
	Meta         map[string]string `json:"meta"`
	APIAddr      string            `json:"api_addr"`
	LastSnapshot string            `json:"last_snapshot,omitempty"`
}

// Status returns this node's view of the quorum.
func (n *Node) Status() Status {
	pos, meta, errs := n.fsm.view()
	addr, id := n.raft.LeaderWithID()
	st := Status{
		NodeID: n.cfg.NodeID, ClusterID: n.clusterID, State: n.raft.State().String(),
		LeaderID: string(id), LeaderAddr: string(addr),
		Term: n.raft.CurrentTerm(), CommitIndex: n.raft.CommitIndex(), LastIndex: n.raft.LastIndex(),
		AppliedIndex: n.raft.AppliedIndex(), Position: pos, FSMErrors: errs, Meta: meta, APIAddr: n.APIAddr(),
	}
	if f := n.raft.GetConfiguration(); f.Error() == nil {
		for _, s := range f.Configuration().Servers {
			st.Voters = append(st.Voters, Voter{ID: string(s.ID), Addr: string(s.Address)})
		}
	}
	switch lc := n.raft.LastContact(); {
	case n.raft.State() == raft.Leader:
		st.LastContact = "0s"
	case lc.IsZero():
		st.LastContact = "never"
		st.LastContactS = -1
	default:
		d := time.Since(lc)
		st.LastContact = d.Round(time.Millisecond).String()
		st.LastContactS = d.Seconds()
	}
	n.fsm.mu.RLock()
	st.Diverged = n.fsm.diverged
	n.fsm.mu.RUnlock()
	if s := n.raft.Stats()["last_snapshot_index"]; s != "" && s != "0" {
		st.LastSnapshot = "index " + s + " term " + n.raft.Stats()["last_snapshot_term"]
	}
	return st
}

// Snapshot forces a raft snapshot now (tests, operators).
func (n *Node) Snapshot() error {
	if err := n.raft.Snapshot().Error(); err != nil && !errors.Is(err, raft.ErrNothingNewToSnapshot) {
		return fmt.Errorf("snapshot: %w", err)
	}
	return nil
}

// WaitApplied waits until this node has applied at least the given raft index.
func (n *Node) WaitApplied(ctx context.Context, index uint64) error {
	for {
		ch, pos := n.fsm.waitChan()
		if pos.AppliedIndex >= index || n.raft.AppliedIndex() >= index {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// WaitOffset waits until this node has applied records up to offset.
func (n *Node) WaitOffset(ctx context.Context, offset int64) error {
	for {
		ch, pos := n.fsm.waitChan()
		if pos.NextOffset > offset {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Position returns the FSM's position.
func (n *Node) Position() Position {
	pos, _, _ := n.fsm.view()
	return pos
}

// Meta returns a copy of the quorum metadata map as applied on this node.
func (n *Node) Meta() map[string]string {
	_, m, _ := n.fsm.view()
	return m
}

// Capture returns the node's current image as a checkpoint writer and its position.
func (n *Node) Capture() (Checkpoint, Position, error) {
	n.fsm.mu.RLock()
	defer n.fsm.mu.RUnlock()
	cp, err := n.fsm.machine.Capture()
	return cp, n.fsm.pos, err
}

// WriteCheckpoint writes the node's current image as a Kafka checkpoint.
func (n *Node) WriteCheckpoint(w io.Writer) (Position, error) {
	cp, pos, err := n.Capture()
	if err != nil {
		return pos, err
	}
	return pos, cp.WriteCheckpoint(w, pos)
}

// Barrier waits until every entry committed before it is applied here (leader only).
func (n *Node) Barrier(timeout time.Duration) error {
	if err := n.raft.VerifyLeader().Error(); err != nil {
		return err
	}
	return n.raft.Barrier(timeout).Error()
}

// disconnect cuts (or restores) the node's raft transport.
func (n *Node) disconnect(cut bool) { n.stream.setCut(cut) }

// Close stops the node: API, raft, transport, log store.
func (n *Node) Close() error {
	n.closeOnce.Do(func() {
		var errs []error
		if n.api != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			n.api.Shutdown(ctx)
			cancel()
			n.api.Close()
		}
		if n.raft != nil {
			if err := n.raft.Shutdown().Error(); err != nil {
				errs = append(errs, fmt.Errorf("raft shutdown: %w", err))
			}
		}
		if n.trans != nil {
			n.trans.Close()
		} else if n.stream != nil {
			n.stream.Close()
		}
		if n.stream != nil {
			n.stream.Close()
		}
		if n.store != nil {
			if err := n.store.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close raft log: %w", err))
			}
		}
		n.closeErr = errors.Join(errs...)
	})
	return n.closeErr
}

// hclogLevel maps the slog handler's enabled level to hclog's.
func newHCLogger(l *slog.Logger) hclog.Logger {
	level := hclog.Error
	ctx := context.Background()
	switch {
	case l.Enabled(ctx, slog.LevelDebug):
		level = hclog.Debug
	case l.Enabled(ctx, slog.LevelInfo):
		level = hclog.Info
	case l.Enabled(ctx, slog.LevelWarn):
		level = hclog.Warn
	}
	return hclog.New(&hclog.LoggerOptions{Name: "raft", Level: level, Output: slogWriter{l}, DisableTime: true})
}

// slogWriter forwards hclog's lines to slog at the level the line names.
type slogWriter struct{ l *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	line := strings.TrimSpace(string(p))
	switch {
	case strings.Contains(line, "[ERROR]"):
		w.l.Error(line)
	case strings.Contains(line, "[WARN]"):
		w.l.Warn(line)
	case strings.Contains(line, "[DEBUG]"), strings.Contains(line, "[TRACE]"):
		w.l.Debug(line)
	default:
		w.l.Info(line)
	}
	return len(p), nil
}

// Image returns a copy of the node's metadata image and its position (an
// error when the node's state machine is not the metadata image).
func (n *Node) Image() (*image.Image, Position, error) {
	n.fsm.mu.RLock()
	defer n.fsm.mu.RUnlock()
	m, ok := n.fsm.machine.(*metadataMachine)
	if !ok {
		return nil, n.fsm.pos, fmt.Errorf("node %s: state machine %T is not the metadata image", n.cfg.NodeID, n.fsm.machine)
	}
	return m.im.Clone(), n.fsm.pos, nil
}

// DataDir returns the node's data directory.
func (n *Node) DataDir() string { return n.cfg.DataDir }
