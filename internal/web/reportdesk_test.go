// SPDX-License-Identifier: Apache-2.0

package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"mime/multipart"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/koban-csirt/koban/internal/auth"
	"github.com/koban-csirt/koban/internal/incident"
	"github.com/koban-csirt/koban/internal/reportdesk"
	"github.com/koban-csirt/koban/internal/store"
)

// Who may use the report desk's routes.
var _ = addRouteRules(map[string]rule{
	"GET /report":                        {Session, reporters},
	"POST /report":                       {Session, reporters},
	"GET /report/mine":                   {Session, reporters},
	"GET /report/mine/{ref}":             {Session, reporters},
	"GET /report/anonymous":              {Public, nil},
	"POST /report/anonymous":             {Public, nil},
	"GET /report/status/{token}":         {Public, nil},
	"GET /incidents/reports":             {Session, analysts},
	"GET /report/triage/{ref}":           {Session, analysts},
	"POST /report/triage/{ref}/take":     {Session, analysts},
	"POST /report/triage/{ref}/dismiss":  {Session, analysts},
	"POST /report/triage/{ref}/incident": {Session, analysts},
})

// deskEnv is a web server with incidents and a report desk on one store,
// the desk's attachments and the evidence in blobDir.
type deskEnv struct {
	*testEnv
	desk    *reportdesk.Service
	inc     *incident.Service
	locker  *incident.Locker
	blobDir string
}

func newDeskEnv(t *testing.T, o reportdesk.Options) *deskEnv {
	t.Helper()
	d := &deskEnv{blobDir: t.TempDir()}
	d.testEnv = newEnv(t, func(opts *Options) {
		db := opts.Audit.(*store.DB)
		blobs, err := store.OpenBlobs(d.blobDir)
		if err != nil {
			t.Fatal(err)
		}
		d.inc = incident.New(db, incident.Options{Now: opts.Now})
		d.locker = incident.NewLocker(db, reportdesk.KeepReported(blobs, db), incident.LockerOptions{Now: opts.Now, MaxSize: 1 << 20})
		o.Now = opts.Now
		d.desk = reportdesk.New(db, d.inc, d.locker, blobs, o)
		opts.Incidents, opts.Evidence, opts.ReportDesk, opts.Tx = d.inc, d.locker, d.desk, db.Tx
	})
	return d
}

// file is an attachment of a multipart report.
type file struct{ name, content string }

