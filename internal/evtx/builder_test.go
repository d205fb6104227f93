// SPDX-License-Identifier: Apache-2.0

package evtx

import (
	"encoding/binary"
	"hash/crc32"
	"unicode/utf16"
)

// This file builds synthetic EVTX files for tests and fuzz seeds, one token
// at a time, so that every token and value type can be exercised with known
// expectations.

var le = binary.LittleEndian

// fileBuilder assembles a file header and chunks.
type fileBuilder struct {
	chunks [][]byte
}

// bytes returns the file: header, then the chunks.
func (f *fileBuilder) bytes() []byte {
	h := make([]byte, fileHeaderSize)
	copy(h, fileMagic)
	le.PutUint64(h[16:], uint64(max(len(f.chunks)-1, 0)))
	le.PutUint32(h[32:], 128)
	le.PutUint16(h[36:], 1)
	le.PutUint16(h[38:], 3)
	le.PutUint16(h[40:], fileHeaderSize)
	le.PutUint16(h[42:], uint16(len(f.chunks)))
	le.PutUint32(h[124:], crc32.ChecksumIEEE(h[:120]))
	for _, c := range f.chunks {
		h = append(h, c...)
	}
	return h
}

// chunkBuilder writes records into one chunk. Names are written inline the
// first time and referenced by offset after that, as Windows does.
type chunkBuilder struct {
	b       []byte
	names   map[string]uint32
	first   uint64
	next    uint64
	lastRec uint32
	inDef   bool // writing a template definition: element starts carry a dependency id
	apart   bool // writing bytes for elsewhere: names must be known already
}

// detached returns the bytes body writes, for use as a BinXml substitution
// value. Every name it uses must have been written before, so that the bytes
// do not depend on where they land.
func (c *chunkBuilder) detached(body func()) []byte {
	saved := c.b
	c.b = nil
	c.apart = true
	body()
	out := c.b
	c.b, c.apart = saved, false
	return out
}

func newChunk(firstID uint64) *chunkBuilder {
	c := &chunkBuilder{b: make([]byte, chunkHeadSize, chunkSize), names: map[string]uint32{}, first: firstID, next: firstID}
	copy(c.b, chunkMagic)
	return c
}

func (c *chunkBuilder) pos() uint32 { return uint32(len(c.b)) }
func (c *chunkBuilder) u8(v uint8)  { c.b = append(c.b, v) }
func (c *chunkBuilder) u16(v uint16) {
	c.b = le.AppendUint16(c.b, v)
}
func (c *chunkBuilder) u32(v uint32) { c.b = le.AppendUint32(c.b, v) }
func (c *chunkBuilder) u64(v uint64) { c.b = le.AppendUint64(c.b, v) }

// record writes one record whose body is written by body; ft is the header
// FILETIME.
func (c *chunkBuilder) record(ft uint64, body func()) {
	start := c.pos()
	c.u32(0x00002a2a)
	c.u32(0) // size, patched
	c.u64(c.next)
	c.u64(ft)
	body()
	size := c.pos() + 4 - start
	le.PutUint32(c.b[start+4:], size)
	c.u32(size)
	c.lastRec = start
	c.next++
}

// finish fills in the chunk header and checksums and pads to 64 KiB.
func (c *chunkBuilder) finish() []byte {
	free := c.pos()
	b := c.b[:chunkSize]
	clear(b[free:])
	h := b[:chunkHeadSize]
	le.PutUint64(h[8:], c.first)
	le.PutUint64(h[16:], c.next-1)
	le.PutUint64(h[24:], c.first)
	le.PutUint64(h[32:], c.next-1)
	le.PutUint32(h[40:], 128)
	le.PutUint32(h[44:], c.lastRec)
	le.PutUint32(h[48:], free)
	le.PutUint32(h[52:], crc32.ChecksumIEEE(b[chunkHeadSize:free]))
	le.PutUint32(h[124:], crc32.Update(crc32.ChecksumIEEE(h[:120]), crc32.IEEETable, h[128:]))
	return b
}

func utf16le(s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = le.AppendUint16(b, u)
	}
	return b
}

