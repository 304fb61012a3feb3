package image

import (
	"strconv"
	"strings"
	"testing"
)

// FuzzParseMetadataVersion: --metadata-version either fails or yields a
// known version that the input names: its full name, its release, or its
// feature level.
func FuzzParseMetadataVersion(f *testing.F) {
	for _, s := range []string{"3.7-IV2", "3.7", "17", " 3.9 ", "4.0-iv0", "0", "-1", "3", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		mv, err := ParseMetadataVersion(s)
		if err != nil {
			return
		}
		if known, ok := MetadataVersionFromLevel(mv.Level); !ok || known != mv {
			t.Fatalf("%q: unknown version %+v", s, mv)
		}
		in := strings.TrimSpace(s)
		if !strings.EqualFold(mv.Name, in) && !strings.HasPrefix(mv.Name, in+"-IV") && in != strconv.Itoa(int(mv.Level)) {
			t.Fatalf("%q: parsed as %s (level %d), which it does not name", s, mv.Name, mv.Level)
		}
	})
}
