package tui

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
)

// Fields of the Connect screen, in tab order; fieldLocal is the checkbox.
const (
	fieldZK = iota
	fieldChroot
	fieldAuth
	fieldTLSCA
	fieldTLSCert
	fieldTLSKey
	fieldQuorum
	fieldLocal
	numFields
)

var fieldLabels = [...]string{"ZooKeeper", "Chroot", "Digest auth", "TLS CA file", "TLS cert file", "TLS key file", "Quorum", ""}

var fieldHints = [...]string{
	"HOST:PORT[,HOST:PORT...][/chroot] — as the brokers' zookeeper.connect",
	"Kafka's chroot, e.g. /kafka (or put it at the end of the connect string)",
	"USER:PASSWORD for ZooKeeper digest auth (hidden, never logged)",
	"PEM CA bundle for ZooKeeper's secure client port (optional)",
	"PEM client certificate for ZooKeeper TLS (optional)",
	"PEM client key for ZooKeeper TLS (optional)",
	"client API addresses of the controller quorum: HOST:PORT,...",
	"start a local 3-node quorum on loopback (trials and demos)",
}

// connectModel is the Connect screen: the settings form with validation as
// you type.
type connectModel struct {
	st     styles
	inputs [fieldLocal]textinput.Model
	local  bool
	focus  int
	errs   [numFields]string
	width  int
}

func newConnectModel(st styles, s Settings) connectModel {
	m := connectModel{st: st, local: s.LocalQuorum}
	vals := [fieldLocal]string{s.ZK, s.Chroot, s.Auth, s.TLSCA, s.TLSCert, s.TLSKey, s.Quorum}
	placeholders := [fieldLocal]string{"zk1:2181,zk2:2181,zk3:2181/kafka", "/kafka", "user:password", "ca.pem", "client.pem", "client-key.pem", "ctl1:9190,ctl2:9190,ctl3:9190"}
	for i := range m.inputs {
		ti := textinput.New()
		ti.Prompt = ""
		ti.Placeholder = "e.g. " + placeholders[i]
		ti.CharLimit = 1024
		ti.SetValue(vals[i])
		if i == fieldAuth {
			ti.EchoMode = textinput.EchoPassword
			ti.EchoCharacter = '*'
		}
		m.inputs[i] = ti
	}
	m.validate()
	m.inputs[fieldZK].Focus()
	return m
}

func (m *connectModel) setSize(w, _ int) {
	m.width = w
	iw := max(w-22, 10)
	for i := range m.inputs {
		m.inputs[i].Width = iw
	}
}

func (m connectModel) focusCmd() tea.Cmd {
	if m.focus < fieldLocal {
		return m.inputs[m.focus].Focus()
	}
	return nil
}

func (m connectModel) settings() Settings {
	v := func(i int) string { return strings.TrimSpace(m.inputs[i].Value()) }
	return Settings{ZK: v(fieldZK), Chroot: v(fieldChroot), Auth: m.inputs[fieldAuth].Value(),
		TLSCA: v(fieldTLSCA), TLSCert: v(fieldTLSCert), TLSKey: v(fieldTLSKey), Quorum: v(fieldQuorum), LocalQuorum: m.local}
}

// update handles a key; submit is true when the form is valid and enter was
// pressed.
func (m connectModel) update(k tea.KeyMsg) (connectModel, bool, tea.Cmd) {
	switch k.String() {
	case "tab", "down":
		return m.moveFocus(+1), false, m.focusCmdAfter()
	case "shift+tab", "up":
		return m.moveFocus(-1), false, m.focusCmdAfter()
	case "enter":
		if first := m.firstError(); first >= 0 {
			m = m.setFocus(first)
			return m, false, m.focusCmdAfter()
		}
		return m, true, nil
	case " ":
		if m.focus == fieldLocal {
			m.local = !m.local
			m.validate()
			return m, false, nil
		}
	}
	if m.focus == fieldLocal {
		return m, false, nil
	}
	var cmd tea.Cmd
	m.inputs[m.focus], cmd = m.inputs[m.focus].Update(k)
	m.validate()
	return m, false, cmd
}

func (m connectModel) focusCmdAfter() tea.Cmd { return m.focusCmd() }

func (m connectModel) moveFocus(d int) connectModel {
	next := (m.focus + d + numFields) % numFields
	if next == fieldQuorum && m.local {
		next = (next + d + numFields) % numFields
	}
	return m.setFocus(next)
}

func (m connectModel) setFocus(i int) connectModel {
	for j := range m.inputs {
		m.inputs[j].Blur()
	}
	m.focus = i
	if i < fieldLocal {
		m.inputs[i].Focus()
	}
	return m
}

