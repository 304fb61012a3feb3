package dualwrite

import (
	"fmt"
	"testing"
)

// FuzzParseZxid: --from-zxid and the quorum's recorded snapshot zxid parse
// as decimal or 0x hex; whatever parses, its decimal and hex forms parse
// back to the same value. (A negative value is not refused here.)
func FuzzParseZxid(f *testing.F) {
	for _, s := range []string{"0", "0x1a2b", "0X1A", "4294967296", "-1", "0x", "x", "9223372036854775808"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		z, err := ParseZxid(s)
		if err != nil {
			return
		}
		for _, form := range []string{fmt.Sprint(z), fmt.Sprintf("0x%x", z)} {
			if z < 0 && form[0] == '0' {
				continue // "0x-5" is not a form worth keeping
			}
			if back, err := ParseZxid(form); err != nil || back != z {
				t.Fatalf("%q = %d; %q -> %d %v", s, z, form, back, err)
			}
		}
	})
}
