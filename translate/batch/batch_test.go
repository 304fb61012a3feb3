package batch

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"io"
	"math/rand"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/zk2kraft/zk2kraft/kafka"
	"github.com/zk2kraft/zk2kraft/translate/records"
)

var specUUID = kafka.UUID{0x1d, 0x1e, 0x9b, 0x1d, 0x5c, 0x5b, 0x4a, 0x2f, 0x8a, 0x6b, 0x0c, 0x7e, 0x3f, 0x2d, 0x1a, 0x09}

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

func topicFoo() records.Versioned {
	return records.Versioned{Record: &records.TopicRecord{Name: "foo", TopicId: specUUID}, Version: 0}
}

func TestGoldenDataBatch(t *testing.T) {
	want := readHex(t, "testdata/data_batch.hex")
	rec, err := DataRecord(topicFoo())
	if err != nil {
		t.Fatal(err)
	}
	got := Encode(nil, Batch{BaseOffset: 0, PartitionLeaderEpoch: 1, AppendTimeMs: specTime, Records: []Record{rec}})
	if !bytes.Equal(got, want) {
		t.Fatalf("Encode\n got %x\nwant %x", got, want)
	}
	b := NewBuilder(BuilderOptions{LeaderEpoch: 1, AppendTimeMs: specTime})
	if err := b.Append(topicFoo()); err != nil {
		t.Fatal(err)
	}
	b.Flush()
	if bs := b.Take(); len(bs) != 1 || !bytes.Equal(bs[0], want) {
		t.Fatalf("Builder\n got %x\nwant %x", bs, want)
	}
	dec, n, err := Decode(want)
	if err != nil || n != 92 {
		t.Fatalf("Decode: n=%d err=%v", n, err)
	}
	if dec.CRC != 0x37ee445b || dec.PartitionLeaderEpoch != 1 || dec.Control || dec.ProducerID != -1 || dec.ProducerEpoch != -1 ||
		dec.BaseSequence != -1 || dec.AppendTimeMs != specTime || dec.MaxTimestamp != specTime || len(dec.Records) != 1 || dec.Records[0].Key != nil {
		t.Fatalf("decoded header %+v", dec)
	}
	vs, err := DecodeRecords(&dec)
	if err != nil || len(vs) != 1 || !reflect.DeepEqual(vs[0], topicFoo()) {
		t.Fatalf("DecodeRecords: %v %+v", err, vs)
	}
}

// reCRC recomputes the CRC of a batch after a test edits it.
func reCRC(b []byte) {
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], castagnoli))
}

func TestDecodeErrors(t *testing.T) {
	golden := readHex(t, "testdata/data_batch.hex")
	edit := func(f func(b []byte) []byte) []byte {
		return f(append([]byte{}, golden...))
	}
	cases := []struct {
		name string
		in   []byte
		is   error
		want string
	}{
		{"corrupted CRC", edit(func(b []byte) []byte { b[80] ^= 1; return b }), ErrCorrupt, "CRC-32C mismatch: stored 37ee445b"},
		{"corrupted epoch is not covered by the CRC", nil, nil, ""},
		{"truncated batch", golden[:70], ErrTruncated, "batchLength says 92 byte(s), only 70 present"},
		{"truncated length", golden[:7], ErrTruncated, "at least 12"},
		{"wrong magic", edit(func(b []byte) []byte { b[16] = 1; return b }), ErrCorrupt, "magic 1"},
		{"batch length too small", edit(func(b []byte) []byte { b[11] = 10; return b }), ErrCorrupt, "batchLength 10"},
		{"bad record length", edit(func(b []byte) []byte { b[61] = 0x3a; reCRC(b); return b }), ErrCorrupt, "bad record length 29: header count runs past"},
		{"record length past batch", edit(func(b []byte) []byte { b[61] = 0x7e; reCRC(b); return b }), ErrCorrupt, "bad record length 63"},
		{"record count too high", edit(func(b []byte) []byte { b[60] = 2; reCRC(b); return b }), ErrCorrupt, "recordCount 2"},
		{"record count too low", edit(func(b []byte) []byte { b[60] = 0; reCRC(b); return b }), ErrCorrupt, "end at byte 61"},
		{"value length", edit(func(b []byte) []byte { b[66] = 0x34; reCRC(b); return b }), ErrCorrupt, "value length 26 but 25 byte(s) left"},
		{"compressed", edit(func(b []byte) []byte { b[22] = 1; reCRC(b); return b }), ErrCorrupt, "compression codec 1"},
		{"last offset delta", edit(func(b []byte) []byte { b[26] = 3; reCRC(b); return b }), ErrCorrupt, "lastOffsetDelta 3"},
	}
	for _, tc := range cases {
		if tc.in == nil {
			b := edit(func(b []byte) []byte { b[15] = 9; return b })
			if d, _, err := Decode(b); err != nil || d.PartitionLeaderEpoch != 9 {
				t.Errorf("epoch edit: %v", err)
			}
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Decode(tc.in)
			if err == nil || !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %v containing %q", err, tc.is, tc.want)
			}
		})
	}
}

