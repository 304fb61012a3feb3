//go:build !linux

package hugepages

import "unsafe"

const supported = false

// Advise does nothing on this system.
func Advise(p unsafe.Pointer, size uintptr) {}

func adviseHeapMappings() {}

func physicalMemory() int64 { return 0 }
