//go:build linux

package hugepages

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"unsafe"
)

const supported = true

// Advise asks for huge pages for the 2 MB-aligned pages inside [p, p+size).
// Errors (a kernel without THP) are ignored.
func Advise(p unsafe.Pointer, size uintptr) {
	const huge = 2 << 20
	start := (uintptr(p) + huge - 1) &^ (huge - 1)
	end := (uintptr(p) + size) &^ (huge - 1)
	if end <= start {
		return
	}
	b := unsafe.Slice((*byte)(unsafe.Add(p, start-uintptr(p))), end-start)
	syscall.Madvise(b, syscall.MADV_HUGEPAGE)
}

// adviseHeapMappings advises every large private anonymous read-write
// mapping of the process (/proc/self/maps): the Go heap's arenas, where
// all of them were mapped by now. Small ones (thread stacks, runtime
// metadata) are left alone.
func adviseHeapMappings() {
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(maps), "\n") {
		f := strings.Fields(line)
		// address perms offset dev inode [path]
		if len(f) != 5 || f[1] != "rw-p" || f[4] != "0" {
			continue
		}
		from, to, ok := strings.Cut(f[0], "-")
		if !ok {
			continue
		}
		start, err1 := strconv.ParseUint(from, 16, 64)
		end, err2 := strconv.ParseUint(to, 16, 64)
		if err1 != nil || err2 != nil || end-start < 4<<20 {
			continue
		}
		syscall.Syscall(syscall.SYS_MADVISE, uintptr(start), uintptr(end-start), syscall.MADV_HUGEPAGE)
	}
}

// physicalMemory is the machine's RAM in bytes (0: unknown).
func physicalMemory() int64 {
	var si syscall.Sysinfo_t
	if err := syscall.Sysinfo(&si); err != nil {
		return 0
	}
	return int64(si.Totalram) * int64(si.Unit)
}
