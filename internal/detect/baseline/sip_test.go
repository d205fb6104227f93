// SPDX-License-Identifier: Apache-2.0

package baseline

import "testing"

// TestSipHash checks sum against the reference implementation's published
// vectors: key 00 01 … 0f, message 00 01 … (n-1) for length n.
func TestSipHash(t *testing.T) {
	k := sipKey{k0: 0x0706050403020100, k1: 0x0f0e0d0c0b0a0908}
	msg := make([]byte, 64)
	for i := range msg {
		msg[i] = byte(i)
	}
	want := map[int]uint64{
		0:  0x726fdb47dd0e0e31,
		1:  0x74f839c593dc67fd,
		7:  0xab0200f58b01d137,
		8:  0x93f5f5799a932462,
		9:  0x9e0082df0ba9e4b0,
		15: 0xa129ca6149be45e5,
		16: 0x3f2acc7f57c29bdb,
		63: 0x958a324ceb064572,
	}
	for n, w := range want {
		if got := k.sum(msg[:n]); got != w {
			t.Errorf("sum(%d bytes) = %#016x, want %#016x", n, got, w)
		}
	}
}
