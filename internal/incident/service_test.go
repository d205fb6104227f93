// SPDX-License-Identifier: Apache-2.0

package incident_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/koban-csirt/koban/internal/audit"
	"github.com/koban-csirt/koban/internal/auth"
	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/incident"
	"github.com/koban-csirt/koban/internal/store"
	"github.com/koban-csirt/koban/internal/store/storetest"
)

// incT0 has a microsecond part so that round trips prove the precision
// kept. It is 18:26 in Tokyo.
var incT0 = time.Date(2026, 3, 14, 9, 26, 53, 589793000, time.UTC)

// incClock is a settable clock.
type incClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *incClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *incClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// incEnv is a Service on a fresh SQLite store with a clock at incT0 and a
// responder acting.
type incEnv struct {
	svc   *incident.Service
	db    *store.DB
	clock *incClock
	a     incident.Actor
}

func newIncEnv(t *testing.T) incEnv {
	t.Helper()
	return newIncEnvOn(t, storetest.OpenSQLite(t), nil)
}

// newIncEnvOn builds the env over db, with st as the service's store when
// given (a wrapper of db).
func newIncEnvOn(t *testing.T, db *store.DB, st incident.Store) incEnv {
	t.Helper()
	c := &incClock{t: incT0}
	if st == nil {
		st = db
	}
	svc := incident.New(st, incident.Options{Now: c.Now,
		Assignable: func(role string) bool { return auth.Can(auth.Role(role), auth.PermIncidents) }})
	e := incEnv{svc: svc, db: db, clock: c}
	e.a = e.user(t, "resp1", auth.RoleResponder)
	return e
}

// user creates a koban user and returns the actor acting as it, with the
// access its role grants.
func (e incEnv) user(t *testing.T, name string, role auth.Role) incident.Actor {
	t.Helper()
	u, err := e.db.CreateUser(context.Background(), auth.User{Name: name, Role: role, PasswordHash: "x",
		CreatedAt: incT0, UpdatedAt: incT0, PasswordChangedAt: incT0})
	if err != nil {
		t.Fatalf("CreateUser(%s): %v", name, err)
	}
	access := incident.AccessNone
	switch {
	case auth.Can(role, auth.PermIncidents):
		access = incident.AccessFull
	case auth.Can(role, auth.PermReports):
		access = incident.AccessSummary
	}
	return incident.Actor{Actor: audit.Actor{UserID: u.ID, Name: u.Name, Via: audit.ViaWeb, IP: "192.0.2.7"}, Access: access}
}

// draft returns a valid draft.
func incDraft(title string) incident.Draft {
	return incident.Draft{Input: incident.Input{Title: title, Type: incident.TypePhishing,
		Description: "A suspicious e-mail was reported."}}
}

// create creates an incident and fails the test on error.
func (e incEnv) create(t *testing.T, d incident.Draft) incident.Incident {
	t.Helper()
	inc, err := e.svc.Create(context.Background(), e.a, d)
	if err != nil {
		t.Fatalf("Create(%q): %v", d.Title, err)
	}
	return inc
}

// detail reads an incident and fails the test on error.
func (e incEnv) detail(t *testing.T, id int64) incident.Detail {
	t.Helper()
	d, err := e.svc.Incident(context.Background(), e.a, id)
	if err != nil {
		t.Fatalf("Incident(%d): %v", id, err)
	}
	return d
}

// wantFault fails the test unless err is a fault of kind with message msg.
func wantFault(t *testing.T, call string, err error, kind fault.Kind, msg string) {
	t.Helper()
	got, _ := fault.Public(err)
	if !fault.Is(err, kind) || got != msg {
		t.Errorf("%s: got %v, want %s %s", call, err, kind, msg)
	}
}

// msgs returns the message ids (or texts) of a timeline.
func msgs(es []incident.Entry) []string {
	var out []string
	for _, e := range es {
		if e.Manual {
			out = append(out, "note: "+e.Text)
		} else {
			out = append(out, e.Msg)
		}
	}
	return out
}

// audits returns the audit actions recorded about an incident, oldest
// first.
func (e incEnv) audits(t *testing.T, id int64) []string {
	t.Helper()
	es, err := e.db.AuditEntries(context.Background(), audit.Filter{Object: audit.Object("incident", id)})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := len(es) - 1; i >= 0; i-- {
		out = append(out, es[i].Action)
	}
	return out
}

