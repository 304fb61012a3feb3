package progress

import (
	"testing"
	"time"
)

func TestTrackerRateAndETA(t *testing.T) {
	var got []Event
	tr := NewTracker(func(e Event) { got = append(got, e) }, "snapshot", "znodes", 1000)
	clock := tr.start
	tr.now = func() time.Time { return clock }
	clock = clock.Add(time.Second)
	tr.Add(250)
	if len(got) != 1 {
		t.Fatalf("want 1 event, got %d", len(got))
	}
	e := got[0]
	if e.Done != 250 || e.Rate != 250 || e.ETA != 3*time.Second {
		t.Fatalf("event = %+v, want done 250 rate 250 eta 3s", e)
	}
	tr.Add(10) // same instant: throttled
	if len(got) != 1 {
		t.Fatalf("throttling failed: %d events", len(got))
	}
	clock = clock.Add(time.Second)
	f := tr.Finish()
	if !f.Final || f.Done != 260 || f.ETA != 0 || len(got) != 2 {
		t.Fatalf("final = %+v (%d events)", f, len(got))
	}
}
