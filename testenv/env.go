// Package testenv runs a real ZooKeeper ensemble for tests, benchmarks and the
// demo: as Docker containers built locally from Debian's packages, or as plain
// java processes on loopback. It seeds the ensemble with exactly the znodes a
// ZooKeeper-mode Kafka cluster writes, keeps it changing like a live cluster
// (churn), and injects faults (stop, kill, restart, network partition).
//
// Nodes are numbered 1..N, as ZooKeeper's myid: Servers()[i-1] is node i's
// client address and Stop(i), Partition(i), DataDir(i) name the same node.
//
// Every ensemble gets its own temp dir, dynamic ports and (docker) a uniquely
// named network and containers, so several ensembles can run at the same time
// on one machine. Close removes everything it started.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
)

// Backends.
const (
	BackendAuto    = ""
	BackendProcess = "process"
	BackendDocker  = "docker"
)

// Options configure an ensemble.
type Options struct {
	Nodes int // ensemble size (default 3; 1 runs a standalone server)
	// Backend is "docker", "process" or "" (auto: $ZK2KRAFT_TESTENV_BACKEND
	// if set, else docker when `docker info` answers, else process).
	Backend string

	// SnapCount is ZooKeeper's snapCount (transactions between snapshots;
	// 0 keeps ZooKeeper's default 100000). ZooKeeper snapshots after a random
	// count between SnapCount/2 and SnapCount.
	SnapCount int
	// ForceSync makes ZooKeeper fsync its transaction log (off by default:
	// tests do not need durability against power loss and run faster).
	ForceSync bool
	// HeapMB is each node's maximum Java heap (default 512). ZooKeeper keeps
	// the whole tree in memory: 256 MiB ran out at ~600k Kafka-shaped znodes
	// (three "large" seeds), 512 MiB held 820k; give about 1 GiB per million
	// znodes for bigger seeds (a million partitions is two million znodes).
	HeapMB int
	// TLS adds a secure client port on every node with a generated CA and
	// server certificate (PEM); see SecureServers and TLSFiles.
	TLS bool

	// Dir is where the ensemble keeps its configs, data dirs and logs. Empty:
	// a new temp dir that Close removes. A given Dir is created and removed too.
	Dir string
	// Name identifies the ensemble (docker container and network names);
	// empty: a random one.
	Name string
	// StartTimeout bounds the wait for the ensemble to serve (default 60s).
	StartTimeout time.Duration
	// Logf receives progress lines (default: discarded).
	Logf func(format string, args ...any)
}

