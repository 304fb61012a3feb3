package testenv

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zk2kraft/zk2kraft/zkreader"
)

// A long-lived ensemble for the CLI (`zk2kraft testenv up`): a detached
// daemon process owns the Env (its java processes or containers), the
// seeding session (so the ephemeral broker and controller znodes stay) and
// the expected model that seed and churn keep up to date. Later CLI
// invocations find it through the state dir and talk to it over a unix
// socket, one JSON request and one JSON response per connection.

// State is what the daemon writes to <state dir>/state.json once the
// ensemble serves.
type State struct {
	Name          string    `json:"name"`
	Dir           string    `json:"dir"`
	Backend       string    `json:"backend"`
	Nodes         int       `json:"nodes"`
	Servers       []string  `json:"servers"`
	ConnectString string    `json:"connectString"`
	Chroot        string    `json:"chroot,omitempty"`
	SecureServers []string  `json:"secureServers,omitempty"`
	TLS           *TLSFiles `json:"tls,omitempty"`
	PID           int       `json:"pid"`
	Socket        string    `json:"socket"`
	Started       time.Time `json:"started"`
	Seeded        string    `json:"seeded,omitempty"` // preset or "custom"
}

// StateFile and SocketFile are the names inside a state dir.
const (
	StateFile  = "state.json"
	SocketFile = "control.sock"
)

// ControlRequest is one command to the daemon.
type ControlRequest struct {
	Cmd    string        `json:"cmd"` // status, seed, churn, fault, expected, down
	Seed   *SeedSpec     `json:"seed,omitempty"`
	Churn  *ChurnOptions `json:"churn,omitempty"`
	Action string        `json:"action,omitempty"` // fault: stop, kill, start, partition, heal
	Node   int           `json:"node,omitempty"`
}

// ControlResponse is the daemon's answer.
type ControlResponse struct {
	Error    string             `json:"error,omitempty"`
	State    *State             `json:"state,omitempty"`
	Status   []NodeStatus       `json:"status,omitempty"`
	Leader   int                `json:"leader,omitempty"`
	Seeded   *SeedSummary       `json:"seeded,omitempty"`
	Churn    *ChurnLog          `json:"churn,omitempty"`
	Expected *zkreader.Snapshot `json:"expected,omitempty"`
}

// SeedSummary counts what a seed wrote.
type SeedSummary struct {
	Topics     int           `json:"topics"`
	Partitions int           `json:"partitions"`
	Took       time.Duration `json:"took"`
}

// Summarize counts a seeded model.
func Summarize(s *zkreader.Snapshot, took time.Duration) *SeedSummary {
	sum := &SeedSummary{Topics: len(s.Topics), Took: took}
	for _, t := range s.Topics {
		sum.Partitions += len(t.Partitions)
	}
	return sum
}

// Daemon serves control requests for one ensemble.
type Daemon struct {
	env   *Env
	state *State
	ln    net.Listener

	mu       sync.Mutex
	conn     *zk.Conn // the seeding session, kept open
	expected *zkreader.Snapshot
	done     chan struct{}
	once     sync.Once
}

// NewDaemon starts the ensemble described by opts (opts.Dir inside
// stateDir), optionally seeds it, writes state.json and listens on the
// control socket. Serve then answers requests until `down` or ctx ends.
func NewDaemon(ctx context.Context, stateDir string, opts Options, seed *SeedSpec) (*Daemon, error) {
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		return nil, fmt.Errorf("state dir: %w", err)
	}
	opts.Dir = filepath.Join(stateDir, "ensemble")
	env, err := New(ctx, opts)
	if err != nil {
		return nil, err
	}
	d := &Daemon{env: env, done: make(chan struct{})}
	fail := func(err error) (*Daemon, error) {
		d.close()
		return nil, err
	}
	d.state = &State{Name: env.Name(), Dir: stateDir, Backend: env.Backend(), Nodes: env.Nodes(), Servers: env.Servers(),
		ConnectString: env.ConnectString(), SecureServers: env.SecureServers(), TLS: env.TLSFiles(), PID: os.Getpid(),
		Socket: filepath.Join(stateDir, SocketFile), Started: time.Now()}
	if d.conn, err = env.Dial(ctx); err != nil {
		return fail(err)
	}
	if seed != nil {
		if _, err := d.seed(ctx, *seed); err != nil {
			return fail(err)
		}
	}
	_ = os.Remove(d.state.Socket)
	if d.ln, err = net.Listen("unix", d.state.Socket); err != nil {
		return fail(fmt.Errorf("control socket: %w", err))
	}
	if err := d.writeState(); err != nil {
		return fail(err)
	}
	return d, nil
}

func (d *Daemon) writeState() error {
	b, err := json.MarshalIndent(d.state, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(d.state.Dir, StateFile+".tmp")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	return os.Rename(tmp, filepath.Join(d.state.Dir, StateFile))
}

func (d *Daemon) seed(ctx context.Context, spec SeedSpec) (*SeedSummary, error) {
	start := time.Now()
	snap, err := Seed(ctx, d.conn, spec)
	if err != nil {
		return nil, err
	}
	d.expected = snap
	d.state.Chroot = spec.Chroot
	d.state.Seeded = spec.Preset
	if d.state.Seeded == "" {
		d.state.Seeded = "custom"
	}
	return Summarize(snap, time.Since(start)), nil
}

// Env is the daemon's ensemble.
func (d *Daemon) Env() *Env { return d.env }

// Serve answers requests until `down` or ctx ends, then tears down.
func (d *Daemon) Serve(ctx context.Context) error {
	go func() {
		select {
		case <-ctx.Done():
		case <-d.done:
		}
		d.ln.Close()
	}()
	var wg sync.WaitGroup
	for {
		c, err := d.ln.Accept()
		if err != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.handle(ctx, c)
		}()
	}
	wg.Wait()
	return d.close()
}