func partitionRecord(i int) records.Versioned {
	p := records.NewPartitionRecord()
	p.PartitionId = int32(i)
	p.TopicId = specUUID
	p.Replicas = []int32{1, 2, 3}
	p.Isr = []int32{1, 2, 3}
	p.Leader, p.LeaderEpoch, p.PartitionEpoch = 1, 0, 0
	return records.Versioned{Record: p, Version: 0}
}

func TestBuilderLimits(t *testing.T) {
	for _, tc := range []struct{ maxBytes, maxRecs int }{{1000, 0}, {0, 7}, {200, 3}, {61 + 80, 0}} {
		b := NewBuilder(BuilderOptions{BaseOffset: 100, LeaderEpoch: 4, AppendTimeMs: 5, MaxBatchBytes: tc.maxBytes, MaxRecords: tc.maxRecs})
		const n = 500
		for i := 0; i < n; i++ {
			if err := b.Append(partitionRecord(i)); err != nil {
				t.Fatal(err)
			}
			if i == 250 {
				if err := b.AppendControl(records.Versioned{Record: &records.SnapshotFooterRecord{}, Version: 0}); err != nil {
					t.Fatal(err)
				}
			}
		}
		b.Flush()
		if b.NextOffset() != 100+n+1 {
			t.Fatalf("next offset %d", b.NextOffset())
		}
		next := int64(100)
		got := 0 // index over all records, the control record included
		for _, bt := range b.Take() {
			if tc.maxBytes > 0 && len(bt) > tc.maxBytes {
				t.Fatalf("batch of %d bytes over limit %d", len(bt), tc.maxBytes)
			}
			d, size, err := Decode(bt)
			if err != nil || size != len(bt) {
				t.Fatal(err)
			}
			if tc.maxRecs > 0 && len(d.Records) > tc.maxRecs {
				t.Fatalf("%d records over limit %d", len(d.Records), tc.maxRecs)
			}
			if d.BaseOffset != next || d.PartitionLeaderEpoch != 4 || d.AppendTimeMs != 5 {
				t.Fatalf("base offset %d want %d", d.BaseOffset, next)
			}
			next = d.LastOffset() + 1
			vs, err := DecodeRecords(&d)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range vs {
				if got == 251 {
					if _, ok := v.Record.(*records.SnapshotFooterRecord); !ok || !d.Control || len(vs) != 1 {
						t.Fatalf("record 251 is %T (control batch %v of %d)", v.Record, d.Control, len(vs))
					}
				} else {
					want := got
					if got > 251 {
						want--
					}
					if p := v.Record.(*records.PartitionRecord); int(p.PartitionId) != want || d.Control {
						t.Fatalf("record %d is partition %d", got, p.PartitionId)
					}
				}
				got++
			}
		}
		if got != n+1 {
			t.Fatalf("decoded %d records", got)
		}
	}
	b := NewBuilder(BuilderOptions{MaxBatchBytes: 100})
	big := &records.TopicRecord{Name: strings.Repeat("x", 100)}
	if err := b.Append(records.Versioned{Record: big}); err == nil || !strings.Contains(err.Error(), "over the 100-byte batch limit") {
		t.Fatalf("oversized record: %v", err)
	}
}

