// SPDX-License-Identifier: Apache-2.0

package web

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/koban-csirt/koban/internal/audit"
	"github.com/koban-csirt/koban/internal/auth"
	"github.com/koban-csirt/koban/internal/incident"
	"github.com/koban-csirt/koban/internal/store"
)

var _ = addRouteRules(map[string]rule{
	"GET /incidents/{ref}/tasks":              {Session, analysts},
	"POST /incidents/{ref}/tasks":             {Session, analysts},
	"POST /incidents/{ref}/tasks/{id}/edit":   {Session, analysts},
	"POST /incidents/{ref}/tasks/{id}/status": {Session, analysts},
	"POST /incidents/{ref}/tasks/{id}/check":  {Session, analysts},
	"POST /incidents/{ref}/tasks/{id}/delete": {Session, analysts},
	"POST /incidents/{ref}/playbook":          {Session, analysts},
	"GET /incidents/{ref}/timeline":           {Session, analysts},
	"POST /incidents/{ref}/timeline":          {Session, analysts},
	"GET /incidents/{ref}/timeline.csv":       {Session, analysts},
	"GET /incidents/{ref}/timeline.json":      {Session, analysts},
})

// workEnv is a web server with the incident service and an evidence locker
// whose blobs live in a real directory.
type workEnv struct {
	*testEnv
	inc     *incident.Service
	locker  *incident.Locker
	blobDir string
	resp    auth.User
	cookie  string
}

// newWorkEnv builds the env; maxSize bounds evidence files (0: default).
func newWorkEnv(t *testing.T, maxSize int64) *workEnv {
	t.Helper()
	w := &workEnv{blobDir: t.TempDir()}
	blobs, err := store.OpenBlobs(w.blobDir)
	if err != nil {
		t.Fatal(err)
	}
	w.testEnv = newEnv(t, func(o *Options) {
		db := o.Audit.(*store.DB)
		w.inc = incident.New(db, incident.Options{Now: o.Now,
			Assignable: func(role string) bool { return auth.Can(auth.Role(role), auth.PermIncidents) }})
		w.locker = incident.NewLocker(db, blobs, incident.LockerOptions{MaxSize: maxSize, Now: o.Now})
		o.Incidents, o.Evidence, o.Tx = w.inc, w.locker, db.Tx
	})
	w.resp = w.user("resp1", auth.RoleResponder)
	w.cookie = w.session("resp1")
	return w
}

// actor is the responder as the incident services see them.
func (w *workEnv) actor() incident.Actor {
	return incident.Actor{Actor: audit.Actor{UserID: w.resp.ID, Name: w.resp.Name, Via: audit.ViaWeb}, Access: incident.AccessFull}
}

// create opens an incident of type typ.
func (w *workEnv) create(title string, typ incident.Type) incident.Incident {
	w.t.Helper()
	inc, err := w.inc.Create(context.Background(), w.actor(), incident.Draft{Input: incident.Input{Title: title, Type: typ}})
	if err != nil {
		w.t.Fatalf("Create(%q): %v", title, err)
	}
	return inc
}

// detail reads an incident in full.
func (w *workEnv) detail(id int64) incident.Detail {
	w.t.Helper()
	d, err := w.inc.Incident(context.Background(), w.actor(), id)
	if err != nil {
		w.t.Fatalf("Incident(%d): %v", id, err)
	}
	return d
}

// post sends a form as the responder.
func (w *workEnv) post(path string, form url.Values) (*http.Response, string) {
	w.t.Helper()
	resp := w.do(req{method: http.MethodPost, path: path, form: form, session: w.cookie})
	return resp, bodyOf(w.t, resp)
}

// get fetches a page as the responder.
func (w *workEnv) get(path string) (*http.Response, string) {
	w.t.Helper()
	resp := w.do(req{path: path, session: w.cookie})
	return resp, bodyOf(w.t, resp)
}

// wantStatus fails unless resp has status want.
func wantStatus(t *testing.T, what string, resp *http.Response, body string, want int) {
	t.Helper()
	if resp.StatusCode != want {
		t.Fatalf("%s: status %d, want %d; body:\n%s", what, resp.StatusCode, want, body)
	}
}

