// Package hostile_test feeds a real ZooKeeper znodes an attacker, a buggy
// tool or a careless hand with zkCli.sh could leave behind, and checks that
// the read names each one precisely (znode, field, what was expected), that
// the migration then either refuses with that reason or migrates the rest,
// and that nothing crashes.
package hostile_test

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zk2kraft/zk2kraft/image"
	"github.com/zk2kraft/zk2kraft/kafka"
	"github.com/zk2kraft/zk2kraft/migrate"
	"github.com/zk2kraft/zk2kraft/quorum/quorumtest"
	"github.com/zk2kraft/zk2kraft/testenv"
	"github.com/zk2kraft/zk2kraft/translate"
	"github.com/zk2kraft/zk2kraft/zkreader"
)

// want is a finding the read must yield (Field, Expected and Message are
// matched as given: Field exactly, Expected and Message as substrings).
type want struct {
	code, path, field, expected, message string
}

// seeded topics (testenv names plain topics topic-00000, ...)
const (
	topic0 = "topic-00000"
	topic1 = "topic-00001"
	topic2 = "topic-00002"
)

// illegalName has characters Kafka's topic name check refuses.
const illegalName = "orders by région:1"

// legalName is 249 characters (Kafka's limit) cycling through every
// character a topic name may have: [a-zA-Z0-9._-].
var legalName = func() string {
	const legal = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"
	b := make([]byte, 249)
	for i := range b {
		b[i] = legal[i%len(legal)]
	}
	return string(b)
}()

