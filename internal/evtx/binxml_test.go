// SPDX-License-Identifier: Apache-2.0

package evtx

import (
	"bytes"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// ftText formats a FILETIME with the time package, as an independent oracle.
func ftText(ft uint64) string {
	t := time.Unix(int64(ft/ticksPerSecond)-11_644_473_600, int64(ft%ticksPerSecond)*100).UTC()
	return t.Format("2006-01-02T15:04:05.000000Z")
}

func TestAppendValue(t *testing.T) {
	t.Parallel()
	cat := func(bs ...[]byte) []byte { return slices.Concat(bs...) }
	u16 := func(vs ...uint16) []byte {
		var b []byte
		for _, v := range vs {
			b = le.AppendUint16(b, v)
		}
		return b
	}
	u32 := func(v uint32) []byte { return le.AppendUint32(nil, v) }
	u64 := func(v uint64) []byte { return le.AppendUint64(nil, v) }
	const ft = uint64(133_000_000_001_234_567)
	sysTime := u16(2021, 3, 4, 4, 5, 6, 7, 890)
	sid2 := []byte{1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0} // S-1-5-18
	otherGUID := []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	tests := []struct {
		name string
		typ  uint8
		in   []byte
		want string
	}{
		{"null", typeNull, []byte{1, 2}, ""},
		{"string", typeString, cat(utf16le("héllo 𝄞  \t"), u16(0), utf16le("junk")), "héllo 𝄞"},
		{"string unpaired surrogate", typeString, u16(0xd800, 'a', 0xdc00), "\uFFFDa\uFFFD"},
		{"string odd length", typeString, []byte{'a', 0, 'b'}, "a"},
		{"string non-ASCII space trimmed", typeString, utf16le("x\u3000\u00a0"), "x"},
		{"ansi", typeAnsiString, []byte("caf\xe9\x80\x00junk"), "café€"},
		{"int8", typeInt8, []byte{0xff}, "-1"},
		{"uint8", typeUint8, []byte{0xff}, "255"},
		{"int16", typeInt16, u16(0xfffe), "-2"},
		{"uint16", typeUint16, u16(65535), "65535"},
		{"int32", typeInt32, u32(0xfffffffd), "-3"},
		{"uint32", typeUint32, u32(math.MaxUint32), "4294967295"},
		{"int64", typeInt64, u64(math.MaxUint64 - 3), "-4"},
		{"uint64", typeUint64, u64(math.MaxUint64), "18446744073709551615"},
		{"real32", typeReal32, u32(math.Float32bits(1.5)), "1.5"},
		{"real64", typeReal64, u64(math.Float64bits(0.1)), "0.1"},
		{"real64 large", typeReal64, u64(math.Float64bits(1e300)), "1e+300"},
		{"bool true", typeBool, u32(1), "true"},
		{"bool false", typeBool, u32(0), "false"},
		{"binary", typeBinary, []byte{0, 0xab, 0x1f}, "00AB1F"},
		{"guid", typeGUID, testGUID, "5770385F-C22A-43E0-BF4C-06F5698FFBD9"},
		{"size_t 32", typeSizeT, u32(0x10), "0x10"},
		{"size_t 64", typeSizeT, u64(0xdeadbeef00), "0xdeadbeef00"},
		{"filetime", typeFileTime, u64(ft), ftText(ft)},
		{"filetime zero", typeFileTime, u64(0), "1601-01-01T00:00:00.000000Z"},
		{"filetime max", typeFileTime, u64(math.MaxUint64), "60056-05-28T05:36:10.955161Z"},
		{"systemtime", typeSysTime, sysTime, "2021-03-04T05:06:07.890000Z"},
		{"sid", typeSID, testSID, "S-1-5-21-1-2-3-500"},
		{"sid truncated", typeSID, testSID[:10], "0105000000000005" + "1500"},
		{"hex32", typeHex32, u32(0x1fffff), "0x1fffff"},
		{"hex64 zero", typeHex64, u64(0), "0x0"},
		{"evthandle", typeEvtHandle, u32(0xabc), "0xabc"},
		{"evtxml", typeEvtXml, utf16le("<a/>"), "<a/>"},
		{"wrong size", typeUint32, []byte{1, 2, 3}, "010203"},
		{"unknown type", 0x30, []byte{0xfe}, "FE"},
		{"string array", typeArray | typeString, cat(utf16le("a"), u16(0), utf16le("bc"), u16(0)), "a,bc"},
		{"string array unterminated", typeArray | typeString, cat(utf16le("a"), u16(0), utf16le("b")), "a,b"},
		{"ansi array", typeArray | typeAnsiString, []byte("x\x00y\x00"), "x,y"},
		{"uint16 array", typeArray | typeUint16, u16(1, 2, 3), "1,2,3"},
		{"int8 array", typeArray | typeInt8, []byte{0xff, 1}, "-1,1"},
		{"bool array", typeArray | typeBool, cat(u32(1), u32(0)), "true,false"},
		{"guid array", typeArray | typeGUID, cat(testGUID, otherGUID), "5770385F-C22A-43E0-BF4C-06F5698FFBD9,04030201-0605-0807-090A-0B0C0D0E0F10"},
		{"sid array", typeArray | typeSID, cat(testSID, sid2), "S-1-5-21-1-2-3-500,S-1-5-18"},
		{"hex64 array", typeArray | typeHex64, cat(u64(1), u64(255)), "0x1,0xff"},
		{"filetime array", typeArray | typeFileTime, cat(u64(ft), u64(0)), ftText(ft) + ",1601-01-01T00:00:00.000000Z"},
		{"systemtime array", typeArray | typeSysTime, cat(sysTime, sysTime), "2021-03-04T05:06:07.890000Z,2021-03-04T05:06:07.890000Z"},
		{"size_t array", typeArray | typeSizeT, cat(u32(1), u32(2), u32(3)), "0x1,0x2,0x3"},
		{"binary array", typeArray | typeBinary, []byte{1, 2}, "0102"},
		{"real64 array", typeArray | typeReal64, cat(u64(math.Float64bits(2.5)), u64(math.Float64bits(-1))), "2.5,-1"},
	}
	for _, tt := range tests {
		got := string(appendValue([]byte("prefix "), tt.typ, tt.in))
		if got != "prefix "+tt.want {
			t.Errorf("%s: appendValue(%#02x, % x) = %q, want %q", tt.name, tt.typ, tt.in, strings.TrimPrefix(got, "prefix "), tt.want)
		}
	}
}

func TestFiletimeUnixNano(t *testing.T) {
	t.Parallel()
	const ft = uint64(133_000_000_001_234_567)
	want := time.Unix(int64(ft/ticksPerSecond)-11_644_473_600, int64(ft%ticksPerSecond)*100).UnixNano()
	if got := filetimeUnixNano(ft); got != want {
		t.Errorf("filetimeUnixNano(%d) = %d, want %d", ft, got, want)
	}
	if got := filetimeUnixNano(1); got != math.MinInt64 {
		t.Errorf("filetimeUnixNano(1) = %d, want saturation at MinInt64", got)
	}
	if got := filetimeUnixNano(math.MaxUint64); got != math.MaxInt64 {
		t.Errorf("filetimeUnixNano(max) = %d, want saturation at MaxInt64", got)
	}
}

type result struct {
	recs  []Record
	warns []*Warning
}

// parse reads a whole file from memory.
func parse(t *testing.T, b []byte) result {
	t.Helper()
	r, err := NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("NewReader: %v", err)
	}
	var res result
	err = r.Records(func(rec *Record) error {
		c := *rec
		c.Fields = slices.Clone(rec.Fields)
		res.recs = append(res.recs, c)
		return nil
	}, func(w *Warning) { res.warns = append(res.warns, w) })
	if err != nil {
		t.Fatalf("Records: %v", err)
	}
	return res
}

