// SPDX-License-Identifier: Apache-2.0

package syslog

import (
	"bytes"
	"errors"
	"io"
	"os"
)

// Reasons a framer gives for a cut message.
const (
	reasonTooLong       = "message longer than the limit, cut"
	reasonClosedInFrame = "connection closed in the middle of an octet-counted frame"
)

// errLinger is returned by a framer's beforeRead hook to say: hand over
// what you have before blocking in a read.
var errLinger = errors.New("syslog: linger time over")

// framer splits a byte stream into syslog messages, choosing the framing of
// each message from its first bytes (RFC 6587): octet counting
// ("123 <34>…") when it starts with digits, a space and '<'; otherwise
// non-transparent framing ended by LF or NUL, with a CR before the LF
// removed. A message longer than max is cut to max bytes and the rest of it
// skipped.
type framer struct {
	r          io.Reader
	beforeRead func() error // called before each read; its error is returned by next
	buf        []byte
	start, end int
	max        int
	skip       int  // bytes of an over-long octet-counted frame still to skip
	discard    bool // skipping the rest of an over-long line
	err        error
	onRead     func() // called after each read that returned bytes
}

// newFramer returns a framer for messages of up to max bytes.
func newFramer(r io.Reader, max int) *framer {
	size := max + 64 // room for the longest frame with its length prefix
	if size < 64<<10 {
		size = 64 << 10
	}
	return &framer{r: r, buf: make([]byte, size), max: max}
}

// next returns the next message and, when it was cut, why. The message
// aliases the framer's buffer until the next call. An error means no
// message: io.EOF at the end of the stream, a timeout or errLinger (call
// again to go on), or the reader's error. A stream that ends inside a
// message first yields what it had.
func (f *framer) next() ([]byte, string, error) {
	for {
		if f.skip > 0 || f.discard {
			if f.skipping() {
				if err := f.fill(); err != nil {
					return nil, "", err
				}
				continue
			}
		}
		data := f.buf[f.start:f.end]
		if len(data) > 0 && data[0] >= '0' && data[0] <= '9' {
			msg, cut, state := f.octets(data)
			switch state {
			case frameDone:
				if len(msg) == 0 {
					continue
				}
				return msg, cut, nil
			case frameMore:
				if err := f.fill(); err != nil {
					return nil, "", err
				}
				continue
			}
		}
		i := indexTerm(data)
		if i >= 0 && i <= f.max {
			f.start += i + 1
			msg := data[:i]
			if len(msg) > 0 && msg[len(msg)-1] == '\r' {
				msg = msg[:len(msg)-1]
			}
			if len(msg) == 0 {
				continue
			}
			return msg, "", nil
		}
		if i > f.max {
			f.start += i + 1
			return data[:f.max], reasonTooLong, nil
		}
		if len(data) > f.max { // max+1 bytes without an end: too long
			f.start += f.max
			f.discard = true
			return data[:f.max], reasonTooLong, nil
		}
		if f.err != nil {
			f.start = f.end
			if msg := bytes.TrimSuffix(data, []byte{'\r'}); len(msg) > 0 {
				return msg, "", nil // the last line had no terminator
			}
			return nil, "", f.err
		}
		if err := f.fill(); err != nil {
			return nil, "", err
		}
	}
}

// skipping drops buffered bytes that belong to a cut message and reports
// whether more must be read to finish.
func (f *framer) skipping() bool {
	data := f.buf[f.start:f.end]
	if f.skip > 0 {
		k := min(f.skip, len(data))
		f.start += k
		f.skip -= k
		return f.skip > 0 && f.err == nil
	}
	if i := indexTerm(data); i >= 0 {
		f.start += i + 1
		f.discard = false
		return false
	}
	f.start = f.end
	if f.err != nil {
		f.discard = false
		return false
	}
	return true
}

type frameState int

const (
	frameNo   frameState = iota // not an octet-counted frame
	frameMore                   // need more bytes to decide or to finish
	frameDone                   // a message was taken
)

// octets reads an octet-counted frame at the start of data.
func (f *framer) octets(data []byte) ([]byte, string, frameState) {
	j, n := 0, 0
	for j < len(data) && data[j] >= '0' && data[j] <= '9' {
		if j == 9 {
			return nil, "", frameNo // more than 999,999,999 bytes: not a length
		}
		n = n*10 + int(data[j]-'0')
		j++
	}
	if j+1 >= len(data) { // the length or the byte after its space is not here yet
		if f.err != nil {
			return nil, "", frameNo
		}
		return nil, "", frameMore
	}
	if data[j] != ' ' || data[j+1] != '<' {
		return nil, "", frameNo
	}
	body := data[j+1:]
	keep := min(n, f.max)
	if len(body) < keep {
		if f.err != nil { // the stream ended inside the frame
			f.start = f.end
			return body, reasonClosedInFrame, frameDone
		}
		return nil, "", frameMore
	}
	f.start += j + 1 + keep
	if n > f.max {
		f.skip = n - f.max
		return body[:keep], reasonTooLong, frameDone
	}
	return body[:keep], "", frameDone
}

// indexTerm returns the index of the first LF or NUL in b, or -1.
func indexTerm(b []byte) int {
	i := bytes.IndexByte(b, '\n')
	s := b
	if i >= 0 {
		s = b[:i]
	}
	if j := bytes.IndexByte(s, 0); j >= 0 {
		return j
	}
	return i
}

// fill reads more bytes, first moving what is unread to the front of the
// buffer. A read error is kept for next to report once the buffer is
// drained; timeouts and errLinger are returned at once and not kept.
func (f *framer) fill() error {
	if f.err != nil {
		return nil // next drains what is left, then reports f.err
	}
	if f.start > 0 {
		f.end = copy(f.buf, f.buf[f.start:f.end])
		f.start = 0
	}
	if f.beforeRead != nil {
		if err := f.beforeRead(); err != nil {
			return err
		}
	}
	n, err := f.r.Read(f.buf[f.end:])
	f.end += n
	if n > 0 && f.onRead != nil {
		f.onRead()
	}
	if err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) && n == 0 {
			return err
		}
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			f.err = err
		}
	}
	return nil
}
