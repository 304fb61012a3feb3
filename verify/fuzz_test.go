package verify

import (
	"fmt"
	"testing"
)

// FuzzParseZxid: zxids in the quorum's metadata parse as decimal or 0x
// hex; whatever parses, its decimal and hex forms parse back to it.
func FuzzParseZxid(f *testing.F) {
	for _, s := range []string{"0", "0x1a2b", "4294967296", "-1", "0x", "0b101", "1_000", "9223372036854775808"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		z, err := ParseZxid(s)
		if err != nil {
			return
		}
		forms := []string{fmt.Sprint(z)}
		if z >= 0 {
			forms = append(forms, fmt.Sprintf("0x%x", z))
		}
		for _, form := range forms {
			if back, err := ParseZxid(form); err != nil || back != z {
				t.Fatalf("%q = %d; %q -> %d %v", s, z, form, back, err)
			}
		}
	})
}