// oneChunk builds a file with one chunk holding one record per body.
func oneChunk(bodies ...func(c *chunkBuilder)) []byte {
	c := newChunk(1)
	for _, body := range bodies {
		c.record(133_000_000_000_000_000, func() { body(c) })
	}
	var f fileBuilder
	f.chunks = append(f.chunks, c.finish())
	return f.bytes()
}

func TestTemplateRecords(t *testing.T) {
	t.Parallel()
	res := parse(t, sampleFile(2, 3))
	if len(res.warns) != 0 {
		t.Fatalf("warnings: %v", res.warns)
	}
	if len(res.recs) != 6 {
		t.Fatalf("got %d records, want 6", len(res.recs))
	}
	for i, rec := range res.recs {
		id := uint64(i + 1) // in the record header
		if rec.ID != id+1000 {
			t.Errorf("record %d: ID %d, want the EventRecordID %d", i, rec.ID, id+1000)
		}
		if want := filetimeUnixNano(133_000_000_000_000_000 + id); rec.Time != want {
			t.Errorf("record %d: Time %d, want %d", i, rec.Time, want)
		}
		want := []Field{
			{"Provider_Name", "Microsoft-Windows-Security-Auditing"},
			{"Provider_Guid", "5770385F-C22A-43E0-BF4C-06F5698FFBD9"},
			{"EventID", "4624"},
			{"TimeCreated", ftText(133_000_000_000_000_000 + 1234567)},
			{"EventRecordID", uitoa(id + 1000)},
			{"Keywords", "0x8020000000000000"},
			{"Channel", "Security"},
			{"Computer", "host.example"},
			{"Security_UserID", "S-1-5-21-1-2-3-500"},
			{"A", "alpha " + string(rune('a'+id%26))},
			{"B", "beta"},
		}
		if diff := cmp.Diff(want, rec.Fields); diff != "" {
			t.Errorf("record %d fields (-want +got):\n%s", i, diff)
		}
	}
}

