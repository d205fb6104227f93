// SPDX-License-Identifier: Apache-2.0

package web

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding/japanese"

	"github.com/koban-csirt/koban/internal/event"
)

// How much of an event the search table shows; the event's own page shows
// more.
const (
	listRawBytes   = 4 << 10
	listValueRunes = 1000
	pageRawBytes   = 1 << 20
	pageValueRunes = 100_000
	summaryRunes   = 240
	// eventTimeLayout shows event times to the millisecond.
	eventTimeLayout = "2006-01-02 15:04:05.000"
)

// eventView is one event as the search table and the event page show it.
// Every text has been through safeText.
type eventView struct {
	ID        string
	Time      string // in the viewer's zone
	TimeISO   string // for the datetime attribute
	Received  string
	Host      string
	Source    string
	LogSource string // product/category/service, empty parts left out
	Summary   string
	Fields    []fieldView
	Raw       rawView
	Flags     []string
	Reason    string
}

// fieldView is one field of an event.
type fieldView struct {
	Name, Value string
	Cut         bool // the value was shortened
}

// rawView is an event's raw bytes made safe to show.
type rawView struct {
	Text  string
	Size  int64 // bytes received
	Shown int64 // bytes shown
	Cut   bool  // only the start is shown
	// Escaped: some bytes were not printable text and are shown as \xNN.
	Escaped bool
	// ShiftJIS is the bytes read as Shift_JIS, when they are not UTF-8 but
	// read cleanly so.
	ShiftJIS string
}

// viewEvent prepares e for display in loc; rawMax and valueMax bound what
// is shown.
func viewEvent(e *event.Event, loc *time.Location, rawMax, valueMax int) eventView {
	t := time.Unix(0, e.Time).In(loc)
	v := eventView{
		ID: e.ID.String(), Time: t.Format(eventTimeLayout), TimeISO: t.Format(time.RFC3339Nano),
		Received: time.Unix(0, e.Received).In(loc).Format(eventTimeLayout),
		Host:     safeLine(e.Host, 200), Source: safeLine(e.Source, 200), LogSource: safeLine(logSource(e.Log), 200),
		Flags: e.Flags.Names(), Reason: safeLine(e.Reason, 500),
	}
	for _, f := range e.Fields {
		val, cut := safeText(f.Value, valueMax)
		v.Fields = append(v.Fields, fieldView{Name: safeLine(f.Name(), 200), Value: val, Cut: cut})
	}
	v.Raw = viewRaw(e.Raw, rawMax)
	v.Summary = summary(e)
	return v
}

func logSource(l event.LogSource) string {
	var parts []string
	for _, p := range []string{l.Product, l.Category, l.Service} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, "/")
}

// messageFields hold a whole message: the summary shows the first present.
var messageFields = []string{"message", "Message", "msg", "MESSAGE", "log", "event.original"}

// keyFields are shown, as name=value, for events without a message.
var keyFields = []string{"EventID", "Image", "CommandLine", "TargetUserName", "SubjectUserName", "User",
	"ParentImage", "TargetFilename", "SourceIp", "DestinationIp", "DestinationPort", "QueryName",
	"ServiceName", "ScriptBlockText", "LogonType", "IpAddress", "program", "url", "status"}

// summary is one line about e: its message, else a few key fields, else the
// start of its raw bytes.
func summary(e *event.Event) string {
	for _, n := range messageFields {
		if v, ok := e.Lookup(n); ok && strings.TrimSpace(v) != "" {
			return safeLine(v, summaryRunes)
		}
	}
	var parts []string
	for _, n := range keyFields {
		if v, ok := e.Lookup(n); ok && v != "" {
			parts = append(parts, n+"="+v)
			if len(parts) == 4 {
				break
			}
		}
	}
	if len(parts) == 0 {
		for _, f := range e.Fields {
			parts = append(parts, f.Name()+"="+f.Value)
			if len(parts) == 4 {
				break
			}
		}
	}
	if len(parts) > 0 {
		return safeLine(strings.Join(parts, " "), summaryRunes)
	}
	return safeLine(string(e.Raw[:min(len(e.Raw), summaryRunes*4)]), summaryRunes)
}

// viewRaw shows up to max bytes of raw.
func viewRaw(raw []byte, max int) rawView {
	v := rawView{Size: int64(len(raw))}
	b := raw
	if len(b) > max {
		b, v.Cut = b[:max], true
	}
	v.Shown = int64(len(b))
	var w strings.Builder
	v.Escaped = writeSafe(&w, string(b), v.Cut)
	v.Text = w.String()
	if v.Escaped && !utf8.Valid(b) {
		v.ShiftJIS = shiftJIS(b, v.Cut)
	}
	return v
}

// shiftJIS decodes b as Shift_JIS, or returns "" when b does not read as
// printable Shift_JIS text. cut says b may end inside a character.
func shiftJIS(b []byte, cut bool) string {
	out, err := japanese.ShiftJIS.NewDecoder().Bytes(b)
	if err != nil {
		return ""
	}
	s := string(out)
	if cut {
		s = strings.TrimSuffix(s, "\uFFFD")
	}
	for _, r := range s {
		if r == utf8.RuneError || (unsafeRune(r) && r != '\n' && r != '\t' && r != '\r') {
			return ""
		}
	}
	return s
}

// safeText returns s with anything that could mislead a reader made
// visible (see writeSafe), shortened to max runes; it reports whether it
// was shortened.
func safeText(s string, max int) (string, bool) {
	cut := false
	if utf8.RuneCountInString(s) > max {
		s, cut = truncateRunes(s, max), true
	}
	var w strings.Builder
	writeSafe(&w, s, cut)
	return w.String(), cut
}

// safeLine is safeText on one line: line breaks and tabs become spaces,
// and a shortened text ends in "…".
func safeLine(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == '\t' {
			return ' '
		}
		return r
	}, s)
	t, cut := safeText(s, max)
	if cut {
		t += "…"
	}
	return t
}

func truncateRunes(s string, n int) string {
	i := 0
	for p := range s {
		if i == n {
			return s[:p]
		}
		i++
	}
	return s
}

// writeSafe writes s to w with bytes that are not valid UTF-8 as \xNN,
// control characters other than tab and line breaks as \xNN or \u{NNNN},
// and the invisible characters that reorder or hide text (bidirectional
// overrides, zero-width characters) as \u{NNNN}, so that what a log line
// says cannot be disguised on screen. A cut text's last incomplete
// character is dropped, not escaped. It reports whether it escaped
// anything.
func writeSafe(w *strings.Builder, s string, cut bool) bool {
	escaped := false
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			if cut && !utf8.FullRuneInString(s[i:]) {
				return escaped
			}
			fmt.Fprintf(w, `\x%02X`, s[i])
			escaped = true
		case r == '\n' || r == '\t' || r == '\r':
			w.WriteRune(r)
		case r < 0x80 && unsafeRune(r):
			fmt.Fprintf(w, `\x%02X`, r)
			escaped = true
		case unsafeRune(r):
			fmt.Fprintf(w, `\u{%04X}`, r)
			escaped = true
		default:
			w.WriteString(s[i : i+size])
		}
		i += size
	}
	return escaped
}

// unsafeRune reports control and invisible formatting characters.
func unsafeRune(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029'
}

// eventPart is the data of the search_event_body partial.
type eventPart struct {
	Page  *Page
	Event eventView
}

// EventPart prepares the partial that shows an event's fields and raw
// bytes.
func (p *Page) EventPart(e eventView) eventPart { return eventPart{Page: p, Event: e} }

// Num writes n with thousands separators.
func (p *Page) Num(n int64) string { return groupDigits(n) }