func TestEncodeDecodeRandom(t *testing.T) {
	rnd := rand.New(rand.NewSource(7))
	for iter := 0; iter < 300; iter++ {
		b := Batch{BaseOffset: rnd.Int63(), PartitionLeaderEpoch: rnd.Int31(), Control: rnd.Intn(2) == 0, AppendTimeMs: rnd.Int63()}
		for i := rnd.Intn(20); i > 0; i-- {
			r := Record{TimestampDelta: rnd.Int63n(1000) - 500}
			if rnd.Intn(2) == 0 {
				r.Key = make([]byte, rnd.Intn(5))
				rnd.Read(r.Key)
			}
			if rnd.Intn(5) != 0 {
				r.Value = make([]byte, rnd.Intn(300))
				rnd.Read(r.Value)
			}
			for h := rnd.Intn(3); h > 0; h-- {
				r.Headers = append(r.Headers, Header{Key: "k", Value: []byte{byte(h)}})
			}
			b.Records = append(b.Records, r)
		}
		enc := Encode([]byte{9}, b)[1:]
		d, n, err := Decode(enc)
		if err != nil || n != len(enc) {
			t.Fatalf("decode: %v", err)
		}
		if d.BaseOffset != b.BaseOffset || d.Control != b.Control || d.PartitionLeaderEpoch != b.PartitionLeaderEpoch || len(d.Records) != len(b.Records) {
			t.Fatalf("header mismatch %+v", d)
		}
		for i := range b.Records {
			w, g := b.Records[i], d.Records[i]
			if g.OffsetDelta != int32(i) || !bytes.Equal(g.Key, w.Key) || (g.Key == nil) != (w.Key == nil) || !bytes.Equal(g.Value, w.Value) ||
				(g.Value == nil) != (w.Value == nil) || g.TimestampDelta != w.TimestampDelta || len(g.Headers) != len(w.Headers) {
				t.Fatalf("record %d: got %+v want %+v", i, g, w)
			}
			if RecordSize(&w, int32(i)) <= 0 {
				t.Fatal("size")
			}
		}
	}
}

func TestScanTornTailAndCorruption(t *testing.T) {
	b := NewBuilder(BuilderOptions{MaxRecords: 10})
	for i := 0; i < 35; i++ {
		b.Append(partitionRecord(i))
	}
	b.Flush()
	var log []byte
	var starts []int
	for _, bt := range b.Take() {
		starts = append(starts, len(log))
		log = append(log, bt...)
	}
	count := 0
	tail, err := Scan("seg.log", log, func(pos int64, bt *Batch) error { count += len(bt.Records); return nil })
	if err != nil || tail != nil || count != 35 {
		t.Fatalf("clean scan: %v %v %d", err, tail, count)
	}
	for _, cut := range []int{len(log) - 1, starts[3] + 5, starts[3] + 40} {
		count = 0
		tail, err = Scan("seg.log", log[:cut], func(pos int64, bt *Batch) error { count += len(bt.Records); return nil })
		if err != nil || tail == nil || tail.Offset != int64(starts[3]) || tail.Bytes != cut-starts[3] || count != 30 {
			t.Fatalf("cut %d: err=%v tail=%+v count=%d", cut, err, tail, count)
		}
	}
	bad := append([]byte{}, log...)
	bad[starts[2]+100] ^= 0xff
	_, err = Scan("seg.log", bad, func(int64, *Batch) error { return nil })
	var pe *PositionError
	if !errors.As(err, &pe) || pe.Offset != int64(starts[2]) || !errors.Is(err, ErrCorrupt) ||
		!strings.Contains(err.Error(), "seg.log: batch at byte "+strconv.Itoa(starts[2])+": corrupt batch: CRC-32C mismatch") {
		t.Fatalf("corrupt scan: %v", err)
	}
}

// readAll reads data with a Reader through a reader that returns few bytes
// at a time, and returns what Scan returns for the same data.
func readAll(data []byte) (positions []int64, counts []int, tail *TornTail, err error) {
	r := NewReader(iotest.HalfReader(bytes.NewReader(data)), "seg.log")
	for {
		b, pos, e := r.Next()
		if e == io.EOF {
			return positions, counts, r.Tail, nil
		}
		if e != nil {
			return positions, counts, nil, e
		}
		positions = append(positions, pos)
		counts = append(counts, len(b.Records))
	}
}

