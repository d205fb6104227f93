// SPDX-License-Identifier: Apache-2.0

package incident

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/koban-csirt/koban/internal/fault"
)

// EntryKind says what a timeline entry is about, stored as-is.
type EntryKind string

// The entry kinds.
const (
	EntryCreated    EntryKind = "created"
	EntryUpdate     EntryKind = "update"   // a written field changed
	EntryPhase      EntryKind = "phase"    // phase changes
	EntryStatus     EntryKind = "status"   // on hold, closed, reopened
	EntrySeverity   EntryKind = "severity" // assessed or overridden
	EntryAssign     EntryKind = "assign"
	EntryTask       EntryKind = "task"
	EntryLink       EntryKind = "link" // links between incidents
	EntryReview     EntryKind = "review"
	EntryAlert      EntryKind = "alert"      // alerts linked or merged in
	EntryEvidence   EntryKind = "evidence"   // evidence collected, handed over
	EntryObservable EntryKind = "observable" // observables found or flagged
	EntryAction     EntryKind = "action"     // something done to systems or accounts
	EntryMessage    EntryKind = "message"    // a communication sent or received
	EntryReport     EntryKind = "report"     // a report drafted or sent
	EntryNote       EntryKind = "note"       // anything else a person records
)

// EntryKinds lists every kind.
var EntryKinds = []EntryKind{EntryCreated, EntryUpdate, EntryPhase, EntryStatus, EntrySeverity, EntryAssign,
	EntryTask, EntryLink, EntryReview, EntryAlert, EntryEvidence, EntryObservable, EntryAction, EntryMessage,
	EntryReport, EntryNote}

// ManualKinds are the kinds a person may record by hand: what happened
// outside koban (a cable unplugged, a call to the insurer, a fact learnt).
var ManualKinds = []EntryKind{EntryNote, EntryAction, EntryMessage, EntryEvidence}

// Valid reports whether k is one of the kinds.
func (k EntryKind) Valid() bool { return slices.Contains(EntryKinds, k) }

// Entry is one line of an incident's timeline. Entries koban writes carry a
// message id of the catalogue with its named arguments; entries people write
// carry their text.
type Entry struct {
	ID         int64
	IncidentID int64
	Kind       EntryKind
	// At is when it happened; RecordedAt when it was written down. They
	// differ for what a person records after the fact.
	At         time.Time
	RecordedAt time.Time
	AuthorID   int64
	Author     string // user name, or "system"
	Manual     bool
	// Msg and Args (name, value pairs) describe an automatic entry.
	Msg  string
	Args []string
	// Text is what a person wrote.
	Text string
}

// MsgArgs returns Args as the catalogue's T takes them.
func (e Entry) MsgArgs() []any {
	out := make([]any, len(e.Args))
	for i, a := range e.Args {
		out[i] = a
	}
	return out
}

// Bounds of timeline entries.
const (
	maxEntryTextLen = 10000
	maxArgLen       = 2000
)

// logEntry appends an automatic entry in the caller's transaction.
func (s *Service) logEntry(ctx context.Context, a Actor, id int64, kind EntryKind, at time.Time, msg string, args ...string) error {
	_, err := s.store.AddIncidentEntry(ctx, s.autoEntry(a, id, kind, at, msg, args))
	return err
}

// autoEntry builds an automatic entry, its arguments cleaned and bounded.
func (s *Service) autoEntry(a Actor, id int64, kind EntryKind, at time.Time, msg string, args []string) Entry {
	clean := make([]string, len(args))
	for i, v := range args {
		clean[i] = cleanText(v, maxArgLen)
	}
	name := a.Name
	if name == "" {
		name = "system"
	}
	return Entry{IncidentID: id, Kind: kind, At: storeTime(at), RecordedAt: s.nowUTC(), AuthorID: a.UserID,
		Author: name, Msg: msg, Args: clean}
}

