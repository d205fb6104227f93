// SPDX-License-Identifier: Apache-2.0

package incident_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/incident"
	"github.com/koban-csirt/koban/internal/store/storetest"
)

// twoAlerts are two alerts of a ransomware outbreak, the second seen first.
func twoAlerts() []incident.AlertInput {
	return []incident.AlertInput{
		{ID: 11, Title: "Shadow copies deleted", Level: "critical", Host: "FILESRV01", User: `CORP\tanaka`,
			Fields: []incident.AlertField{
				{Name: "Image", Value: `C:\Windows\System32\vssadmin.exe`},
				{Name: "CommandLine", Value: "vssadmin delete shadows /all /quiet"},
				{Name: "Hashes", Value: "SHA256=" + "ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12"},
			},
			Techniques: []string{"T1490", "T1059.001"}, FirstSeen: incT0.Add(-2 * time.Hour), LastSeen: incT0.Add(-time.Hour), Count: 3},
		{ID: 12, Title: "Connection to known C2", Level: "high", Host: "ws-042", User: "suzuki",
			Fields:     []incident.AlertField{{Name: "DestinationIp", Value: "203.0.113.9"}, {Name: "QueryName", Value: "c2.evil.example"}},
			Techniques: []string{"T1071"}, FirstSeen: incT0.Add(-3 * time.Hour), LastSeen: incT0.Add(-time.Hour), Count: 1},
	}
}

