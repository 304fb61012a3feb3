package zkreader_test

import (
	"context"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zk2kraft/zk2kraft/preflight"
	"github.com/zk2kraft/zk2kraft/progress"
	"github.com/zk2kraft/zk2kraft/testenv"
	"github.com/zk2kraft/zk2kraft/zkreader"
)

var modes = []zkreader.Mode{zkreader.ModeMultiRead, zkreader.ModeGet}

func diff(t *testing.T, what string, want, got *zkreader.Snapshot) {
	t.Helper()
	if d := testenv.DiffSnapshots(want, got); len(d) > 0 {
		if len(d) > 30 {
			d = append(d[:30], "...")
		}
		t.Fatalf("%s: snapshot differs from the seeder's record:\n%s", what, strings.Join(d, "\n"))
	}
}

// stable blanks what legitimately differs between two reads of the same tree.
func stable(s *zkreader.Snapshot) *zkreader.Snapshot {
	c := *s
	c.TakenAt, c.MaxZxid, c.Source = time.Time{}, 0, ""
	return &c
}

// TestIntegrationReadSeeded reads seeded clusters (every edge case of the
// seeder), with and without a chroot, in both read modes, and compares every
// object with what the seeder recorded.
func TestIntegrationReadSeeded(t *testing.T) {
	env := testenv.Start(t, testenv.Options{Nodes: 3})
	conn := env.Connect(t)
	ctx := context.Background()
	wantRoot, err := testenv.Seed(ctx, conn, testenv.SeedSpec{Preset: "small"})
	if err != nil {
		t.Fatal(err)
	}
	wantChroot, err := testenv.Seed(ctx, conn, testenv.SeedSpec{Preset: "small", Chroot: "/kafka/prod"})
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range modes {
		for _, c := range []struct {
			name     string
			connect  string
			chroot   string
			want     *zkreader.Snapshot
			wantRoot string
		}{
			{"root", env.ConnectString(), "", wantRoot, ""},
			{"chroot-in-connect-string", env.ConnectString() + "/kafka/prod", "", wantChroot, "/kafka/prod"},
			{"chroot-option", env.ConnectString(), "/kafka/prod/", wantChroot, "/kafka/prod"},
		} {
			t.Run(string(mode)+"/"+c.name, func(t *testing.T) {
				var events atomic.Int64
				var final atomic.Bool
				got, err := zkreader.Read(ctx, zkreader.Options{Connect: c.connect, Chroot: c.chroot, Mode: mode,
					Progress: func(ev progress.Event) {
						events.Add(1)
						if ev.Final {
							final.Store(ev.Done > 0 && ev.Phase == "snapshot")
						}
					}})
				if err != nil {
					t.Fatal(err)
				}
				if got.Chroot != c.wantRoot {
					t.Fatalf("chroot %q, want %q", got.Chroot, c.wantRoot)
				}
				diff(t, "read", c.want, got)
				for _, f := range got.Findings {
					if f.Severity == zkreader.Blocker {
						t.Errorf("unexpected blocker finding on a well-formed seed: %v", f)
					}
				}
				if got.MaxZxid <= 0 || got.ZnodesRead < 50 || !final.Load() || events.Load() < 1 {
					t.Fatalf("maxZxid %d, znodes %d, final event %v", got.MaxZxid, got.ZnodesRead, final.Load())
				}
				// every partition's zkVersion and mzxid are kept
				for _, tp := range got.Topics {
					for _, p := range tp.Partitions {
						if p.State != nil && (p.State.Stat.Mzxid == 0 || p.State.Stat.Mzxid > got.MaxZxid) {
							t.Fatalf("%s/%d: state stat %+v, max zxid %d", tp.Name, p.ID, p.State.Stat, got.MaxZxid)
						}
					}
				}
				again, err := zkreader.Read(ctx, zkreader.Options{Connect: c.connect, Chroot: c.chroot, Mode: mode})
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(stable(got), stable(again)) {
					t.Fatal("two reads of the same tree are not deep-equal")
				}
			})
		}
	}
	t.Run("missing-chroot", func(t *testing.T) {
		_, err := zkreader.Read(ctx, zkreader.Options{Connect: env.ConnectString() + "/nope"})
		if err == nil || !strings.Contains(err.Error(), "/nope does not exist") {
			t.Fatalf("err %v", err)
		}
	})
}

