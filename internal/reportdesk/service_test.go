// SPDX-License-Identifier: Apache-2.0

package reportdesk_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/koban-csirt/koban/internal/audit"
	"github.com/koban-csirt/koban/internal/auth"
	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/incident"
	"github.com/koban-csirt/koban/internal/reportdesk"
	"github.com/koban-csirt/koban/internal/store"
	"github.com/koban-csirt/koban/internal/store/storetest"
)

// t0 is 18:26 in Tokyo on 14 March 2026.
var t0 = time.Date(2026, 3, 14, 9, 26, 53, 589793000, time.UTC)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is a report desk over real incident services on a fresh SQLite
// store, with a responder and two employees.
type env struct {
	desk      *reportdesk.Service
	incidents *incident.Service
	locker    *incident.Locker
	blobs     *store.Blobs
	db        *store.DB
	clock     *clock
	resp      incident.Actor
	alice     incident.Actor // a reporter
	bob       incident.Actor // another reporter
	viewer    incident.Actor
}

func newEnv(t *testing.T, o reportdesk.Options) env {
	t.Helper()
	db := storetest.OpenSQLite(t)
	blobs, err := store.OpenBlobs(filepath.Join(t.TempDir(), "evidence"))
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: t0}
	svc := incident.New(db, incident.Options{Now: c.Now})
	locker := incident.NewLocker(db, reportdesk.KeepReported(blobs, db), incident.LockerOptions{Now: c.Now})
	o.Now = c.Now
	e := env{incidents: svc, locker: locker, blobs: blobs, db: db, clock: c,
		desk: reportdesk.New(db, svc, locker, blobs, o)}
	e.resp = e.user(t, "resp", auth.RoleResponder)
	e.alice = e.user(t, "alice", auth.RoleReporter)
	e.bob = e.user(t, "bob", auth.RoleReporter)
	e.viewer = e.user(t, "vera", auth.RoleViewer)
	return e
}

func (e env) user(t *testing.T, name string, role auth.Role) incident.Actor {
	t.Helper()
	u, err := e.db.CreateUser(context.Background(), auth.User{Name: name, Role: role, PasswordHash: "x",
		CreatedAt: t0, UpdatedAt: t0, PasswordChangedAt: t0})
	if err != nil {
		t.Fatalf("CreateUser(%s): %v", name, err)
	}
	a := incident.Actor{Actor: audit.Actor{UserID: u.ID, Name: name, Via: audit.ViaWeb, IP: "192.0.2.7"}}
	switch {
	case auth.Can(role, auth.PermIncidents):
		a.Access = incident.AccessFull
	case auth.Can(role, auth.PermIncidentSummaries):
		a.Access = incident.AccessSummary
	}
	return a
}

const eml = "From: boss@examp1e.test\r\nSubject: 至急 振込先変更\r\n\r\nPlease pay today <script>alert(1)</script>\r\n"

