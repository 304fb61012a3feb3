package hugepages

import (
	"os"
	"runtime"
	"strings"
	"testing"
)

// TestAdviseHeap checks that memory allocated after AdviseHeap is backed by
// huge pages, where the kernel offers them for advised memory.
func TestAdviseHeap(t *testing.T) {
	mode, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if runtime.GOOS != "linux" || err != nil || !strings.Contains(string(mode), "[madvise]") && !strings.Contains(string(mode), "[always]") {
		t.Skip("no transparent huge pages here")
	}
	before := anonHuge(t)
	AdviseHeap(256 << 20)
	b := make([]byte, 128<<20)
	for i := 0; i < len(b); i += 4096 {
		b[i] = 1
	}
	after := anonHuge(t)
	runtime.KeepAlive(b)
	if after-before < 32<<20 {
		t.Errorf("AnonHugePages grew by %d bytes after touching 128 MiB allocated after AdviseHeap; want most of it in huge pages", after-before)
	}
}

// anonHuge is this process's AnonHugePages (smaps_rollup), in bytes.
func anonHuge(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/smaps_rollup")
	if err != nil {
		t.Skip(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "AnonHugePages:"); ok {
			var kb int64
			for _, c := range strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")) {
				kb = kb*10 + int64(c-'0')
			}
			return kb << 10
		}
	}
	t.Skip("no AnonHugePages in smaps_rollup")
	return 0
}
