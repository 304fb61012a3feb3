package zkreader

import (
	"reflect"
	"testing"
)

var fastModelSeeds = []string{
	`{"controller_epoch":7,"leader":1,"version":1,"leader_epoch":12,"isr":[1,2,3]}`,
	` { "version" : 1 , "leader" : -1 , "leader_epoch" : 0 , "controller_epoch" : 0 , "isr" : [ ] , "leader_recovery_state" : 1 } `,
	`{"version":1,"leader":-3,"leader_epoch":0,"controller_epoch":0,"isr":[1]}`,
	`{"version":1,"leader":1,"leader_epoch":0,"controller_epoch":0,"isr":[1,1]}`,
	`{"version":1,"leader":1,"leader_epoch":0,"controller_epoch":0,"isr":[1],"leader_recovery_state":2}`,
	`{"version":3,"partitions":{"0":[1,2,3],"1":[2,3,1]},"adding_replicas":{},"removing_replicas":{},"topic_id":"HR6bHVxbSi-Kawx-Py0aCQ"}`,
	`{"version":1,"partitions":{"1":[1],"10":[2],"2":[3],"0":[4]}}`,
	`{"version":1,"partitions":{"5":[1],"7":[2]}}`,
	`{"version":1,"partitions":{"00":[1],"0":[2]}}`,
	`{"version":1,"partitions":{"0":[1],"0":[2]}}`,
	`{"version":2,"partitions":{"0":[]}}`,
	`{"version":2,"partitions":{}}`,
	`{"version":2,"partitions":{"0":[1,1]}}`,
	`{"version":3,"partitions":{"0":[1]},"topic_id":"AAAAAAAAAAAAAAAAAAAAAA"}`,
}

func init() {
	// 80 partitions with a gap, in reverse: the sorting path of a big topic
	big := `{"version":1,"partitions":{`
	for i := 80; i >= 0; i-- {
		if i == 5 {
			continue
		}
		big += `"` + itoa(i) + `":[1,2]`
		if i > 0 {
			big += ","
		}
	}
	fastModelSeeds = append(fastModelSeeds, big+"}}")
}

// TestFastModelPaths: the model fast paths accept the plain shapes Kafka
// writes and agree with the full parsers (seeds of FuzzFastModelAgrees).
func TestFastModelPaths(t *testing.T) {
	accepted := 0
	for _, s := range fastModelSeeds {
		if checkFastModel(t, []byte(s)) {
			accepted++
		}
	}
	if accepted < 5 {
		t.Fatalf("fast paths accepted only %d of the plain seeds", accepted)
	}
}

// FuzzFastModelAgrees: whenever fastStateModel or fastTopicModel accepts a
// znode, ParsePartitionState / ParseTopic return a deep-equal value and no
// finding.
func FuzzFastModelAgrees(f *testing.F) {
	for _, s := range fastModelSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkFastModel(t, data) })
}

func checkFastModel(t *testing.T, data []byte) (accepted bool) {
	t.Helper()
	st := Stat{Czxid: 1, Mzxid: 2, Version: 3}
	var a stateArena
	if fast, ok := fastStateModel(&a, data, st); ok {
		accepted = true
		slow, fs := ParsePartitionState("/s", data, st)
		if fs != nil || !reflect.DeepEqual(fast, slow) {
			t.Fatalf("state %q:\nfast %+v\nslow %+v %v", data, fast, slow, fs)
		}
		if cap(fast.ISR) != len(fast.ISR) {
			t.Fatalf("state %q: ISR shares capacity with the arena", data)
		}
	}
	if fast, ok := fastTopicModel("/brokers/topics/t", data, st); ok {
		accepted = true
		slow, fs := ParseTopic("/brokers/topics/t", data, st)
		if fs != nil || !reflect.DeepEqual(fast, slow) {
			t.Fatalf("topic %q:\nfast %+v\nslow %+v %v", data, fast, slow, fs)
		}
	}
	return accepted
}

// BenchmarkFastModel: the model fast paths against the full parsers, on
// the znodes a large cluster has by the million (partition states) and
// thousand (topics of 50 partitions), as Kafka writes them.
func BenchmarkFastModel(b *testing.B) {
	state := []byte(`{"controller_epoch":1,"leader":3,"version":1,"leader_epoch":0,"isr":[3,4,5]}`)
	topic := `{"partitions":{`
	for i := 0; i < 50; i++ {
		if i > 0 {
			topic += ","
		}
		topic += `"` + itoa(i) + `":[` + itoa(i%12) + `,` + itoa((i+1)%12) + `,` + itoa((i+2)%12) + `]`
	}
	tb := []byte(topic + `},"topic_id":"HR6bHVxbSi-Kawx-Py0aCQ","adding_replicas":{},"removing_replicas":{},"version":3}`)
	st := Stat{Czxid: 1}
	var a stateArena
	for _, c := range []struct {
		name string
		f    func() bool
	}{
		{"state/fast", func() bool { _, ok := fastStateModel(&a, state, st); return ok }},
		{"state/full", func() bool { _, f := ParsePartitionState("/s", state, st); return f == nil }},
		{"topic/fast", func() bool { _, ok := fastTopicModel("/brokers/topics/t", tb, st); return ok }},
		{"topic/full", func() bool { _, f := ParseTopic("/brokers/topics/t", tb, st); return f == nil }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if !c.f() {
					b.Fatal("not parsed")
				}
			}
		})
	}
}
