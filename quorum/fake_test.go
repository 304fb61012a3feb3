package quorum

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"sort"
	"strings"
	"sync"
)

// testBatch encodes values as the records of a RecordBatch v2 (spec §4.3).
func testBatch(values ...string) []byte {
	b := make([]byte, batchHeaderLen)
	b[batchMagicOffset] = 2
	binary.BigEndian.PutUint32(b[23:27], uint32(len(values)-1))
	binary.BigEndian.PutUint64(b[27:35], 1700000000000)
	binary.BigEndian.PutUint64(b[35:43], 1700000000000)
	binary.BigEndian.PutUint64(b[43:51], ^uint64(0))
	binary.BigEndian.PutUint16(b[51:53], 0xffff)
	binary.BigEndian.PutUint32(b[53:57], 0xffffffff)
	binary.BigEndian.PutUint32(b[57:61], uint32(len(values)))
	for i, v := range values {
		var r []byte
		r = append(r, 0)                          // attributes
		r = binary.AppendVarint(r, 0)             // timestamp delta
		r = binary.AppendVarint(r, int64(i))      // offset delta
		r = binary.AppendVarint(r, -1)            // key length
		r = binary.AppendVarint(r, int64(len(v))) // value length
		r = append(r, v...)                       // value
		r = binary.AppendVarint(r, 0)             // headers
		b = binary.AppendVarint(b, int64(len(r)))
		b = append(b, r...)
	}
	binary.BigEndian.PutUint32(b[8:12], uint32(len(b)-12))
	binary.BigEndian.PutUint32(b[17:21], crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
	return b
}

// testBatchValues decodes what testBatch encoded.
func testBatchValues(b []byte) ([]string, error) {
	if err := validateRecordBatch(b); err != nil {
		return nil, err
	}
	n := int(binary.BigEndian.Uint32(b[57:61]))
	off := batchHeaderLen
	var out []string
	for i := 0; i < n; i++ {
		l, k := binary.Varint(b[off:])
		if k <= 0 {
			return nil, fmt.Errorf("record %d: bad length", i)
		}
		off += k
		r := b[off : off+int(l)]
		off += int(l)
		p := 1
		for j := 0; j < 3; j++ { // timestamp delta, offset delta, key length
			_, k := binary.Varint(r[p:])
			p += k
		}
		vl, k := binary.Varint(r[p:])
		p += k
		out = append(out, string(r[p:p+int(vl)]))
	}
	return out, nil
}

// kvMachine is a fake Machine for unit tests: each record is "key=value";
// a record starting with "!" contradicts the state (the batch is rejected).
type kvMachine struct {
	mu sync.Mutex
	kv map[string]string
}

func newKV() Machine { return &kvMachine{kv: map[string]string{}} }

func (m *kvMachine) ApplyBatch(b []byte, base int64, epoch int32) (int, error) {
	vals, err := testBatchValues(b)
	if err != nil {
		return 0, err
	}
	// Records apply one by one, so a contradiction after the first record
	// leaves the state partly changed: the FSM must roll it back.
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, v := range vals {
		if strings.HasPrefix(v, "!") {
			err := fmt.Errorf("record %d (offset %d): %q contradicts the state", i, base+int64(i), v)
			if i > 0 {
				return 0, &PartialApplyError{Applied: i, Err: err}
			}
			return 0, err
		}
		k, val, _ := strings.Cut(v, "=")
		m.kv[k] = val
	}
	return len(vals), nil
}

func (m *kvMachine) get(k string) (string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.kv[k]
	return v, ok
}

func (m *kvMachine) snapshotMap() map[string]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := make(map[string]string, len(m.kv))
	for k, v := range m.kv {
		c[k] = v
	}
	return c
}

type kvCheckpoint map[string]string

func (m *kvMachine) Capture() (Checkpoint, error) { return kvCheckpoint(m.snapshotMap()), nil }

func (c kvCheckpoint) WriteCheckpoint(w io.Writer, pos Position) error {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprintf(w, "KV %d %d\n", pos.LastOffset, len(keys))
	for _, k := range keys {
		fmt.Fprintf(w, "%s=%s\n", k, c[k])
	}
	return nil
}

func (m *kvMachine) Restore(r io.Reader) error {
	br := bufio.NewReader(r)
	var last int64
	var n int
	if _, err := fmt.Fscanf(br, "KV %d %d\n", &last, &n); err != nil {
		return fmt.Errorf("kv checkpoint header: %w", err)
	}
	kv := map[string]string{}
	for i := 0; i < n; i++ {
		line, err := br.ReadString('\n')
		if err != nil {
			return fmt.Errorf("kv checkpoint line %d: %w", i, err)
		}
		k, v, _ := strings.Cut(strings.TrimSuffix(line, "\n"), "=")
		kv[k] = v
	}
	m.mu.Lock()
	m.kv = kv
	m.mu.Unlock()
	return nil
}
