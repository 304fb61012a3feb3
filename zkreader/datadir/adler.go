package datadir

import "encoding/binary"

// Adler-32 (RFC 1950) of ZooKeeper's snapshot and log checksums, eight
// bytes at a time: hash/adler32 adds byte by byte, one long dependency
// chain, and was a fifth of a snapshot load's CPU. For a block of n bytes
//
//	s1' = s1 + Σ b[i]
//	s2' = s2 + n·s1 + Σ (n-i)·b[i]
//
// The bytes' sums per position in an 8-byte word are kept in 16-bit SWAR
// lanes; the weighted sum is 8·Σ_k (K-k)·S_k - Σ_j j·L_j for K words of
// sums S_k, with L_j the sum of the bytes at position j.

const adlerMod = 65521

// adlerUpdate continues the Adler-32 digest d (1 for empty input) over p.
func adlerUpdate(d uint32, p []byte) uint32 {
	s1, s2 := uint64(d&0xffff), uint64(d>>16)
	for len(p) >= 8 {
		// at most 256 words per round: the 16-bit lanes cannot overflow
		// (256·255 < 65536) and neither can the 64-bit sums
		k := min(len(p)/8, 256)
		var even, odd uint64 // lanes: bytes 0,2,4,6 and 1,3,5,7 of each word
		var acc, tot uint64  // running sum of word sums, and the sum of those
		q := p[:8*k]
		for ; len(q) >= 16; q = q[16:] {
			w, x := binary.LittleEndian.Uint64(q), binary.LittleEndian.Uint64(q[8:])
			e, o := w&0x00ff00ff00ff00ff, (w>>8)&0x00ff00ff00ff00ff
			f, g := x&0x00ff00ff00ff00ff, (x>>8)&0x00ff00ff00ff00ff
			even += e + f
			odd += o + g
			sw := ((e + o) * 0x0001000100010001) >> 48 // the words' sums
			sx := ((f + g) * 0x0001000100010001) >> 48
			tot += 2*acc + 2*sw + sx
			acc += sw + sx
		}
		if len(q) == 8 {
			w := binary.LittleEndian.Uint64(q)
			e, o := w&0x00ff00ff00ff00ff, (w>>8)&0x00ff00ff00ff00ff
			even += e
			odd += o
			acc += ((e + o) * 0x0001000100010001) >> 48
			tot += acc
		}
		l2, l4, l6 := (even>>16)&0xffff, (even>>32)&0xffff, even>>48
		l1, l3, l5, l7 := odd&0xffff, (odd>>16)&0xffff, (odd>>32)&0xffff, odd>>48
		n := uint64(8 * k)
		// tot counts the word of byte i (K-k) times; Σ (n-i)·b[i] =
		// 8·Σ (K-k)·S_k - Σ j·L_j
		weighted := 8*tot - (l1 + 2*l2 + 3*l3 + 4*l4 + 5*l5 + 6*l6 + 7*l7)
		s2 = (s2 + n*s1 + weighted) % adlerMod
		s1 = (s1 + acc) % adlerMod
		p = p[8*k:]
	}
	for _, b := range p {
		s1 += uint64(b)
		s2 += s1
	}
	return uint32((s2%adlerMod)<<16 | s1%adlerMod)
}

// adlerChecksum is the Adler-32 of p.
func adlerChecksum(p []byte) uint32 { return adlerUpdate(1, p) }
