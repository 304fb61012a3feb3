package testenv

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// dockerBackend runs every node as a container of the locally built image
// on the ensemble's own bridge network (a /24 of 10.199.0.0/16 that no other
// Docker network or host route uses), each with its own IP, hostname zk<i>,
// myid and data dir (a bind mount of the node's host dir, so DataDir works),
// and its client port published on 127.0.0.1 at a port chosen here (stable
// across restarts). Partition disconnects the container from the network;
// Heal reconnects it with the same IP.
//
// Every container and network carries the label zk2kraft.testenv.pid with
// the creating process's pid; New removes those of dead processes, so a
// test binary killed mid-run leaves nothing behind for long.
type dockerBackend struct {
	e       *Env
	image   *ImageInfo
	network string
	subnet  string
	ips     map[int]string

	mu      sync.Mutex
	up      map[int]bool
	checked map[int]time.Time
}

const (
	dockerLabel      = "zk2kraft.testenv.pid"
	dockerClientPort = 2181
	dockerSecurePort = 2281
)

func newDockerBackend(ctx context.Context, e *Env) (backend, error) {
	img, err := EnsureImage(ctx, e.opts.Logf)
	if err != nil {
		return nil, err
	}
	b := &dockerBackend{e: e, image: img, network: e.opts.Name, ips: map[int]string{}, up: map[int]bool{}, checked: map[int]time.Time{}}
	if err := b.createNetwork(ctx); err != nil {
		return nil, err
	}
	for _, n := range e.nodes {
		if n.clientPort, err = freePort(); err != nil {
			return b, err
		}
		if e.tls != nil {
			if n.securePort, err = freePort(); err != nil {
				return b, err
			}
		}
		cfg := zooConfig{
			DataDir:    "/zk/data",
			ClientAddr: "0.0.0.0",
			ClientPort: dockerClientPort,
			SnapCount:  e.opts.SnapCount,
			ForceSync:  e.opts.ForceSync,
			Servers:    map[int]string{},
		}
		if e.tls != nil {
			cfg.SecurePort, cfg.TLSDir = dockerSecurePort, "/tls"
		}
		if len(e.nodes) > 1 {
			for _, peer := range e.nodes {
				cfg.Servers[peer.id] = fmt.Sprintf("%s:2888:3888", b.ips[peer.id])
			}
		}
		if err := os.WriteFile(filepath.Join(n.dir, "zoo.cfg"), []byte(cfg.String()), 0o644); err != nil {
			return b, fmt.Errorf("write zoo.cfg: %w", err)
		}
	}
	return b, nil
}

