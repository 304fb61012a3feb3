// Package hugepages asks the kernel to back memory with transparent huge
// pages (2 MB) where it allows that (Linux THP in "madvise" mode, the default
// of most distributions), so that first touches of fresh memory cost one
// page fault per 2 MB instead of one per 4 KB. zk2kraft fills large heaps
// once (a million partitions: ~1 GiB in a few seconds); with 4 KB pages the
// faults were a third of an offline read's time. Everything here is a hint:
// where huge pages are unavailable nothing changes.
package hugepages

import (
	"os"
	"runtime"
	"runtime/metrics"
)

// AdviseHeap makes the Go heap's memory, up to at least size bytes of it,
// advised to use huge pages. In a fresh process (a heap under 256 MiB: call
// it first thing) it allocates size bytes as one block, which touches
// nothing (fresh memory is zero), so that the runtime maps that much heap,
// advises every heap mapping, and frees the block with a collection; the
// advice stays with the mappings for the life of the process. In a process
// whose heap is larger it only advises the mappings the heap has: a block
// there would reuse freed memory, which the runtime must zero (seconds for
// a GiB). size is capped at a quarter of the machine's memory (the block is
// only address space, but a kernel that refuses to overcommit would refuse
// a block as large as its memory).
//
// ZK2KRAFT_HUGEPAGES=off turns it off (for comparison, or where huge pages
// misbehave).
func AdviseHeap(size int64) {
	if !supported || os.Getenv("ZK2KRAFT_HUGEPAGES") == "off" {
		return
	}
	if ram := physicalMemory(); ram > 0 {
		size = min(size, ram/4)
	}
	s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 || s[0].Value.Uint64() > 256<<20 || size < 64<<20 {
		adviseHeapMappings()
		return
	}
	b := make([]byte, size)
	adviseHeapMappings()
	runtime.KeepAlive(b)
	runtime.GC() // frees the block (dead from here): its pages go back to the heap
}
