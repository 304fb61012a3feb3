package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/zk2kraft/zk2kraft/kafka"
	"github.com/zk2kraft/zk2kraft/translate/batch"
	"github.com/zk2kraft/zk2kraft/translate/batch/checkpoint"
	"github.com/zk2kraft/zk2kraft/translate/records"
)

type decodeLine struct {
	Offset    *int64          `json:"offset"`
	Epoch     int32           `json:"epoch"`
	Timestamp int64           `json:"timestamp"`
	Control   bool            `json:"control"`
	Type      string          `json:"type"`
	Version   int16           `json:"version"`
	Data      json.RawMessage `json:"data"`
	Error     string          `json:"error"`
	Batch     *struct {
		BaseOffset int64  `json:"baseOffset"`
		Count      int    `json:"count"`
		CRC        string `json:"crc"`
	} `json:"batch"`
}

// runDecode runs `zk2kraft decode args...` in-process and returns stdout,
// the exit code and the error text.
func runDecodeCmd(t *testing.T, args ...string) ([]decodeLine, string, int, string) {
	t.Helper()
	root := newRootCmd()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(append([]string{"decode"}, args...))
	err := root.ExecuteContext(context.Background())
	code := 0
	msg := ""
	if err != nil {
		code = 2
		var ee *exitError
		if errors.As(err, &ee) {
			code = ee.code
		}
		msg = err.Error()
	}
	var lines []decodeLine
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if l == "" {
			continue
		}
		var d decodeLine
		if err := json.Unmarshal([]byte(l), &d); err != nil {
			t.Fatalf("output line is not JSON: %s: %v", l, err)
		}
		lines = append(lines, d)
	}
	return lines, out.String(), code, msg
}

func decodeSampleRecords() []records.Versioned {
	id := kafka.DerivedUUID("orders")
	p := records.NewPartitionRecord()
	p.PartitionId, p.TopicId, p.Replicas, p.Isr, p.Leader = 0, id, []int32{1, 2, 3}, []int32{1, 2}, 1
	return []records.Versioned{
		{Record: &records.FeatureLevelRecord{Name: "metadata.version", FeatureLevel: 21}, Version: 0},
		{Record: &records.ZkMigrationStateRecord{ZkMigrationState: 1}, Version: 0},
		{Record: &records.TopicRecord{Name: "orders", TopicId: id}, Version: 0},
		{Record: p, Version: 0},
		{Record: &records.UserScramCredentialRecord{Name: "alice", Mechanism: 1, Salt: []byte("s4lt"), StoredKey: []byte("k1"), ServerKey: []byte("k2"), Iterations: 4096}, Version: 0},
	}
}

func TestDecodeCheckpoint(t *testing.T) {
	dir := t.TempDir()
	path, err := checkpoint.Write(context.Background(), dir, checkpoint.SnapshotID{EndOffset: 6, Epoch: 3}, decodeSampleRecords(), checkpoint.Options{AppendTimeMs: 1700000000000, MaxRecords: 2})
	if err != nil {
		t.Fatal(err)
	}
	lines, raw, code, msg := runDecodeCmd(t, path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, msg)
	}
	wantTypes := []string{"SNAPSHOT_HEADER", "FEATURE_LEVEL_RECORD", "ZK_MIGRATION_STATE_RECORD", "TOPIC_RECORD", "PARTITION_RECORD", "USER_SCRAM_CREDENTIAL_RECORD", "SNAPSHOT_FOOTER"}
	if len(lines) != len(wantTypes) {
		t.Fatalf("%d lines:\n%s", len(lines), raw)
	}
	for i, l := range lines {
		if l.Type != wantTypes[i] || l.Offset == nil || *l.Offset != int64(i) || l.Epoch != 3 || l.Timestamp != 1700000000000 || l.Control != (i == 0 || i == len(lines)-1) {
			t.Errorf("line %d: %+v", i, l)
		}
	}
	if !strings.Contains(raw, `"data":{"name":"orders","topicId":"`+kafka.DerivedUUID("orders").String()+`"}`) {
		t.Errorf("topic line missing:\n%s", raw)
	}
	if strings.Contains(raw, "czRsdA==") || !strings.Contains(raw, `"salt":"<redacted>"`) {
		t.Errorf("secret not redacted:\n%s", raw)
	}
	// --show-secrets and --records-only give lines UnmarshalJSONLine reads
	// back into the same records.
	_, raw, code, _ = runDecodeCmd(t, path, "--show-secrets", "--records-only")
	if code != 0 {
		t.Fatal(code)
	}
	var got []records.Versioned
	for _, l := range strings.Split(strings.TrimSpace(raw), "\n") {
		v, err := records.UnmarshalJSONLine([]byte(l))
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
	}
	want := decodeSampleRecords()
	if len(got) != len(want) {
		t.Fatalf("%d records", len(got))
	}
	for i := range want {
		a, _ := records.AppendFrame(nil, got[i])
		b, _ := records.AppendFrame(nil, want[i])
		if !bytes.Equal(a, b) {
			t.Errorf("record %d differs after decode: %x vs %x", i, a, b)
		}
	}
	// Standard input works too, detected by content.
	data, _ := os.ReadFile(path)
	root := newRootCmd()
	var out bytes.Buffer
	root.SetIn(bytes.NewReader(data))
	root.SetOut(&out)
	root.SetArgs([]string{"decode", "-"})
	if err := root.ExecuteContext(context.Background()); err != nil || strings.Count(out.String(), "\n") != 7 || !strings.Contains(out.String(), "SNAPSHOT_FOOTER") {
		t.Fatalf("stdin: %v\n%s", err, out.String())
	}
	// --batches adds batch lines with their CRC.
	lines, _, _, _ = runDecodeCmd(t, path, "--batches")
	nb := 0
	for _, l := range lines {
		if l.Batch != nil {
			nb++
			if len(l.Batch.CRC) != 8 {
				t.Errorf("batch line %+v", l.Batch)
			}
		}
	}
	if nb != 5 { // header, 3 data batches of <= 2 records, footer
		t.Errorf("%d batch lines", nb)
	}
}

