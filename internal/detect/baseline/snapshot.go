// SPDX-License-Identifier: Apache-2.0

package baseline

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
)

// The snapshot format, version 1. Integers are unsigned (uvarint) or
// signed (varint) LEB128 varints unless said otherwise; a string is a
// uvarint length then its bytes.
//
//	magic    "koban/baseline\n" (15 bytes)
//	version  uvarint, 1
//	key      16 bytes: the SipHash key of every hash below
//	saved    varint: wall-clock Unix nanoseconds when written
//	defs     uvarint count, then per definition:
//	  name         string
//	  fingerprint  8 bytes little-endian (see fingerprint)
//	  values       table
//	  subjects     1 byte 0 (none) or 1, then a table
//	checksum 4 bytes little-endian: CRC-32C of everything before
//
//	table    per (uvarint: times kept per entry), count (uvarint), then
//	         count entries from the least to the most recently observed:
//	  hash   8 bytes little-endian
//	  first, last, quiet   varint event times (Unix ns)
//	  n      uvarint ≤ per, then n times: the first a varint, each next
//	         a uvarint step up from the one before
const (
	magic          = "koban/baseline\n"
	snapVersion    = 1
	maxSnapshot    = 1 << 30 // bytes Restore reads at most
	maxNameLen     = 256
	minEntryLength = 8 + 4 // hash, three one-byte varints, n
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// Snapshot writes the engine's state to w (format above). It holds the
// engine's lock while encoding into memory, not while writing to w.
func (e *Engine) Snapshot(w io.Writer) error {
	e.mu.Lock()
	b := e.encode()
	e.mu.Unlock()
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("baseline: snapshot: %w", err)
	}
	return nil
}

func (e *Engine) encode() []byte {
	b := make([]byte, 0, 4096)
	b = append(b, magic...)
	b = binary.AppendUvarint(b, snapVersion)
	b = binary.LittleEndian.AppendUint64(b, e.key.k0)
	b = binary.LittleEndian.AppendUint64(b, e.key.k1)
	b = binary.AppendVarint(b, e.now().UnixNano())
	b = binary.AppendUvarint(b, uint64(len(e.defs)))
	for _, c := range e.defs {
		b = binary.AppendUvarint(b, uint64(len(c.def.Name)))
		b = append(b, c.def.Name...)
		b = binary.LittleEndian.AppendUint64(b, c.fp)
		b = encodeTable(b, c.values)
		if c.subjects == nil {
			b = append(b, 0)
		} else {
			b = append(b, 1)
			b = encodeTable(b, c.subjects)
		}
	}
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, crcTable))
}

func encodeTable(b []byte, t *table) []byte {
	b = binary.AppendUvarint(b, uint64(t.per))
	b = binary.AppendUvarint(b, uint64(t.len()))
	t.each(func(i int32) {
		en := &t.ents[i]
		b = binary.LittleEndian.AppendUint64(b, en.h)
		b = binary.AppendVarint(b, en.first)
		b = binary.AppendVarint(b, en.last)
		b = binary.AppendVarint(b, en.quiet)
		ts := t.times(i)
		b = binary.AppendUvarint(b, uint64(len(ts)))
		for k, s := range ts {
			if k == 0 {
				b = binary.AppendVarint(b, s)
			} else {
				b = binary.AppendUvarint(b, uint64(s-ts[k-1]))
			}
		}
	})
	return b
}

// Restore replaces the engine's whole state with the snapshot read from r.
// A definition keeps the snapshot's state when the snapshot has one of the
// same name and fingerprint, and starts empty otherwise; definitions the
// engine no longer has are dropped. A table holding more entries than
// MaxKeys keeps the most recent. On any error — not a snapshot, another
// version, a failed checksum, a malformed part — the engine's state is
// left exactly as it was.
func (e *Engine) Restore(r io.Reader) error {
	if err := e.restore(r); err != nil {
		return fmt.Errorf("baseline: restore: %w", err)
	}
	return nil
}

func (e *Engine) restore(r io.Reader) error {
	data, err := io.ReadAll(io.LimitReader(r, maxSnapshot+1))
	if err != nil {
		return err
	}
	st, err := e.decode(data)
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.key = st.key
	for i, c := range e.defs {
		if t, ok := st.values[i]; ok {
			c.values, c.subjects = t, st.subjects[i]
			continue
		}
		e.reset(c)
	}
	return nil
}

// restored is a decoded snapshot, indexed like Engine.defs.
type restored struct {
	key      sipKey
	values   map[int]*table
	subjects map[int]*table
}

// decoder reads a snapshot, remembering the first error with its offset.
type decoder struct {
	b   []byte
	off int
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("snapshot is corrupt at byte %d: %s", d.off, what)
	}
}

func (d *decoder) bytes(n int, what string) []byte {
	if d.err != nil || n < 0 || n > len(d.b)-d.off {
		d.fail(what + " runs past the end")
		return nil
	}
	p := d.b[d.off : d.off+n]
	d.off += n
	return p
}

func (d *decoder) u64(what string) uint64 {
	p := d.bytes(8, what)
	if p == nil {
		return 0
	}
	return binary.LittleEndian.Uint64(p)
}

func (d *decoder) uvarint(what string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.off:])
	if n <= 0 {
		d.fail("bad " + what)
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) varint(what string) int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b[d.off:])
	if n <= 0 {
		d.fail("bad " + what)
		return 0
	}
	d.off += n
	return v
}