func taskByTitle(t *testing.T, d incident.Detail, title string) incident.Task {
	t.Helper()
	for _, tk := range d.Tasks {
		if tk.Title == title {
			return tk
		}
	}
	t.Fatalf("no task %q among %d", title, len(d.Tasks))
	return incident.Task{}
}

func TestIncidentTaskAddEditComplete(t *testing.T) {
	w := newWorkEnv(t, 0)
	inc := w.create("Phishing at sales", incident.TypePhishing)
	base := "/incidents/" + inc.Ref + "/tasks"

	resp, body := w.post(base, url.Values{"title": {"<b>Block</b> the sender"}, "why": {"Stops <script>x()</script> more mail"},
		"phase": {"containment"}, "owner": {"role:it_admin"}, "due": {"2026-11-23T09:00"}, "required": {"1"},
		"checklist": {"Rule added\r\nBlocked in proxy\n\n"}})
	wantStatus(t, "add task", resp, body, http.StatusSeeOther)
	tk := taskByTitle(t, w.detail(inc.ID), "<b>Block</b> the sender")
	if tk.Phase != incident.PhaseContainment || tk.OwnerRole != "it_admin" || !tk.Required || len(tk.Checklist) != 2 ||
		!tk.Due.Equal(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)) {
		t.Fatalf("added task = %+v", tk)
	}
	_, page := w.get(base)
	for _, want := range []string{"&lt;b&gt;Block&lt;/b&gt; the sender", "&lt;script&gt;x()&lt;/script&gt;", "IT administrator", "Rule added"} {
		if !strings.Contains(page, want) {
			t.Errorf("tasks page lacks %q", want)
		}
	}
	if strings.Contains(page, "<b>Block</b>") || strings.Contains(page, "<script>x()") {
		t.Error("tasks page has the task's HTML unescaped")
	}

	id := strconv.FormatInt(tk.ID, 10)
	resp, body = w.post(base+"/"+id+"/check", url.Values{"version": {"1"}, "item": {"1"}, "done": {"true"}})
	wantStatus(t, "check item", resp, body, http.StatusSeeOther)
	tk = taskByTitle(t, w.detail(inc.ID), tk.Title)
	if !tk.Checklist[1].Done || tk.Checklist[0].Done || tk.Version != 2 {
		t.Fatalf("after ticking item 1: %+v", tk)
	}

	// A stale version: the service's conflict message, the typed values kept.
	resp, body = w.post(base+"/"+id+"/edit", url.Values{"version": {"1"}, "title": {"Edited title typed"}, "phase": {"containment"},
		"checklist": {"Rule added\nBlocked in proxy"}})
	wantStatus(t, "stale edit", resp, body, http.StatusConflict)
	if !strings.Contains(body, "was changed by someone else") || !strings.Contains(body, `value="Edited title typed"`) {
		t.Errorf("stale edit page lacks the conflict message or the typed title:\n%s", body)
	}

	resp, body = w.post(base+"/"+id+"/edit", url.Values{"version": {"2"}, "title": {"Block the sender"}, "phase": {"containment"},
		"owner": {"user:" + strconv.FormatInt(w.resp.ID, 10)}, "required": {"1"}, "checklist": {"Blocked in proxy\nTold staff"}})
	wantStatus(t, "edit", resp, body, http.StatusSeeOther)
	tk = taskByTitle(t, w.detail(inc.ID), "Block the sender")
	want := []incident.CheckItem{{Text: "Blocked in proxy", Done: true}, {Text: "Told staff"}}
	if tk.OwnerID != w.resp.ID || !slices.Equal(tk.Checklist, want) || !tk.Due.IsZero() {
		t.Fatalf("edited task = %+v, want owner %d and checklist %v", tk, w.resp.ID, want)
	}

	resp, body = w.post(base+"/"+id+"/status", url.Values{"version": {"3"}, "status": {"skipped"}, "reason": {""}})
	wantStatus(t, "skip without reason", resp, body, http.StatusBadRequest)
	if !strings.Contains(body, "Give a reason") {
		t.Errorf("skip without reason: message missing:\n%s", body)
	}
	resp, body = w.post(base+"/"+id+"/delete", url.Values{"version": {"3"}})
	wantStatus(t, "delete required", resp, body, http.StatusConflict)
	if !strings.Contains(body, "is required: skip it") {
		t.Errorf("delete of a required task: message missing:\n%s", body)
	}
	resp, body = w.post(base+"/"+id+"/status", url.Values{"version": {"3"}, "status": {"done"}})
	wantStatus(t, "done", resp, body, http.StatusSeeOther)
	if tk = taskByTitle(t, w.detail(inc.ID), "Block the sender"); tk.Status != incident.TaskDone || tk.DoneAt.IsZero() {
		t.Fatalf("task after done = %+v", tk)
	}

	// A task that is not required can be deleted.
	resp, body = w.post(base, url.Values{"title": {"Optional"}, "phase": {"analysis"}})
	wantStatus(t, "add optional", resp, body, http.StatusSeeOther)
	opt := taskByTitle(t, w.detail(inc.ID), "Optional")
	resp, body = w.post(base+"/"+strconv.FormatInt(opt.ID, 10)+"/delete", url.Values{"version": {"1"}})
	wantStatus(t, "delete optional", resp, body, http.StatusSeeOther)
	if n := len(w.detail(inc.ID).Tasks); n != 1 {
		t.Errorf("after delete: %d tasks, want 1", n)
	}
}

