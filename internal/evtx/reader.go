// SPDX-License-Identifier: Apache-2.0

package evtx

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"sync"
)

const (
	fileHeaderSize = 4096
	chunkSize      = 65536
	chunkHeadSize  = 512
)

var (
	fileMagic  = []byte("ElfFile\x00")
	chunkMagic = []byte("ElfChnk\x00")
)

// ErrNotEVTX is returned by NewReader when the file does not start with the
// EVTX signature.
var ErrNotEVTX = errors.New("evtx: not an EVTX file (no ElfFile signature)")

// Record is one event record, rendered to fields.
//
// ID is the System EventRecordID, or the identifier in the record header
// when the event has none. The two are equal except in logs exported from
// another (wevtutil epl, Event Viewer "Save as"), where the header counts
// from 1 and EventRecordID keeps the original; warnings name records by the
// header identifier. Time is when the record was written (header FILETIME);
// some real files hold 0 there, and then Time is the System
// TimeCreated (0 when that is missing too). For forwarded events the two
// differ: TimeCreated is when the event happened at its source.
//
// Fields come in document order. System fields: EventID (and
// EventID_Qualifiers when present), Version, Level, Task, Opcode, Keywords,
// TimeCreated (the SystemTime attribute), EventRecordID, Correlation_ActivityID,
// Correlation_RelatedActivityID, Execution_ProcessID, Execution_ThreadID,
// Channel, Computer, Security_UserID, Provider_Name, Provider_Guid,
// Provider_EventSourceName: an element's text under its own name, an
// attribute as Element_Attribute; empty values are left out. EventData:
// <Data Name="X">v</Data> becomes X; unnamed Data items become Data, Data_2,
// Data_3…; other children (Binary) their own name. UserData and any other
// section: leaf elements under their own name (an attribute as
// Element_Attribute, xmlns left out). RenderingInfo is left out. A name never
// appears twice: one already taken is prefixed by its path from the section
// (EventData_Level when EventData has a Level like System's) or, in
// UserData, from the element inside UserData (LogFileCleared_Channel); a
// path still taken gets a suffix _2, _3….
type Record struct {
	ID     uint64  // EventRecordID (see below)
	Time   int64   // record header FILETIME as Unix nanoseconds, UTC (see below)
	Fields []Field // in document order; names are unique within a record
}

// Field is one rendered name and value. Values are ordinary Go strings that
// stay valid after the callback returns (they share one allocation per
// record); only the Record and its Fields slice are reused.
type Field struct{ Name, Value string }

// Warning reports a chunk or record that was skipped (or, with Salvage, a
// chunk whose checksum failed). Chunk is the chunk index (-1 for the file
// header), Offset the file offset of the chunk or record.
type Warning struct {
	Chunk  int
	Offset int64
	Err    error
}

// Error says which chunk and offset the warning is about, and why.
func (w *Warning) Error() string {
	if w.Chunk < 0 {
		return fmt.Sprintf("evtx: file header: %v", w.Err)
	}
	return fmt.Sprintf("evtx: chunk %d at offset %d: %v", w.Chunk, w.Offset, w.Err)
}

// Unwrap returns the cause.
func (w *Warning) Unwrap() error { return w.Err }

// Stats counts what a Records walk saw. It is cumulative over walks.
type Stats struct {
	Chunks         int // chunks parsed (header and checksums good, or salvaged)
	EmptyChunks    int // zeroed or unused chunks, silently skipped
	SkippedChunks  int // corrupt chunks skipped with a warning
	Records        int // records delivered to fn
	SkippedRecords int // corrupt records skipped with a warning
	Templates      int // template definitions compiled
}

// Reader walks the chunks and records of one EVTX file. It is not safe for
// concurrent use; use one Reader per goroutine.
type Reader struct {
	r    io.ReaderAt
	size int64

	// Salvage makes a chunk whose checksums fail still yield the records
	// that parse (a Warning names the chunk either way). Off by default:
	// a corrupt chunk is skipped whole.
	Salvage bool

	headerChunks int  // chunk count from the file header
	headerBadCRC bool // file header checksum mismatch, reported by Records
	stats        Stats
}

// parsers keeps parser state (a chunk buffer, caches, scratch space) between
// walks, so that reading many small files does not allocate it each time.
// It is a cache only: a walk reads nothing that an earlier walk left behind
// except interned names, which are plain strings.
var parsers = sync.Pool{New: func() any {
	p := &parser{buf: make([]byte, chunkSize)}
	p.init()
	return p
}}

// NewReader checks the file header. r is read with ReadAt; size is the file size.
func NewReader(r io.ReaderAt, size int64) (*Reader, error) {
	if size < 128 {
		return nil, fmt.Errorf("evtx: file of %d bytes is too short for a header: %w", size, ErrNotEVTX)
	}
	var h [128]byte
	if _, err := r.ReadAt(h[:], 0); err != nil {
		return nil, fmt.Errorf("evtx: read file header: %w", err)
	}
	if string(h[:8]) != string(fileMagic) {
		return nil, ErrNotEVTX
	}
	rd := &Reader{
		r:            r,
		size:         size,
		headerChunks: int(binary.LittleEndian.Uint16(h[42:])),
		headerBadCRC: crc32.ChecksumIEEE(h[:120]) != binary.LittleEndian.Uint32(h[124:]),
	}
	return rd, nil
}

