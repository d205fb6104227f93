// SPDX-License-Identifier: Apache-2.0

package incident_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/text/unicode/norm"

	"github.com/koban-csirt/koban/internal/audit"
	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/incident"
	"github.com/koban-csirt/koban/internal/shareddata"
	"github.com/koban-csirt/koban/internal/store"
	"github.com/koban-csirt/koban/internal/store/storetest"
)

// evT0 has a microsecond part so that round trips prove the precision kept.
var evT0 = time.Date(2026, 11, 24, 10, 15, 30, 250125000, time.UTC)

// evClock is a settable clock.
type evClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *evClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *evClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// evStore wraps the real store so that a test can make one call fail.
type evStore struct {
	*store.DB
	failAudit   string // AppendAudit of this action fails
	failCustody incident.CustodyAction
}

var errEvBoom = errors.New("boom")

func (s *evStore) AppendAudit(ctx context.Context, e audit.Entry) error {
	if s.failAudit != "" && e.Action == s.failAudit {
		return errEvBoom
	}
	return s.DB.AppendAudit(ctx, e)
}

func (s *evStore) AddEvidenceCustody(ctx context.Context, c incident.Custody) (incident.Custody, error) {
	if s.failCustody != "" && c.Action == s.failCustody {
		return incident.Custody{}, errEvBoom
	}
	return s.DB.AddEvidenceCustody(ctx, c)
}

// evEnv is a Locker on a fresh SQLite store and content store.
type evEnv struct {
	inc1  int64 // open incidents
	inc2  int64
	l     *incident.Locker
	db    *store.DB
	st    *evStore
	blobs *store.Blobs
	clock *evClock
}

const evMax = 64 << 10

func newEvEnv(t *testing.T) evEnv {
	t.Helper()
	db := storetest.OpenSQLite(t)
	blobs, err := store.OpenBlobs(filepath.Join(t.TempDir(), "evidence"))
	if err != nil {
		t.Fatal(err)
	}
	c := &evClock{t: evT0}
	st := &evStore{DB: db}
	l := incident.NewLocker(st, blobs, incident.LockerOptions{MaxSize: evMax, Retention: 365 * 24 * time.Hour, Now: c.Now})
	return evEnv{inc1: evIncident(t, db, "INC-2026-0001", incident.StatusOpen),
		inc2: evIncident(t, db, "INC-2026-0002", incident.StatusOpen), l: l, db: db, st: st, blobs: blobs, clock: c}
}

// evIncident creates an incident in status st and returns its id.
func evIncident(t *testing.T, db *store.DB, ref string, st incident.Status) int64 {
	t.Helper()
	inc, err := db.CreateIncident(context.Background(), incident.Incident{Ref: ref, Title: "phishing " + ref,
		Type: incident.TypePhishing, Status: st, Phase: incident.PhaseAnalysis, DetectedAt: evT0, AwareAt: evT0,
		CreatedBy: "alice", Version: 1, CreatedAt: evT0, UpdatedAt: evT0})
	if err != nil {
		t.Fatalf("CreateIncident(%s): %v", ref, err)
	}
	return inc.ID
}

func evActor(name string, id int64) incident.Actor {
	return incident.Actor{Actor: audit.Actor{UserID: id, Name: name, Via: audit.ViaWeb, IP: "192.0.2.7"}, Access: incident.AccessFull}
}

var (
	evAlice = evActor("alice", 1)
	evBob   = evActor("bob", 2)
)

const evMail = "From: \"経理部\" <keiri@example.co.jp>\r\nTo: hanako@example.jp\r\nSubject: =?UTF-8?B?6KuL5rGC5pu4?=\r\n\r\nPlease open the attached invoice.\r\n"

func (e evEnv) add(t *testing.T, inc int64, m incident.EvidenceMeta, content string) incident.Evidence {
	t.Helper()
	ev, err := e.l.AddEvidence(context.Background(), evAlice, inc, m, strings.NewReader(content))
	if err != nil {
		t.Fatalf("AddEvidence(%q): %v", m.Name, err)
	}
	return ev
}

// blobFiles lists the files under the content store, temporaries included.
func (e evEnv) blobFiles(t *testing.T) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(e.blobs.Root(), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, filepath.Base(p))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (e evEnv) actions(t *testing.T, id int64) []incident.CustodyAction {
	t.Helper()
	cs, err := e.l.Custody(context.Background(), id)
	if err != nil {
		t.Fatalf("Custody(%d): %v", id, err)
	}
	var out []incident.CustodyAction
	for _, c := range cs {
		out = append(out, c.Action)
	}
	return out
}