func TestIncidentTaskRefusals(t *testing.T) {
	w := newWorkEnv(t, 0)
	inc := w.create("One", incident.TypeMalware)
	other := w.create("Two", incident.TypeMalware)
	tk, err := w.inc.AddTask(context.Background(), w.actor(), other.ID, incident.TaskInput{Title: "Theirs"})
	if err != nil {
		t.Fatal(err)
	}
	// A task of another incident is not found through this one.
	resp, body := w.post("/incidents/"+inc.Ref+"/tasks/"+strconv.FormatInt(tk.ID, 10)+"/status",
		url.Values{"version": {"1"}, "status": {"done"}})
	wantStatus(t, "other incident's task", resp, body, http.StatusNotFound)

	resp, body = w.post("/incidents/"+inc.Ref+"/tasks", url.Values{"title": {""}, "due": {"tomorrow"}, "owner": {"someone"}})
	wantStatus(t, "bad add", resp, body, http.StatusBadRequest)
	for _, want := range []string{"“tomorrow” is not a date and time.", "Choose the owner from the list."} {
		if !strings.Contains(body, want) {
			t.Errorf("bad add: page lacks %q", want)
		}
	}

	viewer := w.user("view1", auth.RoleViewer)
	_ = viewer
	resp = w.do(req{path: "/incidents/" + inc.Ref + "/tasks", session: w.session("view1")})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("viewer GET tasks: status %d, want 403", resp.StatusCode)
	}
}

