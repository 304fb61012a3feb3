package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"
)

// planRows caps the count rows shown side by side above the preview.
const planRows = 8

// planModel is the Plan screen: counts per object kind and record type, what
// is skipped and why, the estimated time and a scrollable record preview.
type planModel struct {
	st    styles
	plan  Plan
	vp    viewport.Model
	width int
}

func newPlanModel(st styles, p Plan) planModel {
	m := planModel{st: st, plan: p, vp: viewport.New(MinWidth, 5)}
	m.vp.SetContent(strings.Join(p.Preview, "\n"))
	return m
}

func (m *planModel) setSize(w, h int) {
	m.width = w
	m.vp.Width = max(w-4, 10)
	m.vp.Height = max(h-len(m.summary(w))-2, 3)
}

func (m planModel) update(k tea.KeyMsg) planModel {
	switch k.String() {
	case "up", "k":
		m.vp.ScrollUp(1)
	case "down", "j":
		m.vp.ScrollDown(1)
	case "pgup", "b":
		m.vp.PageUp()
	case "pgdown", "f", " ":
		m.vp.PageDown()
	case "home", "g":
		m.vp.GotoTop()
	case "end", "G":
		m.vp.GotoBottom()
	}
	return m
}

// summary renders everything above the preview.
func (m planModel) summary(w int) []string {
	col := max((w-4)/2, 20)
	var left, right []string
	left = append(left, m.st.heading.Render("Objects"))
	for i, c := range m.plan.Objects {
		if i == planRows {
			left = append(left, m.st.dim.Render(fmt.Sprintf("… %d more", len(m.plan.Objects)-i)))
			break
		}
		left = append(left, fmt.Sprintf("%-22s %12s", c.Name, num(c.N)))
	}
	right = append(right, m.st.heading.Render("Records"))
	var total int64
	for _, c := range m.plan.Records {
		total += c.N
	}
	for i, c := range m.plan.Records {
		if i == planRows-1 && len(m.plan.Records) > planRows {
			right = append(right, m.st.dim.Render(fmt.Sprintf("… %d more types", len(m.plan.Records)-i)))
			break
		}
		name := strings.TrimSuffix(strings.TrimSuffix(c.Name, "Record"), "_RECORD")
		right = append(right, fmt.Sprintf("%-26s %10s", name, num(c.N)))
	}
	var out []string
	for i := 0; i < max(len(left), len(right)); i++ {
		l, r := "", ""
		if i < len(left) {
			l = left[i]
		}
		if i < len(right) {
			r = right[i]
		}
		out = append(out, "  "+padRight(l, col)+r)
	}
	out = append(out, "")
	est := fmt.Sprintf("  %s records in total; estimated copy time %s", num(total), dur(m.plan.Estimate))
	out = append(out, est)
	if len(m.plan.Skipped) == 0 {
		out = append(out, m.st.ok.Render("  Nothing is skipped."))
	} else {
		for i, s := range m.plan.Skipped {
			if i == 3 {
				out = append(out, m.st.dim.Render(fmt.Sprintf("  … %d more skipped kinds (migrate --dry-run --output json lists them)", len(m.plan.Skipped)-i)))
				break
			}
			out = append(out, m.st.warn.Render(fmt.Sprintf("  skipped: %d %s", s.Count, s.What))+m.st.dim.Render(" — "+s.Reason))
		}
	}
	return out
}

func (m planModel) view(w, h int) string {
	lines := m.summary(w)
	pct := int(m.vp.ScrollPercent()*100 + 0.5)
	lines = append(lines, m.st.label.Render("  Record preview")+m.st.dim.Render(fmt.Sprintf(" (secrets redacted; line %d of %d, %d%%)", m.vp.YOffset+1, m.vp.TotalLineCount(), pct)))
	for _, l := range strings.Split(m.vp.View(), "\n") {
		lines = append(lines, "    "+l)
	}
	return strings.Join(lines, "\n")
}
