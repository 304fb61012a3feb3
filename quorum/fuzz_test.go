package quorum

import (
	"net"
	"strings"
	"testing"
)

// FuzzParseVoters: --voters either fails or yields distinct node ids, each
// with a host:port address, and formatting them back parses to the same.
func FuzzParseVoters(f *testing.F) {
	for _, s := range []string{"1@h:1,2@h:2,3@h:3", "1@[::1]:9093", " 1@h:1 , ,2@h:2", "1@h:1,1@h:2", "1@h", "@h:1", "1@", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		vs, err := ParseVoters(s)
		if err != nil {
			return
		}
		if len(vs) == 0 {
			t.Fatalf("%q: no voters and no error", s)
		}
		seen := map[string]bool{}
		parts := make([]string, 0, len(vs))
		for _, v := range vs {
			if v.ID == "" || seen[v.ID] {
				t.Fatalf("%q: voter id %q empty or twice", s, v.ID)
			}
			seen[v.ID] = true
			if _, _, err := net.SplitHostPort(v.Addr); err != nil {
				t.Fatalf("%q: address %q: %v", s, v.Addr, err)
			}
			parts = append(parts, v.ID+"@"+v.Addr)
		}
		back, err := ParseVoters(strings.Join(parts, ","))
		if err != nil || len(back) != len(vs) {
			t.Fatalf("%q: formatted back: %v %v", s, back, err)
		}
		for i := range vs {
			if back[i] != vs[i] {
				t.Fatalf("%q: voter %d: %+v, then %+v", s, i, vs[i], back[i])
			}
		}
	})
}