func (e evEnv) audits(t *testing.T) []string {
	t.Helper()
	es, err := e.db.AuditEntries(context.Background(), audit.Filter{Action: "evidence.", Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, en := range slices.Backward(es) {
		out = append(out, en.Action+" "+en.Object+" by "+en.Actor)
	}
	return out
}

func evWantFault(t *testing.T, call string, err error, kind fault.Kind, msg string) {
	t.Helper()
	got, _ := fault.Public(err)
	if !fault.Is(err, kind) || got != msg {
		t.Errorf("%s: got %v, want %s %s", call, err, kind, msg)
	}
}

func TestEvidenceUploadAndCustodyTrail(t *testing.T) {
	e := newEvEnv(t)
	ctx := context.Background()
	collected := evT0.Add(-26 * time.Hour)
	ev := e.add(t, e.inc1, incident.EvidenceMeta{Name: `C:\Users\hanako\Downloads\請求書.eml`, Description: "怪しいメール",
		CollectedBy: "山田 花子", CollectedFrom: "PC-042 Outlook", CollectedAt: collected}, evMail)

	s2, s1, m5 := sha256.Sum256([]byte(evMail)), sha1.Sum([]byte(evMail)), md5.Sum([]byte(evMail))
	want := incident.Evidence{ID: ev.ID, IncidentID: e.inc1, Name: "請求書.eml", ContentType: "message/rfc822",
		Size: int64(len(evMail)), Digests: incident.Digests{SHA256: hex.EncodeToString(s2[:]),
			SHA1: hex.EncodeToString(s1[:]), MD5: hex.EncodeToString(m5[:])},
		Description: "怪しいメール", CollectedBy: "山田 花子", CollectedFrom: "PC-042 Outlook",
		CollectedAt: collected.Truncate(time.Microsecond), UploadedBy: "alice", UploadedByID: 1, UploadedAt: evT0,
		Custodian: "山田 花子", RetainUntil: evT0.Add(365 * 24 * time.Hour)}
	if diff := cmp.Diff(want, ev); diff != "" {
		t.Errorf("AddEvidence (-want +got):\n%s", diff)
	}
	if got, err := e.l.Evidence(ctx, ev.ID); err != nil || !cmp.Equal(want, got) {
		t.Errorf("Evidence(%d) = %+v, %v; want it as returned by AddEvidence", ev.ID, got, err)
	}

	steps := []struct {
		name string
		fn   func() error
	}{
		{"Download", func() error {
			rc, _, err := e.l.Download(ctx, evBob, ev.ID)
			if err == nil {
				rc.Close()
			}
			return err
		}},
		{"Transfer", func() error {
			_, err := e.l.Transfer(ctx, evAlice, ev.ID, "外部フォレンジック業者", "封印袋 #12 で手渡し")
			return err
		}},
		{"SetHold", func() error { _, err := e.l.SetHold(ctx, evAlice, ev.ID, "弁護士から保全依頼"); return err }},
		{"Verify", func() error { _, err := e.l.Verify(ctx, evBob, ev.ID); return err }},
		{"Annotate", func() error {
			_, err := e.l.Annotate(ctx, evAlice, ev.ID, "収集元は PC-042 ではなく PC-043")
			return err
		}},
		{"View", func() error {
			rc, _, err := e.l.View(ctx, evAlice, ev.ID)
			if err == nil {
				rc.Close()
			}
			return err
		}},
		{"ReleaseHold", func() error { _, err := e.l.ReleaseHold(ctx, evAlice, ev.ID, "和解成立"); return err }},
	}
	for _, s := range steps {
		e.clock.Add(time.Minute)
		if err := s.fn(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
	}
	cs, err := e.l.Custody(ctx, ev.ID)
	if err != nil {
		t.Fatal(err)
	}
	for i := range cs {
		cs[i].ID = 0
	}
	at := func(n int) time.Time { return evT0.Add(time.Duration(n) * time.Minute) }
	wantCustody := []incident.Custody{
		{EvidenceID: ev.ID, At: collected.Truncate(time.Microsecond), Actor: "山田 花子", Action: incident.CustodyCollected, Note: "PC-042 Outlook"},
		{EvidenceID: ev.ID, At: evT0, Actor: "alice", ActorID: 1, Action: incident.CustodyUploaded},
		{EvidenceID: ev.ID, At: at(1), Actor: "bob", ActorID: 2, Action: incident.CustodyDownloaded},
		{EvidenceID: ev.ID, At: at(2), Actor: "alice", ActorID: 1, Action: incident.CustodyTransferred, From: "山田 花子",
			To: "外部フォレンジック業者", Note: "封印袋 #12 で手渡し"},
		{EvidenceID: ev.ID, At: at(3), Actor: "alice", ActorID: 1, Action: incident.CustodyHoldSet, Note: "弁護士から保全依頼"},
		{EvidenceID: ev.ID, At: at(4), Actor: "bob", ActorID: 2, Action: incident.CustodyVerified, Note: string(incident.VerifyIntact)},
		{EvidenceID: ev.ID, At: at(5), Actor: "alice", ActorID: 1, Action: incident.CustodyAnnotated, Note: "収集元は PC-042 ではなく PC-043"},
		{EvidenceID: ev.ID, At: at(6), Actor: "alice", ActorID: 1, Action: incident.CustodyViewed},
		{EvidenceID: ev.ID, At: at(7), Actor: "alice", ActorID: 1, Action: incident.CustodyHoldReleased, Note: "和解成立"},
	}
	if diff := cmp.Diff(wantCustody, cs); diff != "" {
		t.Errorf("custody trail (-want +got):\n%s", diff)
	}
	obj := " evidence:" + evItoa(ev.ID)
	wantAudit := []string{"evidence.upload" + obj + " by alice", "evidence.download" + obj + " by bob",
		"evidence.transfer" + obj + " by alice", "evidence.hold_set" + obj + " by alice", "evidence.verify" + obj + " by bob",
		"evidence.annotate" + obj + " by alice", "evidence.view" + obj + " by alice", "evidence.hold_release" + obj + " by alice"}
	if diff := cmp.Diff(wantAudit, e.audits(t)); diff != "" {
		t.Errorf("audit trail (-want +got):\n%s", diff)
	}
	// The item's facts never changed; its state did.
	got, err := e.l.Evidence(ctx, ev.ID)
	if err != nil {
		t.Fatal(err)
	}
	want.Custodian = "外部フォレンジック業者"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Evidence after the trail (-want +got):\n%s", diff)
	}
	if n, b, err := e.db.VerifyAudit(ctx); err != nil || b.Seq == 0 || n != int64(len(wantAudit)) {
		t.Errorf("VerifyAudit = %d, %+v, %v; want %d intact entries", n, b, err, len(wantAudit))
	}
}

func evItoa(n int64) string { return audit.Object("", n)[1:] }

func TestEvidenceDownloadRecordedBeforeReader(t *testing.T) {
	e := newEvEnv(t)
	ctx := context.Background()
	ev := e.add(t, e.inc1, incident.EvidenceMeta{Name: "mail.eml"}, evMail)
	rc, got, err := e.l.Download(ctx, evBob, ev.ID)
	if err != nil {
		t.Fatalf("Download: %v", err)
	}
	// Recorded already, before a byte is read.
	if acts := e.actions(t, ev.ID); acts[len(acts)-1] != incident.CustodyDownloaded {
		t.Errorf("custody right after Download returned = %v; want it to end with downloaded", acts)
	}
	b, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || string(b) != evMail || got.ID != ev.ID {
		t.Errorf("Download read %q (item %d), %v; want the uploaded content of item %d", b, got.ID, err, ev.ID)
	}

	// When the download cannot be recorded, no content is handed out.
	e.st.failAudit = "evidence.download"
	before := e.actions(t, ev.ID)
	rc, _, err = e.l.Download(ctx, evBob, ev.ID)
	if err == nil || rc != nil {
		if rc != nil {
			rc.Close()
		}
		t.Errorf("Download with the audit failing = reader %v, %v; want no reader and an error", rc != nil, err)
	}
	if after := e.actions(t, ev.ID); len(after) != len(before) {
		t.Errorf("custody after an unrecorded download = %v; want it unchanged %v", after, before)
	}
}

func TestEvidenceLegalHoldBlocksDisposal(t *testing.T) {
	e := newEvEnv(t)
	ctx := context.Background()
	ev := e.add(t, e.inc1, incident.EvidenceMeta{Name: "disk.img"}, "image bytes")
	if _, err := e.l.SetHold(ctx, evAlice, ev.ID, ""); !fault.Is(err, fault.Invalid) {
		t.Errorf("SetHold(no reason): got %v, want Invalid", err)
	}
	held, err := e.l.SetHold(ctx, evAlice, ev.ID, "litigation")
	if err != nil {
		t.Fatal(err)
	}
	if want := (incident.LegalHold{Held: true, By: "alice", ByID: 1, At: evT0, Reason: "litigation"}); held.Hold != want {
		t.Errorf("SetHold: hold %+v, want %+v", held.Hold, want)
	}
	_, err = e.l.SetHold(ctx, evBob, ev.ID, "again")
	evWantFault(t, "SetHold(held)", err, fault.Conflict, "evidence.hold_already")

	e.clock.Add(2 * 365 * 24 * time.Hour) // retention long past
	_, err = e.l.Dispose(ctx, evAlice, ev.ID, "retention over")
	evWantFault(t, "Dispose(under hold)", err, fault.Conflict, "evidence.held")
	if files := e.blobFiles(t); len(files) != 1 {
		t.Errorf("content after a refused disposal: %v, want kept", files)
	}
	if _, err := e.l.ReleaseHold(ctx, evAlice, ev.ID, " \n "); !fault.Is(err, fault.Invalid) {
		t.Errorf("ReleaseHold(blank reason): got %v, want Invalid", err)
	}
	if _, err := e.l.ReleaseHold(ctx, evAlice, ev.ID, "case closed"); err != nil {
		t.Fatal(err)
	}
	_, err = e.l.ReleaseHold(ctx, evAlice, ev.ID, "twice")
	evWantFault(t, "ReleaseHold(not held)", err, fault.Conflict, "evidence.not_held")
	if _, err := e.l.Dispose(ctx, evAlice, ev.ID, ""); !fault.Is(err, fault.Invalid) {
		t.Errorf("Dispose(no reason): got %v, want Invalid", err)
	}
	gone, err := e.l.Dispose(ctx, evAlice, ev.ID, "retention over, hold released")
	if err != nil {
		t.Fatalf("Dispose: %v", err)
	}
	if !gone.Disposed() || !gone.DisposedAt.Equal(e.clock.Now()) {
		t.Errorf("Dispose: DisposedAt %v, want %v", gone.DisposedAt, e.clock.Now())
	}
	if files := e.blobFiles(t); len(files) != 0 {
		t.Errorf("content after disposal: %v, want removed", files)
	}
	_, _, err = e.l.Download(ctx, evAlice, ev.ID)
	evWantFault(t, "Download(disposed)", err, fault.Conflict, "evidence.disposed")
	_, err = e.l.Verify(ctx, evAlice, ev.ID)
	evWantFault(t, "Verify(disposed)", err, fault.Conflict, "evidence.disposed")
	_, err = e.l.Dispose(ctx, evAlice, ev.ID, "again")
	evWantFault(t, "Dispose(disposed)", err, fault.Conflict, "evidence.disposed")
	want := []incident.CustodyAction{incident.CustodyCollected, incident.CustodyUploaded, incident.CustodyHoldSet,
		incident.CustodyHoldReleased, incident.CustodyDisposed}
	if diff := cmp.Diff(want, e.actions(t, ev.ID)); diff != "" {
		t.Errorf("custody (-want +got):\n%s", diff)
	}
}

func TestEvidenceRetention(t *testing.T) {
	e := newEvEnv(t)
	ctx := context.Background()
	until := evT0.Add(30 * 24 * time.Hour)
	ev := e.add(t, e.inc1, incident.EvidenceMeta{Name: "log.txt", RetainUntil: until}, "log line")
	if !ev.RetainUntil.Equal(until) {
		t.Errorf("RetainUntil = %v, want %v", ev.RetainUntil, until)
	}
	e.clock.Add(29 * 24 * time.Hour)
	_, err := e.l.Dispose(ctx, evAlice, ev.ID, "early")
	evWantFault(t, "Dispose(before retention)", err, fault.Conflict, "evidence.retained")
	if _, err := e.l.SetRetention(ctx, evAlice, ev.ID, time.Time{}, "x"); !fault.Is(err, fault.Invalid) {
		t.Errorf("SetRetention(no date): got %v, want Invalid", err)
	}
	moved, err := e.l.SetRetention(ctx, evAlice, ev.ID, evT0.Add(10*24*time.Hour), "社内規程の改定")
	if err != nil {
		t.Fatal(err)
	}
	cs, _ := e.l.Custody(ctx, ev.ID)
	last := cs[len(cs)-1]
	if last.Action != incident.CustodyRetention || last.From != until.Format(time.RFC3339) || last.Note != "社内規程の改定" {
		t.Errorf("retention custody entry = %+v; want from %s with the reason", last, until.Format(time.RFC3339))
	}
	if _, err := e.l.Dispose(ctx, evAlice, moved.ID, "retention over"); err != nil {
		t.Errorf("Dispose after the retention date moved back: %v", err)
	}
}

func TestEvidenceDisposeKeepsSharedContent(t *testing.T) {
	e := newEvEnv(t)
	ctx := context.Background()
	a := e.add(t, e.inc1, incident.EvidenceMeta{Name: "a.eml"}, evMail)
	b := e.add(t, e.inc2, incident.EvidenceMeta{Name: "b.eml"}, evMail)
	if a.SHA256 != b.SHA256 || len(e.blobFiles(t)) != 1 {
		t.Fatalf("same content twice: %s, %s, files %v; want one stored file", a.SHA256, b.SHA256, e.blobFiles(t))
	}
	e.clock.Add(400 * 24 * time.Hour)
	if _, err := e.l.Dispose(ctx, evAlice, a.ID, "retention over"); err != nil {
		t.Fatal(err)
	}
	rc, _, err := e.l.Download(ctx, evAlice, b.ID)
	if err != nil {
		t.Fatalf("Download of an item sharing disposed content: %v", err)
	}
	rc.Close()
	if _, err := e.l.Dispose(ctx, evAlice, b.ID, "retention over"); err != nil {
		t.Fatal(err)
	}
	if files := e.blobFiles(t); len(files) != 0 {
		t.Errorf("content after both items were disposed of: %v, want removed", files)
	}
}

func TestEvidenceTransfer(t *testing.T) {
	e := newEvEnv(t)
	ctx := context.Background()
	ev := e.add(t, e.inc1, incident.EvidenceMeta{Name: "usb.img"}, "usb")
	if ev.Custodian != "alice" {
		t.Errorf("custodian of an item the uploader collected = %q, want alice", ev.Custodian)
	}
	for _, to := range []string{"", " \t", "alice"} {
		if _, err := e.l.Transfer(ctx, evAlice, ev.ID, to, ""); !fault.Is(err, fault.Invalid) {
			t.Errorf("Transfer(to %q): got %v, want Invalid", to, err)
		}
	}
	if _, err := e.l.Transfer(ctx, evAlice, ev.ID, strings.Repeat("長", 201), ""); !fault.Is(err, fault.Invalid) {
		t.Errorf("Transfer(to a 201-character name): got %v, want Invalid", err)
	}
	for _, to := range []string{"bob", "警察 サイバー犯罪相談窓口"} {
		if _, err := e.l.Transfer(ctx, evAlice, ev.ID, to, ""); err != nil {
			t.Fatalf("Transfer(to %s): %v", to, err)
		}
	}
	cs, _ := e.l.Custody(ctx, ev.ID)
	var moves [][2]string
	for _, c := range cs {
		if c.Action == incident.CustodyTransferred {
			moves = append(moves, [2]string{c.From, c.To})
		}
	}
	if diff := cmp.Diff([][2]string{{"alice", "bob"}, {"bob", "警察 サイバー犯罪相談窓口"}}, moves); diff != "" {
		t.Errorf("transfers (-want +got):\n%s", diff)
	}
	if _, err := e.l.Transfer(ctx, evAlice, 4242, "bob", ""); !fault.Is(err, fault.NotFound) {
		t.Errorf("Transfer(unknown item): got %v, want NotFound", err)
	}
}

// evErrAfter yields n bytes and then fails, as a dropped connection does.
type evErrAfter struct{ n int }

func (r *evErrAfter) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, errors.New("unexpected EOF from client")
	}
	k := min(r.n, len(p))
	copy(p, bytes.Repeat([]byte{'z'}, k))
	r.n -= k
	return k, nil
}

