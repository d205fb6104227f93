// SPDX-License-Identifier: Apache-2.0

package evtx

import (
	"encoding/binary"
	"errors"
	"strconv"
)

// Element roles decide what an element contributes to the fields.
const (
	roleRoot      = iota // <Event>
	roleSystem           // <System>
	roleSysChild         // <EventID>, <Provider Name=…/>: text and attributes
	roleEventData        // <EventData>
	roleData             // <Data Name="X">: field X (or Data, Data_2…)
	roleEDChild          // another EventData child (<Binary>): its own name
	roleSection          // <UserData> and other sections: leaves below
	roleWrapper          // the element directly inside <UserData>
	roleLeafy            // anything below that: leaves by their own name
	roleSkip             // <RenderingInfo> and what is below it
)

type elem struct {
	name     string
	field    string // roleData: the Name attribute
	start    int32  // arena offset where the content starts
	role     uint8
	hasChild bool
	pathFrom uint8 // stack index where the path of a repeated name starts
}

type fieldRef struct {
	name       string
	start, end int32
}

// renderer turns element events into fields. Values are appended to arena;
// finish makes one string of it per record.
type renderer struct {
	arena  []byte
	fields []fieldRef
	stack  []elem
	err    error

	inAttr    bool
	attrKeep  bool // the attribute's value is wanted
	attrName  string
	attrStart int32
	attrLit   string // the value when it is exactly one literal
	attrParts int

	limit   int    // bytes the record may render
	sysTime uint64 // FILETIME of System/TimeCreated/@SystemTime, 0 if none

	seen   [4]uint64 // filter of field names used in this record
	intern map[string]string
	tmp    []byte
}

var errArena = errors.New("record renders too much (over 8 MiB, or over 64 MiB for its chunk)")

// reset starts a record that may render up to limit bytes.
func (r *renderer) reset(limit int) {
	r.limit = limit
	r.arena = r.arena[:0]
	r.fields = r.fields[:0]
	r.stack = r.stack[:0]
	r.err = nil
	r.inAttr = false
	r.sysTime = 0
	r.seen = [4]uint64{}
}

// finish checks the structure and fills rec.Fields.
func (r *renderer) finish(rec *Record) error {
	if r.err != nil {
		return r.err
	}
	if len(r.stack) != 0 {
		return errors.New("binxml: element <" + r.stack[len(r.stack)-1].name + "> not closed")
	}
	s := string(r.arena)
	rec.Fields = rec.Fields[:0]
	for _, f := range r.fields {
		rec.Fields = append(rec.Fields, Field{Name: f.name, Value: s[f.start:f.end]})
	}
	return nil
}

func (r *renderer) open(name string) {
	if r.inAttr {
		r.finishAttr()
	}
	d := len(r.stack)
	if d >= maxDepth {
		r.err = errors.New("binxml: elements nested too deeply")
		return
	}
	e := elem{name: name, role: roleRoot, start: int32(len(r.arena))}
	if d > 0 {
		parent := &r.stack[d-1]
		parent.hasChild = true
		e.pathFrom = parent.pathFrom
		switch parent.role {
		case roleRoot:
			switch name {
			case "System":
				e.role = roleSystem
			case "EventData":
				e.role = roleEventData
			case "RenderingInfo":
				e.role = roleSkip
			default:
				e.role = roleSection
			}
			e.pathFrom = 1 // a repeated name is prefixed by the section…
			if name == "UserData" {
				e.pathFrom = 2 // …or, in UserData, by the element inside it
			}
		case roleSystem:
			e.role = roleSysChild
		case roleEventData:
			e.role = roleEDChild
			if name == "Data" {
				e.role = roleData
			}
		case roleSection:
			e.role = roleLeafy
			if parent.name == "UserData" {
				e.role = roleWrapper
			}
		case roleData, roleEDChild, roleWrapper, roleLeafy:
			e.role = roleLeafy
		default:
			e.role = roleSkip
		}
	}
	r.stack = append(r.stack, e)
}

func (r *renderer) attr(name string) {
	if r.inAttr {
		r.finishAttr()
	}
	r.inAttr = true
	r.attrName = name
	r.attrStart = int32(len(r.arena))
	r.attrParts = 0
	r.attrLit = ""
	r.attrKeep = false
	if d := len(r.stack); d > 0 {
		switch r.stack[d-1].role {
		case roleSysChild:
			r.attrKeep = true
		case roleData:
			r.attrKeep = name == "Name"
		case roleWrapper, roleLeafy:
			r.attrKeep = name != "xmlns" && !(len(name) > 6 && name[:6] == "xmlns:")
		}
	}
}

// finishAttr handles the attribute whose value has just been rendered.
func (r *renderer) finishAttr() {
	r.inAttr = false
	if !r.attrKeep || len(r.stack) == 0 {
		r.arena = r.arena[:r.attrStart]
		return
	}
	e := &r.stack[len(r.stack)-1]
	if int(r.attrStart) == len(r.arena) {
		return // null or empty: left out
	}
	switch e.role {
	case roleData:
		if r.attrParts == 1 && r.attrLit != "" {
			e.field = r.attrLit
		} else {
			e.field = r.internBytes(r.arena[r.attrStart:])
		}
		r.arena = r.arena[:r.attrStart]
	case roleSysChild:
		name := e.name
		if !(name == "TimeCreated" && r.attrName == "SystemTime") {
			name = r.join(e.name, r.attrName)
		}
		r.emit(name, r.attrStart)
	default:
		r.emit(r.join(e.name, r.attrName), r.attrStart)
	}
}

