package tui

import (
	"strings"

	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
)

// cutoverModel is the Cutover screen: a summary and the typed confirmation
// of the cluster id — the point of no return.
type cutoverModel struct {
	st        styles
	clusterID string
	summary   []string
	input     textinput.Model
}

func newCutoverModel(st styles, clusterID string) cutoverModel {
	ti := textinput.New()
	ti.Prompt = "> "
	ti.Placeholder = "type the cluster id"
	ti.CharLimit = 64
	ti.Width = 30
	return cutoverModel{st: st, clusterID: clusterID, input: ti}
}

func (m cutoverModel) reset(summary []string) cutoverModel {
	m.summary = summary
	m.input.Reset()
	m.input.Focus()
	return m
}

func (m *cutoverModel) setSize(w, _ int) { m.input.Width = min(max(w-10, 10), 40) }

func (m cutoverModel) focusCmd() tea.Cmd { return textinput.Blink }

func (m cutoverModel) confirmed() bool {
	return m.clusterID != "" && strings.TrimSpace(m.input.Value()) == m.clusterID
}

func (m cutoverModel) update(k tea.KeyMsg) (cutoverModel, bool, tea.Cmd) {
	if k.String() == "enter" {
		return m, true, nil
	}
	var cmd tea.Cmd
	m.input, cmd = m.input.Update(k)
	return m, false, cmd
}

func (m cutoverModel) view(w int) string {
	lines := []string{""}
	for _, s := range m.summary {
		// "Label  value": the value wraps under itself.
		label, value, _ := strings.Cut(s, "  ")
		wrapped := wrap(strings.TrimSpace(value), w, "             ")
		wrapped[0] = "  " + padRight(label, 10) + " " + strings.TrimLeft(wrapped[0], " ")
		lines = append(lines, wrapped...)
	}
	lines = append(lines, "")
	lines = append(lines, m.st.bad.Render("  ! POINT OF NO RETURN"))
	lines = append(lines, wrap("Cutover claims the ZooKeeper controller role with a higher controller epoch (fencing the old controller), records the migration state in /migration and in the quorum's log. After it, abort is no longer possible.", w, "  ")...)
	lines = append(lines, "")
	lines = append(lines, "  Type the cluster id "+m.st.label.Render(m.clusterID)+" to confirm:")
	mark := ""
	if m.confirmed() {
		mark = m.st.ok.Render(" ✓ matches: enter cuts over")
	}
	lines = append(lines, "  "+m.input.View()+mark)
	return strings.Join(lines, "\n")
}
