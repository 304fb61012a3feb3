package image

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/zk2kraft/zk2kraft/kafka"
	"github.com/zk2kraft/zk2kraft/translate/records"
)

// randomRecord returns a record that may or may not fit the image.
func randomRecord(r *rand.Rand) records.Versioned {
	topic := func() (string, kafka.UUID) {
		n := fmt.Sprintf("t%d", r.IntN(4))
		if r.IntN(3) == 0 {
			return "foo", idFoo
		}
		return n, kafka.DerivedUUID("rt", n)
	}
	ints := func() []int32 {
		out := make([]int32, 1+r.IntN(3))
		for i := range out {
			out[i] = int32(1 + r.IntN(5))
		}
		return out
	}
	switch r.IntN(19) {
	case 0:
		n, id := topic()
		return v(&records.TopicRecord{Name: n, TopicId: id})
	case 1, 2:
		_, id := topic()
		reps := ints()
		return v(&records.PartitionRecord{PartitionId: int32(r.IntN(4)), TopicId: id, Replicas: reps, Isr: reps[:1], Leader: reps[0], LeaderEpoch: int32(r.IntN(9)), PartitionEpoch: int32(r.IntN(9))})
	case 3, 4:
		_, id := topic()
		c := &records.PartitionChangeRecord{PartitionId: int32(r.IntN(4)), TopicId: id, Leader: -2, LeaderRecoveryState: -1}
		if r.IntN(2) == 0 {
			c.Isr = ints()
		}
		if r.IntN(2) == 0 {
			c.Leader = int32(r.IntN(4))
		}
		if r.IntN(3) == 0 {
			c.Replicas = ints()
		}
		return vv(c, 1)
	case 5:
		_, id := topic()
		return v(&records.RemoveTopicRecord{TopicId: id})
	case 6:
		n, _ := topic()
		c := &records.ConfigRecord{ResourceType: []int8{2, 4}[r.IntN(2)], ResourceName: n, Name: fmt.Sprintf("k%d", r.IntN(3))}
		if r.IntN(3) > 0 {
			c.Value = ptr(fmt.Sprint(r.IntN(100)))
		}
		return v(c)
	case 7:
		var name *string
		if r.IntN(2) == 0 {
			name = ptr("c")
		}
		return v(&records.ClientQuotaRecord{Entity: []records.ClientQuotaRecordEntityData{{EntityType: "client-id", EntityName: name}, {EntityType: "user"}},
			Key: fmt.Sprintf("q%d", r.IntN(2)), Value: float64(r.IntN(10)), Remove: r.IntN(3) == 0})
	case 8:
		return v(&records.UserScramCredentialRecord{Name: fmt.Sprintf("u%d", r.IntN(2)), Mechanism: int8(1 + r.IntN(2)), Salt: []byte{byte(r.IntN(9))}, Iterations: 4096})
	case 9:
		return v(&records.RemoveUserScramCredentialRecord{Name: []string{"alice", "u0", "u1"}[r.IntN(3)], Mechanism: int8(1 + r.IntN(2))})
	case 10:
		return v(&records.AccessControlEntryRecord{Id: kafka.DerivedUUID("acl", fmt.Sprint(r.IntN(3))), ResourceType: 2, ResourceName: "x", PatternType: 3, Principal: "User:x", Host: "*", Operation: 3, PermissionType: 3})
	case 11:
		ids := []kafka.UUID{aclID, kafka.DerivedUUID("acl", "0"), kafka.DerivedUUID("acl", "1")}
		return v(&records.RemoveAccessControlEntryRecord{Id: ids[r.IntN(3)]})
	case 12:
		return v(&records.ProducerIdsRecord{BrokerId: 1, BrokerEpoch: -1, NextProducerId: int64(2500 + r.IntN(2000))})
	case 13:
		if r.IntN(2) == 0 {
			return v(&records.RemoveDelegationTokenRecord{TokenId: []string{"tok", "t2"}[r.IntN(2)]})
		}
		return v(&records.DelegationTokenRecord{TokenId: "t2", Owner: "User:x", Renewers: []string{"User:y"}})
	case 14:
		return v(&records.FeatureLevelRecord{Name: []string{"group.version", MetadataVersionFeature}[r.IntN(2)], FeatureLevel: int16(r.IntN(22))})
	case 15:
		return v(&records.ZkMigrationStateRecord{ZkMigrationState: int8(r.IntN(5))})
	case 16:
		return vv(&records.RegisterBrokerRecord{BrokerId: int32(1 + r.IntN(3)), BrokerEpoch: int64(10 + r.IntN(2)), Fenced: r.IntN(2) == 0,
			EndPoints: []records.RegisterBrokerRecordBrokerEndpoint{{Name: "PLAINTEXT", Host: "h", Port: 9092}}}, 3)
	case 17:
		id, ep := int32(1+r.IntN(3)), int64(10+r.IntN(2))
		switch r.IntN(4) {
		case 0:
			return v(&records.FenceBrokerRecord{Id: id, Epoch: ep})
		case 1:
			return v(&records.UnfenceBrokerRecord{Id: id, Epoch: ep})
		case 2:
			return v(&records.UnregisterBrokerRecord{BrokerId: id, BrokerEpoch: ep})
		}
		return vv(&records.BrokerRegistrationChangeRecord{BrokerId: id, BrokerEpoch: ep, Fenced: int8(r.IntN(3) - 1), InControlledShutdown: int8(r.IntN(2)), LogDirs: []kafka.UUID{{9}}}, 2)
	}
	return v(&records.RegisterControllerRecord{ControllerId: int32(r.IntN(2)), ZkMigrationReady: r.IntN(2) == 0})
}