func (m connectModel) firstError() int {
	for i, e := range m.errs {
		if e != "" {
			return i
		}
	}
	return -1
}

// validate checks every field (pure: syntax only; the connection test checks
// that servers answer and files exist).
func (m *connectModel) validate() {
	s := m.settings()
	m.errs = [numFields]string{}
	zkChroot := ""
	if s.ZK == "" {
		m.errs[fieldZK] = "required"
	} else {
		hosts := s.ZK
		if i := strings.Index(hosts, "/"); i >= 0 {
			hosts, zkChroot = hosts[:i], hosts[i:]
		}
		if err := checkHostPorts(hosts); err != nil {
			m.errs[fieldZK] = err.Error()
		} else if zkChroot != "" {
			if err := checkChroot(zkChroot); err != nil {
				m.errs[fieldZK] = err.Error()
			}
		}
	}
	if s.Chroot != "" {
		if err := checkChroot(s.Chroot); err != nil {
			m.errs[fieldChroot] = err.Error()
		} else if zkChroot != "" && zkChroot != s.Chroot {
			m.errs[fieldChroot] = fmt.Sprintf("the connect string already names chroot %s", zkChroot)
		}
	}
	if s.Auth != "" {
		user, pass, ok := strings.Cut(s.Auth, ":")
		if !ok || user == "" || pass == "" {
			m.errs[fieldAuth] = "want USER:PASSWORD"
		}
	}
	if (s.TLSCert == "") != (s.TLSKey == "") {
		if s.TLSCert == "" {
			m.errs[fieldTLSCert] = "a TLS key needs its certificate"
		} else {
			m.errs[fieldTLSKey] = "a TLS certificate needs its key"
		}
	}
	if !s.LocalQuorum {
		if s.Quorum == "" {
			m.errs[fieldQuorum] = "required (or start a local quorum)"
		} else if err := checkHostPorts(s.Quorum); err != nil {
			m.errs[fieldQuorum] = err.Error()
		}
	}
}

func checkHostPorts(list string) error {
	for _, hp := range strings.Split(list, ",") {
		hp = strings.TrimSpace(hp)
		host, port, err := net.SplitHostPort(hp)
		if err != nil || host == "" {
			return fmt.Errorf("%q: want HOST:PORT", hp)
		}
		if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
			return fmt.Errorf("%q: port must be a number from 1 to 65535", hp)
		}
	}
	return nil
}

func checkChroot(c string) error {
	switch {
	case !strings.HasPrefix(c, "/"):
		return fmt.Errorf("chroot %q: must start with /", c)
	case len(c) > 1 && strings.HasSuffix(c, "/"):
		return fmt.Errorf("chroot %q: must not end with /", c)
	case strings.Contains(c, "//"):
		return fmt.Errorf("chroot %q: empty path element", c)
	}
	return nil
}

func (m connectModel) view(w int) string {
	var b strings.Builder
	b.WriteString("\n  Where is the cluster? (filled in from flags, ZK2KRAFT_* variables, --config)\n\n")
	for i := 0; i < numFields; i++ {
		cursor := "  "
		if i == m.focus {
			cursor = m.st.key.Render("> ")
		}
		mark := " "
		switch {
		case m.errs[i] != "":
			mark = m.st.bad.Render("✗")
		case i < fieldLocal && m.inputs[i].Value() != "":
			mark = m.st.ok.Render("✓")
		}
		if i == fieldLocal {
			box := "[ ]"
			if m.local {
				box = "[x]"
			}
			fmt.Fprintf(&b, "%s%s %s\n", cursor, box, fieldHints[i])
			continue
		}
		input := m.inputs[i].View()
		if i == fieldQuorum && m.local {
			input = m.st.dim.Render("(local quorum)")
		}
		fmt.Fprintf(&b, "%s%s %s %s\n", cursor, m.st.label.Render(padRight(fieldLabels[i], 14)), mark, input)
	}
	b.WriteString("\n")
	if m.focus < numFields && m.errs[m.focus] != "" {
		b.WriteString(m.st.bad.Render("  ✗ "+fieldName(m.focus)+": "+m.errs[m.focus]) + "\n")
	} else {
		b.WriteString(m.st.dim.Render("  "+fieldHints[m.focus]) + "\n")
	}
	if n := m.countErrors(); n > 0 {
		b.WriteString(m.st.dim.Render(fmt.Sprintf("  %d field(s) to fix before the connection test", n)))
	}
	return b.String()
}

func fieldName(i int) string {
	if i == fieldLocal {
		return "Local quorum"
	}
	return fieldLabels[i]
}

func (m connectModel) countErrors() int {
	n := 0
	for _, e := range m.errs {
		if e != "" {
			n++
		}
	}
	return n
}
