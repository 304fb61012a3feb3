package zkreader

import "fmt"

// Severity of a finding.
type Severity string

const (
	Blocker Severity = "blocker" // the migration must not start
	Warning Severity = "warning" // the migration can run; something needs attention
	Info    Severity = "info"    // worth knowing
)

// Finding is one thing a read or the pre-flight check noticed. Parsers report
// malformed znodes as findings; they never drop an object silently.
type Finding struct {
	Severity Severity `json:"severity"`
	Code     string   `json:"code"`            // stable identifier, e.g. "malformed-znode"
	Path     string   `json:"path,omitempty"`  // the znode (without chroot)
	Field    string   `json:"field,omitempty"` // the JSON field, if one
	Expected string   `json:"expected,omitempty"`
	Message  string   `json:"message"`
	Remedy   string   `json:"remedy,omitempty"`
	// Paths lists further znodes involved (e.g. every topic without an id).
	Paths []string `json:"paths,omitempty"`
}

func (f Finding) String() string {
	s := fmt.Sprintf("%s %s", f.Severity, f.Code)
	if f.Path != "" {
		s += " " + f.Path
	}
	if f.Field != "" {
		s += " field " + f.Field
	}
	s += ": " + f.Message
	if f.Expected != "" {
		s += " (expected " + f.Expected + ")"
	}
	return s
}
