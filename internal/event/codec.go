// SPDX-License-Identifier: Apache-2.0

package event

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// codecVersion is the first byte of every encoded event.
const codecVersion = 1

// AppendBinary appends the binary form of e to b: the journal's record.
func (e *Event) AppendBinary(b []byte) []byte {
	b = append(b, codecVersion)
	b = append(b, e.ID[:]...)
	b = binary.AppendVarint(b, e.Time)
	b = binary.AppendVarint(b, e.Received)
	b = binary.AppendUvarint(b, uint64(e.Flags))
	for _, s := range [...]string{e.Tenant, e.Source, e.Host, e.Log.Product, e.Log.Category, e.Log.Service, e.Reason} {
		b = appendString(b, s)
	}
	b = binary.AppendUvarint(b, uint64(len(e.Fields)))
	for _, f := range e.Fields {
		b = appendString(b, f.ID.Name())
		b = appendString(b, f.Value)
	}
	b = binary.AppendUvarint(b, uint64(len(e.Raw)))
	return append(b, e.Raw...)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// ErrCorrupt is wrapped by Decode's errors.
var ErrCorrupt = errors.New("event: corrupt record")

// Decode reads one event from the binary form in b into e (which is reset)
// and returns the number of bytes used. e does not keep b.
func Decode(b []byte, e *Event) (int, error) {
	e.Reset()
	d := decoder{s: string(b)} // one copy; every string below is a substring
	if d.byte() != codecVersion {
		return 0, fmt.Errorf("%w: unknown version", ErrCorrupt)
	}
	if len(d.s)-d.off < 16 {
		return 0, fmt.Errorf("%w: short id", ErrCorrupt)
	}
	copy(e.ID[:], d.s[d.off:d.off+16])
	d.off += 16
	e.Time = d.varint()
	e.Received = d.varint()
	e.Flags = Flag(d.uvarint())
	for _, p := range [...]*string{&e.Tenant, &e.Source, &e.Host, &e.Log.Product, &e.Log.Category, &e.Log.Service, &e.Reason} {
		*p = d.str()
	}
	n := d.uvarint()
	if d.err == nil && n > uint64(len(d.s)-d.off)/2 {
		d.err = fmt.Errorf("%w: %d fields in %d bytes", ErrCorrupt, n, len(d.s)-d.off)
	}
	if d.err == nil && cap(e.Fields) < int(n) {
		e.Fields = make([]Field, 0, n)
	}
	for i := uint64(0); i < n && d.err == nil; i++ {
		name, value := d.str(), d.str()
		if d.err != nil {
			break
		}
		id, err := Intern(name)
		if err != nil {
			e.Flag(FlagFieldsDropped, "too many distinct field names")
			continue
		}
		e.Fields = append(e.Fields, Field{ID: id, Value: value})
	}
	raw := d.str()
	if d.err != nil {
		return 0, d.err
	}
	if raw != "" {
		e.Raw = []byte(raw)
	}
	return d.off, nil
}

type decoder struct {
	s   string
	off int
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: bad %s at byte %d", ErrCorrupt, what, d.off)
	}
	d.off = len(d.s)
}

func (d *decoder) byte() byte {
	if d.off >= len(d.s) {
		d.fail("version")
		return 0
	}
	c := d.s[d.off]
	d.off++
	return c
}

func (d *decoder) uvarint() uint64 {
	var x uint64
	var s uint
	for i := 0; i < binary.MaxVarintLen64; i++ {
		if d.off >= len(d.s) {
			break
		}
		c := d.s[d.off]
		d.off++
		if c < 0x80 {
			if i == binary.MaxVarintLen64-1 && c > 1 {
				break
			}
			return x | uint64(c)<<s
		}
		x |= uint64(c&0x7f) << s
		s += 7
	}
	d.fail("number")
	return 0
}

func (d *decoder) varint() int64 {
	u := d.uvarint()
	x := int64(u >> 1)
	if u&1 != 0 {
		x = ^x
	}
	return x
}

func (d *decoder) str() string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if n > uint64(len(d.s)-d.off) {
		d.fail("length")
		return ""
	}
	s := d.s[d.off : d.off+int(n)]
	d.off += int(n)
	return s
}