func TestCreate(t *testing.T) {
	t.Parallel()
	e := newIncEnv(t)
	ctx := context.Background()
	other := e.user(t, "analyst1", auth.RoleAnalyst)
	d := incident.Draft{Input: incident.Input{
		Title:          "  不審なメール <script>alert(1)</script>\x00  ",
		Description:    "経理部に\r\n請求書メールが届いた\x07。",
		Type:           incident.TypeBEC,
		AffectedAssets: []string{"PC-KEIRI-01", "PC-KEIRI-01", " "},
		AffectedUsers:  []string{"hanako@example.co.jp"},
		Techniques:     []string{"t1566.001"},
		Fields:         []incident.Field{{Name: "Mail ID", Value: "<abc@example>"}},
		Tags:           []string{"mail"},
		Flags:          incident.Flags{PersonalData: true},
		AwareAt:        incT0.Add(-time.Hour),
	}, Assignees: []int64{other.UserID, other.UserID},
		Impact: &incident.Impact{Functional: incident.FunctionalLow, Information: []incident.InformationImpact{incident.InfoPersonal},
			People: 3, Recoverability: incident.RecoverRegular, Criticality: incident.CriticalityMedium}}
	inc := e.create(t, d)
	want := incident.Incident{ID: inc.ID, Ref: "INC-2026-0001", Title: "不審なメール <script>alert(1)</script>",
		Description: "経理部に\n請求書メールが届いた。", Type: incident.TypeBEC, Status: incident.StatusOpen,
		Phase: incident.PhaseTriage, Severity: incident.SeverityMedium, Assignees: []int64{other.UserID},
		AffectedAssets: []string{"PC-KEIRI-01"}, AffectedUsers: []string{"hanako@example.co.jp"},
		Techniques: []string{"T1566.001"}, Fields: []incident.Field{{Name: "Mail ID", Value: "<abc@example>"}},
		Tags: []string{"mail"}, Flags: incident.Flags{PersonalData: true}, DetectedAt: incT0.Add(-time.Hour),
		AwareAt: incT0.Add(-time.Hour), CreatedByID: e.a.UserID, CreatedBy: "resp1", Version: 1,
		CreatedAt: incT0, UpdatedAt: incT0}
	ignoreAssessment := cmp.FilterPath(func(p cmp.Path) bool { return p.String() == "Assessment" }, cmp.Ignore())
	if diff := cmp.Diff(want, inc, ignoreAssessment); diff != "" {
		t.Errorf("Create (-want +got):\n%s", diff)
	}
	got := e.detail(t, inc.ID)
	if diff := cmp.Diff(inc, got.Incident); diff != "" {
		t.Errorf("Incident after Create (-created +read):\n%s", diff)
	}
	if a := got.Assessment; a.Severity != incident.SeverityMedium || a.By != "resp1" || !a.At.Equal(incT0) || len(a.Reasons) == 0 {
		t.Errorf("Assessment = %+v, want medium by resp1 at t0 with reasons", a)
	}
	if diff := cmp.Diff([]string{"incident.timeline.created", "incident.timeline.assessed"}, msgs(got.Timeline)); diff != "" {
		t.Errorf("timeline (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"incident.create"}, e.audits(t, inc.ID)); diff != "" {
		t.Errorf("audit (-want +got):\n%s", diff)
	}
	// Numbers go up per year; awareness and detection default to now.
	second := e.create(t, incDraft("second"))
	if second.Ref != "INC-2026-0002" || !second.AwareAt.Equal(incT0) || !second.DetectedAt.Equal(incT0) {
		t.Errorf("second incident = %s aware %v detected %v; want INC-2026-0002, both now", second.Ref, second.AwareAt, second.DetectedAt)
	}
	byRef, err := e.svc.IncidentByRef(ctx, e.a, "", "inc-2026-0002")
	if err != nil || byRef.ID != second.ID {
		t.Errorf("IncidentByRef(inc-2026-0002) = %d, %v; want %d", byRef.ID, err, second.ID)
	}
	_, err = e.svc.IncidentByRef(ctx, e.a, "", "INC-2026-0099")
	wantFault(t, "IncidentByRef(missing)", err, fault.NotFound, "incident.ref_not_found")
	_, err = e.svc.Incident(ctx, e.a, 9999)
	wantFault(t, "Incident(missing)", err, fault.NotFound, "incident.not_found")
}

// TestCreateYearInTokyo: the reference's year is Tokyo's, and numbering
// starts again each year.
func TestCreateYearInTokyo(t *testing.T) {
	t.Parallel()
	e := newIncEnv(t)
	e.clock.t = time.Date(2026, 12, 31, 14, 59, 0, 0, time.UTC) // 23:59 in Tokyo
	if inc := e.create(t, incDraft("last of the year")); inc.Ref != "INC-2026-0001" {
		t.Errorf("Create at 23:59 JST on 31 December = %s, want INC-2026-0001", inc.Ref)
	}
	e.clock.Add(2 * time.Minute) // 00:01 on 1 January in Tokyo, still 2026 in UTC
	if inc := e.create(t, incDraft("first of the year")); inc.Ref != "INC-2027-0001" {
		t.Errorf("Create at 00:01 JST on 1 January = %s, want INC-2027-0001", inc.Ref)
	}
}

func TestCreateInvalid(t *testing.T) {
	t.Parallel()
	e := newIncEnv(t)
	ctx := context.Background()
	viewer := e.user(t, "boss", auth.RoleViewer)
	disabled := e.user(t, "gone", auth.RoleResponder)
	u, _ := e.db.User(ctx, disabled.UserID)
	u.Disabled = true
	if err := e.db.UpdateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		d      incident.Draft
		fields []string
	}{
		{"empty", incident.Draft{}, []string{"title", "type"}},
		{"control characters only", incident.Draft{Input: incident.Input{Title: "\x00\x01 ", Type: incident.TypeDoS}}, []string{"title"}},
		{"long title", incident.Draft{Input: incident.Input{Title: strings.Repeat("長", 201), Type: incident.TypeDoS}}, []string{"title"}},
		{"unknown type", incident.Draft{Input: incident.Input{Title: "x", Type: "Malware"}}, []string{"type"}},
		{"future awareness", incident.Draft{Input: incident.Input{Title: "x", Type: incident.TypeDoS, AwareAt: incT0.Add(time.Hour)}}, []string{"aware_at"}},
		{"bad technique", incident.Draft{Input: incident.Input{Title: "x", Type: incident.TypeDoS, Techniques: []string{"TA0001"}}}, []string{"techniques"}},
		{"bad impact", incident.Draft{Input: incident.Input{Title: "x", Type: incident.TypeDoS}, Impact: &incident.Impact{}},
			[]string{"functional", "recoverability", "criticality"}},
		{"unknown assignee", incident.Draft{Input: incident.Input{Title: "x", Type: incident.TypeDoS}, Assignees: []int64{4242}}, []string{"assignees"}},
		{"viewer assignee", incident.Draft{Input: incident.Input{Title: "x", Type: incident.TypeDoS}, Assignees: []int64{viewer.UserID}}, []string{"assignees"}},
		{"disabled assignee", incident.Draft{Input: incident.Input{Title: "x", Type: incident.TypeDoS}, Assignees: []int64{disabled.UserID}}, []string{"assignees"}},
	} {
		_, err := e.svc.Create(ctx, e.a, c.d)
		var fields []string
		for _, f := range fault.Faults(err) {
			if f.Kind != fault.Invalid {
				t.Errorf("Create(%s): fault %v is not Invalid", c.name, f)
			}
			fields = append(fields, f.Field)
		}
		if diff := cmp.Diff(c.fields, fields); diff != "" {
			t.Errorf("Create(%s) invalid fields (-want +got):\n%s (error %v)", c.name, diff, err)
		}
	}
	// Nothing was stored, and no number was used up.
	if inc := e.create(t, incDraft("valid")); inc.Ref != "INC-2026-0001" || inc.ID != 1 {
		t.Errorf("first valid incident = %s (id %d), want INC-2026-0001 (id 1)", inc.Ref, inc.ID)
	}
}

