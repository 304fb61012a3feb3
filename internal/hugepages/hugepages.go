// Package hugepages asks the kernel to back memory with transparent huge
// pages (2 MB) where it allows that (Linux THP in "madvise" mode, the default
// of most distributions), so that first touches of fresh memory cost one
// page fault per 2 MB instead of one per 4 KB. zk2kraft fills large heaps
// once (a million partitions: ~1 GiB in a few seconds); with 4 KB pages the
// faults were a third of an offline read's time. Everything here is a hint:
// where huge pages are unavailable nothing changes.
package hugepages

import (
	"runtime"
	"unsafe"
)

// AdviseHeap makes the next size bytes the Go heap hands out come from
// memory advised to use huge pages: it allocates them as one block (which
// touches nothing: fresh memory is zero), advises the block, and frees it
// with a collection; the allocations that follow reuse its address range.
// Sizes under 64 MiB or over 64 GiB are ignored.
func AdviseHeap(size int64) {
	if size < 64<<20 || size > 64<<30 || !supported {
		return
	}
	b := make([]byte, size)
	Advise(unsafe.Pointer(unsafe.SliceData(b)), uintptr(len(b)))
	b = nil
	runtime.GC() // frees the block: its pages go back to the heap
}
