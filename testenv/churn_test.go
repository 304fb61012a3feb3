package testenv

import (
	"strings"
	"testing"
	"time"
)

// TestChurnMatchesZooKeeper seeds, churns with every kind, then checks that
// the updated model matches what is in ZooKeeper (raw reads) and that the
// log is complete and ordered; on each backend.
func TestChurnMatchesZooKeeper(t *testing.T) {
	for _, backend := range backendsHere(t) {
		t.Run(backend, func(t *testing.T) {
			env := Start(t, Options{Nodes: 3, Backend: backend})
			seeder := env.Connect(t)
			want, err := Seed(t.Context(), seeder, SeedSpec{Preset: "small", Chroot: "/churn"})
			if err != nil {
				t.Fatal(err)
			}
			before := clone(t, want)
			churner := env.Connect(t)
			start := time.Now()
			log, err := Churn(t.Context(), churner, want, ChurnOptions{Rate: 500, MaxChanges: 400, Seed: 7})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%d changes (%d writes) in %v: %v", log.Changes, len(log.Events), time.Since(start).Round(time.Millisecond), log.ByKind)
			if log.Changes != 400 {
				t.Errorf("%d changes, want 400", log.Changes)
			}
			for _, k := range AllChurnKinds {
				if log.ByKind[k] == 0 {
					t.Errorf("kind %s never ran", k)
				}
			}
			var last int64
			for _, ev := range log.Events {
				if ev.Zxid == 0 {
					t.Errorf("event %d %s %s %s: no zxid", ev.Seq, ev.Kind, ev.Op, ev.Path)
				}
				if ev.Zxid < last {
					t.Errorf("event %d: zxid %#x after %#x", ev.Seq, ev.Zxid, last)
				}
				last = ev.Zxid
			}
			reader := env.Connect(t)
			problems := verifyZooKeeper(reader, want)
			for _, p := range problems {
				t.Error(p)
			}
			// Something really changed, as DiffSnapshots tells.
			diff := strings.Join(DiffSnapshots(before, want), "\n")
			for _, w := range []string{"partition epoch", "Leader: want", "ISR: want", "/controller_epoch: Epoch", ": unexpected", ": missing"} {
				if !strings.Contains(diff, w) {
					t.Errorf("churn made no change of the kind %q; diff:\n%.2000s", w, diff)
				}
			}
			notes, _, _ := reader.Children("/churn/config/changes")
			if len(notes) < log.ByKind[ChurnTopicConfig]+log.ByKind[ChurnBrokerConfig] {
				t.Errorf("%d config change notifications for %d config changes", len(notes), log.ByKind[ChurnTopicConfig]+log.ByKind[ChurnBrokerConfig])
			}
		})
	}
}

func TestChurnOptions(t *testing.T) {
	if _, err := Churn(t.Context(), nil, nil, ChurnOptions{Kinds: []ChurnKind{"nope"}}); err == nil || !strings.Contains(err.Error(), "unknown kind") {
		t.Errorf("unknown kind: %v", err)
	}
	if _, err := Churn(t.Context(), nil, nil, ChurnOptions{}); err == nil {
		t.Error("nil model accepted")
	}
}