func TestHostileZnodes(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: needs ZooKeeper")
	}
	env := testenv.Start(t, testenv.Options{Nodes: 1})
	const state0 = "/brokers/topics/" + topic0 + "/partitions/0/state"
	bigKeys := 0

	cases := []struct {
		name string
		// write puts the hostile znodes into the seeded chroot (put, set and
		// create take paths relative to it).
		write func(t *testing.T, z *zoo)
		// want: findings the read yields. The operator expectation for
		// every blocker: the migration refuses before writing anything,
		// and its report names the znode (Kafka itself would fail on it,
		// and dropping the object would lose metadata silently).
		want []want
		// migrates: the hostile znode is legal: the migration runs to
		// verified parity and check looks at the quorum image.
		migrates bool
		check    func(t *testing.T, img *image.Image)
	}{
		{
			name: "invalid UTF-8 in a topic config value",
			// encoding/json would store U+FFFD in the record: a value Kafka
			// never had. Refuse, naming the key.
			write: func(t *testing.T, z *zoo) {
				z.put(t, "/config/topics/"+topic0, []byte("{\"version\":1,\"config\":{\"cleanup.policy\":\"comp\xffact\"}}"))
			},
			want: []want{{zkreader.CodeMalformed, "/config/topics/" + topic0, "config.cleanup.policy", "UTF-8", "not valid UTF-8"}},
		},
		{
			name: "invalid UTF-8 in a partition state",
			// Even in a key nobody reads: Kafka's reader fails on it.
			write: func(t *testing.T, z *zoo) {
				z.set(t, state0, []byte("{\"version\":1,\"leader\":1,\"leader_epoch\":0,\"controller_epoch\":1,\"isr\":[1,2,3],\"\xc3(\":0}"))
			},
			want: []want{{zkreader.CodeMalformed, state0, "", "UTF-8", "key is not valid UTF-8"}},
		},
		{
			name: "1 MiB topic config",
			// Large but legal (ZooKeeper's default jute.maxbuffer is 1 MiB,
			// testenv allows 4): every key reaches the quorum.
			write: func(t *testing.T, z *zoo) {
				var b strings.Builder
				b.WriteString(`{"version":1,"config":{"retention.ms":"86400000"`)
				for b.Len() < 1000*1024 {
					fmt.Fprintf(&b, `,"x.padding.%05d":"%s"`, bigKeys, strings.Repeat("v", 40))
					bigKeys++
				}
				b.WriteString(`}}`)
				z.put(t, "/config/topics/"+topic0, []byte(b.String()))
			},
			migrates: true,
			check: func(t *testing.T, img *image.Image) {
				cfg := img.Config(image.ConfigResource{Type: kafka.ConfigResourceTopic, Name: topic0})
				if len(cfg) != bigKeys+1 || cfg["retention.ms"] != "86400000" || cfg["x.padding.00000"] != strings.Repeat("v", 40) {
					t.Errorf("topic config in the quorum: %d keys, want %d", len(cfg), bigKeys+1)
				}
			},
		},
		{
			name: "deeply nested JSON in a topic znode",
			// encoding/json gives up at 10000 levels; no Kafka znode nests
			// more than 4: refuse, saying so (not "syntax error").
			write: func(t *testing.T, z *zoo) {
				z.create(t, "/brokers/topics/nested", []byte(strings.Repeat("[", 100_000)), zk.WorldACL(zk.PermAll))
			},
			want: []want{{zkreader.CodeMalformed, "/brokers/topics/nested", "", "JSON object", "nested more than 10000 levels"}},
		},
		{
			name: "numbers out of range",
			// Never wrapped or truncated: each names its field and says
			// whether the number is too big or not an integer.
			write: func(t *testing.T, z *zoo) {
				z.set(t, state0, []byte(`{"version":1,"leader":1099511627776,"leader_epoch":0,"controller_epoch":1,"isr":[1,2,3]}`))
				z.set(t, "/brokers/topics/"+topic1+"/partitions/1/state", []byte(`{"version":1,"leader":1,"leader_epoch":1e400,"controller_epoch":1,"isr":[1,2,3]}`))
				z.create(t, "/brokers/topics/minus", []byte(`{"version":2,"partitions":{"-1":[1]}}`), zk.WorldACL(zk.PermAll))
			},
			want: []want{
				{zkreader.CodeMalformed, state0, "leader", "32-bit", "out of range"},
				{zkreader.CodeMalformed, "/brokers/topics/" + topic1 + "/partitions/1/state", "leader_epoch", "32-bit", "not an integer"},
				{zkreader.CodeMalformed, "/brokers/topics/minus", "partitions.-1", "non-negative partition number", "not a partition number"},
			},
		},
		{
			name: "duplicate keys",
			// Kafka (Jackson) and encoding/json keep the last value; which
			// one the brokers acted on is unknowable: refuse.
			write: func(t *testing.T, z *zoo) {
				z.set(t, state0, []byte(`{"version":1,"leader":1,"leader":2,"leader_epoch":0,"controller_epoch":1,"isr":[1,2,3]}`))
				z.set(t, "/brokers/topics/"+topic1, []byte(`{"version":2,"partitions":{"0":[1,2,3],"1":[2,3,1],"0":[3,1,2]}}`))
			},
			want: []want{
				{zkreader.CodeMalformed, state0, "leader", "each key once", "more than once"},
				{zkreader.CodeMalformed, "/brokers/topics/" + topic1, "partitions.0", "each key once", "more than once"},
			},
		},
		{
			name: "topic named with every legal character",
			// Legal: migrates, with the seeded topics.
			write: func(t *testing.T, z *zoo) {
				state, _ := z.get(t, state0)
				z.create(t, "/brokers/topics/"+legalName, []byte(`{"version":3,"partitions":{"0":[1,2,3],"1":[2,3,1]},"topic_id":"`+newTopicID(t)+`"}`), zk.WorldACL(zk.PermAll))
				z.create(t, "/brokers/topics/"+legalName+"/partitions", nil, zk.WorldACL(zk.PermAll))
				for _, p := range []string{"0", "1"} {
					z.create(t, "/brokers/topics/"+legalName+"/partitions/"+p, nil, zk.WorldACL(zk.PermAll))
					z.create(t, "/brokers/topics/"+legalName+"/partitions/"+p+"/state", state, zk.WorldACL(zk.PermAll))
				}
				z.create(t, "/config/topics/"+legalName, []byte(`{"version":1,"config":{"retention.ms":"1000"}}`), zk.WorldACL(zk.PermAll))
			},
			migrates: true,
			check: func(t *testing.T, img *image.Image) {
				tp := img.TopicByName(legalName)
				if tp == nil || len(tp.Partitions) != 2 {
					t.Fatalf("topic %q not in the quorum image with 2 partitions: %+v", legalName, tp)
				}
				if cfg := img.Config(image.ConfigResource{Type: kafka.ConfigResourceTopic, Name: legalName}); cfg["retention.ms"] != "1000" {
					t.Errorf("its config: %v", cfg)
				}
			},
		},
		{
			name: "topic name Kafka's API would refuse",
			// Written behind Kafka's back, served by ZooKeeper-mode Kafka:
			// a warning naming it, and the topic is copied as it is.
			write: func(t *testing.T, z *zoo) {
				state, _ := z.get(t, state0)
				z.create(t, "/brokers/topics/"+illegalName, []byte(`{"version":2,"partitions":{"0":[1,2,3]}}`), zk.WorldACL(zk.PermAll))
				z.create(t, "/brokers/topics/"+illegalName+"/partitions", nil, zk.WorldACL(zk.PermAll))
				z.create(t, "/brokers/topics/"+illegalName+"/partitions/0", nil, zk.WorldACL(zk.PermAll))
				z.create(t, "/brokers/topics/"+illegalName+"/partitions/0/state", state, zk.WorldACL(zk.PermAll))
			},
			want:     []want{{zkreader.CodeInvalidName, "/brokers/topics/" + illegalName, "", "249 characters of [a-zA-Z0-9._-]", "not one Kafka's API accepts"}},
			migrates: true,
			check: func(t *testing.T, img *image.Image) {
				if tp := img.TopicByName(illegalName); tp == nil || len(tp.Partitions) != 1 {
					t.Fatalf("topic %q not in the quorum image: %+v", illegalName, tp)
				}
			},
		},
		{
			name: "znode the reader may not read",
			// A topic hidden from the tool's identity would be dropped
			// silently if the read went on: refuse, naming it.
			write: func(t *testing.T, z *zoo) {
				acl := zk.DigestACL(zk.PermAll, "someone-else", "secret")
				z.create(t, "/brokers/topics/hidden", []byte(`{"version":2,"partitions":{"0":[1]}}`), acl)
				z.create(t, "/config/topics/hidden", []byte(`{"version":1,"config":{}}`), acl)
			},
			want: []want{
				{zkreader.CodeUnreadable, "/brokers/topics/hidden", "", "", "NoAuth"},
				{zkreader.CodeUnreadable, "/config/topics/hidden", "", "", "NoAuth"},
			},
		},
	}

	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := t.Context()
			chroot := fmt.Sprintf("/hostile%d", i)
			conn := env.Connect(t) // keeps the seeded (ephemeral) brokers alive
			seeded, err := testenv.Seed(ctx, conn, testenv.SeedSpec{Chroot: chroot, Brokers: 3, Topics: 3, PartitionsPerTopic: 2, ReplicationFactor: 3})
			if err != nil {
				t.Fatal(err)
			}
			c.write(t, &zoo{conn: conn, chroot: chroot})
			zo := zkreader.Options{Connect: env.ConnectString() + chroot}

			// The read: no panic, no error, and the precise findings.
			snap, err := zkreader.Read(ctx, zo)
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			for _, w := range c.want {
				if f := lookup(snap.Findings, w); f == nil {
					t.Errorf("read: no finding %+v among:\n%s", w, findings(snap.Findings))
				}
			}
			if c.migrates { // nothing else: a legal znode is not flagged
				for _, f := range snap.Findings {
					expected := false
					for _, w := range c.want {
						expected = expected || lookup([]zkreader.Finding{f}, w) != nil
					}
					if !expected || f.Severity == zkreader.Blocker {
						t.Errorf("read: unexpected finding %v", f)
					}
				}
			}

			// The migration, into a fresh quorum.
			_, q := quorumtest.Start(t, 1, "", seeded.ClusterID.ID)
			rep, err := migrate.Run(ctx, migrate.Options{ZK: zo, Quorum: q, Until: migrate.PhaseVerified, AssignTopicIDs: true,
				Translate: translate.Options{PassThroughEncryptedPasswords: true}, VerifyTimeout: 30 * time.Second, KRaftControllerID: 3000,
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if !c.migrates {
				if !errors.Is(err, migrate.ErrBlocked) {
					t.Fatalf("migration: err %v, want %v", err, migrate.ErrBlocked)
				}
				for _, w := range c.want {
					if f := lookup(rep.Findings, w); f == nil || f.Severity != zkreader.Blocker {
						t.Errorf("the refusal does not name %+v as a blocker; findings:\n%s", w, findings(rep.Findings))
					}
				}
				if mv, err := q.Meta(ctx); err != nil || mv.Position.NextOffset != 0 {
					t.Errorf("the refused migration wrote to the quorum: %+v %v", mv.Position, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("migration: %v\nfindings:\n%s", err, findings(rep.Findings))
			}
			if rep.State != migrate.StateVerified {
				t.Fatalf("state %q, want %q", rep.State, migrate.StateVerified)
			}
			img, _, err := q.Image(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, tp := range seeded.Topics { // the rest of the cluster is there
				if got := img.TopicByName(tp.Name); got == nil || len(got.Partitions) != len(tp.Partitions) {
					t.Errorf("seeded topic %s not migrated: %+v", tp.Name, got)
				}
			}
			c.check(t, img)
		})
	}
}

// zoo writes znodes under a chroot.
type zoo struct {
	conn   *zk.Conn
	chroot string
}

func (z *zoo) get(t *testing.T, p string) ([]byte, *zk.Stat) {
	t.Helper()
	data, st, err := z.conn.Get(z.chroot + p)
	if err != nil {
		t.Fatalf("get %s: %v", p, err)
	}
	return data, st
}

func (z *zoo) set(t *testing.T, p string, data []byte) {
	t.Helper()
	if _, err := z.conn.Set(z.chroot+p, data, -1); err != nil {
		t.Fatalf("set %s: %v", p, err)
	}
}

// put creates p or replaces its data.
func (z *zoo) put(t *testing.T, p string, data []byte) {
	t.Helper()
	_, err := z.conn.Create(z.chroot+p, data, 0, zk.WorldACL(zk.PermAll))
	if errors.Is(err, zk.ErrNodeExists) {
		_, err = z.conn.Set(z.chroot+p, data, -1)
	}
	if err != nil {
		t.Fatalf("put %s: %v", p, err)
	}
}

func (z *zoo) create(t *testing.T, p string, data []byte, acl []zk.ACL) {
	t.Helper()
	if _, err := z.conn.Create(z.chroot+p, data, 0, acl); err != nil {
		t.Fatalf("create %s: %v", p, err)
	}
}

func lookup(fs []zkreader.Finding, w want) *zkreader.Finding {
	for i, f := range fs {
		if f.Code == w.code && f.Path == w.path && f.Field == w.field &&
			strings.Contains(f.Expected, w.expected) && strings.Contains(f.Message, w.message) {
			return &fs[i]
		}
	}
	return nil
}

func findings(fs []zkreader.Finding) string {
	var b strings.Builder
	for _, f := range fs {
		b.WriteString("  " + f.String() + "\n")
	}
	return b.String()
}

func newTopicID(t *testing.T) string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}