func sum(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// submit stages files (name, content pairs) and submits sub as a.
func (e env) submit(t *testing.T, a incident.Actor, sub reportdesk.Submission, files ...string) reportdesk.Receipt {
	t.Helper()
	var staged []reportdesk.Attachment
	for i := 0; i+1 < len(files); i += 2 {
		at, err := e.desk.Stage(context.Background(), files[i], strings.NewReader(files[i+1]))
		if err != nil {
			t.Fatalf("Stage(%s): %v", files[i], err)
		}
		staged = append(staged, at)
	}
	rc, err := e.desk.Submit(context.Background(), a, sub, staged)
	if err != nil {
		t.Fatalf("Submit(%+v): %v", sub, err)
	}
	return rc
}

func phishing() reportdesk.Submission {
	return reportdesk.Submission{Kind: reportdesk.KindSuspiciousEmail, What: "Odd invoice e-mail\nIt asks to change the bank account.",
		When: "this morning 9:10", Where: "my PC (PC-042)", Contact: "ext. 1234"}
}

func wantFault(t *testing.T, call string, err error, kind fault.Kind, msg string) {
	t.Helper()
	var f *fault.Error
	if !errors.As(err, &f) || f.Kind != kind || (msg != "" && f.Msg != msg) {
		t.Errorf("%s: got %v, want %s %s", call, err, kind, msg)
	}
}

func blobExists(t *testing.T, b *store.Blobs, sha string) bool {
	t.Helper()
	rc, _, err := b.Open(context.Background(), sha)
	if err == nil {
		rc.Close()
		return true
	}
	if !fault.Is(err, fault.NotFound) {
		t.Fatalf("Open(%s): %v", sha, err)
	}
	return false
}

func TestSubmitWithAttachment(t *testing.T) {
	e := newEnv(t, reportdesk.Options{})
	ctx := context.Background()
	rc := e.submit(t, e.alice, phishing(), "../../invoice.eml", eml)
	r := rc.Report
	if r.Ref != "RPT-2026-0001" || r.Status != reportdesk.StatusReceived || r.ReporterID != e.alice.UserID ||
		r.Reporter != "alice" || rc.Token != "" || r.TokenHash != "" {
		t.Errorf("Submit = %+v, token %q; want RPT-2026-0001 received from alice, no token", r, rc.Token)
	}
	if len(r.Attachments) != 1 {
		t.Fatalf("Submit: %d attachments, want 1", len(r.Attachments))
	}
	at := r.Attachments[0]
	if at.Name != "invoice.eml" || at.SHA256 != sum(eml) || at.Size != int64(len(eml)) || at.ID == 0 {
		t.Errorf("attachment = %+v; want invoice.eml, sha256 %s, size %d", at, sum(eml), len(eml))
	}
	if !blobExists(t, e.blobs, sum(eml)) {
		t.Errorf("content %s not in the store", sum(eml))
	}
	got, err := e.desk.Report(ctx, e.alice, r.ID)
	if err != nil || got.What != phishing().What || len(got.Attachments) != 1 || got.Attachments[0].SHA256 != sum(eml) {
		t.Errorf("Report(own) = %+v, %v", got, err)
	}
	// The second report of the year is numbered on; the year is Tokyo's.
	e.clock.t = time.Date(2026, 12, 31, 15, 30, 0, 0, time.UTC) // 1 January 2027, 00:30 JST
	if r2 := e.submit(t, e.bob, phishing()).Report; r2.Ref != "RPT-2027-0001" {
		t.Errorf("report at new year in Tokyo: ref %s, want RPT-2027-0001", r2.Ref)
	}
	entries, err := e.db.AuditEntries(ctx, audit.Filter{Action: "reportdesk."})
	if err != nil || len(entries) != 2 || entries[1].Actor != "alice" || entries[1].Object != audit.Object("desk_report", r.ID) {
		t.Errorf("audit = %+v, %v; want two reportdesk.submit entries, the first by alice", entries, err)
	}
}

func TestSubmitInvalid(t *testing.T) {
	e := newEnv(t, reportdesk.Options{MaxAttachments: 1})
	ctx := context.Background()
	for name, tc := range map[string]struct {
		sub    reportdesk.Submission
		fields []string
	}{
		"nothing":   {reportdesk.Submission{}, []string{"kind", "what"}},
		"blank":     {reportdesk.Submission{Kind: reportdesk.KindOther, What: " \n\t\x00 "}, []string{"what"}},
		"bad kind":  {reportdesk.Submission{Kind: "virus", What: "x"}, []string{"kind"}},
		"too long":  {reportdesk.Submission{Kind: reportdesk.KindOther, What: strings.Repeat("あ", reportdesk.MaxWhat+1), Where: strings.Repeat("x", reportdesk.MaxLine+1)}, []string{"what", "where"}},
		"two files": {phishing(), []string{"attachment"}},
	} {
		t.Run(name, func(t *testing.T) {
			var staged []reportdesk.Attachment
			if name == "two files" {
				for _, c := range []string{"one " + name, "two " + name} {
					at, err := e.desk.Stage(ctx, "f.txt", strings.NewReader(c))
					if err != nil {
						t.Fatal(err)
					}
					staged = append(staged, at)
				}
			}
			_, err := e.desk.Submit(ctx, e.alice, tc.sub, staged)
			var got []string
			for _, f := range fault.Faults(err) {
				got = append(got, f.Field)
			}
			if !fault.Is(err, fault.Invalid) || strings.Join(got, ",") != strings.Join(tc.fields, ",") {
				t.Errorf("Submit(%s): got %v (fields %v), want Invalid on %v", name, err, got, tc.fields)
			}
			for _, at := range staged {
				if blobExists(t, e.blobs, at.SHA256) {
					t.Errorf("Submit(%s) failed but left content %s behind", name, at.SHA256)
				}
			}
		})
	}
	if rs, err := e.desk.MyReports(ctx, e.alice, ""); err != nil || len(rs) != 0 {
		t.Errorf("MyReports after failures = %v, %v; want none", rs, err)
	}
	_, err := e.desk.Submit(ctx, incident.Actor{Actor: audit.Actor{Name: "anonymous", Via: audit.ViaWeb}}, phishing(), nil)
	wantFault(t, "Submit(no user)", err, fault.Forbidden, "reportdesk.sign_in")
	anon := phishing()
	anon.Anonymous = true
	_, err = e.desk.Submit(ctx, incident.Actor{}, anon, nil)
	wantFault(t, "Submit(anonymous, off)", err, fault.NotFound, "reportdesk.anonymous_off")
}

func TestStageLimits(t *testing.T) {
	e := newEnv(t, reportdesk.Options{MaxAttachmentSize: 10})
	ctx := context.Background()
	_, err := e.desk.Stage(ctx, "big.png", strings.NewReader("01234567890"))
	wantFault(t, "Stage(11 bytes, max 10)", err, fault.TooLarge, "reportdesk.file_too_large")
	if blobExists(t, e.blobs, sum("01234567890")) {
		t.Error("an oversized file was stored")
	}
	_, err = e.desk.Stage(ctx, "empty.txt", strings.NewReader(""))
	wantFault(t, "Stage(empty)", err, fault.Invalid, "reportdesk.file_empty")
	if at, err := e.desk.Stage(ctx, "ok.txt", strings.NewReader("0123456789")); err != nil || at.Size != 10 {
		t.Errorf("Stage(10 bytes, max 10) = %+v, %v", at, err)
	}
	// The limit never exceeds what the evidence locker takes.
	small := reportdesk.New(e.db, e.incidents, incident.NewLocker(e.db, e.blobs, incident.LockerOptions{MaxSize: 4}), e.blobs, reportdesk.Options{})
	if got := small.MaxAttachmentSize(); got != 4 {
		t.Errorf("MaxAttachmentSize with a 4-byte locker = %d, want 4", got)
	}
}

func TestReporterSeesOnlyOwn(t *testing.T) {
	e := newEnv(t, reportdesk.Options{})
	ctx := context.Background()
	ra := e.submit(t, e.alice, phishing()).Report
	rb := e.submit(t, e.bob, reportdesk.Submission{Kind: reportdesk.KindLostDevice, What: "Lost my phone on the train"}).Report
	rv := e.submit(t, e.viewer, reportdesk.Submission{Kind: reportdesk.KindOther, What: "The door was open"}).Report
	for _, tc := range []struct {
		who  incident.Actor
		want []string
	}{{e.alice, []string{ra.Ref}}, {e.bob, []string{rb.Ref}}, {e.viewer, []string{rv.Ref}}, {e.resp, nil}} {
		rs, err := e.desk.MyReports(ctx, tc.who, "")
		var got []string
		for _, r := range rs {
			got = append(got, r.Ref)
		}
		if err != nil || strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("MyReports(%s) = %v, %v; want %v", tc.who.Name, got, err, tc.want)
		}
	}
	// Another reporter, and a viewer, learn nothing of alice's report.
	for _, who := range []incident.Actor{e.bob, e.viewer} {
		_, err := e.desk.Report(ctx, who, ra.ID)
		wantFault(t, "Report(alice's) as "+who.Name, err, fault.NotFound, "reportdesk.not_found")
		_, err = e.desk.ReportByRef(ctx, who, "", ra.Ref)
		wantFault(t, "ReportByRef(alice's) as "+who.Name, err, fault.NotFound, "reportdesk.not_found")
	}
	_, err := e.desk.ReportByRef(ctx, e.alice, "", "RPT-2026-9999")
	wantFault(t, "ReportByRef(unknown)", err, fault.NotFound, "reportdesk.not_found")
	if r, err := e.desk.ReportByRef(ctx, e.resp, "", ra.Ref); err != nil || r.ID != ra.ID {
		t.Errorf("ReportByRef as responder = %+v, %v", r, err)
	}
	// Only responders triage.
	for _, who := range []incident.Actor{e.alice, e.viewer} {
		_, err := e.desk.Queue(ctx, who, reportdesk.Filter{})
		wantFault(t, "Queue as "+who.Name, err, fault.Forbidden, "reportdesk.forbidden")
		_, err = e.desk.Take(ctx, who, ra.ID, 0)
		wantFault(t, "Take as "+who.Name, err, fault.Forbidden, "reportdesk.forbidden")
		_, err = e.desk.OpenIncident(ctx, who, ra.ID, reportdesk.DraftFor(ra))
		wantFault(t, "OpenIncident as "+who.Name, err, fault.Forbidden, "reportdesk.forbidden")
	}
	q, err := e.desk.Queue(ctx, e.resp, reportdesk.Filter{Statuses: []reportdesk.Status{reportdesk.StatusReceived}})
	if err != nil || len(q) != 3 || q[0].ID != rv.ID {
		t.Errorf("Queue = %d reports, %v; want 3, newest first", len(q), err)
	}
}

