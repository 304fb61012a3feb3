package migrate

import "testing"

// FuzzParseUntil: --until either fails or names one of the phases.
func FuzzParseUntil(f *testing.F) {
	for _, s := range []string{"", "check", "copied", "copy", "verified", "cutover", "Cutover", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseUntil(s)
		if err != nil {
			return
		}
		if phaseIndex(p) < 0 {
			t.Fatalf("%q: phase %q is not one of %v", s, p, Phases)
		}
	})
}