func (o *Options) defaults() error {
	if o.Nodes == 0 {
		o.Nodes = 3
	}
	if o.Nodes < 1 || o.Nodes > 9 {
		return fmt.Errorf("testenv: Nodes %d: want 1..9", o.Nodes)
	}
	if o.HeapMB == 0 {
		o.HeapMB = 512
	}
	if o.HeapMB < 64 {
		return fmt.Errorf("testenv: HeapMB %d: want >= 64", o.HeapMB)
	}
	if o.StartTimeout == 0 {
		o.StartTimeout = 60 * time.Second
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	if o.Name == "" {
		o.Name = "zk2kraft-" + randomHex(4)
	}
	if o.SnapCount < 0 || o.SnapCount == 1 {
		return fmt.Errorf("testenv: SnapCount %d: want 0 (default) or >= 2", o.SnapCount)
	}
	if o.Backend == BackendAuto {
		o.Backend = os.Getenv("ZK2KRAFT_TESTENV_BACKEND")
	}
	switch o.Backend {
	case BackendAuto:
		if DockerAvailable() {
			o.Backend = BackendDocker
		} else {
			o.Backend = BackendProcess
		}
	case BackendProcess, BackendDocker:
	default:
		return fmt.Errorf("testenv: Backend %q: want docker, process or empty (auto)", o.Backend)
	}
	return nil
}

// backend is what the docker and process backends implement. Node numbers
// are 1-based.
type backend interface {
	// startAll launches every node (the ensemble is not necessarily serving yet).
	startAll(ctx context.Context) error
	startNode(ctx context.Context, i int) error
	stopNode(ctx context.Context, i int, kill bool) error
	partition(ctx context.Context, i int) error
	heal(ctx context.Context, i int) error
	running(i int) bool
	// logTail returns the end of node i's server log (for error messages).
	logTail(i int) string
	close(ctx context.Context) error
}

// Env is a running ensemble.
type Env struct {
	opts    Options
	dir     string
	nodes   []*node
	backend backend
	tls     *TLSFiles

	mu          sync.Mutex
	partitioned map[int]bool
	closed      bool
	conns       []*zk.Conn
}

// node is one ensemble member as the host sees it.
type node struct {
	id         int
	dir        string // host dir with zoo.cfg, data/, server.log
	clientPort int    // on 127.0.0.1
	securePort int    // on 127.0.0.1 (TLS only)
}

// Start starts an ensemble for a test and registers its teardown with
// t.Cleanup. It skips the test under -short and when ZooKeeper or Docker (as
// the backend needs) is not installed here, unless CI is set (then it fails).
func Start(t testing.TB, opts Options) *Env {
	t.Helper()
	if testing.Short() {
		t.Skip("testenv: ZooKeeper ensemble skipped under -short")
	}
	if opts.Logf == nil {
		opts.Logf = t.Logf
	}
	if err := opts.defaults(); err != nil {
		t.Fatal(err)
	}
	if err := Available(opts.Backend); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("testenv: %v", err)
		}
		t.Skipf("testenv: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), opts.StartTimeout+2*time.Minute)
	defer cancel()
	env, err := New(ctx, opts)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(func() {
		if err := env.Close(); err != nil {
			t.Errorf("testenv teardown: %v", err)
		}
	})
	return env
}

// New starts an ensemble and waits until every node serves. The caller must
// Close it.
func New(ctx context.Context, opts Options) (*Env, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	if err := Available(opts.Backend); err != nil {
		return nil, err
	}
	reapStale(ctx)
	dir := opts.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", tempDirPrefix)
		if err != nil {
			return nil, fmt.Errorf("testenv: temp dir: %w", err)
		}
		dir = d
		// The owner's pid lets a later New remove this dir if the owner is
		// killed before Close (a test binary hitting its timeout).
		_ = os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644)
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("testenv: dir %s: %w", dir, err)
	}
	e := &Env{opts: opts, dir: dir, partitioned: map[int]bool{}}
	for i := 1; i <= opts.Nodes; i++ {
		nd := filepath.Join(dir, fmt.Sprintf("n%d", i))
		if err := os.MkdirAll(filepath.Join(nd, "data"), 0o755); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("testenv: node dir: %w", err)
		}
		if err := os.WriteFile(filepath.Join(nd, "data", "myid"), []byte(fmt.Sprintf("%d\n", i)), 0o644); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("testenv: myid: %w", err)
		}
		e.nodes = append(e.nodes, &node{id: i, dir: nd})
	}
	if opts.TLS {
		files, err := writeTLSFiles(filepath.Join(dir, "tls"))
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		e.tls = files
	}
	start := time.Now()
	var err error
	// A port picked free can be taken by someone else before ZooKeeper binds
	// it (several ensembles run on this machine): then start again on new ports.
	for attempt := 1; ; attempt++ {
		err = e.startOnce(ctx)
		if err == nil || attempt == 3 || !(strings.Contains(err.Error(), "Address already in use") || strings.Contains(err.Error(), "port is already allocated")) {
			break
		}
		opts.Logf("testenv: port taken while starting (attempt %d), retrying on new ports", attempt)
		if e.backend != nil {
			_ = e.backend.close(ctx)
			e.backend = nil
		}
	}
	if err != nil {
		if cerr := e.Close(); cerr != nil {
			err = fmt.Errorf("%w (teardown: %v)", err, cerr)
		}
		return nil, fmt.Errorf("testenv: start %d-node %s ensemble: %w", opts.Nodes, opts.Backend, err)
	}
	opts.Logf("testenv: %d-node %s ensemble %s serving after %v: %s", opts.Nodes, opts.Backend, opts.Name, time.Since(start).Round(time.Millisecond), e.ConnectString())
	return e, nil
}

