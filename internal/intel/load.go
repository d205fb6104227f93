// SPDX-License-Identifier: Apache-2.0

package intel

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/koban-csirt/koban/internal/fault"
)

// Limits of Load.
const (
	// MaxLineLen is the longest line Load reads; a longer one is skipped
	// and reported.
	MaxLineLen = 16 << 10
	// MaxLoadErrors is how many problems Load reports one by one; past it,
	// one more error counts the rest.
	MaxLoadErrors = 1000
)

// LineError is a problem with one line of an indicator list. Err is a
// fault whose message says what is wrong; File and Line say where.
type LineError struct {
	File string
	Line int
	Err  error
}

// Error returns "intel: file:line: what".
func (e *LineError) Error() string { return fmt.Sprintf("intel: %s:%d: %v", e.File, e.Line, e.Err) }

// Unwrap returns the fault.
func (e *LineError) Unwrap() error { return e.Err }

// Load reads an indicator list named name (for messages and as each
// indicator's Source) from r. Two forms are read:
//
// Plain text, one indicator per line: "value", whose kind Guess infers, or
// "kind,value" or "kind,value,note" (the kind a word ParseKind knows; the
// note may hold commas); "value,note" too, except for a URL with its
// scheme, which may hold commas. Blank lines and lines starting with # are
// skipped; " #" after a value starts a comment, which becomes the note
// when there is none.
//
// Each indicator's Source is name; Added and ID are left empty for the
// caller.
//
// CSV with a header, recognised by a first line naming a "value" column or
// a column per kind: columns kind (or type), value, note (or comment,
// description), expires (or valid_until: 2026-12-31, meaning the end of
// that day in UTC, or RFC 3339), and
// columns named after a kind (md5,sha1,sha256) whose cells are values of
// that kind. Other columns are ignored, so MISP's CSV export loads. A quoted
// field may go on over several lines.
//
// A line that cannot be read is skipped and reported as a *LineError; the
// others are kept. An error reading r ends the list there and is reported
// last.
func Load(r io.Reader, name string) ([]Indicator, []error) {
	l := loader{name: name}
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := l.readLine(br)
		if line != "" || err == nil {
			l.line(line)
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				l.errs = append(l.errs, fmt.Errorf("intel: read %s after line %d: %w", name, l.n, err))
			}
			break
		}
	}
	if l.pending != "" {
		l.at = l.pendingAt
		l.fail(fault.New(fault.Invalid, "intel.bad_csv"))
	}
	if l.dropped > 0 {
		l.errs = append(l.errs, &LineError{File: name, Line: l.n,
			Err: fault.New(fault.Invalid, "intel.more_errors", "count", l.dropped)})
	}
	return l.out, l.errs
}

type loader struct {
	name    string
	n       int // current line number
	out     []Indicator
	errs    []error
	dropped int
	started bool       // a line with content was seen (the header, if any)
	csv     *csvHeader // nil in plain-text form
	at      int        // the line errors are reported at: where the record began
	// pending holds the lines of a CSV record whose quoted field goes on
	// on the next line; pendingAt is its first line.
	pending   string
	pendingAt int
}

// readLine returns the next line without its end; a line longer than
// MaxLineLen is reported and returned empty.
func (l *loader) readLine(br *bufio.Reader) (string, error) {
	var b []byte
	long := false
	for {
		frag, isPrefix, err := br.ReadLine()
		if !long {
			b = append(b, frag...)
			if len(b) > MaxLineLen {
				long, b = true, nil
			}
		}
		if err != nil || !isPrefix {
			if err == nil || len(b) > 0 || long {
				l.n++
			}
			if long {
				l.at, l.pending = l.n, ""
				l.fail(fault.New(fault.Invalid, "intel.line_too_long", "max", MaxLineLen))
				return "", err
			}
			return string(b), err
		}
	}
}

func (l *loader) fail(err error) {
	if len(l.errs) >= MaxLoadErrors {
		l.dropped++
		return
	}
	l.errs = append(l.errs, &LineError{File: l.name, Line: l.at, Err: err})
}

func (l *loader) line(s string) {
	if l.n == 1 {
		s = strings.TrimPrefix(s, "\ufeff")
	}
	l.at = l.n
	if l.pending != "" {
		s, l.at, l.pending = l.pending+"\n"+s, l.pendingAt, ""
		if len(s) > MaxLineLen {
			l.fail(fault.New(fault.Invalid, "intel.line_too_long", "max", MaxLineLen))
			return
		}
	}
	t := strings.TrimFunc(s, isBlank)
	if t == "" || strings.HasPrefix(t, "#") {
		return
	}
	if !utf8.ValidString(t) {
		l.fail(fault.New(fault.Invalid, "intel.invalid_text"))
		return
	}
	if !l.started {
		l.started = true
		if h := parseHeader(t); h != nil {
			l.csv = h
			return
		}
	}
	if l.csv != nil {
		if strings.Count(t, `"`)%2 == 1 { // a quoted field goes on
			l.pending, l.pendingAt = s, l.at
			return
		}
		l.csvLine(t)
		return
	}
	l.textLine(t)
}

