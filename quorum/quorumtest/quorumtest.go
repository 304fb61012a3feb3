// Package quorumtest starts a real quorum for a test: n raft nodes on
// loopback (quorum.StartLocalCluster) and a client of their API, both
// closed when the test ends. Like net/http/httptest, it holds no fakes.
package quorumtest

import (
	"context"
	"testing"
	"time"

	"github.com/zk2kraft/zk2kraft/quorum"
	"github.com/zk2kraft/zk2kraft/quorum/client"
)

// startTimeout bounds Start's wait for the nodes and a leader.
const startTimeout = 20 * time.Second

// Start starts n nodes with data dirs under dir (t.TempDir() when ""),
// bootstrapped as one quorum of the cluster clusterID, waits for a leader
// and returns the cluster and a client of every node's API. opts adjust
// each node's Config.
func Start(t testing.TB, n int, dir, clusterID string, opts ...func(*quorum.Config)) (*quorum.LocalCluster, *client.Client) {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	// A quorum on loopback elects a leader in about a second.
	ctx, cancel := context.WithTimeout(t.Context(), startTimeout)
	defer cancel()
	lc, err := quorum.StartLocalCluster(ctx, n, dir, clusterID, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lc.Close() })
	q, err := client.New(lc.APIAddrs(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(q.Close)
	return lc, q
}
