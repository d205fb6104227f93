// SPDX-License-Identifier: Apache-2.0

package event

import (
	"context"
	"errors"
	"time"
)

// LogSource is the Sigma logsource of an event: product (windows, linux,
// zeek …), category (process_creation, network_connection …) and service
// (security, sysmon, sshd …). Empty parts are unknown.
type LogSource struct {
	Product  string
	Category string
	Service  string
}

// Flag marks an event that intake could not take in as it should have. A
// flagged event is still kept, with its raw bytes: nothing is dropped for
// being malformed.
type Flag uint16

// The flags. Reason on the event says more.
const (
	// FlagParseError: the input did not parse as its format; the fields
	// hold what could be recovered and the raw bytes are kept.
	FlagParseError Flag = 1 << iota
	// FlagInvalidText: the input was not valid UTF-8 (Shift_JIS, binary);
	// field values were repaired, the raw bytes are as received.
	FlagInvalidText
	// FlagTruncated: the input was longer than the limit and was cut.
	FlagTruncated
	// FlagTimeSkew: the event's own time was too far from the time it was
	// received; Time holds the received time and the field "event_time_raw"
	// holds the original text.
	FlagTimeSkew
	// FlagNoTime: the input carried no time; Time is the received time.
	FlagNoTime
	// FlagFieldsDropped: some field names could not be interned because
	// the process has seen too many distinct names; the raw bytes hold them.
	FlagFieldsDropped
)

// Has reports whether all of g is set in f.
func (f Flag) Has(g Flag) bool { return f&g == g }

// Names returns the names of the set flags, for display and search.
func (f Flag) Names() []string {
	var out []string
	for i, n := range flagNames {
		if f&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return out
}

var flagNames = []string{"parse_error", "invalid_text", "truncated", "time_skew", "no_time", "fields_dropped"}

// Field is one named value of an event.
type Field struct {
	ID    FieldID
	Value string
}

// Name returns the field's name.
func (f Field) Name() string { return f.ID.Name() }

// Event is one log record after intake. Times are Unix nanoseconds, UTC.
type Event struct {
	ID       ID
	Time     int64 // when it happened, by the source's clock (or Received, flagged)
	Received int64 // when koban accepted it
	Tenant   string
	Source   string // the listener or import that took it in: "syslog-tcp", "import:auth.log"
	Host     string // the machine the event is about or came from
	Log      LogSource
	Fields   []Field // in input order; a name appears at most once
	Raw      []byte  // the bytes as received, at most the intake limit
	Flags    Flag
	Reason   string // why the event is flagged, for people
}

// Get returns the value of field id and whether the event has it.
func (e *Event) Get(id FieldID) (string, bool) {
	for i := range e.Fields {
		if e.Fields[i].ID == id {
			return e.Fields[i].Value, true
		}
	}
	return "", false
}

// Lookup returns the value of the field called name.
func (e *Event) Lookup(name string) (string, bool) {
	id, ok := Lookup(name)
	if !ok {
		return "", false
	}
	return e.Get(id)
}

// Set gives field id the value v, replacing an earlier value.
func (e *Event) Set(id FieldID, v string) {
	for i := range e.Fields {
		if e.Fields[i].ID == id {
			e.Fields[i].Value = v
			return
		}
	}
	e.Fields = append(e.Fields, Field{ID: id, Value: v})
}

// Add sets the field called name to v. When the process has interned too
// many distinct names, the field is not kept and the event is flagged
// FlagFieldsDropped (its raw bytes still hold it); Add reports whether the
// field was kept.
func (e *Event) Add(name, v string) bool {
	id, err := Intern(name)
	if err != nil {
		e.Flag(FlagFieldsDropped, "too many distinct field names")
		return false
	}
	e.Set(id, v)
	return true
}

// Delete removes field id.
func (e *Event) Delete(id FieldID) {
	for i := range e.Fields {
		if e.Fields[i].ID == id {
			e.Fields = append(e.Fields[:i], e.Fields[i+1:]...)
			return
		}
	}
}

// Flag sets f and records reason (the first reason is kept).
func (e *Event) Flag(f Flag, reason string) {
	e.Flags |= f
	if e.Reason == "" {
		e.Reason = reason
	}
}

// TimeOf returns the event time as a time.Time in UTC.
func (e *Event) TimeOf() time.Time { return time.Unix(0, e.Time).UTC() }

// Reset empties e for reuse, keeping its field slice's storage.
func (e *Event) Reset() {
	f := e.Fields[:0]
	*e = Event{Fields: f}
}

// Sink takes accepted events. Append returns once the events are durable
// (for the journal: written and synced), so that a sender may be
// acknowledged. It returns an error wrapping ErrFull when the sink cannot
// take more now; callers push back (HTTP 429, stop reading TCP, count UDP
// drops) and nothing is lost. Append must not keep events or their Fields
// slices after it returns: callers reuse that storage (field values and Raw
// may be kept; they are never written again).
type Sink interface {
	Append(ctx context.Context, events []Event) error
}

// ErrFull is returned (wrapped) by a Sink that is at capacity.
var ErrFull = errors.New("event: sink is full, try again later")
