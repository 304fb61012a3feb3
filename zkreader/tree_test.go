package zkreader

import (
	"context"
	"path"
	"sort"
	"strings"
	"testing"
)

// mapTree is a Tree held in a map of full paths (children derived).
type mapTree map[string][]byte

func (m mapTree) Get(p string) ([]byte, Stat, bool) {
	d, ok := m[p]
	return d, Stat{Czxid: int64(len(p)), Mzxid: int64(len(d)), Version: 1}, ok
}

func (m mapTree) Children(p string) ([]string, bool) {
	if _, ok := m[p]; !ok {
		return nil, false
	}
	var out []string
	for k := range m {
		if k != "/" && path.Dir(k) == p {
			out = append(out, path.Base(k))
		}
	}
	sort.Strings(out)
	return out, true
}

// TestReadTreeStates: ReadTree's batched partition-state reads give what a
// read of each state znode gives: states, a malformed one's finding at its
// path (and no state), a missing one (no state, no finding), a stray
// partition znode's finding, and one count per znode read.
func TestReadTreeStates(t *testing.T) {
	const good = `{"controller_epoch":1,"leader":1,"version":1,"leader_epoch":0,"isr":[1,2]}`
	m := mapTree{"/": nil, "/brokers": nil, "/brokers/topics": nil}
	add := func(p, data string) {
		for q := path.Dir(p); q != "/"; q = path.Dir(q) {
			if _, ok := m[q]; !ok {
				m[q] = nil
			}
		}
		m[p] = []byte(data)
	}
	parts := `{"version":1,"partitions":{` // 150 partitions: more than one kindStates op
	for i := 0; i < 150; i++ {
		if i > 0 {
			parts += ","
		}
		parts += `"` + itoa(i) + `":[1,2]`
	}
	add("/brokers/topics/big", parts+"}}")
	for i := 0; i < 150; i++ {
		switch i {
		case 7: // missing state znode
			m["/brokers/topics/big/partitions/7"] = nil
		case 9:
			add("/brokers/topics/big/partitions/9/state", `{"version":1,"leader":1,"leader_epoch":"1","controller_epoch":1,"isr":[1]}`)
		case 11: // not the plain shape, but valid: the full parser reads it
			add("/brokers/topics/big/partitions/11/state", `{"version":1,"leader":1,"leader_epoch":3,"controller_epoch":1,"isr":[1],"extra":null}`)
		default:
			add("/brokers/topics/big/partitions/"+itoa(i)+"/state", good)
		}
	}
	add("/brokers/topics/big/partitions/500/state", good) // stray
	snap, err := ReadTree(context.Background(), m, TreeOptions{Source: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Topics) != 1 || len(snap.Topics[0].Partitions) != 150 {
		t.Fatalf("topics %+v", snap.Topics)
	}
	for _, p := range snap.Topics[0].Partitions {
		switch {
		case p.ID == 7 || p.ID == 9:
			if p.State != nil {
				t.Fatalf("partition %d: state %+v, want none", p.ID, p.State)
			}
		case p.State == nil:
			t.Fatalf("partition %d: no state", p.ID)
		case p.ID == 11 && p.State.LeaderEpoch != 3:
			t.Fatalf("partition 11: %+v", p.State)
		case p.ID != 11:
			want, _ := ParsePartitionState("", []byte(good), p.State.Stat)
			if p.State.Leader != want.Leader || len(p.State.ISR) != 2 || p.State.Stat.Mzxid != int64(len(good)) {
				t.Fatalf("partition %d: %+v", p.ID, p.State)
			}
		}
	}
	var codes []string
	for _, f := range snap.Findings {
		codes = append(codes, f.Code+" "+f.Path+" "+f.Field)
	}
	want := []string{
		CodeStrayPartition + " /brokers/topics/big/partitions/500 ",
		CodeMalformed + " /brokers/topics/big/partitions/9/state leader_epoch",
	}
	if strings.Join(codes, "\n") != strings.Join(want, "\n") {
		t.Fatalf("findings:\n%s\nwant:\n%s", strings.Join(codes, "\n"), strings.Join(want, "\n"))
	}
	// every root op (18) + topic data and partition list + one per listed
	// partition but the stray one (150)
	if wantReads := int64(18 + 2 + 150); snap.ZnodesRead != wantReads {
		t.Fatalf("ZnodesRead %d, want %d", snap.ZnodesRead, wantReads)
	}
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}
