package checkpoint

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/zk2kraft/zk2kraft/kafka"
	"github.com/zk2kraft/zk2kraft/translate/batch"
	"github.com/zk2kraft/zk2kraft/translate/records"
)

const specTime = 1700000000000

func readHex(t testing.TB, path string) []byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var digits strings.Builder
	for _, line := range strings.Split(string(raw), "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		digits.WriteString(strings.Join(strings.Fields(line), ""))
	}
	b, err := hex.DecodeString(digits.String())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mv21() []records.Versioned {
	return []records.Versioned{{Record: &records.FeatureLevelRecord{Name: "metadata.version", FeatureLevel: 21}, Version: 0}}
}

func TestGoldenBootstrapCheckpoint(t *testing.T) {
	want := readHex(t, "testdata/bootstrap.checkpoint.hex")
	if len(want) != 249 {
		t.Fatalf("golden is %d bytes", len(want))
	}
	var buf bytes.Buffer
	if err := Encode(context.Background(), &buf, 0, mv21(), Options{AppendTimeMs: specTime}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Fatalf("bootstrap.checkpoint\n got %x\nwant %x", buf.Bytes(), want)
	}
	s, err := Decode("bootstrap.checkpoint", want)
	if err != nil {
		t.Fatal(err)
	}
	if s.Epoch != 0 || s.Batches != 3 || s.AppendTimeMs != specTime || s.Header != (records.SnapshotHeaderRecord{}) || !reflect.DeepEqual(s.Records, mv21()) {
		t.Fatalf("decoded %+v", s)
	}
}

