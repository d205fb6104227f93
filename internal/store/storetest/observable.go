// SPDX-License-Identifier: Apache-2.0

package storetest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/incident"
	"github.com/koban-csirt/koban/internal/store"
)

// observableCases are the conformance cases of incidents' observables and the alerts they were made from.
var observableCases = []conformanceCase{
	{"IncidentObservableRoundTrip", testIncidentObservableRoundTrip},
	{"IncidentObservableUnique", testIncidentObservableUnique},
	{"IncidentObservablesShared", testIncidentObservablesShared},
	{"IncidentAlerts", testIncidentAlerts},
}

func newObservable(incidentID int64, kind incident.ObservableKind, value string) incident.StoredObservable {
	return incident.StoredObservable{IncidentID: incidentID, Observable: incident.Observable{Kind: kind, Value: value,
		Source: incident.ObservableSourceManual}, AddedByID: 3, AddedBy: "alice", AddedAt: t0, UpdatedAt: t0}
}

func createObservable(t *testing.T, db *store.DB, o incident.StoredObservable) incident.StoredObservable {
	t.Helper()
	got, err := db.CreateIncidentObservable(context.Background(), o)
	if err != nil {
		t.Fatalf("CreateIncidentObservable(%s %s): %v", o.Kind, o.Value, err)
	}
	return got
}

func testIncidentObservableRoundTrip(t *testing.T, db *store.DB) {
	ctx := context.Background()
	inc := createIncident(t, db, bareIncident("", "INC-2026-0001"))
	want := incident.StoredObservable{IncidentID: inc.ID, Observable: incident.Observable{Kind: incident.ObservableFilename,
		Value: `C:\Users\田中\請求書.pdf` + "\u202e" + `exe.scr ` + strings.Repeat("x", 4000), IOC: true, Source: incident.AlertSource(42),
		Note: "<script>alert(1)</script>\nline two"}, AddedByID: 7, AddedBy: "bob", AddedAt: t0, UpdatedAt: t0.Add(time.Second)}
	got := createObservable(t, db, want)
	if got.ID == 0 {
		t.Fatal("CreateIncidentObservable: id not set")
	}
	want.ID = got.ID
	read, err := db.IncidentObservable(ctx, got.ID)
	if err != nil {
		t.Fatalf("IncidentObservable: %v", err)
	}
	if diff := cmp.Diff(want, read); diff != "" {
		t.Errorf("IncidentObservable after create (-want +got):\n%s", diff)
	}
	second := createObservable(t, db, newObservable(inc.ID, incident.ObservableIP, "192.0.2.1"))
	want.IOC, want.Note, want.UpdatedAt = false, "", t0.Add(time.Hour)
	if err := db.UpdateIncidentObservable(ctx, want); err != nil {
		t.Fatalf("UpdateIncidentObservable: %v", err)
	}
	list, err := db.IncidentObservables(ctx, inc.ID)
	if err != nil {
		t.Fatalf("IncidentObservables: %v", err)
	}
	if diff := cmp.Diff([]incident.StoredObservable{want, second}, list); diff != "" {
		t.Errorf("IncidentObservables after update (-want +got):\n%s", diff)
	}
	if err := db.DeleteIncidentObservable(ctx, want.ID); err != nil {
		t.Fatalf("DeleteIncidentObservable: %v", err)
	}
	for name, err := range map[string]error{
		"DeleteIncidentObservable(again)": db.DeleteIncidentObservable(ctx, want.ID),
		"UpdateIncidentObservable(gone)":  db.UpdateIncidentObservable(ctx, want),
	} {
		if !fault.Is(err, fault.NotFound) {
			t.Errorf("%s: %v, want NotFound", name, err)
		}
	}
	if _, err := db.IncidentObservable(ctx, want.ID); !fault.Is(err, fault.NotFound) {
		t.Errorf("IncidentObservable(deleted): %v, want NotFound", err)
	}
	if _, err := db.CreateIncidentObservable(ctx, newObservable(99999, incident.ObservableIP, "192.0.2.1")); !fault.Is(err, fault.Invalid) {
		t.Errorf("CreateIncidentObservable(no incident): %v, want Invalid", err)
	}
}

func testIncidentObservableUnique(t *testing.T, db *store.DB) {
	ctx := context.Background()
	a := createIncident(t, db, bareIncident("", "INC-2026-0001"))
	b := createIncident(t, db, bareIncident("", "INC-2026-0002"))
	long := "http://evil.example/" + strings.Repeat("a", 4000)
	createObservable(t, db, newObservable(a.ID, incident.ObservableURL, long))
	_, err := db.CreateIncidentObservable(ctx, newObservable(a.ID, incident.ObservableURL, long))
	if !fault.Is(err, fault.Conflict) {
		t.Errorf("CreateIncidentObservable(same kind and value): %v, want Conflict", err)
	}
	// Another kind, another value or another incident is fine.
	createObservable(t, db, newObservable(a.ID, incident.ObservableDomain, long))
	createObservable(t, db, newObservable(a.ID, incident.ObservableURL, long+"b"))
	createObservable(t, db, newObservable(b.ID, incident.ObservableURL, long))
}

