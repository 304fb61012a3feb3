package metrics

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/zk2kraft/zk2kraft/progress"
)

func TestPhaseIsOneHot(t *testing.T) {
	m := New("v1", "abc")
	for _, phase := range []string{"check", "copy", "verified"} {
		if err := m.SetPhase(phase); err != nil {
			t.Fatal(err)
		}
		for _, p := range Phases {
			want := 0.0
			if p == phase {
				want = 1
			}
			if got := testutil.ToFloat64(m.Phase.WithLabelValues(p)); got != want {
				t.Errorf("after SetPhase(%s): phase{%s} = %v, want %v", phase, p, got, want)
			}
		}
	}
	if err := m.SetPhase("topic-foo"); err == nil {
		t.Error("SetPhase accepted an unknown phase")
	}
}

func TestProgressTurnsEventsIntoDeltas(t *testing.T) {
	m := New("v1", "abc")
	evs := []progress.Event{
		{Phase: "snapshot", Unit: "znodes", Done: 100},
		{Phase: "snapshot", Unit: "znodes", Done: 250},
		{Phase: "snapshot", Unit: "znodes", Done: 300, Final: true},
		{Phase: "copy", Step: "TopicRecord", Unit: "records", Done: 10},
		{Phase: "copy", Step: "TopicRecord", Unit: "records", Done: 30, Final: true},
		{Phase: "copy", Step: "my-secret-topic", Unit: "records", Done: 5},
		{Phase: "verify", Unit: "objects", Done: 99},
	}
	for _, ev := range evs {
		m.Progress(ev)
	}
	if got := testutil.ToFloat64(m.ZnodesRead); got != 300 {
		t.Errorf("znodes_read_total = %v, want 300", got)
	}
	if got := testutil.ToFloat64(m.RecordsWritten.WithLabelValues("TopicRecord")); got != 30 {
		t.Errorf("records_written_total{TopicRecord} = %v, want 30", got)
	}
	if got := testutil.ToFloat64(m.RecordsWritten.WithLabelValues("other")); got != 5 {
		t.Errorf("records_written_total{other} = %v, want 5", got)
	}
	// A second run of the snapshot phase counts from zero again.
	m.Progress(progress.Event{Phase: "snapshot", Unit: "znodes", Done: 7})
	if got := testutil.ToFloat64(m.ZnodesRead); got != 307 {
		t.Errorf("znodes_read_total after second run = %v, want 307", got)
	}
	var nilM *Metrics
	nilM.Progress(evs[0]) // must not panic
}

func TestServeExposesNamesWithoutHighCardinality(t *testing.T) {
	m := New("v1.2.3", "deadbeef")
	m.SetPhase("mirroring")
	m.SetMirrorLag(12, 1500*time.Millisecond)
	m.ParityMismatches.Set(3)
	m.ObserveCommit(4 * time.Millisecond)
	m.AddRecords("PartitionRecord", 8)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := Serve(ctx, "127.0.0.1:0", m)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	resp, err := http.Get("http://" + s.Addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	text := string(body)
	for _, want := range []string{
		`zk2kraft_phase{phase="mirroring"} 1`,
		`zk2kraft_phase{phase="copy"} 0`,
		`zk2kraft_mirror_lag_records 12`,
		`zk2kraft_mirror_lag_seconds 1.5`,
		`zk2kraft_parity_mismatches 3`,
		`zk2kraft_quorum_commit_duration_seconds_count 1`,
		`zk2kraft_records_written_total{type="PartitionRecord"} 8`,
		`zk2kraft_znodes_read_total 0`,
		`zk2kraft_build_info{commit="deadbeef",goversion="`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "zk2kraft_") && (strings.Contains(line, "topic=") || strings.Contains(line, "partition=")) {
			t.Errorf("per-topic label: %s", line)
		}
	}
	cancel()
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := http.Get("http://" + s.Addr + "/metrics"); err != nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Error("server still answers after its context ended")
}