func (d *Daemon) close() error {
	var err error
	d.once.Do(func() {
		if d.conn != nil {
			d.conn.Close()
		}
		err = d.env.Close()
		if d.state != nil {
			_ = os.Remove(filepath.Join(d.state.Dir, StateFile))
			_ = os.Remove(d.state.Socket)
		}
	})
	return err
}

func (d *Daemon) handle(ctx context.Context, c net.Conn) {
	defer c.Close()
	var req ControlRequest
	if err := json.NewDecoder(bufio.NewReader(c)).Decode(&req); err != nil {
		_ = json.NewEncoder(c).Encode(ControlResponse{Error: "bad request: " + err.Error()})
		return
	}
	resp := d.do(ctx, req)
	_ = json.NewEncoder(c).Encode(resp)
	if req.Cmd == "down" && resp.Error == "" {
		d.once2()
	}
}

func (d *Daemon) once2() {
	select {
	case <-d.done:
	default:
		close(d.done)
	}
}

func (d *Daemon) do(ctx context.Context, req ControlRequest) ControlResponse {
	// One command at a time: faults, seeding and churn must not interleave.
	d.mu.Lock()
	defer d.mu.Unlock()
	var resp ControlResponse
	var err error
	switch req.Cmd {
	case "status", "down":
		resp.State = d.state
		resp.Status = d.env.Status(ctx)
		resp.Leader, _ = d.env.Leader()
	case "seed":
		if req.Seed == nil {
			err = errors.New("seed: no spec")
			break
		}
		resp.Seeded, err = d.seed(ctx, *req.Seed)
		if err == nil {
			err = d.writeState()
		}
	case "churn":
		if d.expected == nil {
			err = errors.New("churn: the ensemble was not seeded (run `zk2kraft testenv seed` first)")
			break
		}
		if req.Churn == nil {
			req.Churn = &ChurnOptions{}
		}
		resp.Churn, err = Churn(ctx, d.conn, d.expected, *req.Churn)
	case "expected":
		if d.expected == nil {
			err = errors.New("the ensemble was not seeded")
		}
		resp.Expected = d.expected
	case "fault":
		switch req.Action {
		case "stop":
			err = d.env.Stop(req.Node)
		case "kill":
			err = d.env.Kill(req.Node)
		case "start":
			err = d.env.Start(req.Node)
		case "partition":
			err = d.env.Partition(req.Node)
		case "heal":
			err = d.env.Heal(req.Node)
		default:
			err = fmt.Errorf("fault %q: want stop, kill, start, partition or heal", req.Action)
		}
		resp.Status = d.env.Status(ctx)
	default:
		err = fmt.Errorf("unknown command %q", req.Cmd)
	}
	if err != nil {
		resp.Error = err.Error()
	}
	return resp
}

// ReadState reads a state dir's state.json.
func ReadState(stateDir string) (*State, error) {
	b, err := os.ReadFile(filepath.Join(stateDir, StateFile))
	if err != nil {
		return nil, err
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(stateDir, StateFile), err)
	}
	return &s, nil
}

// Call sends one request to the daemon of a state dir.
func Call(ctx context.Context, stateDir string, req ControlRequest) (*ControlResponse, error) {
	sock := filepath.Join(stateDir, SocketFile)
	var dialer net.Dialer
	c, err := dialer.DialContext(ctx, "unix", sock)
	if err != nil {
		return nil, fmt.Errorf("no testenv running in %s (%v): run `zk2kraft testenv up` first", stateDir, err)
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	if err := json.NewEncoder(c).Encode(req); err != nil {
		return nil, fmt.Errorf("send to %s: %w", sock, err)
	}
	var resp ControlResponse
	if err := json.NewDecoder(c).Decode(&resp); err != nil {
		return nil, fmt.Errorf("read from %s: %w", sock, err)
	}
	if resp.Error != "" {
		return &resp, errors.New(strings.TrimSpace(resp.Error))
	}
	return &resp, nil
}

// Cleanup removes what a daemon that no longer answers left behind: its
// containers and network (docker) and its ensemble dir. Its java processes
// (process backend) died with it (Pdeathsig).
func Cleanup(ctx context.Context, st *State) error {
	var errs []error
	if st.Backend == BackendDocker && DockerAvailable() {
		var names []string
		for i := 1; i <= st.Nodes; i++ {
			names = append(names, fmt.Sprintf("%s-zk%d", st.Name, i))
		}
		if _, err := docker(ctx, append([]string{"rm", "-f", "-v"}, names...)...); err != nil && !strings.Contains(err.Error(), "No such container") {
			errs = append(errs, err)
		}
		if _, err := docker(ctx, "network", "rm", st.Name); err != nil && !strings.Contains(err.Error(), "not found") {
			errs = append(errs, err)
		}
	}
	if err := os.RemoveAll(filepath.Join(st.Dir, "ensemble")); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
