package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/table"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	prog "github.com/zk2kraft/zk2kraft/progress"
)

// verifyModel is the Verify screen: parity status, the differences in a
// browsable table and the digests per section.
type verifyModel struct {
	st       styles
	v        Verification
	have     bool
	progress prog.Event
	tbl      table.Model
	width    int
	height   int
	digests  bool // the digests pane is shown instead of the differences
}

func (m *verifyModel) setSize(w, h int) {
	m.width, m.height = w, h
	m.tbl = m.buildTable()
}

func (m verifyModel) result(v Verification) verifyModel {
	m.v = v
	m.have = true
	m.progress = prog.Event{}
	m.digests = len(v.Differences) == 0
	m.tbl = m.buildTable()
	return m
}

func (m verifyModel) buildTable() table.Model {
	w := max(m.width-4, 40)
	kindW, fieldW := 10, 12
	rest := w - kindW - fieldW - 8
	objW := rest * 2 / 5
	valW := (rest - objW) / 2
	cols := []table.Column{
		{Title: "Kind", Width: kindW}, {Title: "Object", Width: objW}, {Title: "Field", Width: fieldW},
		{Title: "ZooKeeper", Width: valW}, {Title: "Quorum", Width: valW},
	}
	rows := make([]table.Row, len(m.v.Differences))
	for i, d := range m.v.Differences {
		kind := d.Kind
		if d.InFlight {
			kind = "~" + kind
		}
		rows[i] = table.Row{kind, d.Object, d.Field, d.ZK, d.Quorum}
	}
	// above: blank, verdict, note, blank, pane tabs; below: detail (3 lines)
	h := max(m.height-5-4, 4)
	st := table.DefaultStyles()
	st.Header = st.Header.BorderStyle(lipgloss.NormalBorder()).BorderBottom(true).Bold(true)
	st.Selected = st.Selected.Foreground(lipgloss.Color("0")).Background(lipgloss.Color("3"))
	t := table.New(table.WithColumns(cols), table.WithRows(rows), table.WithHeight(h), table.WithFocused(true), table.WithStyles(st))
	if old := m.tbl.Cursor(); old > 0 && old < len(rows) {
		t.SetCursor(old)
	}
	return t
}

func (m verifyModel) update(k tea.KeyMsg) verifyModel {
	switch k.String() {
	case "up", "down", "k", "j", "pgup", "pgdown", "home", "end", "g", "G":
		m.tbl, _ = m.tbl.Update(k)
	case "tab":
		m.digests = !m.digests
	}
	return m
}

func (m verifyModel) view(w, h int) string {
	var b strings.Builder
	b.WriteString("\n")
	if !m.have {
		ev := m.progress
		b.WriteString("  Comparing ZooKeeper (a fresh read) with the quorum's image, object by object…\n")
		if ev.Done > 0 {
			fmt.Fprintf(&b, "  %s of %s %s, %s\n", num(ev.Done), num(ev.Total), ev.Unit, rate(ev.Rate))
		}
		return b.String()
	}
	mism, inflight := 0, 0
	for _, d := range m.v.Differences {
		if d.InFlight {
			inflight++
		} else {
			mism++
		}
	}
	if m.v.Parity {
		b.WriteString(m.st.ok.Render("  ✓ PARITY") + fmt.Sprintf(" — %s objects, no difference; mirror caught up; two runs agree\n", num(int64(m.v.Compared))))
	} else {
		b.WriteString(m.st.bad.Render("  ✗ NO PARITY") + fmt.Sprintf(" — %s objects compared: %d mismatch(es), %d in flight\n", num(int64(m.v.Compared)), mism, inflight))
	}
	if m.v.Note != "" {
		b.WriteString(m.st.dim.Render("  "+m.v.Note) + "\n")
	}
	b.WriteString("\n")
	diffTab := fmt.Sprintf("Differences (%d)", len(m.v.Differences))
	digTab := fmt.Sprintf("Digests (%d sections)", len(m.v.Digests))
	if m.digests {
		digTab = m.st.stepCurrent.Render("[" + digTab + "]")
	} else {
		diffTab = m.st.stepCurrent.Render("[" + diffTab + "]")
	}
	b.WriteString("  " + diffTab + "  " + digTab + m.st.dim.Render("   (tab switches)") + "\n")
	if m.digests {
		fmt.Fprintf(&b, "  %s\n", m.st.heading.Render(fmt.Sprintf("%-16s %8s  %-18s %-18s", "Section", "Objects", "ZooKeeper digest", "Quorum digest")))
		for _, d := range m.v.Digests {
			same := m.st.ok.Render("=")
			if d.ZK != d.Quorum {
				same = m.st.bad.Render("≠")
			}
			fmt.Fprintf(&b, "  %-16s %8s  %-18s %-18s %s\n", d.Section, num(int64(d.Count)), short(d.ZK, 16), short(d.Quorum, 16), same)
		}
		return b.String()
	}
	if len(m.v.Differences) == 0 {
		b.WriteString(m.st.ok.Render("  No differences."))
		return b.String()
	}
	for _, l := range strings.Split(m.tbl.View(), "\n") {
		b.WriteString("  " + l + "\n")
	}
	// The selected difference in full (the table cuts long values).
	if i := m.tbl.Cursor(); i >= 0 && i < len(m.v.Differences) {
		d := m.v.Differences[i]
		state := "mismatch"
		if d.InFlight {
			state = "in flight (ZooKeeper is newer than the mirror's position)"
		}
		fmt.Fprintf(&b, "  %d/%d %s %s %s: %s\n", i+1, len(m.v.Differences), d.Kind, d.Object, d.Field, state)
		fmt.Fprintf(&b, "    zk: %s\n    quorum: %s", d.ZK, d.Quorum)
	}
	return b.String()
}

func short(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