func TestFromAlertsCreate(t *testing.T) {
	ctx := context.Background()
	e := newIncEnv(t)
	d := incident.Draft{Input: incident.Input{Title: "Ransomware on FILESRV01", Type: incident.TypeRansomware,
		AffectedAssets: []string{"NAS01"}}}
	inc, err := e.svc.CreateFromAlerts(ctx, e.a, d, twoAlerts())
	if err != nil {
		t.Fatalf("CreateFromAlerts: %v", err)
	}
	if diff := cmp.Diff([]string{"T1490", "T1059.001", "T1071"}, inc.Techniques); diff != "" {
		t.Errorf("Techniques (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"NAS01", "FILESRV01", "ws-042"}, inc.AffectedAssets); diff != "" {
		t.Errorf("AffectedAssets (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{`CORP\tanaka`, "suzuki"}, inc.AffectedUsers); diff != "" {
		t.Errorf("AffectedUsers (-want +got):\n%s", diff)
	}
	if want := incT0.Add(-3 * time.Hour).Truncate(time.Microsecond); !inc.DetectedAt.Equal(want) {
		t.Errorf("DetectedAt = %v, want the earliest first detection %v", inc.DetectedAt, want)
	}
	obs, err := e.svc.Observables(ctx, e.a, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]string{}
	for _, o := range obs {
		have[string(o.Kind)+":"+o.Value] = o.Source
	}
	for pair, src := range map[string]string{
		"host:filesrv01":   "alert:11",
		`user:CORP\tanaka`: "alert:11",
		`filename:C:\Windows\System32\vssadmin.exe`:                               "alert:11",
		"sha256:ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12": "alert:11",
		"ip:203.0.113.9":         "alert:12",
		"domain:c2.evil.example": "alert:12",
		"host:ws-042":            "alert:12",
		"user:suzuki":            "alert:12",
	} {
		if have[pair] != src {
			t.Errorf("observable %s: source %q, want %q (have %v)", pair, have[pair], src, have)
		}
	}
	det := e.detail(t, inc.ID)
	var alertAt []time.Time
	for _, en := range det.Timeline {
		if en.Kind == incident.EntryAlert {
			alertAt = append(alertAt, en.At)
		}
	}
	want := []time.Time{incT0.Add(-3 * time.Hour).Truncate(time.Microsecond), incT0.Add(-2 * time.Hour).Truncate(time.Microsecond)}
	if diff := cmp.Diff(want, alertAt); diff != "" {
		t.Errorf("alert timeline entries at their first detections (-want +got):\n%s", diff)
	}
	links, err := e.svc.AlertsOfIncident(ctx, e.a, inc.ID)
	if err != nil || len(links) != 2 || links[0].AlertID != 12 || links[1].Title != "Shadow copies deleted" ||
		links[1].Level != "critical" || links[1].Host != "FILESRV01" {
		t.Errorf("AlertsOfIncident = %+v, %v; want 12 then 11 with their snapshots", links, err)
	}
	of, err := e.svc.IncidentsOfAlert(ctx, e.a, "", 11)
	if err != nil || len(of) != 1 || of[0].Incident.Ref != inc.Ref {
		t.Errorf("IncidentsOfAlert(11) = %+v, %v; want %s", of, err, inc.Ref)
	}
	if of, err := e.svc.IncidentsOfAlert(ctx, e.a, "other", 11); err != nil || len(of) != 0 {
		t.Errorf("IncidentsOfAlert(other tenant, 11) = %+v, %v; want none", of, err)
	}
}

func TestFromAlertsSuggest(t *testing.T) {
	ctx := context.Background()
	e := newIncEnv(t)
	inc, err := e.svc.CreateFromAlerts(ctx, e.a, incident.Draft{}, twoAlerts())
	if err != nil {
		t.Fatalf("CreateFromAlerts(empty draft): %v", err)
	}
	if inc.Title != "Shadow copies deleted (FILESRV01) +1" || inc.Type != incident.TypeRansomware {
		t.Errorf("CreateFromAlerts(empty draft): title %q type %s, want the suggestions", inc.Title, inc.Type)
	}
	long := twoAlerts()
	long[0].Title = strings.Repeat("長い", 150)
	if inc, err := e.svc.CreateFromAlerts(ctx, e.a, incident.Draft{}, long); err != nil {
		t.Errorf("CreateFromAlerts(300-character alert title): %v", err)
	} else if n := utf8.RuneCountInString(inc.Title); n != 200 || !strings.HasSuffix(inc.Title, " (FILESRV01) +1") {
		t.Errorf("CreateFromAlerts(300-character alert title): title %q (%d characters), want 200 ending with host and count", inc.Title, n)
	}
	for _, c := range []struct {
		techniques []string
		want       incident.Type
	}{
		{[]string{"T1566.001"}, incident.TypePhishing},
		{[]string{"T1110.003", "T1059"}, incident.TypeAccountCompromise},
		{[]string{"T9999"}, incident.TypeOther},
		{nil, incident.TypeOther},
	} {
		if got := incident.SuggestType([]incident.AlertInput{{Techniques: c.techniques}}); got != c.want {
			t.Errorf("SuggestType(%v) = %s, want %s", c.techniques, got, c.want)
		}
	}
}

func TestFromAlertsAddTwiceRefused(t *testing.T) {
	ctx := context.Background()
	e := newIncEnv(t)
	alerts := twoAlerts()
	inc, err := e.svc.CreateFromAlerts(ctx, e.a, incDraft("From alert 11"), alerts[:1])
	if err != nil {
		t.Fatal(err)
	}
	before := e.detail(t, inc.ID)
	// 12 is new, 11 is taken: nothing of the call is kept.
	_, err = e.svc.AddAlerts(ctx, e.a, incident.Ref{ID: inc.ID}, []incident.AlertInput{alerts[1], alerts[0]})
	wantFault(t, "AddAlerts(12, 11)", err, fault.Conflict, "incidentobs.alert_taken")
	after := e.detail(t, inc.ID)
	if len(after.Timeline) != len(before.Timeline) || after.Version != before.Version {
		t.Errorf("refused AddAlerts left changes: timeline %d → %d entries, version %d → %d",
			len(before.Timeline), len(after.Timeline), before.Version, after.Version)
	}
	if links, _ := e.svc.AlertsOfIncident(ctx, e.a, inc.ID); len(links) != 1 {
		t.Errorf("AlertsOfIncident after refused AddAlerts: %+v, want alert 11 only", links)
	}
	// 12 alone merges: its host and technique join, and its earlier first
	// detection becomes the incident's.
	got, err := e.svc.AddAlerts(ctx, e.a, incident.Ref{ID: inc.ID, Version: before.Version}, alerts[1:])
	if err != nil {
		t.Fatalf("AddAlerts(12): %v", err)
	}
	if !slices.Contains(got.AffectedAssets, "ws-042") || !slices.Contains(got.Techniques, "T1071") ||
		!got.DetectedAt.Equal(alerts[1].FirstSeen.Truncate(time.Microsecond)) || got.Version != before.Version+1 {
		t.Errorf("AddAlerts(12) = assets %v techniques %v detected %v version %d", got.AffectedAssets, got.Techniques,
			got.DetectedAt, got.Version)
	}
	// A stale version is refused.
	_, err = e.svc.AddAlerts(ctx, e.a, incident.Ref{ID: inc.ID, Version: before.Version}, []incident.AlertInput{{ID: 13}})
	wantFault(t, "AddAlerts(stale)", err, fault.Conflict, "incident.changed")
	// Bad lists.
	_, err = e.svc.AddAlerts(ctx, e.a, incident.Ref{ID: inc.ID}, nil)
	wantFault(t, "AddAlerts(none)", err, fault.Invalid, "incidentobs.no_alerts")
	_, err = e.svc.AddAlerts(ctx, e.a, incident.Ref{ID: inc.ID}, []incident.AlertInput{{ID: 14}, {ID: 14}})
	wantFault(t, "AddAlerts(14, 14)", err, fault.Invalid, "incidentobs.alert_twice")
	_, err = e.svc.AddAlerts(ctx, e.a, incident.Ref{ID: inc.ID}, []incident.AlertInput{{ID: 15, Tenant: "other"}})
	wantFault(t, "AddAlerts(other tenant)", err, fault.Invalid, "incidentobs.alert_tenant")
	if au := e.audits(t, inc.ID); count(au, "incident.add_alerts") != 1 {
		t.Errorf("audit %v: want one incident.add_alerts", au)
	}
}

func TestFromAlertsRelatedAcrossIncidents(t *testing.T) {
	ctx := context.Background()
	e := newIncEnv(t)
	alerts := twoAlerts()
	a, err := e.svc.CreateFromAlerts(ctx, e.a, incDraft("A"), alerts[:1])
	if err != nil {
		t.Fatal(err)
	}
	// Another alert on the same host a day later becomes its own incident.
	later := alerts[0]
	later.ID, later.FirstSeen = 21, incT0.Add(-time.Minute)
	b, err := e.svc.CreateFromAlerts(ctx, e.a, incDraft("B"), []incident.AlertInput{later})
	if err != nil {
		t.Fatal(err)
	}
	rel, err := e.svc.RelatedIncidents(ctx, e.a, b.ID)
	if err != nil || len(rel) != 1 || rel[0].Incident.ID != a.ID || len(rel[0].Shared) < 2 {
		t.Errorf("RelatedIncidents(B) = %+v, %v; want A sharing the host, user and more", rel, err)
	}
}

// TestFromAlertsPostgres: a refused merge (an alert taken already) leaves
// the PostgreSQL transaction usable for the next call, and related
// incidents are found there too.
func TestFromAlertsPostgres(t *testing.T) {
	t.Parallel()
	e := newIncEnvOn(t, storetest.OpenPostgres(t), nil)
	ctx := context.Background()
	alerts := twoAlerts()
	a, err := e.svc.CreateFromAlerts(ctx, e.a, incDraft("A"), alerts[:1])
	if err != nil {
		t.Fatalf("CreateFromAlerts: %v", err)
	}
	_, err = e.svc.AddAlerts(ctx, e.a, incident.Ref{ID: a.ID}, alerts)
	wantFault(t, "AddAlerts(taken)", err, fault.Conflict, "incidentobs.alert_taken")
	later := alerts[0]
	later.ID = 31
	b, err := e.svc.CreateFromAlerts(ctx, e.a, incDraft("B"), []incident.AlertInput{later})
	if err != nil {
		t.Fatalf("CreateFromAlerts(B): %v", err)
	}
	if rel, err := e.svc.RelatedIncidents(ctx, e.a, b.ID); err != nil || len(rel) != 1 || rel[0].Incident.ID != a.ID {
		t.Errorf("RelatedIncidents(B) = %+v, %v; want A", rel, err)
	}
}
