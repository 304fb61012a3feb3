package image

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/zk2kraft/zk2kraft/kafka"
	"github.com/zk2kraft/zk2kraft/translate/records"
)

func ptr[T any](v T) *T { return &v }

var (
	idFoo = kafka.DerivedUUID("test", "foo")
	idBar = kafka.DerivedUUID("test", "bar")
	aclID = kafka.DerivedUUID("test", "acl")
)

func v(r records.Record) records.Versioned { return records.Versioned{Record: r} }

func vv(r records.Record, ver int16) records.Versioned {
	return records.Versioned{Record: r, Version: ver}
}

// base is an image with metadata.version 3.9, one broker, topic foo with two
// partitions, a config, a quota, a SCRAM credential, an ACL, a producer-id
// block and a delegation token.
func base(t *testing.T) *Image {
	t.Helper()
	im := New()
	for _, r := range []records.Versioned{
		v(&records.FeatureLevelRecord{Name: MetadataVersionFeature, FeatureLevel: 21}),
		v(&records.ZkMigrationStateRecord{ZkMigrationState: 1}),
		vv(&records.RegisterBrokerRecord{BrokerId: 1, BrokerEpoch: 10, Fenced: true, IsMigratingZkBroker: true,
			EndPoints: []records.RegisterBrokerRecordBrokerEndpoint{{Name: "PLAINTEXT", Host: "h", Port: 9092}}}, 3),
		v(&records.TopicRecord{Name: "foo", TopicId: idFoo}),
		v(&records.PartitionRecord{PartitionId: 1, TopicId: idFoo, Replicas: []int32{1, 2, 3}, Isr: []int32{1, 2}, Leader: 1, LeaderEpoch: 5, PartitionEpoch: 7}),
		v(&records.PartitionRecord{PartitionId: 0, TopicId: idFoo, Replicas: []int32{2, 3, 1}, Isr: []int32{2, 3, 1}, Leader: 2, LeaderRecoveryState: 1}),
		v(&records.ConfigRecord{ResourceType: 2, ResourceName: "foo", Name: "retention.ms", Value: ptr("1000")}),
		v(&records.ConfigRecord{ResourceType: 4, ResourceName: "", Name: "log.retention.ms", Value: ptr("5")}),
		v(&records.ClientQuotaRecord{Entity: []records.ClientQuotaRecordEntityData{{EntityType: "client-id", EntityName: ptr("c")}, {EntityType: "user"}}, Key: "producer_byte_rate", Value: 100}),
		v(&records.UserScramCredentialRecord{Name: "alice", Mechanism: 1, Salt: []byte("salt"), StoredKey: []byte("sk"), ServerKey: []byte("svk"), Iterations: 4096}),
		v(&records.AccessControlEntryRecord{Id: aclID, ResourceType: 2, ResourceName: "foo", PatternType: 3, Principal: "User:alice", Host: "*", Operation: 3, PermissionType: 3}),
		v(&records.ProducerIdsRecord{BrokerId: 3, BrokerEpoch: -1, NextProducerId: 3000}),
		v(&records.DelegationTokenRecord{TokenId: "tok", Owner: "User:alice", Requester: "User:alice", Renewers: []string{"User:bob"}, MaxTimestamp: 100, ExpirationTimestamp: 50}),
	} {
		if err := im.Apply(r); err != nil {
			t.Fatalf("apply %s: %v", r.Record.TypeName(), err)
		}
	}
	return im
}

func TestApplyBuildsImage(t *testing.T) {
	im := base(t)
	foo := im.TopicByName("foo")
	if foo == nil || foo.ID != idFoo || len(foo.Partitions) != 2 || foo.Partitions[0].ID != 0 || foo.Partitions[1].ID != 1 {
		t.Fatalf("topic foo = %+v", foo)
	}
	if p := foo.Partition(0); p.LeaderRecoveryState != 1 || p.Leader != 2 {
		t.Errorf("partition 0 = %+v", p)
	}
	if got := im.Config(ConfigResource{4, ""}); got["log.retention.ms"] != "5" {
		t.Errorf("default broker config = %v", got)
	}
	q := im.QuotaEntities()
	if len(q) != 1 || EntityKey(q[0].Entity) != "user=<default>,client-id=c" {
		t.Errorf("quota entity order: %v", EntityKey(q[0].Entity))
	}
	want := map[string]int{SectionFeatures: 1, SectionCluster: 1, "brokers": 1, "controllers": 0, SectionTopics: 1, "partitions": 2,
		SectionConfigs: 2, SectionClientQuotas: 1, SectionProducerIDs: 1, SectionACLs: 1, SectionScram: 1, SectionDelegationTokens: 1}
	if got := im.Counts(); !reflect.DeepEqual(got, want) {
		t.Errorf("Counts = %v, want %v", got, want)
	}
	if mv, ok := im.MetadataVersion(); !ok || mv.Name != "3.9-IV0" {
		t.Errorf("MetadataVersion = %v %v", mv, ok)
	}
}

