// SPDX-License-Identifier: Apache-2.0

package file

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/koban-csirt/koban/internal/event"
	"github.com/koban-csirt/koban/internal/intake"
)

var (
	fieldPath   = event.MustIntern("_path")
	fieldStream = event.MustIntern("@stream")
)

// readJSONLines reads one JSON object per line. A line that is not one
// (damaged, cut, another JSON type) is kept by intake.Unparsed, flagged.
func (im *importer) readJSONLines(br *bufio.Reader, f Format) error {
	lr := newLineReader(br, im.o.MaxLineBytes)
	service := ""
	if f == FormatZeekJSON {
		service = zeekServiceFromName(im.path)
	}
	for {
		line, cut, err := lr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return im.readErr(err, lr.num, lr.next)
		}
		if lr.num == 1 {
			line = bytes.TrimPrefix(line, utf8BOM)
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		ev := im.slot()
		im.jsonEvent(ev, line, cut, "")
		switch f {
		case FormatSuricata:
			ev.Log.Product = "suricata"
		case FormatZeekJSON:
			ev.Log.Product = "zeek"
			ev.Log.Service = service
			for _, id := range []event.FieldID{fieldPath, fieldStream} {
				if v, ok := ev.Get(id); ok && v != "" {
					ev.Log.Service = v
					break
				}
			}
		}
		if err := im.commit(lr.off); err != nil {
			return err
		}
	}
}

// jsonEvent fills ev from one JSON document, keeping what does not parse.
func (im *importer) jsonEvent(ev *event.Event, doc []byte, cut bool, syntax string) {
	switch {
	case cut:
		intake.Unparsed(doc, fmt.Errorf("longer than %d bytes", im.o.MaxLineBytes), ev)
		ev.Flag(event.FlagTruncated, fmt.Sprintf("longer than %d bytes; cut", im.o.MaxLineBytes))
	case syntax != "":
		intake.Unparsed(doc, errors.New("json: "+syntax), ev)
	default:
		if err := intake.FromJSON(doc, ev); err != nil {
			intake.Unparsed(doc, err, ev)
		}
	}
}

// readJSON reads a JSON document: an array of objects, one event per
// element, or objects one after another (pretty-printed, or concatenated
// arrays). The array is streamed: a value is held in memory, never the
// file. After a syntax error inside an array its elements cannot be told
// apart any more, so the rest of the file is skipped (a Skip says where);
// outside an array, reading goes on at the next line.
func (im *importer) readJSON(br *bufio.Reader) error {
	s := &jsonScanner{r: br, max: im.o.MaxLineBytes, line: 1}
	if b, _ := br.Peek(len(utf8BOM)); bytes.Equal(b, utf8BOM) {
		_, _ = br.Discard(len(utf8BOM)) // peeked: cannot fail
		s.off = int64(len(utf8BOM))
	}
	for {
		c, err := s.skipSpace()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return im.readErr(err, s.line, s.off)
		}
		if c == '[' {
			if done, err := im.jsonArray(s); err != nil || done {
				return err
			}
			continue
		}
		off := s.off - 1
		var syntax string
		text := c != '{' && c != '['
		if text { // not an object: the line is one event
			syntax = "not a JSON object"
			err = s.restOfLine(c)
		} else {
			syntax, err = s.value(c)
		}
		if err != nil {
			return im.readErr(err, s.line, s.off)
		}
		im.jsonEvent(im.slot(), s.buf, s.cut, syntax)
		if err := im.commit(off); err != nil {
			return err
		}
		if syntax != "" && !text { // go on at the next line
			if err := s.restOfLine(); err != nil {
				return im.readErr(err, s.line, s.off)
			}
		}
	}
}

// jsonArray reads the elements of an array whose '[' was read; done reports
// that the rest of the file was skipped.
func (im *importer) jsonArray(s *jsonScanner) (done bool, err error) {
	for first := true; ; first = false {
		c, err := s.skipSpace()
		if errors.Is(err, io.EOF) {
			im.warn(fmt.Sprintf("line %d: the JSON array is not closed at the end of the file", s.line))
			return true, nil
		}
		if err != nil {
			return true, im.readErr(err, s.line, s.off)
		}
		if c == ']' {
			return false, nil
		}
		if !first {
			if c != ',' {
				im.skip(s.line, fmt.Sprintf("JSON array: %q where a comma or ] belongs; the rest of the file was not read", c))
				return true, nil
			}
			if c, err = s.skipSpace(); err != nil {
				im.warn(fmt.Sprintf("line %d: the JSON array is not closed at the end of the file", s.line))
				return true, nil
			}
		}
		off, line := s.off-1, s.line
		syntax, err := s.value(c)
		if err != nil {
			return true, im.readErr(err, s.line, s.off)
		}
		im.jsonEvent(im.slot(), s.buf, s.cut, syntax)
		if err := im.commit(off); err != nil {
			return true, err
		}
		if syntax != "" {
			im.skip(line, "JSON array: "+syntax+" in the element starting here; the rest of the file was not read")
			return true, nil
		}
	}
}

