// SPDX-License-Identifier: Apache-2.0

package incident_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/koban-csirt/koban/internal/auth"
	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/incident"
)

func TestSaveReview(t *testing.T) {
	t.Parallel()
	e := newIncEnv(t)
	ctx := context.Background()
	inc := e.create(t, incDraft("review"))
	in := incident.ReviewInput{Cause: incident.CauseSocialEngineering, CauseText: "添付ファイルを開いた",
		Whys: []string{"the mail looked real", " ", "no training since 2023"}, WentWell: "isolated in 10 minutes",
		WentBadly: "nobody knew whom to call"}
	draft, err := e.svc.SaveReview(ctx, e.a, inc.ID, 0, in)
	if err != nil {
		t.Fatalf("SaveReview(draft): %v", err)
	}
	want := incident.Review{IncidentID: inc.ID, Cause: in.Cause, CauseText: in.CauseText,
		Whys: []string{"the mail looked real", "no training since 2023"}, WentWell: in.WentWell, WentBadly: in.WentBadly,
		Version: 1, UpdatedAt: incT0, UpdatedBy: "resp1"}
	if diff := cmp.Diff(want, draft); diff != "" {
		t.Errorf("SaveReview(draft) (-want +got):\n%s", diff)
	}
	if draft.Complete() {
		t.Error("a draft review reads as complete")
	}
	_, err = e.svc.SaveReview(ctx, e.a, inc.ID, 0, in)
	wantFault(t, "SaveReview(first again)", err, fault.Conflict, "incident.review_changed")
	for _, c := range []struct {
		name  string
		in    incident.ReviewInput
		field string
	}{
		{"complete without cause", incident.ReviewInput{CauseText: "x", Complete: true}, "cause"},
		{"complete without text", incident.ReviewInput{Cause: incident.CauseOther, Complete: true}, "cause_text"},
		{"unknown cause", incident.ReviewInput{Cause: "aliens"}, "cause"},
		{"eleven whys", incident.ReviewInput{Whys: strings.Split("a b c d e f g h i j k", " ")}, "whys"},
	} {
		_, err := e.svc.SaveReview(ctx, e.a, inc.ID, 1, c.in)
		if fs := fault.Faults(err); len(fs) != 1 || fs[0].Field != c.field || fs[0].Kind != fault.Invalid {
			t.Errorf("SaveReview(%s): got %v, want Invalid on %s", c.name, err, c.field)
		}
	}
	in.Complete = true
	e.clock.Add(time.Hour)
	done, err := e.svc.SaveReview(ctx, e.a, inc.ID, 1, in)
	if err != nil || !done.Complete() || !done.CompletedAt.Equal(incT0.Add(time.Hour)) || done.CompletedBy != "resp1" || done.Version != 2 {
		t.Fatalf("SaveReview(complete) = %+v, %v", done, err)
	}
	// Saved again while complete, it keeps its completion time.
	other := e.user(t, "ana", auth.RoleAnalyst)
	e.clock.Add(time.Hour)
	in.WentWell = "isolated in 8 minutes"
	again, err := e.svc.SaveReview(ctx, other, inc.ID, 2, in)
	if err != nil || !again.CompletedAt.Equal(done.CompletedAt) || again.CompletedBy != "resp1" || again.UpdatedBy != "ana" {
		t.Errorf("SaveReview(complete, edited) = %+v, %v; want the first completion kept", again, err)
	}
	_, err = e.svc.SaveReview(ctx, e.a, inc.ID, 2, in)
	wantFault(t, "SaveReview(stale)", err, fault.Conflict, "incident.review_changed")
	in.Complete = false
	back, err := e.svc.SaveReview(ctx, e.a, inc.ID, 3, in)
	if err != nil || back.Complete() {
		t.Errorf("SaveReview(back to draft) = %+v, %v", back, err)
	}
	d := e.detail(t, inc.ID)
	if d.Review.Version != 4 || d.Review.WentWell != "isolated in 8 minutes" {
		t.Errorf("Detail.Review = %+v", d.Review)
	}
	var entries []string
	for _, en := range d.Timeline {
		if en.Kind == incident.EntryReview {
			entries = append(entries, en.Msg[len("incident.timeline."):])
		}
	}
	if diff := cmp.Diff([]string{"review_saved", "review_completed", "review_saved", "review_saved"}, entries); diff != "" {
		t.Errorf("review entries (-want +got):\n%s", diff)
	}
}