// multipartBody encodes fields and files as the report form sends them.
func multipartBody(t testing.TB, fields url.Values, files ...file) (string, string) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for k, vs := range fields {
		for _, v := range vs {
			if err := w.WriteField(k, v); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, f := range files {
		fw, err := w.CreateFormFile("attachment", f.name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fw.Write([]byte(f.content)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String(), w.FormDataContentType()
}

// post sends a multipart report to path.
func (e *deskEnv) post(path, session, remote string, fields url.Values, files ...file) *http.Response {
	e.t.Helper()
	body, ct := multipartBody(e.t, fields, files...)
	return e.do(req{method: http.MethodPost, path: path, body: body, session: session, remote: remote,
		header: map[string]string{"Content-Type": ct}})
}

const deskEML = "From: ceo@examp1e.test\r\nSubject: 至急 振込先の変更\r\n\r\nPlease pay today.\r\n"

func phishingFields(what string) url.Values {
	return url.Values{"kind": {"suspicious_email"}, "what": {what}, "when": {"今朝 9時"}, "where": {"PC-042"},
		"contact": {"内線 1234"}}
}

func deskStatus(t *testing.T, what string, resp *http.Response, status int) string {
	t.Helper()
	body := bodyOf(t, resp)
	if resp.StatusCode != status {
		t.Fatalf("%s: status %d (Location %q), want %d\n%s", what, resp.StatusCode, resp.Header.Get("Location"), status, body)
	}
	return body
}

// blobFiles lists the content files in the store, not the temporary ones.
func blobFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.HasPrefix(d.Name(), ".") {
			out = append(out, d.Name())
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestReportSubmitAndMine(t *testing.T) {
	t.Parallel()
	e := newDeskEnv(t, reportdesk.Options{})
	e.user("rita", auth.RoleReporter)
	e.user("ron", auth.RoleReporter)
	e.user("vic", auth.RoleViewer)
	e.user("resp", auth.RoleResponder)
	rita, ron := e.session("rita"), e.session("ron")

	// A reporter's home is the form, which the menu offers.
	if resp := e.do(req{path: "/", session: rita}); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/report" {
		t.Errorf("GET / as reporter: %d %s, want 303 /report", resp.StatusCode, resp.Header.Get("Location"))
	}
	form := deskStatus(t, "GET /report", e.do(req{path: "/report", session: rita}), http.StatusOK)
	for _, want := range []string{`id="report-form"`, `enctype="multipart/form-data"`, `id="kind-suspicious_email"`,
		`id="kind-lost_device"`, `id="kind-strange_behavior"`, `id="nav-report"`, `name="attachment"`} {
		if !strings.Contains(form, want) {
			t.Errorf("GET /report: no %s", want)
		}
	}
	if strings.Contains(form, `id="report-anonymously"`) {
		t.Error("GET /report links to the anonymous form, which is off")
	}

	const evil = "<script>alert(1)</script> 請求書メール\nsecond line"
	resp := e.post("/report", rita, "", phishingFields(evil), file{"../invoice.eml", deskEML})
	deskStatus(t, "POST /report", resp, http.StatusSeeOther)
	if loc := resp.Header.Get("Location"); loc != "/report/mine/RPT-2026-0001?done=report_sent" {
		t.Fatalf("POST /report: Location %q", loc)
	}
	page := deskStatus(t, "GET own report", e.do(req{path: "/report/mine/RPT-2026-0001?done=report_sent", session: rita}), http.StatusOK)
	for _, want := range []string{`id="report-thanks"`, `<strong id="report-ref">RPT-2026-0001</strong>`,
		"&lt;script&gt;alert(1)&lt;/script&gt; 請求書メール<br>second line", "invoice.eml", `id="report-next"`} {
		if !strings.Contains(page, want) {
			t.Errorf("own report page: no %q", want)
		}
	}
	if strings.Contains(page, "<script>alert(1)") {
		t.Error("own report page: the description's HTML is not escaped")
	}
	again := bodyOf(t, e.do(req{path: "/report/mine/RPT-2026-0001", session: rita}))
	for what, b := range map[string]string{"after sending": page, "later": again} {
		if n := strings.Count(b, "<h1"); n != 1 {
			t.Errorf("own report page %s: %d h1 elements, want 1", what, n)
		}
	}
	list := deskStatus(t, "GET /report/mine", e.do(req{path: "/report/mine", session: rita}), http.StatusOK)
	if !strings.Contains(list, `id="report-RPT-2026-0001"`) {
		t.Error("GET /report/mine: the report is not listed")
	}

	// Nobody else sees it there, not even a responder (the queue is theirs).
	for _, who := range []string{"ron", "resp"} {
		s := e.session(who)
		deskStatus(t, "GET rita's report as "+who, e.do(req{path: "/report/mine/RPT-2026-0001", session: s}), http.StatusNotFound)
	}
	if b := bodyOf(t, e.do(req{path: "/report/mine", session: ron})); strings.Contains(b, "RPT-2026-0001") || !strings.Contains(b, `id="no-reports"`) {
		t.Error("GET /report/mine as ron shows rita's report")
	}

	// A viewer may report too.
	resp = e.post("/report", e.session("vic"), "", url.Values{"kind": {"lost_device"}, "what": {"Lost my phone"}})
	deskStatus(t, "POST /report as viewer", resp, http.StatusSeeOther)
	if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, "/report/mine/RPT-2026-0002") {
		t.Errorf("POST /report as viewer: Location %q", loc)
	}
}

func TestReportInvalid(t *testing.T) {
	t.Parallel()
	e := newDeskEnv(t, reportdesk.Options{MaxAttachmentSize: 1024, MaxAttachments: 2})
	e.user("rita", auth.RoleReporter)
	s := e.session("rita")

	b := deskStatus(t, "POST /report without kind and text", e.post("/report", s, "", url.Values{"when": {"<b>today</b>"}}), http.StatusBadRequest)
	for _, want := range []string{`id="kind-error"`, `id="what-error"`, `value="&lt;b&gt;today&lt;/b&gt;"`} {
		if !strings.Contains(b, want) {
			t.Errorf("invalid report page: no %s", want)
		}
	}
	// An oversized attachment: a clear error, what was typed kept, nothing stored.
	b = deskStatus(t, "POST /report with 2 KiB file", e.post("/report", s, "", phishingFields("big file"),
		file{"small.txt", "fine"}, file{"big.png", strings.Repeat("x", 2048)}), http.StatusRequestEntityTooLarge)
	for _, want := range []string{`id="attachment-error"`, "big.png", "1 KB", ">big file</textarea>"} {
		if !strings.Contains(b, want) {
			t.Errorf("oversized attachment page: no %q", want)
		}
	}
	// Too many files.
	deskStatus(t, "POST /report with 3 files", e.post("/report", s, "", phishingFields("three"),
		file{"a.txt", "a"}, file{"b.txt", "b"}, file{"c.txt", "c"}), http.StatusBadRequest)
	// Not multipart at all.
	deskStatus(t, "POST /report urlencoded", e.do(req{method: http.MethodPost, path: "/report", session: s,
		form: phishingFields("plain")}), http.StatusBadRequest)
	if got := blobFiles(t, e.blobDir); len(got) != 0 {
		t.Errorf("failed reports left content behind: %v", got)
	}
	if rs, err := e.desk.MyReports(context.Background(), incActorOf(mustUser(t, e.testEnv, "rita")), ""); err != nil || len(rs) != 0 {
		t.Errorf("reports after failures: %v, %v", rs, err)
	}
}

func mustUser(t *testing.T, e *testEnv, name string) auth.User {
	t.Helper()
	u, err := e.db.UserByName(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestReportTriageOpensIncident(t *testing.T) {
	t.Parallel()
	e := newDeskEnv(t, reportdesk.Options{})
	e.user("rita", auth.RoleReporter)
	e.user("resp", auth.RoleResponder)
	rita, resp := e.session("rita"), e.session("resp")
	deskStatus(t, "POST /report", e.post("/report", rita, "", phishingFields("Fake invoice <i>mail</i>\nasks for a transfer"),
		file{"invoice.eml", deskEML}), http.StatusSeeOther)

	q := deskStatus(t, "GET /incidents/reports", e.do(req{path: "/incidents/reports", session: resp}), http.StatusOK)
	if !strings.Contains(q, `id="queue-RPT-2026-0001"`) || !strings.Contains(q, "rita") {
		t.Fatalf("queue does not list the report:\n%s", q)
	}
	deskStatus(t, "GET /incidents/reports as reporter", e.do(req{path: "/incidents/reports", session: rita}), http.StatusForbidden)
	tr := deskStatus(t, "GET triage", e.do(req{path: "/report/triage/RPT-2026-0001", session: resp}), http.StatusOK)
	for _, want := range []string{`value="Fake invoice &lt;i&gt;mail&lt;/i&gt;"`, `<option value="phishing" selected>`,
		`id="take-report"`, "今朝 9時", incSHA(deskEML)} {
		if !strings.Contains(tr, want) {
			t.Errorf("triage page: no %q", want)
		}
	}
	deskStatus(t, "take", e.do(req{method: http.MethodPost, path: "/report/triage/RPT-2026-0001/take", session: resp,
		form: url.Values{"version": {"1"}}}), http.StatusSeeOther)
	if b := bodyOf(t, e.do(req{path: "/report/mine/RPT-2026-0001", session: rita})); !strings.Contains(b, `id="report-status">`+"Being looked at") {
		t.Errorf("reporter's page after take does not say in triage")
	}
	r := e.do(req{method: http.MethodPost, path: "/report/triage/RPT-2026-0001/incident", session: resp,
		form: url.Values{"title": {"Fake invoice mail"}, "type": {"bec"}, "description": {"From the report desk"}}})
	deskStatus(t, "open incident", r, http.StatusSeeOther)
	if loc := r.Header.Get("Location"); loc != "/incidents/INC-2026-0001" {
		t.Fatalf("open incident: Location %q", loc)
	}
	ctx := context.Background()
	d, err := e.inc.IncidentByRef(ctx, incActorOf(mustUser(t, e.testEnv, "resp")), "", "INC-2026-0001")
	if err != nil || d.Title != "Fake invoice mail" || d.Type != incident.TypeBEC {
		t.Fatalf("incident = %+v, %v", d.Incident, err)
	}
	ev, err := e.locker.List(ctx, d.ID)
	if err != nil || len(ev) != 1 || ev[0].SHA256 != incSHA(deskEML) || ev[0].CollectedBy != "rita" {
		t.Fatalf("evidence = %+v, %v; want the .eml collected by rita", ev, err)
	}
	if b := bodyOf(t, e.do(req{path: "/report/mine/RPT-2026-0001", session: rita})); !strings.Contains(b, "INC-2026-0001") {
		t.Error("reporter's page does not name the incident")
	}
	// Decided: the actions are gone and refused.
	deskStatus(t, "open again", e.do(req{method: http.MethodPost, path: "/report/triage/RPT-2026-0001/incident", session: resp,
		form: url.Values{"title": {"again"}, "type": {"bec"}}}), http.StatusConflict)
}

func TestReportDismiss(t *testing.T) {
	t.Parallel()
	e := newDeskEnv(t, reportdesk.Options{})
	e.user("rita", auth.RoleReporter)
	e.user("ana", auth.RoleAnalyst)
	rita, ana := e.session("rita"), e.session("ana")
	deskStatus(t, "POST /report", e.post("/report", rita, "", url.Values{"kind": {"other"}, "what": {"Odd pop-up"}}), http.StatusSeeOther)
	b := deskStatus(t, "dismiss without note", e.do(req{method: http.MethodPost, path: "/report/triage/RPT-2026-0001/dismiss",
		session: ana, form: url.Values{"note": {"  "}}}), http.StatusBadRequest)
	if !strings.Contains(b, `id="note-error"`) {
		t.Error("dismiss without note: no field error")
	}
	deskStatus(t, "dismiss", e.do(req{method: http.MethodPost, path: "/report/triage/RPT-2026-0001/dismiss",
		session: ana, form: url.Values{"note": {"An advert <img src=x onerror=alert(1)>, harmless.\nClose it."}}}), http.StatusSeeOther)
	b = deskStatus(t, "reporter reads the note", e.do(req{path: "/report/mine/RPT-2026-0001", session: rita}), http.StatusOK)
	if !strings.Contains(b, "An advert &lt;img src=x onerror=alert(1)&gt;, harmless.<br>Close it.") || strings.Contains(b, "<img src=x") {
		t.Errorf("reporter's page: note missing or unescaped\n%s", b)
	}
	if q := bodyOf(t, e.do(req{path: "/incidents/reports", session: ana})); strings.Contains(q, "RPT-2026-0001") {
		t.Error("dismissed report still waits in the queue")
	}
	if q := bodyOf(t, e.do(req{path: "/incidents/reports?status=all", session: ana})); !strings.Contains(q, "RPT-2026-0001") {
		t.Error("dismissed report missing from the full queue")
	}
}

func TestReportAnonymousOff(t *testing.T) {
	t.Parallel()
	for name, e := range map[string]*testEnv{"desk without anonymous": newDeskEnv(t, reportdesk.Options{}).testEnv,
		"no desk": newEnv(t)} {
		for _, r := range []req{{path: "/report/anonymous"}, {method: http.MethodPost, path: "/report/anonymous", body: "x"},
			{path: "/report/status/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}} {
			if resp := e.do(r); resp.StatusCode != http.StatusNotFound {
				t.Errorf("%s: %s %s: %d, want 404", name, r.method, r.path, resp.StatusCode)
			}
		}
	}
}

func TestReportAnonymousRateLimit(t *testing.T) {
	t.Parallel()
	e := newDeskEnv(t, reportdesk.Options{Anonymous: true, AnonymousLimit: 5})
	const ip = "198.51.100.7:5555"
	var first string
	for i := range 5 {
		r := e.post("/report/anonymous", "", ip, phishingFields("anonymous report"), file{"m.eml", deskEML})
		deskStatus(t, "anonymous POST", r, http.StatusSeeOther)
		loc := r.Header.Get("Location")
		if !strings.HasPrefix(loc, "/report/status/") || !strings.HasSuffix(loc, "?done=report_sent") {
			t.Fatalf("anonymous POST #%d: Location %q", i+1, loc)
		}
		if i == 0 {
			first = loc
		}
	}
	b := deskStatus(t, "status page", e.do(req{path: first}), http.StatusOK)
	for _, want := range []string{`id="report-thanks"`, "RPT-2026-0001", `id="status-url"`, "http://example.com/report/status/"} {
		if !strings.Contains(b, want) {
			t.Errorf("anonymous status page: no %q", want)
		}
	}
	r := e.post("/report/anonymous", "", ip, phishingFields("sixth"))
	b = deskStatus(t, "sixth anonymous POST", r, http.StatusTooManyRequests)
	if ra := r.Header.Get("Retry-After"); ra == "" || ra == "0" {
		t.Errorf("429 without Retry-After: %q", ra)
	}
	if !strings.Contains(b, "Too many reports") {
		t.Errorf("429 page does not say why:\n%s", b)
	}
	deskStatus(t, "anonymous POST from another address", e.post("/report/anonymous", "", "198.51.100.8:1",
		phishingFields("other address")), http.StatusSeeOther)
	deskStatus(t, "wrong token", e.do(req{path: "/report/status/" + strings.Repeat("A", 43)}), http.StatusNotFound)
	// The signed-in form offers the anonymous one.
	e.user("rita", auth.RoleReporter)
	if b := bodyOf(t, e.do(req{path: "/report", session: e.session("rita")})); !strings.Contains(b, `id="report-anonymously"`) {
		t.Error("GET /report does not link to the anonymous form")
	}
}

// incSHA is the hex SHA-256 of s.
func incSHA(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}
