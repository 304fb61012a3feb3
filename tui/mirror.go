package tui

import (
	"fmt"
	"math"
	"strings"
)

// maxSamples is how many mirror samples the chart keeps.
const maxSamples = 240

// chartRows is the height of the changes-per-second chart.
const chartRows = 5

// mirrorModel is the Dual-write screen: live lag, changes per second over
// time, backlog and reconnects.
type mirrorModel struct {
	st      styles
	samples []MirrorStats
	last    *MirrorStats
}

func newMirrorModel(st styles) mirrorModel { return mirrorModel{st: st} }

func (m mirrorModel) sample(s MirrorStats) mirrorModel {
	n := len(m.samples)
	keep := m.samples
	if n >= maxSamples {
		keep = keep[n-maxSamples+1:]
	}
	m.samples = append(append(make([]MirrorStats, 0, len(keep)+1), keep...), s)
	last := s
	m.last = &last
	return m
}

func (m mirrorModel) view(w, h int) string {
	var b strings.Builder
	b.WriteString("\n  Dual-write: every ZooKeeper change is mirrored into the quorum as it happens.\n\n")
	if m.last == nil {
		b.WriteString(m.st.dim.Render("  waiting for the mirror's first sample…"))
		return b.String()
	}
	s := m.last
	if s.LagKnown {
		lagMark := m.st.ok.Render("✓ caught up")
		if s.LagRecords > 0 {
			lagMark = m.st.warn.Render(fmt.Sprintf("%s change(s) not yet committed", num(s.LagRecords)))
		}
		fmt.Fprintf(&b, "  %s p50 %-8s p99 %-8s %s\n", m.st.label.Render(padRight("Lag", 12)), dur(s.LagP50), dur(s.LagP99), lagMark)
		fmt.Fprintf(&b, "  %s %s changes queued for the quorum\n", m.st.label.Render(padRight("Backlog", 12)), num(s.Backlog))
		fmt.Fprintf(&b, "  %s %s changes   %s %d\n", m.st.label.Render(padRight("Mirrored", 12)), num(s.Applied), m.st.label.Render("Reconnects"), s.Reconnects)
	} else {
		fmt.Fprintf(&b, "  %s %s\n", m.st.label.Render(padRight("Lag", 12)), m.st.dim.Render("not reported by the mirror (verify proves lag zero)"))
		fmt.Fprintf(&b, "  %s %s records appended to the quorum's log since dual-write started\n", m.st.label.Render(padRight("Mirrored", 12)), num(s.Applied))
		b.WriteString("\n")
	}
	if s.Err != "" {
		b.WriteString(m.st.bad.Render("  ✗ "+s.Err) + "\n")
	}
	b.WriteString("\n")
	width := max(w-14, 10)
	series := m.samples
	if len(series) > width {
		series = series[len(series)-width:]
	}
	peak := 0.0
	for _, x := range series {
		peak = math.Max(peak, x.ChangesPerSec)
	}
	fmt.Fprintf(&b, "  %s %s\n", m.st.label.Render("Changes per second"), m.st.dim.Render(fmt.Sprintf("(last %d samples, now %s, peak %s)", len(series), rate(s.ChangesPerSec), rate(peak))))
	rows := min(chartRows, max(h-9, 2))
	for i, line := range chart(series, rows, peak) {
		label := "          "
		switch i {
		case 0:
			label = fmt.Sprintf("%9s ", rate(peak))
		case rows - 1:
			label = fmt.Sprintf("%9s ", "0/s")
		}
		b.WriteString("  " + m.st.dim.Render(label) + m.st.ok.Render(line) + "\n")
	}
	return b.String()
}

// chart draws the changes-per-second series as rows of block characters
// (top row first), scaled to peak.
func chart(series []MirrorStats, rows int, peak float64) []string {
	blocks := []rune(" ▁▂▃▄▅▆▇█")
	out := make([]string, rows)
	for r := 0; r < rows; r++ {
		var b strings.Builder
		for _, s := range series {
			eighths := 0
			if peak > 0 {
				eighths = int(math.Round(s.ChangesPerSec / peak * float64(rows*8)))
			}
			if s.ChangesPerSec > 0 && eighths == 0 {
				eighths = 1
			}
			level := rows - 1 - r // 0 is the bottom row
			fill := eighths - level*8
			switch {
			case fill >= 8:
				b.WriteRune(blocks[8])
			case fill > 0:
				b.WriteRune(blocks[fill])
			default:
				b.WriteRune(' ')
			}
		}
		out[r] = b.String()
	}
	return out
}