// TestIntegrationDigestAuth reads a cluster whose znodes only a digest user
// may read; the password never shows up in errors.
func TestIntegrationDigestAuth(t *testing.T) {
	env := testenv.Start(t, testenv.Options{Nodes: 3})
	conn := env.Connect(t)
	ctx := context.Background()
	const secret = "s3cr3t-pw"
	want, err := testenv.Seed(ctx, conn, testenv.SeedSpec{Preset: "small", Chroot: "/secure", DigestAuth: "kafka:" + secret})
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range modes {
		got, err := zkreader.Read(ctx, zkreader.Options{Connect: env.ConnectString() + "/secure", Auth: "kafka:" + secret, Mode: mode})
		if err != nil {
			t.Fatal(mode, err)
		}
		diff(t, string(mode)+" with auth", want, got)
	}
	// without or with the wrong credentials nothing is readable: an error or
	// findings, never a silent empty snapshot
	for _, auth := range []string{"", "kafka:wrong-" + secret} {
		got, err := zkreader.Read(ctx, zkreader.Options{Connect: env.ConnectString() + "/secure", Auth: auth})
		if err != nil {
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("error leaks the password: %v", err)
			}
			continue
		}
		unreadable := 0
		for _, f := range got.Findings {
			if f.Code == "unreadable-znode" {
				unreadable++
			}
		}
		if unreadable == 0 {
			t.Fatalf("auth %v: read without access gave no error and no unreadable-znode finding", auth != "")
		}
	}
}

