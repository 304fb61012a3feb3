package client

import (
	"strings"
	"testing"
)

// FuzzParseAddrs: --quorum yields trimmed, non-empty addresses, in order,
// none containing the separator.
func FuzzParseAddrs(f *testing.F) {
	for _, s := range []string{"h1:1,h2:2", " h:1 ,, ", ",", "", "[::1]:8080"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := ParseAddrs(s)
		for _, a := range out {
			if a == "" || a != strings.TrimSpace(a) || strings.Contains(a, ",") {
				t.Fatalf("%q: address %q", s, a)
			}
		}
		if again := ParseAddrs(strings.Join(out, ",")); strings.Join(again, ",") != strings.Join(out, ",") {
			t.Fatalf("%q: %q, then %q", s, out, again)
		}
	})
}