// Log records an automatic timeline entry, for the parts of koban that act
// on incidents outside this Service (alerts merged in, evidence, response
// actions, messages, reports): msg is a message id of the catalogue and
// args its named arguments (name, value pairs); at is when it happened
// (zero: now). It joins the caller's transaction when ctx carries one, so
// that the entry is stored with the change it records or not at all.
// Entries may be logged on closed incidents (an evidence download after the
// close is part of the record).
//
// Errors: Forbidden; NotFound; Invalid for an unknown kind, an empty
// message id or an odd number of arguments.
func (s *Service) Log(ctx context.Context, a Actor, id int64, kind EntryKind, at time.Time, msg string, args ...string) (Entry, error) {
	if err := a.needFull(); err != nil {
		return Entry{}, err
	}
	if !kind.Valid() || msg == "" || len(args)%2 != 0 {
		return Entry{}, fault.New(fault.Invalid, "incident.entry_invalid")
	}
	if at.IsZero() {
		at = s.nowUTC()
	}
	var e Entry
	err := s.store.Tx(ctx, func(ctx context.Context) error {
		if _, err := s.current(ctx, Ref{ID: id}); err != nil {
			return err
		}
		var err error
		e, err = s.store.AddIncidentEntry(ctx, s.autoEntry(a, id, kind, at, msg, args))
		return err
	})
	if err != nil {
		return Entry{}, wrap(err, "log", id)
	}
	return e, nil
}

// Note is what a person records on a timeline by hand.
type Note struct {
	Kind EntryKind // one of ManualKinds; EntryNote when empty
	At   time.Time // when it happened; zero means now
	Text string    // required
}

// AddNote records a person's entry on an open incident's timeline: what
// happened (Text), and when (At), which may be long before it is recorded
// but not in the future.
//
// Errors: Forbidden; NotFound; Conflict "incident.closed"; Invalid for an
// empty or too long text, a kind people may not record, a time in the
// future.
func (s *Service) AddNote(ctx context.Context, a Actor, id int64, n Note) (Entry, error) {
	if err := a.needFull(); err != nil {
		return Entry{}, err
	}
	now := s.nowUTC()
	var c inputCheck
	text := c.text("text", n.Text, maxEntryTextLen, true)
	if n.Kind == "" {
		n.Kind = EntryNote
	}
	if !slices.Contains(ManualKinds, n.Kind) {
		c.add("kind", "incident.entry_kind_invalid", "value", cleanLine(string(n.Kind), maxIDLen))
	}
	at := storeTime(n.At)
	if at.IsZero() {
		at = now
	}
	if at.After(now.Add(maxSkew)) {
		c.add("at", "incident.time_future")
	}
	if err := c.errs.Err(); err != nil {
		return Entry{}, err
	}
	var e Entry
	err := s.store.Tx(ctx, func(ctx context.Context) error {
		if _, err := s.open(ctx, Ref{ID: id}); err != nil {
			return err
		}
		var err error
		e, err = s.store.AddIncidentEntry(ctx, Entry{IncidentID: id, Kind: n.Kind, At: at, RecordedAt: now,
			AuthorID: a.UserID, Author: a.Name, Manual: true, Text: text})
		if err != nil {
			return err
		}
		return s.audit(ctx, a, "incident.note", id, nil, noteView{ID: e.ID, Kind: e.Kind, At: at, Text: text}, now)
	})
	if err != nil {
		return Entry{}, wrap(err, "add note to", id)
	}
	return e, nil
}

// noteView is what the audit trail records of a note.
type noteView struct {
	ID   int64     `json:"id"`
	Kind EntryKind `json:"kind"`
	At   time.Time `json:"at"`
	Text string    `json:"text"`
}

// Timeline returns an incident's timeline by when things happened.
func (s *Service) Timeline(ctx context.Context, a Actor, id int64) ([]Entry, error) {
	if err := a.needFull(); err != nil {
		return nil, err
	}
	if _, err := s.current(ctx, Ref{ID: id}); err != nil {
		return nil, wrap(err, "timeline", id)
	}
	es, err := s.store.IncidentEntries(ctx, id)
	if err != nil {
		return nil, wrap(err, "timeline", id)
	}
	return es, nil
}