// TestPreventionActions: actions from the review stay open and listed after
// their incident closes, and can still be worked on.
func TestPreventionActions(t *testing.T) {
	t.Parallel()
	e := newIncEnv(t)
	ctx := context.Background()
	inc := e.create(t, incDraft("ransomware"))
	owner := e.user(t, "it", auth.RoleAnalyst)
	mfa, err := e.svc.AddPreventionAction(ctx, e.a, inc.ID, incident.ActionInput{Title: "MFA on the VPN", OwnerID: owner.UserID,
		Due: incT0.Add(14 * 24 * time.Hour)})
	if err != nil {
		t.Fatalf("AddPreventionAction: %v", err)
	}
	want := incident.PreventionAction{ID: mfa.ID, IncidentID: inc.ID, Title: "MFA on the VPN", OwnerID: owner.UserID,
		Due: incT0.Add(14 * 24 * time.Hour), Status: incident.ActionOpen, Version: 1, CreatedAt: incT0, UpdatedAt: incT0}
	if mfa != want {
		t.Errorf("AddPreventionAction = %+v, want %+v", mfa, want)
	}
	backup, err := e.svc.AddPreventionAction(ctx, e.a, inc.ID, incident.ActionInput{Title: "Offline backups", OwnerRole: "management"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		in   incident.ActionInput
		msg  string
	}{
		{"no title", incident.ActionInput{}, "incident.field_required"},
		{"unknown status", incident.ActionInput{Title: "x", Status: "later"}, "incident.action_status_invalid"},
		{"cancelled without reason", incident.ActionInput{Title: "x", Status: incident.ActionCancelled}, "incident.reason_required"},
		{"unknown role", incident.ActionInput{Title: "x", OwnerRole: "cfo"}, "incident.task_role_invalid"},
	} {
		_, err := e.svc.AddPreventionAction(ctx, e.a, inc.ID, c.in)
		wantFault(t, "AddPreventionAction("+c.name+")", err, fault.Invalid, c.msg)
	}
	// Close the incident (critical: review needed).
	if _, err := e.svc.OverrideSeverity(ctx, e.a, incident.Ref{ID: inc.ID}, incident.SeverityCritical, "servers encrypted"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SaveReview(ctx, e.a, inc.ID, 0, incident.ReviewInput{Cause: incident.CauseWeakAuth, CauseText: "VPN password reused",
		Complete: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Close(ctx, e.a, incident.Ref{ID: inc.ID}, incident.Closing{Resolution: incident.ResolutionResolved,
		Summary: "restored"}); err != nil {
		t.Fatal(err)
	}
	open := func() []string {
		t.Helper()
		ds, err := e.svc.OpenPreventionActions(ctx, e.a, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, d := range ds {
			out = append(out, d.Incident.Ref+" "+d.Title)
			if d.Incident.Status != incident.StatusClosed {
				t.Errorf("open action %q: incident status %s, want closed", d.Title, d.Incident.Status)
			}
		}
		return out
	}
	if diff := cmp.Diff([]string{inc.Ref + " MFA on the VPN", inc.Ref + " Offline backups"}, open()); diff != "" {
		t.Errorf("open prevention actions after close (-want +got):\n%s", diff)
	}
	if !mfa.Overdue(incT0.Add(15*24*time.Hour)) || backup.Overdue(incT0.Add(1000*time.Hour)) {
		t.Error("Overdue: the MFA action is not overdue after its due date, or the one without a due date is")
	}
	// Still worked on after the close, and new follow-up can be added.
	e.clock.Add(24 * time.Hour)
	upd, err := e.svc.UpdatePreventionAction(ctx, e.a, incident.ActionRef{ID: mfa.ID, Version: 1},
		incident.ActionInput{Title: mfa.Title, OwnerID: owner.UserID, Due: mfa.Due, Status: incident.ActionDone})
	if err != nil || upd.Status != incident.ActionDone || !upd.DoneAt.Equal(incT0.Add(24*time.Hour)) || upd.Version != 2 {
		t.Errorf("UpdatePreventionAction(done) = %+v, %v", upd, err)
	}
	_, err = e.svc.UpdatePreventionAction(ctx, e.a, incident.ActionRef{ID: mfa.ID, Version: 1}, incident.ActionInput{Title: "x"})
	wantFault(t, "UpdatePreventionAction(stale)", err, fault.Conflict, "incident.action_changed")
	_, err = e.svc.UpdatePreventionAction(ctx, e.a, incident.ActionRef{ID: 999}, incident.ActionInput{Title: "x"})
	wantFault(t, "UpdatePreventionAction(missing)", err, fault.NotFound, "incident.action_not_found")
	cancelled, err := e.svc.UpdatePreventionAction(ctx, e.a, incident.ActionRef{ID: backup.ID}, incident.ActionInput{
		Title: backup.Title, OwnerRole: "management", Status: incident.ActionCancelled, Reason: "cloud backup already has versioning"})
	if err != nil || cancelled.StatusReason != "cloud backup already has versioning" || cancelled.DoneAt.IsZero() {
		t.Errorf("UpdatePreventionAction(cancelled) = %+v, %v", cancelled, err)
	}
	if _, err := e.svc.AddPreventionAction(ctx, e.a, inc.ID, incident.ActionInput{Title: "Yearly drill"}); err != nil {
		t.Errorf("AddPreventionAction(closed incident): %v", err)
	}
	if diff := cmp.Diff([]string{inc.Ref + " Yearly drill"}, open()); diff != "" {
		t.Errorf("open prevention actions at the end (-want +got):\n%s", diff)
	}
	viewer := e.user(t, "boss", auth.RoleViewer)
	if ds, err := e.svc.OpenPreventionActions(ctx, viewer, "", 0); err != nil || len(ds) != 1 {
		t.Errorf("OpenPreventionActions as viewer = %d, %v; want 1", len(ds), err)
	}
	_, err = e.svc.AddPreventionAction(ctx, viewer, inc.ID, incident.ActionInput{Title: "x"})
	wantFault(t, "AddPreventionAction as viewer", err, fault.Forbidden, "incident.forbidden")
}
