// SPDX-License-Identifier: Apache-2.0

package duckdb

import (
	"database/sql/driver"
	"net/netip"
	"strings"

	ddb "github.com/duckdb/duckdb-go/v2"
)

// ipFunc is the SQL function koban_ip(VARCHAR) → BLOB: the 16-byte form of
// an IPv4 or IPv6 address (IPv4 as IPv4-mapped IPv6, so that 10.0.0.1 and
// ::ffff:10.0.0.1 are equal), or NULL for anything else. Byte strings of
// this form sort as the addresses do, so a CIDR test is a BETWEEN.
type ipFunc struct{ in, out ddb.TypeInfo }

func newIPFunc() (*ipFunc, error) {
	in, err := ddb.NewTypeInfo(ddb.TYPE_VARCHAR)
	if err != nil {
		return nil, err
	}
	out, err := ddb.NewTypeInfo(ddb.TYPE_BLOB)
	if err != nil {
		return nil, err
	}
	return &ipFunc{in: in, out: out}, nil
}

// Config declares koban_ip's types.
func (f *ipFunc) Config() ddb.ScalarFuncConfig {
	return ddb.ScalarFuncConfig{InputTypeInfos: []ddb.TypeInfo{f.in}, ResultTypeInfo: f.out}
}

// Executor returns koban_ip's row function.
func (f *ipFunc) Executor() ddb.ScalarFuncExecutor {
	return ddb.ScalarFuncExecutor{RowExecutor: func(vals []driver.Value) (any, error) {
		s, ok := vals[0].(string)
		if !ok {
			return nil, nil
		}
		b, ok := ip16(s)
		if !ok {
			return nil, nil
		}
		return b[:], nil
	}}
}

// ip16 parses an address as logs write it: plain, in brackets, or with an
// IPv6 zone.
func ip16(s string) ([16]byte, bool) {
	s = strings.TrimSpace(s)
	if len(s) > 2 && s[0] == '[' && s[len(s)-1] == ']' {
		s = s[1 : len(s)-1]
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return [16]byte{}, false
	}
	return a.WithZone("").As16(), true
}

// prefixRange returns the lowest and highest 16-byte addresses in p.
func prefixRange(p netip.Prefix) (lo, hi [16]byte) {
	p = p.Masked()
	lo = p.Addr().As16()
	bits := p.Bits()
	if p.Addr().Is4() {
		bits += 96
	}
	hi = lo
	for i := bits; i < 128; i++ {
		hi[i/8] |= 1 << (7 - i%8)
	}
	return lo, hi
}