// Translate renders a message id with its arguments in the reader's
// language (the catalogue's T with the language bound).
type Translate func(msg string, args ...any) string

// ExportRow is one timeline entry as exported: times in RFC 3339, in UTC
// and in Asia/Tokyo (the time Japanese reports and regulators use).
type ExportRow struct {
	ID            int64     `json:"id"`
	Kind          EntryKind `json:"kind"`
	HappenedUTC   string    `json:"happened_utc"`
	HappenedTokyo string    `json:"happened_jst"`
	RecordedUTC   string    `json:"recorded_utc"`
	RecordedTokyo string    `json:"recorded_jst"`
	Author        string    `json:"author"`
	Manual        bool      `json:"manual"`
	// Text is the person's text, or the automatic entry rendered.
	Text string `json:"text"`
	// Msg and Args are an automatic entry's message, for machines.
	Msg  string            `json:"msg,omitempty"`
	Args map[string]string `json:"args,omitempty"`
}

// ExportRows turns entries into export rows; tr renders automatic entries
// (nil: the message id followed by its arguments).
func ExportRows(entries []Entry, tr Translate) []ExportRow {
	tokyo := Tokyo()
	out := make([]ExportRow, 0, len(entries))
	for _, e := range entries {
		r := ExportRow{ID: e.ID, Kind: e.Kind, Author: e.Author, Manual: e.Manual, Text: e.Text, Msg: e.Msg,
			HappenedUTC: e.At.UTC().Format(time.RFC3339), HappenedTokyo: e.At.In(tokyo).Format(time.RFC3339),
			RecordedUTC: e.RecordedAt.UTC().Format(time.RFC3339), RecordedTokyo: e.RecordedAt.In(tokyo).Format(time.RFC3339)}
		if e.Msg != "" {
			r.Args = make(map[string]string, len(e.Args)/2)
			for i := 0; i+1 < len(e.Args); i += 2 {
				r.Args[e.Args[i]] = e.Args[i+1]
			}
			if tr != nil {
				r.Text = tr(e.Msg, e.MsgArgs()...)
			} else {
				r.Text = strings.TrimSpace(e.Msg + " " + strings.Join(e.Args, " "))
			}
		}
		out = append(out, r)
	}
	return out
}

// exportHeader names the CSV columns.
var exportHeader = []string{"id", "kind", "happened_utc", "happened_jst", "recorded_utc", "recorded_jst", "author", "manual", "text"}

// WriteTimelineCSV writes entries as CSV (RFC 4180, UTF-8 with a byte order
// mark so that Excel reads Japanese correctly), one row per entry under a
// header. Text that a spreadsheet would take for a formula (starting with
// =, +, -, @, tab or carriage return) is prefixed with an apostrophe.
func WriteTimelineCSV(w io.Writer, entries []Entry, tr Translate) error {
	if _, err := io.WriteString(w, "\uFEFF"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if err := cw.Write(exportHeader); err != nil {
		return err
	}
	for _, r := range ExportRows(entries, tr) {
		rec := []string{strconv.FormatInt(r.ID, 10), string(r.Kind), r.HappenedUTC, r.HappenedTokyo, r.RecordedUTC,
			r.RecordedTokyo, csvSafe(r.Author), strconv.FormatBool(r.Manual), csvSafe(r.Text)}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// csvSafe defuses a cell a spreadsheet would evaluate (CSV injection).
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// WriteTimelineJSON writes entries as a JSON array of ExportRow objects.
// HTML-significant characters are escaped (\u003c), so the file is safe to
// open in a browser.
func WriteTimelineJSON(w io.Writer, entries []Entry, tr Translate) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(ExportRows(entries, tr))
}