func testIncidentObservablesShared(t *testing.T, db *store.DB) {
	ctx := context.Background()
	a := createIncident(t, db, bareIncident("", "INC-2026-0001"))
	b := createIncident(t, db, bareIncident("", "INC-2026-0002"))
	c := createIncident(t, db, bareIncident("", "INC-2026-0003"))
	other := createIncident(t, db, bareIncident("acme", "INC-2026-0001"))
	createObservable(t, db, newObservable(a.ID, incident.ObservableDomain, "evil.example"))
	createObservable(t, db, newObservable(a.ID, incident.ObservableIP, "203.0.113.9"))
	createObservable(t, db, newObservable(a.ID, incident.ObservableHost, "ws-1"))
	bDom := newObservable(b.ID, incident.ObservableDomain, "evil.example")
	bDom.IOC = true
	createObservable(t, db, bDom)
	createObservable(t, db, newObservable(c.ID, incident.ObservableIP, "203.0.113.9"))
	createObservable(t, db, newObservable(c.ID, incident.ObservableDomain, "evil.example"))
	createObservable(t, db, newObservable(c.ID, incident.ObservableHost, "evil.example"))       // another kind
	createObservable(t, db, newObservable(other.ID, incident.ObservableDomain, "evil.example")) // another tenant
	got, err := db.SharedObservables(ctx, a.ID, 100)
	if err != nil {
		t.Fatalf("SharedObservables: %v", err)
	}
	var rows []string
	for _, r := range got {
		ioc := ""
		if r.IOC {
			ioc = " ioc"
		}
		rows = append(rows, r.Other.Ref+" "+string(r.Kind)+":"+r.Value+ioc)
	}
	want := []string{"INC-2026-0003 ip:203.0.113.9", "INC-2026-0003 domain:evil.example", "INC-2026-0002 domain:evil.example ioc"}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("SharedObservables(A), newest other incident first (-want +got):\n%s", diff)
	}
	if got, err := db.SharedObservables(ctx, a.ID, 1); err != nil || len(got) != 1 {
		t.Errorf("SharedObservables(A, limit 1): %d rows, %v; want 1", len(got), err)
	}
	if got, err := db.SharedObservables(ctx, other.ID, 100); err != nil || len(got) != 0 {
		t.Errorf("SharedObservables(other tenant): %v, %v; want none", got, err)
	}
}

func testIncidentAlerts(t *testing.T, db *store.DB) {
	ctx := context.Background()
	a := createIncident(t, db, bareIncident("", "INC-2026-0001"))
	b := createIncident(t, db, bareIncident("", "INC-2026-0002"))
	link := func(inc incident.Incident, alertID int64, first time.Time) incident.AlertLink {
		return incident.AlertLink{IncidentID: inc.ID, AlertID: alertID, Title: "Rule <b>" + inc.Ref, Level: "high",
			Host: "ws-042", FirstSeen: first, AddedAt: t0.Add(time.Duration(alertID) * time.Second), AddedByID: 3, AddedBy: "alice"}
	}
	l1, l2, l3 := link(a, 11, t0.Add(-time.Hour)), link(a, 12, t0.Add(-2*time.Hour)), link(b, 11, t0)
	for _, l := range []incident.AlertLink{l1, l2, l3} {
		if err := db.AddIncidentAlert(ctx, l); err != nil {
			t.Fatalf("AddIncidentAlert(%d, %d): %v", l.IncidentID, l.AlertID, err)
		}
	}
	if err := db.AddIncidentAlert(ctx, l1); !fault.Is(err, fault.Conflict) {
		t.Errorf("AddIncidentAlert twice: %v, want Conflict", err)
	}
	if err := db.AddIncidentAlert(ctx, incident.AlertLink{IncidentID: 99999, AlertID: 1, AddedBy: "x"}); !fault.Is(err, fault.Invalid) {
		t.Errorf("AddIncidentAlert(no incident): %v, want Invalid", err)
	}
	got, err := db.IncidentAlerts(ctx, a.ID)
	if err != nil {
		t.Fatalf("IncidentAlerts: %v", err)
	}
	if diff := cmp.Diff([]incident.AlertLink{l2, l1}, got); diff != "" {
		t.Errorf("IncidentAlerts by first detection (-want +got):\n%s", diff)
	}
	of, err := db.AlertIncidents(ctx, "", 11)
	if err != nil {
		t.Fatalf("AlertIncidents: %v", err)
	}
	var refs []string
	for _, r := range of {
		refs = append(refs, r.Incident.Ref)
		if r.Incident.Title != r.Incident.Ref || r.AddedAt.IsZero() {
			t.Errorf("AlertIncidents(11): row %+v lacks its headline or time", r)
		}
	}
	if diff := cmp.Diff([]string{"INC-2026-0001", "INC-2026-0002"}, refs); diff != "" {
		t.Errorf("AlertIncidents(11) (-want +got):\n%s", diff)
	}
	if of, err := db.AlertIncidents(ctx, "acme", 11); err != nil || len(of) != 0 {
		t.Errorf("AlertIncidents(acme, 11): %v, %v; want none", of, err)
	}
}
