// SPDX-License-Identifier: Apache-2.0

package storetest

import (
	"context"
	"errors"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/koban-csirt/koban/internal/auth"
	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/incident"
	"github.com/koban-csirt/koban/internal/store"
)

// incidentCases are the conformance cases of the incident tables.
var incidentCases = []struct {
	name string
	fn   func(t *testing.T, db *store.DB)
}{
	{"IncidentRoundTrip", testIncidentRoundTrip},
	{"IncidentUpdateVersion", testIncidentUpdateVersion},
	{"IncidentRefUnique", testIncidentRefUnique},
	{"IncidentNumbersConcurrent", testIncidentNumbersConcurrent},
	{"IncidentTxRollback", testIncidentTxRollback},
	{"IncidentsFilter", testIncidentsFilter},
	{"IncidentsText", testIncidentsText},
	{"IncidentsPaging", testIncidentsPaging},
	{"IncidentTasks", testIncidentTasks},
	{"IncidentOverdueTasks", testIncidentOverdueTasks},
	{"IncidentTimeline", testIncidentTimeline},
	{"IncidentLinks", testIncidentLinks},
	{"IncidentReview", testIncidentReview},
	{"IncidentPreventionActions", testIncidentPreventionActions},
	{"IncidentPerson", testIncidentPerson},
}

// sampleIncident returns an incident with every field set.
func sampleIncident(tenant, ref string, at time.Time) incident.Incident {
	return incident.Incident{Tenant: tenant, Ref: ref, Title: "Ransomware on FILESRV <script>alert(1)</script>",
		Description: "暗号化されたファイルを発見。\nNote: 100% of share \\\\files affected", Type: incident.TypeRansomware,
		Status: incident.StatusOpen, Phase: incident.PhaseContainment, Severity: incident.SeverityCritical,
		Assessment: incident.Assessment{Impact: incident.Impact{Functional: incident.FunctionalHigh,
			Information: []incident.InformationImpact{incident.InfoPersonal, incident.InfoConfidential}, People: 1200,
			Recoverability: incident.RecoverExtended, Criticality: incident.CriticalityHigh},
			Severity: incident.SeverityCritical, Reasons: []incident.Reason{{Msg: "incident.severity.why.functional_high",
				Severity: incident.SeverityHigh}, {Msg: "incident.severity.why.people_over", Args: []string{"people", "1200"},
				Severity: incident.SeverityHigh}}, At: at, ByID: 3, By: "alice"},
		Override: incident.Override{Severity: incident.SeverityCritical, Reason: "board says so", ByID: 4, By: "bob",
			At: at.Add(time.Minute)},
		AffectedAssets: []string{"FILESRV01", "WS-042"}, AffectedUsers: []string{`CORP\tanaka`},
		Techniques: []string{"T1486", "T1059.001"}, Fields: []incident.Field{{Name: "保険 claim", Value: "C-123"},
			{Name: "Police", Value: "case 9"}}, Tags: []string{"board", "insurer"},
		Flags:      incident.Flags{PersonalData: true, MaliciousIntent: true, Over1000: true},
		DetectedAt: at.Add(-time.Hour), AwareAt: at, AcknowledgedAt: at.Add(2 * time.Minute),
		ContainedAt: at.Add(3 * time.Hour), CreatedByID: 3, CreatedBy: "alice", Version: 1,
		CreatedAt: at, UpdatedAt: at}
}

func createIncident(t *testing.T, db *store.DB, inc incident.Incident) incident.Incident {
	t.Helper()
	got, err := db.CreateIncident(context.Background(), inc)
	if err != nil {
		t.Fatalf("CreateIncident(%s): %v", inc.Ref, err)
	}
	return got
}

// bareIncident returns an incident with only what every incident has.
func bareIncident(tenant, ref string) incident.Incident {
	return incident.Incident{Tenant: tenant, Ref: ref, Title: ref, Type: incident.TypeOther,
		Status: incident.StatusOpen, Phase: incident.PhaseTriage, AwareAt: t0, DetectedAt: t0, Version: 1,
		CreatedBy: "system", CreatedAt: t0, UpdatedAt: t0}
}