func TestAccess(t *testing.T) {
	t.Parallel()
	e := newIncEnv(t)
	ctx := context.Background()
	inc := e.create(t, incident.Draft{Input: incident.Input{Title: "t", Type: incident.TypeDoS, Description: "details",
		AffectedUsers: []string{"tanaka"}}})
	viewer := e.user(t, "boss", auth.RoleViewer)
	reporter := e.user(t, "emp", auth.RoleReporter)
	ref := incident.Ref{ID: inc.ID, Version: inc.Version}
	for _, a := range []incident.Actor{viewer, reporter} {
		calls := map[string]error{}
		_, calls["Create"] = e.svc.Create(ctx, a, incDraft("x"))
		_, calls["Update"] = e.svc.Update(ctx, a, ref, incident.Input{Title: "x", Type: incident.TypeDoS})
		_, calls["ChangePhase"] = e.svc.ChangePhase(ctx, a, ref, incident.PhaseAnalysis, "")
		_, calls["Incident"] = e.svc.Incident(ctx, a, inc.ID)
		_, calls["Timeline"] = e.svc.Timeline(ctx, a, inc.ID)
		_, calls["AddNote"] = e.svc.AddNote(ctx, a, inc.ID, incident.Note{Text: "x"})
		_, calls["AddTask"] = e.svc.AddTask(ctx, a, inc.ID, incident.TaskInput{Title: "x"})
		calls["Link"] = e.svc.Link(ctx, a, inc.ID, inc.ID+1, incident.LinkRelated)
		_, calls["SaveReview"] = e.svc.SaveReview(ctx, a, inc.ID, 0, incident.ReviewInput{})
		for name, err := range calls {
			wantFault(t, fmt.Sprintf("%s as %s", name, a.Name), err, fault.Forbidden, "incident.forbidden")
		}
	}
	// A viewer reads the list in brief; a reporter not at all.
	p, err := e.svc.Incidents(ctx, viewer, incident.Filter{})
	if err != nil || len(p.Incidents) != 1 {
		t.Fatalf("Incidents as viewer = %+v, %v; want one incident", p, err)
	}
	if got := p.Incidents[0]; got.Description != "" || got.AffectedUsers != nil || got.Title != "t" {
		t.Errorf("Incidents as viewer = %+v, want the incident in brief", got)
	}
	_, err = e.svc.Incidents(ctx, reporter, incident.Filter{})
	wantFault(t, "Incidents as reporter", err, fault.Forbidden, "incident.forbidden")
	_, err = e.svc.OverdueTasks(ctx, reporter, "", 0)
	wantFault(t, "OverdueTasks as reporter", err, fault.Forbidden, "incident.forbidden")
	if _, err := e.svc.OverdueTasks(ctx, viewer, "", 0); err != nil {
		t.Errorf("OverdueTasks as viewer: %v", err)
	}
	p, err = e.svc.Incidents(ctx, e.a, incident.Filter{})
	if err != nil || len(p.Incidents) != 1 || p.Incidents[0].Description != "details" {
		t.Errorf("Incidents as responder = %+v, %v; want the full incident", p, err)
	}
}

func TestUpdate(t *testing.T) {
	t.Parallel()
	e := newIncEnv(t)
	ctx := context.Background()
	inc := e.create(t, incDraft("Phishing mail"))
	in := incident.Input{Title: "BEC: fake invoice", Type: incident.TypeBEC, Description: inc.Description,
		Techniques: []string{"T1566"}, Tags: []string{"経理"}, Flags: incident.Flags{PersonalData: true, FinancialRisk: true}}
	_, err := e.svc.Update(ctx, e.a, incident.Ref{ID: inc.ID}, in)
	wantFault(t, "Update(no version)", err, fault.Invalid, "incident.version_missing")
	e.clock.Add(time.Minute)
	got, err := e.svc.Update(ctx, e.a, incident.Ref{ID: inc.ID, Version: 1}, in)
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	if got.Version != 2 || got.Title != in.Title || got.Type != incident.TypeBEC || !got.UpdatedAt.Equal(incT0.Add(time.Minute)) ||
		!got.AwareAt.Equal(inc.AwareAt) || got.Ref != inc.Ref {
		t.Errorf("Update = %+v; want version 2, the new title and type, awareness and reference kept", got)
	}
	// Someone else's edit of version 1 is refused with a clear message.
	_, err = e.svc.Update(ctx, e.a, incident.Ref{ID: inc.ID, Version: 1}, incident.Input{Title: "mine", Type: incident.TypeOther})
	wantFault(t, "Update(stale version)", err, fault.Conflict, "incident.changed")
	// The same input again changes nothing.
	same, err := e.svc.Update(ctx, e.a, incident.Ref{ID: inc.ID, Version: 2}, in)
	if err != nil || same.Version != 2 {
		t.Errorf("Update(unchanged) = version %d, %v; want 2", same.Version, err)
	}
	d := e.detail(t, inc.ID)
	want := []string{"incident.timeline.created", "incident.timeline.changed_title", "incident.timeline.changed_type",
		"incident.timeline.changed_techniques", "incident.timeline.changed_tags", "incident.timeline.changed_flags"}
	if diff := cmp.Diff(want, msgs(d.Timeline)); diff != "" {
		t.Errorf("timeline (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"incident.create", "incident.update"}, e.audits(t, inc.ID)); diff != "" {
		t.Errorf("audit (-want +got):\n%s", diff)
	}
	// Awareness can be corrected, not moved into the future.
	in.AwareAt = incT0.Add(-24 * time.Hour)
	got, err = e.svc.Update(ctx, e.a, incident.Ref{ID: inc.ID, Version: 2}, in)
	if err != nil || !got.AwareAt.Equal(incT0.Add(-24*time.Hour)) {
		t.Errorf("Update(awareness) = %v, %v", got.AwareAt, err)
	}
	in.AwareAt = incT0.Add(time.Hour)
	_, err = e.svc.Update(ctx, e.a, incident.Ref{ID: inc.ID, Version: 3}, in)
	wantFault(t, "Update(future awareness)", err, fault.Invalid, "incident.time_future")
}

// TestConcurrentUpdates: of two people saving the same version at once,
// exactly one succeeds and the other is told someone else changed it.
func TestConcurrentUpdates(t *testing.T) {
	t.Parallel()
	e := newIncEnv(t)
	inc := e.create(t, incDraft("race"))
	const n = 6
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = e.svc.Update(context.Background(), e.a, incident.Ref{ID: inc.ID, Version: 1},
				incident.Input{Title: fmt.Sprintf("edit %d", i), Type: incident.TypePhishing})
		}()
	}
	wg.Wait()
	ok := 0
	for i, err := range errs {
		if err == nil {
			ok++
			continue
		}
		wantFault(t, fmt.Sprintf("Update %d", i), err, fault.Conflict, "incident.changed")
	}
	if ok != 1 {
		t.Errorf("%d concurrent updates of version 1 succeeded, want exactly 1", ok)
	}
	if d := e.detail(t, inc.ID); d.Version != 2 {
		t.Errorf("version after the race = %d, want 2", d.Version)
	}
}

