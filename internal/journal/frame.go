// SPDX-License-Identifier: Apache-2.0

package journal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"

	"github.com/koban-csirt/koban/internal/event"
)

// A frame is magic (4 bytes), payload length (uint32 LE), CRC-32C (uint32
// LE) and the payload. The CRC covers segment number, offset and length as
// well as the payload.
const (
	headerSize = 12
	// maxPayload bounds a frame's length field: anything larger is corrupt.
	maxPayload = 64 << 20
	// targetPayload is the most Append puts in one record when it can
	// split: readers get batches of a useful size in bounded memory.
	targetPayload = 1 << 20
	// readSize is how much a reader reads from a segment at once.
	readSize = 1 << 20
)

// magic starts every frame. 0xF5 never occurs in UTF-8 text.
var magic = [4]byte{0xF5, 'K', 'J', 0x01}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func frameCRC(seg uint64, off int64, payload []byte) uint32 {
	var p [20]byte
	binary.LittleEndian.PutUint64(p[0:], seg)
	binary.LittleEndian.PutUint64(p[8:], uint64(off))
	binary.LittleEndian.PutUint32(p[16:], uint32(len(payload)))
	return crc32.Update(crc32.Update(0, castagnoli, p[:]), castagnoli, payload)
}

// appendFrame appends the frame for payload, to be placed at seg:off, to b.
func appendFrame(b []byte, seg uint64, off int64, payload []byte) []byte {
	b = append(b, magic[:]...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(payload)))
	b = binary.LittleEndian.AppendUint32(b, frameCRC(seg, off, payload))
	return append(b, payload...)
}

type frameStatus int

const (
	frameOK    frameStatus = iota
	frameShort             // the bytes end inside the frame: more may come
	frameBad               // not a frame
)

// checkFrame looks at the frame that b (read from seg:off) starts with. It
// returns the payload and whole size of a valid frame; for frameShort, size
// is the bytes needed when the header is complete, else 0.
func checkFrame(b []byte, seg uint64, off int64) (payload []byte, size int, st frameStatus) {
	if len(b) < headerSize {
		if !bytes.HasPrefix(magic[:], b[:min(len(b), len(magic))]) {
			return nil, 0, frameBad
		}
		return nil, 0, frameShort
	}
	if [4]byte(b[:4]) != magic {
		return nil, 0, frameBad
	}
	n := binary.LittleEndian.Uint32(b[4:])
	if n == 0 || n > maxPayload {
		return nil, 0, frameBad
	}
	size = headerSize + int(n)
	if len(b) < size {
		return nil, size, frameShort
	}
	payload = b[headerSize:size]
	if binary.LittleEndian.Uint32(b[8:]) != frameCRC(seg, off, payload) {
		return nil, size, frameBad
	}
	return payload, size, frameOK
}

// A record's payload is the event count (uint32 LE), then each event as its
// length (uint32 LE) and its binary form.

// appendPayload appends the record payload for evs to b.
func appendPayload(b []byte, evs []event.Event) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(len(evs)))
	for i := range evs {
		b = appendEvent(b, &evs[i])
	}
	return b
}

// appendEvent appends one event with its length prefix.
func appendEvent(b []byte, e *event.Event) []byte {
	at := len(b)
	b = append(b, 0, 0, 0, 0)
	b = e.AppendBinary(b)
	binary.LittleEndian.PutUint32(b[at:], uint32(len(b)-at-4))
	return b
}

// payloadCount returns the number of events a payload says it holds.
func payloadCount(p []byte) int {
	if len(p) < 4 {
		return 0
	}
	return int(min(binary.LittleEndian.Uint32(p), uint32((len(p)-4)/4)))
}

// decodePayload appends the events of payload p to out.
func decodePayload(p []byte, out []event.Event) ([]event.Event, error) {
	if len(p) < 4 {
		return out, errors.New("short event count")
	}
	n := binary.LittleEndian.Uint32(p)
	p = p[4:]
	if uint64(n) > uint64(len(p))/4 {
		return out, fmt.Errorf("%d events in %d bytes", n, len(p))
	}
	start := len(out)
	for i := uint32(0); i < n; i++ {
		if len(p) < 4 {
			return out[:start], fmt.Errorf("event %d: short length", i)
		}
		l := binary.LittleEndian.Uint32(p)
		if uint64(l) > uint64(len(p)-4) {
			return out[:start], fmt.Errorf("event %d: length %d beyond the record", i, l)
		}
		out = append(out, event.Event{})
		used, err := event.Decode(p[4:4+l], &out[len(out)-1])
		if err != nil {
			return out[:start], fmt.Errorf("event %d: %w", i, err)
		}
		if used != int(l) {
			return out[:start], fmt.Errorf("event %d: %d bytes left over", i, int(l)-used)
		}
		p = p[4+l:]
	}
	if len(p) != 0 {
		return out[:start], fmt.Errorf("%d bytes after the last event", len(p))
	}
	return out, nil
}

// segBuf reads frames from one segment file through a buffer.
type segBuf struct {
	f     *os.File
	seg   uint64
	buf   []byte
	start int64 // file offset of buf[0]
}

// drop forgets the buffered bytes, so that the next look reads the file
// afresh (it may have been truncated and rewritten since).
func (s *segBuf) drop() { s.buf = s.buf[:0] }

// fill reads at least n bytes (or to the end of the file) from off.
func (s *segBuf) fill(off int64, n int) error {
	want := max(n, readSize)
	if cap(s.buf) < want {
		s.buf = make([]byte, want)
	}
	s.buf = s.buf[:want]
	k, err := s.f.ReadAt(s.buf, off)
	s.buf, s.start = s.buf[:k], off
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read segment %d at %d: %w", s.seg, off, err)
	}
	return nil
}

// frameAt looks at the frame at off, reading the file as needed. When fresh
// is set, buffered bytes are not trusted.
func (s *segBuf) frameAt(off int64, fresh bool) ([]byte, int, frameStatus, error) {
	if fresh {
		s.drop()
	}
	var b []byte
	if off >= s.start && off <= s.start+int64(len(s.buf)) {
		b = s.buf[off-s.start:]
	}
	p, size, st := checkFrame(b, s.seg, off)
	// Read from off: once for the header, once more for a frame longer than
	// one read.
	for range 2 {
		if st != frameShort {
			break
		}
		want := max(size, headerSize)
		if err := s.fill(off, want); err != nil {
			return nil, 0, frameBad, err
		}
		p, size, st = checkFrame(s.buf, s.seg, off)
		if len(s.buf) < max(want, readSize) {
			break // the file ends here
		}
	}
	return p, size, st, nil
}

// nextValid returns the offset of the first valid frame after off, if any.
// It reads through its own buffer and leaves s positioned anywhere.
func (s *segBuf) nextValid(off int64) (int64, bool, error) {
	chunk := make([]byte, readSize)
	for at := off + 1; ; {
		k, err := s.f.ReadAt(chunk, at)
		if err != nil && !errors.Is(err, io.EOF) {
			return 0, false, fmt.Errorf("read segment %d at %d: %w", s.seg, at, err)
		}
		c := chunk[:k]
		for i := 0; ; {
			j := bytes.Index(c[i:], magic[:])
			if j < 0 {
				break
			}
			cand := at + int64(i+j)
			_, _, st, err := s.frameAt(cand, false)
			if err != nil {
				return 0, false, err
			}
			if st == frameOK {
				return cand, true, nil
			}
			i += j + 1
		}
		if k < len(chunk) {
			return 0, false, nil
		}
		at += int64(k - len(magic) + 1) // a magic may straddle the chunks
	}
}