func TestEvidenceFailedUploadLeavesNothing(t *testing.T) {
	tests := []struct {
		name  string
		setup func(e evEnv)
		r     func() io.Reader
		kind  fault.Kind
	}{
		{"dropped mid-upload", nil, func() io.Reader { return &evErrAfter{n: 10000} }, fault.Internal},
		{"empty", nil, func() io.Reader { return strings.NewReader("") }, fault.Invalid},
		{"max+1", nil, func() io.Reader { return strings.NewReader(strings.Repeat("x", evMax+1)) }, fault.TooLarge},
		{"custody fails", func(e evEnv) { e.st.failCustody = incident.CustodyUploaded },
			func() io.Reader { return strings.NewReader(evMail) }, fault.Internal},
		{"audit fails", func(e evEnv) { e.st.failAudit = "evidence.upload" },
			func() io.Reader { return strings.NewReader(evMail) }, fault.Internal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEvEnv(t)
			if tt.setup != nil {
				tt.setup(e)
			}
			_, err := e.l.AddEvidence(context.Background(), evAlice, e.inc1, incident.EvidenceMeta{Name: "x.eml"}, tt.r())
			if err == nil || fault.KindOf(err) != tt.kind {
				t.Fatalf("AddEvidence: got %v, want a %s error", err, tt.kind)
			}
			if es, err := e.l.List(context.Background(), e.inc1); err != nil || len(es) != 0 {
				t.Errorf("List after a failed upload = %v, %v; want no item", es, err)
			}
			if files := e.blobFiles(t); len(files) != 0 {
				t.Errorf("content store after a failed upload: %v; want empty", files)
			}
			if a := e.audits(t); len(a) != 0 {
				t.Errorf("audit after a failed upload: %v; want none", a)
			}
		})
	}
}