func TestDecodeLogSegmentTornTailAndCorruption(t *testing.T) {
	dir := t.TempDir()
	b := batch.NewBuilder(batch.BuilderOptions{BaseOffset: 100, LeaderEpoch: 5, AppendTimeMs: 42, MaxRecords: 2})
	b.AppendControl(records.Versioned{Record: &records.LeaderChangeMessage{LeaderId: 1, Voters: []records.LeaderChangeMessageVoter{{VoterId: 1}}}})
	for _, v := range decodeSampleRecords() {
		if err := b.Append(v); err != nil {
			t.Fatal(err)
		}
	}
	b.Flush()
	var seg []byte
	var starts []int
	for _, bt := range b.Take() {
		starts = append(starts, len(seg))
		seg = append(seg, bt...)
	}
	path := filepath.Join(dir, "00000000000000000100.log")
	os.WriteFile(path, seg, 0o644)
	lines, raw, code, msg := runDecodeCmd(t, path)
	if code != 0 || len(lines) != 6 || lines[0].Type != "LEADER_CHANGE" || !lines[0].Control || *lines[0].Offset != 100 || *lines[5].Offset != 105 || lines[5].Epoch != 5 {
		t.Fatalf("exit %d %s\n%s", code, msg, raw)
	}
	// Torn tail: printed up to the last whole batch, exit 1, reported.
	os.WriteFile(path, seg[:len(seg)-3], 0o644)
	lines, _, code, msg = runDecodeCmd(t, path)
	last := starts[len(starts)-1]
	if code != 1 || len(lines) != 5 || !strings.Contains(msg, "torn tail at byte "+strconv.Itoa(last)) {
		t.Fatalf("torn tail: exit %d, %d lines, %s", code, len(lines), msg)
	}
	// Corruption: exit 2 naming the file and the byte position.
	bad := append([]byte{}, seg...)
	bad[starts[2]+70] ^= 1
	os.WriteFile(path, bad, 0o644)
	_, _, code, msg = runDecodeCmd(t, path)
	if code != 2 || !strings.Contains(msg, path+": batch at byte "+strconv.Itoa(starts[2])+": corrupt batch: CRC-32C mismatch") {
		t.Fatalf("corrupt: exit %d: %s", code, msg)
	}
	// A record that does not decode is an error line, exit 1.
	b2 := batch.NewBuilder(batch.BuilderOptions{})
	b2.AppendRecord(batch.Record{Value: []byte{1, 28, 0, 0}}, false) // api key 28: unknown here
	b2.Append(decodeSampleRecords()[0])
	b2.Flush()
	os.WriteFile(path, b2.Take()[0], 0o644)
	lines, _, code, msg = runDecodeCmd(t, path)
	if code != 1 || len(lines) != 2 || !strings.Contains(lines[0].Error, "unknown metadata record api key 28") || lines[1].Type != "FEATURE_LEVEL_RECORD" {
		t.Fatalf("bad record: exit %d %s %+v", code, msg, lines)
	}
}

func TestDecodeBadCheckpoint(t *testing.T) {
	dir := t.TempDir()
	path, err := checkpoint.Write(context.Background(), dir, checkpoint.SnapshotID{EndOffset: 6, Epoch: 3}, decodeSampleRecords(), checkpoint.Options{})
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	os.WriteFile(path, data[:len(data)-75], 0o644) // footer batch removed
	_, _, code, msg := runDecodeCmd(t, path)
	if code != 2 || !strings.Contains(msg, "no snapshot footer") {
		t.Fatalf("exit %d: %s", code, msg)
	}
	if _, _, code, _ := runDecodeCmd(t, filepath.Join(dir, "missing.checkpoint")); code != 2 {
		t.Fatalf("missing file: exit %d", code)
	}
	if _, _, code, _ := runDecodeCmd(t, path, "--format", "zip"); code != 2 {
		t.Fatal("bad --format")
	}
}