func scanAll(data []byte) (positions []int64, counts []int, tail *TornTail, err error) {
	tail, err = Scan("seg.log", data, func(pos int64, b *Batch) error {
		positions = append(positions, pos)
		counts = append(counts, len(b.Records))
		return nil
	})
	return
}

func TestReaderMatchesScan(t *testing.T) {
	b := NewBuilder(BuilderOptions{MaxRecords: 3})
	for i := 0; i < 20; i++ {
		b.Append(partitionRecord(i))
	}
	b.Flush()
	var log []byte
	for _, bt := range b.Take() {
		log = append(log, bt...)
	}
	rnd := rand.New(rand.NewSource(3))
	for iter := 0; iter < 300; iter++ {
		data := append([]byte{}, log...)
		switch iter % 3 {
		case 0:
			data = data[:rnd.Intn(len(data)+1)]
		case 1:
			data[rnd.Intn(len(data))] ^= byte(1 + rnd.Intn(255))
		}
		p1, c1, t1, e1 := scanAll(data)
		p2, c2, t2, e2 := readAll(data)
		if !reflect.DeepEqual(p1, p2) || !reflect.DeepEqual(c1, c2) || (e1 == nil) != (e2 == nil) || (e1 != nil && e1.Error() != e2.Error()) ||
			(t1 == nil) != (t2 == nil) || (t1 != nil && (t1.Offset != t2.Offset || t1.Bytes != t2.Bytes)) {
			t.Fatalf("iter %d: Scan %v %v %+v %v; Reader %v %v %+v %v", iter, p1, c1, t1, e1, p2, c2, t2, e2)
		}
	}
}

func TestAppendAtomic(t *testing.T) {
	b := NewBuilder(BuilderOptions{MaxRecords: 5})
	for i := 0; i < 3; i++ {
		b.Append(partitionRecord(i))
	}
	group := []records.Versioned{partitionRecord(3), partitionRecord(4), partitionRecord(5)}
	if err := b.AppendAtomic(group...); err != nil {
		t.Fatal(err)
	}
	b.Flush()
	bs := b.Take()
	if len(bs) != 2 {
		t.Fatalf("%d batches", len(bs))
	}
	d, _, _ := Decode(bs[1])
	if d.BaseOffset != 3 || len(d.Records) != 3 {
		t.Fatalf("atomic group split: base %d, %d records", d.BaseOffset, len(d.Records))
	}
	if err := b.AppendAtomic(make([]records.Versioned, 6)...); err == nil {
		t.Fatal("6 records with MaxRecords 5: want error")
	}
	many := []records.Versioned{}
	for i := 0; i < 6; i++ {
		many = append(many, partitionRecord(i))
	}
	if err := b.AppendAtomic(many...); err == nil || !strings.Contains(err.Error(), "do not fit in one batch") {
		t.Fatalf("err = %v", err)
	}
}

func TestControlRecords(t *testing.T) {
	hdr := &records.SnapshotHeaderRecord{Version: 0, LastContainedLogTimestamp: 42}
	r, err := ControlRecord(records.Versioned{Record: hdr})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(r.Key, []byte{0, 0, 0, 3}) || len(r.Value) != 11 {
		t.Fatalf("key %x value %x", r.Key, r.Value)
	}
	v, err := DecodeControl(r)
	if err != nil || !reflect.DeepEqual(v.Record, hdr) {
		t.Fatalf("%v %+v", err, v)
	}
	lc := &records.LeaderChangeMessage{Version: 1, LeaderId: 2, Voters: []records.LeaderChangeMessageVoter{{VoterId: 2, VoterDirectoryId: specUUID}}, GrantingVoters: []records.LeaderChangeMessageVoter{}}
	r, _ = ControlRecord(records.Versioned{Record: lc, Version: 1})
	v, err = DecodeControl(r)
	if err != nil || v.Version != 1 || !reflect.DeepEqual(v.Record, lc) {
		t.Fatalf("leader change v1: %v %+v", err, v)
	}
	for _, tc := range []struct {
		r    Record
		want string
	}{
		{Record{Key: []byte{0, 0}, Value: []byte{0}}, "key of 2 byte(s)"},
		{Record{Key: []byte{0xff, 0xff, 0, 3}}, "key version -1"},
		{Record{Key: []byte{0, 0, 0, 1}}, "type 1 (COMMIT)"},
		{Record{Key: []byte{0, 0, 0, 4}, Value: []byte{0, 0, 0, 7}}, "garbage"},
	} {
		if _, err := DecodeControl(tc.r); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err = %v, want %q", tc.r, err, tc.want)
		}
	}
	if _, err := ControlRecord(topicFoo()); err == nil {
		t.Error("ControlRecord of a metadata record: want error")
	}
}

