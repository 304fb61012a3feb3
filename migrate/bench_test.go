package migrate_test

import (
	"strings"
	"testing"
	"time"

	"github.com/zk2kraft/zk2kraft/dualwrite"
	"github.com/zk2kraft/zk2kraft/migrate"
	"github.com/zk2kraft/zk2kraft/quorum"
	"github.com/zk2kraft/zk2kraft/quorum/client"
	"github.com/zk2kraft/zk2kraft/testenv"
	"github.com/zk2kraft/zk2kraft/zkreader"
)

// BenchmarkMigrate100kPartitions migrates a seeded 100,000-partition cluster
// (testenv preset "large", every edge case) from a 3-node ZooKeeper ensemble
// into a 3-node quorum, check to cutover with the mirror (dual-write) running
// from the copy on, and reports the seconds of each
// phase, the total and the copy rate.
func BenchmarkMigrate100kPartitions(b *testing.B) {
	if testing.Short() {
		b.Skip("needs ZooKeeper")
	}
	env := testenv.Start(b, testenv.Options{Nodes: 3})
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		conn := env.Connect(b)
		chroot := "/bench" + string(rune('a'+i))
		seeded, err := testenv.Seed(b.Context(), conn, testenv.SeedSpec{Preset: "large", Chroot: chroot})
		if err != nil {
			b.Fatal(err)
		}
		lc, err := quorum.StartLocalCluster(b.Context(), 3, b.TempDir(), seeded.ClusterID.ID, func(c *quorum.Config) { c.Logger = quietLogger() })
		if err != nil {
			b.Fatal(err)
		}
		q, err := client.New(lc.APIAddrs(), nil)
		if err != nil {
			b.Fatal(err)
		}
		o := migrate.Options{ZK: zkreader.Options{Connect: strings.Join(env.Servers(), ",") + chroot, Logger: quietLogger()}, Quorum: q,
			Translate: translateOpts, AssignTopicIDs: true, Yes: true, KRaftControllerID: 3000, VerifyTimeout: 5 * time.Minute, Logger: quietLogger()}
		o.StartMirror = migrate.DualWrite(dualwrite.Options{ZK: o.ZK, Quorum: q, Translate: translateOpts, Logger: quietLogger()}, 5*time.Minute)
		b.StartTimer()
		rep, err := migrate.Run(b.Context(), o)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		if rep.State != migrate.StateCutover || !rep.Verify.Parity {
			b.Fatalf("state %s, parity %v", rep.State, rep.Verify.Parity)
		}
		for _, p := range rep.Phases {
			b.ReportMetric(p.Seconds, p.Name+"-s")
			if p.Name == string(migrate.PhaseCopy) {
				b.ReportMetric(p.Rate, "copy-records/s")
			}
		}
		b.ReportMetric(float64(rep.Kinds["partitions"]), "partitions")
		b.ReportMetric(rep.Seconds, "total-s")
		b.Logf("100k partitions: %d topics, %d records, total %.1fs", rep.Kinds["topics"], sumCounts(rep.Counts), rep.Seconds)
		q.Close()
		lc.Close()
	}
}

func sumCounts(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