// Every contradiction returns an *ApplyError and leaves the image unchanged.
func TestApplyContradictions(t *testing.T) {
	cases := []struct {
		name string
		rec  records.Versioned
		want string
	}{
		{"partition of unknown topic", v(&records.PartitionRecord{PartitionId: 0, TopicId: idBar, Replicas: []int32{1}, Isr: []int32{1}}), "unknown topic id"},
		{"duplicate topic id", v(&records.TopicRecord{Name: "bar", TopicId: idFoo}), "already used by topic \"foo\""},
		{"duplicate topic name", v(&records.TopicRecord{Name: "foo", TopicId: idBar}), "already exists"},
		{"zero topic id", v(&records.TopicRecord{Name: "bar"}), "zero topic id"},
		{"change of unknown partition", v(&records.PartitionChangeRecord{PartitionId: 9, TopicId: idFoo, Leader: -2, LeaderRecoveryState: -1}), "unknown partition foo-9"},
		{"change of unknown topic", v(&records.PartitionChangeRecord{PartitionId: 0, TopicId: idBar, Leader: -2, LeaderRecoveryState: -1}), "unknown topic id"},
		{"directories mismatch", v(&records.PartitionRecord{PartitionId: 2, TopicId: idFoo, Replicas: []int32{1, 2}, Isr: []int32{1}, Directories: []kafka.UUID{{}}}), "1 directories for 2 replicas"},
		{"bad leader recovery state", v(&records.PartitionRecord{PartitionId: 2, TopicId: idFoo, Replicas: []int32{1}, Isr: []int32{1}, LeaderRecoveryState: 5}), "leader recovery state"},
		{"remove unknown topic", v(&records.RemoveTopicRecord{TopicId: idBar}), "unknown topic id"},
		{"remove unknown scram", v(&records.RemoveUserScramCredentialRecord{Name: "bob", Mechanism: 1}), "no SCRAM credential"},
		{"bad scram mechanism", v(&records.UserScramCredentialRecord{Name: "bob", Mechanism: 3}), "unknown SCRAM mechanism"},
		{"remove unknown acl", v(&records.RemoveAccessControlEntryRecord{Id: idBar}), "no ACL with id"},
		{"duplicate acl id", v(&records.AccessControlEntryRecord{Id: aclID, ResourceType: 2, ResourceName: "x", PatternType: 3, Principal: "User:x", Host: "*", Operation: 3, PermissionType: 3}), "already exists"},
		{"bad acl operation", v(&records.AccessControlEntryRecord{Id: idBar, ResourceType: 2, ResourceName: "x", PatternType: 3, Principal: "User:x", Host: "*", Operation: 1, PermissionType: 3}), "unknown operation"},
		{"producer id going back", v(&records.ProducerIdsRecord{BrokerId: 1, BrokerEpoch: -1, NextProducerId: 3000}), "not greater"},
		{"remove unknown token", v(&records.RemoveDelegationTokenRecord{TokenId: "nope"}), "no delegation token"},
		{"bad metadata version", v(&records.FeatureLevelRecord{Name: MetadataVersionFeature, FeatureLevel: 99}), "not a known metadata version"},
		{"bad migration state", v(&records.ZkMigrationStateRecord{ZkMigrationState: 4}), "unknown ZkMigrationState"},
		{"unregister unknown broker", v(&records.UnregisterBrokerRecord{BrokerId: 7, BrokerEpoch: 1}), "no registration for broker 7"},
		{"unregister wrong epoch", v(&records.UnregisterBrokerRecord{BrokerId: 1, BrokerEpoch: 11}), "epoch 10, not 11"},
		{"fence wrong epoch", v(&records.FenceBrokerRecord{Id: 1, Epoch: 9}), "epoch 10, not 9"},
		{"unfence unknown broker", v(&records.UnfenceBrokerRecord{Id: 2, Epoch: 9}), "no registration"},
		{"bad fencing change", v(&records.BrokerRegistrationChangeRecord{BrokerId: 1, BrokerEpoch: 10, Fenced: 3}), "unknown value 3 for Fenced"},
		{"bad config type", v(&records.ConfigRecord{ResourceType: 3, ResourceName: "x", Name: "a", Value: ptr("b")}), "unknown config resource type"},
		{"bad quota entity", v(&records.ClientQuotaRecord{Entity: []records.ClientQuotaRecordEntityData{{EntityType: "group"}}, Key: "k", Value: 1}), "unknown quota entity type"},
		{"ip with user", v(&records.ClientQuotaRecord{Entity: []records.ClientQuotaRecordEntityData{{EntityType: "ip"}, {EntityType: "user"}}, Key: "k", Value: 1}), "cannot be combined"},
		{"end without begin", v(&records.EndTransactionRecord{}), "no open transaction"},
		{"abort without begin", v(&records.AbortTransactionRecord{}), "no open transaction"},
		{"nil record", records.Versioned{}, "no record"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			im := base(t)
			before := im.Clone()
			err := im.Apply(c.rec)
			var ae *ApplyError
			if !errors.As(err, &ae) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Apply = %v, want an ApplyError containing %q", err, c.want)
			}
			if d := Diff(before, im); len(d) != 0 {
				t.Fatalf("image changed after a rejected record: %v", d)
			}
		})
	}
}

