// SPDX-License-Identifier: Apache-2.0

package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/incident"
)

// The forms of an incident's overview. Each POSTs to its own path, carries
// the version of the incident the person saw, and comes back to the
// overview: with a notice when it worked, else with the service's message
// beside the form and what was typed kept. A stale version gets the
// service's conflict message ("changed by someone else") and the page as
// it now is, with the person's text still in the form.

// incVersion reads the version the form carries.
func incVersion(r *http.Request) (int64, error) {
	v, err := strconv.ParseInt(strings.TrimSpace(r.PostFormValue("version")), 10, 64)
	if err != nil || v <= 0 {
		return 0, fault.InvalidField("version", "incident.version_missing")
	}
	return v, nil
}

// incAction runs act on the incident of the route and goes back to its
// overview with the notice act names, or shows the overview again with
// form's errors and keep's typed values.
func (s *Server) incAction(w http.ResponseWriter, r *http.Request, form string,
	act func(d incident.Detail, a incident.Actor) (string, error), keep func(pg *incOverviewPage)) {
	if err := parseForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	d, ok := s.incidentDetail(w, r)
	if !ok {
		return
	}
	done, err := act(d, incidentActor(r))
	if err == nil {
		redirectDone(w, r, incidentHref(d.Ref, ""), done)
		return
	}
	if fault.KindOf(err) == fault.Internal {
		s.fail(w, r, err)
		return
	}
	// Show the incident as it is now: a stale form's version is replaced,
	// so that sending it again is the person's informed choice.
	if d, ok = s.incidentDetail(w, r); !ok {
		return
	}
	pg, derr := s.incOverviewData(r, d)
	if derr != nil {
		s.fail(w, r, derr)
		return
	}
	pg.Form = form
	keep(pg)
	if !pg.formErrors(err) {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, statusFor(fault.KindOf(err)), "incidents_overview", pg)
}

// ref names the incident at the version the form carries.
func incRef(r *http.Request, d incident.Detail) (incident.Ref, error) {
	v, err := incVersion(r)
	return incident.Ref{ID: d.ID, Version: v}, err
}

// incidentEdit saves what people write about an incident: POST
// /incidents/{ref}/edit.
func (s *Server) incidentEdit(w http.ResponseWriter, r *http.Request) {
	var f incForm
	s.incAction(w, r, "edit", func(d incident.Detail, a incident.Actor) (string, error) {
		f = incFormOf(r)
		ref, err := incRef(r, d)
		if err != nil {
			return "", err
		}
		f.Flags = d.Flags.Names() // the flags have their own form
		in, err := f.input(s.location(r, s.lang(r)), d.Incident)
		if err != nil {
			return "", err
		}
		_, err = s.opts.Incidents.Update(r.Context(), a, ref, in)
		return "inc_updated", err
	}, func(pg *incOverviewPage) {
		f.Flags, f.Assignees, f.Version = pg.Edit.Flags, pg.Edit.Assignees, pg.Edit.Version
		pg.Edit = f
		pg.Types = incTypeOptions(pg.Page, f.Type)
	})
}

// inputOf returns what people wrote about inc, times unchanged.
func inputOf(inc incident.Incident) incident.Input {
	return incident.Input{Title: inc.Title, Description: inc.Description, Type: inc.Type,
		AffectedAssets: inc.AffectedAssets, AffectedUsers: inc.AffectedUsers, Techniques: inc.Techniques,
		Fields: inc.Fields, Tags: inc.Tags, Flags: inc.Flags}
}

// incidentFlags sets the legal facts that start the regulatory clocks:
// POST /incidents/{ref}/flags with flag (repeated).
func (s *Server) incidentFlags(w http.ResponseWriter, r *http.Request) {
	s.incAction(w, r, "flags", func(d incident.Detail, a incident.Actor) (string, error) {
		ref, err := incRef(r, d)
		if err != nil {
			return "", err
		}
		in := inputOf(d.Incident)
		if in.Flags, err = incFlagsOf(r.PostForm["flag"]); err != nil {
			return "", err
		}
		_, err = s.opts.Incidents.Update(r.Context(), a, ref, in)
		return "inc_flags", err
	}, func(pg *incOverviewPage) {
		pg.FlagBoxes = incFlagBoxes(pg.Page, r.PostForm["flag"])
	})
}