func TestTakeAndDismiss(t *testing.T) {
	e := newEnv(t, reportdesk.Options{})
	ctx := context.Background()
	r := e.submit(t, e.alice, phishing()).Report
	taken, err := e.desk.Take(ctx, e.resp, r.ID, r.Version)
	if err != nil || taken.Status != reportdesk.StatusTriage || taken.Handler != "resp" || taken.Version != r.Version+1 {
		t.Fatalf("Take = %+v, %v; want in triage with resp", taken, err)
	}
	_, err = e.desk.Take(ctx, e.resp, r.ID, r.Version)
	wantFault(t, "Take(stale version)", err, fault.Conflict, "reportdesk.changed")
	_, err = e.desk.Dismiss(ctx, e.resp, r.ID, taken.Version, " \n ")
	wantFault(t, "Dismiss(no note)", err, fault.Invalid, "reportdesk.note_missing")
	const note = "This was a legitimate e-mail from our bank. <b>Thank you</b> for reporting!"
	e.clock.Add(time.Hour)
	d, err := e.desk.Dismiss(ctx, e.resp, r.ID, taken.Version, note)
	if err != nil || d.Status != reportdesk.StatusDismissed || d.Note != note || !d.DecidedAt.Equal(e.clock.Now().Truncate(time.Microsecond)) {
		t.Fatalf("Dismiss = %+v, %v", d, err)
	}
	// The reporter reads the note.
	mine, err := e.desk.Report(ctx, e.alice, r.ID)
	if err != nil || mine.Status != reportdesk.StatusDismissed || mine.Note != note {
		t.Errorf("Report as reporter after Dismiss = %+v, %v; want dismissed with the note", mine, err)
	}
	_, err = e.desk.Take(ctx, e.resp, r.ID, 0)
	wantFault(t, "Take(dismissed)", err, fault.Conflict, "reportdesk.decided")
	_, err = e.desk.OpenIncident(ctx, e.resp, r.ID, reportdesk.DraftFor(r))
	wantFault(t, "OpenIncident(dismissed)", err, fault.Conflict, "reportdesk.decided")
	q, err := e.desk.Queue(ctx, e.resp, reportdesk.Filter{Statuses: []reportdesk.Status{reportdesk.StatusReceived, reportdesk.StatusTriage}})
	if err != nil || len(q) != 0 {
		t.Errorf("open queue after Dismiss = %v, %v; want empty", q, err)
	}
	entries, err := e.db.AuditEntries(ctx, audit.Filter{Action: "reportdesk.dismiss"})
	if err != nil || len(entries) != 1 || entries[0].Actor != "resp" || !strings.Contains(entries[0].After, `"status":"dismissed"`) {
		t.Errorf("dismiss audit = %+v, %v", entries, err)
	}
}

