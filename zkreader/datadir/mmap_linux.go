//go:build linux

package datadir

import (
	"os"
	"syscall"
)

// mapFile maps a file read-only (MAP_POPULATE: its pages come from the page
// cache in one call instead of one fault each, and nothing is copied). The
// bytes are valid until release; nothing made from them may outlive it.
// ZooKeeper never rewrites a snapshot file in place, so the mapping stays
// what the file held when it was opened.
func mapFile(path string) (b []byte, release func(), err error) {
	f, err := os.Open(path) // read-only
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	size := st.Size()
	if size == 0 || size != int64(int(size)) {
		b, err := os.ReadFile(path)
		return b, func() {}, err
	}
	b, err = syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_PRIVATE|syscall.MAP_POPULATE)
	if err != nil {
		b, err := os.ReadFile(path) // e.g. a file system without mmap
		return b, func() {}, err
	}
	return b, func() { syscall.Munmap(b) }, nil
}
