// Package hugepages asks the kernel to back memory with transparent huge
// pages (2 MB) where it allows that (Linux THP in "madvise" mode, the default
// of most distributions), so that first touches of fresh memory cost one
// page fault per 2 MB instead of one per 4 KB. zk2kraft fills large heaps
// once (a million partitions: ~1 GiB in a few seconds); with 4 KB pages the
// faults were a third of an offline read's time. Everything here is a hint:
// where huge pages are unavailable nothing changes.
package hugepages

import "runtime"

// AdviseHeap makes the Go heap's memory, up to at least size bytes of it,
// advised to use huge pages: it allocates size bytes as one block (which
// touches nothing: fresh memory is zero), so that the runtime maps that much
// heap, advises every heap mapping (the block's and any free memory the heap
// already has, which the next allocations reuse first), and frees the block
// with a collection. size is capped at a quarter of the machine's memory
// (the block is only address space, but a kernel that refuses to overcommit
// would refuse a block as large as its memory).
func AdviseHeap(size int64) {
	if !supported {
		return
	}
	if ram := physicalMemory(); ram > 0 {
		size = min(size, ram/4)
	}
	b := make([]byte, max(size, 0))
	adviseHeapMappings()
	runtime.KeepAlive(b)
	b = nil
	runtime.GC() // frees the block: its pages go back to the heap
}
