// SPDX-License-Identifier: Apache-2.0

package reportdesk

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/incident"
)

// maxTitle bounds the title DraftFor takes from a report, in characters.
const maxTitle = 120

// DraftFor returns the incident draft a report suggests, for a responder
// to complete: the first line of what happened as its title, the type the
// report's kind suggests, what happened as its description, and the
// report's arrival as the moment the organisation became aware (the
// regulatory clocks count from it). The caller may add translated
// details (when, where) to the description.
func DraftFor(r Report) incident.Draft {
	title, _, _ := strings.Cut(strings.TrimSpace(r.What), "\n")
	title = strings.TrimSpace(title)
	if utf8.RuneCountInString(title) > maxTitle {
		title = string([]rune(title)[:maxTitle-1]) + "…"
	}
	return incident.Draft{Tenant: r.Tenant, Input: incident.Input{Title: title, Description: r.What,
		Type: r.Kind.IncidentType(), DetectedAt: r.CreatedAt, AwareAt: r.CreatedAt}}
}

// OpenIncident opens an incident from a report that waits for a decision,
// in one transaction: the incident is created from d through the incident
// service, each attachment becomes an evidence item of it (collected by
// the reporter, from the report), the incident's timeline says where it
// came from, and the report is linked to it. Nothing is kept if any step
// fails.
//
// Errors: those of incident.Service.Create and incident.Locker.AddEvidence;
// Forbidden; NotFound "reportdesk.not_found"; Conflict "reportdesk.decided".
func (s *Service) OpenIncident(ctx context.Context, a incident.Actor, id int64, d incident.Draft) (incident.Incident, error) {
	if err := needResponder(a); err != nil {
		return incident.Incident{}, err
	}
	if s.incidents == nil || s.locker == nil {
		return incident.Incident{}, fmt.Errorf("reportdesk: open incident from %d: no incident service", id)
	}
	var inc incident.Incident
	err := s.store.Tx(ctx, func(ctx context.Context) error {
		before, err := s.openReport(ctx, id, 0)
		if err != nil {
			return err
		}
		if d.Tenant != before.Tenant {
			return fault.New(fault.Invalid, "reportdesk.tenant_mismatch")
		}
		if inc, err = s.incidents.Create(ctx, a, d); err != nil {
			return err
		}
		r := before
		r.Attachments = slices.Clone(before.Attachments)
		if err := s.moveAttachments(ctx, a, &r, inc.ID); err != nil {
			return err
		}
		if _, err := s.incidents.Log(ctx, a, inc.ID, incident.EntryNote, r.CreatedAt, "reportdesk.timeline.reported",
			"ref", r.Ref, "by", reporterName(r)); err != nil {
			return err
		}
		now := s.nowUTC()
		r.Status, r.IncidentID, r.IncidentRef, r.DecidedAt = StatusIncident, inc.ID, inc.Ref, now
		if r.HandlerID == 0 {
			r.HandlerID, r.Handler = a.UserID, a.Name
		}
		if err := s.save(ctx, &r, now); err != nil {
			return err
		}
		return s.audit(ctx, a.Actor, "reportdesk.open_incident", r, &before, now)
	})
	if err != nil {
		return incident.Incident{}, fmt.Errorf("reportdesk: open incident from %d: %w", id, err)
	}
	return inc, nil
}

// moveAttachments adds each of r's attachments to incident incID's
// evidence, from the content store, and records which item it became.
func (s *Service) moveAttachments(ctx context.Context, a incident.Actor, r *Report, incID int64) error {
	for i, at := range r.Attachments {
		rc, _, err := s.blobs.Open(ctx, at.SHA256)
		if err != nil {
			return fmt.Errorf("attachment %q: %w", at.Name, err)
		}
		// Where it came from is the report's reference alone: the text is
		// stored, and shown as written in every language.
		e, err := s.locker.AddEvidence(ctx, a, incID, incident.EvidenceMeta{Name: at.Name,
			CollectedBy: reporterName(*r), CollectedFrom: r.Ref, CollectedAt: r.CreatedAt}, rc)
		_ = rc.Close() // read to the end or failed; either way done with it
		if err != nil {
			return fmt.Errorf("attachment %q: %w", at.Name, err)
		}
		if e.SHA256 != at.SHA256 {
			return fmt.Errorf("attachment %q: content changed in the store (%s, want %s)", at.Name, e.SHA256, at.SHA256)
		}
		if err := s.store.SetDeskAttachmentEvidence(ctx, at.ID, e.ID); err != nil {
			return err
		}
		r.Attachments[i].EvidenceID = e.ID
	}
	return nil
}

// reporterName is how a report's reporter is named in evidence custody and
// on the incident's timeline.
func reporterName(r Report) string {
	if r.Anonymous() {
		return "anonymous"
	}
	return r.Reporter
}
