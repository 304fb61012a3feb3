package zkreader_test

import (
	"context"
	"os"
	"runtime/pprof"
	"syscall"
	"testing"
	"time"

	"github.com/zk2kraft/zk2kraft/testenv"
	"github.com/zk2kraft/zk2kraft/zkreader"
)

func TestZZExperiment(t *testing.T) {
	if os.Getenv("ZZEXP") == "" {
		t.Skip()
	}
	ctx := context.Background()
	env := testenv.Start(t, testenv.Options{Nodes: 3})
	conn := env.Connect(t)
	if _, err := testenv.Seed(ctx, conn, testenv.SeedSpec{Preset: "large", Chroot: "/bench", PersistentBrokers: true}); err != nil {
		t.Fatal(err)
	}
	pf, _ := os.Create("/tmp/zzexp.cpu")
	pprof.StartCPUProfile(pf)
	defer pprof.StopCPUProfile()
	for round := 0; round < 2; round++ {
		for _, c := range []struct{ batch, inflight, conns int }{{500, 8, 1}, {500, 8, 1}} {
			var ru0, ru1 syscall.Rusage
			syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
			start := time.Now()
			s, err := zkreader.Read(ctx, zkreader.Options{Connect: env.ConnectString() + "/bench", Mode: zkreader.ModeMultiRead, BatchSize: c.batch, MaxInFlight: c.inflight, Connections: c.conns})
			if err != nil {
				t.Fatal(err)
			}
			d := time.Since(start)
			syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
			cpu := time.Duration(ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano())
			t.Logf("round %d %+v: %d in %v = %.0f/s client cpu %v", round, c, s.ZnodesRead, d, float64(s.ZnodesRead)/d.Seconds(), cpu)
		}
	}
}