func uitoa(v uint64) string { return string(appendValue(nil, typeUint64, le.AppendUint64(nil, v))) }

// TestDirectElements covers a record written without a template, with
// every kind of content token, with and without dependency identifiers.
func TestDirectElements(t *testing.T) {
	t.Parallel()
	for _, withDep := range []bool{false, true} {
		b := oneChunk(func(c *chunkBuilder) {
			c.inDef = withDep
			c.fragment()
			c.piTarget("xml-stylesheet")
			c.lenText(tokPIData, "href='x'")
			c.open("Event", false)
			c.closeStart()
			c.open("System", false)
			c.closeStart()
			c.open("EventID", true)
			c.attr("Qualifiers")
			c.text("16384")
			c.closeStart()
			c.text("7045")
			c.end()
			c.elem("Channel", "System")
			c.open("Provider", true)
			c.attr("Name")
			c.text("Service Control Manager")
			c.u8(tokAttr | tokMore) // another attribute follows
			c.nameRef("EventSourceName")
			c.text("Service Control Manager")
			c.closeEmpty()
			c.end()
			c.open("UserData", false)
			c.closeStart()
			c.open("Wrapper", true)
			c.attr("xmlns")
			c.text("urn:x")
			c.closeStart()
			c.open("Value", false)
			c.closeStart()
			c.text("a")
			c.entity("amp")
			c.text("b")
			c.entity("lt")
			c.charRef('Z')
			c.entity("bogus")
			c.end()
			c.open("Script", false)
			c.closeStart()
			c.lenText(tokCDATA, "x < y")
			c.end()
			c.open("Inner", false)
			c.closeStart()
			c.elem("Value", "nested")
			c.end()
			c.elem("Channel", "user channel")
			c.open("Empty", false)
			c.closeEmpty()
			c.end() // Wrapper
			c.end() // UserData
			c.open("RenderingInfo", true)
			c.attr("Culture")
			c.text("en-US")
			c.closeStart()
			c.elem("Message", "rendered text")
			c.end()
			c.end() // Event
			c.eof()
		})
		res := parse(t, b)
		if len(res.warns) != 0 || len(res.recs) != 1 {
			t.Fatalf("withDep %v: %d records, warnings %v", withDep, len(res.recs), res.warns)
		}
		want := []Field{
			{"EventID_Qualifiers", "16384"},
			{"EventID", "7045"},
			{"Channel", "System"},
			{"Provider_Name", "Service Control Manager"},
			{"Provider_EventSourceName", "Service Control Manager"},
			{"Value", "a&b<Z&bogus;"},
			{"Script", "x < y"},
			{"Wrapper_Inner_Value", "nested"},
			{"Wrapper_Channel", "user channel"},
			{"Empty", ""},
		}
		if diff := cmp.Diff(want, res.recs[0].Fields); diff != "" {
			t.Errorf("withDep %v: fields (-want +got):\n%s", withDep, diff)
		}
	}
}

