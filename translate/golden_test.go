package translate

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zk2kraft/zk2kraft/image"
	"github.com/zk2kraft/zk2kraft/translate/batch/checkpoint"
	"github.com/zk2kraft/zk2kraft/translate/records"
	"github.com/zk2kraft/zk2kraft/zkreader"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const edgeSecret = "secret" // password.encoder.secret of testdata/edge-snapshot.json

// loadEdge reads the hand-written snapshot with every edge case: brokers v1–v5,
// a topic without id, one pending deletion, a reassignment in flight, an
// offline and a recovering partition, partitions without state, <default>
// configs, an encrypted password config, sanitized quota names, SCRAM,
// literal and prefixed ACLs of every resource type, a producer id block,
// delegation tokens, the legacy reassignment znode.
func loadEdge(t testing.TB) *zkreader.Snapshot {
	t.Helper()
	b, err := os.ReadFile("testdata/edge-snapshot.json")
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var s zkreader.Snapshot
	if err := dec.Decode(&s); err != nil {
		t.Fatalf("edge-snapshot.json: %v", err)
	}
	return &s
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./translate -run Golden -update)", err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		for i := 0; i < len(gl) && i < len(wl); i++ {
			if gl[i] != wl[i] {
				t.Fatalf("%s differs at line %d:\n got  %s\n want %s", name, i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("%s differs (%d vs %d bytes)", name, len(got), len(want))
	}
}

func edgeResult(t testing.TB) (*zkreader.Snapshot, *Result) {
	t.Helper()
	snap := loadEdge(t)
	res, err := Translate(snap, Options{PasswordEncoderSecret: edgeSecret})
	if err != nil {
		t.Fatal(err)
	}
	return snap, res
}

