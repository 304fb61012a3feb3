//go:build linux

package hugepages

import (
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