// decode checks and parses a whole snapshot without touching the engine.
func (e *Engine) decode(data []byte) (*restored, error) {
	if len(data) > maxSnapshot {
		return nil, fmt.Errorf("snapshot is larger than %d bytes", maxSnapshot)
	}
	if !bytes.HasPrefix(data, []byte(magic)) {
		return nil, errors.New("not a koban baseline snapshot")
	}
	d := &decoder{b: data, off: len(magic)}
	if v := d.uvarint("version"); d.err != nil {
		return nil, d.err
	} else if v != snapVersion {
		return nil, fmt.Errorf("snapshot version %d is not supported (this koban reads version %d)", v, snapVersion)
	}
	if len(data) < d.off+4 {
		return nil, errors.New("snapshot is truncated")
	}
	body := data[:len(data)-4]
	if binary.LittleEndian.Uint32(data[len(body):]) != crc32.Checksum(body, crcTable) {
		return nil, errors.New("snapshot is corrupt or truncated (checksum mismatch)")
	}
	d.b = body
	st := &restored{values: map[int]*table{}, subjects: map[int]*table{}}
	st.key = sipKey{d.u64("key"), d.u64("key")}
	d.varint("save time")
	n := d.uvarint("definition count")
	seen := map[string]bool{}
	for k := uint64(0); k < n && d.err == nil; k++ {
		e.decodeDefinition(d, st, seen)
	}
	if d.err == nil && d.off != len(d.b) {
		d.fail("trailing bytes")
	}
	if d.err != nil {
		return nil, d.err
	}
	return st, nil
}

// decodeDefinition reads one definition's state into st when the engine
// has a definition of that name and fingerprint, and skips it otherwise.
func (e *Engine) decodeDefinition(d *decoder, st *restored, seen map[string]bool) {
	ln := d.uvarint("definition name length")
	if ln > maxNameLen {
		d.fail("definition name too long")
		return
	}
	name := string(d.bytes(int(ln), "definition name"))
	if seen[name] {
		d.fail("definition " + name + " appears twice")
		return
	}
	seen[name] = true
	fp := d.u64("fingerprint")
	i := slices.IndexFunc(e.defs, func(c *compiled) bool { return c.def.Name == name })
	keep := i >= 0 && e.defs[i].fp == fp
	want := -1 // times per entry the engine's definition expects; -1 skips
	if keep {
		want = e.defs[i].perEntry()
	}
	vals := e.decodeTable(d, want)
	var subj *table
	if flag := d.bytes(1, "subjects flag"); flag != nil {
		switch flag[0] {
		case 0:
		case 1:
			subj = e.decodeTable(d, min(want, 0))
		default:
			d.fail("bad subjects flag")
		}
	}
	if !keep || d.err != nil {
		return
	}
	st.values[i] = vals
	if e.defs[i].learn > 0 {
		if subj == nil {
			subj = newTable(e.maxKeys, 0)
		}
		st.subjects[i] = subj
	}
}

// decodeTable reads one table. want is the times per entry the engine
// expects, or -1 when the table is read only to be skipped.
func (e *Engine) decodeTable(d *decoder, want int) *table {
	per := d.uvarint("times per entry")
	if d.err != nil {
		return nil
	}
	if per > MaxThreshold || want >= 0 && per != uint64(want) {
		d.fail(fmt.Sprintf("table keeps %d times per entry", per))
		return nil
	}
	count := d.uvarint("entry count")
	if count > uint64(len(d.b)-d.off)/minEntryLength {
		d.fail("entry count larger than the data")
		return nil
	}
	skip := uint64(0)
	if count > uint64(e.maxKeys) {
		skip = count - uint64(e.maxKeys)
	}
	t := newTable(e.maxKeys, int(per))
	var ts [MaxThreshold]int64
	for k := uint64(0); k < count && d.err == nil; k++ {
		h := d.u64("entry hash")
		first, last, quiet := d.varint("first time"), d.varint("last time"), d.varint("quiet time")
		n := d.uvarint("time count")
		if n > per {
			d.fail("more times than the table keeps")
			break
		}
		for j := range int(n) {
			if j == 0 {
				ts[j] = d.varint("time")
				continue
			}
			step := d.uvarint("time step")
			if step > 1<<62 || ts[j-1] > ts[j-1]+int64(step) {
				d.fail("time step out of range")
				break
			}
			ts[j] = ts[j-1] + int64(step)
		}
		if d.err != nil || k < skip || want < 0 {
			continue
		}
		if _, _, dup := t.get(h); dup {
			d.fail("entry hash appears twice")
			break
		}
		en, i := t.put(h)
		en.first, en.last, en.quiet, en.n = first, last, quiet, int32(n)
		copy(t.stamps[int(i)*t.per:], ts[:n])
	}
	return t
}

// SaveFile writes a snapshot to path atomically: to a temporary file in
// the same directory, synced, then renamed over path, so that a crash
// leaves the old snapshot or the new one, never half of one.
func (e *Engine) SaveFile(path string) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("baseline: save %s: %w", path, err)
	}
	tmp := f.Name()
	err = e.Snapshot(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp) // best effort: the error that matters is err
		return fmt.Errorf("baseline: save %s: %w", path, err)
	}
	if d, derr := os.Open(dir); derr == nil {
		// Make the rename durable; a failure here leaves a complete file
		// under one of the two names, so it is not reported.
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

// LoadFile restores the state saved at path by SaveFile. A missing file
// returns an error matching fs.ErrNotExist (a first start: the engine
// stays fresh); any other error leaves the state as it was, too.
func (e *Engine) LoadFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("baseline: load: %w", err)
	}
	defer f.Close()
	if err := e.restore(bufio.NewReader(f)); err != nil {
		return fmt.Errorf("baseline: load %s: %w", path, err)
	}
	return nil
}
