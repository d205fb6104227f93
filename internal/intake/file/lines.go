// SPDX-License-Identifier: Apache-2.0

package file

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// lineReader reads lines of at most max bytes; the rest of a longer line is
// read and dropped.
type lineReader struct {
	r    *bufio.Reader
	max  int
	num  int64 // number of the line last returned, from 1
	off  int64 // offset of its first byte in the stream
	next int64 // offset of the byte after it (and its end of line)
	buf  []byte
}

func newLineReader(r *bufio.Reader, max int) *lineReader {
	return &lineReader{r: r, max: max}
}

// Next returns the next line without "\n" or "\r\n", at most max bytes, and
// whether it was cut. The slice is valid until the next call. At the end it
// returns io.EOF; another error ends reading (the line it interrupted is
// not returned).
func (l *lineReader) Next() (line []byte, cut bool, err error) {
	l.off = l.next
	l.buf = l.buf[:0]
	total := 0 // bytes of the line, with its end
	for {
		s, err := l.r.ReadSlice('\n')
		total += len(s)
		if errors.Is(err, bufio.ErrBufferFull) {
			l.keep(s)
			continue
		}
		l.next += int64(total)
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, false, err
		}
		if total == 0 {
			return nil, false, io.EOF
		}
		l.num++
		if len(l.buf) == 0 {
			line = trimEOL(s) // the whole line is in the reader's buffer
		} else {
			l.keep(s)
			line = trimEOL(l.buf)
		}
		if total-len(eolOf(s)) > l.max {
			line, cut = line[:min(len(line), l.max)], true
		}
		return line, cut, nil
	}
}

// keep appends s to buf up to max bytes and an end of line.
func (l *lineReader) keep(s []byte) {
	if room := l.max + 2 - len(l.buf); room > 0 {
		l.buf = append(l.buf, s[:min(room, len(s))]...)
	}
}

func trimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte{'\n'})
	return bytes.TrimSuffix(b, []byte{'\r'})
}

func eolOf(s []byte) []byte {
	switch {
	case bytes.HasSuffix(s, []byte("\r\n")):
		return []byte("\r\n")
	case bytes.HasSuffix(s, []byte("\n")):
		return []byte("\n")
	}
	return nil
}

// blank reports whether b holds only white space.
func blank(b []byte) bool {
	return len(bytes.TrimSpace(b)) == 0
}