// maxNesting bounds the brackets jsonScanner follows.
const maxNesting = 1 << 16

// jsonScanner finds where JSON values end in a stream, keeping at most max
// bytes of each. It checks structure only (brackets, strings); FromJSON
// checks the rest.
type jsonScanner struct {
	r    *bufio.Reader
	max  int
	off  int64 // bytes consumed
	line int64 // line of the next byte, from 1
	buf  []byte
	cut  bool
	open []byte // brackets open in the current value
}

func (s *jsonScanner) next() (byte, error) {
	c, err := s.r.ReadByte()
	if err != nil {
		return 0, err
	}
	s.off++
	if c == '\n' {
		s.line++
	}
	return c, nil
}

func (s *jsonScanner) unread(c byte) {
	_ = s.r.UnreadByte() // follows a successful ReadByte: cannot fail
	s.off--
	if c == '\n' {
		s.line--
	}
}

func (s *jsonScanner) put(c byte) {
	if len(s.buf) < s.max {
		s.buf = append(s.buf, c)
	} else {
		s.cut = true
	}
}

func (s *jsonScanner) skipSpace() (byte, error) {
	for {
		c, err := s.next()
		if err != nil {
			return 0, err
		}
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			return c, nil
		}
	}
}

// restOfLine reads up to the end of the line into buf, after first.
func (s *jsonScanner) restOfLine(first ...byte) error {
	s.buf, s.cut = s.buf[:0], false
	for _, c := range first {
		s.put(c)
	}
	for {
		c, err := s.next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if c == '\n' {
			return nil
		}
		s.put(c)
	}
}

// value reads the value whose first byte c was read into buf. It returns
// what is wrong with its structure ("" when nothing is); err is a read
// error.
func (s *jsonScanner) value(c byte) (syntax string, err error) {
	s.buf, s.cut, s.open = s.buf[:0], false, s.open[:0]
	s.put(c)
	switch c {
	case '{', '[':
		s.open = append(s.open, c)
	case '"':
		return s.str()
	default: // a number or a literal: up to a delimiter
		for {
			c, err := s.next()
			if errors.Is(err, io.EOF) {
				return "", nil
			}
			if err != nil {
				return "", err
			}
			if strings.IndexByte(" \t\r\n,]}[{\"", c) >= 0 {
				s.unread(c)
				return "", nil
			}
			s.put(c)
		}
	}
	for len(s.open) > 0 {
		c, err := s.next()
		if errors.Is(err, io.EOF) {
			return "unexpected end of file", nil
		}
		if err != nil {
			return "", err
		}
		s.put(c)
		switch c {
		case '"':
			if syntax, err := s.str(); syntax != "" || err != nil {
				return syntax, err
			}
		case '{', '[':
			if len(s.open) == maxNesting {
				return "nested too deep", nil
			}
			s.open = append(s.open, c)
		case '}', ']':
			want := byte('{')
			if c == ']' {
				want = '['
			}
			if s.open[len(s.open)-1] != want {
				return fmt.Sprintf("%q closes %q", c, s.open[len(s.open)-1]), nil
			}
			s.open = s.open[:len(s.open)-1]
		}
	}
	return "", nil
}

// str reads the rest of a string whose opening quote was read.
func (s *jsonScanner) str() (syntax string, err error) {
	for {
		c, err := s.next()
		if errors.Is(err, io.EOF) {
			return "unexpected end of file in a string", nil
		}
		if err != nil {
			return "", err
		}
		s.put(c)
		switch c {
		case '"':
			return "", nil
		case '\\':
			c, err := s.next()
			if errors.Is(err, io.EOF) {
				return "unexpected end of file in a string", nil
			}
			if err != nil {
				return "", err
			}
			s.put(c)
		}
	}
}
