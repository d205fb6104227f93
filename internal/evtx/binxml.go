// SPDX-License-Identifier: Apache-2.0

package evtx

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"time"
)

// BinXml tokens (the 0x40 bit marks "more data": attributes follow an
// element start, another attribute follows an attribute).
const (
	tokEOF          = 0x00
	tokOpenStart    = 0x01
	tokCloseStart   = 0x02
	tokCloseEmpty   = 0x03
	tokEnd          = 0x04
	tokValue        = 0x05
	tokAttr         = 0x06
	tokCDATA        = 0x07
	tokCharRef      = 0x08
	tokEntityRef    = 0x09
	tokPITarget     = 0x0a
	tokPIData       = 0x0b
	tokTemplate     = 0x0c
	tokSubst        = 0x0d
	tokOptSubst     = 0x0e
	tokFragmentHead = 0x0f
	tokMore         = 0x40
)

// Limits that keep hostile input from costing unbounded time or memory.
const (
	maxNesting   = 16       // template instances and BinXml values inside each other
	maxDepth     = 256      // open elements
	maxOps       = 1 << 20  // work per record (as for maxChunkOps)
	maxArena     = 8 << 20  // rendered bytes per record
	maxChunkOps  = 4 << 20  // work per chunk: ops run, bytes compiled, name characters decoded
	maxHeld      = 1 << 18  // compiled ops held at once, for templates and for fragments
	maxChunkOut  = 64 << 20 // rendered bytes per chunk
	maxInterned  = 1 << 14  // distinct names and short literals kept for reuse
	maxInternLen = 256      // longest string kept for reuse
	maxNameChars = 4096     // characters in an element or attribute name
)

// An op is one compiled BinXml instruction.
type op struct {
	kind uint8
	opt  bool   // optional substitution
	idx  uint16 // substitution index
	a, b uint32 // opTemplate: definition offset, position of the value count
	s    string // element or attribute name, or literal text
}

const (
	opOpen = iota + 1
	opAttr
	opCloseStart
	opCloseEmpty
	opEnd
	opText
	opSubst
	opTemplate
)

// value is one substitution value: its type and where its bytes lie in the
// chunk.
type value struct {
	typ       uint8
	off, size uint32
}

type template struct {
	lo, hi int // ops in parser.tops
	err    error
}

// parser holds the per-chunk caches and the per-record scratch space.
type parser struct {
	buf []byte // chunk-sized read buffer
	c   []byte // the current chunk
	tmp []byte // scratch for decoding names

	names     map[uint32]string // name structures by chunk offset
	tmplIdx   map[uint32]int    // template definitions by chunk offset → tmpls
	tmpls     []template
	tops      []op // compiled template definitions of this chunk
	templates int  // definitions compiled, over all chunks

	scratch  []op    // record-level and nested fragments
	vals     []value // substitution values of the instances being executed
	budget   int     // ops left for this record
	chunkOps int     // ops left for this chunk
	chunkOut int     // rendered bytes left for this chunk

	r   renderer
	rec Record
}

const errBudget = "too complex: over the work budget of the record or its chunk"

type formatError struct {
	off uint32
	msg string
}

func (e *formatError) Error() string {
	return fmt.Sprintf("binxml at chunk offset %d: %s", e.off, e.msg)
}

func errAt(off uint32, msg string) error { return &formatError{off, msg} }

func (p *parser) init() {
	p.names = make(map[uint32]string)
	p.tmplIdx = make(map[uint32]int)
	p.r.intern = make(map[string]string)
}

func (p *parser) resetChunk(c []byte) {
	p.c = c
	clear(p.names)
	clear(p.tmplIdx)
	p.tmpls = p.tmpls[:0]
	p.tops = p.tops[:0]
	p.chunkOps = maxChunkOps
	p.chunkOut = maxChunkOut
}

