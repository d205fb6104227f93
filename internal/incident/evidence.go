// SPDX-License-Identifier: Apache-2.0

package incident

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/koban-csirt/koban/internal/audit"
	"github.com/koban-csirt/koban/internal/fault"
)

// The evidence locker: files attached to an incident, kept by their SHA-256
// in a content store (Blobs) and never modified, each with a chain of
// custody — who collected it, from where and when, and every upload,
// download, transfer, hold, verification and disposal since. Corrections are
// new custody entries ("annotated"), never edits. Only the item's state
// changes: its current custodian, its legal hold, its retention date and
// its disposal.

// Digests are the hashes of an evidence file, in lower-case hex. SHA256
// names the file in the content store; SHA1 and MD5 are kept for tools
// and reports that still ask for them.
type Digests struct {
	SHA256 string
	SHA1   string
	MD5    string
}

// CustodyAction is what happened to an evidence item in one custody entry.
type CustodyAction string

// The custody actions.
const (
	CustodyCollected    CustodyAction = "collected"         // taken from its source (by CollectedBy, at CollectedAt)
	CustodyUploaded     CustodyAction = "uploaded"          // put into the locker
	CustodyViewed       CustodyAction = "viewed"            // content shown in the browser
	CustodyDownloaded   CustodyAction = "downloaded"        // content handed out as a file
	CustodyTransferred  CustodyAction = "transferred"       // the original handed from one custodian to another
	CustodyHoldSet      CustodyAction = "hold_set"          // legal hold placed
	CustodyHoldReleased CustodyAction = "hold_released"     // legal hold lifted
	CustodyVerified     CustodyAction = "verified"          // content re-hashed; Note holds the VerifyOutcome
	CustodyAnnotated    CustodyAction = "annotated"         // a correction or remark; the item itself never changes
	CustodyRetention    CustodyAction = "retention_changed" // the retention date moved; Note holds the reason
	CustodyDisposed     CustodyAction = "disposed"          // content destroyed after retention
)

var custodyActions = []CustodyAction{CustodyCollected, CustodyUploaded, CustodyViewed, CustodyDownloaded,
	CustodyTransferred, CustodyHoldSet, CustodyHoldReleased, CustodyVerified, CustodyAnnotated, CustodyRetention,
	CustodyDisposed}

// Valid reports whether a is a known custody action.
func (a CustodyAction) Valid() bool {
	for _, k := range custodyActions {
		if a == k {
			return true
		}
	}
	return false
}

// VerifyOutcome is the result of re-hashing an evidence file.
type VerifyOutcome string

// The verification outcomes.
const (
	VerifyIntact  VerifyOutcome = "intact"  // the content still has its recorded SHA-256
	VerifyAltered VerifyOutcome = "altered" // the content no longer matches: tampering or disk corruption
	VerifyMissing VerifyOutcome = "missing" // the content is gone from the store
)

// LegalHold says an item must be kept whatever its retention date says.
// The zero value is "no hold".
type LegalHold struct {
	Held   bool
	By     string // user name of who placed it
	ByID   int64
	At     time.Time
	Reason string
}

// Evidence is one item of the evidence locker. The fields from Name to
// UploadedAt are fixed once stored; Custodian, Hold, RetainUntil and
// DisposedAt are its state.
type Evidence struct {
	ID         int64
	IncidentID int64
	// Name is the original file name, cleaned (see CleanName).
	Name string
	// ContentType is sniffed from the content, never taken from the client.
	ContentType string
	Size        int64
	Digests
	Description   string
	CollectedBy   string    // the person who collected it
	CollectedFrom string    // host, system or place it came from
	CollectedAt   time.Time // when it was collected; may be well before the upload
	UploadedBy    string    // user name
	UploadedByID  int64
	UploadedAt    time.Time

	// Custodian is who holds the original now: the collector at first,
	// then whoever it was last transferred to.
	Custodian   string
	Hold        LegalHold
	RetainUntil time.Time // disposal is refused before this time
	DisposedAt  time.Time // zero while the content is kept
}

// Disposed reports whether the item's content has been destroyed.
func (e Evidence) Disposed() bool { return !e.DisposedAt.IsZero() }

// Custody is one entry of an item's chain of custody. Entries are only
// ever appended.
type Custody struct {
	ID         int64
	EvidenceID int64
	At         time.Time
	Actor      string // user name of who recorded it; for "collected", the collector
	ActorID    int64
	Action     CustodyAction
	From, To   string // for transfers: the custodian before and after
	Note       string
}