// TestEventDataShapes covers unnamed Data items, optional null values,
// names that repeat and Binary.
func TestEventDataShapes(t *testing.T) {
	t.Parallel()
	b := oneChunk(func(c *chunkBuilder) {
		c.fragment()
		c.instance(0, func() {
			c.fragment()
			c.open("Event", false)
			c.closeStart()
			c.open("System", false)
			c.closeStart()
			c.substElem("Level", 0, typeUint8)
			c.substElem("Task", 1, typeUint16) // null: left out
			c.open("Correlation", true)        // both null: nothing
			c.attr("ActivityID")
			c.subst(1, typeGUID, true)
			c.attr("RelatedActivityID")
			c.subst(9, typeGUID, true) // index past the values: null
			c.closeEmpty()
			c.end()
			c.open("EventData", true)
			c.attr("Name")
			c.text("TaskDisabled") // an EventData attribute: not a field
			c.closeStart()
			for i := range 3 {
				c.substElem("Data", uint16(2+i), typeString)
			}
			c.open("Data", true)
			c.attr("Name")
			c.text("Level") // repeats System's Level
			c.closeStart()
			c.subst(5, typeUint32, false)
			c.end()
			c.open("Data", true)
			c.attr("Name")
			c.subst(6, typeString, false) // the name itself substituted
			c.closeStart()
			c.subst(1, typeString, true) // null
			c.end()
			c.open("Data", true)
			c.attr("Name")
			c.text("Level")
			c.closeStart()
			c.text("third")
			c.end()
			c.substElem("Binary", 7, typeBinary)
			c.end() // EventData
			c.end()
			c.eof()
		}, []val{
			{typeUint8, []byte{4}},
			vNull(),
			vString("one"), vString(""), vString("three"),
			{typeUint32, le.AppendUint32(nil, 77)},
			vString("Dyn"),
			{typeBinary, []byte{0xde, 0xad}},
		})
		c.eof()
	})
	res := parse(t, b)
	if len(res.warns) != 0 || len(res.recs) != 1 {
		t.Fatalf("%d records, warnings %v", len(res.recs), res.warns)
	}
	want := []Field{
		{"Level", "4"},
		{"Data", "one"},
		{"Data_2", ""},
		{"Data_3", "three"},
		{"EventData_Level", "77"},
		{"Dyn", ""},
		{"EventData_Level_2", "third"},
		{"Binary", "DEAD"},
	}
	if diff := cmp.Diff(want, res.recs[0].Fields); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
}

