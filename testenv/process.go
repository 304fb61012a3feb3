package testenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// processBackend runs every node as a plain java process on 127.0.0.1 with
// its own dynamic ports; peer traffic goes through peerNet's proxies so that
// Partition really cuts a node off. The java processes get SIGKILL when the
// process that started them dies (Pdeathsig), so a crashed test leaves no
// ZooKeeper behind.
type processBackend struct {
	e     *Env
	peers *peerNet
	quorumPort,
	electionPort map[int]int

	mu    sync.Mutex
	procs map[int]*javaProc
}

type javaProc struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	log  *os.File
}

func newProcessBackend(e *Env) (*processBackend, error) {
	b := &processBackend{e: e, quorumPort: map[int]int{}, electionPort: map[int]int{}, procs: map[int]*javaProc{}}
	b.peers = newPeerNet(b.running)
	fail := func(err error) (*processBackend, error) {
		b.peers.close()
		return nil, err
	}
	for _, n := range e.nodes {
		var err error
		if n.clientPort, err = freePort(); err != nil {
			return fail(err)
		}
		if e.tls != nil {
			if n.securePort, err = freePort(); err != nil {
				return fail(err)
			}
		}
		if len(e.nodes) > 1 {
			if b.quorumPort[n.id], err = freePort(); err != nil {
				return fail(err)
			}
			if b.electionPort[n.id], err = freePort(); err != nil {
				return fail(err)
			}
		}
	}
	// Proxies a->b for every ordered pair, then each node's view of the others.
	type pair struct{ a, b int }
	qp, ep := map[pair]int{}, map[pair]int{}
	for _, a := range e.nodes {
		for _, bn := range e.nodes {
			if a.id == bn.id || len(e.nodes) == 1 {
				continue
			}
			target := bn.id
			q, err := b.peers.listen(a.id, bn.id, func() string { return fmt.Sprintf("127.0.0.1:%d", b.quorumPort[target]) }, false)
			if err != nil {
				return fail(err)
			}
			el, err := b.peers.listen(a.id, bn.id, func() string { return fmt.Sprintf("127.0.0.1:%d", b.electionPort[target]) }, true)
			if err != nil {
				return fail(err)
			}
			qp[pair{a.id, bn.id}], ep[pair{a.id, bn.id}] = q, el
		}
	}
	for _, n := range e.nodes {
		cfg := zooConfig{
			DataDir:    filepath.Join(n.dir, "data"),
			ClientAddr: "127.0.0.1",
			ClientPort: n.clientPort,
			SecurePort: n.securePort,
			SnapCount:  e.opts.SnapCount,
			ForceSync:  e.opts.ForceSync,
			Servers:    map[int]string{},
		}
		if e.tls != nil {
			cfg.TLSDir = e.tls.Dir
		}
		if len(e.nodes) > 1 {
			for _, peer := range e.nodes {
				if peer.id == n.id {
					cfg.Servers[peer.id] = fmt.Sprintf("127.0.0.1:%d:%d", b.quorumPort[n.id], b.electionPort[n.id])
				} else {
					cfg.Servers[peer.id] = fmt.Sprintf("127.0.0.1:%d:%d", qp[pair{n.id, peer.id}], ep[pair{n.id, peer.id}])
				}
			}
		}
		if err := os.WriteFile(filepath.Join(n.dir, "zoo.cfg"), []byte(cfg.String()), 0o644); err != nil {
			return fail(fmt.Errorf("write zoo.cfg: %w", err))
		}
	}
	return b, nil
}

func (b *processBackend) startAll(ctx context.Context) error {
	for _, n := range b.e.nodes {
		if err := b.startNode(ctx, n.id); err != nil {
			return err
		}
	}
	return nil
}

func (b *processBackend) startNode(ctx context.Context, i int) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if p := b.procs[i]; p != nil && !exited(p) {
		return nil
	}
	n := b.e.nodes[i-1]
	logf, err := os.OpenFile(filepath.Join(n.dir, "server.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("node %d log: %w", i, err)
	}
	args := append(jvmArgs(n.dir, b.e.opts.HeapMB), filepath.Join(n.dir, "zoo.cfg"))
	cmd := exec.Command("java", args...)
	cmd.Dir = n.dir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start node %d: %w", i, err)
	}
	p := &javaProc{cmd: cmd, done: make(chan struct{}), log: logf}
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	b.procs[i] = p
	return nil
}

func exited(p *javaProc) bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (b *processBackend) stopNode(ctx context.Context, i int, kill bool) error {
	b.mu.Lock()
	p := b.procs[i]
	b.mu.Unlock()
	if p == nil || exited(p) {
		return nil
	}
	pgid := p.cmd.Process.Pid
	if !kill {
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-p.done:
			return nil
		case <-time.After(10 * time.Second):
		case <-ctx.Done():
		}
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	select {
	case <-p.done:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("node %d (pid %d) did not exit after SIGKILL", i, pgid)
	}
}

func (b *processBackend) running(i int) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	p := b.procs[i]
	return p != nil && !exited(p)
}

func (b *processBackend) partition(ctx context.Context, i int) error {
	b.peers.partition(i)
	return nil
}

func (b *processBackend) heal(ctx context.Context, i int) error {
	b.peers.heal(i)
	return nil
}

func (b *processBackend) logTail(i int) string {
	return fileTail(filepath.Join(b.e.nodes[i-1].dir, "server.log"), 2048)
}

func (b *processBackend) close(ctx context.Context) error {
	var errs []error
	for _, n := range b.e.nodes {
		if err := b.stopNode(ctx, n.id, true); err != nil {
			errs = append(errs, err)
		}
	}
	b.peers.close()
	return errors.Join(errs...)
}

// fileTail returns up to max bytes from the end of a file.
func fileTail(path string, max int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return ""
	}
	off := st.Size() - max
	if off < 0 {
		off = 0
	}
	buf := make([]byte, st.Size()-off)
	n, _ := f.ReadAt(buf, off)
	return string(buf[:n])
}