// A failed upload of content another item already has leaves that item's
// content alone.
func TestEvidenceFailedUploadKeepsSharedContent(t *testing.T) {
	e := newEvEnv(t)
	ctx := context.Background()
	first := e.add(t, e.inc1, incident.EvidenceMeta{Name: "first.eml"}, evMail)
	e.st.failAudit = "evidence.upload"
	if _, err := e.l.AddEvidence(ctx, evAlice, e.inc2, incident.EvidenceMeta{Name: "again.eml"}, strings.NewReader(evMail)); err == nil {
		t.Fatal("AddEvidence with the audit failing succeeded")
	}
	if _, err := e.l.Verify(ctx, evAlice, first.ID); err != nil {
		t.Fatal(err)
	}
	cs, _ := e.l.Custody(ctx, first.ID)
	if last := cs[len(cs)-1]; last.Note != string(incident.VerifyIntact) {
		t.Errorf("Verify of the first item after a failed upload of the same content: %q, want intact", last.Note)
	}
}

func TestEvidenceMetaValidation(t *testing.T) {
	tests := []struct {
		name  string
		noInc bool
		m     incident.EvidenceMeta
		field string
	}{
		{"no incident", true, incident.EvidenceMeta{Name: "a"}, "incident"},
		{"collected in the future", false, incident.EvidenceMeta{CollectedAt: evT0.Add(time.Minute)}, "collected_at"},
		{"retention in the past", false, incident.EvidenceMeta{RetainUntil: evT0.Add(-time.Second)}, "retain_until"},
		{"long description", false, incident.EvidenceMeta{Description: strings.Repeat("説", 4001)}, "description"},
		{"long collector", false, incident.EvidenceMeta{CollectedBy: strings.Repeat("a", 201)}, "collected_by"},
		{"long source", false, incident.EvidenceMeta{CollectedFrom: strings.Repeat("a", 201)}, "collected_from"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEvEnv(t)
			r := &evErrAfter{n: 100} // never read: validation comes first
			inc := e.inc1
			if tt.noInc {
				inc = 0
			}
			_, err := e.l.AddEvidence(context.Background(), evAlice, inc, tt.m, r)
			fs := fault.Faults(err)
			if !fault.Is(err, fault.Invalid) || len(fs) == 0 || fs[0].Field != tt.field {
				t.Errorf("AddEvidence(%+v): got %v, want Invalid about %s", tt.m, err, tt.field)
			}
			if r.n != 100 {
				t.Errorf("AddEvidence read the upload before refusing its metadata")
			}
		})
	}
}

