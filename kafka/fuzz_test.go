package kafka

import "testing"

// FuzzParseUUID: a topic_id (or any Uuid text from outside) either fails or
// parses to a UUID whose canonical text parses back to it.
func FuzzParseUUID(f *testing.F) {
	for _, s := range []string{"HR6bHVxbSi-Kawx-Py0aCQ", "AAAAAAAAAAAAAAAAAAAAAA", "AAAAAAAAAAAAAAAAAAAAAB", "HR6bHVxbSi+Kawx/Py0aCQ", "short", "HR6bHVxbSi-Kawx-Py0aCQ=="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseUUID(s)
		if err != nil {
			return
		}
		if len(s) != 22 {
			t.Fatalf("%q (%d chars) parsed", s, len(s))
		}
		back, err := ParseUUID(u.String())
		if err != nil || back != u {
			t.Fatalf("%q -> %s -> %v %v", s, u, back, err)
		}
	})
}

// FuzzSanitize: entity names in znode names (quota users, clients, IPs)
// survive Sanitize/Desanitize, and Desanitize of any znode name never
// panics.
func FuzzSanitize(f *testing.F) {
	for _, s := range []string{"user/1@prod", "a b+c*", "%zz", "%", "<default>", "日本", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		enc := Sanitize(s)
		for i := 0; i < len(enc); i++ {
			c := enc[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' || c == '%') {
				t.Fatalf("Sanitize(%q) = %q: byte %q", s, enc, c)
			}
		}
		if dec, err := Desanitize(enc); err != nil || dec != s {
			t.Fatalf("Desanitize(Sanitize(%q)) = %q, %v", s, dec, err)
		}
		Desanitize(s) // a znode name as found: an error at worst
	})
}