// EvidenceMeta is what a person says about a file they upload.
type EvidenceMeta struct {
	Name          string // the client's file name; cleaned, never trusted as a path
	Description   string
	CollectedBy   string    // defaults to the uploader
	CollectedFrom string    // host, system or place
	CollectedAt   time.Time // defaults to the upload time; may not lie in the future
	RetainUntil   time.Time // defaults to the upload time plus the locker's retention
}

// EvidenceStore keeps evidence items and their custody. It is implemented
// by internal/store for SQLite and PostgreSQL. Reads of a missing row return
// NotFound; every method may return Internal.
type EvidenceStore interface {
	// Tx runs fn in a transaction that calls made with its ctx join; a
	// transaction is serialised with every other.
	Tx(ctx context.Context, fn func(ctx context.Context) error) error
	// CreateEvidence inserts e (ignoring its ID) and returns it with its
	// id; Invalid when its incident does not exist.
	CreateEvidence(ctx context.Context, e Evidence) (Evidence, error)
	// Evidence returns the item with id.
	Evidence(ctx context.Context, id int64) (Evidence, error)
	// IncidentEvidence returns an incident's items in upload order.
	IncidentEvidence(ctx context.Context, incidentID int64) ([]Evidence, error)
	// UpdateEvidenceState stores e's Custodian, Hold, RetainUntil and
	// DisposedAt; nothing else of an item ever changes.
	UpdateEvidenceState(ctx context.Context, e Evidence) error
	// CountEvidenceBySHA256 counts the items not disposed of whose content
	// has this SHA-256.
	CountEvidenceBySHA256(ctx context.Context, sha256 string) (int, error)
	// AddEvidenceCustody appends a custody entry (ignoring its ID) and
	// returns it with its id.
	AddEvidenceCustody(ctx context.Context, c Custody) (Custody, error)
	// EvidenceCustody returns an item's custody entries in the order they
	// were recorded.
	EvidenceCustody(ctx context.Context, evidenceID int64) ([]Custody, error)
	// Incident returns the incident with id (to refuse evidence for a
	// closed or missing one).
	Incident(ctx context.Context, id int64) (Incident, error)
	// AddIncidentEntry appends an entry to an incident's timeline.
	AddIncidentEntry(ctx context.Context, e Entry) (Entry, error)
	// AppendAudit appends to the audit trail, in the caller's transaction.
	AppendAudit(ctx context.Context, e audit.Entry) error
}

// Blobs is the content store evidence files live in, addressed by SHA-256.
// internal/store implements it on the file system.
type Blobs interface {
	// Put streams r into the store while hashing it and returns its
	// digests and size. Empty input is Invalid, input longer than max is
	// TooLarge; either leaves nothing behind. Content already stored is
	// kept as it is.
	Put(ctx context.Context, r io.Reader, max int64) (Digests, int64, error)
	// Open returns the content with this SHA-256 and its size; NotFound
	// if absent, Invalid if sha256 is not 64 lower-case hex digits.
	Open(ctx context.Context, sha256 string) (io.ReadSeekCloser, int64, error)
	// Verify re-hashes the content: nil when intact, Conflict when it no
	// longer matches its name, NotFound when it is gone.
	Verify(ctx context.Context, sha256 string) error
	// Remove destroys the content; NotFound if absent.
	Remove(ctx context.Context, sha256 string) error
}

// LockerOptions tune a Locker. Zero values take the defaults.
type LockerOptions struct {
	// MaxSize is the largest file accepted, in bytes (default 1 GiB).
	MaxSize int64
	// Retention is how long an item is kept by default after its upload
	// (default five years, the limitation period of most civil claims in
	// Japan).
	Retention time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Log receives warnings (default: discarded).
	Log *slog.Logger
}

// DefaultEvidenceMaxSize and DefaultEvidenceRetention are the defaults of
// LockerOptions.
const (
	DefaultEvidenceMaxSize   = 1 << 30
	DefaultEvidenceRetention = 5 * 365 * 24 * time.Hour
)

// Locker is the evidence locker service.
type Locker struct {
	store     EvidenceStore
	blobs     Blobs
	max       int64
	retention time.Duration
	now       func() time.Time
	log       *slog.Logger
}