func TestEvidenceVerifyDetectsTampering(t *testing.T) {
	e := newEvEnv(t)
	ctx := context.Background()
	ev := e.add(t, e.inc1, incident.EvidenceMeta{Name: "mail.eml"}, evMail)
	if out, err := e.l.Verify(ctx, evAlice, ev.ID); err != nil || out != incident.VerifyIntact {
		t.Fatalf("Verify(untouched) = %s, %v; want intact", out, err)
	}
	p := filepath.Join(e.blobs.Root(), ev.SHA256[:2], ev.SHA256[2:4], ev.SHA256)
	if err := os.Chmod(p, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(strings.Replace(evMail, "invoice", "invoicf", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := e.l.Verify(ctx, evBob, ev.ID); err != nil || out != incident.VerifyAltered {
		t.Errorf("Verify(tampered) = %s, %v; want altered", out, err)
	}
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	if out, err := e.l.Verify(ctx, evBob, ev.ID); err != nil || out != incident.VerifyMissing {
		t.Errorf("Verify(deleted) = %s, %v; want missing", out, err)
	}
	cs, _ := e.l.Custody(ctx, ev.ID)
	var notes []string
	for _, c := range cs {
		if c.Action == incident.CustodyVerified {
			notes = append(notes, c.Note)
		}
	}
	if diff := cmp.Diff([]string{"intact", "altered", "missing"}, notes); diff != "" {
		t.Errorf("verification entries (-want +got):\n%s", diff)
	}
}

func TestEvidenceForbidden(t *testing.T) {
	e := newEvEnv(t)
	ctx := context.Background()
	ev := e.add(t, e.inc1, incident.EvidenceMeta{Name: "a.txt"}, "a")
	for _, access := range []incident.Access{incident.AccessNone, incident.AccessSummary} {
		a := evActor("viewer", 9)
		a.Access = access
		calls := map[string]func() error{
			"AddEvidence": func() error {
				_, err := e.l.AddEvidence(ctx, a, e.inc1, incident.EvidenceMeta{}, strings.NewReader("b"))
				return err
			},
			"Download":    func() error { _, _, err := e.l.Download(ctx, a, ev.ID); return err },
			"View":        func() error { _, _, err := e.l.View(ctx, a, ev.ID); return err },
			"Transfer":    func() error { _, err := e.l.Transfer(ctx, a, ev.ID, "x", ""); return err },
			"SetHold":     func() error { _, err := e.l.SetHold(ctx, a, ev.ID, "r"); return err },
			"ReleaseHold": func() error { _, err := e.l.ReleaseHold(ctx, a, ev.ID, "r"); return err },
			"Verify":      func() error { _, err := e.l.Verify(ctx, a, ev.ID); return err },
			"Annotate":    func() error { _, err := e.l.Annotate(ctx, a, ev.ID, "n"); return err },
			"Dispose":     func() error { _, err := e.l.Dispose(ctx, a, ev.ID, "r"); return err },
			"SetRetention": func() error {
				_, err := e.l.SetRetention(ctx, a, ev.ID, evT0.Add(time.Hour), "r")
				return err
			},
		}
		for name, call := range calls {
			if err := call(); !fault.Is(err, fault.Forbidden) {
				t.Errorf("%s with access %d: got %v, want Forbidden", name, access, err)
			}
		}
	}
	if diff := cmp.Diff([]incident.CustodyAction{incident.CustodyCollected, incident.CustodyUploaded}, e.actions(t, ev.ID)); diff != "" {
		t.Errorf("custody after refused calls (-want +got):\n%s", diff)
	}
}

func TestEvidenceNotFound(t *testing.T) {
	e := newEvEnv(t)
	ctx := context.Background()
	if _, err := e.l.Evidence(ctx, 4242); !fault.Is(err, fault.NotFound) {
		t.Errorf("Evidence(4242): got %v, want NotFound", err)
	}
	if _, err := e.l.Custody(ctx, 4242); !fault.Is(err, fault.NotFound) {
		t.Errorf("Custody(4242): got %v, want NotFound", err)
	}
	if _, _, err := e.l.Download(ctx, evAlice, 4242); !fault.Is(err, fault.NotFound) {
		t.Errorf("Download(4242): got %v, want NotFound", err)
	}
	if _, err := e.l.Annotate(ctx, evAlice, 4242, "n"); !fault.Is(err, fault.NotFound) {
		t.Errorf("Annotate(4242): got %v, want NotFound", err)
	}
}

func TestEvidenceContentType(t *testing.T) {
	evtx := shareddata.Path(t, "evtx-attack-samples/Defense Evasion/DE_UAC_Disabled_Sysmon_12_13.evtx")
	raw, err := os.ReadFile(evtx)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, content, want string
	}{
		{"mail.eml", evMail, "message/rfc822"},
		{"MAIL.EML", evMail, "message/rfc822"},
		{"notes.eml", "just some notes, not a mail\n", "text/plain; charset=utf-8"},
		{"mail.txt", evMail, "text/plain; charset=utf-8"},
		{"invoice.pdf", "<html><script>alert(1)</script>", "text/html; charset=utf-8"}, // the name is not trusted
		{"sample.evtx", string(raw), "application/x-ms-evtx"},
		{"renamed.txt", string(raw), "application/x-ms-evtx"},
		{"a.png", "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image/png"},
		{"capture.pcap", "\xd4\xc3\xb2\xa1\x02\x00\x04\x00", "application/vnd.tcpdump.pcap"},
	}
	e := newEvEnv(t)
	e.l = incident.NewLocker(e.st, e.blobs, incident.LockerOptions{MaxSize: 8 << 20, Now: e.clock.Now})
	for _, tt := range tests {
		ev := e.add(t, e.inc1, incident.EvidenceMeta{Name: tt.name}, tt.content)
		if ev.ContentType != tt.want {
			t.Errorf("AddEvidence(%s) content type %q, want %q", tt.name, ev.ContentType, tt.want)
		}
	}
}

func TestEvidenceHostileText(t *testing.T) {
	e := newEvEnv(t)
	ev := e.add(t, e.inc1, incident.EvidenceMeta{Name: "../../etc/passwd", Description: "line1\r\nline2\x00\x1b[31m<b>",
		CollectedBy: "eve\nInjected: header", CollectedFrom: "host\x07"}, "x")
	if ev.Name != "passwd" || ev.Description != "line1\nline2  [31m<b>" || ev.CollectedBy != "eve Injected: header" ||
		ev.CollectedFrom != "host" {
		t.Errorf("AddEvidence cleaned to name %q, description %q, by %q, from %q", ev.Name, ev.Description,
			ev.CollectedBy, ev.CollectedFrom)
	}
}

func TestEvidenceCleanName(t *testing.T) {
	long := strings.Repeat("あ", 100) + ".eml" // 304 bytes
	tests := []struct{ in, want string }{
		{"invoice.pdf", "invoice.pdf"},
		{"../../../etc/passwd", "passwd"},
		{`C:\Users\hanako\Desktop\請求書.xlsx`, "請求書.xlsx"},
		{`..\..\windows\system32\config\SAM`, "SAM"},
		{"dir/", "evidence"},
		{"..", "evidence"},
		{".", "evidence"},
		{"", "evidence"},
		{"   ", "evidence"},
		{".bashrc", "bashrc"},
		{"report.pdf. . .", "report.pdf"},
		{"a\x00b\x01c\x7fd\u0085e.txt", "abcd e.txt"}, // U+0085 is a line break
		{"line\nbreak\tand  spaces.txt", "line break and spaces.txt"},
		{"photo\u202egnp.exe", "photognp.exe"},         // right-to-left override
		{"zero\u200bwidth\ufeff.txt", "zerowidth.txt"}, // zero width space, BOM
		{"a<b>c:d\"e|f?g*h.txt", "a_b_c_d_e_f_g_h.txt"},
		{"CON", "_CON"},
		{"con.txt", "_con.txt"},
		{"LPT1.log", "_LPT1.log"},
		{"CONSOLE.txt", "CONSOLE.txt"},
		{"ガイド.pdf", "ガイド.pdf"},         // NFD (as macOS sends it) becomes NFC
		{"\xff\xfe.txt", "\ufffd.txt"}, // one replacement per run of bad bytes
		{"全角／スラッシュ.txt", "全角／スラッシュ.txt"},
		{"\u3000全角スペース\u3000.txt", "全角スペース .txt"},
		{strings.Repeat("a", 300) + ".eml", strings.Repeat("a", 251) + ".eml"},
		{long, strings.Repeat("あ", 83) + ".eml"},
		{strings.Repeat("b", 300), strings.Repeat("b", 255)},
		{strings.Repeat("x", 250) + "." + strings.Repeat("y", 40), strings.Repeat("x", 250) + "." + "yyyy"},
	}
	for _, tt := range tests {
		if got := incident.CleanName(tt.in); got != tt.want {
			t.Errorf("CleanName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzEvidenceCleanName checks what any name the cleaning returns must be.
func FuzzEvidenceCleanName(f *testing.F) {
	for _, s := range []string{"invoice.pdf", "../../etc/passwd", `C:\a\b.txt`, "photo\u202egnp.exe", "CON.txt",
		"ガイド.pdf", "e\u200d\u0301.txt", strings.Repeat("あ", 100) + ".eml", "\xff\xfe", ". .", "a\x00b"} {
		f.Add(s)
	}
	// Real file names: the shared samples' own names.
	if dir, err := shareddata.Find(); err == nil {
		n := 0
		_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && n < 300 {
				f.Add(p[len(dir):])
				n++
			}
			return err
		})
	}
	f.Fuzz(func(t *testing.T, in string) {
		got := incident.CleanName(in)
		switch {
		case got == "", got == ".", got == "..":
			t.Fatalf("CleanName(%q) = %q", in, got)
		case !utf8.ValidString(got):
			t.Fatalf("CleanName(%q) = %q: invalid UTF-8", in, got)
		case len(got) > 255:
			t.Fatalf("CleanName(%q) = %d bytes", in, len(got))
		case strings.ContainsAny(got, "/\\<>:\"|?*"):
			t.Fatalf("CleanName(%q) = %q: holds a separator or reserved character", in, got)
		case strings.HasPrefix(got, ".") || strings.HasSuffix(got, ".") || strings.HasPrefix(got, " ") || strings.HasSuffix(got, " "):
			t.Fatalf("CleanName(%q) = %q: leading or trailing dot or space", in, got)
		case !norm.NFC.IsNormalString(got):
			t.Fatalf("CleanName(%q) = %q: not NFC", in, got)
		}
		for _, r := range got {
			if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || (unicode.IsSpace(r) && r != ' ') {
				t.Fatalf("CleanName(%q) = %q: holds %U", in, got, r)
			}
		}
		stem, _, _ := strings.Cut(got, ".")
		switch strings.ToUpper(stem) {
		case "CON", "PRN", "AUX", "NUL", "COM1", "LPT1":
			t.Fatalf("CleanName(%q) = %q: a Windows device name", in, got)
		}
		if again := incident.CleanName(got); again != got {
			t.Fatalf("CleanName not idempotent: %q → %q → %q", in, got, again)
		}
	})
}

func TestEvidenceViewable(t *testing.T) {
	tests := []struct {
		stored, want string
		ok           bool
	}{
		{"text/html; charset=utf-8", "text/plain; charset=utf-8", true}, // never rendered as HTML
		{"text/xml; charset=utf-8", "text/plain; charset=utf-8", true},  // SVG sniffs as XML
		{"message/rfc822", "text/plain; charset=utf-8", true},
		{"text/plain; charset=utf-16le", "text/plain; charset=utf-8", true},
		{"image/png", "image/png", true},
		{"image/jpeg", "image/jpeg", true},
		{"application/pdf", "", false},
		{"application/x-ms-evtx", "", false},
		{"application/octet-stream", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, ok := incident.Evidence{ContentType: tt.stored}.Viewable()
		if got != tt.want || ok != tt.ok {
			t.Errorf("Evidence{ContentType: %q}.Viewable() = %q, %v; want %q, %v", tt.stored, got, ok, tt.want, tt.ok)
		}
	}
	e := newEvEnv(t)
	ev := e.add(t, e.inc1, incident.EvidenceMeta{Name: "a.bin"}, "\x00\x01\x02binary")
	_, _, err := e.l.View(context.Background(), evAlice, ev.ID)
	evWantFault(t, "View(binary)", err, fault.Invalid, "evidence.not_viewable")
	if diff := cmp.Diff([]incident.CustodyAction{incident.CustodyCollected, incident.CustodyUploaded}, e.actions(t, ev.ID)); diff != "" {
		t.Errorf("custody after a refused view (-want +got):\n%s", diff)
	}
}

func TestEvidenceIncidentMustBeOpen(t *testing.T) {
	e := newEvEnv(t)
	ctx := context.Background()
	closed := evIncident(t, e.db, "INC-2026-0003", incident.StatusClosed)
	r := &evErrAfter{n: 100}
	_, err := e.l.AddEvidence(ctx, evAlice, closed, incident.EvidenceMeta{Name: "late.eml"}, r)
	evWantFault(t, "AddEvidence(closed incident)", err, fault.Conflict, "evidence.incident_closed")
	if _, err := e.l.AddEvidence(ctx, evAlice, 4242, incident.EvidenceMeta{Name: "lost.eml"}, r); !fault.Is(err, fault.NotFound) {
		t.Errorf("AddEvidence(unknown incident): got %v, want NotFound", err)
	}
	if r.n != 100 {
		t.Error("AddEvidence read the upload for an incident that takes no evidence")
	}
	if files := e.blobFiles(t); len(files) != 0 {
		t.Errorf("content store after refused uploads: %v, want empty", files)
	}
}

func TestEvidenceTimeline(t *testing.T) {
	e := newEvEnv(t)
	ctx := context.Background()
	collected := evT0.Add(-2 * time.Hour)
	ev := e.add(t, e.inc1, incident.EvidenceMeta{Name: "請求書.eml", CollectedBy: "山田 花子", CollectedFrom: "PC-042",
		CollectedAt: collected}, evMail)
	plain := e.add(t, e.inc1, incident.EvidenceMeta{Name: "notes.txt"}, "notes")
	e.clock.Add(time.Minute)
	steps := []func() error{
		func() error { _, err := e.l.Transfer(ctx, evAlice, ev.ID, "bob", ""); return err },
		func() error { // custody only
			rc, _, err := e.l.Download(ctx, evBob, ev.ID)
			if err == nil {
				rc.Close()
			}
			return err
		},
		func() error { _, err := e.l.SetHold(ctx, evAlice, ev.ID, "litigation"); return err },
		func() error { _, err := e.l.ReleaseHold(ctx, evAlice, ev.ID, "settled"); return err },
		func() error { _, err := e.l.Annotate(ctx, evAlice, ev.ID, "typo in source"); return err }, // custody only
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	e.clock.Add(400 * 24 * time.Hour)
	if _, err := e.l.Dispose(ctx, evAlice, ev.ID, "retention over"); err != nil {
		t.Fatal(err)
	}
	entries, err := e.db.IncidentEntries(ctx, e.inc1)
	if err != nil {
		t.Fatal(err)
	}
	type line struct {
		At     time.Time
		Author string
		Msg    string
		Args   []string
	}
	var got []line
	for _, en := range entries {
		if en.Kind == incident.EntryEvidence {
			got = append(got, line{en.At, en.Author, en.Msg, en.Args})
		}
	}
	later := evT0.Add(time.Minute)
	want := []line{
		{collected, "alice", "evidence.timeline.added_from", []string{"name", "請求書.eml", "sha256", ev.SHA256, "by", "山田 花子", "from", "PC-042"}},
		{evT0, "alice", "evidence.timeline.added", []string{"name", "notes.txt", "sha256", plain.SHA256, "by", "alice"}},
		{later, "alice", "evidence.timeline.transferred", []string{"name", "請求書.eml", "from", "山田 花子", "to", "bob"}},
		{later, "alice", "evidence.timeline.hold_set", []string{"name", "請求書.eml"}},
		{later, "alice", "evidence.timeline.hold_released", []string{"name", "請求書.eml"}},
		{later.Add(400 * 24 * time.Hour), "alice", "evidence.timeline.disposed", []string{"name", "請求書.eml"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("evidence timeline entries (-want +got):\n%s", diff)
	}
}

// Several people uploading the same file at once get an item each and
// share one stored copy.
func TestEvidenceConcurrentUploads(t *testing.T) {
	e := newEvEnv(t)
	const n = 6
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := e.l.AddEvidence(context.Background(), evActor("user", int64(10+i)), e.inc1,
				incident.EvidenceMeta{Name: "same.eml"}, strings.NewReader(evMail))
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent AddEvidence: %v", err)
		}
	}
	es, err := e.l.List(context.Background(), e.inc1)
	if err != nil || len(es) != n {
		t.Fatalf("List after %d concurrent uploads = %d items, %v", n, len(es), err)
	}
	if files := e.blobFiles(t); len(files) != 1 {
		t.Errorf("content store after %d uploads of one file: %v, want one file", n, files)
	}
}