func docker(ctx context.Context, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, "docker", args...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("docker %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return strings.TrimSpace(string(out)), nil
}

// createNetwork creates the ensemble's network on a free /24.
func (b *dockerBackend) createNetwork(ctx context.Context) error {
	routes, _ := exec.CommandContext(ctx, "ip", "-4", "route").Output()
	var lastErr error
	for attempt := 0; attempt < 30; attempt++ {
		third := rand.IntN(256)
		prefix := fmt.Sprintf("10.199.%d.", third)
		if strings.Contains(string(routes), prefix) {
			continue
		}
		subnet := prefix + "0/24"
		_, err := docker(ctx, "network", "create", "--driver", "bridge", "--subnet", subnet,
			"--label", dockerLabel+"="+strconv.Itoa(os.Getpid()), b.network)
		if err != nil {
			lastErr = err
			if strings.Contains(err.Error(), "overlap") {
				continue
			}
			return err
		}
		b.subnet = subnet
		for _, n := range b.e.nodes {
			b.ips[n.id] = fmt.Sprintf("%s%d", prefix, 10+n.id)
		}
		return nil
	}
	return fmt.Errorf("no free subnet in 10.199.0.0/16 for network %s: %v", b.network, lastErr)
}

func (b *dockerBackend) container(i int) string { return fmt.Sprintf("%s-zk%d", b.e.opts.Name, i) }

func (b *dockerBackend) startAll(ctx context.Context) error {
	for _, n := range b.e.nodes {
		args := []string{"run", "-d", "--name", b.container(n.id), "--hostname", fmt.Sprintf("zk%d", n.id),
			"--network", b.network, "--ip", b.ips[n.id],
			"--label", dockerLabel + "=" + strconv.Itoa(os.Getpid()),
			"--user", fmt.Sprintf("%d:%d", os.Getuid(), os.Getgid()),
			"--memory", fmt.Sprintf("%dm", b.e.opts.HeapMB+384), "--tmpfs", "/tmp",
			"-v", n.dir + ":/zk",
			"-p", fmt.Sprintf("127.0.0.1:%d:%d", n.clientPort, dockerClientPort)}
		if b.e.tls != nil {
			args = append(args, "-v", b.e.tls.Dir+":/tls:ro", "-p", fmt.Sprintf("127.0.0.1:%d:%d", n.securePort, dockerSecurePort))
		}
		args = append(args, "--entrypoint", b.image.Java, b.image.Tag)
		args = append(args, jvmArgs("/zk", b.e.opts.HeapMB)...)
		args = append(args, "/zk/zoo.cfg")
		if _, err := docker(ctx, args...); err != nil {
			return fmt.Errorf("start node %d: %w", n.id, err)
		}
		b.mu.Lock()
		b.up[n.id] = true
		b.mu.Unlock()
	}
	return nil
}

func (b *dockerBackend) startNode(ctx context.Context, i int) error {
	if _, err := docker(ctx, "start", b.container(i)); err != nil {
		return err
	}
	b.mu.Lock()
	b.up[i] = true
	b.mu.Unlock()
	return nil
}

func (b *dockerBackend) stopNode(ctx context.Context, i int, kill bool) error {
	var err error
	if kill {
		_, err = docker(ctx, "kill", "--signal", "KILL", b.container(i))
		if err != nil && strings.Contains(err.Error(), "is not running") {
			err = nil
		}
	} else {
		_, err = docker(ctx, "stop", "--time", "10", b.container(i))
	}
	if err != nil {
		return err
	}
	b.mu.Lock()
	b.up[i] = false
	b.mu.Unlock()
	return nil
}

// running is what this process did to the container (started, stopped),
// corrected by `docker inspect` at most once a second, so a container that
// died by itself shows as not running.
func (b *dockerBackend) running(i int) bool {
	b.mu.Lock()
	up, checked := b.up[i], b.checked[i]
	b.mu.Unlock()
	if !up || time.Since(checked) < time.Second {
		return up
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "docker", "inspect", "--format", "{{.State.Running}}", b.container(i)).Output()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.checked[i] = time.Now()
	if err == nil && strings.TrimSpace(string(out)) == "false" {
		b.up[i] = false
	}
	return b.up[i]
}

func (b *dockerBackend) partition(ctx context.Context, i int) error {
	_, err := docker(ctx, "network", "disconnect", "--force", b.network, b.container(i))
	return err
}

func (b *dockerBackend) heal(ctx context.Context, i int) error {
	_, err := docker(ctx, "network", "connect", "--ip", b.ips[i], b.network, b.container(i))
	return err
}

func (b *dockerBackend) logTail(i int) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, "docker", "logs", "--tail", "30", b.container(i)).CombinedOutput()
	return string(out)
}

func (b *dockerBackend) close(ctx context.Context) error {
	var errs []error
	var names []string
	for _, n := range b.e.nodes {
		names = append(names, b.container(n.id))
	}
	if out, err := exec.CommandContext(ctx, "docker", append([]string{"rm", "-f", "-v"}, names...)...).CombinedOutput(); err != nil &&
		!strings.Contains(string(out), "No such container") {
		errs = append(errs, fmt.Errorf("docker rm: %v: %s", err, strings.TrimSpace(string(out))))
	}
	if b.subnet != "" {
		if _, err := docker(ctx, "network", "rm", b.network); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// reapStaleDocker removes containers and networks whose creating process is
// gone (a test binary that was killed before its cleanup ran).
func reapStaleDocker(ctx context.Context) {
	alive := func(pidLabel string) bool {
		pid, err := strconv.Atoi(pidLabel)
		if err != nil || pid <= 0 {
			return true // not ours to judge
		}
		return processAlive(pid)
	}
	out, err := exec.CommandContext(ctx, "docker", "ps", "-a", "--filter", "label="+dockerLabel,
		"--format", `{{.ID}} {{.Label "`+dockerLabel+`"}}`).Output()
	if err == nil {
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			id, pid, ok := strings.Cut(line, " ")
			if ok && !alive(pid) {
				_ = exec.CommandContext(ctx, "docker", "rm", "-f", "-v", id).Run()
			}
		}
	}
	out, err = exec.CommandContext(ctx, "docker", "network", "ls", "--filter", "label="+dockerLabel,
		"--format", `{{.ID}} {{.Label "`+dockerLabel+`"}}`).Output()
	if err == nil {
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			id, pid, ok := strings.Cut(line, " ")
			if ok && !alive(pid) {
				_ = exec.CommandContext(ctx, "docker", "network", "rm", id).Run()
			}
		}
	}
}