// nameRef writes a name offset, and the name itself inline when it is new.
func (c *chunkBuilder) nameRef(name string) {
	if off, ok := c.names[name]; ok {
		c.u32(off)
		return
	}
	if c.apart {
		panic("builder: name " + name + " must be written before a detached fragment")
	}
	off := c.pos() + 4
	c.names[name] = off
	c.u32(off)
	c.u32(0) // next string in the hash bucket
	c.u16(0) // hash, not checked
	c.u16(uint16(len(utf16.Encode([]rune(name)))))
	c.b = append(c.b, utf16le(name)...)
	c.u16(0)
}

func (c *chunkBuilder) fragment() { c.b = append(c.b, tokFragmentHead, 1, 1, 0) }
func (c *chunkBuilder) eof()      { c.u8(tokEOF) }

func (c *chunkBuilder) open(name string, attrs bool) {
	tok := uint8(tokOpenStart)
	if attrs {
		tok |= tokMore
	}
	c.u8(tok)
	if c.inDef {
		c.u16(0xffff)
	}
	c.u32(0) // data size, not used by the parser
	c.nameRef(name)
	if attrs {
		c.u32(0) // attribute list size, not used
	}
}

func (c *chunkBuilder) attr(name string)  { c.u8(tokAttr); c.nameRef(name) }
func (c *chunkBuilder) closeStart()       { c.u8(tokCloseStart) }
func (c *chunkBuilder) closeEmpty()       { c.u8(tokCloseEmpty) }
func (c *chunkBuilder) end()              { c.u8(tokEnd) }
func (c *chunkBuilder) charRef(r uint16)  { c.u8(tokCharRef); c.u16(r) }
func (c *chunkBuilder) entity(n string)   { c.u8(tokEntityRef); c.nameRef(n) }
func (c *chunkBuilder) piTarget(n string) { c.u8(tokPITarget); c.nameRef(n) }

func (c *chunkBuilder) text(s string) {
	c.u8(tokValue)
	c.u8(typeString)
	u := utf16le(s)
	c.u16(uint16(len(u) / 2))
	c.b = append(c.b, u...)
}

func (c *chunkBuilder) lenText(tok uint8, s string) {
	c.u8(tok)
	u := utf16le(s)
	c.u16(uint16(len(u) / 2))
	c.b = append(c.b, u...)
}

func (c *chunkBuilder) subst(idx uint16, typ uint8, optional bool) {
	if optional {
		c.u8(tokOptSubst)
	} else {
		c.u8(tokSubst)
	}
	c.u16(idx)
	c.u8(typ)
}

// elem writes <name attr...>text</name> with literal text.
func (c *chunkBuilder) elem(name, text string) {
	c.open(name, false)
	c.closeStart()
	c.text(text)
	c.end()
}

// substElem writes <name>%idx</name>.
func (c *chunkBuilder) substElem(name string, idx uint16, typ uint8) {
	c.open(name, false)
	c.closeStart()
	c.subst(idx, typ, false)
	c.end()
}

// val is one substitution value of a template instance.
type val struct {
	typ uint8
	b   []byte
}

// instance writes a template instance. When def is 0 the definition is
// written inline (resident) by body and its offset returned; otherwise def
// names an earlier definition.
func (c *chunkBuilder) instance(def uint32, body func(), vals []val) uint32 {
	c.u8(tokTemplate)
	c.u8(1)
	c.u32(0x1234) // template id
	if def == 0 {
		def = c.pos() + 4
		c.u32(def)
		c.u32(0)                               // next template
		c.b = append(c.b, make([]byte, 16)...) // GUID
		sizeAt := c.pos()
		c.u32(0)
		saved := c.inDef
		c.inDef = true
		body()
		c.inDef = saved
		le.PutUint32(c.b[sizeAt:], c.pos()-sizeAt-4)
	} else {
		c.u32(def)
	}
	c.u32(uint32(len(vals)))
	for _, v := range vals {
		c.u16(uint16(len(v.b)))
		c.u8(v.typ)
		c.u8(0)
	}
	for _, v := range vals {
		c.b = append(c.b, v.b...)
	}
	return def
}

