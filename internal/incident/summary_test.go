// SPDX-License-Identifier: Apache-2.0

package incident_test

import (
	"context"
	"strings"
	"testing"

	"github.com/koban-csirt/koban/internal/auth"
	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/incident"
)

func TestIncidentSummary(t *testing.T) {
	e := newIncEnv(t)
	ctx := context.Background()
	d := incDraft("Invoice e-mail with a link")
	d.Description = "The secret description"
	d.AffectedUsers = []string{"tanaka"}
	d.Fields = []incident.Field{{Name: "Insurer claim", Value: "C-42"}}
	d.Flags = incident.Flags{PersonalData: true, Over1000: true}
	inc := e.create(t, d)

	full, err := e.svc.IncidentSummary(ctx, e.a, "", inc.Ref)
	if err != nil {
		t.Fatalf("IncidentSummary(responder, %s): %v", inc.Ref, err)
	}
	if full.Description != d.Description || len(full.AffectedUsers) != 1 || len(full.Fields) != 1 {
		t.Errorf("IncidentSummary(responder): got description %q, users %v, fields %v; want them whole",
			full.Description, full.AffectedUsers, full.Fields)
	}

	viewer := e.user(t, "boss", auth.RoleViewer)
	if viewer.Access != incident.AccessSummary {
		t.Fatalf("viewer access %v, want AccessSummary", viewer.Access)
	}
	brief, err := e.svc.IncidentSummary(ctx, viewer, "", inc.Ref)
	if err != nil {
		t.Fatalf("IncidentSummary(viewer, %s): %v", inc.Ref, err)
	}
	if brief.Description != "" || brief.AffectedUsers != nil || brief.Fields != nil {
		t.Errorf("IncidentSummary(viewer): got description %q, users %v, fields %v; want none",
			brief.Description, brief.AffectedUsers, brief.Fields)
	}
	// What a summary shows stays: the clocks need the flags and the time
	// of awareness.
	if brief.Title != inc.Title || brief.Flags != d.Flags || !brief.AwareAt.Equal(inc.AwareAt) || brief.Phase != incident.PhaseTriage {
		t.Errorf("IncidentSummary(viewer): got %+v, want title, flags, awareness and phase kept", brief)
	}

	// References are read without regard to case or blanks.
	if got, err := e.svc.IncidentSummary(ctx, viewer, "", " "+strings.ToLower(inc.Ref)+" "); err != nil || got.ID != inc.ID {
		t.Errorf("IncidentSummary(viewer, lower-case ref): got %d, %v; want %d", got.ID, err, inc.ID)
	}

	_, err = e.svc.IncidentSummary(ctx, viewer, "", "INC-2026-9999")
	wantFault(t, "IncidentSummary(missing)", err, fault.NotFound, "incident.ref_not_found")
	_, err = e.svc.IncidentSummary(ctx, viewer, "other-tenant", inc.Ref)
	wantFault(t, "IncidentSummary(other tenant)", err, fault.NotFound, "incident.ref_not_found")

	reporter := e.user(t, "emp", auth.RoleReporter)
	_, err = e.svc.IncidentSummary(ctx, reporter, "", inc.Ref)
	wantFault(t, "IncidentSummary(reporter)", err, fault.Forbidden, "incident.forbidden")
}
