//go:build !linux

package datadir

import "os"

// mapFile reads a file into memory (see mmap_linux.go).
func mapFile(path string) ([]byte, func(), error) {
	b, err := os.ReadFile(path)
	return b, func() {}, err
}
