package verify

import (
	"testing"

	"github.com/zk2kraft/zk2kraft/image"
	"github.com/zk2kraft/zk2kraft/kafka"
	"github.com/zk2kraft/zk2kraft/translate/records"
	"github.com/zk2kraft/zk2kraft/zkreader"
)

func diff(obj, field, want, got string, inFlight bool) Difference {
	return Difference{Difference: image.Difference{Section: image.SectionTopics, Object: obj, Field: field, Want: want, Got: got}, InFlight: inFlight}
}

func TestRoundVerdicts(t *testing.T) {
	a := diff("t-0", "leader", "1", "2", false)
	b := diff("t-1", "isr", "[1]", "[1 2]", false)
	fl := diff("t-2", "leader", "3", "1", true)
	cases := []struct {
		name          string
		prev, cur     Round
		wantClean     [2]bool
		wantConfirmed int
		wantSame      bool
	}{
		{"both clean", Round{LagZero: true}, Round{LagZero: true}, [2]bool{true, true}, 0, true},
		{"lag not zero is not clean", Round{LagZero: false}, Round{LagZero: true}, [2]bool{false, true}, 0, true},
		{"open transaction is not clean", Round{LagZero: true, InTransaction: true}, Round{LagZero: true}, [2]bool{false, true}, 0, true},
		{"same mismatch twice", Round{LagZero: true, Differences: []Difference{a}, Mismatches: 1}, Round{LagZero: true, Differences: []Difference{a}, Mismatches: 1}, [2]bool{false, false}, 1, true},
		{"mismatch gone", Round{LagZero: true, Differences: []Difference{a}, Mismatches: 1}, Round{LagZero: true, Differences: []Difference{b}, Mismatches: 1}, [2]bool{false, false}, 0, false},
		{"in flight never confirmed", Round{Differences: []Difference{fl}, InFlight: 1}, Round{Differences: []Difference{fl}, InFlight: 1}, [2]bool{false, false}, 0, true},
		{"one of two confirmed", Round{LagZero: true, Differences: []Difference{a, b}, Mismatches: 2}, Round{LagZero: true, Differences: []Difference{a}, Mismatches: 1}, [2]bool{false, false}, 1, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := [2]bool{clean(&c.prev), clean(&c.cur)}; got != c.wantClean {
				t.Errorf("clean = %v, want %v", got, c.wantClean)
			}
			if got := len(confirmedMismatches(&c.prev, &c.cur)); got != c.wantConfirmed {
				t.Errorf("confirmed = %d, want %d", got, c.wantConfirmed)
			}
			if got := sameMismatches(&c.prev, &c.cur); got != c.wantSame {
				t.Errorf("same = %v, want %v", got, c.wantSame)
			}
		})
	}
}

func TestPosition(t *testing.T) {
	cases := []struct {
		meta map[string]string
		want int64
		ok   bool
	}{
		{map[string]string{"mirror.zxid": "0x10000001e", "migrate.snapshot_zxid": "5"}, 0x10000001e, true},
		{map[string]string{"migrate.snapshot_zxid": "4294967326"}, 4294967326, true},
		{map[string]string{"mirror.zxid": "garbage", "migrate.snapshot_zxid": "7"}, 7, true},
		{map[string]string{}, 0, false},
	}
	for _, c := range cases {
		got, ok := Position(c.meta, DefaultPositionKeys)
		if got != c.want || ok != c.ok {
			t.Errorf("Position(%v) = %d, %v; want %d, %v", c.meta, got, ok, c.want, c.ok)
		}
	}
}