// startOnce creates the backend, starts every node and waits until they
// serve; on failure the error carries the end of every node's log.
func (e *Env) startOnce(ctx context.Context) error {
	switch e.opts.Backend {
	case BackendProcess:
		b, err := newProcessBackend(e)
		if err != nil {
			return err
		}
		e.backend = b
	case BackendDocker:
		b, err := newDockerBackend(ctx, e)
		if b != nil {
			e.backend = b // partly created: Close removes what exists
		}
		if err != nil {
			return err
		}
	}
	err := e.backend.startAll(ctx)
	if err == nil {
		err = e.waitServing(ctx, e.allIDs(), e.opts.StartTimeout)
	}
	if err != nil && e.backend != nil {
		err = fmt.Errorf("%w%s", err, e.logTails())
	}
	return err
}

// Available reports why the backend cannot run here (nil when it can).
func Available(backend string) error {
	switch backend {
	case BackendDocker:
		if !DockerAvailable() {
			return errors.New("docker backend: no Docker engine answers `docker info`")
		}
		return zookeeperInstalled()
	case BackendProcess, BackendAuto:
		if _, err := exec.LookPath("java"); err != nil {
			return errors.New("process backend: java is not installed (run scripts/setup.sh)")
		}
		return zookeeperInstalled()
	}
	return fmt.Errorf("backend %q: want docker or process", backend)
}

func zookeeperInstalled() error {
	for _, jar := range []string{zkJar, slf4jSimpleJar} {
		if _, err := os.Stat(jar); err != nil {
			return fmt.Errorf("ZooKeeper is not installed (%s missing; run scripts/setup.sh)", jar)
		}
	}
	return nil
}

var (
	dockerOnce sync.Once
	dockerOK   bool
)

// DockerAvailable reports whether a Docker engine answers `docker info`.
func DockerAvailable() bool {
	dockerOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		dockerOK = exec.CommandContext(ctx, "docker", "info", "--format", "{{.ServerVersion}}").Run() == nil
	})
	return dockerOK
}

func (e *Env) allIDs() []int {
	ids := make([]int, len(e.nodes))
	for i := range ids {
		ids[i] = i + 1
	}
	return ids
}

// Backend is the backend the ensemble runs on ("docker" or "process").
func (e *Env) Backend() string { return e.opts.Backend }

// Name is the ensemble's name (docker resources are named after it).
func (e *Env) Name() string { return e.opts.Name }

// Nodes is the ensemble size.
func (e *Env) Nodes() int { return len(e.nodes) }

// Dir is the ensemble's host directory (configs, data dirs, logs).
func (e *Env) Dir() string { return e.dir }

// Servers returns every node's client address ("127.0.0.1:port"), node 1 first.
func (e *Env) Servers() []string {
	s := make([]string, len(e.nodes))
	for i, n := range e.nodes {
		s[i] = fmt.Sprintf("127.0.0.1:%d", n.clientPort)
	}
	return s
}

// Server returns node i's client address.
func (e *Env) Server(i int) string { return e.Servers()[i-1] }

// ConnectString is the comma-separated client addresses.
func (e *Env) ConnectString() string { return strings.Join(e.Servers(), ",") }

// SecureServers returns every node's TLS client address (nil without TLS).
func (e *Env) SecureServers() []string {
	if e.tls == nil {
		return nil
	}
	s := make([]string, len(e.nodes))
	for i, n := range e.nodes {
		s[i] = fmt.Sprintf("127.0.0.1:%d", n.securePort)
	}
	return s
}

// TLSFiles returns the PEM files of the TLS setup (nil without TLS).
func (e *Env) TLSFiles() *TLSFiles { return e.tls }

