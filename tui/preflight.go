package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/zk2kraft/zk2kraft/preflight"
	"github.com/zk2kraft/zk2kraft/zkreader"
)

// maxPathsShown caps the znodes listed under an expanded finding.
const maxPathsShown = 8

// preflightModel is the Pre-flight screen: findings grouped by severity,
// each expandable to its znodes and remedy.
type preflightModel struct {
	st       styles
	report   *preflight.Report
	findings []zkreader.Finding // blockers, then warnings, then infos
	cursor   int
	expanded map[int]bool
	vp       viewport.Model
	width    int
}

var severityOrder = []zkreader.Severity{zkreader.Blocker, zkreader.Warning, zkreader.Info}

func newPreflightModel(st styles, r *preflight.Report) preflightModel {
	m := preflightModel{st: st, report: r, expanded: map[int]bool{}, vp: viewport.New(MinWidth, 10)}
	for _, sev := range severityOrder {
		for _, f := range r.Findings {
			if f.Severity == sev {
				m.findings = append(m.findings, f)
			}
		}
	}
	return m
}

func (m *preflightModel) setSize(w, h int) {
	m.width = w
	m.vp.Width = w
	m.vp.Height = max(h-4, 3)
	m.refresh()
}

func (m preflightModel) update(k tea.KeyMsg) preflightModel {
	if m.report == nil {
		return m
	}
	switch k.String() {
	case "up", "k":
		if m.cursor > 0 {
			m.cursor--
		}
	case "down", "j":
		if m.cursor < len(m.findings)-1 {
			m.cursor++
		}
	case "enter", " ":
		if len(m.findings) > 0 {
			m.expanded[m.cursor] = !m.expanded[m.cursor]
		}
	case "pgdown":
		m.cursor = min(m.cursor+m.vp.Height/2, max(len(m.findings)-1, 0))
	case "pgup":
		m.cursor = max(m.cursor-m.vp.Height/2, 0)
	case "home":
		m.cursor = 0
	case "end":
		m.cursor = max(len(m.findings)-1, 0)
	}
	m.expanded = copyBools(m.expanded)
	m.refresh()
	return m
}

func copyBools(in map[int]bool) map[int]bool {
	out := make(map[int]bool, len(in))
	for k, v := range in {
		if v {
			out[k] = v
		}
	}
	return out
}

// refresh renders the findings into the viewport and scrolls the selected
// one into view.
func (m *preflightModel) refresh() {
	if m.report == nil {
		return
	}
	var lines []string
	top, bottom := 0, 0
	idx := 0
	for _, sev := range severityOrder {
		n := 0
		for _, f := range m.findings {
			if f.Severity == sev {
				n++
			}
		}
		if n == 0 {
			continue
		}
		lines = append(lines, "  "+m.st.heading.Render(fmt.Sprintf("%s (%d)", strings.ToUpper(string(sev))+"S", n)))
		for ; idx < len(m.findings) && m.findings[idx].Severity == sev; idx++ {
			f := m.findings[idx]
			if idx == m.cursor {
				top = len(lines)
			}
			arrow := "▸"
			if m.expanded[idx] {
				arrow = "▾"
			}
			cursor := "  "
			if idx == m.cursor {
				cursor = m.st.key.Render("> ")
			}
			where := f.Path
			if where == "" && len(f.Paths) > 0 {
				where = f.Paths[0]
			}
			lines = append(lines, fmt.Sprintf("%s%s %s %s %s", cursor, arrow, severityMark(m.st, f.Severity), m.st.label.Render(f.Code), m.st.dim.Render(where)))
			if m.expanded[idx] {
				lines = append(lines, wrap(f.Message, m.width, "      ")...)
				if f.Field != "" {
					lines = append(lines, wrap(fmt.Sprintf("field %s, expected %s", f.Field, f.Expected), m.width, "      ")...)
				}
				paths := f.Paths
				if len(paths) == 0 && f.Path != "" {
					paths = []string{f.Path}
				}
				for i, p := range paths {
					if i == maxPathsShown {
						lines = append(lines, m.st.dim.Render(fmt.Sprintf("      … and %d more znodes (zk2kraft check --output json lists them)", len(paths)-i)))
						break
					}
					lines = append(lines, "      "+p)
				}
				if f.Remedy != "" {
					lines = append(lines, wrap("Remedy: "+f.Remedy, m.width, "      ")...)
				}
			}
			if idx == m.cursor {
				bottom = len(lines) - 1
			}
		}
	}
	if len(m.findings) == 0 {
		lines = append(lines, m.st.ok.Render("  ✓ No findings: nothing blocks or complicates the migration."))
	}
	m.vp.SetContent(strings.Join(lines, "\n"))
	// Keep the selected finding (and as much of its expansion as fits) visible.
	if bottom-top >= m.vp.Height {
		bottom = top + m.vp.Height - 1
	}
	if top < m.vp.YOffset {
		m.vp.SetYOffset(top)
	} else if bottom >= m.vp.YOffset+m.vp.Height {
		m.vp.SetYOffset(bottom - m.vp.Height + 1)
	}
}

func severityMark(st styles, s zkreader.Severity) string {
	switch s {
	case zkreader.Blocker:
		return st.bad.Render("✗ blocker")
	case zkreader.Warning:
		return st.warn.Render("! warning")
	}
	return st.dim.Render("i info   ")
}

func (m preflightModel) view(w, h int) string {
	r := m.report
	s := r.Summary
	cid := r.ClusterID
	if cid == "" {
		cid = "(none)"
	}
	head := fmt.Sprintf("  Cluster id %s %s\n  %s brokers, %s topics, %s partitions, %s ACL resources",
		cid, m.st.dim.Render("read from "+r.Source), num(int64(s.Brokers)), num(int64(s.Topics)), num(int64(s.Partitions)), num(int64(s.ACLs)))
	var verdict string
	if r.HasBlockers() {
		verdict = m.st.bad.Render(fmt.Sprintf("  ✗ %d blocker(s) stop the migration: fix them, then press r to check again.", s.Blockers))
	} else {
		verdict = m.st.ok.Render(fmt.Sprintf("  ✓ No blocker (%d warning(s), %d info): press c to see the plan.", s.Warnings, s.Infos))
	}
	return head + "\n" + verdict + "\n\n" + m.vp.View()
}