func (l *loader) add(k Kind, value, note string, expires time.Time) {
	var err error
	if k == "" {
		if k, err = Guess(value); err != nil {
			l.fail(err)
			return
		}
	}
	v, err := Normalize(k, value)
	if err != nil {
		l.fail(err)
		return
	}
	l.out = append(l.out, Indicator{Kind: k, Value: v, Source: l.name, Note: strings.TrimSpace(note), Expires: expires})
}

func (l *loader) textLine(t string) {
	note := ""
	if i := strings.Index(t, " #"); i >= 0 {
		t, note = strings.TrimSpace(t[:i]), strings.TrimSpace(t[i+2:])
	} else if i := strings.Index(t, "\t#"); i >= 0 {
		t, note = strings.TrimSpace(t[:i]), strings.TrimSpace(t[i+2:])
	}
	first, rest, hasComma := strings.Cut(t, ",")
	if hasComma {
		if k, ok := ParseKind(first); ok {
			value, n, _ := strings.Cut(rest, ",")
			if n != "" {
				note = n
			}
			l.add(k, value, note, time.Time{})
			return
		}
		// "value,note", unless the line is a URL with its scheme, whose
		// query may hold commas.
		if !strings.Contains(t, "://") {
			if _, err := Guess(first); err == nil {
				if note == "" {
					note = rest
				}
				t = first
			}
		}
	}
	l.add("", t, note, time.Time{})
}

// csvHeader says which CSV columns hold what; -1 for none.
type csvHeader struct {
	kind, value, note, expires int
	kinds                      map[int]Kind // columns named after a kind
}

// parseHeader returns the header that line is, or nil when it is none.
func parseHeader(line string) *csvHeader {
	rec, err := readCSV(line)
	if err != nil || len(rec) < 2 {
		return nil
	}
	h := &csvHeader{kind: -1, value: -1, note: -1, expires: -1, kinds: map[int]Kind{}}
	for i, c := range rec {
		switch strings.ToLower(strings.TrimSpace(c)) {
		case "kind", "type":
			h.kind = i
		case "value", "indicator", "ioc":
			h.value = i
		case "note", "comment", "description":
			h.note = i
		case "expires", "valid_until", "expiry":
			h.expires = i
		default:
			if k, ok := ParseKind(c); ok && k.Valid() {
				h.kinds[i] = k
			}
		}
	}
	if h.value < 0 && len(h.kinds) == 0 {
		return nil
	}
	if h.value < 0 {
		// Columns named after kinds, but a cell that is an indicator
		// itself makes it a data line such as "ip,203.0.113.7,C2".
		for _, c := range rec {
			if _, err := Guess(strings.TrimSpace(c)); err == nil {
				return nil
			}
		}
	}
	return h
}

func readCSV(line string) ([]string, error) {
	r := csv.NewReader(strings.NewReader(line))
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	return r.Read()
}

func (l *loader) csvLine(t string) {
	rec, err := readCSV(t)
	if err != nil {
		l.fail(fault.Wrap(fault.Invalid, err, "intel.bad_csv"))
		return
	}
	cell := func(i int) string {
		if i < 0 || i >= len(rec) {
			return ""
		}
		return strings.TrimSpace(rec[i])
	}
	var expires time.Time
	if e := cell(l.csv.expires); e != "" {
		if expires, err = parseExpires(e); err != nil {
			l.fail(err)
			return
		}
	}
	note := cell(l.csv.note)
	found := false
	if v := cell(l.csv.value); v != "" {
		found = true
		var k Kind
		if kn := cell(l.csv.kind); kn != "" {
			var ok bool
			if k, ok = ParseKind(kn); !ok {
				l.fail(fault.New(fault.Invalid, "intel.unknown_kind", "kind", clip(kn)))
				return
			}
		}
		l.add(k, v, note, expires)
	}
	for i := range len(rec) {
		if k, ok := l.csv.kinds[i]; ok && cell(i) != "" {
			found = true
			l.add(k, cell(i), note, expires)
		}
	}
	if !found {
		l.fail(fault.New(fault.Invalid, "intel.empty"))
	}
}

// parseExpires reads an expiry date: a day (the end of it, UTC) or an RFC
// 3339 time.
func parseExpires(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02 15:04:05", s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t.AddDate(0, 0, 1), nil
	}
	return time.Time{}, fault.New(fault.Invalid, "intel.bad_expires", "value", clip(s))
}