// TestObjectZxids: a difference is dated by the znodes behind its object;
// an object ZooKeeper does not hold gets the newest zxid of the read.
func TestObjectZxids(t *testing.T) {
	id := kafka.DerivedUUID("t")
	s := &zkreader.Snapshot{
		Topics: []zkreader.Topic{{Name: "orders", TopicID: &id, Stat: zkreader.Stat{Czxid: 10, Mzxid: 10},
			Partitions: []zkreader.Partition{{ID: 0, Replicas: []int32{1}, State: &zkreader.PartitionState{Stat: zkreader.Stat{Czxid: 10, Mzxid: 42}}}}},
			{Name: "orders-eu-2", TopicID: &id, Stat: zkreader.Stat{Czxid: 11, Mzxid: 12},
				Partitions: []zkreader.Partition{{ID: 0}, {ID: 3, State: &zkreader.PartitionState{Stat: zkreader.Stat{Mzxid: 44}}}}}},
		TopicConfigs:  []zkreader.EntityConfig{{Name: "orders", Stat: zkreader.Stat{Mzxid: 30}}},
		BrokerConfigs: []zkreader.EntityConfig{{Name: "<default>", Stat: zkreader.Stat{Mzxid: 50}}},
	}
	z := objectZxids(s)
	cases := []struct {
		section, object string
		want            int64
	}{
		{image.SectionTopics, "topic orders", 10},
		{image.SectionTopics, "orders-0", 42},
		{image.SectionConfigs, image.ConfigResource{Type: 2, Name: "orders"}.String(), 30},
		{image.SectionConfigs, image.ConfigResource{Type: 4, Name: ""}.String(), 50},
		{image.SectionTopics, "topic gone", 50},
		{image.SectionTopics, "orders-7", 50}, // no such partition
		{image.SectionTopics, "orders-eu-2-0", 12},
		{image.SectionTopics, "orders-eu-2-3", 44},
		{image.SectionTopics, "topic orders-eu-2", 12},
	}
	for _, c := range cases {
		if got := z.of(image.Difference{Section: c.section, Object: c.object}); got != c.want {
			t.Errorf("%s %s: zxid %d, want %d", c.section, c.object, got, c.want)
		}
	}
}

func TestTouched(t *testing.T) {
	id := kafka.DerivedUUID("orders")
	name := "orders"
	tc := &touched{objects: map[string]bool{}, topics: map[string]bool{}, sections: map[string]bool{}}
	names := map[kafka.UUID]string{}
	resolve := func(u kafka.UUID) (string, bool) { n, ok := names[u]; return n, ok }
	user := "alice"
	for _, v := range []records.Versioned{
		{Record: &records.TopicRecord{Name: name, TopicId: id}},
		{Record: &records.PartitionChangeRecord{TopicId: id, PartitionId: 3}},
		{Record: &records.ConfigRecord{ResourceType: 4, ResourceName: "1", Name: "x"}},
		{Record: &records.ClientQuotaRecord{Entity: []records.ClientQuotaRecordEntityData{{EntityType: "user", EntityName: &user}}, Key: "k"}},
	} {
		if !tc.add(v, names, resolve) {
			t.Fatalf("add %T", v.Record)
		}
	}
	if tc.add(records.Versioned{Record: &records.RemoveTopicRecord{TopicId: kafka.DerivedUUID("unknown")}}, names, resolve) {
		t.Error("an unresolvable topic id was accepted")
	}
	cases := []struct {
		d    image.Difference
		want bool
	}{
		{image.Difference{Section: image.SectionTopics, Object: "topic orders"}, true},
		{image.Difference{Section: image.SectionTopics, Object: "orders-3"}, true},
		{image.Difference{Section: image.SectionTopics, Object: "orders-eu-3"}, false},
		{image.Difference{Section: image.SectionConfigs, Object: image.ConfigResource{Type: 2, Name: "orders"}.String()}, true},
		{image.Difference{Section: image.SectionConfigs, Object: image.ConfigResource{Type: 4, Name: "1"}.String()}, true},
		{image.Difference{Section: image.SectionConfigs, Object: image.ConfigResource{Type: 4, Name: "2"}.String()}, false},
		{image.Difference{Section: image.SectionClientQuotas, Object: image.EntityKey([]image.EntityPart{{Type: "user", Name: &user}})}, true},
		{image.Difference{Section: image.SectionDelegationTokens, Object: "token t1"}, false},
	}
	for _, c := range cases {
		if got := tc.has(c.d); got != c.want {
			t.Errorf("has(%s %s) = %v, want %v", c.d.Section, c.d.Object, got, c.want)
		}
	}
}