// sameImage compares everything an image holds, ACL ids and transaction state included.
func sameImage(t *testing.T, what string, a, b *Image) {
	t.Helper()
	if d := Diff(a, b); len(d) != 0 {
		t.Fatalf("%s: %v", what, d)
	}
	if !reflect.DeepEqual(a.Digests(), b.Digests()) || !reflect.DeepEqual(a.Counts(), b.Counts()) || !reflect.DeepEqual(a.Features(), b.Features()) {
		t.Fatalf("%s: digests, counts or features differ", what)
	}
	at, an := a.InTransaction()
	bt, bn := b.InTransaction()
	if at != bt || an != bn {
		t.Fatalf("%s: transaction state %v %q vs %v %q", what, at, an, bt, bn)
	}
}

// A failed batch leaves the image exactly as before; a successful one is the
// same as applying its records one by one.
func TestApplyBatchAllOrNothing(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	failures := 0
	for round := 0; round < 3000; round++ {
		im := base(t)
		if round%3 == 0 { // sometimes inside an open transaction
			if err := im.Apply(v(&records.BeginTransactionRecord{Name: ptr("tx")})); err != nil {
				t.Fatal(err)
			}
		}
		before := im.Clone()
		batch := make([]records.Versioned, 1+r.IntN(12))
		for i := range batch {
			batch[i] = randomRecord(r)
		}
		n, err := im.ApplyBatch(batch)
		if err != nil {
			failures++
			sameImage(t, fmt.Sprintf("round %d: failed batch (at %d: %v)", round, n, err), before, im)
			continue
		}
		one := before.Clone()
		for _, x := range batch {
			if err := one.Apply(x); err != nil {
				t.Fatalf("round %d: batch accepted what Apply rejects: %v", round, err)
			}
		}
		sameImage(t, fmt.Sprintf("round %d: batch vs one by one", round), one, im)
	}
	if failures < 100 {
		t.Fatalf("only %d failing batches: the generator is too tame", failures)
	}
}