// record renders the record at chunk offset pos of the given size (header
// already checked).
func (p *parser) record(pos, size uint32) (*Record, error) {
	le := binary.LittleEndian
	p.rec.ID = le.Uint64(p.c[pos+8:])
	ft := le.Uint64(p.c[pos+16:])
	// Real records cost a few hundred ops and bytes; the budgets only stop
	// hostile ones, per record and over the chunk's many records.
	p.r.reset(min(maxArena, p.chunkOut))
	p.budget = min(maxOps, p.chunkOps)
	p.vals = p.vals[:0]
	err := p.fragment(pos+24, pos+size-4, 0)
	p.chunkOps -= min(maxOps, p.chunkOps) - max(p.budget, 0)
	p.chunkOut -= len(p.r.arena)
	if err != nil {
		return nil, fmt.Errorf("record %d: %w", p.rec.ID, err)
	}
	if err := p.r.finish(&p.rec); err != nil {
		return nil, fmt.Errorf("record %d: %w", p.rec.ID, err)
	}
	if ft == 0 {
		ft = p.r.sysTime
	}
	if id, ok := eventRecordID(p.rec.Fields); ok {
		p.rec.ID = id
	}
	switch {
	case ft != 0:
		p.rec.Time = filetimeUnixNano(ft)
	default:
		p.rec.Time = timeCreatedText(p.rec.Fields)
	}
	return &p.rec, nil
}

// eventRecordID returns the System EventRecordID.
func eventRecordID(fields []Field) (uint64, bool) {
	for _, f := range fields {
		if f.Name == "EventRecordID" {
			id, err := strconv.ParseUint(f.Value, 10, 64)
			return id, err == nil
		}
	}
	return 0, false
}

// timeCreatedText returns the TimeCreated field parsed as RFC 3339 (files
// converted from XML hold it as text), or 0.
func timeCreatedText(fields []Field) int64 {
	for _, f := range fields {
		if f.Name == "TimeCreated" {
			if t, err := time.Parse(time.RFC3339Nano, f.Value); err == nil {
				return t.UnixNano()
			}
			return 0
		}
	}
	return 0
}

// fragment compiles and runs the BinXml fragment in c[pos:end] that is not a
// template definition (a record's body, or a BinXml substitution value).
func (p *parser) fragment(pos, end uint32, nest int) error {
	if nest > maxNesting {
		return errAt(pos, "BinXml nested too deeply")
	}
	// Compiling costs too: a value can be referenced many times.
	p.budget -= int(end-pos) + 1
	if p.budget < 0 {
		return errAt(pos, errBudget)
	}
	base := len(p.scratch)
	ops, _, err := p.compile(p.scratch, pos, end, false)
	p.scratch = ops
	if err == nil {
		err = p.exec(ops[base:], nil, nest)
	}
	p.scratch = p.scratch[:base]
	return err
}

// template returns the compiled definition at chunk offset off.
func (p *parser) template(off uint32) *template {
	if i, ok := p.tmplIdx[off]; ok {
		return &p.tmpls[i]
	}
	p.templates++
	t := template{lo: len(p.tops)}
	c := p.c
	if uint64(off)+24 > uint64(len(c)) {
		t.err = errAt(off, "template definition outside the chunk")
	} else {
		size := binary.LittleEndian.Uint32(c[off+20:])
		start := off + 24
		p.budget -= int(min(size, chunkSize)) + 1
		if uint64(start)+uint64(size) > uint64(len(c)) {
			t.err = errAt(off, fmt.Sprintf("template definition of %d bytes does not fit the chunk", size))
		} else if p.budget < 0 {
			t.err = errAt(off, errBudget)
		} else {
			p.tops, _, t.err = p.compile(p.tops, start, start+size, true)
		}
	}
	t.hi = len(p.tops)
	p.tmplIdx[off] = len(p.tmpls)
	p.tmpls = append(p.tmpls, t)
	return &p.tmpls[len(p.tmpls)-1]
}