func TestPartitionChangeMerge(t *testing.T) {
	im := base(t)
	// Leader change: leader epoch +1, partition epoch +1, ISR kept.
	if err := im.Apply(v(&records.PartitionChangeRecord{PartitionId: 1, TopicId: idFoo, Leader: 2, LeaderRecoveryState: -1})); err != nil {
		t.Fatal(err)
	}
	p := im.TopicByName("foo").Partition(1)
	if p.Leader != 2 || p.LeaderEpoch != 6 || p.PartitionEpoch != 8 || !reflect.DeepEqual(p.ISR, []int32{1, 2}) {
		t.Fatalf("after leader change: %+v", p)
	}
	// ISR-only change: leader epoch kept.
	if err := im.Apply(v(&records.PartitionChangeRecord{PartitionId: 1, TopicId: idFoo, Isr: []int32{2}, Leader: -2, LeaderRecoveryState: 0})); err != nil {
		t.Fatal(err)
	}
	p = im.TopicByName("foo").Partition(1)
	if p.LeaderEpoch != 6 || p.PartitionEpoch != 9 || !reflect.DeepEqual(p.ISR, []int32{2}) {
		t.Fatalf("after ISR change: %+v", p)
	}
	// Replica change: kept replicas keep MIGRATING, new ones UNASSIGNED.
	if err := im.Apply(v(&records.PartitionChangeRecord{PartitionId: 1, TopicId: idFoo, Replicas: []int32{2, 4}, Leader: -2, LeaderRecoveryState: -1})); err != nil {
		t.Fatal(err)
	}
	p = im.TopicByName("foo").Partition(1)
	if want := []kafka.UUID{DirMigrating, DirUnassigned}; !reflect.DeepEqual(p.DirectoriesOrMigrating(), want) {
		t.Fatalf("directories %v, want %v", p.DirectoriesOrMigrating(), want)
	}
	// Empty lists are values, not "no change".
	if err := im.Apply(v(&records.PartitionChangeRecord{PartitionId: 0, TopicId: idFoo, Isr: []int32{}, Leader: -1, LeaderRecoveryState: 0})); err != nil {
		t.Fatal(err)
	}
	p = im.TopicByName("foo").Partition(0)
	if p.Leader != -1 || len(p.ISR) != 0 || p.LeaderRecoveryState != 0 || p.LeaderEpoch != 1 {
		t.Fatalf("after offline change: %+v", p)
	}
}

func TestRemoveTopicDropsConfigs(t *testing.T) {
	im := base(t)
	if err := im.Apply(v(&records.RemoveTopicRecord{TopicId: idFoo})); err != nil {
		t.Fatal(err)
	}
	if im.TopicByName("foo") != nil || im.Config(ConfigResource{2, "foo"}) != nil || im.NumPartitions() != 0 {
		t.Fatal("topic, partitions or configs left after RemoveTopicRecord")
	}
}

