package zkreader

import (
	"fmt"
	"testing"
)

func TestParseZxid(t *testing.T) {
	good := map[string]int64{"0": 0, "42": 42, "0x1a2b": 0x1a2b, "0X1A": 0x1a, "4294967296": 1 << 32, "0x7fffffffffffffff": 1<<63 - 1}
	for s, want := range good {
		if z, err := ParseZxid(s); err != nil || z != want {
			t.Errorf("ParseZxid(%q) = %d, %v; want %d", s, z, err, want)
		}
	}
	for _, s := range []string{"", "-1", "+1", "0x", "0x-5", "0b101", "0o7", "1_000", "9223372036854775808", " 1", "x"} {
		if z, err := ParseZxid(s); err == nil {
			t.Errorf("ParseZxid(%q) = %d, want an error", s, z)
		}
	}
}

// FuzzParseZxid: whatever parses is non-negative, and its decimal and hex
// forms parse back to it (--from-zxid, --at-zxid, the quorum's metadata).
func FuzzParseZxid(f *testing.F) {
	for _, s := range []string{"0", "0x1a2b", "0X1A", "4294967296", "-1", "0x", "0b101", "1_000", "9223372036854775808"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		z, err := ParseZxid(s)
		if err != nil {
			return
		}
		if z < 0 {
			t.Fatalf("%q parsed as negative %d", s, z)
		}
		for _, form := range []string{fmt.Sprint(z), fmt.Sprintf("0x%x", z)} {
			if back, err := ParseZxid(form); err != nil || back != z {
				t.Fatalf("%q = %d; %q -> %d %v", s, z, form, back, err)
			}
		}
	})
}
