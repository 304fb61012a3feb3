package zkreader

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
)

// standaloneZK starts a throwaway standalone ZooKeeper (Debian's jar) on a
// dynamic loopback port and stops it when the test ends. It is the
// protocol-level fixture; integration tests use testenv ensembles.
func standaloneZK(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("needs ZooKeeper")
	}
	if _, err := exec.LookPath("java"); err != nil {
		t.Skip("java not installed")
	}
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cfg := fmt.Sprintf("tickTime=500\ndataDir=%s/data\nclientPort=%d\nclientPortAddress=127.0.0.1\nmaxClientCnxns=0\nforceSync=no\nadmin.enableServer=false\n4lw.commands.whitelist=*\njute.maxbuffer=4194304\n", dir, port)
	os.WriteFile(filepath.Join(dir, "zoo.cfg"), []byte(cfg), 0o644)
	logf, _ := os.Create(filepath.Join(dir, "server.log"))
	cmd := exec.Command("java", "-Xmx256m", "-XX:+UseSerialGC", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
		"-cp", "/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-simple.jar",
		"org.apache.zookeeper.server.quorum.QuorumPeerMain", filepath.Join(dir, "zoo.cfg"))
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		logf.Close()
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Write([]byte("srvr"))
			buf := make([]byte, 4096)
			c.SetReadDeadline(time.Now().Add(time.Second))
			n, _ := c.Read(buf)
			c.Close()
			if strings.Contains(string(buf[:n]), "Mode: ") {
				return addr
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "server.log"))
	t.Fatalf("zookeeper on %s did not start:\n%s", addr, b)
	return ""
}

// zkConnect opens a go-zookeeper session for seeding.
func zkConnect(t testing.TB, addr string) *zk.Conn {
	t.Helper()
	c, _, err := zk.Connect(strings.Split(addr, ","), 10*time.Second, zk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// putTree creates every znode of tree (parents first, empty parents made as needed).
func putTree(t testing.TB, c *zk.Conn, tree map[string]string, acl []zk.ACL) {
	t.Helper()
	if acl == nil {
		acl = zk.WorldACL(zk.PermAll)
	}
	made := map[string]bool{"/": true}
	var ensure func(p string, data []byte)
	ensure = func(p string, data []byte) {
		if made[p] {
			if data != nil {
				if _, err := c.Set(p, data, -1); err != nil {
					t.Fatalf("set %s: %v", p, err)
				}
			}
			return
		}
		ensure(parentPath(p), nil)
		_, err := c.Create(p, data, 0, acl)
		if err == zk.ErrNodeExists && data != nil {
			_, err = c.Set(p, data, -1)
		} else if err == zk.ErrNodeExists {
			err = nil
		}
		if err != nil {
			t.Fatalf("create %s: %v", p, err)
		}
		made[p] = true
	}
	keys := make([]string, 0, len(tree))
	for k := range tree {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		ensure(k, []byte(tree[k]))
	}
}