func TestIncidentTaskOverdue(t *testing.T) {
	w := newWorkEnv(t, 0)
	inc := w.create("Late", incident.TypeMalware)
	tk, err := w.inc.AddTask(context.Background(), w.actor(), inc.ID, incident.TaskInput{Title: "Isolate PC", Due: w.clock.now().Add(10 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	marker := `id="task-` + strconv.FormatInt(tk.ID, 10) + `-overdue"`
	_, page := w.get("/incidents/" + inc.Ref + "/tasks")
	if strings.Contains(page, marker) {
		t.Fatal("a task due in ten minutes is marked overdue")
	}
	w.clock.advance(20 * time.Minute) // within the session's idle timeout
	_, page = w.get("/incidents/" + inc.Ref + "/tasks")
	if !strings.Contains(page, marker) || !strings.Contains(page, "Overdue") {
		t.Fatalf("a task ten minutes late is not marked overdue in words:\n%s", page)
	}
}

func TestIncidentApplyPlaybook(t *testing.T) {
	w := newWorkEnv(t, 0)
	inc := w.create("Fake invoice mail", incident.TypePhishing)
	base := "/incidents/" + inc.Ref

	resp, page := w.get(base + "/tasks")
	wantStatus(t, "tasks", resp, page, http.StatusOK)
	if !regexp.MustCompile(`<option value="phishing-bec">[^<]*suggested`).MatchString(page) {
		t.Error("the phishing playbook is not suggested for a phishing incident")
	}
	pb := playbookByID(t, "phishing-bec")
	resp, page = w.get(base + "/tasks?playbook=phishing-bec")
	wantStatus(t, "preview", resp, page, http.StatusOK)
	dec, _ := pb.Decision("personal-data")
	for _, want := range []string{htmlText(pb.Do[0]["en"]), htmlText(pb.DoNot[0]["en"]), htmlText(dec.Question["en"]), `name="decision.personal-data"`} {
		if !strings.Contains(page, want) {
			t.Errorf("preview lacks %q", want)
		}
	}
	resp, page = w.get(base + "/tasks?playbook=nope")
	wantStatus(t, "unknown playbook", resp, page, http.StatusBadRequest)

	resp, body := w.post(base+"/playbook", url.Values{"playbook": {"phishing-bec"}, "version": {strconv.FormatInt(inc.Version, 10)},
		"decision.personal-data": {"yes"}, "decision.credentials-entered": {"no"}})
	wantStatus(t, "apply", resp, body, http.StatusSeeOther)
	d := w.detail(inc.ID)
	src := map[string]incident.Task{}
	for _, tk := range d.Tasks {
		if tk.Source.PlaybookID != "phishing-bec" {
			t.Errorf("task %q has source %+v", tk.Title, tk.Source)
		}
		src[tk.Source.TaskID] = tk
	}
	own := pb.Tasks(d.AwareAt)
	for _, tt := range own {
		got, ok := src[tt.TaskID]
		if !ok {
			t.Errorf("playbook task %s not created", tt.TaskID)
			continue
		}
		if got.Title != tt.Title["en"] || got.Phase != tt.Phase || got.Required != tt.Required || got.OwnerRole != tt.Role ||
			len(got.Checklist) != len(tt.Checklist) || !got.Due.Equal(tt.Due) {
			t.Errorf("task %s = %+v, from template %+v", tt.TaskID, got, tt)
		}
	}
	for _, tt := range pb.DecisionTasks("personal-data", d.AwareAt) {
		if _, ok := src[tt.TaskID]; !ok {
			t.Errorf("task %s of the decision answered yes not created", tt.TaskID)
		}
	}
	for _, tt := range pb.DecisionTasks("credentials-entered", d.AwareAt) {
		if _, ok := src[tt.TaskID]; ok {
			t.Errorf("task %s of the decision answered no was created", tt.TaskID)
		}
	}
	if _, ok := src["decision:credentials-entered"]; ok {
		t.Error("a decision answered no got a task of deciding it")
	}
	decide, ok := src["decision:attachment-opened"]
	if !ok || !decide.Required || !strings.HasPrefix(decide.Title, "Decide: ") {
		t.Errorf("undecided decision: task %+v (present %v), want a required task of deciding it", decide, ok)
	}
	if !d.Flags.PersonalData || !d.Flags.MaliciousIntent {
		t.Errorf("flags after answering personal-data yes = %+v", d.Flags)
	}

	// Applying again adds nothing new without answers.
	resp, body = w.post(base+"/playbook", url.Values{"playbook": {"phishing-bec"}, "version": {strconv.FormatInt(d.Version, 10)},
		"decision.personal-data": {"yes"}, "decision.credentials-entered": {"no"}})
	wantStatus(t, "apply again", resp, body, http.StatusBadRequest)
	if !strings.Contains(body, "already on the incident") {
		t.Errorf("apply again: message missing:\n%s", body)
	}
	// Answering a decision later closes the task of deciding it.
	resp, body = w.post(base+"/playbook", url.Values{"playbook": {"phishing-bec"}, "version": {strconv.FormatInt(d.Version, 10)},
		"decision.personal-data": {"yes"}, "decision.credentials-entered": {"no"}, "decision.attachment-opened": {"yes"}})
	wantStatus(t, "answer later", resp, body, http.StatusSeeOther)
	d2 := w.detail(inc.ID)
	for _, tk := range d2.Tasks {
		if tk.Source.TaskID == "decision:attachment-opened" && tk.Status != incident.TaskDone {
			t.Errorf("the decided decision's task is %s", tk.Status)
		}
	}
	if len(d2.Tasks) <= len(d.Tasks) {
		t.Errorf("answering attachment-opened yes added no tasks (%d → %d)", len(d.Tasks), len(d2.Tasks))
	}
}

func playbookByID(t *testing.T, id string) *incident.Playbook {
	t.Helper()
	lib, err := incident.Library()
	if err != nil {
		t.Fatal(err)
	}
	for _, pb := range lib {
		if pb.ID == id {
			return pb
		}
	}
	t.Fatalf("no playbook %s", id)
	return nil
}

// htmlText is s as html/template writes it in text.
func htmlText(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;").Replace(s)
}

// TestIncidentWorkPagesTranslated renders every page of the three tabs in
// both languages, with something in each list, and looks for message ids
// the catalogue lacks (T writes them as "[id]").
func TestIncidentWorkPagesTranslated(t *testing.T) {
	w := newWorkEnv(t, 0)
	inc := w.create("Every page", incident.TypePhishing)
	ctx := context.Background()
	if _, err := w.inc.AddTask(ctx, w.actor(), inc.ID, incident.TaskInput{Title: "T", OwnerRole: "legal_pr",
		Due: w.clock.now().Add(-time.Minute), Checklist: []incident.CheckItem{{Text: "c"}}}); err != nil {
		t.Fatal(err)
	}
	e, err := w.locker.AddEvidence(ctx, w.actor(), inc.ID, incident.EvidenceMeta{Name: "a.txt"}, strings.NewReader("a"))
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []func() error{
		func() error { _, err := w.locker.Transfer(ctx, w.actor(), e.ID, "Police", ""); return err },
		func() error { _, err := w.locker.SetHold(ctx, w.actor(), e.ID, "r"); return err },
		func() error { _, err := w.locker.ReleaseHold(ctx, w.actor(), e.ID, "r"); return err },
		func() error { _, err := w.locker.Verify(ctx, w.actor(), e.ID); return err },
		func() error { _, err := w.locker.Annotate(ctx, w.actor(), e.ID, "n"); return err },
		func() error {
			_, err := w.locker.SetRetention(ctx, w.actor(), e.ID, w.clock.now().Add(time.Hour), "r")
			return err
		},
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	missing := regexp.MustCompile(`\[[a-z_]+(\.[a-z0-9_]+)+\]`)
	base := "/incidents/" + inc.Ref
	for _, lang := range []string{"en", "ja"} {
		for _, path := range []string{base + "/tasks?playbook=phishing-bec", base + "/tasks?playbook=ransomware", base + "/timeline",
			base + "/evidence", base + "/evidence/" + strconv.FormatInt(e.ID, 10)} {
			resp := w.do(req{path: path, session: w.cookie, header: map[string]string{"Accept-Language": lang}})
			body := bodyOf(t, resp)
			wantStatus(t, lang+" "+path, resp, body, http.StatusOK)
			if m := missing.FindString(body); m != "" {
				t.Errorf("%s %s: message %s is missing", lang, path, m)
			}
		}
	}
}

func TestDurationText(t *testing.T) {
	w := newWorkEnv(t, 0)
	p := &Page{Lang: "en", cat: w.srv.cat}
	for _, c := range []struct {
		d    time.Duration
		want string
	}{
		{36 * time.Hour, "1 day 12 hours"},
		{4 * time.Hour, "4 hours"},
		{90 * time.Minute, "1 hour 30 minutes"},
		{0, "0 minutes"},
	} {
		if got := durationText(p, c.d); got != c.want {
			t.Errorf("durationText(%v) = %q, want %q", c.d, got, c.want)
		}
	}
}

// TestIncidentApplyPlaybookStale: a "yes" that sets flags on an incident
// changed meanwhile is refused whole — no task stays behind — with the
// service's message and the answers kept.
func TestIncidentApplyPlaybookStale(t *testing.T) {
	w := newWorkEnv(t, 0)
	inc := w.create("Leak by mail", incident.TypeDataLeak)
	resp, body := w.post("/incidents/"+inc.Ref+"/playbook", url.Values{"playbook": {"phishing-bec"},
		"version": {strconv.FormatInt(inc.Version+1, 10)}, "decision.personal-data": {"yes"}})
	wantStatus(t, "stale apply", resp, body, http.StatusConflict)
	if !strings.Contains(body, "was changed by someone else") || !strings.Contains(body, `id="decision-personal-data-yes" checked`) {
		t.Errorf("stale apply: message or answer missing:\n%s", body)
	}
	if d := w.detail(inc.ID); len(d.Tasks) != 0 || d.Flags != (incident.Flags{}) {
		t.Errorf("after a refused apply: %d tasks, flags %+v", len(d.Tasks), d.Flags)
	}
}
