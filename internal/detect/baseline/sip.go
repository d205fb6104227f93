// SPDX-License-Identifier: Apache-2.0

package baseline

import (
	"encoding/binary"
	"math/bits"
)

// sipKey is the secret key of SipHash-2-4 (Aumasson and Bernstein, 2012).
// The engine stores subjects and values as 64-bit keyed hashes: a fixed
// size per entry whatever the length of a path or user name, and no
// cleartext user names or addresses in a snapshot. The key is random per
// engine and travels in the snapshot, so that a restored engine computes
// the same hashes; being secret, it keeps anyone who writes log lines from
// choosing a value whose hash collides with one already known.
type sipKey struct{ k0, k1 uint64 }

// sum returns SipHash-2-4 of b under k.
func (k sipKey) sum(b []byte) uint64 {
	v0 := k.k0 ^ 0x736f6d6570736575
	v1 := k.k1 ^ 0x646f72616e646f6d
	v2 := k.k0 ^ 0x6c7967656e657261
	v3 := k.k1 ^ 0x7465646279746573
	n := len(b)
	for len(b) >= 8 {
		m := binary.LittleEndian.Uint64(b)
		v3 ^= m
		v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
		v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
		v0 ^= m
		b = b[8:]
	}
	m := uint64(n) << 56
	for i := len(b) - 1; i >= 0; i-- {
		m |= uint64(b[i]) << (8 * uint(i))
	}
	v3 ^= m
	v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	v0 ^= m
	v2 ^= 0xff
	for range 4 {
		v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	}
	return v0 ^ v1 ^ v2 ^ v3
}

func sipRound(v0, v1, v2, v3 uint64) (uint64, uint64, uint64, uint64) {
	v0 += v1
	v1 = bits.RotateLeft64(v1, 13)
	v1 ^= v0
	v0 = bits.RotateLeft64(v0, 32)
	v2 += v3
	v3 = bits.RotateLeft64(v3, 16)
	v3 ^= v2
	v0 += v3
	v3 = bits.RotateLeft64(v3, 21)
	v3 ^= v0
	v2 += v1
	v1 = bits.RotateLeft64(v1, 17)
	v1 ^= v2
	v2 = bits.RotateLeft64(v2, 32)
	return v0, v1, v2, v3
}
