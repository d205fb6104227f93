// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// Via says through which door a change came in.
type Via string

// The doors.
const (
	ViaWeb    Via = "web"
	ViaAPI    Via = "api"
	ViaCLI    Via = "cli"
	ViaSystem Via = "system"
)

// Actor is who made a change: a signed-in user, an API token, a CLI operator
// or koban itself.
type Actor struct {
	UserID  int64  // 0 when no koban user is involved
	Name    string // user name, "cli:<os user>" or "system"
	Via     Via
	TokenID int64  // the API token used, if any
	IP      string // the client address, if any
}

// System is the actor for changes koban makes on its own (first run,
// retention jobs).
var System = Actor{Name: "system", Via: ViaSystem}

// Entry is one row of the audit trail.
type Entry struct {
	Seq      int64     // position in the chain, from 1, without gaps
	Time     time.Time // UTC, microsecond precision
	ActorID  int64
	Actor    string
	Via      Via
	TokenID  int64
	IP       string
	Action   string // dotted verb such as "user.create", "auth.signin_failed"
	Object   string // what was changed, such as "user:12"; may be empty
	Before   string // JSON of the object before the change, or ""
	After    string // JSON of the object after the change, or ""
	PrevHash string // hex SHA-256 of the previous entry, "" for the first
	Hash     string // hex SHA-256 over PrevHash and this entry's fields
}

// New returns an entry for actor doing action on object, with before and
// after states (either may be nil). Values are rendered as JSON; they must
// never hold secrets such as password hashes or tokens.
func New(a Actor, action, object string, before, after any) Entry {
	return Entry{
		ActorID: a.UserID, Actor: a.Name, Via: a.Via, TokenID: a.TokenID, IP: a.IP,
		Action: action, Object: object, Before: render(before), After: render(after),
	}
}

// Object names an object of a kind by numeric id, such as "user:12".
func Object(kind string, id int64) string { return kind + ":" + strconv.FormatInt(id, 10) }

func render(v any) string {
	if v == nil {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		// The values are our own view structs; failing to render one is a
		// programming error, recorded rather than lost.
		return fmt.Sprintf(`{"error":%q}`, err.Error())
	}
	return string(b)
}

// Sum returns the hex SHA-256 of prev and the entry's fields (Seq to After).
// Every field is length-prefixed so that no two different entries encode
// alike.
func (e Entry) Sum(prev string) string {
	h := sha256.New()
	field := func(s string) {
		h.Write([]byte(strconv.Itoa(len(s))))
		h.Write([]byte{':'})
		h.Write([]byte(s))
		h.Write([]byte{'\n'})
	}
	field(prev)
	field(strconv.FormatInt(e.Seq, 10))
	field(strconv.FormatInt(e.Time.UnixMicro(), 10))
	field(strconv.FormatInt(e.ActorID, 10))
	field(e.Actor)
	field(string(e.Via))
	field(strconv.FormatInt(e.TokenID, 10))
	field(e.IP)
	field(e.Action)
	field(e.Object)
	field(e.Before)
	field(e.After)
	return hex.EncodeToString(h.Sum(nil))
}

// Seal sets the entry's sequence number, previous hash and hash so that it
// follows an entry with sequence prevSeq and hash prevHash.
func (e *Entry) Seal(prevSeq int64, prevHash string) {
	e.Seq = prevSeq + 1
	e.Time = e.Time.UTC().Truncate(time.Microsecond)
	e.PrevHash = prevHash
	e.Hash = e.Sum(prevHash)
}

// Head is the chain's last sequence number and hash, kept by the store beside
// the rows so that removing the newest rows is noticed too.
type Head struct {
	Seq  int64
	Hash string
}

// Break describes the first place where a stored chain is not intact.
type Break struct {
	Seq    int64  // the first row that was altered, or after which rows are missing
	Reason string // in English, for operators
}

func (b *Break) Error() string {
	return fmt.Sprintf("audit chain broken at row %d: %s", b.Seq, b.Reason)
}

// Checker walks a chain in sequence order and finds the first break.
type Checker struct {
	prev    Entry
	started bool
	broken  *Break
	n       int64
}

// Add checks the next stored entry. It returns a *Break at the first problem
// and the same break on every later call.
func (c *Checker) Add(e Entry) error {
	if c.broken != nil {
		return c.broken
	}
	c.n++
	wantSeq := int64(1)
	if c.started {
		wantSeq = c.prev.Seq + 1
	}
	switch {
	case e.Seq < wantSeq:
		c.broken = &Break{Seq: e.Seq, Reason: fmt.Sprintf("sequence goes back from %d to %d", c.prev.Seq, e.Seq)}
	case e.Seq > wantSeq:
		c.broken = &Break{Seq: wantSeq, Reason: fmt.Sprintf("rows %d to %d are missing", wantSeq, e.Seq-1)}
	case c.started && e.PrevHash != c.prev.Hash:
		// The previous row still matches its own stored hash, but this row
		// was chained to a different one: the previous row was rewritten
		// together with its hash.
		c.broken = &Break{Seq: c.prev.Seq, Reason: "row was rewritten (the next row links to a different hash)"}
	case !c.started && e.PrevHash != "":
		c.broken = &Break{Seq: e.Seq, Reason: "first row links to a previous row that does not exist"}
	case e.Sum(e.PrevHash) != e.Hash:
		c.broken = &Break{Seq: e.Seq, Reason: "row content does not match its hash (edited)"}
	}
	if c.broken != nil {
		return c.broken
	}
	c.prev, c.started = e, true
	return nil
}

// Finish compares the last entry seen with the stored head and returns the
// number of entries checked. A head ahead of the rows means the newest rows
// were removed.
func (c *Checker) Finish(h Head) (int64, error) {
	if c.broken != nil {
		return c.n, c.broken
	}
	last := Head{}
	if c.started {
		last = Head{Seq: c.prev.Seq, Hash: c.prev.Hash}
	}
	switch {
	case h.Seq > last.Seq:
		c.broken = &Break{Seq: last.Seq + 1, Reason: fmt.Sprintf("rows %d to %d are missing (newest rows removed)", last.Seq+1, h.Seq)}
	case h.Seq < last.Seq:
		c.broken = &Break{Seq: h.Seq + 1, Reason: "rows exist beyond the recorded head (inserted directly)"}
	case h.Hash != last.Hash:
		c.broken = &Break{Seq: last.Seq, Reason: "last row does not match the recorded head hash"}
	}
	if c.broken != nil {
		return c.n, c.broken
	}
	return c.n, nil
}

// Filter selects audit entries for reading, newest first.
type Filter struct {
	Before int64  // only entries with Seq below this; 0 for the newest
	Limit  int    // at most this many (1 to 500; other values mean 100)
	Actor  string // exact actor name
	Action string // an action, or a prefix ending in "." such as "auth."
	Object string // exact object such as "user:12"
}
