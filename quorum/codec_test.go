package quorum

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/zk2kraft/zk2kraft/kafka"
	"github.com/zk2kraft/zk2kraft/translate/batch"
	"github.com/zk2kraft/zk2kraft/translate/batch/checkpoint"
	"github.com/zk2kraft/zk2kraft/translate/records"
)

func TestEntryRoundTrip(t *testing.T) {
	for _, e := range []Entry{
		{ExpectedOffset: -1},
		{Token: "t", ExpectedOffset: 0, Batch: []byte{1, 2, 3}},
		{Token: "big", ExpectedOffset: -1, Batch: bytes.Repeat([]byte{7}, 300)}, // a two-byte batch length
		{Token: "mirror:0x1f", ExpectedOffset: 1234567, If: map[string]string{"phase": "", "a": "b"}, Meta: map[string]string{"mirror.zxid": "0x1f", "x": "ü"}, Batch: testBatch("a=1")},
	} {
		b := EncodeEntry(e)
		got, err := DecodeEntry(b)
		if err != nil {
			t.Fatalf("%+v: %v", e, err)
		}
		if !reflect.DeepEqual(got, e) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, e)
		}
		if !bytes.Equal(EncodeEntry(got), b) {
			t.Fatal("encoding is not deterministic")
		}
		if h := EncodeEntryHeader(e); !bytes.Equal(append(h, e.Batch...), b) {
			t.Fatalf("header %x + batch is not the entry %x", h, b)
		}
	}
}

func TestDecodeEntryErrors(t *testing.T) {
	good := EncodeEntry(Entry{Token: "tok", ExpectedOffset: -1, Meta: map[string]string{"k": "v"}, Batch: []byte("xyz")})
	for name, tc := range map[string]struct {
		b    []byte
		want string
	}{
		"empty":       {nil, "magic"},
		"bad magic":   {append([]byte("XXXX"), good[4:]...), "magic"},
		"bad version": {append(append([]byte("ZKQE"), 9), good[5:]...), "version 9"},
		"truncated":   {good[:len(good)-1], "batch"},
		"garbage":     {append(append([]byte(nil), good...), 0), "garbage"},
		"huge token":  {binary.AppendUvarint([]byte("ZKQE\x01"), MaxTokenLen+1), "exceeds the limit"},
	} {
		_, err := DecodeEntry(tc.b)
		if !errors.Is(err, ErrBadEntry) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want ErrBadEntry mentioning %q", name, err, tc.want)
		}
	}
}

func FuzzDecodeEntry(f *testing.F) {
	f.Add(EncodeEntry(Entry{Token: "t", ExpectedOffset: 3, Meta: map[string]string{"a": "b"}, Batch: []byte{1}}))
	f.Add([]byte("ZKQE\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := DecodeEntry(b)
		if err != nil {
			return
		}
		again, err := DecodeEntry(EncodeEntry(e))
		if err != nil || !reflect.DeepEqual(again, e) {
			t.Fatalf("re-encoding a decoded entry: %v", err)
		}
	})
}

func sampleRecords() []records.Versioned {
	id := kafka.DerivedUUID("t")
	v := "1000"
	return []records.Versioned{
		{Record: &records.FeatureLevelRecord{Name: "metadata.version", FeatureLevel: 21}},
		{Record: &records.TopicRecord{Name: "foo", TopicId: id}},
		{Record: &records.PartitionRecord{PartitionId: 0, TopicId: id, Replicas: []int32{1, 2}, Isr: []int32{1}, Leader: 1}, Version: 1},
		{Record: &records.ConfigRecord{ResourceType: 2, ResourceName: "foo", Name: "retention.ms", Value: &v}},
	}
}

// sameFrame compares two records by their framed encoding.
func sameFrame(a, b records.Versioned) bool {
	fa, err1 := records.AppendFrame(nil, a)
	fb, err2 := records.AppendFrame(nil, b)
	return err1 == nil && err2 == nil && bytes.Equal(fa, fb)
}