// systemTemplate writes a definition body for a typical event: System with
// substitutions 0–9, then EventData with the given Data names at 10….
func (c *chunkBuilder) systemTemplate(dataNames ...string) func() {
	return func() {
		c.fragment()
		c.open("Event", true)
		c.attr("xmlns")
		c.text("http://schemas.microsoft.com/win/2004/08/events/event")
		c.closeStart()
		c.open("System", false)
		c.closeStart()
		c.open("Provider", true)
		c.attr("Name")
		c.subst(0, typeString, false)
		c.attr("Guid")
		c.subst(1, typeGUID, false)
		c.closeEmpty()
		c.open("EventID", true)
		c.attr("Qualifiers")
		c.subst(2, typeUint16, true)
		c.closeStart()
		c.subst(3, typeUint16, false)
		c.end()
		c.open("TimeCreated", true)
		c.attr("SystemTime")
		c.subst(4, typeFileTime, false)
		c.closeEmpty()
		c.substElem("EventRecordID", 5, typeUint64)
		c.open("Correlation", true)
		c.attr("ActivityID")
		c.subst(6, typeGUID, true)
		c.closeEmpty()
		c.substElem("Keywords", 7, typeHex64)
		c.elem("Channel", "Security")
		c.substElem("Computer", 8, typeString)
		c.open("Security", true)
		c.attr("UserID")
		c.subst(9, typeSID, true)
		c.closeEmpty()
		c.end() // System
		c.open("EventData", false)
		c.closeStart()
		for i, n := range dataNames {
			c.open("Data", true)
			c.attr("Name")
			c.text(n)
			c.closeStart()
			c.subst(uint16(10+i), typeString, true)
			c.end()
		}
		c.end() // EventData
		c.end() // Event
		c.eof()
	}
}

// Value encoders.
func vString(s string) val { return val{typeString, utf16le(s)} }
func vU16(v uint16) val    { return val{typeUint16, le.AppendUint16(nil, v)} }
func vU64(v uint64) val    { return val{typeUint64, le.AppendUint64(nil, v)} }
func vHex64(v uint64) val  { return val{typeHex64, le.AppendUint64(nil, v)} }
func vFileTime(v uint64) val {
	return val{typeFileTime, le.AppendUint64(nil, v)}
}
func vNull() val { return val{typeNull, nil} }

var testGUID = []byte{0x5f, 0x38, 0x70, 0x57, 0x2a, 0xc2, 0xe0, 0x43, 0xbf, 0x4c, 0x06, 0xf5, 0x69, 0x8f, 0xfb, 0xd9}

// SID S-1-5-21-1-2-3-500.
var testSID = []byte{1, 5, 0, 0, 0, 0, 0, 5, 21, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 0xf4, 0x01, 0, 0}

// systemVals returns values 0–9 for systemTemplate.
func systemVals(eventID uint16, recID uint64) []val {
	return []val{
		vString("Microsoft-Windows-Security-Auditing"),
		{typeGUID, testGUID},
		vNull(),
		vU16(eventID),
		vFileTime(133_000_000_000_000_000 + 1234567), // 2022-06-15T…
		vU64(recID),
		vNull(),
		vHex64(0x8020000000000000),
		vString("host.example"),
		{typeSID, testSID},
	}
}

// sampleFile builds a file of nchunks chunks with perChunk records each,
// all from one template per chunk (resident in the first record, referenced
// after), with EventData items A and B.
func sampleFile(nchunks, perChunk int) []byte {
	var f fileBuilder
	id := uint64(1)
	for range nchunks {
		c := newChunk(id)
		var def uint32
		for range perChunk {
			// EventRecordID differs from the header's identifier, as in
			// exported logs.
			vals := append(systemVals(4624, id+1000), vString("alpha "+string(rune('a'+id%26))), vString("beta"))
			c.record(133_000_000_000_000_000+id, func() {
				c.fragment()
				def = c.instance(def, c.systemTemplate("A", "B"), vals)
				c.eof()
			})
			id++
		}
		f.chunks = append(f.chunks, c.finish())
	}
	return f.bytes()
}
