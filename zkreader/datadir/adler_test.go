package datadir

import (
	"hash/adler32"
	"math/rand/v2"
	"testing"
)

// TestAdler: adlerUpdate equals hash/adler32 for every length around its
// block sizes, for all-0xff bytes (the largest sums), random bytes, and
// when continued from a prefix's digest.
func TestAdler(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	big := make([]byte, 5<<20)
	for i := range big {
		big[i] = byte(r.Uint32())
	}
	ff := make([]byte, 2<<20)
	for i := range ff {
		ff[i] = 0xff
	}
	var lens []int
	for n := 0; n < 40; n++ {
		lens = append(lens, n)
	}
	for _, n := range []int{2048, 5552, 65536, 1 << 20} {
		for d := -9; d <= 9; d++ {
			lens = append(lens, n+d)
		}
	}
	for _, src := range [][]byte{big, ff} {
		for _, n := range lens {
			if got, want := adlerChecksum(src[:n]), adler32.Checksum(src[:n]); got != want {
				t.Fatalf("length %d: %#x, want %#x", n, got, want)
			}
		}
	}
	for _, cut := range []int{1, 7, 4096, 1<<20 + 3} {
		d := adlerUpdate(adlerChecksum(big[:cut]), big[cut:])
		if want := adler32.Checksum(big); d != want {
			t.Fatalf("continued at %d: %#x, want %#x", cut, d, want)
		}
	}
}

func BenchmarkAdler(b *testing.B) {
	p := make([]byte, 1<<20)
	b.SetBytes(int64(len(p)))
	b.Run("ours", func(b *testing.B) {
		for b.Loop() {
			adlerChecksum(p)
		}
	})
	b.Run("stdlib", func(b *testing.B) {
		for b.Loop() {
			adler32.Checksum(p)
		}
	})
}
