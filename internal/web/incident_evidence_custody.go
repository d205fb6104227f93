// SPDX-License-Identifier: Apache-2.0

package web

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/incident"
)

// The forms of one evidence item's page: hand-over, remark, legal hold,
// retention, integrity check and disposal, each recorded in the item's
// chain of custody by the locker.

// evidenceAct runs one change of the item the route names from a form,
// showing the item's page again with the typed values when it is refused.
func (s *Server) evidenceAct(w http.ResponseWriter, r *http.Request, form, done string,
	act func(l *incident.Locker, a incident.Actor, e incident.Evidence) (string, error)) {
	d, ok := s.incidentDetail(w, r)
	if !ok {
		return
	}
	l, e, err := s.evidenceOf(r, d)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := parseForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	next, err := act(l, incidentActor(r), e)
	if err == nil {
		if next == "" {
			next = done
		}
		redirectDone(w, r, evidenceHref(d.Ref, e.ID), next)
		return
	}
	cur, derr := l.Evidence(r.Context(), e.ID)
	var pg *evidencePage
	if derr == nil {
		pg, derr = s.evidenceDetailData(r, l, d, cur)
	}
	if derr != nil || !pg.formErrors(err) {
		s.fail(w, r, err)
		return
	}
	pg.Active = form
	for k, vs := range r.PostForm {
		if len(vs) > 0 {
			pg.Typed[k] = vs[0]
		}
	}
	s.render(w, r, statusFor(fault.KindOf(err)), "incident_evidence", pg)
}

// evidenceTransfer records a hand-over: POST .../transfer.
func (s *Server) evidenceTransfer(w http.ResponseWriter, r *http.Request) {
	s.evidenceAct(w, r, "transfer", "incevidence_transferred", func(l *incident.Locker, a incident.Actor, e incident.Evidence) (string, error) {
		_, err := l.Transfer(r.Context(), a, e.ID, r.PostFormValue("to"), r.PostFormValue("note"))
		return "", err
	})
}

// evidenceAnnotate adds a remark to the custody: POST .../annotate.
func (s *Server) evidenceAnnotate(w http.ResponseWriter, r *http.Request) {
	s.evidenceAct(w, r, "annotate", "incevidence_annotated", func(l *incident.Locker, a incident.Actor, e incident.Evidence) (string, error) {
		_, err := l.Annotate(r.Context(), a, e.ID, r.PostFormValue("note"))
		return "", err
	})
}

// evidenceHold places or releases a legal hold: POST .../hold with
// action "set" or "release".
func (s *Server) evidenceHold(w http.ResponseWriter, r *http.Request) {
	s.evidenceAct(w, r, "hold", "", func(l *incident.Locker, a incident.Actor, e incident.Evidence) (string, error) {
		reason := r.PostFormValue("reason")
		if r.PostFormValue("action") == "release" {
			_, err := l.ReleaseHold(r.Context(), a, e.ID, reason)
			return "incevidence_released", err
		}
		_, err := l.SetHold(r.Context(), a, e.ID, reason)
		return "incevidence_held", err
	})
}

// evidenceRetention moves the retention date: POST .../retention. The
// item is kept through the whole day chosen, in the viewer's zone.
func (s *Server) evidenceRetention(w http.ResponseWriter, r *http.Request) {
	s.evidenceAct(w, r, "retention", "incevidence_retention", func(l *incident.Locker, a incident.Actor, e incident.Evidence) (string, error) {
		var until time.Time
		if v := strings.TrimSpace(r.PostFormValue("until")); v != "" {
			day, err := time.ParseInLocation(time.DateOnly, v, s.page(r, "", "").loc)
			if err != nil {
				return "", fault.InvalidField("until", "incidents.evidence.date_invalid", "value", safeLine(v, 40))
			}
			until = day.AddDate(0, 0, 1).Add(-time.Second)
		}
		_, err := l.SetRetention(r.Context(), a, e.ID, until, r.PostFormValue("reason"))
		return "", err
	})
}

// evidenceVerify re-hashes the content and says what it found: POST
// .../verify.
func (s *Server) evidenceVerify(w http.ResponseWriter, r *http.Request) {
	s.evidenceAct(w, r, "verify", "", func(l *incident.Locker, a incident.Actor, e incident.Evidence) (string, error) {
		out, err := l.Verify(r.Context(), a, e.ID)
		if err != nil {
			return "", err
		}
		switch out {
		case incident.VerifyIntact, incident.VerifyAltered, incident.VerifyMissing:
			return "incevidence_verify_" + string(out), nil
		}
		return "", fmt.Errorf("web: verify evidence %d: unknown outcome %q", e.ID, out)
	})
}

// evidenceDispose destroys the content after its retention: POST
// .../dispose.
func (s *Server) evidenceDispose(w http.ResponseWriter, r *http.Request) {
	s.evidenceAct(w, r, "dispose", "incevidence_disposed", func(l *incident.Locker, a incident.Actor, e incident.Evidence) (string, error) {
		_, err := l.Dispose(r.Context(), a, e.ID, r.PostFormValue("reason"))
		return "", err
	})
}

// evidenceField is the data of the evidence_field template: one text field
// of an item's form.
type evidenceField struct {
	P                 *evidencePage
	Form, Name, Label string
	Value, Err        string
	Required          bool
}

// Field prepares the field name of form, labelled by message label, with
// what was typed and its message when the page is shown again for form.
func (pg *evidencePage) Field(form, name, label string, required bool) evidenceField {
	f := evidenceField{P: pg, Form: form, Name: name, Label: label, Required: required}
	if pg.Active == form {
		f.Value, f.Err = pg.Typed[name], pg.FormErr(form, name)
	}
	return f
}

// fieldAliases names the locker's field for a form field whose messages
// the locker files under another name.
var fieldAliases = map[string]string{"note": "reason", "until": "retain_until"}

// FormErr returns the message of field when the page is shown again for
// form, else "".
func (pg *evidencePage) FormErr(form, field string) string {
	if pg.Active != form {
		return ""
	}
	if m := pg.Err(field); m != "" {
		return m
	}
	return pg.Err(fieldAliases[field])
}