// compile appends the ops for the tokens in c[pos:end] up to the end-of-
// fragment token. inDef says the tokens are a template definition, whose
// element starts carry a dependency identifier. It is one switch with a
// case per token, long but flat: splitting it would only scatter the
// bounds checks.
func (p *parser) compile(ops []op, pos, end uint32, inDef bool) ([]op, uint32, error) {
	c := p.c
	le := binary.LittleEndian
	need := func(n uint32) bool { return uint64(pos)+uint64(n) <= uint64(end) }
	for pos < end {
		if len(ops) >= maxHeld {
			return ops, pos, errAt(pos, "too many instructions")
		}
		tok := c[pos]
		switch tok &^ tokMore {
		case tokEOF:
			return ops, pos + 1, nil
		case tokFragmentHead:
			if tok != tokFragmentHead || !need(4) {
				return ops, pos, errAt(pos, "bad fragment header")
			}
			pos += 4
		case tokOpenStart:
			np, ok := p.elementNameField(pos+1, end, inDef)
			if !ok {
				return ops, pos, errAt(pos, "element start does not fit")
			}
			name, next, err := p.name(np, end)
			if err != nil {
				return ops, pos, err
			}
			pos = next
			if tok&tokMore != 0 {
				if !need(4) {
					return ops, pos, errAt(pos, "attribute list size does not fit")
				}
				pos += 4
			}
			ops = append(ops, op{kind: opOpen, s: name})
		case tokCloseStart, tokCloseEmpty, tokEnd:
			if tok&tokMore != 0 {
				return ops, pos, errAt(pos, fmt.Sprintf("unknown token %#02x", tok))
			}
			ops = append(ops, op{kind: [...]uint8{tokCloseStart: opCloseStart, tokCloseEmpty: opCloseEmpty, tokEnd: opEnd}[tok]})
			pos++
		case tokValue:
			if !need(2) {
				return ops, pos, errAt(pos, "value does not fit")
			}
			t := c[pos+1]
			var n uint32
			switch {
			case t == typeString:
				if !need(4) {
					return ops, pos, errAt(pos, "value does not fit")
				}
				n = 2 * uint32(le.Uint16(c[pos+2:]))
				pos += 2
			case t < uint8(len(fixedSize)) && fixedSize[t] != 0:
				n = uint32(fixedSize[t])
			default:
				return ops, pos, errAt(pos, fmt.Sprintf("value of type %#02x outside a substitution", t))
			}
			pos += 2
			if !need(n) {
				return ops, pos, errAt(pos, "value does not fit")
			}
			p.tmp = appendValue(p.tmp[:0], t, c[pos:pos+n])
			ops = append(ops, op{kind: opText, s: p.r.internBytes(p.tmp)})
			pos += n
		case tokAttr:
			name, next, err := p.name(pos+1, end)
			if err != nil {
				return ops, pos, err
			}
			ops = append(ops, op{kind: opAttr, s: name})
			pos = next
		case tokCDATA, tokPIData:
			if !need(3) {
				return ops, pos, errAt(pos, "text does not fit")
			}
			n := 2 * uint32(le.Uint16(c[pos+1:]))
			if !need(3 + n) {
				return ops, pos, errAt(pos, "text does not fit")
			}
			if tok&^tokMore == tokCDATA {
				ops = append(ops, op{kind: opText, s: string(appendUTF16(nil, c[pos+3:pos+3+n]))})
			}
			pos += 3 + n
		case tokCharRef:
			if !need(3) {
				return ops, pos, errAt(pos, "character reference does not fit")
			}
			ops = append(ops, op{kind: opText, s: string(rune(le.Uint16(c[pos+1:])))})
			pos += 3
		case tokEntityRef:
			name, next, err := p.name(pos+1, end)
			if err != nil {
				return ops, pos, err
			}
			ops = append(ops, op{kind: opText, s: entity(name)})
			pos = next
		case tokPITarget:
			_, next, err := p.name(pos+1, end)
			if err != nil {
				return ops, pos, err
			}
			pos = next
		case tokTemplate:
			if tok != tokTemplate {
				return ops, pos, errAt(pos, fmt.Sprintf("unknown token %#02x", tok))
			}
			o, next, err := p.instance(pos, end)
			if err != nil {
				return ops, pos, err
			}
			ops = append(ops, o)
			pos = next
		case tokSubst, tokOptSubst:
			if tok&tokMore != 0 || !need(4) {
				return ops, pos, errAt(pos, "substitution does not fit")
			}
			ops = append(ops, op{kind: opSubst, idx: le.Uint16(c[pos+1:]), opt: tok == tokOptSubst})
			pos += 4
		default:
			return ops, pos, errAt(pos, fmt.Sprintf("unknown token %#02x", tok))
		}
	}
	return ops, pos, nil
}