func TestGoldenEdgeSnapshot(t *testing.T) {
	snap, res := edgeResult(t)

	var logJSON bytes.Buffer
	if err := WriteJSONLines(&logJSON, res.Log(), records.JSONOptions{ShowSecrets: true}); err != nil {
		t.Fatal(err)
	}
	golden(t, "edge.log.jsonl", logJSON.Bytes())

	recs, err := res.CheckpointRecords()
	if err != nil {
		t.Fatal(err)
	}
	var cpJSON bytes.Buffer
	if err := WriteJSONLines(&cpJSON, [][]records.Versioned{recs}, records.JSONOptions{ShowSecrets: true}); err != nil {
		t.Fatal(err)
	}
	golden(t, "edge.checkpoint.jsonl", cpJSON.Bytes())

	var cp bytes.Buffer
	if err := WriteCheckpoint(context.Background(), &cp, res); err != nil {
		t.Fatal(err)
	}
	golden(t, "edge.checkpoint", cp.Bytes())

	var text bytes.Buffer
	if err := WriteText(&text, snap, res); err != nil {
		t.Fatal(err)
	}
	golden(t, "edge.txt", text.Bytes())

	// Decoding the checkpoint gives back the same JSON.
	dec, err := checkpoint.Decode("edge.checkpoint", cp.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	var back bytes.Buffer
	if err := WriteJSONLines(&back, [][]records.Versioned{dec.Records}, records.JSONOptions{ShowSecrets: true}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back.Bytes(), cpJSON.Bytes()) {
		t.Fatal("decoded checkpoint JSON differs from the checkpoint records' JSON")
	}
	if dec.Header.LastContainedLogTimestamp != snap.TakenAt.UnixMilli() {
		t.Errorf("header timestamp %d", dec.Header.LastContainedLogTimestamp)
	}
}

// The JSON lines parse back into the same records (the format Kafka's dump
// tool prints), and they redact secrets unless asked.
func TestJSONOutputParsesAndRedacts(t *testing.T) {
	_, res := edgeResult(t)
	var full, redacted bytes.Buffer
	if err := WriteJSONLines(&full, res.Log(), records.JSONOptions{ShowSecrets: true}); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSONLines(&redacted, res.Log(), records.JSONOptions{}); err != nil {
		t.Fatal(err)
	}
	var all []records.Versioned
	for _, b := range res.Log() {
		all = append(all, b...)
	}
	fullText := full.String()
	sc := bufio.NewScanner(strings.NewReader(fullText))
	i := 0
	for sc.Scan() {
		var generic map[string]any
		if err := json.Unmarshal(sc.Bytes(), &generic); err != nil {
			t.Fatalf("line %d is not JSON: %v", i+1, err)
		}
		if generic["type"] != all[i].Record.TypeName() {
			t.Fatalf("line %d type %v, want %s", i+1, generic["type"], all[i].Record.TypeName())
		}
		v, err := records.UnmarshalJSONLine(sc.Bytes())
		if err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		a, _ := records.AppendFrame(nil, v)
		b, _ := records.AppendFrame(nil, all[i])
		if !bytes.Equal(a, b) {
			t.Fatalf("line %d does not parse back to the same record", i+1)
		}
		i++
	}
	if i != len(all) {
		t.Fatalf("%d lines for %d records", i, len(all))
	}
	secrets := []string{"keystore-pw", base64.StdEncoding.EncodeToString([]byte("alice-salt-256")), base64.StdEncoding.EncodeToString([]byte("bob-server"))}
	for _, s := range secrets {
		if !strings.Contains(fullText, s) {
			t.Errorf("full output lacks %q", s)
		}
		if strings.Contains(redacted.String(), s) {
			t.Errorf("redacted output shows %q", s)
		}
	}
}

func TestEdgeSnapshotExpectations(t *testing.T) {
	snap, res := edgeResult(t)
	im, err := res.Image()
	if err != nil {
		t.Fatal(err)
	}
	if im.TopicByName("doomed") != nil || im.TopicByName("legacy") != nil {
		t.Error("pending-deletion or id-less topic migrated")
	}
	if im.Config(image.ConfigResource{Type: 2, Name: "doomed"}) != nil {
		t.Error("config of a pending-deletion topic migrated")
	}
	p := im.TopicByName("payments").Partition(0)
	if len(p.AddingReplicas) != 1 || p.AddingReplicas[0] != 4 || p.RemovingReplicas[0] != 1 || p.PartitionEpoch != 2 {
		t.Errorf("reassigning partition %+v", p)
	}
	if p := im.TopicByName("orders").Partition(2); p.LeaderRecoveryState != 1 || p.PartitionEpoch != 6 {
		t.Errorf("recovering partition %+v", p)
	}
	if p := im.TopicByName("nostate").Partition(0); p.Leader != 3 || p.LeaderEpoch != 0 || len(p.ISR) != 2 {
		t.Errorf("partition without state %+v", p)
	}
	if got := im.Config(image.ConfigResource{Type: 4, Name: "1"})["listener.name.ssl.ssl.keystore.password"]; got != "keystore-pw" {
		t.Errorf("decrypted password = %q", got)
	}
	if im.Config(image.ConfigResource{Type: 4, Name: ""})["log.retention.ms"] != "604800000" {
		t.Error("<default> broker config not under the empty name")
	}
	if n := len(im.Brokers()); n != 5 {
		t.Errorf("%d brokers", n)
	}
	if b := im.Broker(4); b.Endpoints[0].SecurityProtocol != 3 || *b.Rack != "rack-b" || !b.IsMigratingZkBroker || !b.Fenced || b.Epoch != 104 {
		t.Errorf("broker 4 %+v", b)
	}
	if im.NextProducerID() != 3000 || im.ZkMigrationState() != 1 {
		t.Errorf("next producer id %d, state %d", im.NextProducerID(), im.ZkMigrationState())
	}
	wantACLs := 0
	for _, r := range snap.ACLs {
		wantACLs += len(r.Entries)
	}
	if c := im.Counts(); c[image.SectionACLs] != wantACLs || c[image.SectionScram] != 3 || c[image.SectionDelegationTokens] != 2 {
		t.Errorf("counts %v (want %d ACLs)", c, wantACLs)
	}
	for _, kind := range []string{"topic-pending-deletion", "topic-without-id", "legacy-reassignment", "controller", "notification", "feature", "migration-state", "cluster-id", "orphan-topic-config"} {
		if !hasSkip(res, kind) {
			t.Errorf("no skip of kind %s", kind)
		}
	}
	if !res.Blocked() {
		t.Error("a topic without id must block")
	}
}

// translate → image → Records → image gives an equal image; translating
// twice gives byte-identical output.
func TestRoundTripAndDeterminism(t *testing.T) {
	_, res := edgeResult(t)
	im, err := res.Image()
	if err != nil {
		t.Fatal(err)
	}
	back := image.New()
	for _, v := range im.Records() {
		if err := back.Apply(v); err != nil {
			t.Fatal(err)
		}
	}
	if d := image.Diff(im, back); len(d) != 0 {
		t.Fatalf("round trip: %v", d)
	}
	var a, b bytes.Buffer
	for _, buf := range []*bytes.Buffer{&a, &b} {
		_, r := edgeResult(t)
		if err := WriteCheckpoint(context.Background(), buf, r); err != nil {
			t.Fatal(err)
		}
		if err := WriteJSONLines(buf, r.Log(), records.JSONOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("two translations of the same snapshot differ")
	}
}

// The metadata version picks the record versions: RegisterBrokerRecord v2
// before 3.7-IV2 and v3 from it; PartitionRecord v0 in the copy always, and
// in a checkpoint v0 before 3.7-IV2, v1 with MIGRATING directories from it.
func TestMetadataVersionSelectsRecordVersions(t *testing.T) {
	snap := loadEdge(t)
	snap.DelegationTokens = nil // KRaft keeps tokens only from 3.6-IV2
	for _, c := range []struct {
		mv                  string
		broker, cpPartition int16
	}{{"3.6-IV1", 2, 0}, {"3.7-IV1", 2, 0}, {"3.7-IV2", 3, 1}, {"3.8", 3, 1}, {"3.9-IV0", 3, 1}} {
		res, err := Translate(snap, Options{MetadataVersion: c.mv, PasswordEncoderSecret: edgeSecret})
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range res.Log() {
			for _, v := range b {
				switch v.Record.(type) {
				case *records.RegisterBrokerRecord:
					if v.Version != c.broker {
						t.Errorf("%s: RegisterBrokerRecord v%d, want v%d", c.mv, v.Version, c.broker)
					}
				case *records.PartitionRecord:
					if v.Version != 0 {
						t.Errorf("%s: PartitionRecord v%d in the copy, want v0", c.mv, v.Version)
					}
				case *records.FeatureLevelRecord:
					if lvl := v.Record.(*records.FeatureLevelRecord).FeatureLevel; lvl != res.MetadataVersion.Level {
						t.Errorf("%s: feature level %d", c.mv, lvl)
					}
				}
			}
		}
		var cp bytes.Buffer
		if err := WriteCheckpoint(context.Background(), &cp, res); err != nil {
			t.Fatalf("%s: %v", c.mv, err)
		}
		dec, err := checkpoint.Decode("x", cp.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range dec.Records {
			if p, ok := v.Record.(*records.PartitionRecord); ok {
				if v.Version != c.cpPartition || (c.cpPartition == 1) != (len(p.Directories) == len(p.Replicas)) {
					t.Fatalf("%s: checkpoint PartitionRecord v%d dirs %v", c.mv, v.Version, p.Directories)
				}
			}
		}
	}
	// With tokens, 3.6-IV1 cannot hold them in a checkpoint: an error, not a silent loss.
	res, err := Translate(loadEdge(t), Options{MetadataVersion: "3.6-IV1", PasswordEncoderSecret: edgeSecret})
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteCheckpoint(context.Background(), &bytes.Buffer{}, res); err == nil || !strings.Contains(err.Error(), "delegation token") {
		t.Fatalf("checkpoint at 3.6-IV1 with tokens: %v", err)
	}
	if !hasFinding(res, "delegation-tokens-unusable") {
		t.Error("no finding about tokens at 3.6-IV1")
	}
}

func hasFinding(res *Result, code string) bool {
	for _, f := range res.Findings {
		if f.Code == code {
			return true
		}
	}
	return false
}