// DataDir is node i's ZooKeeper dataDir on the host: myid, and version-2/
// with the snapshots and transaction logs.
func (e *Env) DataDir(i int) string {
	return filepath.Join(e.nodes[i-1].dir, "data")
}

func (e *Env) checkNode(i int) error {
	if i < 1 || i > len(e.nodes) {
		return fmt.Errorf("testenv: node %d: want 1..%d", i, len(e.nodes))
	}
	return nil
}

// quietLogger drops go-zookeeper's connection chatter.
var quietLogger = log.New(io.Discard, "", 0)

// Dial opens a session on the whole ensemble and waits until it is
// established. The caller closes it.
func (e *Env) Dial(ctx context.Context) (*zk.Conn, error) {
	return DialServers(ctx, e.Servers(), 10*time.Second, nil)
}

// DialServers opens a session on servers and waits until it has a session.
// dialer may be nil (plain TCP); a TLS dialer reaches SecureServers.
func DialServers(ctx context.Context, servers []string, sessionTimeout time.Duration, dialer zk.Dialer) (*zk.Conn, error) {
	if dialer == nil {
		dialer = net.DialTimeout
	}
	conn, events, err := zk.Connect(servers, sessionTimeout, zk.WithLogger(quietLogger), zk.WithDialer(dialer), zk.WithMaxBufferSize(8<<20))
	if err != nil {
		return nil, fmt.Errorf("connect %s: %w", strings.Join(servers, ","), err)
	}
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	for {
		select {
		case ev := <-events:
			if ev.State == zk.StateHasSession {
				// Keep draining events so go-zookeeper never blocks on them.
				go func() {
					for range events {
					}
				}()
				return conn, nil
			}
			if ev.State == zk.StateAuthFailed {
				conn.Close()
				return nil, fmt.Errorf("connect %s: authentication failed", strings.Join(servers, ","))
			}
		case <-ctx.Done():
			conn.Close()
			return nil, fmt.Errorf("connect %s: %w", strings.Join(servers, ","), ctx.Err())
		case <-deadline.C:
			conn.Close()
			return nil, fmt.Errorf("connect %s: no session within 30s", strings.Join(servers, ","))
		}
	}
}

// Connect opens a session on the ensemble for a test; it is closed at cleanup.
func (e *Env) Connect(t testing.TB) *zk.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	conn, err := e.Dial(ctx)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(conn.Close)
	return conn
}

// Close stops every node and removes the ensemble's dirs (and, on docker,
// its containers and network). It is safe to call twice.
func (e *Env) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	e.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var errs []error
	if e.backend != nil {
		if err := e.backend.close(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if err := os.RemoveAll(e.dir); err != nil {
		errs = append(errs, fmt.Errorf("remove %s: %w", e.dir, err))
	}
	return errors.Join(errs...)
}

// logTails collects the end of every node's log, for a start failure.
func (e *Env) logTails() string {
	var b strings.Builder
	for _, n := range e.nodes {
		if tail := strings.TrimSpace(e.backend.logTail(n.id)); tail != "" {
			fmt.Fprintf(&b, "\n--- node %d log (end) ---\n%s", n.id, tail)
		}
	}
	return b.String()
}

const (
	tempDirPrefix = "zk2kraft-testenv-"
	ownerFile     = "owner.pid"
)

// reapStale removes what ensembles of dead processes left: containers and
// networks (docker) and temp dirs whose owner.pid names a dead process.
func reapStale(ctx context.Context) {
	if DockerAvailable() {
		reapStaleDocker(ctx)
	}
	reapStaleDirs()
}

// reapStaleDirs removes temp dirs whose owner.pid names a dead process.
func reapStaleDirs() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), tempDirPrefix+"*"))
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, ownerFile))
		if err != nil {
			continue
		}
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 && !processAlive(pid) {
			_ = os.RemoveAll(d)
		}
	}
}

// processAlive reports whether pid exists.
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// freePort asks the kernel for a free TCP port on 127.0.0.1.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
