package migrate

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/zk2kraft/zk2kraft/zkreader"
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

func TestMergeFindingsReportsAConditionOnce(t *testing.T) {
	state := func(p string) string { return "/brokers/topics/t/partitions/" + p + "/state" }
	preflight := []zkreader.Finding{
		{Severity: zkreader.Warning, Code: "partition-state-missing", Path: state("10"), Paths: []string{state("10"), state("2")},
			Message: "partition state znodes missing (2 znode(s))", Remedy: "restart the controller"},
		{Severity: zkreader.Info, Code: "malformed-znode", Path: "/config/topics/a", Message: "invalid JSON"},
	}
	translated := []zkreader.Finding{
		// The same condition in translate's words: dropped.
		{Severity: zkreader.Warning, Code: "partition-state-missing", Path: state("2"), Paths: []string{state("2"), state("10")},
			Message: "2 partition(s) have no state znode"},
		// Same code, another znode: a finding of its own.
		{Severity: zkreader.Info, Code: "malformed-znode", Path: "/config/topics/b", Message: "invalid JSON"},
		// Same code and znode, another severity: kept.
		{Severity: zkreader.Blocker, Code: "malformed-znode", Path: "/config/topics/a", Message: "cannot translate"},
	}
	got := mergeFindings(preflight, translated)
	var codes []string
	for _, f := range got {
		codes = append(codes, string(f.Severity)+" "+f.Code+" "+f.Path)
	}
	want := []string{
		"warning partition-state-missing " + state("10"),
		"info malformed-znode /config/topics/a",
		"info malformed-znode /config/topics/b",
		"blocker malformed-znode /config/topics/a",
	}
	if !slices.Equal(codes, want) {
		t.Fatalf("merged findings:\n got %q\nwant %q", codes, want)
	}
	if got[0].Remedy == "" {
		t.Fatal("the kept finding should be preflight's, with its remedy")
	}
}
