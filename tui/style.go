package tui

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
)

// styles are the wizard's lipgloss styles. Nothing is conveyed by colour
// alone: marks like [current], ✓, ✗ and ! carry the meaning, so NO_COLOR
// (an ASCII colour profile) loses nothing.
type styles struct {
	title, step, stepDone, stepCurrent, rule lipgloss.Style
	label, dim, ok, warn, bad, key, heading  lipgloss.Style
}

func newStyles() styles {
	return styles{
		title:       lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("12")),
		step:        lipgloss.NewStyle().Foreground(lipgloss.Color("8")),
		stepDone:    lipgloss.NewStyle().Foreground(lipgloss.Color("2")),
		stepCurrent: lipgloss.NewStyle().Bold(true).Reverse(true),
		rule:        lipgloss.NewStyle().Foreground(lipgloss.Color("8")),
		label:       lipgloss.NewStyle().Bold(true),
		dim:         lipgloss.NewStyle().Foreground(lipgloss.Color("8")),
		ok:          lipgloss.NewStyle().Foreground(lipgloss.Color("2")),
		warn:        lipgloss.NewStyle().Foreground(lipgloss.Color("3")),
		bad:         lipgloss.NewStyle().Foreground(lipgloss.Color("1")).Bold(true),
		key:         lipgloss.NewStyle().Bold(true),
		heading:     lipgloss.NewStyle().Bold(true).Underline(true),
	}
}

// fit cuts s to at most height lines of at most width cells each.
func fit(s string, width, height int) string {
	lines := strings.Split(s, "\n")
	if height > 0 && len(lines) > height {
		lines = lines[:height]
	}
	for i, l := range lines {
		if ansi.StringWidth(l) > width {
			lines[i] = ansi.Truncate(l, width, "…")
		}
	}
	return strings.Join(lines, "\n")
}

// wrap breaks s into lines of at most width cells, indenting continuation
// lines by indent.
func wrap(s string, width int, indent string) []string {
	if width <= len(indent)+10 {
		width = len(indent) + 10
	}
	var out []string
	for _, para := range strings.Split(s, "\n") {
		line := ""
		for _, w := range strings.Fields(para) {
			// Break words longer than a line (addresses, ids) hard.
			for ansi.StringWidth(w) > width-len(indent) {
				if line != "" {
					out = append(out, indent+line)
					line = ""
				}
				cut := ansi.Truncate(w, width-len(indent), "")
				if i := strings.LastIndexAny(cut, ",;&"); i > 0 {
					cut = cut[:i+1] // break after a separator when there is one
				}
				out = append(out, indent+cut)
				w = w[len(cut):]
			}
			if w == "" {
				continue
			}
			switch {
			case line == "":
				line = w
			case ansi.StringWidth(line)+1+ansi.StringWidth(w) <= width-len(indent):
				line += " " + w
			default:
				out = append(out, indent+line)
				line = w
			}
		}
		out = append(out, indent+line)
	}
	return out
}

// num formats n with thousands separators.
func num(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// dur formats a duration for people: 850ms, 12.3s, 4m05s, 1h02m.
func dur(d time.Duration) string {
	switch {
	case d <= 0:
		return "0s"
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}

// rate formats a per-second rate.
func rate(r float64) string {
	switch {
	case r >= 10:
		return num(int64(r+0.5)) + "/s"
	case r > 0:
		return fmt.Sprintf("%.1f/s", r)
	}
	return "-"
}

// padRight pads s with spaces to width cells.
func padRight(s string, width int) string {
	if w := ansi.StringWidth(s); w < width {
		return s + strings.Repeat(" ", width-w)
	}
	return s
}
