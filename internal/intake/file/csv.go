// SPDX-License-Identifier: Apache-2.0

package file

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/koban-csirt/koban/internal/event"
)

var csvSeparators = []byte{',', ';', '\t'}

// csvHeader returns the separator of lines[0] when it looks like a CSV
// header row, or 0. byName relaxes the test for files named .csv/.tsv.
func csvHeader(lines [][]byte, byName bool) byte {
	if len(lines) == 0 {
		return 0
	}
	h := bytes.TrimPrefix(lines[0], utf8BOM)
	if !byName && logShape(h) {
		return 0
	}
	best, bestN := byte(0), 1
	for _, sep := range csvSeparators {
		cells, _, _ := splitCSV(h, sep, nil)
		if len(cells) <= bestN || !byName && !headerCells(cells) {
			continue
		}
		// Most of the following rows have as many cells (a cell that spans
		// lines spoils this test, so files named .csv skip it).
		same, rows := 0, 0
		for _, l := range lines[1:min(len(lines), 11)] {
			rows++
			if c, _, _ := splitCSV(l, sep, nil); len(c) == len(cells) {
				same++
			}
		}
		if byName || rows == 0 || same*2 >= rows {
			best, bestN = sep, len(cells)
		}
	}
	return best
}

// headerCells reports whether cells look like column names: short, with a
// letter, at most one empty.
func headerCells(cells []string) bool {
	empty := 0
	for _, c := range cells {
		c = strings.TrimSpace(c)
		if c == "" {
			empty++
			continue
		}
		if len(c) > 100 || strings.Count(c, " ") > 4 || !strings.ContainsFunc(c, unicode.IsLetter) {
			return false
		}
		if r, _ := utf8.DecodeRuneInString(c); unicode.IsDigit(r) {
			return false
		}
	}
	return empty <= 1 && empty < len(cells)
}

var months = []string{"Jan ", "Feb ", "Mar ", "Apr ", "May ", "Jun ", "Jul ", "Aug ", "Sep ", "Oct ", "Nov ", "Dec "}

// logShape reports whether a line starts as log lines do: a syslog PRI, a
// month name, a date, a bracket.
func logShape(l []byte) bool {
	if len(l) == 0 {
		return false
	}
	if l[0] == '<' || l[0] == '[' {
		return true
	}
	for _, m := range months {
		if bytes.HasPrefix(l, []byte(m)) {
			return true
		}
	}
	return len(l) >= 10 && isDigits(l[:4]) && (l[4] == '-' || l[4] == '/') && l[0] != '0'
}

func isDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) > 0
}

// splitCSV splits one record (which may span lines) into cells, RFC 4180
// style: a quoted cell may hold the separator, line ends and "" for a
// quote. It is lenient, as spreadsheets are: a quote inside an unquoted
// cell is kept, text after a closing quote is appended. bad reports such
// repairs and a quote left open. cells reuses buf.
func splitCSV(rec []byte, sep byte, buf []string) (cells []string, bad, open bool) {
	cells = buf[:0]
	var cell []byte
	for i := 0; ; {
		cell = cell[:0]
		if i < len(rec) && rec[i] == '"' {
			i++
			closed := false
			for i < len(rec) {
				c := rec[i]
				if c == '"' {
					if i+1 < len(rec) && rec[i+1] == '"' {
						cell = append(cell, '"')
						i += 2
						continue
					}
					i++
					closed = true
					break
				}
				cell = append(cell, c)
				i++
			}
			if !closed {
				open, bad = true, true
			}
			// Text between the closing quote and the separator.
			for i < len(rec) && rec[i] != sep {
				cell = append(cell, rec[i])
				bad = true
				i++
			}
		} else {
			j := bytes.IndexByte(rec[i:], sep)
			if j < 0 {
				j = len(rec) - i
			}
			cell = append(cell, rec[i:i+j]...)
			i += j
		}
		cells = append(cells, string(cell))
		if i >= len(rec) {
			return cells, bad, open
		}
		i++ // the separator
	}
}

// openQuote tracks whether a record is inside a quoted cell at the end of a
// line, so that the record continues on the next.
type openQuote struct {
	inQuote, cellStart bool
}

func (q *openQuote) scan(line []byte, sep byte) {
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case q.inQuote:
			if c == '"' {
				if i+1 < len(line) && line[i+1] == '"' {
					i++
				} else {
					q.inQuote = false
				}
			}
		case q.cellStart && c == '"':
			q.inQuote, q.cellStart = true, false
		case c == sep:
			q.cellStart = true
		default:
			q.cellStart = false
		}
	}
}

// csvRecord reads one record of r: lines joined while a quoted cell is open,
// up to max bytes.
type csvRecord struct {
	lr   *lineReader
	sep  byte
	max  int
	rec  []byte
	line int64 // first line of the record
	off  int64 // its offset
	cut  bool
}