// TestNestedBinXml covers a substitution value of type BinXml that holds a
// template instance of its own, as forwarded and classic events have.
func TestNestedBinXml(t *testing.T) {
	t.Parallel()
	c := newChunk(1)
	var inner uint32
	c.record(133_000_000_000_000_000, func() {
		// A first record defines the inner template and every name.
		c.fragment()
		inner = c.instance(0, func() {
			c.fragment()
			c.open("EventData", false)
			c.closeStart()
			c.open("Data", true)
			c.attr("Name")
			c.text("User")
			c.closeStart()
			c.subst(0, typeString, false)
			c.end()
			c.open("Data", true)
			c.attr("Name")
			c.text("Sid")
			c.closeStart()
			c.subst(1, typeSID, false)
			c.end()
			c.end()
			c.eof()
		}, []val{vString("alice"), {typeSID, testSID}})
		c.eof()
	})
	c.record(133_000_000_000_000_001, func() {
		c.fragment()
		nested := c.detached(func() {
			c.fragment()
			c.instance(inner, nil, []val{vString("bob"), {typeSID, testSID}})
			c.eof()
		})
		c.instance(0, func() {
			c.fragment()
			c.open("Event", false)
			c.closeStart()
			c.subst(0, typeBinXml, false)
			c.end()
			c.eof()
		}, []val{{typeBinXml, nested}})
		c.eof()
	})
	var f fileBuilder
	f.chunks = append(f.chunks, c.finish())
	res := parse(t, f.bytes())
	if len(res.warns) != 0 || len(res.recs) != 2 {
		t.Fatalf("%d records, warnings %v", len(res.recs), res.warns)
	}
	// The first record is a bare EventData fragment: it renders nothing,
	// since it has no <Event> around it, but it parses.
	want := []Field{{"User", "bob"}, {"Sid", "S-1-5-21-1-2-3-500"}}
	if diff := cmp.Diff(want, res.recs[1].Fields); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
}

// TestBadRecordSkipped checks that a record with broken BinXml is skipped
// with a warning naming the chunk and record, and the others come out.
func TestBadRecordSkipped(t *testing.T) {
	t.Parallel()
	good := func(c *chunkBuilder) {
		c.fragment()
		c.open("Event", false)
		c.closeStart()
		c.open("System", false)
		c.closeStart()
		c.elem("EventID", "1")
		c.end()
		c.end()
		c.eof()
	}
	bad := []func(c *chunkBuilder){
		func(c *chunkBuilder) { c.fragment(); c.u8(0x1f) },                                         // unknown token
		func(c *chunkBuilder) { c.fragment(); c.open("Event", false); c.eof() },                    // never closed
		func(c *chunkBuilder) { c.fragment(); c.end() },                                            // end outside an element
		func(c *chunkBuilder) { c.fragment(); c.u8(tokTemplate); c.u8(1); c.u32(0); c.u32(60000) }, // forward definition
		func(c *chunkBuilder) { c.fragment(); c.u8(tokAttr); c.u32(70000) },                        // name out of range
		func(c *chunkBuilder) { c.fragment(); c.u8(tokValue); c.u8(typeGUID) },                     // value cut short
	}
	for i, b := range bad {
		res := parse(t, oneChunk(good, b, good))
		if len(res.recs) != 2 || len(res.warns) != 1 {
			t.Errorf("bad record %d: %d records, warnings %v; want 2 and one warning", i, len(res.recs), res.warns)
			continue
		}
		w := res.warns[0]
		if w.Chunk != 0 || w.Offset <= fileHeaderSize+chunkHeadSize || !strings.Contains(w.Error(), "chunk 0") || !strings.Contains(w.Error(), "record 2") {
			t.Errorf("bad record %d: warning %q (chunk %d, offset %d)", i, w.Error(), w.Chunk, w.Offset)
		}
	}
}