func FuzzReader(f *testing.F) {
	f.Add(readHex(f, "testdata/data_batch.hex"))
	f.Fuzz(func(t *testing.T, in []byte) {
		p1, c1, t1, e1 := scanAll(in)
		p2, c2, t2, e2 := readAll(in)
		if !reflect.DeepEqual(p1, p2) || !reflect.DeepEqual(c1, c2) || (e1 == nil) != (e2 == nil) || (t1 == nil) != (t2 == nil) {
			t.Fatalf("Scan %v %v %+v %v; Reader %v %v %+v %v", p1, c1, t1, e1, p2, c2, t2, e2)
		}
	})
}

func FuzzDecode(f *testing.F) {
	f.Add(readHex(f, "testdata/data_batch.hex"))
	b := NewBuilder(BuilderOptions{})
	b.AppendControl(records.Versioned{Record: &records.SnapshotHeaderRecord{}})
	b.Append(partitionRecord(1))
	b.Flush()
	for _, bt := range b.Take() {
		f.Add(bt)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		checkDecode(t, in)
		// Again with the CRC made right, so that mutations reach the
		// header and record parsing behind the checksum.
		if len(in) >= HeaderSize {
			fixed := append([]byte{}, in...)
			if size, err := BatchSize(fixed); err == nil && size <= len(fixed) {
				reCRC(fixed[:size])
			}
			checkDecode(t, fixed)
		}
	})
}

func checkDecode(t *testing.T, in []byte) {
	{
		d, n, err := Decode(in)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrTruncated) {
				t.Fatalf("error wraps neither ErrCorrupt nor ErrTruncated: %v", err)
			}
			return
		}
		if n > len(in) {
			t.Fatalf("size %d > input %d", n, len(in))
		}
		enc := Encode(nil, d)
		d2, _, err := Decode(enc)
		if err != nil || len(d2.Records) != len(d.Records) {
			t.Fatalf("re-encoded batch does not decode: %v", err)
		}
		DecodeRecords(&d) // must not panic
	}
}

// DecodeReuse decodes like Decode, into the given backing array when it is
// large enough (stale headers of a previous batch do not leak through).
func TestDecodeReuse(t *testing.T) {
	mk := func(n int, headers bool) []byte {
		b := Batch{AppendTimeMs: specTime}
		for i := 0; i < n; i++ {
			r := Record{Value: []byte(strconv.Itoa(i))}
			if headers {
				r.Headers = []Header{{Key: "h", Value: []byte("v")}}
			}
			b.Records = append(b.Records, r)
		}
		return Encode(nil, b)
	}
	scratch := make([]Record, 0, 8)
	for _, tc := range []struct {
		n       int
		headers bool
		reused  bool
	}{{5, true, true}, {3, false, true}, {8, false, true}, {20, false, false}} {
		enc := mk(tc.n, tc.headers)
		want, wn, err := Decode(enc)
		if err != nil {
			t.Fatal(err)
		}
		got, gn, err := DecodeReuse(enc, scratch[:cap(scratch)])
		if err != nil {
			t.Fatal(err)
		}
		if gn != wn || !reflect.DeepEqual(got, want) {
			t.Fatalf("%d records: DecodeReuse differs from Decode:\n%+v\n%+v", tc.n, got, want)
		}
		if same := &got.Records[0] == &scratch[:1][0]; same != tc.reused {
			t.Fatalf("%d records: reused the scratch array = %v, want %v", tc.n, same, tc.reused)
		}
	}
	if _, _, err := DecodeReuse(mk(2, false)[:40], scratch); !errors.Is(err, ErrTruncated) {
		t.Fatalf("truncated batch: err %v, want ErrTruncated", err)
	}
}