// Begin, random accepted records, Abort gives back the image before Begin;
// End keeps them.
func TestTransactionAbortUndoesEverything(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for round := 0; round < 1000; round++ {
		im := base(t)
		before := im.Clone()
		if err := im.Apply(v(&records.BeginTransactionRecord{Name: ptr("ZK Migration")})); err != nil {
			t.Fatal(err)
		}
		accepted := 0
		for i := 0; i < 30; i++ {
			if im.Apply(randomRecord(r)) == nil {
				accepted++
			}
		}
		mid := im.Clone() // a clone keeps the journal: aborting it works too
		if err := im.Apply(v(&records.AbortTransactionRecord{Reason: ptr("Controller failover")})); err != nil {
			t.Fatal(err)
		}
		sameImage(t, fmt.Sprintf("round %d (%d records) abort", round, accepted), before, im)
		if err := mid.Apply(v(&records.AbortTransactionRecord{})); err != nil {
			t.Fatal(err)
		}
		sameImage(t, fmt.Sprintf("round %d abort of a clone", round), before, mid)
		if len(im.journal) != 0 || len(mid.journal) != 0 {
			t.Fatalf("journal not emptied: %d %d", len(im.journal), len(mid.journal))
		}
	}
	// A batch holding an abort and then a bad record is undone whole.
	im := base(t)
	if err := im.Apply(v(&records.BeginTransactionRecord{})); err != nil {
		t.Fatal(err)
	}
	if err := im.Apply(v(&records.TopicRecord{Name: "bar", TopicId: idBar})); err != nil {
		t.Fatal(err)
	}
	before := im.Clone()
	if _, err := im.ApplyBatch([]records.Versioned{v(&records.AbortTransactionRecord{}), v(&records.EndTransactionRecord{})}); err == nil {
		t.Fatal("End after Abort accepted")
	}
	sameImage(t, "batch with abort", before, im)
	if err := im.Apply(v(&records.EndTransactionRecord{})); err != nil || len(im.journal) != 0 {
		t.Fatalf("end: %v, journal %d", err, len(im.journal))
	}
}

// Outside transactions and batches nothing is journaled.
func TestNoJournalOutsideTransactions(t *testing.T) {
	im := base(t)
	r := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 500; i++ {
		im.Apply(randomRecord(r))
		if open, _ := im.InTransaction(); !open && len(im.journal) != 0 {
			t.Fatalf("journal has %d entries outside a transaction", len(im.journal))
		}
	}
}

// A new topic followed by its partitions (the copy phase's batches) gets its
// partition slice sized once; the result is the same as one by one, and a
// failing record at the end still undoes the whole batch.
func TestApplyBatchNewTopicPartitions(t *testing.T) {
	idA, idB := kafka.DerivedUUID("hint", "a"), kafka.DerivedUUID("hint", "b")
	part := func(id kafka.UUID, p int32) records.Versioned {
		return v(&records.PartitionRecord{PartitionId: p, TopicId: id, Replicas: []int32{1, 2}, Isr: []int32{1}, Leader: 1})
	}
	batch := []records.Versioned{v(&records.TopicRecord{Name: "a", TopicId: idA})}
	for p := int32(0); p < 5; p++ {
		batch = append(batch, part(idA, p*2)) // 0 2 4 6 8
	}
	batch = append(batch, v(&records.TopicRecord{Name: "b", TopicId: idB}), part(idB, 0),
		part(idA, 3), part(idA, 20)) // into the middle and past the hint
	for _, failing := range []bool{true, false} {
		im := base(t)
		before := im.Clone()
		b := batch
		if failing {
			b = append(b[:len(b):len(b)], part(kafka.DerivedUUID("hint", "none"), 0))
		}
		n, err := im.ApplyBatch(b)
		if failing {
			if err == nil || n != len(b)-1 {
				t.Fatalf("failing batch: n=%d err=%v, want an error at record %d", n, err, len(b)-1)
			}
			sameImage(t, "failed batch", before, im)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		one := before.Clone()
		for _, x := range b {
			if err := one.Apply(x); err != nil {
				t.Fatal(err)
			}
		}
		sameImage(t, "batch vs one by one", one, im)
		var ids []int32
		for _, p := range im.TopicByID(idA).Partitions {
			ids = append(ids, p.ID)
		}
		if want := []int32{0, 2, 3, 4, 6, 8, 20}; !reflect.DeepEqual(ids, want) {
			t.Fatalf("topic a partitions %v, want %v", ids, want)
		}
	}
}