// elementNameField returns the position of an element start's name offset;
// pos is just after the token. Template definitions put a 2-byte dependency
// identifier first, other fragments do not; when the expected layout gives
// an impossible name offset and the other a possible one, the other is
// taken.
func (p *parser) elementNameField(pos, end uint32, inDef bool) (uint32, bool) {
	with, without := pos+6, pos+4
	first, second := without, with
	if inDef {
		first, second = with, without
	}
	if p.plausibleName(first, end) {
		return first, true
	}
	if p.plausibleName(second, end) {
		return second, true
	}
	return first, uint64(first)+4 <= uint64(end)
}

// plausibleName says whether the 4 bytes at pos can be a name offset: the
// name follows inline, or lies earlier in the chunk.
func (p *parser) plausibleName(pos, end uint32) bool {
	if uint64(pos)+4 > uint64(end) {
		return false
	}
	off := binary.LittleEndian.Uint32(p.c[pos:])
	return off == pos+4 || (off >= chunkHeadSize && off < pos)
}

// name reads a name offset at pos and returns the name and the position
// after the offset field, or after the name itself when it is inline.
func (p *parser) name(pos, end uint32) (string, uint32, error) {
	c := p.c
	if uint64(pos)+4 > uint64(end) {
		return "", pos, errAt(pos, "name offset does not fit")
	}
	off := binary.LittleEndian.Uint32(c[pos:])
	pos += 4
	limit := uint32(len(c))
	if off == pos {
		limit = end
	} else if off >= pos {
		return "", pos, errAt(pos, fmt.Sprintf("name offset %d points forward", off))
	}
	if uint64(off)+8 > uint64(limit) {
		return "", pos, errAt(off, "name does not fit")
	}
	n := uint32(binary.LittleEndian.Uint16(c[off+6:]))
	if n > maxNameChars || uint64(off)+8+2*uint64(n) > uint64(limit) {
		return "", pos, errAt(off, fmt.Sprintf("name of %d characters does not fit", n))
	}
	s, ok := p.names[off]
	if !ok {
		if p.budget -= int(n) + 1; p.budget < 0 {
			return "", pos, errAt(off, errBudget)
		}
		p.tmp = appendUTF16(p.tmp[:0], c[off+8:off+8+2*n])
		s = p.r.internBytes(p.tmp)
		p.names[off] = s
	}
	if off == pos {
		pos += 8 + 2*n
		if uint64(pos)+2 <= uint64(end) {
			pos += 2 // the name's terminating NUL
		}
	}
	return s, pos, nil
}

func entity(name string) string {
	switch name {
	case "amp":
		return "&"
	case "lt":
		return "<"
	case "gt":
		return ">"
	case "quot":
		return `"`
	case "apos":
		return "'"
	}
	return "&" + name + ";"
}