// Stats returns what the walks so far have seen.
func (r *Reader) Stats() Stats {
	return r.stats
}

// Records calls fn for every record of every chunk in file order. A corrupt chunk or record is skipped:
// warn (if not nil) is called with a *Warning and parsing continues. fn's *Record is reused between
// calls: copy what you keep. An error returned by fn stops the walk and is returned.
//
// Chunks are read from the whole file, not only as many as the header
// counts, because a file that was not closed cleanly can hold more.
// Zero-filled chunks (pre-allocated space) are skipped silently. A read
// error other than a short read at the end of the file is returned.
func (r *Reader) Records(fn func(*Record) error, warn func(*Warning)) error {
	if warn == nil {
		warn = func(*Warning) {}
	}
	if r.headerBadCRC {
		warn(&Warning{Chunk: -1, Err: errors.New("header checksum mismatch (chunks are still read)")})
	}
	p := parsers.Get().(*parser)
	defer func() {
		r.stats.Templates += p.templates
		p.templates = 0
		p.resetChunk(nil)
		parsers.Put(p)
	}()
	for i := 0; ; i++ {
		off := int64(fileHeaderSize) + int64(i)*chunkSize
		if off >= r.size {
			return nil
		}
		n, err := r.r.ReadAt(p.buf, off)
		if n < chunkSize {
			if err != nil && !errors.Is(err, io.EOF) {
				return fmt.Errorf("evtx: read chunk %d at offset %d: %w", i, off, err)
			}
			if !allZero(p.buf[:n]) {
				r.stats.SkippedChunks++
				warn(&Warning{Chunk: i, Offset: off, Err: fmt.Errorf("truncated chunk: %d of %d bytes", n, chunkSize)})
			}
			return nil
		}
		if err := r.chunk(p, i, off, fn, warn); err != nil {
			return err
		}
	}
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// chunk walks one chunk's records. It returns only fn's error.
func (r *Reader) chunk(p *parser, idx int, off int64, fn func(*Record) error, warn func(*Warning)) error {
	c := p.buf
	if string(c[:8]) != string(chunkMagic) {
		if idx >= r.headerChunks || allZero(c) {
			// Unused space after the last chunk, or pre-allocated zeros.
			r.stats.EmptyChunks++
			return nil
		}
		r.stats.SkippedChunks++
		warn(&Warning{Chunk: idx, Offset: off, Err: errors.New("no ElfChnk signature")})
		return nil
	}
	le := binary.LittleEndian
	free := le.Uint32(c[48:])
	if free < chunkHeadSize || free > chunkSize {
		r.stats.SkippedChunks++
		warn(&Warning{Chunk: idx, Offset: off, Err: fmt.Errorf("free space offset %d outside the chunk", free)})
		return nil
	}
	var bad error
	hc := crc32.Update(crc32.ChecksumIEEE(c[:120]), crc32.IEEETable, c[128:chunkHeadSize])
	if hc != le.Uint32(c[124:]) {
		bad = fmt.Errorf("chunk header checksum mismatch (stored %#08x, computed %#08x)", le.Uint32(c[124:]), hc)
	} else if dc := crc32.ChecksumIEEE(c[chunkHeadSize:free]); dc != le.Uint32(c[52:]) {
		bad = fmt.Errorf("event records checksum mismatch (stored %#08x, computed %#08x)", le.Uint32(c[52:]), dc)
	}
	if bad != nil {
		if !r.Salvage {
			r.stats.SkippedChunks++
			warn(&Warning{Chunk: idx, Offset: off, Err: fmt.Errorf("%w; chunk skipped", bad)})
			return nil
		}
		warn(&Warning{Chunk: idx, Offset: off, Err: fmt.Errorf("%w; salvaging records", bad)})
	}
	r.stats.Chunks++
	p.resetChunk(c)
	for pos := uint32(chunkHeadSize); pos+24 <= free; {
		size, err := recordSize(c, pos, free)
		if err != nil {
			if !(pos > chunkHeadSize && le.Uint32(c[pos:]) == 0) {
				// Zeros after the last record are unused space, not damage.
				r.stats.SkippedRecords++
				warn(&Warning{Chunk: idx, Offset: off + int64(pos), Err: err})
			}
			break
		}
		rec, err := p.record(pos, size)
		if err != nil {
			r.stats.SkippedRecords++
			warn(&Warning{Chunk: idx, Offset: off + int64(pos), Err: err})
		} else {
			r.stats.Records++
			if err := fn(rec); err != nil {
				return err
			}
		}
		pos += size
	}
	return nil
}

// recordSize checks the record header at pos and returns the record's size.
func recordSize(c []byte, pos, free uint32) (uint32, error) {
	le := binary.LittleEndian
	if m := le.Uint32(c[pos:]); m != 0x00002a2a {
		return 0, fmt.Errorf("record at chunk offset %d: bad signature %#08x", pos, m)
	}
	size := le.Uint32(c[pos+4:])
	if size < 28 || size > free-pos {
		return 0, fmt.Errorf("record at chunk offset %d: size %d does not fit the %d bytes left", pos, size, free-pos)
	}
	if tail := le.Uint32(c[pos+size-4:]); tail != size {
		return 0, fmt.Errorf("record at chunk offset %d: size %d, trailing copy %d", pos, size, tail)
	}
	return size, nil
}