func testIncidentRoundTrip(t *testing.T, db *store.DB) {
	ctx := context.Background()
	u := newUser(t, db, "responder1", auth.RoleResponder)
	want := sampleIncident("acme", "INC-2026-0001", t0)
	want.Assignees = []int64{u.ID}
	got := createIncident(t, db, want)
	if got.ID == 0 {
		t.Fatal("CreateIncident: id not set")
	}
	want.ID = got.ID
	for name, read := range map[string]func() (incident.Incident, error){
		"Incident":      func() (incident.Incident, error) { return db.Incident(ctx, want.ID) },
		"IncidentByRef": func() (incident.Incident, error) { return db.IncidentByRef(ctx, "acme", "INC-2026-0001") },
	} {
		i, err := read()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if diff := cmp.Diff(want, i); diff != "" {
			t.Errorf("%s after CreateIncident (-want +got):\n%s", name, diff)
		}
	}
	bare := createIncident(t, db, bareIncident("", "INC-2026-0001"))
	b, err := db.Incident(ctx, bare.ID)
	if err != nil {
		t.Fatalf("Incident(bare): %v", err)
	}
	if diff := cmp.Diff(bareIncident("", "INC-2026-0001"), b, cmp.FilterPath(func(p cmp.Path) bool {
		return p.String() == "ID"
	}, cmp.Ignore())); diff != "" {
		t.Errorf("Incident(bare) (-want +got):\n%s", diff)
	}
	if _, err := db.Incident(ctx, 99999); !fault.Is(err, fault.NotFound) {
		t.Errorf("Incident(99999): got %v, want NotFound", err)
	}
	if _, err := db.IncidentByRef(ctx, "other", "INC-2026-0001"); !fault.Is(err, fault.NotFound) {
		t.Errorf("IncidentByRef(other tenant): got %v, want NotFound", err)
	}
}

