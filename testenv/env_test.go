package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
)

// backendsHere lists the backends this machine can run (docker only where
// an engine answers). The same suites run on each.
func backendsHere(t *testing.T) []string {
	b := []string{BackendProcess}
	if DockerAvailable() {
		b = append(b, BackendDocker)
	} else {
		t.Log("no Docker engine here: docker backend not tested")
	}
	return b
}

// writeAndRead creates a znode through a session on the given nodes only and
// reads it back through another session on each of them, retrying while the
// ensemble elects a leader.
func writeAndRead(t *testing.T, env *Env, nodes []int, label string) string {
	t.Helper()
	var servers []string
	for _, i := range nodes {
		servers = append(servers, env.Server(i))
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	conn, err := DialServers(ctx, servers, 10*time.Second, nil)
	if err != nil {
		t.Fatalf("%s: %v", label, err)
	}
	defer conn.Close()
	p := fmt.Sprintf("/probe-%s-%d", strings.ReplaceAll(label, " ", "-"), time.Now().UnixNano())
	for {
		_, err = conn.Create(p, []byte(label), 0, zk.WorldACL(zk.PermAll))
		if err == nil || err == zk.ErrNodeExists {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("%s: write through nodes %v never succeeded: %v", label, nodes, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, i := range nodes {
		readOn(t, env, i, p, label)
	}
	return p
}

// readOn reads p through a session on node i alone (sync first, so the
// follower has caught up).
func readOn(t *testing.T, env *Env, i int, p, want string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	conn, err := DialServers(ctx, []string{env.Server(i)}, 10*time.Second, nil)
	if err != nil {
		t.Fatalf("read on node %d: %v", i, err)
	}
	defer conn.Close()
	for {
		_, _ = conn.Sync(p)
		data, _, err := conn.Get(p)
		if err == nil {
			if string(data) != want {
				t.Fatalf("node %d: %s = %q, want %q", i, p, data, want)
			}
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("node %d: read %s: %v", i, p, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func others(env *Env, i int) []int {
	var o []int
	for k := 1; k <= env.Nodes(); k++ {
		if k != i {
			o = append(o, k)
		}
	}
	return o
}

// TestEnsembleFaults runs the same fault table on each backend: with one
// node stopped, killed or partitioned, the other two keep serving reads and
// writes; after restart or heal all three serve and have every write.
func TestEnsembleFaults(t *testing.T) {
	for _, backend := range backendsHere(t) {
		t.Run(backend, func(t *testing.T) {
			env := Start(t, Options{Nodes: 3, Backend: backend})
			if env.Backend() != backend {
				t.Fatalf("backend %s, want %s", env.Backend(), backend)
			}
			st := env.Status(t.Context())
			leaders := 0
			for _, s := range st {
				if !s.Running || (s.Mode != "leader" && s.Mode != "follower") {
					t.Errorf("status at start: %+v", s)
				}
				if s.Mode == "leader" {
					leaders++
				}
			}
			if leaders != 1 {
				t.Fatalf("%d leaders at start: %+v", leaders, st)
			}
			faults := []struct {
				name    string
				victim  func() int // which node
				inject  func(i int) error
				recover func(i int) error
			}{
				{"stop a follower", func() int { l, _ := env.Leader(); return l%3 + 1 }, env.Stop, env.Start},
				{"kill the leader", func() int { l, _ := env.Leader(); return l }, env.Kill, env.Start},
				{"stop the leader", func() int { l, _ := env.Leader(); return l }, env.Stop, env.Start},
				{"partition the leader", func() int { l, _ := env.Leader(); return l }, env.Partition, env.Heal},
				{"partition a follower", func() int { l, _ := env.Leader(); return l%3 + 1 }, env.Partition, env.Heal},
			}
			for _, f := range faults {
				t.Run(f.name, func(t *testing.T) {
					victim := f.victim()
					if victim == 0 {
						t.Fatal("no leader before the fault")
					}
					if err := f.inject(victim); err != nil {
						t.Fatal(err)
					}
					rest := others(env, victim)
					p := writeAndRead(t, env, rest, f.name)
					ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
					leader, err := env.WaitLeader(ctx)
					cancel()
					if err != nil || leader == victim {
						t.Errorf("leader during the fault: %d, %v (victim %d)", leader, err, victim)
					}
					for _, s := range env.Status(t.Context()) {
						if s.ID == victim && (s.Mode == "leader" || s.Mode == "follower") {
							t.Errorf("victim %d still serves as %s during the fault", victim, s.Mode)
						}
					}
					if err := f.recover(victim); err != nil {
						t.Fatal(err)
					}
					if err := env.WaitServing(t.Context(), 60*time.Second); err != nil {
						t.Fatalf("after recovery: %v", err)
					}
					readOn(t, env, victim, p, f.name)
					writeAndRead(t, env, []int{1, 2, 3}, f.name+" after")
				})
			}
			if err := env.Stop(0); err == nil {
				t.Error("Stop(0) accepted")
			}
			if err := env.Partition(4); err == nil {
				t.Error("Partition(4) on a 3-node ensemble accepted")
			}
		})
	}
}

// TestEnsembleOptions checks TLS, snapCount (several snapshots in DataDir)
// and a standalone node on each backend.
func TestEnsembleOptions(t *testing.T) {
	for _, backend := range backendsHere(t) {
		t.Run(backend, func(t *testing.T) {
			env := Start(t, Options{Nodes: 3, Backend: backend, TLS: true, SnapCount: 10})
			conn := env.ConnectTLS(t)
			if _, err := Seed(t.Context(), conn, SeedSpec{Brokers: 3, Topics: 20, PartitionsPerTopic: 10, ReplicationFactor: 3}); err != nil {
				t.Fatal(err)
			}
			plain := env.Connect(t)
			if n, _, err := plain.Children("/brokers/topics"); err != nil || len(n) != 20 {
				t.Fatalf("plain port sees %d topics (%v), want 20", len(n), err)
			}
			f := env.TLSFiles()
			for _, p := range []string{f.CA, f.ServerPEM, f.ClientCert, f.ClientKey} {
				if _, err := os.Stat(p); err != nil {
					t.Errorf("TLS file: %v", err)
				}
			}
			// ZooKeeper snapshots in the background and skips a snapshot
			// while the previous one is still being written (on a busy
			// machine): give it more transactions until each node has 3.
			snapshots := func(i int) int {
				snaps, _ := filepath.Glob(filepath.Join(env.DataDir(i), "version-2", "snapshot.*"))
				return len(snaps)
			}
			for round := 0; round < 20 && min(snapshots(1), snapshots(2), snapshots(3)) < 3; round++ {
				for k := 0; k < 10; k++ {
					plain.Create(fmt.Sprintf("/snapfill-%d-%d", round, k), nil, 0, zk.WorldACL(zk.PermAll))
				}
				time.Sleep(250 * time.Millisecond)
			}
			for i := 1; i <= 3; i++ {
				if n := snapshots(i); n < 3 {
					t.Errorf("node %d: %d snapshots in %s with snapCount 10 after 40-240 transactions, want >= 3", i, n, env.DataDir(i))
				}
				if b, err := os.ReadFile(filepath.Join(env.DataDir(i), "myid")); err != nil || strings.TrimSpace(string(b)) != fmt.Sprint(i) {
					t.Errorf("node %d myid: %q %v", i, b, err)
				}
			}
			one := Start(t, Options{Nodes: 1, Backend: backend})
			if st := one.Status(t.Context()); st[0].Mode != "standalone" {
				t.Errorf("1-node ensemble mode %q, want standalone", st[0].Mode)
			}
			if l, err := one.Leader(); err != nil || l != 1 {
				t.Errorf("standalone Leader() = %d, %v", l, err)
			}
		})
	}
}

// TestTeardown checks that Close leaves no process, container, network or
// dir behind, also when the ensemble was faulted.
func TestTeardown(t *testing.T) {
	for _, backend := range backendsHere(t) {
		t.Run(backend, func(t *testing.T) {
			if testing.Short() {
				t.Skip("ZooKeeper ensemble skipped under -short")
			}
			if err := Available(backend); err != nil {
				t.Skip(err)
			}
			ctx := t.Context()
			env, err := New(ctx, Options{Nodes: 3, Backend: backend})
			if err != nil {
				t.Fatal(err)
			}
			dir := env.Dir()
			_ = env.Partition(2)
			_ = env.Kill(3)
			if err := env.Close(); err != nil {
				t.Fatal(err)
			}
			if err := env.Close(); err != nil {
				t.Errorf("second Close: %v", err)
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("dir %s still exists", dir)
			}
			for _, addr := range env.Servers() {
				if _, err := FourLetter(ctx, addr, "ruok"); err == nil {
					t.Errorf("%s still answers after Close", addr)
				}
			}
			if backend == BackendDocker {
				out, _ := docker(ctx, "ps", "-a", "--filter", "name="+env.Name(), "--format", "{{.Names}}")
				if out != "" {
					t.Errorf("containers left: %s", out)
				}
				out, _ = docker(ctx, "network", "ls", "--filter", "name="+env.Name(), "--format", "{{.Name}}")
				if out != "" {
					t.Errorf("network left: %s", out)
				}
			}
		})
	}
}

// TestReapStaleDirs: a temp dir whose owner died is removed by the next
// New; one whose owner lives is kept.
func TestReapStaleDirs(t *testing.T) {
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Skip(err)
	}
	mk := func(pid int) string {
		d, err := os.MkdirTemp("", tempDirPrefix)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, ownerFile), []byte(fmt.Sprint(pid)), 0o644); err != nil {
			t.Fatal(err)
		}
		return d
	}
	stale, live := mk(dead.Process.Pid), mk(os.Getpid())
	defer os.RemoveAll(live)
	reapStaleDirs()
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale dir %s kept", stale)
		os.RemoveAll(stale)
	}
	if _, err := os.Stat(live); err != nil {
		t.Errorf("live dir removed: %v", err)
	}
}
