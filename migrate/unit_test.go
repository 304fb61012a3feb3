package migrate

import (
	"bytes"
	"strings"
	"testing"
)

func TestParseUntil(t *testing.T) {
	cases := map[string]Phase{"": PhaseCutover, "check": PhaseCheck, "snapshot": PhaseSnapshot, "copied": PhaseCopy,
		"mirroring": PhaseMirroring, "verified": PhaseVerified, "cutover": PhaseCutover}
	for in, want := range cases {
		if got, err := ParseUntil(in); err != nil || got != want {
			t.Errorf("ParseUntil(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseUntil("finalize"); err == nil || !strings.Contains(err.Error(), "want check") {
		t.Errorf("ParseUntil(finalize): %v", err)
	}
}

func TestReportNamesThePointOfNoReturn(t *testing.T) {
	r := &Report{}
	r.phase(PhaseCheck).Status = "done"
	var b bytes.Buffer
	r.WriteText(&b)
	out := b.String()
	if !strings.Contains(out, "cutover (THE POINT OF NO RETURN)") {
		t.Errorf("report does not name the point of no return:\n%s", out)
	}
	for _, p := range Phases {
		if !strings.Contains(out, string(p)) {
			t.Errorf("report lacks phase %s", p)
		}
	}
}

func TestTimingsAccumulateAcrossRuns(t *testing.T) {
	r := &Report{}
	pr := r.phase(PhaseCopy)
	pr.Status, pr.Duration = "done", 1500*1e6
	got := r.timingsMS(map[string]int64{"copy": 500, "check": 200})
	if got["copy"] != 2000 || got["check"] != 200 {
		t.Errorf("timings %v", got)
	}
}
