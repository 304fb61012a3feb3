package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

var (
	binOnce sync.Once
	binDir  string
	binErr  error
	binOut  []byte
)

// Zk2kraftBinary builds cmd/zk2kraft once per test binary and returns its
// path, for tests that run the command as its own process (to kill it with
// SIGKILL, say). Call RemoveBinaries from TestMain when the tests are done.
func Zk2kraftBinary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "zk2kraft-bin-")
		if binErr != nil {
			return
		}
		_, file, _, _ := runtime.Caller(0)
		cmd := exec.Command("go", "build", "-o", filepath.Join(binDir, "zk2kraft"), "./cmd/zk2kraft")
		cmd.Dir = filepath.Join(filepath.Dir(file), "..")
		binOut, binErr = cmd.CombinedOutput()
	})
	if binErr != nil {
		t.Fatalf("build zk2kraft: %v\n%s", binErr, binOut)
	}
	return filepath.Join(binDir, "zk2kraft")
}

// RemoveBinaries removes what Zk2kraftBinary built.
func RemoveBinaries() {
	if binDir != "" {
		os.RemoveAll(binDir)
	}
}