func TestChangePhase(t *testing.T) {
	t.Parallel()
	e := newIncEnv(t)
	ctx := context.Background()
	inc := e.create(t, incDraft("phases"))
	ref := func() incident.Ref { d := e.detail(t, inc.ID); return incident.Ref{ID: d.ID, Version: d.Version} }
	move := func(to incident.Phase, reason string) (incident.Incident, error) {
		e.clock.Add(time.Minute)
		return e.svc.ChangePhase(ctx, e.a, ref(), to, reason)
	}
	_, err := move("bogus", "")
	wantFault(t, "ChangePhase(bogus)", err, fault.Invalid, "incident.phase_invalid")
	_, err = move(incident.PhaseClosed, "")
	wantFault(t, "ChangePhase(closed)", err, fault.Conflict, "incident.bad_phase")
	got, err := move(incident.PhaseContainment, "") // skipping analysis is fine
	if err != nil {
		t.Fatal(err)
	}
	ack := incT0.Add(3 * time.Minute)
	if got.Phase != incident.PhaseContainment || !got.AcknowledgedAt.Equal(ack) || !got.ContainedAt.IsZero() {
		t.Errorf("ChangePhase(containment) = %s, acknowledged %v, contained %v; want containment, %v, none",
			got.Phase, got.AcknowledgedAt, got.ContainedAt, ack)
	}
	_, err = move(incident.PhaseTriage, "back to start")
	wantFault(t, "ChangePhase(triage)", err, fault.Conflict, "incident.bad_phase")
	_, err = move(incident.PhaseAnalysis, "")
	wantFault(t, "ChangePhase(back without reason)", err, fault.Invalid, "incident.reason_required")
	if _, err = move(incident.PhaseAnalysis, "another host found"); err != nil {
		t.Errorf("ChangePhase(back with reason): %v", err)
	}
	got, err = move(incident.PhaseReview, "")
	if err != nil {
		t.Fatal(err)
	}
	if !got.AcknowledgedAt.Equal(ack) || got.ContainedAt.IsZero() || !got.ContainedAt.Equal(got.ResolvedAt) {
		t.Errorf("ChangePhase(review) times = ack %v contained %v resolved %v; want ack kept, contained = resolved = now",
			got.AcknowledgedAt, got.ContainedAt, got.ResolvedAt)
	}
	same, err := e.svc.ChangePhase(ctx, e.a, ref(), incident.PhaseReview, "")
	if err != nil || same.Version != got.Version {
		t.Errorf("ChangePhase(same phase) = version %d, %v; want unchanged %d", same.Version, err, got.Version)
	}
	d := e.detail(t, inc.ID)
	var phases []string
	for _, en := range d.Timeline {
		if en.Kind == incident.EntryPhase {
			phases = append(phases, strings.Join(en.Args, " "))
		}
	}
	want := []string{"from triage to containment reason ", "from containment to analysis reason another host found",
		"from analysis to review reason "}
	if diff := cmp.Diff(want, phases); diff != "" {
		t.Errorf("phase entries (-want +got):\n%s", diff)
	}
}

func TestChangeStatus(t *testing.T) {
	t.Parallel()
	e := newIncEnv(t)
	ctx := context.Background()
	inc := e.create(t, incDraft("hold"))
	_, err := e.svc.ChangeStatus(ctx, e.a, incident.Ref{ID: inc.ID}, incident.StatusOnHold, " ")
	wantFault(t, "ChangeStatus(on hold, no reason)", err, fault.Invalid, "incident.reason_required")
	_, err = e.svc.ChangeStatus(ctx, e.a, incident.Ref{ID: inc.ID}, incident.StatusClosed, "")
	wantFault(t, "ChangeStatus(closed)", err, fault.Conflict, "incident.bad_status")
	_, err = e.svc.ChangeStatus(ctx, e.a, incident.Ref{ID: inc.ID}, "paused", "x")
	wantFault(t, "ChangeStatus(unknown)", err, fault.Invalid, "incident.status_invalid")
	got, err := e.svc.ChangeStatus(ctx, e.a, incident.Ref{ID: inc.ID, Version: 1}, incident.StatusOnHold, "waiting for the police")
	if err != nil || got.Status != incident.StatusOnHold || got.StatusReason != "waiting for the police" {
		t.Errorf("ChangeStatus(on hold) = %s %q, %v", got.Status, got.StatusReason, err)
	}
	got, err = e.svc.ChangeStatus(ctx, e.a, incident.Ref{ID: inc.ID, Version: 2}, incident.StatusOpen, "")
	if err != nil || got.Status != incident.StatusOpen || got.StatusReason != "" {
		t.Errorf("ChangeStatus(open) = %s %q, %v", got.Status, got.StatusReason, err)
	}
}

// assessLow assesses an incident low, so that it may close.
func (e incEnv) assessLow(t *testing.T, id int64) {
	t.Helper()
	if _, err := e.svc.Assess(context.Background(), e.a, incident.Ref{ID: id}, incident.Impact{Functional: incident.FunctionalLow,
		Recoverability: incident.RecoverRegular, Criticality: incident.CriticalityMedium}); err != nil {
		t.Fatal(err)
	}
}

