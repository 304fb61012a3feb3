package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/progress"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	prog "github.com/zk2kraft/zk2kraft/progress"
)

// copyPhases are the phases the Copy screen expects, in order; others that
// arrive are appended.
var copyPhases = []string{"snapshot", "translate", "copy"}

// copyModel is the Copy screen: one progress bar per phase with counts, rate
// and ETA.
type copyModel struct {
	st     styles
	order  []string
	events map[string]prog.Event
	done   bool
	err    string
}

func newCopyModel(st styles) copyModel {
	return copyModel{st: st, order: append([]string(nil), copyPhases...), events: map[string]prog.Event{}}
}

func (m copyModel) event(ev prog.Event) copyModel {
	events := make(map[string]prog.Event, len(m.events)+1)
	for k, v := range m.events {
		events[k] = v
	}
	events[ev.Phase] = ev
	m.events = events
	known := false
	for _, p := range m.order {
		if p == ev.Phase {
			known = true
		}
	}
	if !known {
		m.order = append(append([]string(nil), m.order...), ev.Phase)
	}
	return m
}

func newBar(width int) progress.Model {
	opts := []progress.Option{progress.WithWidth(width), progress.WithoutPercentage(), progress.WithSolidFill("4")}
	if lipgloss.ColorProfile() == termenv.Ascii {
		opts = append(opts, progress.WithColorProfile(termenv.Ascii))
	}
	return progress.New(opts...)
}

func (m copyModel) view(w int) string {
	barW := max(w-26, 10)
	bar := newBar(barW)
	var b strings.Builder
	b.WriteString("\n  Snapshot of ZooKeeper, translation to KRaft records, copy into the quorum.\n\n")
	for _, phase := range m.order {
		ev, seen := m.events[phase]
		pct := 0.0
		switch {
		case ev.Final:
			pct = 1
		case ev.Total > 0:
			pct = min(float64(ev.Done)/float64(ev.Total), 1)
		}
		mark := " "
		if ev.Final {
			mark = m.st.ok.Render("✓")
		}
		fmt.Fprintf(&b, "  %s %s %s %4.0f%%\n", mark, m.st.label.Render(padRight(phase, 10)), bar.ViewAs(pct), pct*100)
		var detail string
		switch {
		case !seen:
			detail = m.st.dim.Render("waiting")
		default:
			detail = num(ev.Done)
			if ev.Total > 0 {
				detail += " of " + num(ev.Total)
			}
			detail += " " + ev.Unit + ", " + rate(ev.Rate)
			if ev.Limit > 0 {
				detail += fmt.Sprintf(" (limit %s)", rate(ev.Limit))
			}
			if ev.Final {
				detail += ", done in " + dur(ev.Elapsed)
			} else if ev.ETA > 0 {
				detail += ", ETA " + dur(ev.ETA)
			}
			if ev.Step != "" && !ev.Final {
				detail += m.st.dim.Render(" — " + ev.Step)
			}
		}
		b.WriteString("               " + detail + "\n\n")
	}
	switch {
	case m.err != "":
		b.WriteString(m.st.bad.Render("  ✗ The copy stopped. Its progress is kept in the quorum: r resumes it."))
	case m.done:
		b.WriteString(m.st.ok.Render("  ✓ Copy complete. Next, dual-write mirrors ZooKeeper's changes."))
	}
	return b.String()
}