// TestHostileNesting checks that deep nesting and templates that fan out
// end in a warning, not a crash, a hang or a huge allocation.
func TestHostileNesting(t *testing.T) {
	t.Parallel()
	c := newChunk(1)
	// Record 1: elements nested deeper than the limit.
	c.record(1, func() {
		c.fragment()
		for range maxDepth + 10 {
			c.open("E", false)
			c.closeStart()
		}
		c.eof()
	})
	// Records 2–6: template k instantiates template k-1 64 times; the
	// first holds 40 empty elements. Rendering template k costs 40·64^k
	// ops: fine up to k=2, over the budget from k=3.
	var def uint32
	var defs []uint32
	for k := range 5 {
		prev := def
		c.record(1, func() {
			c.fragment()
			def = c.instance(0, func() {
				c.fragment()
				for range 40 {
					if k == 0 {
						c.open("E", false)
						c.closeEmpty()
					} else {
						c.instance(prev, nil, nil)
					}
				}
				c.eof()
			}, nil)
			c.eof()
		})
		defs = append(defs, def)
	}
	// Record 7: a template whose body instantiates itself.
	c.record(1, func() {
		c.fragment()
		c.u8(tokTemplate)
		c.u8(1)
		c.u32(0)
		self := c.pos() + 4
		c.u32(self)
		c.u32(0)
		c.b = append(c.b, make([]byte, 16)...)
		sizeAt := c.pos()
		c.u32(0)
		c.fragment()
		c.instance(self, nil, nil)
		c.eof()
		le.PutUint32(c.b[sizeAt:], c.pos()-sizeAt-4)
		c.u32(0) // no values
		c.eof()
	})
	// Records 8–47: template 2 (163,840 ops) again and again; the chunk's
	// budget runs out after 25 of them.
	for range 40 {
		c.record(1, func() {
			c.fragment()
			c.instance(defs[2], nil, nil)
			c.eof()
		})
	}
	res := parse(t, finishOne(c))
	var got []string
	for _, w := range res.warns {
		got = append(got, w.Error())
	}
	if len(got) < 5 || len(res.recs) < 3 ||
		!strings.Contains(got[0], "nested too deeply") ||
		!strings.Contains(got[1], "too complex") || !strings.Contains(got[2], "too complex") ||
		!strings.Contains(got[3], "nested too deeply") {
		t.Fatalf("%d records, warnings:\n%s\nwant warnings for depth, complexity (twice), self-reference first",
			len(res.recs), strings.Join(got, "\n"))
	}
	// Of records 8–47, the first ones fit the chunk's budget (4 Mi ops,
	// about 2 Mi of it left) and the rest are refused.
	ok := len(res.recs) - 3
	for _, rec := range res.recs[3:] {
		if rec.ID > uint64(7+ok) {
			t.Errorf("record %d rendered after a refused one", rec.ID)
		}
	}
	if ok < 5 || ok > 25 || len(got) != 4+40-ok {
		t.Errorf("%d of the 40 costly records rendered and %d refused, want the chunk budget to stop about half",
			ok, len(got)-4)
	}
	for _, w := range got[4:] {
		if !strings.Contains(w, "too complex") {
			t.Errorf("warning %q, want too complex", w)
		}
	}
}

func finishOne(c *chunkBuilder) []byte {
	var f fileBuilder
	f.chunks = append(f.chunks, c.finish())
	return f.bytes()
}

func TestNotEVTX(t *testing.T) {
	t.Parallel()
	for _, in := range [][]byte{nil, []byte("short"), bytes.Repeat([]byte("x"), 5000)} {
		_, err := NewReader(bytes.NewReader(in), int64(len(in)))
		if !errors.Is(err, ErrNotEVTX) {
			t.Errorf("NewReader(%d bytes of junk) = %v, want ErrNotEVTX", len(in), err)
		}
	}
}

