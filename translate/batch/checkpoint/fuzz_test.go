package checkpoint

import (
	"path/filepath"
	"testing"
)

// FuzzParseFileName: a snapshot file name either fails or yields a
// non-negative id whose own file name parses back to it.
func FuzzParseFileName(f *testing.F) {
	for _, s := range []string{"00000000000000000100-0000000001.checkpoint", "/d/00000000000000000000-0000000000.checkpoint",
		"+0000000000000000100-0000000001.checkpoint", "x.checkpoint", "00000000000000000100-0000000001.log"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		id, err := ParseFileName(name)
		if err != nil {
			return
		}
		if id.EndOffset < 0 || id.Epoch < 0 {
			t.Fatalf("%q: negative id %+v", name, id)
		}
		back, err := ParseFileName(filepath.Join("dir", FileName(id)))
		if err != nil || back != id {
			t.Fatalf("%q: %+v -> %s -> %+v %v", name, id, FileName(id), back, err)
		}
	})
}