func TestOpenIncidentMovesAttachments(t *testing.T) {
	e := newEnv(t, reportdesk.Options{})
	ctx := context.Background()
	const shot = "\x89PNG\r\n\x1a\nscreenshot"
	r := e.submit(t, e.alice, phishing(), "invoice.eml", eml, "screen.png", shot).Report
	e.clock.Add(30 * time.Minute)
	d := reportdesk.DraftFor(r)
	if d.Title != "Odd invoice e-mail" || d.Type != incident.TypePhishing || d.Description != r.What || !d.AwareAt.Equal(r.CreatedAt) {
		t.Errorf("DraftFor = %+v", d)
	}
	inc, err := e.desk.OpenIncident(ctx, e.resp, r.ID, d)
	if err != nil {
		t.Fatalf("OpenIncident: %v", err)
	}
	if inc.Ref != "INC-2026-0001" || inc.Type != incident.TypePhishing || !inc.AwareAt.Equal(r.CreatedAt) {
		t.Errorf("incident = %+v", inc)
	}
	got, err := e.desk.Report(ctx, e.alice, r.ID)
	if err != nil || got.Status != reportdesk.StatusIncident || got.IncidentRef != inc.Ref || got.IncidentID != inc.ID {
		t.Fatalf("report after OpenIncident = %+v, %v", got, err)
	}
	ev, err := e.locker.List(ctx, inc.ID)
	if err != nil || len(ev) != 2 {
		t.Fatalf("evidence = %+v, %v; want 2 items", ev, err)
	}
	for i, want := range []struct{ name, content string }{{"invoice.eml", eml}, {"screen.png", shot}} {
		it := ev[i]
		if it.Name != want.name || it.SHA256 != sum(want.content) || it.CollectedBy != "alice" ||
			!it.CollectedAt.Equal(r.CreatedAt) || got.Attachments[i].EvidenceID != it.ID {
			t.Errorf("evidence %d = %+v (attachment %+v); want %s collected by alice", i, it, got.Attachments[i], want.name)
		}
		cs, err := e.locker.Custody(ctx, it.ID)
		if err != nil || len(cs) < 2 || cs[0].Action != incident.CustodyCollected || cs[0].Actor != "alice" ||
			cs[0].Note != r.Ref || cs[1].Action != incident.CustodyUploaded || cs[1].Actor != "resp" {
			t.Errorf("custody of %s = %+v, %v; want collected from %s, uploaded by resp", want.name, cs, err, r.Ref)
		}
		// Nothing English is stored for a Japanese page to show.
		if it.CollectedFrom != r.Ref || it.Description != "" {
			t.Errorf("evidence %d collected from %q, described %q; want from %s, no description", i, it.CollectedFrom, it.Description, r.Ref)
		}
		rc, _, err := e.locker.Download(ctx, e.resp, it.ID)
		if err != nil {
			t.Fatalf("Download(%s): %v", want.name, err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		if !bytes.Equal(b, []byte(want.content)) {
			t.Errorf("Download(%s) = %q, want %q", want.name, b, want.content)
		}
	}
	tl, err := e.incidents.Timeline(ctx, e.resp, inc.ID)
	found := false
	for _, en := range tl {
		found = found || (en.Msg == "reportdesk.timeline.reported" && strings.Join(en.Args, ",") == "ref,"+r.Ref+",by,alice")
	}
	if err != nil || !found {
		t.Errorf("timeline = %+v, %v; want the reported entry", tl, err)
	}
	_, err = e.desk.OpenIncident(ctx, e.resp, r.ID, d)
	wantFault(t, "OpenIncident twice", err, fault.Conflict, "reportdesk.decided")
}

func TestOpenIncidentAllOrNothing(t *testing.T) {
	e := newEnv(t, reportdesk.Options{})
	ctx := context.Background()
	r := e.submit(t, e.alice, phishing(), "invoice.eml", eml).Report
	// An invalid draft opens nothing and leaves the report as it was.
	bad := reportdesk.DraftFor(r)
	bad.Type = "nonsense"
	_, err := e.desk.OpenIncident(ctx, e.resp, r.ID, bad)
	wantFault(t, "OpenIncident(bad type)", err, fault.Invalid, "")
	// An attachment whose content vanished fails after the incident was
	// created: that must be rolled back too.
	if err := e.blobs.Remove(ctx, sum(eml)); err != nil {
		t.Fatal(err)
	}
	_, err = e.desk.OpenIncident(ctx, e.resp, r.ID, reportdesk.DraftFor(r))
	if !fault.Is(err, fault.NotFound) {
		t.Errorf("OpenIncident(content gone) = %v, want NotFound", err)
	}
	page, err := e.incidents.Incidents(ctx, e.resp, incident.Filter{})
	if err != nil || len(page.Incidents) != 0 {
		t.Errorf("incidents after failed opens = %+v, %v; want none", page, err)
	}
	got, err := e.desk.Report(ctx, e.resp, r.ID)
	if err != nil || got.Status != reportdesk.StatusReceived || got.Attachments[0].EvidenceID != 0 {
		t.Errorf("report after failed opens = %+v, %v; want unchanged", got, err)
	}
}

func TestKeepReported(t *testing.T) {
	e := newEnv(t, reportdesk.Options{})
	ctx := context.Background()
	e.submit(t, e.alice, phishing(), "invoice.eml", eml)
	kept := reportdesk.KeepReported(e.blobs, e.db)
	if err := kept.Remove(ctx, sum(eml)); err != nil || !blobExists(t, e.blobs, sum(eml)) {
		t.Errorf("Remove(content a report holds) = %v, exists %v; want nil, kept", err, blobExists(t, e.blobs, sum(eml)))
	}
	at, err := e.desk.Stage(ctx, "other.txt", strings.NewReader("nobody holds this"))
	if err != nil {
		t.Fatal(err)
	}
	if err := kept.Remove(ctx, at.SHA256); err != nil || blobExists(t, e.blobs, at.SHA256) {
		t.Errorf("Remove(unheld content) = %v; want it removed", err)
	}
	// Discarding a staged duplicate of a submitted attachment keeps it.
	dup, err := e.desk.Stage(ctx, "again.eml", strings.NewReader(eml))
	if err != nil {
		t.Fatal(err)
	}
	e.desk.Discard(ctx, []reportdesk.Attachment{dup})
	if !blobExists(t, e.blobs, sum(eml)) {
		t.Error("Discard removed content a submitted report holds")
	}
}

func TestKindIncidentType(t *testing.T) {
	for k, want := range map[reportdesk.Kind]incident.Type{
		reportdesk.KindSuspiciousEmail: incident.TypePhishing,
		reportdesk.KindLostDevice:      incident.TypeLostDevice,
		reportdesk.KindStrangeBehavior: incident.TypeOther,
		reportdesk.KindOther:           incident.TypeOther,
	} {
		if got := k.IncidentType(); got != want || !got.Valid() {
			t.Errorf("%s.IncidentType() = %s, want %s", k, got, want)
		}
	}
	if len(reportdesk.Kinds) != 4 || reportdesk.Kind("x").Valid() {
		t.Error("Kinds or Valid wrong")
	}
}

func TestSizeText(t *testing.T) {
	for n, want := range map[int64]string{0: "0 bytes", 300: "300 bytes", 1024: "1 KB", 1025: "2 KB", 25 << 20: "25 MB",
		3<<20 + 1<<19: "3.5 MB"} {
		if got := reportdesk.SizeText(n); got != want {
			t.Errorf("SizeText(%d) = %q, want %q", n, got, want)
		}
	}
}
