package testenv

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"github.com/go-zookeeper/zk"
	"io"
	"net"
	"strings"
	"time"
)

// FourLetter sends a ZooKeeper four-letter command (srvr, mntr, ruok, ...)
// to addr and returns the reply. It speaks the wire directly because
// go-zookeeper's FLWSrvr cannot parse Debian's version string.
func FourLetter(ctx context.Context, addr, cmd string) (string, error) {
	d := net.Dialer{Timeout: 2 * time.Second}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", fmt.Errorf("%s %s: %w", cmd, addr, err)
	}
	defer c.Close()
	deadline := time.Now().Add(3 * time.Second)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	_ = c.SetDeadline(deadline)
	if _, err := io.WriteString(c, cmd); err != nil {
		return "", fmt.Errorf("%s %s: %w", cmd, addr, err)
	}
	b, err := io.ReadAll(c)
	if err != nil && len(b) == 0 {
		return "", fmt.Errorf("%s %s: %w", cmd, addr, err)
	}
	return string(b), nil
}

// serverMode returns the "Mode:" of a srvr reply ("leader", "follower",
// "standalone", ...), or "" when the server is not serving.
func serverMode(srvr string) string {
	sc := bufio.NewScanner(strings.NewReader(srvr))
	for sc.Scan() {
		if m, ok := strings.CutPrefix(sc.Text(), "Mode: "); ok {
			return strings.TrimSpace(m)
		}
	}
	return ""
}

// NodeStatus is one node as Status sees it.
type NodeStatus struct {
	ID          int    `json:"id"`
	Addr        string `json:"addr"`
	Running     bool   `json:"running"`     // the process/container runs
	Partitioned bool   `json:"partitioned"` // cut off from its peers by Partition
	Mode        string `json:"mode"`        // leader, follower, standalone, or "not serving" / "down"
	Zxid        string `json:"zxid,omitempty"`
	Znodes      string `json:"znodes,omitempty"` // zk_znode_count from mntr
}

// Status queries every node with srvr and mntr.
func (e *Env) Status(ctx context.Context) []NodeStatus {
	out := make([]NodeStatus, len(e.nodes))
	for idx, n := range e.nodes {
		st := NodeStatus{ID: n.id, Addr: e.Server(n.id), Running: e.backend.running(n.id)}
		e.mu.Lock()
		st.Partitioned = e.partitioned[n.id]
		e.mu.Unlock()
		st.Mode = "down"
		if srvr, err := FourLetter(ctx, st.Addr, "srvr"); err == nil {
			st.Mode = "not serving"
			if m := serverMode(srvr); m != "" {
				st.Mode = m
			}
			for _, line := range strings.Split(srvr, "\n") {
				if z, ok := strings.CutPrefix(line, "Zxid: "); ok {
					st.Zxid = strings.TrimSpace(z)
				}
			}
		}
		if st.Mode != "down" && st.Mode != "not serving" {
			if mntr, err := FourLetter(ctx, st.Addr, "mntr"); err == nil {
				for _, line := range strings.Split(mntr, "\n") {
					if v, ok := strings.CutPrefix(line, "zk_znode_count\t"); ok {
						st.Znodes = strings.TrimSpace(v)
					}
				}
			}
		}
		out[idx] = st
	}
	return out
}

// Leader returns the node that is ZooKeeper's leader now (or the standalone
// node). It errors when no node says it leads.
func (e *Env) Leader() (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, n := range e.nodes {
		srvr, err := FourLetter(ctx, e.Server(n.id), "srvr")
		if err != nil {
			continue
		}
		if m := serverMode(srvr); m == "leader" || m == "standalone" {
			return n.id, nil
		}
	}
	return 0, errors.New("testenv: no node is leader now")
}

// WaitLeader waits until some node leads and returns it.
func (e *Env) WaitLeader(ctx context.Context) (int, error) {
	for {
		id, err := e.Leader()
		if err == nil {
			return id, nil
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("testenv: wait for a leader: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// WaitServing waits until the given nodes (all when none given) serve: srvr
// shows a Mode and a session on that node alone answers.
func (e *Env) WaitServing(ctx context.Context, timeout time.Duration, ids ...int) error {
	if len(ids) == 0 {
		ids = e.allIDs()
	}
	for _, i := range ids {
		if err := e.checkNode(i); err != nil {
			return err
		}
	}
	return e.waitServing(ctx, ids, timeout)
}

func (e *Env) waitServing(ctx context.Context, ids []int, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for _, i := range ids {
		addr := e.Server(i)
		last := "no answer"
		for {
			if !e.backend.running(i) {
				return fmt.Errorf("node %d exited while starting", i)
			}
			srvr, err := FourLetter(ctx, addr, "srvr")
			if err != nil {
				last = err.Error()
			} else if m := serverMode(srvr); m == "" {
				last = strings.TrimSpace(srvr)
			} else if err := sessionAnswers(ctx, addr, nil); err != nil {
				last = err.Error()
			} else if err := e.secureAnswers(ctx, i); err != nil {
				last = err.Error()
			} else {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("node %d (%s) not serving after %v: %s", i, addr, timeout, last)
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	return nil
}

// secureAnswers checks node i's TLS client port (when TLS is on).
func (e *Env) secureAnswers(ctx context.Context, i int) error {
	if e.tls == nil {
		return nil
	}
	dialer, err := e.tls.Dialer()
	if err != nil {
		return err
	}
	return sessionAnswers(ctx, e.SecureServers()[i-1], dialer)
}

// sessionAnswers opens a session on addr alone and reads "/".
func sessionAnswers(ctx context.Context, addr string, dialer zk.Dialer) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := DialServers(ctx, []string{addr}, 4*time.Second, dialer)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, _, err := conn.Exists("/"); err != nil {
		return fmt.Errorf("exists / on %s: %w", addr, err)
	}
	return nil
}