func TestBatchRoundTrip(t *testing.T) {
	recs := sampleRecords()
	b, err := EncodeBatch(recs, 42, 7, 1700000000123)
	if err != nil {
		t.Fatal(err)
	}
	if err := validateRecordBatch(b); err != nil {
		t.Fatal(err)
	}
	got, err := decodeDataBatch(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(recs) {
		t.Fatalf("decoded %d records, want %d", len(got), len(recs))
	}
	for i := range recs {
		if !sameFrame(got[i], recs[i]) {
			t.Fatalf("record %d: got %+v want %+v", i, got[i].Record, recs[i].Record)
		}
	}
	if d, _, err := batch.Decode(b); err != nil || d.BaseOffset != 42 || d.PartitionLeaderEpoch != 7 || d.AppendTimeMs != 1700000000123 {
		t.Fatalf("header %+v %v", d, err)
	}
	// Stamping changes offset and epoch without breaking the CRC.
	d2, _, err := batch.Decode(stampBatch(b, 1000, 9))
	if err != nil || d2.BaseOffset != 1000 || d2.PartitionLeaderEpoch != 9 {
		t.Fatalf("stamped batch: %+v %v", d2, err)
	}
	// A flipped bit in the records fails the CRC.
	bad := append([]byte(nil), b...)
	bad[len(bad)-3] ^= 1
	if err := validateRecordBatch(bad); err == nil || !strings.Contains(err.Error(), "CRC") {
		t.Fatalf("corrupted batch: %v", err)
	}
}

// TestBatchWorkedExample checks the header against kafka-migration-spec §4.3:
// KRaft data batches have no producer, CreateTime, attributes 0, magic 2.
func TestBatchWorkedExample(t *testing.T) {
	b, err := EncodeBatch(sampleRecords()[1:2], 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][2]int{"magic": {16, 2}}
	if b[want["magic"][0]] != 2 {
		t.Fatal("magic")
	}
	if got := binary.BigEndian.Uint16(b[21:23]); got != 0 {
		t.Fatalf("attributes %#x", got)
	}
	if got := int64(binary.BigEndian.Uint64(b[43:51])); got != -1 {
		t.Fatalf("producerId %d", got)
	}
	if got := int32(binary.BigEndian.Uint32(b[8:12])); int(got) != len(b)-12 {
		t.Fatalf("batchLength %d for %d bytes", got, len(b))
	}
	// The record: length, attributes 0, timestampDelta 0, offsetDelta 0,
	// keyLength -1 (zig-zag 0x01), valueLength 24 (0x30), the 24-byte
	// TopicRecord frame of spec §4.6, headers 0.
	rec := b[batchHeaderLen:]
	if rec[1] != 0 || rec[2] != 0 || rec[3] != 0 || rec[4] != 0x01 || rec[5] != 0x30 || rec[len(rec)-1] != 0 {
		t.Fatalf("record bytes % x", rec)
	}
}

func TestCheckpointRoundTripAndLayout(t *testing.T) {
	recs := sampleRecords()
	var buf bytes.Buffer
	if err := WriteCheckpointRecords(&buf, recs, 5, 1700000000000); err != nil {
		t.Fatal(err)
	}
	// First batch: control, SnapshotHeader at offset 0, epoch 5.
	b := buf.Bytes()
	snap, err := checkpoint.Decode("test", b)
	if err != nil {
		t.Fatal(err)
	}
	if snap.Epoch != 5 || snap.Header.LastContainedLogTimestamp != 1700000000000 || len(snap.Records) != len(recs) {
		t.Fatalf("checkpoint %+v", snap)
	}
	var got []records.Versioned
	if err := ReadCheckpointRecords(bytes.NewReader(b), func(v records.Versioned) error { got = append(got, v); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(recs) {
		t.Fatalf("read back %d records, want %d", len(got), len(recs))
	}
	for i := range recs {
		if !sameFrame(got[i], recs[i]) {
			t.Fatalf("record %d read back: %+v, want %+v", i, got[i].Record, recs[i].Record)
		}
	}
	// Truncated: the footer is missing.
	if err := ReadCheckpointRecords(bytes.NewReader(b[:len(b)-1]), func(records.Versioned) error { return nil }); err == nil {
		t.Fatal("truncated checkpoint accepted")
	}
}

func FuzzReadCheckpoint(f *testing.F) {
	var buf bytes.Buffer
	WriteCheckpointRecords(&buf, sampleRecords(), 1, 1)
	f.Add(buf.Bytes())
	b, _ := EncodeBatch(sampleRecords(), 0, 0, 0)
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		ReadCheckpointRecords(bytes.NewReader(b), func(records.Versioned) error { return nil })
		decodeDataBatch(b)
	})
}

func FuzzSnapshotSide(f *testing.F) {
	var buf bytes.Buffer
	writeSnapshot(&buf, sideState{ClusterID: "c", Meta: map[string]string{"a": "b"}}, kvCheckpoint{"k": "v"}, nil)
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		readSnapshotSide(bytes.NewReader(b))
	})
}

