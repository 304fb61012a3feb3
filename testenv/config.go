package testenv

import (
	"fmt"
	"sort"
	"strings"
)

// Debian's ZooKeeper 3.8 and the jars the server needs.
const (
	javaShare      = "/usr/share/java"
	zkJar          = javaShare + "/zookeeper.jar" // its manifest Class-Path lists the other jars
	slf4jSimpleJar = javaShare + "/slf4j-simple.jar"
)

// extraJars are what the server needs beyond zookeeper.jar's manifest
// Class-Path: slf4j-simple (a log binding; without it the server prints
// nothing) and the netty jars the Netty connection factory (TLS) loads but
// Debian's manifest does not list.
var extraJars = []string{
	slf4jSimpleJar,
	javaShare + "/netty-codec.jar",
	javaShare + "/netty-resolver.jar",
	javaShare + "/netty-transport-native-unix-common.jar",
}

// serverClasspath is the classpath of QuorumPeerMain.
var serverClasspath = zkJar + ":" + strings.Join(extraJars, ":")

// jvmArgs are the JVM flags of every node (testinfra.md §1: a small heap and
// the serial GC). heapMB is the maximum heap.
func jvmArgs(logDir string, heapMB int) []string {
	return []string{
		"-Xms64m", fmt.Sprintf("-Xmx%dm", heapMB), "-XX:+UseSerialGC", "-XX:+ExitOnOutOfMemoryError",
		"-Djute.maxbuffer=4194304",
		"-Dzookeeper.log.dir=" + logDir,
		"-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
		"-Dorg.slf4j.simpleLogger.showDateTime=true",
		"-cp", serverClasspath,
		"org.apache.zookeeper.server.quorum.QuorumPeerMain",
	}
}

// zooConfig is one node's zoo.cfg.
type zooConfig struct {
	DataDir    string
	ClientAddr string // clientPortAddress
	ClientPort int
	SecurePort int            // 0: no TLS
	TLSDir     string         // where ca.pem and server.pem are, as the node sees them
	Servers    map[int]string // myid -> "host:quorumPort:electionPort" (empty: standalone)
	SnapCount  int
	ForceSync  bool
}

func (c zooConfig) String() string {
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	line("# written by zk2kraft testenv")
	line("tickTime=500")
	line("initLimit=20")
	line("syncLimit=10")
	line("dataDir=%s", c.DataDir)
	line("clientPortAddress=%s", c.ClientAddr)
	line("clientPort=%d", c.ClientPort)
	line("maxClientCnxns=0")
	if c.ForceSync {
		line("forceSync=yes")
	} else {
		line("forceSync=no")
	}
	line("4lw.commands.whitelist=*")
	line("admin.enableServer=false")
	line("autopurge.purgeInterval=0")
	line("jute.maxbuffer=4194304")
	if c.SnapCount > 0 {
		line("snapCount=%d", c.SnapCount)
	}
	if c.SecurePort > 0 {
		line("secureClientPort=%d", c.SecurePort)
		line("secureClientPortAddress=%s", c.ClientAddr)
		line("serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory")
		line("ssl.keyStore.location=%s/server.pem", c.TLSDir)
		line("ssl.keyStore.type=PEM")
		line("ssl.trustStore.location=%s/ca.pem", c.TLSDir)
		line("ssl.trustStore.type=PEM")
		line("ssl.clientAuth=want")
	}
	ids := make([]int, 0, len(c.Servers))
	for id := range c.Servers {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	for _, id := range ids {
		line("server.%d=%s", id, c.Servers[id])
	}
	return b.String()
}