func TestDeletesAndRemovals(t *testing.T) {
	im := base(t)
	for _, r := range []records.Versioned{
		v(&records.ConfigRecord{ResourceType: 2, ResourceName: "foo", Name: "retention.ms"}), // null value deletes
		v(&records.ClientQuotaRecord{Entity: []records.ClientQuotaRecordEntityData{{EntityType: "user"}, {EntityType: "client-id", EntityName: ptr("c")}}, Key: "producer_byte_rate", Remove: true}),
		v(&records.RemoveUserScramCredentialRecord{Name: "alice", Mechanism: 1}),
		v(&records.RemoveAccessControlEntryRecord{Id: aclID}),
		v(&records.RemoveDelegationTokenRecord{TokenId: "tok"}),
		v(&records.FeatureLevelRecord{Name: "group.version", FeatureLevel: 1}),
		v(&records.FeatureLevelRecord{Name: "group.version", FeatureLevel: 0}),
		v(&records.UnregisterBrokerRecord{BrokerId: 1, BrokerEpoch: 10}),
	} {
		if err := im.Apply(r); err != nil {
			t.Fatalf("%s: %v", r.Record.TypeName(), err)
		}
	}
	c := im.Counts()
	for _, s := range []string{SectionConfigs, SectionClientQuotas, SectionScram, SectionACLs, SectionDelegationTokens, "brokers"} {
		want := 0
		if s == SectionConfigs {
			want = 1 // the broker default stays
		}
		if c[s] != want {
			t.Errorf("%s count = %d, want %d", s, c[s], want)
		}
	}
	if c[SectionFeatures] != 1 {
		t.Errorf("features = %v", im.Features())
	}
}

func TestBrokerFencing(t *testing.T) {
	im := base(t)
	steps := []struct {
		rec             records.Versioned
		fenced, shutdwn bool
	}{
		{v(&records.UnfenceBrokerRecord{Id: 1, Epoch: 10}), false, false},
		{v(&records.FenceBrokerRecord{Id: 1, Epoch: 10}), true, false},
		{vv(&records.BrokerRegistrationChangeRecord{BrokerId: 1, BrokerEpoch: 10, Fenced: -1}, 0), false, false},
		{vv(&records.BrokerRegistrationChangeRecord{BrokerId: 1, BrokerEpoch: 10, InControlledShutdown: 1}, 1), false, true},
	}
	for i, s := range steps {
		if err := im.Apply(s.rec); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		b := im.Broker(1)
		if b.Fenced != s.fenced || b.InControlledShutdown != s.shutdwn {
			t.Fatalf("step %d: fenced %v shutdown %v", i, b.Fenced, b.InControlledShutdown)
		}
	}
}

func TestTransactionAbortRestores(t *testing.T) {
	im := base(t)
	before := im.Clone()
	name := "ZK Migration"
	for _, r := range []records.Versioned{
		v(&records.BeginTransactionRecord{Name: &name}),
		v(&records.TopicRecord{Name: "bar", TopicId: idBar}),
		v(&records.PartitionRecord{PartitionId: 0, TopicId: idBar, Replicas: []int32{1}, Isr: []int32{1}}),
	} {
		if err := im.Apply(r); err != nil {
			t.Fatal(err)
		}
	}
	if open, n := im.InTransaction(); !open || n != name {
		t.Fatalf("InTransaction = %v %q", open, n)
	}
	if err := im.Apply(v(&records.BeginTransactionRecord{})); err == nil {
		t.Fatal("nested BeginTransactionRecord accepted")
	}
	if err := im.Apply(v(&records.AbortTransactionRecord{Reason: ptr("Controller failover")})); err != nil {
		t.Fatal(err)
	}
	if d := Diff(before, im); len(d) != 0 {
		t.Fatalf("abort did not restore the image: %v", d)
	}
	if open, _ := im.InTransaction(); open {
		t.Fatal("transaction still open after abort")
	}
}