// The state machine's decoder (PartitionRecords into a reused slab) decodes
// exactly what batch.DecodeRecords does, batch after batch, and rejects what
// it rejects.
func TestRecordDecoderMatchesDecodeRecords(t *testing.T) {
	id := kafka.DerivedUUID("decoder")
	part := func(p int32, ver int16) records.Versioned {
		r := &records.PartitionRecord{PartitionId: p, TopicId: id, Replicas: []int32{1, 2, 3}, Isr: []int32{1, 2}, Leader: 1,
			LeaderEpoch: p, PartitionEpoch: 2 * p}
		if ver >= 1 {
			r.Directories = []kafka.UUID{{1}, {2}, {3}}
		}
		if ver >= 2 {
			r.EligibleLeaderReplicas, r.LastKnownElr = []int32{3}, []int32{}
		}
		if p%2 == 1 {
			r.LeaderRecoveryState = 1
		}
		return records.Versioned{Record: r, Version: ver}
	}
	batches := [][]records.Versioned{
		{{Record: &records.TopicRecord{Name: "decoder", TopicId: id}}, part(0, 0), part(1, 1), part(2, 2), part(3, 2)},
		{part(7, 0), {Record: &records.NoOpRecord{}}, part(8, 1)}, // fewer records: slab entries are reused
		append(sampleRecords(), part(9, 2)),
	}
	var d recordDecoder
	for i, recs := range batches {
		got, want, err := decodeBothWays(t, &d, recs)
		if err != nil {
			t.Fatalf("batch %d: %v", i, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("batch %d: decoder gives\n%+v\nDecodeRecords gives\n%+v", i, got, want)
		}
		if i == 0 && (got[1].Record != &d.parts[0] || d.used != 4) {
			t.Fatalf("batch 0: PartitionRecords not decoded into the slab (%d used)", d.used)
		}
		d.release()
	}
	// A PartitionRecord with a byte missing: the same error either way.
	good := part(5, 2)
	val, _ := records.AppendFrame(nil, good)
	bad := batch.Encode(nil, batch.Batch{Records: []batch.Record{{Value: val[:len(val)-1]}}})
	_, slowErr := decodeDataBatch(bad)
	_, err := d.decode(bad)
	if err == nil || slowErr == nil || err.Error() != slowErr.Error() {
		t.Fatalf("truncated PartitionRecord: decoder error %v, want %v", err, slowErr)
	}
	bt, _, _ := batch.Decode(bad)
	if _, want := batch.DecodeRecords(&bt); want == nil || !strings.Contains(err.Error(), want.Error()) {
		t.Fatalf("truncated PartitionRecord: decoder error %v does not carry DecodeRecords' %v", err, want)
	}
}

// PartitionRecords of every shape (versions 0-2, empty, long and null-able
// lists, directories, tagged fields) decode exactly as ReadFrom decodes them,
// whether or not the fast path takes them; the common shape takes it.
func TestRecordDecoderPartitionShapes(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	list := func() []int32 {
		n := r.IntN(5)
		if r.IntN(20) == 0 {
			n = 126 + r.IntN(4) // around the one-byte length limit
		}
		out := make([]int32, n)
		for i := range out {
			out[i] = int32(r.Uint32())
		}
		return out
	}
	var recs []records.Versioned
	for i := 0; i < 2000; i++ {
		ver := int16(r.IntN(3))
		p := &records.PartitionRecord{PartitionId: int32(r.Uint32()), TopicId: kafka.UUID{byte(i), byte(i >> 8), 7},
			Replicas: list(), Isr: list(), Leader: int32(r.Uint32()), LeaderEpoch: int32(r.Uint32()), PartitionEpoch: int32(r.Uint32())}
		if r.IntN(10) == 0 {
			p.RemovingReplicas, p.AddingReplicas = list(), list()
		}
		if ver >= 1 && r.IntN(5) == 0 {
			p.Directories = make([]kafka.UUID, len(p.Replicas))
			for j := range p.Directories {
				p.Directories[j] = kafka.UUID{byte(j), 1}
			}
		}
		if r.IntN(8) == 0 {
			p.LeaderRecoveryState = 1
		}
		if ver >= 2 && r.IntN(5) == 0 {
			p.EligibleLeaderReplicas, p.LastKnownElr = list(), list()
		}
		recs = append(recs, records.Versioned{Record: p, Version: ver})
	}
	var d recordDecoder
	fast, slow := 0, 0
	for start := 0; start < len(recs); start += 500 {
		got, want, err := decodeBothWays(t, &d, recs[start:start+500])
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if !reflect.DeepEqual(got[i], want[i]) {
				t.Fatalf("record %d: decoder gives\n%+v\nReadFrom gives\n%+v", start+i, got[i].Record, want[i].Record)
			}
		}
		fast += d.fast
		slow += d.used - d.fast
		d.release()
	}
	if fast < len(recs)/3 || slow < len(recs)/10 {
		t.Fatalf("%d record(s) took the fast path, %d the general one: the shapes do not exercise both", fast, slow)
	}
}

// decodeBothWays encodes recs as one batch and decodes it with d (got; err
// is d's error) and with translate/batch's general decoder (want).
func decodeBothWays(t *testing.T, d *recordDecoder, recs []records.Versioned) (got, want []records.Versioned, err error) {
	t.Helper()
	b, err := EncodeBatch(recs, 0, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	bt, _, err := batch.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	want, err = batch.DecodeRecords(&bt)
	if err != nil {
		t.Fatal(err)
	}
	got, err = d.decode(b)
	return got, want, err
}
