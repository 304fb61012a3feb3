package translate

import (
	"encoding/hex"
	"strings"
	"testing"

	"github.com/zk2kraft/zk2kraft/kafka"
	"github.com/zk2kraft/zk2kraft/translate/records"
	"github.com/zk2kraft/zk2kraft/zkreader"
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The worked examples of spec §4.6, produced by translating the ZooKeeper
// data they come from, byte for byte.
func TestSpecWorkedExamplesThroughTranslation(t *testing.T) {
	id, err := kafka.ParseUUID("HR6bHVxbSi-Kawx-Py0aCQ")
	if err != nil {
		t.Fatal(err)
	}
	snap := &zkreader.Snapshot{
		Topics: []zkreader.Topic{{Name: "foo", TopicID: &id, Partitions: []zkreader.Partition{{ID: 0, Replicas: []int32{1, 2, 3},
			State: &zkreader.PartitionState{Leader: 1, LeaderEpoch: 5, ISR: []int32{1, 2}, LeaderRecoveryState: 1, Stat: zkreader.Stat{Version: 7}}}}}},
		TopicConfigs: []zkreader.EntityConfig{{Name: "foo", Config: map[string]string{"retention.ms": "86400000"}}},
		Quotas:       []zkreader.ClientQuota{{Path: "/config/users/<default>", Entity: []zkreader.QuotaEntityPart{{Type: "user"}}, Values: map[string]float64{"consumer_byte_rate": 900}}},
	}
	res := mustTranslate(t, snap, Options{})
	uuid := "1d 1e 9b 1d 5c 5b 4a 2f 8a 6b 0c 7e 3f 2d 1a 09"
	want := map[string][]byte{
		"TOPIC_RECORD": unhex(t, "01 02 00 04 66 6f 6f"+uuid+"00"),
		"PARTITION_RECORD": unhex(t, "01 03 00 00 00 00 00"+uuid+
			"04 00 00 00 01 00 00 00 02 00 00 00 03  03 00 00 00 01 00 00 00 02  01 01"+
			"00 00 00 01 00 00 00 05 00 00 00 07  01 00 01 01"),
		"CONFIG_RECORD":       append(append(unhex(t, "01 04 00 02 04 66 6f 6f 0d"), "retention.ms"...), append(append([]byte{0x09}, "86400000"...), 0)...),
		"CLIENT_QUOTA_RECORD": append(append(unhex(t, "01 0e 00 02 05 75 73 65 72 00 00 13"), "consumer_byte_rate"...), unhex(t, "40 8c 20 00 00 00 00 00 00 00")...),
	}
	seen := 0
	for _, b := range res.Logical {
		for _, v := range b {
			w, ok := want[v.Record.TypeName()]
			if !ok {
				t.Fatalf("unexpected %s", v.Record.TypeName())
			}
			got, err := records.AppendFrame(nil, v)
			if err != nil {
				t.Fatal(err)
			}
			if hex.EncodeToString(got) != hex.EncodeToString(w) {
				t.Errorf("%s:\n got  % x\n want % x", v.Record.TypeName(), got, w)
			}
			seen++
		}
	}
	if seen != 4 {
		t.Fatalf("%d records", seen)
	}
	// Framing: ZkMigrationStateRecord{1} and FeatureLevelRecord{metadata.version, 21}.
	copyBatches := res.Copy()
	last := copyBatches[len(copyBatches)-1]
	if got, _ := records.AppendFrame(nil, last[0]); hex.EncodeToString(got) != "0115000100" {
		t.Errorf("ZkMigrationStateRecord % x", got)
	}
	fl, _ := records.AppendFrame(nil, res.Bootstrap()[1])
	if want := append(append([]byte{1, 0x0c, 0, 0x11}, "metadata.version"...), 0, 0x15, 0); hex.EncodeToString(fl) != hex.EncodeToString(want) {
		t.Errorf("FeatureLevelRecord % x", fl)
	}
}