func (c *csvRecord) next() error {
	line, cut, err := c.lr.Next()
	if err != nil {
		return err
	}
	c.rec = append(c.rec[:0], line...)
	c.line, c.off, c.cut = c.lr.num, c.lr.off, cut
	q := openQuote{cellStart: true}
	q.scan(line, c.sep)
	for q.inQuote && !c.cut {
		line, cut, err := c.lr.Next()
		if errors.Is(err, io.EOF) {
			return nil // the quote stays open: splitCSV flags it
		}
		if err != nil {
			return err
		}
		c.rec = append(c.rec, '\n')
		c.rec = append(c.rec, line...)
		if cut || len(c.rec) > c.max {
			// An unclosed quote would swallow the rest of the file: stop at
			// the limit and go on with the next line.
			c.rec, c.cut = c.rec[:min(len(c.rec), c.max)], true
			break
		}
		q.scan(line, c.sep)
	}
	return nil
}

// csvColumns are the header's names and where the time is.
type csvColumns struct {
	names []string
	ids   []event.FieldID // of names; 0 where a name could not be interned
	times []int           // indexes of columns that may hold the time, best first
	// date and clock are a date column and a time-of-day column, tried
	// together first; -1 when there are not both.
	date, clock int
}

// timeColumns are column names (lower case) that hold an event's time,
// best first.
var timeColumns = []string{
	"@timestamp", "timestamp", "timecreated", "time_created", "eventtime", "event_time", "utctime",
	"systemtime", "datetime", "date_time", "time", "ts", "date", "created", "created_at", "logged",
	"日時", "発生日時", "日付時刻", "記録日時", "タイムスタンプ", "時刻", "日付",
}

func newColumns(header []string) csvColumns {
	var c csvColumns
	seen := make(map[string]int, len(header))
	for i, h := range header {
		h = strings.ToValidUTF8(strings.TrimSpace(h), "\uFFFD")
		if len(h) > 200 {
			h = strings.ToValidUTF8(h[:200], "")
		}
		if h == "" {
			h = "column_" + strconv.Itoa(i+1)
		}
		if n := seen[h]; n > 0 {
			seen[h] = n + 1
			h += "_" + strconv.Itoa(n+1)
		} else {
			seen[h] = 1
		}
		id, _ := event.Intern(h) // 0 on failure: Add flags the event
		c.names, c.ids = append(c.names, h), append(c.ids, id)
	}
	c.date, c.clock = -1, -1
	for i, h := range c.names {
		switch strings.ToLower(h) {
		case "date", "日付":
			c.date = i
		case "time", "時刻":
			c.clock = i
		}
	}
	for _, t := range timeColumns {
		for i, h := range c.names {
			if strings.ToLower(h) == t {
				c.times = append(c.times, i)
			}
		}
	}
	return c
}

// time returns the time a row's cells hold, or 0.
func (c *csvColumns) time(cells []string, loc *time.Location) int64 {
	if c.date >= 0 && c.clock >= 0 && c.date < len(cells) && c.clock < len(cells) {
		if t, ok := parseTime(cells[c.date]+" "+cells[c.clock], loc); ok {
			return t
		}
	}
	for _, i := range c.times {
		if i < len(cells) {
			if t, ok := parseTime(cells[i], loc); ok {
				return t
			}
		}
	}
	return 0
}

// readCSV reads a header row and then one event per row. Empty cells are
// not fields. A row with more or fewer cells than the header is flagged;
// its extra cells are called column_N.
func (im *importer) readCSV(br *bufio.Reader, head []byte) error {
	br, _ = textReader(br, head)
	sep := csvHeader(firstLines(bytes.TrimPrefix(head, utf8BOM), 20), true)
	if sep == 0 {
		sep = ','
	}
	rd := &csvRecord{lr: newLineReader(br, im.o.MaxLineBytes), sep: sep, max: im.o.MaxLineBytes}
	var cols *csvColumns
	var cells []string
	for {
		if err := rd.next(); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return im.readErr(err, rd.lr.num, rd.lr.next)
		}
		rec := rd.rec
		if rd.line == 1 {
			rec = bytes.TrimPrefix(rec, utf8BOM)
		}
		if blank(rec) {
			continue
		}
		var bad, open bool
		cells, bad, open = splitCSV(rec, sep, cells)
		if cols == nil {
			c := newColumns(cells)
			cols = &c
			continue
		}
		ev := im.slot()
		setRaw(ev, rec, rd.cut, im.o.MaxLineBytes)
		for i, v := range cells {
			if v == "" {
				continue
			}
			v = text(v, ev)
			switch {
			case i < len(cols.ids) && cols.ids[i] != 0:
				ev.Set(cols.ids[i], v)
			case i < len(cols.names):
				ev.Add(cols.names[i], v)
			default:
				ev.Add("column_"+strconv.Itoa(i+1), v)
			}
		}
		switch {
		case open:
			ev.Flag(event.FlagParseError, "quote not closed")
		case bad:
			ev.Flag(event.FlagParseError, "text after a closing quote")
		case len(cells) != len(cols.names):
			ev.Flag(event.FlagParseError, "row has "+strconv.Itoa(len(cells))+" cells, the header "+strconv.Itoa(len(cols.names)))
		}
		ev.Time = cols.time(cells, im.o.Location)
		if err := im.commit(rd.off); err != nil {
			return err
		}
	}
}