func TestClose(t *testing.T) {
	t.Parallel()
	e := newIncEnv(t)
	ctx := context.Background()
	inc := e.create(t, incDraft("close me"))
	closing := incident.Closing{Resolution: incident.ResolutionResolved, Summary: "mail deleted, password reset"}
	_, err := e.svc.Close(ctx, e.a, incident.Ref{ID: inc.ID}, incident.Closing{Resolution: "fixed"})
	if fs := fault.Faults(err); len(fs) != 2 || !fault.Is(err, fault.Invalid) {
		t.Errorf("Close(bad resolution, no summary): got %v, want two Invalid faults", err)
	}
	_, err = e.svc.Close(ctx, e.a, incident.Ref{ID: inc.ID}, closing)
	wantFault(t, "Close(no severity)", err, fault.Conflict, "incident.close_no_severity")
	e.assessLow(t, inc.ID)
	req, err := e.svc.AddTask(ctx, e.a, inc.ID, incident.TaskInput{Title: "Reset the password", Required: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.AddTask(ctx, e.a, inc.ID, incident.TaskInput{Title: "Nice to have"}); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.Close(ctx, e.a, incident.Ref{ID: inc.ID}, closing)
	wantFault(t, "Close(required task open)", err, fault.Conflict, "incident.close_open_tasks")
	if _, err := e.svc.SetTaskStatus(ctx, e.a, incident.TaskRef{ID: req.ID}, incident.TaskInProgress, ""); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.Close(ctx, e.a, incident.Ref{ID: inc.ID}, closing)
	wantFault(t, "Close(required task in progress)", err, fault.Conflict, "incident.close_open_tasks")
	if _, err := e.svc.SetTaskStatus(ctx, e.a, incident.TaskRef{ID: req.ID}, incident.TaskSkipped, "user left the company"); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(time.Hour)
	got, err := e.svc.Close(ctx, e.a, incident.Ref{ID: inc.ID}, closing)
	if err != nil {
		t.Fatalf("Close(required task skipped, optional open): %v", err)
	}
	now := incT0.Add(time.Hour)
	if got.Status != incident.StatusClosed || got.Phase != incident.PhaseClosed || got.Resolution != incident.ResolutionResolved ||
		got.Summary != closing.Summary || !got.ClosedAt.Equal(now) || !got.ResolvedAt.Equal(now) || !got.AcknowledgedAt.Equal(now) {
		t.Errorf("Close = %+v", got)
	}
	ref := incident.Ref{ID: inc.ID, Version: got.Version}
	// A closed incident is read-only until it is reopened.
	calls := map[string]error{}
	_, calls["Update"] = e.svc.Update(ctx, e.a, ref, incident.Input{Title: "x", Type: incident.TypeOther})
	_, calls["ChangePhase"] = e.svc.ChangePhase(ctx, e.a, ref, incident.PhaseAnalysis, "x")
	_, calls["ChangeStatus"] = e.svc.ChangeStatus(ctx, e.a, ref, incident.StatusOnHold, "x")
	_, calls["Close"] = e.svc.Close(ctx, e.a, ref, closing)
	_, calls["Assign"] = e.svc.Assign(ctx, e.a, ref, []int64{e.a.UserID})
	_, calls["Assess"] = e.svc.Assess(ctx, e.a, ref, incident.Impact{Functional: incident.FunctionalLow,
		Recoverability: incident.RecoverRegular, Criticality: incident.CriticalityMedium})
	_, calls["OverrideSeverity"] = e.svc.OverrideSeverity(ctx, e.a, ref, incident.SeverityHigh, "x")
	_, calls["AddTask"] = e.svc.AddTask(ctx, e.a, inc.ID, incident.TaskInput{Title: "x"})
	_, calls["SetTaskStatus"] = e.svc.SetTaskStatus(ctx, e.a, incident.TaskRef{ID: req.ID}, incident.TaskOpen, "")
	_, calls["AddNote"] = e.svc.AddNote(ctx, e.a, inc.ID, incident.Note{Text: "x"})
	_, calls["SaveReview"] = e.svc.SaveReview(ctx, e.a, inc.ID, 0, incident.ReviewInput{Cause: incident.CauseOther})
	for name, err := range calls {
		wantFault(t, name+"(closed)", err, fault.Conflict, "incident.closed")
	}
	_, err = e.svc.Reopen(ctx, e.a, ref, "", "")
	wantFault(t, "Reopen(no reason)", err, fault.Invalid, "incident.reason_required")
	_, err = e.svc.Reopen(ctx, e.a, ref, incident.PhaseTriage, "x")
	wantFault(t, "Reopen(into triage)", err, fault.Conflict, "incident.bad_phase")
	e.clock.Add(time.Hour)
	got, err = e.svc.Reopen(ctx, e.a, ref, "", "the attacker came back")
	if err != nil {
		t.Fatalf("Reopen: %v", err)
	}
	if got.Status != incident.StatusOpen || got.Phase != incident.PhaseAnalysis || got.StatusReason != "the attacker came back" ||
		got.Resolution != "" || got.Summary != "" || !got.ClosedAt.IsZero() || !got.ResolvedAt.IsZero() || !got.AcknowledgedAt.Equal(now) {
		t.Errorf("Reopen = %+v", got)
	}
	_, err = e.svc.Reopen(ctx, e.a, incident.Ref{ID: inc.ID}, "", "again")
	wantFault(t, "Reopen(open)", err, fault.Conflict, "incident.not_closed")
	if _, err := e.svc.AddNote(ctx, e.a, inc.ID, incident.Note{Text: "editable again"}); err != nil {
		t.Errorf("AddNote after reopen: %v", err)
	}
	d := e.detail(t, inc.ID)
	var statuses []string
	for _, en := range d.Timeline {
		if en.Kind == incident.EntryStatus {
			statuses = append(statuses, en.Msg)
		}
	}
	if diff := cmp.Diff([]string{"incident.timeline.closed", "incident.timeline.reopened"}, statuses); diff != "" {
		t.Errorf("status entries (-want +got):\n%s", diff)
	}
}

// TestCloseNeedsReview: a high or critical incident closes only with a
// completed post-incident review.
func TestCloseNeedsReview(t *testing.T) {
	t.Parallel()
	e := newIncEnv(t)
	ctx := context.Background()
	for _, sev := range []incident.Severity{incident.SeverityHigh, incident.SeverityCritical} {
		inc := e.create(t, incDraft("serious "+string(sev)))
		if _, err := e.svc.OverrideSeverity(ctx, e.a, incident.Ref{ID: inc.ID}, sev, "ransom note on screen"); err != nil {
			t.Fatal(err)
		}
		closing := incident.Closing{Resolution: incident.ResolutionResolved, Summary: "restored from backup"}
		_, err := e.svc.Close(ctx, e.a, incident.Ref{ID: inc.ID}, closing)
		wantFault(t, "Close("+string(sev)+", no review)", err, fault.Conflict, "incident.close_review_missing")
		r, err := e.svc.SaveReview(ctx, e.a, inc.ID, 0, incident.ReviewInput{Cause: incident.CauseWeakAuth, CauseText: "VPN without MFA"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.Close(ctx, e.a, incident.Ref{ID: inc.ID}, closing)
		wantFault(t, "Close("+string(sev)+", draft review)", err, fault.Conflict, "incident.close_review_missing")
		if _, err := e.svc.SaveReview(ctx, e.a, inc.ID, r.Version, incident.ReviewInput{Cause: incident.CauseWeakAuth,
			CauseText: "VPN without MFA", Complete: true}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Close(ctx, e.a, incident.Ref{ID: inc.ID}, closing); err != nil {
			t.Errorf("Close(%s, review complete): %v", sev, err)
		}
	}
	// Medium closes without one.
	inc := e.create(t, incDraft("medium"))
	if _, err := e.svc.OverrideSeverity(ctx, e.a, incident.Ref{ID: inc.ID}, incident.SeverityMedium, "judged medium"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Close(ctx, e.a, incident.Ref{ID: inc.ID}, incident.Closing{Resolution: incident.ResolutionFalsePositive,
		Summary: "a newsletter"}); err != nil {
		t.Errorf("Close(medium, no review): %v", err)
	}
}

func TestAssessAndOverride(t *testing.T) {
	t.Parallel()
	e := newIncEnv(t)
	ctx := context.Background()
	inc := e.create(t, incDraft("assess"))
	got, err := e.svc.Assess(ctx, e.a, incident.Ref{ID: inc.ID, Version: 1}, incident.Impact{Functional: incident.FunctionalMedium,
		Information: []incident.InformationImpact{incident.InfoSensitive}, People: 2, Recoverability: incident.RecoverRegular,
		Criticality: incident.CriticalityMedium})
	if err != nil || got.Severity != incident.SeverityHigh || got.Assessment.Severity != incident.SeverityHigh {
		t.Fatalf("Assess = %s (assessed %s), %v; want high", got.Severity, got.Assessment.Severity, err)
	}
	_, err = e.svc.OverrideSeverity(ctx, e.a, incident.Ref{ID: inc.ID}, incident.SeverityLow, "")
	wantFault(t, "OverrideSeverity(no reason)", err, fault.Invalid, "incident.reason_required")
	_, err = e.svc.OverrideSeverity(ctx, e.a, incident.Ref{ID: inc.ID}, "severe", "x")
	wantFault(t, "OverrideSeverity(unknown)", err, fault.Invalid, "incident.severity_invalid")
	e.clock.Add(time.Minute)
	got, err = e.svc.OverrideSeverity(ctx, e.a, incident.Ref{ID: inc.ID}, incident.SeverityCritical, "the CEO's mailbox")
	want := incident.Override{Severity: incident.SeverityCritical, Reason: "the CEO's mailbox", ByID: e.a.UserID, By: "resp1",
		At: incT0.Add(time.Minute)}
	if err != nil || got.Severity != incident.SeverityCritical || got.Override != want {
		t.Errorf("OverrideSeverity = %s %+v, %v; want critical, %+v", got.Severity, got.Override, err, want)
	}
	// A new assessment does not beat the override…
	got, err = e.svc.Assess(ctx, e.a, incident.Ref{ID: inc.ID}, incident.Impact{Functional: incident.FunctionalLow,
		Recoverability: incident.RecoverRegular, Criticality: incident.CriticalityLow})
	if err != nil || got.Severity != incident.SeverityCritical || got.Assessment.Severity != incident.SeverityLow {
		t.Errorf("Assess under an override = %s (assessed %s), %v; want critical (assessed low)", got.Severity, got.Assessment.Severity, err)
	}
	// …until the override is removed.
	got, err = e.svc.OverrideSeverity(ctx, e.a, incident.Ref{ID: inc.ID}, "", "")
	if err != nil || got.Severity != incident.SeverityLow || got.Override != (incident.Override{}) {
		t.Errorf("OverrideSeverity(remove) = %s %+v, %v; want low, no override", got.Severity, got.Override, err)
	}
	if diff := cmp.Diff([]string{"incident.create", "incident.assess", "incident.override", "incident.assess", "incident.override"},
		e.audits(t, inc.ID)); diff != "" {
		t.Errorf("audit (-want +got):\n%s", diff)
	}
}

func TestAssign(t *testing.T) {
	t.Parallel()
	e := newIncEnv(t)
	ctx := context.Background()
	inc := e.create(t, incDraft("assign"))
	an := e.user(t, "ana", auth.RoleAnalyst)
	viewer := e.user(t, "boss", auth.RoleViewer)
	got, err := e.svc.Assign(ctx, e.a, incident.Ref{ID: inc.ID, Version: 1}, []int64{an.UserID, e.a.UserID, an.UserID})
	if err != nil || !cmp.Equal(got.Assignees, []int64{an.UserID, e.a.UserID}) || got.Version != 2 {
		t.Fatalf("Assign = %v (version %d), %v", got.Assignees, got.Version, err)
	}
	_, err = e.svc.Assign(ctx, e.a, incident.Ref{ID: inc.ID}, []int64{viewer.UserID})
	wantFault(t, "Assign(viewer)", err, fault.Invalid, "incident.person_cannot")
	_, err = e.svc.Assign(ctx, e.a, incident.Ref{ID: inc.ID}, []int64{999})
	wantFault(t, "Assign(unknown)", err, fault.Invalid, "incident.person_unknown")
	p, err := e.svc.Incidents(ctx, e.a, incident.Filter{AssigneeID: an.UserID})
	if err != nil || len(p.Incidents) != 1 {
		t.Errorf("Incidents(assignee ana) = %d, %v; want 1", len(p.Incidents), err)
	}
	got, err = e.svc.Assign(ctx, e.a, incident.Ref{ID: inc.ID}, nil)
	if err != nil || got.Assignees != nil {
		t.Errorf("Assign(nobody) = %v, %v", got.Assignees, err)
	}
	d := e.detail(t, inc.ID)
	var assigned []string
	for _, en := range d.Timeline {
		if en.Kind == incident.EntryAssign {
			assigned = append(assigned, strings.Join(en.Args, "="))
		}
	}
	if diff := cmp.Diff([]string{"names=ana, resp1", "names="}, assigned); diff != "" {
		t.Errorf("assign entries (-want +got):\n%s", diff)
	}
}

func TestLinks(t *testing.T) {
	t.Parallel()
	e := newIncEnv(t)
	ctx := context.Background()
	a := e.create(t, incDraft("a"))
	b := e.create(t, incDraft("b"))
	c := e.create(t, incDraft("c"))
	other := e.create(t, incident.Draft{Tenant: "acme", Input: incident.Input{Title: "other tenant", Type: incident.TypeDoS}})
	link := func(from, to int64, k incident.LinkKind) error { return e.svc.Link(ctx, e.a, from, to, k) }
	if err := link(a.ID, b.ID, incident.LinkRelated); err != nil {
		t.Fatal(err)
	}
	wantFault(t, "Link(related again, reversed)", link(b.ID, a.ID, incident.LinkRelated), fault.Conflict, "incident.link_exists")
	wantFault(t, "Link(self)", link(a.ID, a.ID, incident.LinkParent), fault.Invalid, "incident.link_self")
	wantFault(t, "Link(other tenant)", link(a.ID, other.ID, incident.LinkRelated), fault.Invalid, "incident.link_target_unknown")
	wantFault(t, "Link(missing)", link(a.ID, 999, incident.LinkRelated), fault.Invalid, "incident.link_target_unknown")
	wantFault(t, "Link(from missing)", link(999, a.ID, incident.LinkRelated), fault.NotFound, "incident.not_found")
	wantFault(t, "Link(bad kind)", link(a.ID, b.ID, "sibling"), fault.Invalid, "incident.link_kind_invalid")
	if err := link(c.ID, a.ID, incident.LinkParent); err != nil {
		t.Fatal(err)
	}
	wantFault(t, "Link(second parent)", link(c.ID, b.ID, incident.LinkParent), fault.Conflict, "incident.link_taken")
	wantFault(t, "Link(parent cycle)", link(a.ID, c.ID, incident.LinkParent), fault.Conflict, "incident.link_cycle")
	if err := link(b.ID, c.ID, incident.LinkDuplicateOf); err != nil {
		t.Fatal(err)
	}
	wantFault(t, "Link(duplicate cycle)", link(c.ID, b.ID, incident.LinkDuplicateOf), fault.Conflict, "incident.link_cycle")
	d := e.detail(t, a.ID)
	type view struct {
		Kind    incident.LinkKind
		Reverse bool
		Ref     string
	}
	var got []view
	for _, l := range d.Links {
		got = append(got, view{l.Kind, l.Reverse, l.Other.Ref})
	}
	want := []view{{incident.LinkRelated, false, b.Ref}, {incident.LinkParent, true, c.Ref}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("links of a (-want +got):\n%s", diff)
	}
	// Related links come undone from either end; the others from theirs.
	if err := e.svc.Unlink(ctx, e.a, b.ID, a.ID, incident.LinkRelated); err != nil {
		t.Errorf("Unlink(related, reversed): %v", err)
	}
	wantFault(t, "Unlink(parent, wrong end)", e.svc.Unlink(ctx, e.a, a.ID, c.ID, incident.LinkParent), fault.NotFound, "incident.link_not_found")
	if err := e.svc.Unlink(ctx, e.a, c.ID, a.ID, incident.LinkParent); err != nil {
		t.Errorf("Unlink(parent): %v", err)
	}
	if d := e.detail(t, a.ID); len(d.Links) != 0 {
		t.Errorf("links of a after unlinking = %+v, want none", d.Links)
	}
	var entries []string
	for _, en := range e.detail(t, b.ID).Timeline {
		if en.Kind == incident.EntryLink {
			entries = append(entries, en.Msg+" "+strings.Join(en.Args, " "))
		}
	}
	want2 := []string{"incident.timeline.linked_by_related ref " + a.Ref, "incident.timeline.linked_duplicate_of ref " + c.Ref,
		"incident.timeline.unlinked ref " + a.Ref + " kind related"}
	if diff := cmp.Diff(want2, entries); diff != "" {
		t.Errorf("link entries of b (-want +got):\n%s", diff)
	}
	// A closed incident takes no new links of its own.
	e.assessLow(t, b.ID)
	if _, err := e.svc.Close(ctx, e.a, incident.Ref{ID: b.ID}, incident.Closing{Resolution: incident.ResolutionDuplicate, Summary: "dup"}); err != nil {
		t.Fatal(err)
	}
	wantFault(t, "Link(from closed)", link(b.ID, a.ID, incident.LinkRelated), fault.Conflict, "incident.closed")
	if err := link(a.ID, b.ID, incident.LinkRelated); err != nil {
		t.Errorf("Link(to closed): %v", err)
	}
}

func TestList(t *testing.T) {
	t.Parallel()
	e := newIncEnv(t)
	ctx := context.Background()
	var ids []int64
	for i := range 5 {
		d := incDraft(fmt.Sprintf("incident %d", i))
		if i%2 == 1 {
			d.Type, d.Description = incident.TypeRansomware, "ファイルが暗号化された"
		}
		ids = append([]int64{e.create(t, d).ID}, ids...)
	}
	e.assessLow(t, ids[0])
	if _, err := e.svc.ChangePhase(ctx, e.a, incident.Ref{ID: ids[1]}, incident.PhaseContainment, ""); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		f    incident.Filter
		want []int64
	}{
		{"all", incident.Filter{}, ids},
		{"type", incident.Filter{Types: []incident.Type{incident.TypeRansomware}}, []int64{ids[1], ids[3]}},
		{"text", incident.Filter{Text: "暗号化"}, []int64{ids[1], ids[3]}},
		{"phase", incident.Filter{Phases: []incident.Phase{incident.PhaseContainment}}, []int64{ids[1]}},
		{"severity", incident.Filter{Severities: []incident.Severity{incident.SeverityLow}}, []int64{ids[0]}},
		{"status", incident.Filter{Statuses: []incident.Status{incident.StatusClosed}}, nil},
	} {
		p, err := e.svc.Incidents(ctx, e.a, c.f)
		if err != nil {
			t.Errorf("Incidents(%s): %v", c.name, err)
			continue
		}
		var got []int64
		for _, i := range p.Incidents {
			got = append(got, i.ID)
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("Incidents(%s) (-want +got):\n%s", c.name, diff)
		}
	}
	var paged []int64
	f := incident.Filter{Limit: 2}
	for range 5 {
		p, err := e.svc.Incidents(ctx, e.a, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, i := range p.Incidents {
			paged = append(paged, i.ID)
		}
		if p.Next == 0 {
			break
		}
		f.After = p.Next
	}
	if diff := cmp.Diff(ids, paged); diff != "" {
		t.Errorf("Incidents paged by 2 (-want +got):\n%s", diff)
	}
	_, err := e.svc.Incidents(ctx, e.a, incident.Filter{Statuses: []incident.Status{"gone"}, Phases: []incident.Phase{"x"},
		Types: []incident.Type{"y"}, Severities: []incident.Severity{"z"}, Limit: 501, After: -1, Text: strings.Repeat("x", 201)})
	if n := len(fault.Faults(err)); n != 7 || !fault.Is(err, fault.Invalid) {
		t.Errorf("Incidents(every filter bad): got %v (%d faults), want 7 Invalid faults", err, n)
	}
}

// failingStore fails AppendAudit when failAudit is set, after the rest of
// an operation has been written in its transaction.
type failingStore struct {
	*store.DB
	failAudit bool
}

var errAuditDown = errors.New("audit down")

func (f *failingStore) AppendAudit(ctx context.Context, e audit.Entry) error {
	if f.failAudit {
		return errAuditDown
	}
	return f.DB.AppendAudit(ctx, e)
}

// TestNothingHalfSaved: when the last step of an operation (its audit
// entry) fails, none of it is stored.
func TestNothingHalfSaved(t *testing.T) {
	t.Parallel()
	db := storetest.OpenSQLite(t)
	fs := &failingStore{DB: db}
	e := newIncEnvOn(t, db, fs)
	ctx := context.Background()
	inc := e.create(t, incDraft("kept"))
	fs.failAudit = true
	if _, err := e.svc.Create(ctx, e.a, incDraft("lost")); !errors.Is(err, errAuditDown) {
		t.Errorf("Create with the audit down: got %v, want it", err)
	}
	if _, err := e.svc.Update(ctx, e.a, incident.Ref{ID: inc.ID, Version: 1}, incident.Input{Title: "changed", Type: incident.TypeDoS}); !errors.Is(err, errAuditDown) {
		t.Errorf("Update with the audit down: got %v, want it", err)
	}
	if _, err := e.svc.AddTasks(ctx, e.a, inc.ID, []incident.TaskInput{{Title: "one"}, {Title: "two"}}); !errors.Is(err, errAuditDown) {
		t.Errorf("AddTasks with the audit down: got %v, want it", err)
	}
	if _, err := e.svc.ChangePhase(ctx, e.a, incident.Ref{ID: inc.ID}, incident.PhaseAnalysis, ""); !errors.Is(err, errAuditDown) {
		t.Errorf("ChangePhase with the audit down: got %v, want it", err)
	}
	fs.failAudit = false
	d := e.detail(t, inc.ID)
	if d.Version != 1 || d.Title != "kept" || d.Phase != incident.PhaseTriage || len(d.Tasks) != 0 || len(d.Timeline) != 1 {
		t.Errorf("after failed changes: version %d, title %q, phase %s, %d tasks, %d entries; want all as created",
			d.Version, d.Title, d.Phase, len(d.Tasks), len(d.Timeline))
	}
	if next := e.create(t, incDraft("next")); next.Ref != "INC-2026-0002" {
		t.Errorf("next reference = %s, want INC-2026-0002 (the failed create gave its number back)", next.Ref)
	}
}

// TestPostgres runs the lifecycle once on PostgreSQL, where transactions
// and numbering go through other code paths.
func TestPostgres(t *testing.T) {
	t.Parallel()
	e := newIncEnvOn(t, storetest.OpenPostgres(t), nil)
	ctx := context.Background()
	inc := e.create(t, incDraft("on postgres"))
	task, err := e.svc.AddTask(ctx, e.a, inc.ID, incident.TaskInput{Title: "required", Required: true})
	if err != nil {
		t.Fatal(err)
	}
	e.assessLow(t, inc.ID)
	closing := incident.Closing{Resolution: incident.ResolutionResolved, Summary: "done"}
	_, err = e.svc.Close(ctx, e.a, incident.Ref{ID: inc.ID}, closing)
	wantFault(t, "Close(open task)", err, fault.Conflict, "incident.close_open_tasks")
	if _, err := e.svc.SetTaskStatus(ctx, e.a, incident.TaskRef{ID: task.ID, Version: task.Version}, incident.TaskDone, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Close(ctx, e.a, incident.Ref{ID: inc.ID}, closing); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if d := e.detail(t, inc.ID); d.Status != incident.StatusClosed || len(d.Timeline) < 4 {
		t.Errorf("after close: %s with %d entries", d.Status, len(d.Timeline))
	}
}