func TestWriteReadFile(t *testing.T) {
	dir := t.TempDir()
	var recs []records.Versioned
	for i := 0; i < 20000; i++ {
		p := records.NewPartitionRecord()
		p.PartitionId, p.TopicId = int32(i), kafka.DerivedUUID("t")
		p.Replicas, p.Isr, p.Leader = []int32{1, 2, 3}, []int32{1, 2, 3}, 1
		recs = append(recs, records.Versioned{Record: p, Version: 0})
	}
	id := SnapshotID{EndOffset: 1234, Epoch: 7}
	voters := &records.VotersRecord{Voters: []records.VotersRecordVoter{{VoterId: 1, Endpoints: []records.VotersRecordEndpoint{{Name: "CONTROLLER", Host: "h", Port: 9093}},
		KRaftVersionFeature: records.VotersRecordKRaftVersionFeature{MinSupportedVersion: 0, MaxSupportedVersion: 1}}}}
	path, err := Write(context.Background(), dir, id, recs, Options{AppendTimeMs: 5, LastContainedLogTimestamp: 4, MaxBatchBytes: 64 << 10,
		KRaftVersion: &records.KRaftVersionRecord{KRaftVersion: 1}, Voters: voters})
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(path) != "00000000000000001234-0000000007.checkpoint" {
		t.Fatalf("path %s", path)
	}
	if got, err := ParseFileName(path); err != nil || got != id {
		t.Fatalf("ParseFileName: %v %v", got, err)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "*.part")); len(m) != 0 {
		t.Fatalf("left %v", m)
	}
	s, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if s.Epoch != 7 || s.Header.LastContainedLogTimestamp != 4 || s.KRaftVersion.KRaftVersion != 1 || !reflect.DeepEqual(s.Voters, voters) || len(s.Records) != len(recs) || s.Batches < 15 {
		t.Fatalf("read back: epoch %d batches %d records %d", s.Epoch, s.Batches, len(s.Records))
	}
	for i := range recs {
		if !reflect.DeepEqual(s.Records[i].Record.(*records.PartitionRecord).PartitionId, int32(i)) {
			t.Fatalf("record %d out of order", i)
		}
	}
	// Deterministic: a second write gives identical bytes.
	a, _ := os.ReadFile(path)
	path2 := filepath.Join(dir, "again.checkpoint")
	if err := WriteFile(context.Background(), path2, 7, recs, Options{AppendTimeMs: 5, LastContainedLogTimestamp: 4, MaxBatchBytes: 64 << 10,
		KRaftVersion: &records.KRaftVersionRecord{KRaftVersion: 1}, Voters: voters}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path2); !bytes.Equal(a, b) {
		t.Fatal("output is not deterministic")
	}
	// A failing write leaves neither the file nor the .part.
	bad := []records.Versioned{{Record: &records.TopicRecord{}, Version: 3}}
	p3 := filepath.Join(dir, "bad.checkpoint")
	if err := WriteFile(context.Background(), p3, 1, bad, Options{}); err == nil {
		t.Fatal("want error")
	}
	if _, err := os.Stat(p3); !os.IsNotExist(err) {
		t.Fatal("bad snapshot exists")
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "*.part")); len(m) != 0 {
		t.Fatalf("left %v", m)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := WriteFile(ctx, filepath.Join(dir, "c.checkpoint"), 1, recs, Options{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}

func TestParseFileName(t *testing.T) {
	for _, bad := range []string{"x.checkpoint", "00000000000000001234-0000000007.log", "0000000000000000123-0000000007.checkpoint", "0000000000000000123a-0000000007.checkpoint"} {
		if _, err := ParseFileName(bad); err == nil {
			t.Errorf("%s: want error", bad)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	golden := readHex(t, "testdata/bootstrap.checkpoint.hex")
	mk := func(f func(b *batch.Builder)) []byte {
		b := batch.NewBuilder(batch.BuilderOptions{})
		f(b)
		b.Flush()
		var out []byte
		for _, bt := range b.Take() {
			out = append(out, bt...)
		}
		return out
	}
	hdr := records.Versioned{Record: &records.SnapshotHeaderRecord{}}
	ftr := records.Versioned{Record: &records.SnapshotFooterRecord{}}
	flip := append([]byte{}, golden...)
	flip[100] ^= 0x40
	magic := append([]byte{}, golden...)
	magic[83+16] = 0
	cases := []struct {
		name string
		in   []byte
		want string
	}{
		{"truncated", golden[:200], "f.checkpoint: batch at byte 174: truncated batch: the file ends inside a batch (26 byte(s))"},
		{"truncated in length", golden[:180], "f.checkpoint: batch at byte 174: truncated batch: the file ends inside a batch (6 byte(s))"},
		{"corrupted CRC", flip, "f.checkpoint: batch at byte 83: corrupt batch: CRC-32C mismatch"},
		{"wrong magic", magic, "f.checkpoint: batch at byte 83: corrupt batch: magic 0"},
		{"no footer", golden[:174], "no snapshot footer"},
		{"empty", []byte{}, "empty snapshot"},
		{"data first", mk(func(b *batch.Builder) { b.Append(mv21()[0]); b.AppendControl(ftr) }), "first batch must be a control batch"},
		{"footer in header batch", mk(func(b *batch.Builder) { b.AppendControl(hdr, ftr) }), "footer at offset 1 is not the last record of its own batch"},
		{"batch after footer", mk(func(b *batch.Builder) { b.AppendControl(hdr); b.AppendControl(ftr); b.Append(mv21()[0]) }), "batch at byte 158: batch after the snapshot footer"},
		{"header not first", mk(func(b *batch.Builder) {
			b.AppendControl(records.Versioned{Record: &records.KRaftVersionRecord{}}, hdr)
			b.AppendControl(ftr)
		}), "the first record is KRAFT_VERSION"},
		{"leader change", mk(func(b *batch.Builder) {
			b.AppendControl(hdr)
			b.AppendControl(records.Versioned{Record: &records.LeaderChangeMessage{}})
			b.AppendControl(ftr)
		}), "unexpected control record LEADER_CHANGE"},
		{"bad frame", mk(func(b *batch.Builder) {
			b.AppendControl(hdr)
			b.AppendRecord(batch.Record{Value: []byte{0, 2, 0}}, false)
			b.AppendControl(ftr)
		}), "record at offset 1: metadata record frame: frame version 0"},
	}
	dir := t.TempDir()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode("f.checkpoint", tc.in)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
			// The streaming Read says the same, naming the file's path.
			path := filepath.Join(dir, "f.checkpoint")
			os.WriteFile(path, tc.in, 0o644)
			_, err = Read(path)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Fatalf("Read: err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
	// Epoch and offsets.
	b1 := batch.Encode(nil, batch.Batch{PartitionLeaderEpoch: 3, Control: true, Records: []batch.Record{mustControl(t, hdr)}})
	b2 := batch.Encode(nil, batch.Batch{BaseOffset: 1, PartitionLeaderEpoch: 4, Control: true, Records: []batch.Record{mustControl(t, ftr)}})
	if _, err := Decode("f", append(b1, b2...)); err == nil || !strings.Contains(err.Error(), "partitionLeaderEpoch 4, but the snapshot's epoch is 3") {
		t.Fatalf("epoch: %v", err)
	}
	b2 = batch.Encode(nil, batch.Batch{BaseOffset: 5, PartitionLeaderEpoch: 3, Control: true, Records: []batch.Record{mustControl(t, ftr)}})
	if _, err := Decode("f", append(b1, b2...)); err == nil || !strings.Contains(err.Error(), "base offset 5, want 1") {
		t.Fatalf("offsets: %v", err)
	}
}

func mustControl(t *testing.T, v records.Versioned) batch.Record {
	r, err := batch.ControlRecord(v)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func FuzzDecode(f *testing.F) {
	f.Add(readHex(f, "testdata/bootstrap.checkpoint.hex"))
	p := records.NewPartitionRecord()
	p.Replicas, p.Isr = []int32{1, 2}, []int32{1}
	var buf bytes.Buffer
	Encode(context.Background(), &buf, 2, []records.Versioned{
		{Record: &records.TopicRecord{Name: "t"}, Version: 0}, {Record: p, Version: 1},
		{Record: &records.ClientQuotaRecord{Entity: []records.ClientQuotaRecordEntityData{{EntityType: "user"}}, Key: "k", Value: 1}, Version: 0},
	}, Options{MaxRecords: 2, KRaftVersion: &records.KRaftVersionRecord{KRaftVersion: 1}})
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, in []byte) {
		checkSnapshot(t, in)
		// Again with every batch's CRC made right, so that mutations reach
		// the records and the snapshot structure behind the checksums.
		checkSnapshot(t, fixCRCs(in))
	})
}

// fixCRCs recomputes the CRC of every batch it can delimit in data.
func fixCRCs(data []byte) []byte {
	out := append([]byte{}, data...)
	for pos := 0; pos+batch.HeaderSize <= len(out); {
		size, err := batch.BatchSize(out[pos:])
		if err != nil || pos+size > len(out) {
			break
		}
		b := out[pos : pos+size]
		binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
		pos += size
	}
	return out
}

func checkSnapshot(t *testing.T, in []byte) {
	{
		s, err := Decode("fuzz.checkpoint", in)
		if err != nil {
			return
		}
		// A snapshot that reads must write back and read the same.
		var buf bytes.Buffer
		if err := Encode(context.Background(), &buf, s.Epoch, s.Records, Options{AppendTimeMs: s.AppendTimeMs, LastContainedLogTimestamp: s.Header.LastContainedLogTimestamp,
			KRaftVersion: s.KRaftVersion, Voters: s.Voters}); err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		s2, err := Decode("again", buf.Bytes())
		if err != nil || !bytes.Equal(frames(t, s2.Records), frames(t, s.Records)) {
			t.Fatalf("re-decode: %v", err)
		}
	}
}

// frames encodes recs one after the other, to compare records by their bytes:
// DeepEqual calls two records different when a quota value is NaN.
func frames(t *testing.T, recs []records.Versioned) []byte {
	var out []byte
	for _, r := range recs {
		var err error
		if out, err = records.AppendFrame(out, r); err != nil {
			t.Fatalf("encode %T: %v", r.Record, err)
		}
	}
	return out
}