// instance reads a template instance token at pos: the definition offset
// (skipping a definition that follows inline) and the value descriptors. It
// returns an opTemplate and the position after the values.
func (p *parser) instance(pos, end uint32) (op, uint32, error) {
	c := p.c
	le := binary.LittleEndian
	if uint64(pos)+10 > uint64(end) {
		return op{}, pos, errAt(pos, "template instance does not fit")
	}
	def := le.Uint32(c[pos+6:])
	q := pos + 10
	if def == q {
		if uint64(q)+24 > uint64(end) {
			return op{}, pos, errAt(q, "template definition does not fit")
		}
		n := le.Uint32(c[q+20:])
		if uint64(q)+24+uint64(n) > uint64(end) {
			return op{}, pos, errAt(q, fmt.Sprintf("template definition of %d bytes does not fit", n))
		}
		q += 24 + n
	} else if def >= pos {
		return op{}, pos, errAt(pos, fmt.Sprintf("template definition offset %d points forward", def))
	}
	next, err := p.valuesEnd(q, end)
	if err != nil {
		return op{}, pos, err
	}
	return op{kind: opTemplate, a: def, b: q}, next, nil
}

// valuesEnd checks the value count and descriptors at q and returns the
// position after the values.
func (p *parser) valuesEnd(q, end uint32) (uint32, error) {
	c := p.c
	le := binary.LittleEndian
	if uint64(q)+4 > uint64(end) {
		return q, errAt(q, "substitution count does not fit")
	}
	n := uint64(le.Uint32(c[q:]))
	d := uint64(q) + 4
	if d+4*n > uint64(end) {
		return q, errAt(q, fmt.Sprintf("%d substitution descriptors do not fit", n))
	}
	v := d + 4*n
	for i := uint64(0); i < n; i++ {
		v += uint64(le.Uint16(c[d+4*i:]))
	}
	if v > uint64(end) {
		return q, errAt(q, "substitution values do not fit")
	}
	return uint32(v), nil
}

// exec runs ops with the substitution values vals.
func (p *parser) exec(ops []op, vals []value, nest int) error {
	p.budget -= len(ops)
	if p.budget < 0 {
		return errAt(0, errBudget)
	}
	r := &p.r
	for i := range ops {
		o := &ops[i]
		switch o.kind {
		case opOpen:
			r.open(o.s)
		case opAttr:
			r.attr(o.s)
		case opCloseStart:
			r.closeStart()
		case opCloseEmpty:
			r.closeEmpty()
		case opEnd:
			r.end()
		case opText:
			r.text(o.s)
		case opSubst:
			if int(o.idx) >= len(vals) {
				continue // a missing value renders as null
			}
			v := vals[o.idx]
			if v.typ == typeBinXml {
				if v.size > 0 {
					if err := p.fragment(v.off, v.off+v.size, nest+1); err != nil {
						return err
					}
				}
				continue
			}
			if v.typ != typeNull && v.size > 0 {
				r.value(v.typ, p.c[v.off:v.off+v.size])
			}
		case opTemplate:
			if err := p.runTemplate(o, nest); err != nil {
				return err
			}
		}
		if r.err != nil {
			return r.err
		}
	}
	return nil
}

// runTemplate executes one template instance.
func (p *parser) runTemplate(o *op, nest int) error {
	if nest >= maxNesting {
		return errAt(o.b, "template instances nested too deeply")
	}
	t := p.template(o.a)
	if t.err != nil {
		return fmt.Errorf("template at chunk offset %d: %w", o.a, t.err)
	}
	c := p.c
	le := binary.LittleEndian
	n := le.Uint32(c[o.b:]) // checked by valuesEnd at compile time
	p.budget -= int(n)
	d := o.b + 4
	v := d + 4*n
	base := len(p.vals)
	for i := uint32(0); i < n; i++ {
		size := uint32(le.Uint16(c[d+4*i:]))
		p.vals = append(p.vals, value{typ: c[d+4*i+2], off: v, size: size})
		v += size
	}
	vals := p.vals[base:]
	err := p.exec(p.tops[t.lo:t.hi], vals, nest+1)
	p.vals = p.vals[:base]
	return err
}
