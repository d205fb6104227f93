// SPDX-License-Identifier: Apache-2.0

package incident_test

import (
	"context"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/koban-csirt/koban/internal/auth"
	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/incident"
)

// pairsOf lists kind:value of observables.
func pairsOf(os []incident.StoredObservable) []string {
	out := make([]string, len(os))
	for i, o := range os {
		out[i] = string(o.Kind) + ":" + o.Value
	}
	return out
}

func TestIncidentObservablesAddDedupe(t *testing.T) {
	ctx := context.Background()
	e := newIncEnv(t)
	inc := e.create(t, incDraft("Phishing wave"))
	added, err := e.svc.AddObservables(ctx, e.a, inc.ID, []incident.Observable{
		{Kind: incident.ObservableURL, Value: "hxxp://evil[.]example/login"},
		{Kind: incident.ObservableIP, Value: "198.51.100.7:443", Note: "C2"},
		{Kind: incident.ObservableIP, Value: "198.51.100.7"}, // the same address without its port
		{Kind: incident.ObservableEmail, Value: "Billing@Evil.Example", IOC: true},
	})
	if err != nil {
		t.Fatalf("AddObservables: %v", err)
	}
	want := []string{"url:http://evil.example/login", "ip:198.51.100.7", "email:billing@evil.example"}
	if diff := cmp.Diff(want, pairsOf(added)); diff != "" {
		t.Errorf("AddObservables added (-want +got):\n%s", diff)
	}
	if added[0].Source != incident.ObservableSourceManual || added[0].AddedBy != "resp1" || !added[0].AddedAt.Equal(incT0.Truncate(1000)) {
		t.Errorf("AddObservables: first = %+v, want manual source, added by resp1 at %v", added[0], incT0)
	}
	if !added[2].IOC || added[1].Note != "C2" {
		t.Errorf("AddObservables: IOC/note not kept: %+v", added)
	}
	// Again, with one new: only the new one is added.
	again, err := e.svc.AddObservables(ctx, e.a, inc.ID, []incident.Observable{
		{Kind: incident.ObservableURL, Value: "http://evil.example/login"},
		{Kind: incident.ObservableHost, Value: "WS-042"},
	})
	if err != nil {
		t.Fatalf("AddObservables again: %v", err)
	}
	if diff := cmp.Diff([]string{"host:ws-042"}, pairsOf(again)); diff != "" {
		t.Errorf("AddObservables again (-want +got):\n%s", diff)
	}
	all, err := e.svc.Observables(ctx, e.a, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(append(want, "host:ws-042"), pairsOf(all)); diff != "" {
		t.Errorf("Observables (-want +got):\n%s", diff)
	}
	// Nothing new: no timeline entry, no audit.
	if _, err := e.svc.AddObservables(ctx, e.a, inc.ID, []incident.Observable{{Kind: incident.ObservableHost, Value: "ws-042"}}); err != nil {
		t.Fatal(err)
	}
	tl := msgs(e.detail(t, inc.ID).Timeline)
	if n := count(tl, "incidentobs.timeline.added"); n != 2 {
		t.Errorf("timeline %v: %d entries incidentobs.timeline.added, want 2", tl, n)
	}
	if n := count(e.audits(t, inc.ID), "incident.observables_add"); n != 2 {
		t.Errorf("audit: %d incident.observables_add, want 2", n)
	}
}

func count(list []string, s string) int {
	n := 0
	for _, v := range list {
		if v == s {
			n++
		}
	}
	return n
}

func TestIncidentObservablesMalformed(t *testing.T) {
	ctx := context.Background()
	e := newIncEnv(t)
	inc := e.create(t, incDraft("Malformed"))
	_, err := e.svc.AddObservables(ctx, e.a, inc.ID, []incident.Observable{
		{Kind: incident.ObservableDomain, Value: "good.example"},
		{Kind: incident.ObservableUser, Value: `CORP\`},
	})
	wantFault(t, "AddObservables(CORP\\)", err, fault.Invalid, "observable.user_form")
	if fs := fault.Faults(err); len(fs) != 1 || fs[0].Field != "value" {
		t.Errorf("AddObservables(CORP\\): faults %v, want one about field value", fs)
	}
	_, err = e.svc.AddObservables(ctx, e.a, inc.ID, []incident.Observable{{Kind: "colour", Value: "red"}})
	wantFault(t, "AddObservables(colour)", err, fault.Invalid, "observable.unknown_kind")
	// Nothing of the first call was kept.
	if all, err := e.svc.Observables(ctx, e.a, inc.ID); err != nil || len(all) != 0 {
		t.Errorf("Observables after refused adds: %v, %v; want none", pairsOf(all), err)
	}
}

func TestIncidentObservablesIOCAndRemove(t *testing.T) {
	ctx := context.Background()
	e := newIncEnv(t)
	inc := e.create(t, incDraft("IOC"))
	other := e.create(t, incDraft("Other"))
	added, err := e.svc.AddObservables(ctx, e.a, inc.ID, []incident.Observable{{Kind: incident.ObservableDomain, Value: "evil.example"}})
	if err != nil {
		t.Fatal(err)
	}
	id := added[0].ID
	got, err := e.svc.SetIOC(ctx, e.a, inc.ID, id, true)
	if err != nil || !got.IOC {
		t.Fatalf("SetIOC(true): %+v, %v", got, err)
	}
	if _, err := e.svc.SetIOC(ctx, e.a, other.ID, id, false); !fault.Is(err, fault.NotFound) {
		t.Errorf("SetIOC through another incident: %v, want NotFound", err)
	}
	all, _ := e.svc.Observables(ctx, e.a, inc.ID)
	if len(all) != 1 || !all[0].IOC {
		t.Errorf("Observables after SetIOC: %+v, want flagged", all)
	}
	if err := e.svc.RemoveObservable(ctx, e.a, inc.ID, id); err != nil {
		t.Fatalf("RemoveObservable: %v", err)
	}
	if err := e.svc.RemoveObservable(ctx, e.a, inc.ID, id); !fault.Is(err, fault.NotFound) {
		t.Errorf("RemoveObservable twice: %v, want NotFound", err)
	}
	tl := msgs(e.detail(t, inc.ID).Timeline)
	for _, m := range []string{"incidentobs.timeline.ioc_on", "incidentobs.timeline.removed"} {
		if !slices.Contains(tl, m) {
			t.Errorf("timeline %v lacks %s", tl, m)
		}
	}
	au := e.audits(t, inc.ID)
	for _, m := range []string{"incident.observable_ioc", "incident.observable_remove"} {
		if !slices.Contains(au, m) {
			t.Errorf("audit %v lacks %s", au, m)
		}
	}
	// A closed incident's observables do not change.
	e.assessLow(t, other.ID)
	if _, err := e.svc.Close(ctx, e.a, incident.Ref{ID: other.ID}, incident.Closing{Resolution: incident.ResolutionResolved,
		Summary: "done"}); err != nil {
		t.Fatalf("Close: %v", err)
	}
	_, err = e.svc.AddObservables(ctx, e.a, other.ID, []incident.Observable{{Kind: incident.ObservableDomain, Value: "evil.example"}})
	wantFault(t, "AddObservables(closed)", err, fault.Conflict, "incident.closed")
}

func TestIncidentObservablesRelated(t *testing.T) {
	ctx := context.Background()
	e := newIncEnv(t)
	a := e.create(t, incDraft("A"))
	b := e.create(t, incDraft("B"))
	c := e.create(t, incDraft("C"))
	add := func(id int64, obs ...incident.Observable) {
		t.Helper()
		if _, err := e.svc.AddObservables(ctx, e.a, id, obs); err != nil {
			t.Fatalf("AddObservables(%d): %v", id, err)
		}
	}
	dom := incident.Observable{Kind: incident.ObservableDomain, Value: "evil.example"}
	ip := incident.Observable{Kind: incident.ObservableIP, Value: "203.0.113.9"}
	add(a.ID, dom, ip, incident.Observable{Kind: incident.ObservableHost, Value: "ws-1"})
	add(b.ID, incident.Observable{Kind: incident.ObservableDomain, Value: "evil[.]example", IOC: true}, ip)
	// The same value as another kind is not the same observable.
	add(c.ID, incident.Observable{Kind: incident.ObservableHost, Value: "evil.example"})

	rel, err := e.svc.RelatedIncidents(ctx, e.a, a.ID)
	if err != nil {
		t.Fatalf("RelatedIncidents(A): %v", err)
	}
	if len(rel) != 1 || rel[0].Incident.Ref != b.Ref || rel[0].Linked {
		t.Fatalf("RelatedIncidents(A) = %+v, want only %s, not linked", rel, b.Ref)
	}
	var shared []string
	for _, o := range rel[0].Shared {
		shared = append(shared, string(o.Kind)+":"+o.Value)
	}
	if diff := cmp.Diff([]string{"domain:evil.example", "ip:203.0.113.9"}, shared); diff != "" {
		t.Errorf("RelatedIncidents(A) shared (-want +got):\n%s", diff)
	}
	if !rel[0].Shared[0].IOC {
		t.Errorf("RelatedIncidents(A): shared domain without B's IOC flag")
	}
	if err := e.svc.Link(ctx, e.a, a.ID, b.ID, incident.LinkRelated); err != nil {
		t.Fatal(err)
	}
	rel, err = e.svc.RelatedIncidents(ctx, e.a, b.ID)
	if err != nil || len(rel) != 1 || rel[0].Incident.ID != a.ID || !rel[0].Linked {
		t.Errorf("RelatedIncidents(B) after Link = %+v, %v; want A, linked", rel, err)
	}
	if rel, err := e.svc.RelatedIncidents(ctx, e.a, c.ID); err != nil || len(rel) != 0 {
		t.Errorf("RelatedIncidents(C) = %+v, %v; want none", rel, err)
	}
}

func TestIncidentObservablesAccess(t *testing.T) {
	ctx := context.Background()
	e := newIncEnv(t)
	inc := e.create(t, incDraft("Access"))
	viewer := e.user(t, "viewer1", auth.RoleViewer)
	viewer.Access = incident.AccessSummary
	calls := map[string]func() error{
		"Observables": func() error { _, err := e.svc.Observables(ctx, viewer, inc.ID); return err },
		"AddObservables": func() error {
			_, err := e.svc.AddObservables(ctx, viewer, inc.ID, []incident.Observable{{Kind: incident.ObservableIP, Value: "192.0.2.1"}})
			return err
		},
		"ExtractObservables": func() error { _, err := e.svc.ExtractObservables(ctx, viewer, inc.ID, "x"); return err },
		"SetIOC":             func() error { _, err := e.svc.SetIOC(ctx, viewer, inc.ID, 1, true); return err },
		"RemoveObservable":   func() error { return e.svc.RemoveObservable(ctx, viewer, inc.ID, 1) },
		"RelatedIncidents":   func() error { _, err := e.svc.RelatedIncidents(ctx, viewer, inc.ID); return err },
		"AlertsOfIncident":   func() error { _, err := e.svc.AlertsOfIncident(ctx, viewer, inc.ID); return err },
		"IncidentsOfAlert":   func() error { _, err := e.svc.IncidentsOfAlert(ctx, viewer, "", 1); return err },
		"AddAlerts": func() error {
			_, err := e.svc.AddAlerts(ctx, viewer, incident.Ref{ID: inc.ID}, []incident.AlertInput{{ID: 1}})
			return err
		},
		"CreateFromAlerts": func() error {
			_, err := e.svc.CreateFromAlerts(ctx, viewer, incDraft("x"), []incident.AlertInput{{ID: 1}})
			return err
		},
	}
	for name, call := range calls {
		if err := call(); !fault.Is(err, fault.Forbidden) {
			t.Errorf("%s as a viewer: %v, want Forbidden", name, err)
		}
	}
}

func TestIncidentObservablesExtract(t *testing.T) {
	ctx := context.Background()
	e := newIncEnv(t)
	inc := e.create(t, incDraft("Extract"))
	if _, err := e.svc.AddObservables(ctx, e.a, inc.ID, []incident.Observable{{Kind: incident.ObservableDomain, Value: "evil.example"}}); err != nil {
		t.Fatal(err)
	}
	got, err := e.svc.ExtractObservables(ctx, e.a, inc.ID, "Mail from evil[.]example linking hxxps://login.evil2[.]example/a and 198.51.100.23.")
	if err != nil {
		t.Fatal(err)
	}
	var pairs []string
	for _, o := range got {
		pairs = append(pairs, string(o.Kind)+":"+o.Value)
	}
	want := []string{"url:https://login.evil2.example/a", "domain:login.evil2.example", "ip:198.51.100.23"}
	if diff := cmp.Diff(want, pairs); diff != "" {
		t.Errorf("ExtractObservables (-want +got), evil.example already kept:\n%s", diff)
	}
}
