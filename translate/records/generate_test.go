package records

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestGeneratedCodeUpToDate regenerates the types from schemas/ into a
// temporary directory and checks that the committed *_gen.go files match:
// generated code is never edited by hand.
func TestGeneratedCodeUpToDate(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the generator (go run)")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool in PATH")
	}
	dir := t.TempDir()
	cmd := exec.Command(goBin, "run", "../internal/recordgen", "-schemas", "schemas", "-out", dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("generator: %v\n%s", err, out)
	}
	fresh, _ := filepath.Glob(filepath.Join(dir, "*_gen.go"))
	committed, _ := filepath.Glob("*_gen.go")
	if len(fresh) != len(committed) || len(fresh) != 31 {
		t.Fatalf("generator wrote %d files, %d committed (want 30 records + registry)", len(fresh), len(committed))
	}
	for _, f := range fresh {
		want, _ := os.ReadFile(f)
		got, err := os.ReadFile(filepath.Base(f))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s is not what the generator writes: run go generate ./translate/...", filepath.Base(f))
		}
	}
}