func (r *renderer) closeStart() {
	if r.inAttr {
		r.finishAttr()
	}
	if d := len(r.stack); d > 0 {
		r.stack[d-1].start = int32(len(r.arena))
	} else {
		r.err = errors.New("binxml: start tag closed outside an element")
	}
}

func (r *renderer) closeEmpty() {
	r.closeStart()
	r.end()
}

func (r *renderer) end() {
	if r.inAttr {
		r.finishAttr()
	}
	d := len(r.stack)
	if d == 0 {
		r.err = errors.New("binxml: end tag outside an element")
		return
	}
	e := &r.stack[d-1]
	if !e.hasChild {
		switch e.role {
		case roleSysChild:
			if int(e.start) < len(r.arena) {
				r.emit(e.name, e.start)
			}
		case roleData:
			if e.field != "" {
				r.emitPath(d-1, e.field, e.start)
			} else {
				r.emit("Data", e.start) // Data, Data_2, Data_3…
			}
		case roleEDChild, roleWrapper, roleLeafy:
			r.emitPath(d-1, e.name, e.start)
		}
	}
	r.stack = r.stack[:d-1]
}

// wanted says whether text at this point goes into a value.
func (r *renderer) wanted() bool {
	if r.inAttr {
		return r.attrKeep
	}
	d := len(r.stack)
	if d == 0 {
		return false
	}
	switch r.stack[d-1].role {
	case roleSysChild, roleData, roleEDChild, roleWrapper, roleLeafy:
		return !r.stack[d-1].hasChild
	}
	return false
}

func (r *renderer) text(s string) {
	if !r.wanted() {
		return
	}
	r.attrParts++
	if r.attrParts == 1 {
		r.attrLit = s
	}
	r.arena = append(r.arena, s...)
	if len(r.arena) > r.limit {
		r.err = errArena
	}
}

func (r *renderer) value(t uint8, b []byte) {
	if !r.wanted() {
		return
	}
	r.attrParts += 2 // never a literal
	if t == typeFileTime && len(b) == 8 && r.inAttr && r.attrName == "SystemTime" {
		r.sysTime = binary.LittleEndian.Uint64(b)
	}
	r.arena = appendValue(r.arena, t, b)
	if len(r.arena) > r.limit {
		r.err = errArena
	}
}

// emit adds a field whose value is arena[start:], making the name unique.
func (r *renderer) emit(name string, start int32) {
	if name == "" {
		name = "_" // an element with an empty name: only in damaged data
	}
	if r.used(name) {
		name = r.unique(name)
	}
	r.add(name, start)
}

func (r *renderer) add(name string, start int32) {
	h := nameHash(name)
	r.seen[h>>6&3] |= 1 << (h & 63)
	r.fields = append(r.fields, fieldRef{name: name, start: start, end: int32(len(r.arena))})
}

// emitPath adds the field for the element at stack index d under name;
// when that is taken, under the path from the element's pathFrom down to it
// (EventData_Level, LogFileCleared_Channel), and when that is taken too,
// numbered.
func (r *renderer) emitPath(d int, name string, start int32) {
	if name != "" && !r.used(name) {
		r.add(name, start)
		return
	}
	if from := int(r.stack[d].pathFrom); from < d {
		b := r.tmp[:0]
		for i := from; i < d; i++ {
			b = append(b, r.stack[i].name...)
			b = append(b, '_')
		}
		b = append(b, name...)
		r.tmp = b
		name = r.internBytes(b)
	}
	r.emit(name, start)
}

func nameHash(s string) uint32 {
	if len(s) == 0 {
		return 0
	}
	return uint32(len(s))*0x9e37 + uint32(s[0])*31 + uint32(s[len(s)-1])*131 + uint32(s[len(s)/2])*17
}

// used says whether a field of this record already has the name.
func (r *renderer) used(name string) bool {
	h := nameHash(name)
	if r.seen[h>>6&3]&(1<<(h&63)) == 0 {
		return false
	}
	for i := range r.fields {
		if r.fields[i].name == name {
			return true
		}
	}
	return false
}

// unique returns name_2, name_3… whichever is free first.
func (r *renderer) unique(name string) string {
	for k := 2; ; k++ {
		b := append(r.tmp[:0], name...)
		b = append(b, '_')
		b = strconv.AppendInt(b, int64(k), 10)
		r.tmp = b
		if s := r.internBytes(b); !r.used(s) {
			return s
		}
	}
}

// join returns a + "_" + b, interned.
func (r *renderer) join(a, b string) string {
	t := append(r.tmp[:0], a...)
	t = append(t, '_')
	t = append(t, b...)
	r.tmp = t
	return r.internBytes(t)
}

// internBytes returns b as a string, shared with earlier calls while the
// table has room, so that recurring names (and short literals) cost no
// allocation, across chunks and files.
func (r *renderer) internBytes(b []byte) string {
	if s, ok := r.intern[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(r.intern) < maxInterned && len(s) <= maxInternLen {
		r.intern[s] = s
	}
	return s
}
