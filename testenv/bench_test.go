package testenv

import (
	"context"
	"strconv"
	"testing"
	"time"
)

// Run with `make bench` (go test -run '^$' -bench . -benchtime 1x ./...).

// BenchmarkImageBuild times the ZooKeeper image: a cold build (file list,
// content hash, tar streamed into docker import) under a throwaway tag, and
// the cached path EnsureImage takes when the image exists.
func BenchmarkImageBuild(b *testing.B) {
	if !DockerAvailable() {
		b.Skip("no Docker engine")
	}
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		entries, _, err := rootfsFiles(ctx)
		if err != nil {
			b.Fatal(err)
		}
		tag := imageRepo + ":bench-cold-" + randomHex(4)
		start := time.Now()
		entries, _, err = rootfsFiles(ctx) // what a cold EnsureImage does
		if err != nil {
			b.Fatal(err)
		}
		if _, err := contentTag(entries); err != nil {
			b.Fatal(err)
		}
		if err := importRootfs(ctx, entries, tag); err != nil {
			b.Fatal(err)
		}
		cold := time.Since(start)
		if err := RemoveImage(ctx, tag); err != nil {
			b.Fatal(err)
		}
		if _, err := EnsureImage(ctx, nil); err != nil { // make sure the real one exists
			b.Fatal(err)
		}
		start = time.Now()
		info, err := EnsureImage(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		cached := time.Since(start)
		if info.Built {
			b.Fatal("EnsureImage rebuilt an existing image")
		}
		b.ReportMetric(cold.Seconds(), "cold-s")
		b.ReportMetric(cached.Seconds(), "cached-s")
		b.ReportMetric(float64(len(entries)), "files")
	}
}

// BenchmarkEnsembleStart times New (until every node serves) and Close of a
// 3-node ensemble on each backend.
func BenchmarkEnsembleStart(b *testing.B) {
	for _, backend := range []string{BackendProcess, BackendDocker} {
		b.Run(backend, func(b *testing.B) {
			if err := Available(backend); err != nil {
				b.Skip(err)
			}
			ctx := context.Background()
			if backend == BackendDocker {
				if _, err := EnsureImage(ctx, nil); err != nil { // not part of the start time
					b.Fatal(err)
				}
			}
			var start, stop time.Duration
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				env, err := New(ctx, Options{Nodes: 3, Backend: backend})
				if err != nil {
					b.Fatal(err)
				}
				start += time.Since(t0)
				t0 = time.Now()
				if err := env.Close(); err != nil {
					b.Fatal(err)
				}
				stop += time.Since(t0)
			}
			b.ReportMetric(start.Seconds()/float64(b.N), "start-s")
			b.ReportMetric(stop.Seconds()/float64(b.N), "teardown-s")
		})
	}
}

// BenchmarkSeed100k seeds the "large" preset (100,000 plain partitions plus
// the edge cases) into a 3-node ensemble and reports znodes/s as ZooKeeper
// counts them (mntr zk_znode_count before and after).
func BenchmarkSeed100k(b *testing.B) {
	for _, backend := range []string{BackendProcess, BackendDocker} {
		b.Run(backend, func(b *testing.B) {
			if err := Available(backend); err != nil {
				b.Skip(err)
			}
			ctx := context.Background()
			env, err := New(ctx, Options{Nodes: 3, Backend: backend})
			if err != nil {
				b.Fatal(err)
			}
			defer env.Close()
			conn, err := env.Dial(ctx)
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close()
			for i := 0; i < b.N; i++ {
				chroot := "/bench" + strconv.Itoa(i)
				before := znodeCount(ctx, env)
				start := time.Now()
				snap, err := Seed(ctx, conn, SeedSpec{Preset: "large", Chroot: chroot})
				if err != nil {
					b.Fatal(err)
				}
				took := time.Since(start)
				_, _ = conn.Sync(chroot)
				written := znodeCount(ctx, env) - before
				parts := 0
				for _, t := range snap.Topics {
					parts += len(t.Partitions)
				}
				b.ReportMetric(took.Seconds(), "seed-s")
				b.ReportMetric(float64(written)/took.Seconds(), "znodes/s")
				b.ReportMetric(float64(parts)/took.Seconds(), "partitions/s")
				b.ReportMetric(float64(written), "znodes")
			}
		})
	}
}

// znodeCount is the leader's zk_znode_count.
func znodeCount(ctx context.Context, env *Env) int64 {
	l, err := env.WaitLeader(ctx)
	if err != nil {
		return 0
	}
	for _, s := range env.Status(ctx) {
		if s.ID == l {
			n, _ := strconv.ParseInt(s.Znodes, 10, 64)
			return n
		}
	}
	return 0
}