// Records then Apply gives back an equal image, and the output is
// deterministic.
func TestRecordsRoundTrip(t *testing.T) {
	for _, mv := range []int16{14, 17, 21, 22} {
		im := base(t)
		if err := im.Apply(v(&records.FeatureLevelRecord{Name: MetadataVersionFeature, FeatureLevel: mv})); err != nil {
			t.Fatal(err)
		}
		recs := im.Records()
		if _, ok := recs[0].Record.(*records.FeatureLevelRecord); !ok {
			t.Fatalf("first record is %s, want FEATURE_LEVEL_RECORD", recs[0].Record.TypeName())
		}
		back := New()
		for _, r := range recs {
			if _, err := records.AppendFrame(nil, r); err != nil {
				t.Fatalf("mv %d: encode %s v%d: %v", mv, r.Record.TypeName(), r.Version, err)
			}
			if err := back.Apply(r); err != nil {
				t.Fatalf("mv %d: re-apply %s: %v", mv, r.Record.TypeName(), err)
			}
		}
		// ProducerIdsImage keeps only the next id; everything else round-trips.
		if d := Diff(im, back); len(d) != 0 {
			t.Fatalf("mv %d: round trip differs: %v", mv, d)
		}
		if !reflect.DeepEqual(im.Digests(), back.Digests()) {
			t.Fatalf("mv %d: digests differ", mv)
		}
		for _, r := range recs {
			if p, ok := r.Record.(*records.PartitionRecord); ok {
				wantV := MetadataVersion{Level: mv}.PartitionRecordVersion()
				if r.Version != wantV || (wantV >= 1) != (p.Directories != nil) {
					t.Fatalf("mv %d: PartitionRecord v%d dirs %v", mv, r.Version, p.Directories)
				}
			}
		}
	}
}

func TestRecordsLosses(t *testing.T) {
	im := base(t)
	if err := im.Apply(v(&records.FeatureLevelRecord{Name: MetadataVersionFeature, FeatureLevel: 13})); err != nil {
		t.Fatal(err)
	}
	_, losses := im.RecordsWithLosses()
	if len(losses) != 1 || !strings.Contains(losses[0], "delegation token") {
		t.Fatalf("losses at 3.6-IV1 = %v", losses)
	}
}

func TestRecordsOrder(t *testing.T) {
	im := base(t)
	var order []string
	for _, r := range im.Records() {
		n := r.Record.TypeName()
		if len(order) == 0 || order[len(order)-1] != n {
			order = append(order, n)
		}
	}
	want := []string{"FEATURE_LEVEL_RECORD", "ZK_MIGRATION_STATE_RECORD", "REGISTER_BROKER_RECORD", "TOPIC_RECORD", "PARTITION_RECORD",
		"CONFIG_RECORD", "CLIENT_QUOTA_RECORD", "PRODUCER_IDS_RECORD", "ACCESS_CONTROL_ENTRY_RECORD", "USER_SCRAM_CREDENTIAL_RECORD", "DELEGATION_TOKEN_RECORD"}
	if !reflect.DeepEqual(order, want) {
		t.Fatalf("order %v\nwant  %v", order, want)
	}
}

func TestDiffReportsEachObject(t *testing.T) {
	a, b := base(t), base(t)
	for _, r := range []records.Versioned{
		v(&records.PartitionChangeRecord{PartitionId: 1, TopicId: idFoo, Isr: []int32{1}, Leader: -2, LeaderRecoveryState: -1}),
		v(&records.ConfigRecord{ResourceType: 2, ResourceName: "foo", Name: "retention.ms", Value: ptr("2000")}),
		v(&records.UserScramCredentialRecord{Name: "alice", Mechanism: 1, Salt: []byte("other"), StoredKey: []byte("sk"), ServerKey: []byte("svk"), Iterations: 4096}),
		v(&records.TopicRecord{Name: "bar", TopicId: idBar}),
		v(&records.RemoveAccessControlEntryRecord{Id: aclID}),
		v(&records.ConfigRecord{ResourceType: 4, ResourceName: "1", Name: "listener.name.ssl.ssl.keystore.password", Value: ptr("hunter2")}),
	} {
		if err := b.Apply(r); err != nil {
			t.Fatal(err)
		}
	}
	d := Diff(a, b)
	got := map[string]Difference{}
	for _, x := range d {
		got[x.Section+"|"+x.Object+"|"+x.Field] = x
	}
	for _, k := range []string{"topics|foo-1|isr", "topics|foo-1|partitionEpoch", "configs|topic:foo|retention.ms", "scram|user alice mechanism 1|salt", "topics|topic bar|", "acls|Topic:LITERAL:foo User:alice@* Read Allow|", "configs|broker:1|listener.name.ssl.ssl.keystore.password"} {
		if _, ok := got[k]; !ok {
			t.Errorf("missing difference %q in %v", k, d)
		}
	}
	for _, x := range d {
		if strings.Contains(x.Want+x.Got, "other") || strings.Contains(x.Want+x.Got, "salt\"") || strings.Contains(x.Want+x.Got, "hunter2") {
			t.Errorf("difference shows a secret: %v", x)
		}
	}
	da, db := a.Digests(), b.Digests()
	if da[SectionFeatures] != db[SectionFeatures] || da[SectionTopics] == db[SectionTopics] {
		t.Errorf("digests: features should match and topics differ: %v %v", da, db)
	}
}