// incidentPhase moves an incident to another phase: POST
// /incidents/{ref}/phase with phase and reason.
func (s *Server) incidentPhase(w http.ResponseWriter, r *http.Request) {
	s.incAction(w, r, "phase", func(d incident.Detail, a incident.Actor) (string, error) {
		ref, err := incRef(r, d)
		if err != nil {
			return "", err
		}
		_, err = s.opts.Incidents.ChangePhase(r.Context(), a, ref, incident.Phase(r.PostFormValue("phase")), r.PostFormValue("reason"))
		return "inc_phase", err
	}, func(pg *incOverviewPage) {
		pg.PhaseTo, pg.Reason = r.PostFormValue("phase"), r.PostFormValue("reason")
	})
}

// incidentStatus puts an incident on hold or takes it off hold: POST
// /incidents/{ref}/status with status (on_hold or open) and reason.
func (s *Server) incidentStatus(w http.ResponseWriter, r *http.Request) {
	s.incAction(w, r, "status", func(d incident.Detail, a incident.Actor) (string, error) {
		ref, err := incRef(r, d)
		if err != nil {
			return "", err
		}
		to := incident.Status(r.PostFormValue("status"))
		_, err = s.opts.Incidents.ChangeStatus(r.Context(), a, ref, to, r.PostFormValue("reason"))
		if to == incident.StatusOnHold {
			return "inc_on_hold", err
		}
		return "inc_resumed", err
	}, func(pg *incOverviewPage) { pg.Reason = r.PostFormValue("reason") })
}

// incidentClose closes an incident: POST /incidents/{ref}/close with
// resolution and summary.
func (s *Server) incidentClose(w http.ResponseWriter, r *http.Request) {
	s.incAction(w, r, "close", func(d incident.Detail, a incident.Actor) (string, error) {
		ref, err := incRef(r, d)
		if err != nil {
			return "", err
		}
		_, err = s.opts.Incidents.Close(r.Context(), a, ref, incident.Closing{
			Resolution: incident.Resolution(r.PostFormValue("resolution")), Summary: r.PostFormValue("summary")})
		return "inc_closed", err
	}, func(pg *incOverviewPage) {
		pg.Resolution, pg.CloseSummary = r.PostFormValue("resolution"), r.PostFormValue("summary")
	})
}

// incidentReopen reopens a closed incident: POST /incidents/{ref}/reopen
// with phase and reason.
func (s *Server) incidentReopen(w http.ResponseWriter, r *http.Request) {
	s.incAction(w, r, "reopen", func(d incident.Detail, a incident.Actor) (string, error) {
		ref, err := incRef(r, d)
		if err != nil {
			return "", err
		}
		_, err = s.opts.Incidents.Reopen(r.Context(), a, ref, incident.Phase(r.PostFormValue("phase")), r.PostFormValue("reason"))
		return "inc_reopened", err
	}, func(pg *incOverviewPage) {
		pg.ReopenTo, pg.Reason = r.PostFormValue("phase"), r.PostFormValue("reason")
	})
}

// incidentAssign sets who handles an incident: POST
// /incidents/{ref}/assign with assignee (repeated user ids; none for
// nobody).
func (s *Server) incidentAssign(w http.ResponseWriter, r *http.Request) {
	s.incAction(w, r, "assign", func(d incident.Detail, a incident.Actor) (string, error) {
		ref, err := incRef(r, d)
		if err != nil {
			return "", err
		}
		ids := []int64{}
		for _, v := range r.PostForm["assignee"] {
			id, err := strconv.ParseInt(v, 10, 64)
			if err != nil || id <= 0 {
				return "", fault.InvalidField("assignees", "incidents.form.bad_assignee")
			}
			ids = append(ids, id)
		}
		_, err = s.opts.Incidents.Assign(r.Context(), a, ref, ids)
		return "inc_assigned", err
	}, func(pg *incOverviewPage) {
		for i := range pg.Users {
			pg.Users[i].Checked = false
			for _, v := range r.PostForm["assignee"] {
				pg.Users[i].Checked = pg.Users[i].Checked || v == strconv.FormatInt(pg.Users[i].ID, 10)
			}
		}
	})
}