// TestIntegrationServerKilledMidRead kills the server the reader is
// connected to in the middle of the read: the reader reconnects to another
// server, retries what was in flight, and the result is still exact.
func TestIntegrationServerKilledMidRead(t *testing.T) {
	ctx := context.Background()
	for _, mode := range modes {
		t.Run(string(mode), func(t *testing.T) {
			env := testenv.Start(t, testenv.Options{Nodes: 3})
			conn := env.Connect(t)
			want, err := testenv.Seed(ctx, conn, testenv.SeedSpec{Preset: "small", Topics: 200, PartitionsPerTopic: 10, Chroot: "/kafka"})
			if err != nil {
				t.Fatal(err)
			}
			var killed atomic.Bool
			killErr := make(chan error, 1)
			got, err := zkreader.Read(ctx, zkreader.Options{
				Connect: env.ConnectString() + "/kafka", Mode: mode, Connections: 1,
				RateLimit: 3000, // ~1.5 s for the ~4,500 znodes: time to kill a server in the middle
				Progress: func(ev progress.Event) {
					if ev.Done > 1000 && !ev.Final && killed.CompareAndSwap(false, true) {
						go func() { killErr <- env.Kill(1) }() // slot 0 starts on server 1
					}
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			if !killed.Load() {
				t.Fatal("the read finished before the kill")
			}
			if err := <-killErr; err != nil {
				t.Fatal(err)
			}
			diff(t, "read across a server kill", want, got)
		})
	}
}

// TestIntegrationEnsembleDown: when every server dies, the read fails
// clearly within about the session timeout instead of hanging.
func TestIntegrationEnsembleDown(t *testing.T) {
	ctx := context.Background()
	env := testenv.Start(t, testenv.Options{Nodes: 3})
	conn := env.Connect(t)
	if _, err := testenv.Seed(ctx, conn, testenv.SeedSpec{Topics: 100, PartitionsPerTopic: 10}); err != nil {
		t.Fatal(err)
	}
	var once atomic.Bool
	start := time.Now()
	_, err := zkreader.Read(ctx, zkreader.Options{Connect: env.ConnectString(), RateLimit: 1000, SessionTimeout: 2 * time.Second,
		Progress: func(ev progress.Event) {
			if ev.Done > 300 && once.CompareAndSwap(false, true) {
				go func() {
					for i := 1; i <= 3; i++ {
						env.Kill(i)
					}
				}()
			}
		}})
	if err == nil {
		t.Fatal("read succeeded with the whole ensemble down")
	}
	if !strings.Contains(err.Error(), "reachable") && !strings.Contains(err.Error(), "expired") {
		t.Fatalf("unclear error: %v", err)
	}
	if took := time.Since(start); took > 30*time.Second {
		t.Fatalf("took %v to give up", took)
	}
	t.Log(err)
}

// TestIntegrationMalformedZnodes: each malformed znode in a live tree yields
// its precise finding; the rest of the tree is read.
func TestIntegrationMalformedZnodes(t *testing.T) {
	ctx := context.Background()
	env := testenv.Start(t, testenv.Options{Nodes: 1})
	conn := env.Connect(t)
	want, err := testenv.Seed(ctx, conn, testenv.SeedSpec{Preset: "small", Chroot: "/bad", Migration: "null"})
	if err != nil {
		t.Fatal(err)
	}
	bad := []struct{ path, data, code, field string }{
		{"/brokers/topics/broken", `{"version":3,"partitions":{"0":[1,"x"]}}`, zkreader.CodeMalformed, "partitions.0"},
		{"/brokers/topics/t2", `{"version":3,"partitions":{"0":[1]},"topic_id":"HR6bHVxbSi-Kawx-Py0aCQ"}`, "", ""},
		{"/brokers/topics/t2/partitions/0/state", `{"version":1,"leader":1,"leader_epoch":"1","controller_epoch":1,"isr":[1]}`, zkreader.CodeMalformed, "leader_epoch"},
		{"/brokers/topics/t2/partitions/5/state", `{"version":1,"leader":1,"leader_epoch":1,"controller_epoch":1,"isr":[1]}`, zkreader.CodeStrayPartition, ""},
		{"/brokers/ids/abc", `{"version":5,"endpoints":[]}`, zkreader.CodeInvalidName, ""},
		{"/config/clients/quota-bad", `{"version":1,"config":{"producer_byte_rate":"lots"}}`, zkreader.CodeMalformed, "config.producer_byte_rate"},
		{"/kafka-acl/Topic/badacl", `{"version":2,"acls":[]}`, zkreader.CodeMalformed, "version"},
		{"/kafka-acl/Planet", ``, zkreader.CodeUnknownACLType, ""},
		{"/cluster/id", `{"version":"1"}`, zkreader.CodeMalformed, "id"},
	}
	for _, b := range bad {
		writeZnode(t, conn, "/bad"+b.path, b.data)
	}
	for _, mode := range modes {
		got, err := zkreader.Read(ctx, zkreader.Options{Connect: env.ConnectString() + "/bad", Mode: mode})
		if err != nil {
			t.Fatal(err)
		}
		find := map[string]zkreader.Finding{}
		for _, f := range got.Findings {
			find[f.Path] = f
		}
		for _, b := range bad {
			if b.code == "" {
				continue
			}
			p := b.path
			if b.code == zkreader.CodeStrayPartition {
				p = strings.TrimSuffix(p, "/state")
			}
			f, ok := find[p]
			if !ok || f.Code != b.code || f.Field != b.field {
				t.Errorf("%s: %s: finding %+v, want code %s field %q", mode, p, f, b.code, b.field)
			}
		}
		if got.Migration == nil || got.Migration.Valid {
			t.Fatalf("null /migration not kept: %+v", got.Migration)
		}
		// the malformed topic is left out, the others are all there
		if len(got.Topics) != len(want.Topics)+1 {
			t.Fatalf("%d topics, want %d (seeded) + t2", len(got.Topics), len(want.Topics))
		}
		r := preflight.Check(got, preflight.Options{})
		codes := map[string]bool{}
		for _, f := range r.Findings {
			codes[f.Code] = true
		}
		for _, c := range []string{preflight.CodeMigrationZnodeInvalid, zkreader.CodeMalformed, preflight.CodeTopicWithoutID, preflight.CodePendingDeletion, preflight.CodeReassignment, preflight.CodeOfflinePartition} {
			if !codes[c] {
				t.Errorf("%s: pre-flight lacks %s", mode, c)
			}
		}
		if r.OK {
			t.Fatal("pre-flight OK despite blockers")
		}
	}
}

func writeZnode(t *testing.T, c *zk.Conn, path, data string) {
	t.Helper()
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	for i := 1; i < len(parts); i++ {
		p := "/" + strings.Join(parts[:i], "/")
		if _, err := c.Create(p, nil, 0, zk.WorldACL(zk.PermAll)); err != nil && err != zk.ErrNodeExists {
			t.Fatalf("create %s: %v", p, err)
		}
	}
	if _, err := c.Create(path, []byte(data), 0, zk.WorldACL(zk.PermAll)); err == zk.ErrNodeExists {
		if _, err := c.Set(path, []byte(data), -1); err != nil {
			t.Fatal(err)
		}
	} else if err != nil {
		t.Fatalf("create %s: %v", path, err)
	}
}

// TestIntegrationRateLimit: the read holds to --zk-rate-limit.
func TestIntegrationRateLimit(t *testing.T) {
	ctx := context.Background()
	env := testenv.Start(t, testenv.Options{Nodes: 1})
	conn := env.Connect(t)
	if _, err := testenv.Seed(ctx, conn, testenv.SeedSpec{Topics: 50, PartitionsPerTopic: 10}); err != nil {
		t.Fatal(err)
	}
	for _, mode := range modes {
		var limitSeen atomic.Bool
		start := time.Now()
		got, err := zkreader.Read(ctx, zkreader.Options{Connect: env.ConnectString(), Mode: mode, RateLimit: 1000,
			Progress: func(ev progress.Event) { limitSeen.Store(ev.Limit == 1000) }})
		if err != nil {
			t.Fatal(err)
		}
		took := time.Since(start)
		rate := float64(got.ZnodesRead) / took.Seconds()
		if rate > 1150 || rate < 600 || !limitSeen.Load() {
			t.Fatalf("%s: %d znodes in %v = %.0f/s, limit 1000 (limit in events: %v)", mode, got.ZnodesRead, took, rate, limitSeen.Load())
		}
		t.Logf("%s: %d znodes in %v = %.0f/s at limit 1000/s", mode, got.ZnodesRead, took, rate)
	}
}

// TestIntegrationTLS reads through ZooKeeper's secure client port.
func TestIntegrationTLS(t *testing.T) {
	ctx := context.Background()
	if testing.Short() {
		t.Skip("needs ZooKeeper")
	}
	sctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	env, err := testenv.New(sctx, testenv.Options{Nodes: 1, TLS: true, StartTimeout: 30 * time.Second})
	if err != nil {
		// testenv's TLS ensemble is its own feature (issue 2); do not hide a
		// zkreader failure behind it, but do not fail zkreader on it either
		t.Skipf("testenv could not start a TLS ensemble: %.300s", err)
	}
	t.Cleanup(func() { env.Close() })
	conn := env.Connect(t)
	want, err := testenv.Seed(ctx, conn, testenv.SeedSpec{Preset: "small"})
	if err != nil {
		t.Fatal(err)
	}
	files := env.TLSFiles()
	for _, mode := range modes {
		got, err := zkreader.Read(ctx, zkreader.Options{Connect: strings.Join(env.SecureServers(), ","), Mode: mode,
			TLS: zkreader.TLSOptions{CAFile: files.CA, CertFile: files.ClientCert, KeyFile: files.ClientKey}})
		if err != nil {
			t.Fatal(mode, err)
		}
		diff(t, string(mode)+" over TLS", want, got)
	}
	// a plain connection to the secure port fails clearly
	if _, err := zkreader.Read(ctx, zkreader.Options{Connect: strings.Join(env.SecureServers(), ","), SessionTimeout: 2 * time.Second}); err == nil {
		t.Fatal("plain read of a TLS port succeeded")
	}
}