func TestParseMetadataVersion(t *testing.T) {
	cases := map[string]string{"3.9-IV0": "3.9-IV0", "3.7": "3.7-IV4", "17": "3.7-IV2", "3.6-iv1": "3.6-IV1", "4.0": "4.0-IV0"}
	for in, want := range cases {
		mv, err := ParseMetadataVersion(in)
		if err != nil || mv.Name != want {
			t.Errorf("ParseMetadataVersion(%q) = %v, %v; want %s", in, mv, err, want)
		}
	}
	for _, bad := range []string{"", "2.8", "3.9-IV9", "99", "abc", "65537", "10000000000000001"} {
		if _, err := ParseMetadataVersion(bad); err == nil {
			t.Errorf("ParseMetadataVersion(%q) accepted", bad)
		}
	}
	if v := (MetadataVersion{Level: 17}).RegisterBrokerRecordVersion(); v != 3 {
		t.Errorf("register broker version at 3.7-IV2 = %d", v)
	}
	if v := (MetadataVersion{Level: 13}).RegisterBrokerRecordVersion(); v != 2 {
		t.Errorf("register broker version at 3.6-IV1 = %d", v)
	}
}

func TestSecretsRedacted(t *testing.T) {
	im := base(t)
	c := im.ScramCredentials()[0]
	s := im.String() + c.Salt.String()
	if strings.Contains(s, "salt") && !strings.Contains(s, "redacted") {
		t.Fatalf("secret shown: %s", s)
	}
	b, _ := c.StoredKey.MarshalText()
	if string(b) != "[redacted]" {
		t.Fatalf("MarshalText = %s", b)
	}
}

// FuzzApply decodes framed records from the fuzzer's bytes and applies them
// to an image: Apply must never panic, must return *ApplyError for what it
// rejects, and must leave the image unchanged when it does.
func FuzzApply(f *testing.F) {
	for _, r := range []records.Versioned{
		v(&records.TopicRecord{Name: "foo", TopicId: idFoo}),
		v(&records.PartitionChangeRecord{PartitionId: 0, TopicId: idFoo, Leader: 3, Isr: []int32{3}, LeaderRecoveryState: -1}),
		vv(&records.PartitionChangeRecord{PartitionId: 0, TopicId: idFoo, Replicas: []int32{1, 4}, Directories: []kafka.UUID{{1}, {2}}, Leader: -2, LeaderRecoveryState: -1}, 1),
		v(&records.RemoveTopicRecord{TopicId: idFoo}),
		v(&records.ClientQuotaRecord{Entity: []records.ClientQuotaRecordEntityData{{EntityType: "ip"}}, Key: "k", Value: 1}),
		v(&records.AbortTransactionRecord{}),
	} {
		b, err := records.AppendFrame(nil, r)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rec, err := records.DecodeFrame(data)
		if err != nil {
			return
		}
		im := base(t)
		before := im.Clone()
		if err := im.Apply(rec); err != nil {
			var ae *ApplyError
			if !errors.As(err, &ae) {
				t.Fatalf("error is not an ApplyError: %v", err)
			}
			if d := Diff(before, im); len(d) != 0 {
				t.Fatalf("rejected record changed the image: %v", d)
			}
			return
		}
		// An accepted record leaves an image that writes and re-applies.
		back := New()
		for _, r := range im.Records() {
			if err := back.Apply(r); err != nil {
				t.Fatalf("re-apply %s: %v", r.Record.TypeName(), err)
			}
		}
	})
}

// same must never call two values alike that render differently (it is a
// shortcut for render(a) == render(b)).
func TestSameAgreesWithRender(t *testing.T) {
	s1, s2 := "a", "b"
	vals := []any{int32(1), int32(2), int16(1), int8(1), int64(1), true, false, "a", "b", &s1, &s2, (*string)(nil),
		[]int32(nil), []int32{}, []int32{1}, []int32{1, 2}, []kafka.UUID(nil), []kafka.UUID{}, []kafka.UUID{{1}}, 1.5}
	for _, a := range vals {
		for _, b := range vals {
			if same(a, b) && render(a) != render(b) {
				t.Errorf("same(%#v, %#v) but they render %q and %q", a, b, render(a), render(b))
			}
		}
	}
	if !same(int32(7), int32(7)) || !same([]int32(nil), []int32{}) || same(int32(7), int16(7)) {
		t.Error("same misses an equal pair or matches different types")
	}
}