// incidentAssess answers the severity questionnaire: POST
// /incidents/{ref}/assess with functional, information (repeated),
// people, recoverability and criticality.
func (s *Server) incidentAssess(w http.ResponseWriter, r *http.Request) {
	s.incAction(w, r, "assess", func(d incident.Detail, a incident.Actor) (string, error) {
		ref, err := incRef(r, d)
		if err != nil {
			return "", err
		}
		im := incident.Impact{Functional: incident.FunctionalImpact(r.PostFormValue("functional")),
			Recoverability: incident.Recoverability(r.PostFormValue("recoverability")),
			Criticality:    incident.Criticality(r.PostFormValue("criticality"))}
		for _, v := range r.PostForm["information"] {
			im.Information = append(im.Information, incident.InformationImpact(v))
		}
		if people := strings.ReplaceAll(strings.TrimSpace(r.PostFormValue("people")), ",", ""); people != "" {
			if im.People, err = strconv.ParseInt(people, 10, 64); err != nil {
				return "", fault.InvalidField("people", "incident.severity.people_invalid")
			}
		}
		_, err = s.opts.Incidents.Assess(r.Context(), a, ref, im)
		return "inc_assessed", err
	}, func(pg *incOverviewPage) {
		pg.Impact = incImpactForm{Functional: r.PostFormValue("functional"), Information: r.PostForm["information"],
			People: r.PostFormValue("people"), Recoverability: r.PostFormValue("recoverability"),
			Criticality: r.PostFormValue("criticality")}
	})
}

// incidentOverride sets the severity by hand, or removes the override:
// POST /incidents/{ref}/severity with severity ("" to remove) and reason.
func (s *Server) incidentOverride(w http.ResponseWriter, r *http.Request) {
	s.incAction(w, r, "override", func(d incident.Detail, a incident.Actor) (string, error) {
		ref, err := incRef(r, d)
		if err != nil {
			return "", err
		}
		_, err = s.opts.Incidents.OverrideSeverity(r.Context(), a, ref, incident.Severity(r.PostFormValue("severity")), r.PostFormValue("reason"))
		return "inc_severity", err
	}, func(pg *incOverviewPage) {
		pg.OverrideTo, pg.Reason = r.PostFormValue("severity"), r.PostFormValue("reason")
	})
}

// incidentLink links the incident to another: POST /incidents/{ref}/links
// with to (the other's reference) and kind.
func (s *Server) incidentLink(w http.ResponseWriter, r *http.Request) {
	s.incAction(w, r, "link", func(d incident.Detail, a incident.Actor) (string, error) {
		to := strings.TrimSpace(r.PostFormValue("to"))
		if to == "" {
			return "", fault.InvalidField("to", "incident.field_required")
		}
		other, err := s.opts.Incidents.IncidentSummary(r.Context(), a, tenantOf(r), to)
		if fault.Is(err, fault.NotFound) {
			return "", fault.InvalidField("to", "incident.ref_not_found", "ref", safeLine(to, 40))
		} else if err != nil {
			return "", err
		}
		return "inc_linked", s.opts.Incidents.Link(r.Context(), a, d.ID, other.ID, incident.LinkKind(r.PostFormValue("kind")))
	}, func(pg *incOverviewPage) {
		pg.LinkTo, pg.LinkKind = r.PostFormValue("to"), r.PostFormValue("kind")
	})
}

// incidentUnlink removes a link: POST /incidents/{ref}/links/delete with
// other (the other incident's id), kind and reverse ("1" when the link
// goes from the other incident to this one).
func (s *Server) incidentUnlink(w http.ResponseWriter, r *http.Request) {
	s.incAction(w, r, "unlink", func(d incident.Detail, a incident.Actor) (string, error) {
		other, err := strconv.ParseInt(r.PostFormValue("other"), 10, 64)
		if err != nil || other <= 0 {
			return "", fault.New(fault.Invalid, "incidents.ov.bad_link")
		}
		from, to := d.ID, other
		if r.PostFormValue("reverse") == "1" {
			from, to = other, d.ID
		}
		return "inc_unlinked", s.opts.Incidents.Unlink(r.Context(), a, from, to, incident.LinkKind(r.PostFormValue("kind")))
	}, func(*incOverviewPage) {})
}