// NewLocker returns a Locker keeping items in store and their content in
// blobs.
func NewLocker(store EvidenceStore, blobs Blobs, o LockerOptions) *Locker {
	if o.MaxSize <= 0 {
		o.MaxSize = DefaultEvidenceMaxSize
	}
	if o.Retention <= 0 {
		o.Retention = DefaultEvidenceRetention
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &Locker{store: store, blobs: blobs, max: o.MaxSize, retention: o.Retention, now: o.Now, log: o.Log}
}

// MaxSize returns the largest file the locker accepts, for the upload form
// and the web layer's body limit.
func (l *Locker) MaxSize() int64 { return l.max }

// Bounds on the text an item and its custody entries carry.
const (
	maxEvidenceNameLen  = 255  // bytes: what most file systems allow in one name
	maxEvidencePartyLen = 200  // runes: collected by, collected from, custodians
	maxEvidenceDescLen  = 4000 // runes
	maxCustodyNoteLen   = 2000 // runes: custody notes and reasons
	evidenceSniffLen    = 512  // bytes http.DetectContentType looks at
)

func (l *Locker) nowUTC() time.Time { return l.now().UTC().Truncate(time.Microsecond) }

// evidenceCheck refuses an actor without full access to incidents: every
// action on the locker needs it.
func evidenceCheck(a Actor) error {
	if a.Access != AccessFull {
		return fault.New(fault.Forbidden, "evidence.forbidden")
	}
	return nil
}

// AddEvidence stores the content of r as evidence of an incident and
// records the item, its "collected" and "uploaded" custody entries and an
// audit entry in one transaction. The content streams through the blob
// store under the locker's size limit; an upload that fails for any reason
// leaves no row and no content behind (content an earlier item already
// had is kept).
//
// The incident's timeline gets an "evidence" entry at the collection time.
// A closed incident takes no new evidence (reopen it first); the checks
// made before reading r are made again when recording.
//
// Errors: Forbidden, Invalid (metadata, empty file), NotFound (incident),
// TooLarge, Conflict (incident closed; the same content was being disposed
// of at that very moment: try again).
func (l *Locker) AddEvidence(ctx context.Context, a Actor, incidentID int64, m EvidenceMeta, r io.Reader) (Evidence, error) {
	if err := evidenceCheck(a); err != nil {
		return Evidence{}, err
	}
	now := l.nowUTC()
	e, err := l.newEvidence(a, incidentID, m, now)
	if err != nil {
		return Evidence{}, err
	}
	// Refuse before streaming what would be refused after.
	if err := l.openIncident(ctx, incidentID); err != nil {
		return Evidence{}, fmt.Errorf("incident: add evidence to %d: %w", incidentID, err)
	}
	sr := &evidenceSniffer{r: r}
	d, size, err := l.blobs.Put(ctx, sr, l.max)
	if err != nil {
		return Evidence{}, fmt.Errorf("incident: add evidence to %d: %w", incidentID, err)
	}
	e.Digests, e.Size, e.ContentType = d, size, sniffEvidenceType(sr.head, e.Name)
	err = l.store.Tx(ctx, func(ctx context.Context) error {
		// A disposal of the same content may have removed it between Put
		// and now; disposals and this transaction are serialised, so what
		// is here now stays.
		rc, _, err := l.blobs.Open(ctx, d.SHA256)
		if fault.Is(err, fault.NotFound) {
			return fault.Wrap(fault.Conflict, err, "evidence.upload_raced")
		} else if err != nil {
			return err
		}
		_ = rc.Close() // opened only to prove the content is there
		if err := l.openIncident(ctx, incidentID); err != nil {
			return err
		}
		if e, err = l.store.CreateEvidence(ctx, e); err != nil {
			return err
		}
		collected := Custody{EvidenceID: e.ID, At: e.CollectedAt, Actor: e.CollectedBy, Action: CustodyCollected,
			Note: e.CollectedFrom}
		if e.CollectedBy == a.Name {
			collected.ActorID = a.UserID
		}
		if _, err := l.store.AddEvidenceCustody(ctx, collected); err != nil {
			return err
		}
		if err := l.custody(ctx, a, e.ID, CustodyUploaded, "", "", "", now); err != nil {
			return err
		}
		msg, args := "evidence.timeline.added", []string{"name", e.Name, "sha256", e.SHA256, "by", e.CollectedBy}
		if e.CollectedFrom != "" {
			msg, args = "evidence.timeline.added_from", append(args, "from", e.CollectedFrom)
		}
		if err := l.timeline(ctx, a, e, e.CollectedAt, now, msg, args...); err != nil {
			return err
		}
		return l.audit(ctx, a, "evidence.upload", e.ID, nil, e, now)
	})
	if err != nil {
		l.discard(context.WithoutCancel(ctx), d.SHA256)
		return Evidence{}, fmt.Errorf("incident: add evidence to %d: %w", incidentID, err)
	}
	return e, nil
}

// openIncident refuses evidence for a missing or closed incident.
func (l *Locker) openIncident(ctx context.Context, id int64) error {
	inc, err := l.store.Incident(ctx, id)
	if err != nil {
		return err
	}
	if inc.Closed() {
		return fault.New(fault.Conflict, "evidence.incident_closed")
	}
	return nil
}

// newEvidence validates m and returns the item it describes, without its
// content's facts.
func (l *Locker) newEvidence(a Actor, incidentID int64, m EvidenceMeta, now time.Time) (Evidence, error) {
	var errs fault.List
	if incidentID <= 0 {
		errs = append(errs, fault.InvalidField("incident", "evidence.incident_missing"))
	}
	e := Evidence{IncidentID: incidentID, Name: CleanName(m.Name), UploadedBy: a.Name, UploadedByID: a.UserID,
		UploadedAt: now, Description: cleanEvidenceText(m.Description, true), CollectedBy: cleanEvidenceText(m.CollectedBy, false),
		CollectedFrom: cleanEvidenceText(m.CollectedFrom, false)}
	if n := utf8.RuneCountInString(e.Description); n > maxEvidenceDescLen {
		errs = append(errs, fault.InvalidField("description", "evidence.description_too_long", "max", maxEvidenceDescLen))
	}
	if utf8.RuneCountInString(e.CollectedBy) > maxEvidencePartyLen {
		errs = append(errs, fault.InvalidField("collected_by", "evidence.party_too_long", "max", maxEvidencePartyLen))
	}
	if utf8.RuneCountInString(e.CollectedFrom) > maxEvidencePartyLen {
		errs = append(errs, fault.InvalidField("collected_from", "evidence.party_too_long", "max", maxEvidencePartyLen))
	}
	if e.CollectedBy == "" {
		e.CollectedBy = a.Name
	}
	e.Custodian = e.CollectedBy
	e.CollectedAt = m.CollectedAt.UTC().Truncate(time.Microsecond)
	if m.CollectedAt.IsZero() {
		e.CollectedAt = now
	} else if e.CollectedAt.After(now) {
		errs = append(errs, fault.InvalidField("collected_at", "evidence.collected_future"))
	}
	e.RetainUntil = m.RetainUntil.UTC().Truncate(time.Microsecond)
	if m.RetainUntil.IsZero() {
		e.RetainUntil = now.Add(l.retention)
	} else if !e.RetainUntil.After(now) {
		errs = append(errs, fault.InvalidField("retain_until", "evidence.retain_past"))
	}
	if err := errs.Err(); err != nil {
		return Evidence{}, err
	}
	return e, nil
}

// discard removes content whose upload failed, unless an item that is kept
// has the same content. It runs in a transaction so that an upload of the
// same content committing at the same time either sees the content or is
// refused.
func (l *Locker) discard(ctx context.Context, sha256 string) {
	err := l.store.Tx(ctx, func(ctx context.Context) error {
		n, err := l.store.CountEvidenceBySHA256(ctx, sha256)
		if err != nil || n > 0 {
			return err
		}
		if err := l.blobs.Remove(ctx, sha256); err != nil && !fault.Is(err, fault.NotFound) {
			return err
		}
		return nil
	})
	if err != nil {
		l.log.WarnContext(ctx, "evidence content of a failed upload left behind", "sha256", sha256, "error", err)
	}
}

// Evidence returns the item with id.
func (l *Locker) Evidence(ctx context.Context, id int64) (Evidence, error) {
	e, err := l.store.Evidence(ctx, id)
	if err != nil {
		return Evidence{}, fmt.Errorf("incident: evidence %d: %w", id, err)
	}
	return e, nil
}

// List returns an incident's evidence in upload order, disposed items
// included.
func (l *Locker) List(ctx context.Context, incidentID int64) ([]Evidence, error) {
	es, err := l.store.IncidentEvidence(ctx, incidentID)
	if err != nil {
		return nil, fmt.Errorf("incident: evidence of %d: %w", incidentID, err)
	}
	return es, nil
}

// Custody returns an item's chain of custody in the order it was recorded.
func (l *Locker) Custody(ctx context.Context, id int64) ([]Custody, error) {
	cs, err := l.store.EvidenceCustody(ctx, id)
	if err == nil && len(cs) == 0 {
		// Every item has at least its collected and uploaded entries.
		_, err = l.store.Evidence(ctx, id)
	}
	if err != nil {
		return nil, fmt.Errorf("incident: custody of evidence %d: %w", id, err)
	}
	return cs, nil
}

// Download returns the content of an item for a person to save, after
// recording a "downloaded" custody entry and an audit entry: content is
// never handed out unrecorded. The caller closes the reader.
//
// Errors: Forbidden, NotFound, Conflict (disposed of).
func (l *Locker) Download(ctx context.Context, a Actor, id int64) (io.ReadSeekCloser, Evidence, error) {
	return l.hand(ctx, a, id, CustodyDownloaded, "evidence.download")
}

// View is Download for content shown in the browser: the custody entry says
// "viewed". Only content Viewable allows may be viewed (Invalid
// "evidence.not_viewable" otherwise); the caller serves it with the type
// Viewable returns, never the stored one.
func (l *Locker) View(ctx context.Context, a Actor, id int64) (io.ReadSeekCloser, Evidence, error) {
	if err := evidenceCheck(a); err != nil {
		return nil, Evidence{}, err
	}
	e, err := l.store.Evidence(ctx, id)
	if err != nil {
		return nil, Evidence{}, fmt.Errorf("incident: view evidence %d: %w", id, err)
	}
	if _, ok := e.Viewable(); !ok {
		return nil, Evidence{}, fault.New(fault.Invalid, "evidence.not_viewable")
	}
	return l.hand(ctx, a, id, CustodyViewed, "evidence.view")
}

// Viewable says whether a browser may show the item's content inline, and
// with which Content-Type: text of any kind (mail, logs, HTML and scripts
// included) only ever as plain text, and the common image formats as
// themselves. Anything else is downloaded, never rendered, since evidence
// is hostile by nature.
func (e Evidence) Viewable() (contentType string, ok bool) {
	mt, _, _ := strings.Cut(e.ContentType, ";")
	switch mt = strings.TrimSpace(mt); {
	case mt == "image/png", mt == "image/jpeg", mt == "image/gif", mt == "image/webp", mt == "image/bmp":
		return mt, true
	case strings.HasPrefix(mt, "text/"), mt == "message/rfc822", mt == "application/json":
		return "text/plain; charset=utf-8", true
	}
	return "", false
}

func (l *Locker) hand(ctx context.Context, a Actor, id int64, act CustodyAction, action string) (io.ReadSeekCloser, Evidence, error) {
	if err := evidenceCheck(a); err != nil {
		return nil, Evidence{}, err
	}
	e, err := l.store.Evidence(ctx, id)
	if err != nil {
		return nil, Evidence{}, fmt.Errorf("incident: %s evidence %d: %w", act, id, err)
	}
	if e.Disposed() {
		return nil, Evidence{}, fault.New(fault.Conflict, "evidence.disposed")
	}
	rc, _, err := l.blobs.Open(ctx, e.SHA256)
	if err != nil {
		return nil, Evidence{}, fmt.Errorf("incident: %s evidence %d: %w", act, id, err)
	}
	now := l.nowUTC()
	err = l.store.Tx(ctx, func(ctx context.Context) error {
		if err := l.custody(ctx, a, id, act, "", "", "", now); err != nil {
			return err
		}
		return l.audit(ctx, a, action, id, nil, map[string]any{"sha256": e.SHA256, "name": e.Name}, now)
	})
	if err != nil {
		_ = rc.Close() // the recording error is the one to report
		return nil, Evidence{}, fmt.Errorf("incident: %s evidence %d: %w", act, id, err)
	}
	return rc, e, nil
}

// Transfer records that the original of an item was handed from its
// current custodian to another person, with an optional note.
//
// Errors: Forbidden, NotFound, Invalid (no or too long recipient, the
// current custodian again, note too long), Conflict (disposed of).
func (l *Locker) Transfer(ctx context.Context, a Actor, id int64, to, note string) (Evidence, error) {
	if err := evidenceCheck(a); err != nil {
		return Evidence{}, err
	}
	to = cleanEvidenceText(to, false)
	switch {
	case to == "":
		return Evidence{}, fault.InvalidField("to", "evidence.transfer_to_missing")
	case utf8.RuneCountInString(to) > maxEvidencePartyLen:
		return Evidence{}, fault.InvalidField("to", "evidence.party_too_long", "max", maxEvidencePartyLen)
	}
	note, err := cleanCustodyNote(note, false)
	if err != nil {
		return Evidence{}, err
	}
	return l.change(ctx, a, id, "transfer", func(e *Evidence, now time.Time) (Custody, error) {
		if e.Custodian == to {
			return Custody{}, fault.InvalidField("to", "evidence.transfer_same")
		}
		c := Custody{Action: CustodyTransferred, From: e.Custodian, To: to, Note: note}
		e.Custodian = to
		return c, nil
	})
}

// SetHold places a legal hold on an item: it cannot be disposed of until
// the hold is released. The reason is required.
//
// Errors: Forbidden, NotFound, Invalid (reason), Conflict (already held,
// disposed of).
func (l *Locker) SetHold(ctx context.Context, a Actor, id int64, reason string) (Evidence, error) {
	if err := evidenceCheck(a); err != nil {
		return Evidence{}, err
	}
	reason, err := cleanCustodyNote(reason, true)
	if err != nil {
		return Evidence{}, err
	}
	return l.change(ctx, a, id, "hold_set", func(e *Evidence, now time.Time) (Custody, error) {
		if e.Hold.Held {
			return Custody{}, fault.New(fault.Conflict, "evidence.hold_already")
		}
		e.Hold = LegalHold{Held: true, By: a.Name, ByID: a.UserID, At: now, Reason: reason}
		return Custody{Action: CustodyHoldSet, Note: reason}, nil
	})
}

// ReleaseHold lifts an item's legal hold. The reason is required.
//
// Errors: Forbidden, NotFound, Invalid (reason), Conflict (not held).
func (l *Locker) ReleaseHold(ctx context.Context, a Actor, id int64, reason string) (Evidence, error) {
	if err := evidenceCheck(a); err != nil {
		return Evidence{}, err
	}
	reason, err := cleanCustodyNote(reason, true)
	if err != nil {
		return Evidence{}, err
	}
	return l.change(ctx, a, id, "hold_release", func(e *Evidence, now time.Time) (Custody, error) {
		if !e.Hold.Held {
			return Custody{}, fault.New(fault.Conflict, "evidence.not_held")
		}
		e.Hold = LegalHold{}
		return Custody{Action: CustodyHoldReleased, Note: reason}, nil
	})
}

// SetRetention moves an item's retention date, with a reason (an
// earlier date allows an earlier disposal).
//
// Errors: Forbidden, NotFound, Invalid (no date, reason), Conflict
// (disposed of).
func (l *Locker) SetRetention(ctx context.Context, a Actor, id int64, until time.Time, reason string) (Evidence, error) {
	if err := evidenceCheck(a); err != nil {
		return Evidence{}, err
	}
	if until.IsZero() {
		return Evidence{}, fault.InvalidField("retain_until", "evidence.retain_missing")
	}
	reason, err := cleanCustodyNote(reason, true)
	if err != nil {
		return Evidence{}, err
	}
	until = until.UTC().Truncate(time.Microsecond)
	return l.change(ctx, a, id, "retention", func(e *Evidence, now time.Time) (Custody, error) {
		c := Custody{Action: CustodyRetention, From: e.RetainUntil.Format(time.RFC3339), To: until.Format(time.RFC3339),
			Note: reason}
		e.RetainUntil = until
		return c, nil
	})
}

// Annotate adds a remark or correction to an item's custody: the item
// itself is never edited.
//
// Errors: Forbidden, NotFound, Invalid (no or too long note).
func (l *Locker) Annotate(ctx context.Context, a Actor, id int64, note string) (Custody, error) {
	if err := evidenceCheck(a); err != nil {
		return Custody{}, err
	}
	note, err := cleanCustodyNote(note, true)
	if err != nil {
		return Custody{}, err
	}
	var c Custody
	now := l.nowUTC()
	err = l.store.Tx(ctx, func(ctx context.Context) error {
		if _, err := l.store.Evidence(ctx, id); err != nil {
			return err
		}
		c = Custody{EvidenceID: id, At: now, Actor: a.Name, ActorID: a.UserID, Action: CustodyAnnotated, Note: note}
		if c, err = l.store.AddEvidenceCustody(ctx, c); err != nil {
			return err
		}
		return l.audit(ctx, a, "evidence.annotate", id, nil, map[string]any{"note": note}, now)
	})
	if err != nil {
		return Custody{}, fmt.Errorf("incident: annotate evidence %d: %w", id, err)
	}
	return c, nil
}

// Verify re-hashes an item's content and records the outcome as a
// "verified" custody entry and in the audit trail. An altered or missing
// file is an outcome, not an error; it is also logged for the operator.
//
// Errors: Forbidden, NotFound, Conflict (disposed of), Internal (the
// content could not be read).
func (l *Locker) Verify(ctx context.Context, a Actor, id int64) (VerifyOutcome, error) {
	if err := evidenceCheck(a); err != nil {
		return "", err
	}
	e, err := l.store.Evidence(ctx, id)
	if err != nil {
		return "", fmt.Errorf("incident: verify evidence %d: %w", id, err)
	}
	if e.Disposed() {
		return "", fault.New(fault.Conflict, "evidence.disposed")
	}
	out := VerifyIntact
	switch err := l.blobs.Verify(ctx, e.SHA256); {
	case err == nil:
	case fault.Is(err, fault.Conflict):
		out = VerifyAltered
	case fault.Is(err, fault.NotFound):
		out = VerifyMissing
	default:
		return "", fmt.Errorf("incident: verify evidence %d: %w", id, err)
	}
	now := l.nowUTC()
	err = l.store.Tx(ctx, func(ctx context.Context) error {
		if err := l.custody(ctx, a, id, CustodyVerified, "", "", string(out), now); err != nil {
			return err
		}
		if out != VerifyIntact {
			if err := l.timeline(ctx, a, e, now, now, "evidence.timeline.verify_"+string(out), "name", e.Name); err != nil {
				return err
			}
		}
		return l.audit(ctx, a, "evidence.verify", id, nil, map[string]any{"sha256": e.SHA256, "outcome": out}, now)
	})
	if err != nil {
		return "", fmt.Errorf("incident: verify evidence %d: %w", id, err)
	}
	if out != VerifyIntact {
		l.log.ErrorContext(ctx, "evidence content failed verification", "incident_id", e.IncidentID,
			"evidence_id", id, "sha256", e.SHA256, "outcome", string(out))
	}
	return out, nil
}

// Dispose destroys an item's content once its retention date has passed,
// unless it is under legal hold; the item and its custody stay, with a
// "disposed" entry. The content itself is removed only if no other item
// that is kept has the same content. The reason is required.
//
// Errors: Forbidden, NotFound, Invalid (reason), Conflict (under legal
// hold, retention not reached, already disposed of).
func (l *Locker) Dispose(ctx context.Context, a Actor, id int64, reason string) (Evidence, error) {
	if err := evidenceCheck(a); err != nil {
		return Evidence{}, err
	}
	reason, err := cleanCustodyNote(reason, true)
	if err != nil {
		return Evidence{}, err
	}
	return l.change(ctx, a, id, "dispose", func(e *Evidence, now time.Time) (Custody, error) {
		if e.Hold.Held {
			return Custody{}, fault.New(fault.Conflict, "evidence.held")
		}
		if now.Before(e.RetainUntil) {
			return Custody{}, fault.New(fault.Conflict, "evidence.retained", "until", e.RetainUntil.Format(time.DateOnly))
		}
		e.DisposedAt = now
		return Custody{Action: CustodyDisposed, Note: reason}, nil
	})
}

// change applies fn to the item with id in a transaction, refusing items
// already disposed of, and records the item's new state, fn's custody entry
// and an audit entry "evidence.<verb>". A disposal also removes the content
// when no kept item shares it, inside the transaction, so that an upload
// of the same content committing meanwhile is refused rather than left
// without content.
func (l *Locker) change(ctx context.Context, a Actor, id int64, verb string, fn func(e *Evidence, now time.Time) (Custody, error)) (Evidence, error) {
	var e Evidence
	now := l.nowUTC()
	err := l.store.Tx(ctx, func(ctx context.Context) error {
		before, err := l.store.Evidence(ctx, id)
		if err != nil {
			return err
		}
		if before.Disposed() {
			return fault.New(fault.Conflict, "evidence.disposed")
		}
		e = before
		c, err := fn(&e, now)
		if err != nil {
			return err
		}
		if err := l.store.UpdateEvidenceState(ctx, e); err != nil {
			return err
		}
		if err := l.custody(ctx, a, id, c.Action, c.From, c.To, c.Note, now); err != nil {
			return err
		}
		if err := l.audit(ctx, a, "evidence."+verb, id, before, e, now); err != nil {
			return err
		}
		if err := l.timelineFor(ctx, a, e, c, now); err != nil {
			return err
		}
		if !e.Disposed() {
			return nil
		}
		n, err := l.store.CountEvidenceBySHA256(ctx, e.SHA256)
		if err != nil || n > 0 {
			return err
		}
		if err := l.blobs.Remove(ctx, e.SHA256); err != nil && !fault.Is(err, fault.NotFound) {
			return err
		}
		return nil
	})
	if err != nil {
		return Evidence{}, fmt.Errorf("incident: %s evidence %d: %w", verb, id, err)
	}
	return e, nil
}

// timelineFor writes the incident timeline entry a custody change deserves:
// transfers, legal holds and disposal are part of the incident's story;
// retention changes, views and downloads stay in the custody trail only.
func (l *Locker) timelineFor(ctx context.Context, a Actor, e Evidence, c Custody, now time.Time) error {
	switch c.Action {
	case CustodyTransferred:
		return l.timeline(ctx, a, e, now, now, "evidence.timeline.transferred", "name", e.Name, "from", c.From, "to", c.To)
	case CustodyHoldSet:
		return l.timeline(ctx, a, e, now, now, "evidence.timeline.hold_set", "name", e.Name)
	case CustodyHoldReleased:
		return l.timeline(ctx, a, e, now, now, "evidence.timeline.hold_released", "name", e.Name)
	case CustodyDisposed:
		return l.timeline(ctx, a, e, now, now, "evidence.timeline.disposed", "name", e.Name)
	}
	return nil
}

// timeline appends an automatic "evidence" entry to e's incident timeline:
// it happened at at and is recorded now. Arguments are already clean.
func (l *Locker) timeline(ctx context.Context, a Actor, e Evidence, at, now time.Time, msg string, args ...string) error {
	author := a.Name
	if author == "" {
		author = "system"
	}
	_, err := l.store.AddIncidentEntry(ctx, Entry{IncidentID: e.IncidentID, Kind: EntryEvidence, At: at,
		RecordedAt: now, AuthorID: a.UserID, Author: author, Msg: msg, Args: args})
	return err
}

func (l *Locker) custody(ctx context.Context, a Actor, id int64, act CustodyAction, from, to, note string, now time.Time) error {
	_, err := l.store.AddEvidenceCustody(ctx, Custody{EvidenceID: id, At: now, Actor: a.Name, ActorID: a.UserID,
		Action: act, From: from, To: to, Note: note})
	return err
}

// evidenceView is what the audit trail records of an item.
type evidenceView struct {
	ID          int64     `json:"id"`
	IncidentID  int64     `json:"incident_id"`
	Name        string    `json:"name"`
	Size        int64     `json:"size"`
	SHA256      string    `json:"sha256"`
	Custodian   string    `json:"custodian"`
	Hold        bool      `json:"legal_hold"`
	HoldReason  string    `json:"hold_reason,omitempty"`
	RetainUntil time.Time `json:"retain_until"`
	DisposedAt  time.Time `json:"disposed_at,omitzero"`
}

func evidenceViewOf(v any) any {
	e, ok := v.(Evidence)
	if !ok {
		return v
	}
	return evidenceView{ID: e.ID, IncidentID: e.IncidentID, Name: e.Name, Size: e.Size, SHA256: e.SHA256,
		Custodian: e.Custodian, Hold: e.Hold.Held, HoldReason: e.Hold.Reason, RetainUntil: e.RetainUntil,
		DisposedAt: e.DisposedAt}
}

func (l *Locker) audit(ctx context.Context, a Actor, action string, id int64, before, after any, now time.Time) error {
	if before != nil {
		before = evidenceViewOf(before)
	}
	en := audit.New(a.Actor, action, audit.Object("evidence", id), before, evidenceViewOf(after))
	en.Time = now
	return l.store.AppendAudit(ctx, en)
}
