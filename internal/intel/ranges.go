// SPDX-License-Identifier: Apache-2.0

package intel

import (
	"cmp"
	"encoding/binary"
	"net/netip"
	"slices"
)

// u128 is an address as a number: IPv4 addresses in lo's low 32 bits,
// IPv6 addresses in both halves.
type u128 struct{ hi, lo uint64 }

func (a u128) cmp(b u128) int {
	if c := cmp.Compare(a.hi, b.hi); c != 0 {
		return c
	}
	return cmp.Compare(a.lo, b.lo)
}

// inc returns a+1 and whether it overflowed.
func (a u128) inc() (u128, bool) {
	a.lo++
	if a.lo == 0 {
		a.hi++
		return a, a.hi == 0
	}
	return a, false
}

// dec returns a-1; a is never zero where it is called.
func (a u128) dec() u128 {
	if a.lo == 0 {
		a.hi--
	}
	a.lo--
	return a
}

// addrNum returns a (IPv4, or IPv6 that is not v4-mapped) as a number.
func addrNum(a netip.Addr) u128 {
	if a.Is4() {
		b := a.As4()
		return u128{lo: uint64(binary.BigEndian.Uint32(b[:]))}
	}
	b := a.As16()
	return u128{hi: binary.BigEndian.Uint64(b[:8]), lo: binary.BigEndian.Uint64(b[8:])}
}

// prefixRange returns the first and last address of masked prefix p.
func prefixRange(p netip.Prefix) (first, last u128) {
	first = addrNum(p.Addr())
	host := p.Addr().BitLen() - p.Bits() // bits that vary
	last = first
	switch {
	case host >= 128:
		last = u128{^uint64(0), ^uint64(0)}
	case host >= 64:
		last.lo = ^uint64(0)
		last.hi |= (uint64(1) << (host - 64)) - 1
	case host > 0:
		last.lo |= (uint64(1) << host) - 1
	}
	return first, last
}

// segment is one piece of the address space, first to last, covered by the
// same CIDR indicators: by[off:off+n] of the table, innermost first.
type segment struct {
	first, last u128
	off, n      int32
}

// rangeTable finds the CIDR indicators that contain an address: the
// ranges are cut into sorted, non-overlapping segments, each listing the
// indicators that cover it, so a lookup is one binary search however the
// ranges nest.
type rangeTable struct {
	segs []segment
	by   []*Indicator
}

type cidrEntry struct {
	first, last u128
	ind         *Indicator
}

// buildRanges builds a table from CIDR indicators of one family, none of
// them the same range twice. CIDR ranges either nest or are apart, never
// partly overlap, which the sweep below relies on.
func buildRanges(entries []cidrEntry) rangeTable {
	slices.SortFunc(entries, func(a, b cidrEntry) int {
		if c := a.first.cmp(b.first); c != 0 {
			return c
		}
		return b.last.cmp(a.last) // the wider range first
	})
	var t rangeTable
	var stack []cidrEntry
	var cur u128 // the first address not yet given to a segment
	done := false
	emit := func(upto u128) { // segment cur..upto covered by the stack
		if done || len(stack) == 0 || cur.cmp(upto) > 0 {
			return
		}
		seg := segment{first: cur, last: upto, off: int32(len(t.by)), n: int32(len(stack))}
		for i := len(stack) - 1; i >= 0; i-- {
			t.by = append(t.by, stack[i].ind)
		}
		t.segs = append(t.segs, seg)
		cur, done = upto.inc()
	}
	pop := func() {
		top := stack[len(stack)-1]
		emit(top.last)
		stack = stack[:len(stack)-1]
	}
	for _, e := range entries {
		for len(stack) > 0 && stack[len(stack)-1].last.cmp(e.first) < 0 {
			pop()
		}
		if len(stack) > 0 && e.first.cmp(cur) > 0 {
			emit(e.first.dec())
		}
		if len(stack) == 0 {
			cur, done = e.first, false
		}
		stack = append(stack, e)
	}
	for len(stack) > 0 {
		pop()
	}
	return t
}

// lookup returns the indicators whose ranges contain a, innermost first.
func (t *rangeTable) lookup(a u128) []*Indicator {
	lo, hi := 0, len(t.segs)
	for lo < hi { // first segment whose last >= a
		m := int(uint(lo+hi) >> 1)
		if t.segs[m].last.cmp(a) < 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo == len(t.segs) || t.segs[lo].first.cmp(a) > 0 {
		return nil
	}
	s := &t.segs[lo]
	return t.by[s.off : s.off+s.n]
}
