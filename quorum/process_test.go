package quorum_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zk2kraft/zk2kraft/quorum"
	"github.com/zk2kraft/zk2kraft/quorum/client"
)

// buildBinary builds cmd/zk2kraft into dir.
func buildBinary(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "zk2kraft")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/zk2kraft/zk2kraft/cmd/zk2kraft")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

type procNode struct {
	args []string
	cmd  *exec.Cmd
	log  *os.File
}

func (p *procNode) start(t *testing.T, bin string) {
	t.Helper()
	p.cmd = exec.Command(bin, p.args...)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
}

func (p *procNode) kill9() {
	if p.cmd != nil && p.cmd.Process != nil {
		p.cmd.Process.Signal(syscall.SIGKILL)
		p.cmd.Wait()
		p.cmd = nil
	}
}

// TestProcessesKillLeader9 runs three `zk2kraft quorum run` processes, kills
// the leader with SIGKILL, and checks that a new leader takes writes quickly
// and nothing committed is lost; the killed node then catches up.
func TestProcessesKillLeader9(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: builds the binary and runs three quorum processes")
	}
	dir := t.TempDir()
	bin := buildBinary(t, dir)
	var raftAddrs, apiAddrs, voters []string
	for i := 0; i < 3; i++ {
		raftAddrs = append(raftAddrs, freeAddr(t))
		apiAddrs = append(apiAddrs, freeAddr(t))
		voters = append(voters, fmt.Sprintf("%d@%s", i+1, raftAddrs[i]))
	}
	nodes := make([]*procNode, 3)
	for i := range nodes {
		logf, err := os.Create(filepath.Join(dir, fmt.Sprintf("node-%d.log", i+1)))
		if err != nil {
			t.Fatal(err)
		}
		nodes[i] = &procNode{log: logf, args: []string{"quorum", "run", "--node-id", fmt.Sprint(i + 1),
			"--bind", raftAddrs[i], "--api", apiAddrs[i], "--data-dir", filepath.Join(dir, fmt.Sprintf("data-%d", i+1)),
			"--voters", strings.Join(voters, ","), "--cluster-id", "MkU3OEVBNTcwNTJENDM2Qg", "--log-level", "info"}}
		nodes[i].start(t, bin)
	}
	t.Cleanup(func() {
		for _, n := range nodes {
			n.kill9()
			n.log.Close()
		}
		if t.Failed() {
			for i := range nodes {
				b, _ := os.ReadFile(filepath.Join(dir, fmt.Sprintf("node-%d.log", i+1)))
				t.Logf("node %d log (tail):\n%s", i+1, tail(string(b), 3000))
			}
		}
	})
	c, err := client.New(apiAddrs, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := ctxT(t, 60*time.Second)
	if st, err := c.WaitReady(ctx); err != nil || st.ClusterID != "MkU3OEVBNTcwNTJENDM2Qg" {
		t.Fatalf("wait ready: %+v %v", st, err)
	}
	if _, err := c.Append(ctx, featureRecords(), map[string]string{"migration.phase": "copying"}, client.AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	var last client.Offsets
	for i := 0; i < 30; i++ {
		if last, err = c.Append(ctx, topicRecords(fmt.Sprintf("t%02d", i), 8), nil, client.AppendOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	before, _, err := c.Image(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.Status(ctx)
	if err != nil || st.State != "Leader" {
		t.Fatalf("status %+v %v", st, err)
	}
	var leader int
	fmt.Sscan(st.NodeID, &leader)
	leader--
	killed := time.Now()
	nodes[leader].kill9()
	if _, err := c.Append(ctx, topicRecords("after-kill", 1), nil, client.AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	failover := time.Since(killed)
	t.Logf("kill -9 of the leader (node %d) to the first committed write: %v", leader+1, failover)
	if failover > 5*time.Second {
		t.Errorf("failover took %v", failover)
	}
	after, pos, err := c.Image(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after.TopicByName("after-kill") == nil || pos.LastOffset != last.Last+2 {
		t.Fatalf("after failover: position %+v, want last offset %d", pos, last.Last+2)
	}
	for _, tp := range before.Topics() {
		if got := after.TopicByName(tp.Name); got == nil || len(got.Partitions) != len(tp.Partitions) {
			t.Fatalf("committed topic %s lost in failover", tp.Name)
		}
	}
	// The killed node restarts from its data dir and catches up.
	nodes[leader].start(t, bin)
	deadline := time.Now().Add(20 * time.Second)
	for {
		ns, err := nodeStatus(apiAddrs[leader])
		if err == nil && ns.Position.LastOffset == pos.LastOffset {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("restarted node %d did not catch up: %+v %v", leader+1, ns.Position, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The CLI: status exits 0 on a healthy quorum, export writes a checkpoint.
	out, err := exec.Command(bin, "quorum", "status", "--quorum", strings.Join(apiAddrs, ","), "--output", "json").Output()
	if err != nil {
		t.Fatalf("quorum status: %v\n%s", err, out)
	}
	var all []client.NodeStatus
	if err := json.Unmarshal(out, &all); err != nil || len(all) != 3 {
		t.Fatalf("quorum status JSON: %v\n%s", err, out)
	}
	exp := filepath.Join(dir, "export")
	if out, err := exec.Command(bin, "export", "--quorum", strings.Join(apiAddrs, ","), "--out", exp).CombinedOutput(); err != nil {
		t.Fatalf("export: %v\n%s", err, out)
	}
	name := filepath.Join(exp, fmt.Sprintf("%020d-%010d.checkpoint", pos.LastOffset+1, pos.LastEpoch))
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	im, err := quorum.ReadImage(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	sameImage(t, "exported checkpoint", after, im)
}

// nodeStatus asks one node for its status.
func nodeStatus(addr string) (quorum.Status, error) {
	c, err := client.New([]string{addr}, nil)
	if err != nil {
		return quorum.Status{}, err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	ns := c.StatusAll(ctx)[0]
	if ns.Status == nil {
		return quorum.Status{}, errors.New(ns.Error)
	}
	return *ns.Status, nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