// TestStopAndHeader checks that fn's error stops the walk, and that a bad
// file header checksum is a warning only.
func TestStopAndHeader(t *testing.T) {
	t.Parallel()
	b := sampleFile(2, 2)
	b[100] ^= 1 // inside the checksummed part of the header
	r, err := NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	stop := errors.New("stop")
	var n int
	var warns []*Warning
	err = r.Records(func(*Record) error {
		n++
		if n == 3 {
			return stop
		}
		return nil
	}, func(w *Warning) { warns = append(warns, w) })
	if !errors.Is(err, stop) || n != 3 {
		t.Errorf("Records returned %v after %d records, want stop after 3", err, n)
	}
	if len(warns) != 1 || warns[0].Chunk != -1 || !strings.Contains(warns[0].Error(), "file header") {
		t.Errorf("warnings %v, want one about the file header", warns)
	}
	if s := r.Stats(); s.Records != 3 || s.Chunks != 2 || s.Templates != 2 {
		t.Errorf("Stats() = %+v, want 3 records, 2 chunks, 2 templates", s)
	}
}

// TestRecordHeaderDamage checks damaged record headers in a chunk whose
// checksums are right: the records before come out, a warning names the
// record's offset, and the walk goes on with the next chunk.
func TestRecordHeaderDamage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		damage  func(b []byte, rec uint32)
		warning string
	}{
		{"trailing size copy", func(b []byte, rec uint32) { b[rec+le.Uint32(b[rec+4:])-4]++ }, "trailing copy"},
		{"size too large", func(b []byte, rec uint32) { le.PutUint32(b[rec+4:], 60000) }, "does not fit"},
		{"size too small", func(b []byte, rec uint32) { le.PutUint32(b[rec+4:], 12) }, "does not fit"},
		{"signature", func(b []byte, rec uint32) { b[rec] = 'x' }, "bad signature"},
	}
	for _, tt := range tests {
		var f fileBuilder
		var second uint32
		for ci := range 2 {
			c := newChunk(uint64(1 + 3*ci))
			for i := range 3 {
				start := c.pos()
				c.record(133_000_000_000_000_000, func() {
					c.fragment()
					c.open("Event", false)
					c.closeStart()
					c.elem("N", uitoa(uint64(i)))
					c.end()
					c.eof()
				})
				if ci == 0 && i == 1 {
					second = start
				}
			}
			if ci == 0 {
				tt.damage(c.b, second)
			}
			f.chunks = append(f.chunks, c.finish())
		}
		res := parse(t, f.bytes())
		var ids []uint64
		for _, r := range res.recs {
			ids = append(ids, r.ID)
		}
		if !slices.Equal(ids, []uint64{1, 4, 5, 6}) {
			t.Errorf("%s: record ids %v, want [1 4 5 6]", tt.name, ids)
		}
		if len(res.warns) != 1 || res.warns[0].Offset != int64(fileHeaderSize+second) ||
			!strings.Contains(res.warns[0].Error(), tt.warning) {
			t.Errorf("%s: warnings %v, want one at offset %d: %s", tt.name, res.warns, fileHeaderSize+second, tt.warning)
		}
		if !errors.Is(res.warns[0], res.warns[0].Err) {
			t.Errorf("%s: the warning does not unwrap to its cause", tt.name)
		}
	}
}

// TestEndWithoutCloseStart: an element ended without closing its start tag
// (damaged data) has an empty value, not the text rendered before it.
func TestEndWithoutCloseStart(t *testing.T) {
	t.Parallel()
	res := parse(t, oneChunk(func(c *chunkBuilder) {
		c.fragment()
		c.open("Event", false)
		c.closeStart()
		c.open("EventData", false)
		c.closeStart()
		c.open("Data", true)
		c.attr("Name")
		c.text("First")
		c.closeStart()
		c.text("one")
		c.end()
		c.open("Data", true)
		c.attr("Name")
		c.text("Second")
		c.end()
		c.end()
		c.end()
		c.eof()
	}))
	want := []Field{{"First", "one"}, {"Second", ""}}
	if len(res.recs) != 1 || !cmp.Equal(want, res.recs[0].Fields) {
		t.Errorf("records %v, warnings %v; want one with %v", res.recs, res.warns, want)
	}
}
