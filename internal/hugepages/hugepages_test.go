package hugepages

import (
	"os"
	"runtime"
	"runtime/debug"
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
	// The heap has free memory already (as after an earlier phase): the
	// next allocations reuse it, so it must be advised too.
	old := make([]byte, 256<<20)
	for i := 0; i < len(old); i += 4096 {
		old[i] = 1
	}
	runtime.KeepAlive(old)
	old = nil
	debug.FreeOSMemory()
	before := anonHuge(t)
	AdviseHeap(64 << 20)
	// small objects, as a model of a million partitions is made of
	var keep [][]byte
	for n := 0; n < 128<<20; n += 8 << 10 {
		b := make([]byte, 8<<10)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1
		}
		keep = append(keep, b)
	}
	after := anonHuge(t)
	runtime.KeepAlive(keep)
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