func testIncidentUpdateVersion(t *testing.T, db *store.DB) {
	ctx := context.Background()
	u1 := newUser(t, db, "u1", auth.RoleResponder)
	u2 := newUser(t, db, "u2", auth.RoleAnalyst)
	cur := sampleIncident("", "INC-2026-0007", t0)
	cur.Assignees = []int64{u1.ID}
	cur = createIncident(t, db, cur)
	next := cur
	next.Title, next.Description, next.Type = "Phishing after all", "", incident.TypePhishing
	next.Status, next.StatusReason, next.Phase = incident.StatusClosed, "", incident.PhaseClosed
	next.Resolution, next.Summary, next.Severity = incident.ResolutionResolved, "done", incident.SeverityLow
	next.Assessment, next.Override = incident.Assessment{}, incident.Override{}
	next.Assignees, next.AffectedAssets, next.AffectedUsers = []int64{u2.ID, u1.ID}, nil, []string{"someone"}
	next.Techniques, next.Fields, next.Tags, next.Flags = nil, nil, []string{"x"}, incident.Flags{EUResidents: true}
	next.ResolvedAt, next.ClosedAt, next.Version, next.UpdatedAt = t0.Add(time.Hour), t0.Add(2*time.Hour), 2, t0.Add(time.Hour)
	// The tenant, reference and creation never change.
	changed := next
	changed.Tenant, changed.Ref, changed.CreatedAt, changed.CreatedBy = "evil", "INC-1999-0001", t0.Add(time.Hour), "mallory"
	if err := db.UpdateIncident(ctx, changed, 5); !fault.Is(err, fault.NotFound) {
		t.Errorf("UpdateIncident(stale version 5): got %v, want NotFound", err)
	}
	if err := db.UpdateIncident(ctx, changed, 1); err != nil {
		t.Fatalf("UpdateIncident(version 1): %v", err)
	}
	got, err := db.Incident(ctx, cur.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(next, got); diff != "" {
		t.Errorf("Incident after UpdateIncident (-want +got):\n%s", diff)
	}
	if err := db.UpdateIncident(ctx, next, 1); !fault.Is(err, fault.NotFound) {
		t.Errorf("UpdateIncident(version 1 again): got %v, want NotFound", err)
	}
	for _, c := range []struct {
		user int64
		want int
	}{{u1.ID, 1}, {u2.ID, 1}} {
		if got, err := db.Incidents(ctx, incident.Filter{AssigneeID: c.user}); err != nil || len(got) != c.want {
			t.Errorf("Incidents(assignee %d) = %d incidents, %v; want %d", c.user, len(got), err, c.want)
		}
	}
	next.Assignees, next.Version = nil, 3
	if err := db.UpdateIncident(ctx, next, 2); err != nil {
		t.Fatal(err)
	}
	if got, err := db.Incidents(ctx, incident.Filter{AssigneeID: u1.ID}); err != nil || len(got) != 0 {
		t.Errorf("Incidents(assignee) after unassigning = %d incidents, %v; want none", len(got), err)
	}
}

func testIncidentRefUnique(t *testing.T, db *store.DB) {
	ctx := context.Background()
	createIncident(t, db, bareIncident("", "INC-2026-0001"))
	if _, err := db.CreateIncident(ctx, bareIncident("", "INC-2026-0001")); !fault.Is(err, fault.Conflict) {
		t.Errorf("CreateIncident(same tenant and ref): got %v, want Conflict", err)
	}
	createIncident(t, db, bareIncident("other", "INC-2026-0001"))
}

// testIncidentNumbersConcurrent numbers incidents from many goroutines, as
// the service does (number and insert in one transaction): every number of
// a tenant's year is given once, and years and tenants count apart.
func testIncidentNumbersConcurrent(t *testing.T, db *store.DB) {
	ctx := context.Background()
	const n = 12
	var wg sync.WaitGroup
	errs := make(chan error, n)
	refs := make(chan string, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := db.Tx(ctx, func(ctx context.Context) error {
				num, err := db.NextIncidentNumber(ctx, "", 2026)
				if err != nil {
					return err
				}
				inc, err := db.CreateIncident(ctx, bareIncident("", incident.FormatRef(2026, num)))
				if err == nil {
					refs <- inc.Ref
				}
				return err
			})
			if err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	close(refs)
	for err := range errs {
		t.Errorf("numbering concurrently: %v", err)
	}
	var got, want []string
	for r := range refs {
		got = append(got, r)
	}
	for i := 1; i <= n; i++ {
		want = append(want, incident.FormatRef(2026, i))
	}
	sort.Strings(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("references numbered concurrently (-want +got):\n%s", diff)
	}
	for _, c := range []struct {
		tenant string
		year   int
		want   int
	}{{"", 2027, 1}, {"acme", 2026, 1}, {"", 2026, n + 1}} {
		if got, err := db.NextIncidentNumber(ctx, c.tenant, c.year); err != nil || got != c.want {
			t.Errorf("NextIncidentNumber(%q, %d) = %d, %v; want %d", c.tenant, c.year, got, err, c.want)
		}
	}
}

// testIncidentTxRollback: an error inside a transaction leaves no incident,
// no entry and no used number behind.
func testIncidentTxRollback(t *testing.T, db *store.DB) {
	ctx := context.Background()
	boom := errors.New("boom")
	var id int64
	err := db.Tx(ctx, func(ctx context.Context) error {
		num, err := db.NextIncidentNumber(ctx, "", 2026)
		if err != nil {
			return err
		}
		inc, err := db.CreateIncident(ctx, bareIncident("", incident.FormatRef(2026, num)))
		if err != nil {
			return err
		}
		id = inc.ID
		if _, err := db.AddIncidentEntry(ctx, incident.Entry{IncidentID: inc.ID, Kind: incident.EntryCreated, At: t0,
			RecordedAt: t0, Author: "system", Msg: "incident.timeline.created"}); err != nil {
			return err
		}
		if _, err := db.CreateIncidentTask(ctx, incident.Task{IncidentID: inc.ID, Title: "x", Phase: incident.PhaseTriage,
			Status: incident.TaskOpen, Version: 1, CreatedAt: t0, UpdatedAt: t0}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Tx: got %v, want boom", err)
	}
	if _, err := db.Incident(ctx, id); !fault.Is(err, fault.NotFound) {
		t.Errorf("Incident(%d) after rollback: got %v, want NotFound", id, err)
	}
	if es, err := db.IncidentEntries(ctx, id); err != nil || len(es) != 0 {
		t.Errorf("IncidentEntries after rollback = %v, %v; want none", es, err)
	}
	if n, err := db.NextIncidentNumber(ctx, "", 2026); err != nil || n != 1 {
		t.Errorf("NextIncidentNumber after rollback = %d, %v; want 1 (the number was given back)", n, err)
	}
	// A failing statement inside the transaction rolls back what came
	// before it too.
	err = db.Tx(ctx, func(ctx context.Context) error {
		if _, err := db.CreateIncident(ctx, bareIncident("", "INC-2026-0100")); err != nil {
			return err
		}
		_, err := db.CreateIncident(ctx, bareIncident("", "INC-2026-0100"))
		return err
	})
	if !fault.Is(err, fault.Conflict) {
		t.Errorf("Tx(two incidents with one ref): got %v, want Conflict", err)
	}
	if _, err := db.IncidentByRef(ctx, "", "INC-2026-0100"); !fault.Is(err, fault.NotFound) {
		t.Errorf("IncidentByRef after the failed transaction: got %v, want NotFound", err)
	}
}

func incidentIDs(is []incident.Incident) []int64 {
	out := []int64{}
	for _, i := range is {
		out = append(out, i.ID)
	}
	return out
}

func testIncidentsFilter(t *testing.T, db *store.DB) {
	ctx := context.Background()
	u := newUser(t, db, "carol", auth.RoleResponder)
	mk := func(ref string, ty incident.Type, st incident.Status, ph incident.Phase, sev incident.Severity, assignees ...int64) int64 {
		i := bareIncident("", ref)
		i.Type, i.Status, i.Phase, i.Severity, i.Assignees = ty, st, ph, sev, assignees
		return createIncident(t, db, i).ID
	}
	i1 := mk("INC-2026-0001", incident.TypePhishing, incident.StatusOpen, incident.PhaseTriage, incident.SeverityLow)
	i2 := mk("INC-2026-0002", incident.TypeRansomware, incident.StatusOnHold, incident.PhaseContainment, incident.SeverityCritical, u.ID)
	i3 := mk("INC-2026-0003", incident.TypePhishing, incident.StatusClosed, incident.PhaseClosed, incident.SeverityHigh, u.ID)
	i4 := mk("INC-2026-0004", incident.TypeOther, incident.StatusOpen, incident.PhaseAnalysis, "")
	other := bareIncident("acme", "INC-2026-0001")
	i5 := createIncident(t, db, other).ID
	for _, c := range []struct {
		name string
		f    incident.Filter
		want []int64
	}{
		{"all", incident.Filter{}, []int64{i4, i3, i2, i1}},
		{"tenant", incident.Filter{Tenant: "acme"}, []int64{i5}},
		{"statuses", incident.Filter{Statuses: []incident.Status{incident.StatusOpen, incident.StatusOnHold}}, []int64{i4, i2, i1}},
		{"phases", incident.Filter{Phases: []incident.Phase{incident.PhaseClosed}}, []int64{i3}},
		{"types", incident.Filter{Types: []incident.Type{incident.TypePhishing}}, []int64{i3, i1}},
		{"severities", incident.Filter{Severities: []incident.Severity{incident.SeverityHigh, incident.SeverityCritical}}, []int64{i3, i2}},
		{"assignee", incident.Filter{AssigneeID: u.ID}, []int64{i3, i2}},
		{"combined", incident.Filter{AssigneeID: u.ID, Statuses: []incident.Status{incident.StatusClosed}, Types: []incident.Type{incident.TypePhishing}}, []int64{i3}},
		{"nothing", incident.Filter{Types: []incident.Type{incident.TypeDoS}}, []int64{}},
	} {
		got, err := db.Incidents(ctx, c.f)
		if err != nil {
			t.Errorf("Incidents(%s): %v", c.name, err)
			continue
		}
		if diff := cmp.Diff(c.want, incidentIDs(got)); diff != "" {
			t.Errorf("Incidents(%s %+v) ids (-want +got):\n%s", c.name, c.f, diff)
		}
	}
}

func testIncidentsText(t *testing.T, db *store.DB) {
	ctx := context.Background()
	hit := createIncident(t, db, sampleIncident("", "INC-2026-0001", t0)).ID
	b := bareIncident("", "INC-2026-0002")
	b.Title, b.Description, b.AffectedAssets = "Plain", "nothing special", []string{"DB01"}
	miss := createIncident(t, db, b).ID
	for _, c := range []struct {
		text string
		want []int64
	}{
		{"RANSOMWARE", []int64{hit}},
		{"暗号化", []int64{hit}},
		{"inc-2026-0002", []int64{miss}}, // the reference, case folded
		{"ws-042", []int64{hit}},         // an affected asset
		{`corp\tanaka`, []int64{hit}},    // an affected user, with a backslash
		{"c-123", []int64{hit}},          // a custom field's value
		{"t1486", []int64{hit}},          // a technique
		{"insurer", []int64{hit}},        // a tag
		{"100%", []int64{hit}},           // % is literal
		{"1_0", []int64{}},               // _ is no wildcard
		{"<script>", []int64{hit}},       // stored as written
		{"db01", []int64{miss}},
		{"nowhere", []int64{}},
	} {
		got, err := db.Incidents(ctx, incident.Filter{Text: c.text})
		if err != nil {
			t.Errorf("Incidents(text %q): %v", c.text, err)
			continue
		}
		if diff := cmp.Diff(c.want, incidentIDs(got)); diff != "" {
			t.Errorf("Incidents(text %q) ids (-want +got):\n%s", c.text, diff)
		}
	}
}

func testIncidentsPaging(t *testing.T, db *store.DB) {
	ctx := context.Background()
	var all []int64
	for i := 1; i <= 7; i++ {
		all = append([]int64{createIncident(t, db, bareIncident("", incident.FormatRef(2026, i))).ID}, all...)
	}
	var got []int64
	after := int64(0)
	for page := 0; page < 10; page++ {
		is, err := db.Incidents(ctx, incident.Filter{Limit: 3, After: after})
		if err != nil {
			t.Fatalf("Incidents(page %d): %v", page, err)
		}
		if len(is) == 0 {
			break
		}
		got = append(got, incidentIDs(is)...)
		after = is[len(is)-1].ID
	}
	if diff := cmp.Diff(all, got); diff != "" {
		t.Errorf("Incidents paged by 3 (-want +got):\n%s", diff)
	}
}

func sampleTask(incidentID int64, title string) incident.Task {
	return incident.Task{IncidentID: incidentID, Title: title, Why: "because <b>it matters</b>",
		Phase: incident.PhaseContainment, OwnerRole: "it_admin", Due: t0.Add(4 * time.Hour), Status: incident.TaskOpen,
		Checklist: []incident.CheckItem{{Text: "LAN ケーブルを抜く"}, {Text: "Wi-Fi を切る", Done: true}}, Required: true,
		Source: incident.TaskSource{PlaybookID: "ransomware", TaskID: "isolate"}, Version: 1, CreatedAt: t0, UpdatedAt: t0}
}

func testIncidentTasks(t *testing.T, db *store.DB) {
	ctx := context.Background()
	u := newUser(t, db, "dave", auth.RoleResponder)
	inc := createIncident(t, db, bareIncident("", "INC-2026-0001"))
	want := sampleTask(inc.ID, "Isolate the PC")
	got, err := db.CreateIncidentTask(ctx, want)
	if err != nil {
		t.Fatalf("CreateIncidentTask: %v", err)
	}
	want.ID = got.ID
	read, err := db.IncidentTask(ctx, got.ID)
	if err != nil {
		t.Fatalf("IncidentTask: %v", err)
	}
	if diff := cmp.Diff(want, read); diff != "" {
		t.Errorf("IncidentTask after create (-want +got):\n%s", diff)
	}
	bare, err := db.CreateIncidentTask(ctx, incident.Task{IncidentID: inc.ID, Title: "second", Phase: incident.PhaseTriage,
		Status: incident.TaskOpen, Version: 1, CreatedAt: t0, UpdatedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	next := want
	next.Title, next.OwnerID, next.OwnerRole, next.Status, next.StatusReason = "Isolated", u.ID, "", incident.TaskSkipped, "not needed"
	next.Checklist, next.Required, next.Due, next.DoneAt, next.Version, next.UpdatedAt = nil, false, time.Time{}, t0.Add(time.Hour), 2, t0.Add(time.Hour)
	changed := next
	changed.Source = incident.TaskSource{PlaybookID: "other"} // never changes
	if err := db.UpdateIncidentTask(ctx, changed, 9); !fault.Is(err, fault.NotFound) {
		t.Errorf("UpdateIncidentTask(stale): got %v, want NotFound", err)
	}
	if err := db.UpdateIncidentTask(ctx, changed, 1); err != nil {
		t.Fatalf("UpdateIncidentTask: %v", err)
	}
	ts, err := db.IncidentTasks(ctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]incident.Task{next, bare}, ts); diff != "" {
		t.Errorf("IncidentTasks (-want +got):\n%s", diff)
	}
	if err := db.DeleteIncidentTask(ctx, bare.ID); err != nil {
		t.Fatalf("DeleteIncidentTask: %v", err)
	}
	if err := db.DeleteIncidentTask(ctx, bare.ID); !fault.Is(err, fault.NotFound) {
		t.Errorf("DeleteIncidentTask(again): got %v, want NotFound", err)
	}
	if _, err := db.IncidentTask(ctx, bare.ID); !fault.Is(err, fault.NotFound) {
		t.Errorf("IncidentTask(deleted): got %v, want NotFound", err)
	}
	if _, err := db.CreateIncidentTask(ctx, sampleTask(424242, "orphan")); !fault.Is(err, fault.Invalid) {
		t.Errorf("CreateIncidentTask(unknown incident): got %v, want Invalid", err)
	}
}

func testIncidentOverdueTasks(t *testing.T, db *store.DB) {
	ctx := context.Background()
	open := createIncident(t, db, bareIncident("", "INC-2026-0001"))
	closed := bareIncident("", "INC-2026-0002")
	closed.Status, closed.Phase = incident.StatusClosed, incident.PhaseClosed
	closed = createIncident(t, db, closed)
	other := createIncident(t, db, bareIncident("acme", "INC-2026-0001"))
	now := t0.Add(10 * time.Hour)
	mk := func(inc incident.Incident, title string, due time.Time, st incident.TaskStatus) int64 {
		tk := sampleTask(inc.ID, title)
		tk.Due, tk.Status = due, st
		got, err := db.CreateIncidentTask(ctx, tk)
		if err != nil {
			t.Fatal(err)
		}
		return got.ID
	}
	late := mk(open, "late", now.Add(-time.Hour), incident.TaskInProgress)
	later := mk(open, "very late", now.Add(-5*time.Hour), incident.TaskOpen)
	mk(open, "not yet due", now.Add(time.Hour), incident.TaskOpen)
	mk(open, "no due time", time.Time{}, incident.TaskOpen)
	mk(open, "done late", now.Add(-time.Hour), incident.TaskDone)
	mk(open, "skipped", now.Add(-time.Hour), incident.TaskSkipped)
	mk(closed, "on a closed incident", now.Add(-time.Hour), incident.TaskOpen)
	mk(other, "other tenant", now.Add(-time.Hour), incident.TaskOpen)
	got, err := db.OverdueIncidentTasks(ctx, "", now, 10)
	if err != nil {
		t.Fatalf("OverdueIncidentTasks: %v", err)
	}
	var ids []int64
	for _, d := range got {
		ids = append(ids, d.ID)
		if d.Incident.Ref != open.Ref || d.Incident.ID != open.ID || d.Incident.Status != incident.StatusOpen {
			t.Errorf("OverdueIncidentTasks: task %d has incident %+v, want %s", d.ID, d.Incident, open.Ref)
		}
	}
	if diff := cmp.Diff([]int64{later, late}, ids); diff != "" {
		t.Errorf("OverdueIncidentTasks ids, earliest due first (-want +got):\n%s", diff)
	}
	if got, err := db.OverdueIncidentTasks(ctx, "", now, 1); err != nil || len(got) != 1 || got[0].ID != later {
		t.Errorf("OverdueIncidentTasks(limit 1) = %v, %v; want the earliest", got, err)
	}
}

func testIncidentTimeline(t *testing.T, db *store.DB) {
	ctx := context.Background()
	inc := createIncident(t, db, bareIncident("", "INC-2026-0001"))
	add := func(e incident.Entry) incident.Entry {
		t.Helper()
		got, err := db.AddIncidentEntry(ctx, e)
		if err != nil {
			t.Fatalf("AddIncidentEntry(%s): %v", e.Kind, err)
		}
		return got
	}
	auto := add(incident.Entry{IncidentID: inc.ID, Kind: incident.EntryPhase, At: t0.Add(time.Hour), RecordedAt: t0.Add(time.Hour),
		AuthorID: 3, Author: "alice", Msg: "incident.timeline.phase", Args: []string{"from", "triage", "to", "analysis"}})
	// Recorded later, but happened first: it sorts first.
	manual := add(incident.Entry{IncidentID: inc.ID, Kind: incident.EntryAction, At: t0.Add(-time.Hour), RecordedAt: t0.Add(2 * time.Hour),
		AuthorID: 3, Author: "alice", Manual: true, Text: "LAN ケーブルを抜いた <b>13:05</b>"})
	same := add(incident.Entry{IncidentID: inc.ID, Kind: incident.EntryNote, At: t0.Add(time.Hour), RecordedAt: t0.Add(3 * time.Hour),
		Author: "system", Msg: "incident.timeline.created"})
	got, err := db.IncidentEntries(ctx, inc.ID)
	if err != nil {
		t.Fatalf("IncidentEntries: %v", err)
	}
	same.Args = nil // no arguments read back as none
	if diff := cmp.Diff([]incident.Entry{manual, auto, same}, got); diff != "" {
		t.Errorf("IncidentEntries (-want +got):\n%s", diff)
	}
	if _, err := db.AddIncidentEntry(ctx, incident.Entry{IncidentID: 424242, Kind: incident.EntryNote, At: t0, RecordedAt: t0,
		Author: "x", Manual: true, Text: "orphan"}); !fault.Is(err, fault.Invalid) {
		t.Errorf("AddIncidentEntry(unknown incident): got %v, want Invalid", err)
	}
}

func testIncidentLinks(t *testing.T, db *store.DB) {
	ctx := context.Background()
	a := createIncident(t, db, bareIncident("", "INC-2026-0001"))
	b := createIncident(t, db, bareIncident("", "INC-2026-0002"))
	c := sampleIncident("", "INC-2026-0003", t0)
	c = createIncident(t, db, c)
	l1 := incident.Link{From: a.ID, To: b.ID, Kind: incident.LinkDuplicateOf, CreatedAt: t0, AuthorID: 3, Author: "alice"}
	l2 := incident.Link{From: c.ID, To: a.ID, Kind: incident.LinkParent, CreatedAt: t0.Add(time.Minute), Author: "bob"}
	for _, l := range []incident.Link{l1, l2} {
		if err := db.AddIncidentLink(ctx, l); err != nil {
			t.Fatalf("AddIncidentLink(%d → %d %s): %v", l.From, l.To, l.Kind, err)
		}
	}
	if err := db.AddIncidentLink(ctx, l1); !fault.Is(err, fault.Conflict) {
		t.Errorf("AddIncidentLink(again): got %v, want Conflict", err)
	}
	if err := db.AddIncidentLink(ctx, incident.Link{From: a.ID, To: 424242, Kind: incident.LinkRelated, CreatedAt: t0}); !fault.Is(err, fault.Invalid) {
		t.Errorf("AddIncidentLink(unknown incident): got %v, want Invalid", err)
	}
	got, err := db.IncidentLinks(ctx, a.ID)
	if err != nil {
		t.Fatalf("IncidentLinks: %v", err)
	}
	want := []incident.Linked{
		{Link: l1, Other: b.Headline()},
		{Link: l2, Reverse: true, Other: c.Headline()},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("IncidentLinks(a) (-want +got):\n%s", diff)
	}
	if err := db.DeleteIncidentLink(ctx, incident.Link{From: b.ID, To: a.ID, Kind: incident.LinkDuplicateOf}); !fault.Is(err, fault.NotFound) {
		t.Errorf("DeleteIncidentLink(reversed ends): got %v, want NotFound", err)
	}
	if err := db.DeleteIncidentLink(ctx, l1); err != nil {
		t.Fatalf("DeleteIncidentLink: %v", err)
	}
	if got, err := db.IncidentLinks(ctx, b.ID); err != nil || len(got) != 0 {
		t.Errorf("IncidentLinks(b) after delete = %v, %v; want none", got, err)
	}
}

func testIncidentReview(t *testing.T, db *store.DB) {
	ctx := context.Background()
	inc := createIncident(t, db, bareIncident("", "INC-2026-0001"))
	if _, err := db.IncidentReview(ctx, inc.ID); !fault.Is(err, fault.NotFound) {
		t.Errorf("IncidentReview(none): got %v, want NotFound", err)
	}
	want := incident.Review{IncidentID: inc.ID, Cause: incident.CauseSocialEngineering, CauseText: "開封した添付ファイル",
		Whys: []string{"clicked", "looked real", "no training"}, WentWell: "fast isolation", WentBadly: "no backups <b>",
		CompletedAt: t0, CompletedBy: "alice", Version: 1, UpdatedAt: t0, UpdatedBy: "alice"}
	if err := db.SaveIncidentReview(ctx, want, 0); err != nil {
		t.Fatalf("SaveIncidentReview(new): %v", err)
	}
	if err := db.SaveIncidentReview(ctx, want, 0); !fault.Is(err, fault.Conflict) {
		t.Errorf("SaveIncidentReview(new again): got %v, want Conflict", err)
	}
	got, err := db.IncidentReview(ctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("IncidentReview (-want +got):\n%s", diff)
	}
	next := want
	next.Whys, next.CompletedAt, next.CompletedBy, next.Version, next.UpdatedBy = nil, time.Time{}, "", 2, "bob"
	if err := db.SaveIncidentReview(ctx, next, 5); !fault.Is(err, fault.NotFound) {
		t.Errorf("SaveIncidentReview(stale): got %v, want NotFound", err)
	}
	if err := db.SaveIncidentReview(ctx, next, 1); err != nil {
		t.Fatalf("SaveIncidentReview(update): %v", err)
	}
	if got, err := db.IncidentReview(ctx, inc.ID); err != nil || !cmp.Equal(next, got) {
		t.Errorf("IncidentReview after update = %+v, %v; want %+v", got, err, next)
	}
	if err := db.SaveIncidentReview(ctx, incident.Review{IncidentID: 424242, Version: 1}, 0); !fault.Is(err, fault.Invalid) {
		t.Errorf("SaveIncidentReview(unknown incident): got %v, want Invalid", err)
	}
}

func testIncidentPreventionActions(t *testing.T, db *store.DB) {
	ctx := context.Background()
	u := newUser(t, db, "erin", auth.RoleResponder)
	open := createIncident(t, db, bareIncident("", "INC-2026-0001"))
	closed := bareIncident("", "INC-2026-0002")
	closed.Status, closed.Phase = incident.StatusClosed, incident.PhaseClosed
	closed = createIncident(t, db, closed)
	mk := func(inc incident.Incident, title string, due time.Time, st incident.ActionStatus) incident.PreventionAction {
		p, err := db.CreatePreventionAction(ctx, incident.PreventionAction{IncidentID: inc.ID, Title: title, OwnerID: u.ID,
			OwnerRole: "management", Due: due, Status: st, Version: 1, CreatedAt: t0, UpdatedAt: t0})
		if err != nil {
			t.Fatalf("CreatePreventionAction(%s): %v", title, err)
		}
		return p
	}
	mfa := mk(closed, "MFA for all mail accounts", t0.Add(30*24*time.Hour), incident.ActionOpen)
	train := mk(open, "Phishing training", t0.Add(7*24*time.Hour), incident.ActionInProgress)
	nodue := mk(open, "Review backups", time.Time{}, incident.ActionOpen)
	mk(open, "Buy a UTM", t0, incident.ActionCancelled)
	read, err := db.PreventionAction(ctx, mfa.ID)
	if err != nil || !cmp.Equal(mfa, read) {
		t.Errorf("PreventionAction(%d) = %+v, %v; want %+v", mfa.ID, read, err, mfa)
	}
	got, err := db.OpenPreventionActions(ctx, "", 10)
	if err != nil {
		t.Fatalf("OpenPreventionActions: %v", err)
	}
	var ids []int64
	for _, d := range got {
		ids = append(ids, d.ID)
	}
	if diff := cmp.Diff([]int64{train.ID, mfa.ID, nodue.ID}, ids); diff != "" {
		t.Errorf("OpenPreventionActions ids (by due, none last; closed incidents included) (-want +got):\n%s", diff)
	}
	if len(got) > 1 && got[1].Incident.Ref != closed.Ref {
		t.Errorf("OpenPreventionActions[1].Incident = %+v, want %s", got[1].Incident, closed.Ref)
	}
	next := mfa
	next.Status, next.DoneAt, next.Version, next.UpdatedAt = incident.ActionDone, t0.Add(time.Hour), 2, t0.Add(time.Hour)
	if err := db.UpdatePreventionAction(ctx, next, 3); !fault.Is(err, fault.NotFound) {
		t.Errorf("UpdatePreventionAction(stale): got %v, want NotFound", err)
	}
	if err := db.UpdatePreventionAction(ctx, next, 1); err != nil {
		t.Fatalf("UpdatePreventionAction: %v", err)
	}
	list, err := db.PreventionActions(ctx, closed.ID)
	if err != nil || len(list) != 1 || !cmp.Equal(next, list[0]) {
		t.Errorf("PreventionActions(closed) = %+v, %v; want [%+v]", list, err, next)
	}
	if _, err := db.CreatePreventionAction(ctx, incident.PreventionAction{IncidentID: 424242, Title: "x",
		Status: incident.ActionOpen, Version: 1}); !fault.Is(err, fault.Invalid) {
		t.Errorf("CreatePreventionAction(unknown incident): got %v, want Invalid", err)
	}
}

func testIncidentPerson(t *testing.T, db *store.DB) {
	ctx := context.Background()
	u := newUser(t, db, "frank", auth.RoleViewer)
	got, err := db.IncidentPerson(ctx, u.ID)
	want := incident.Person{ID: u.ID, Name: "frank", Role: string(auth.RoleViewer)}
	if err != nil || got != want {
		t.Errorf("IncidentPerson(%d) = %+v, %v; want %+v", u.ID, got, err, want)
	}
	if _, err := db.IncidentPerson(ctx, 424242); !fault.Is(err, fault.NotFound) {
		t.Errorf("IncidentPerson(424242): got %v, want NotFound", err)
	}
}
