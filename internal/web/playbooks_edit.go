// SPDX-License-Identifier: Apache-2.0

package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/incident"
)

// playbookCopyPage is the data of the copy form.
type playbookCopyPage struct {
	*Page
	From, FromTitle, NewID string
	// BuiltIns lists the built-in ids, which a copy may take to replace
	// the built-in.
	BuiltIns       []string
	Action, Cancel string
}

// copyPage builds the copy form of playbook from.
func (s *Server) copyPage(r *http.Request, from string) (*playbookCopyPage, error) {
	e, err := s.opts.Incidents.Playbook(r.Context(), incidentActor(r), from)
	if err != nil {
		return nil, err
	}
	p := s.page(r, "playbooks", "playbookui.copy_title")
	d := &playbookCopyPage{Page: p, From: e.ID, FromTitle: e.ID, Action: playbookAdminHref(e.ID, "copy"), Cancel: "/admin/playbooks"}
	if e.Playbook != nil {
		d.FromTitle = safeLine(incident.PlaybookText(e.Playbook.Title, string(p.Lang)), 300)
	}
	p.Title = p.T("playbookui.copy_title_of", "title", d.FromTitle)
	lib, _ := incident.Library()
	for _, pb := range lib {
		d.BuiltIns = append(d.BuiltIns, pb.ID)
	}
	return d, nil
}

// playbookCopyForm asks for the copy's id: GET /admin/playbooks/{id}/copy.
func (s *Server) playbookCopyForm(w http.ResponseWriter, r *http.Request) {
	if !s.playbooksConfigured(w, r) {
		return
	}
	d, err := s.copyPage(r, r.PathValue("id"))
	if err == nil {
		d.NewID, err = s.opts.Incidents.SuggestCopyID(r.Context(), incidentActor(r), d.From)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "playbook_copy", d)
}

// playbookCopy copies a playbook and opens the copy's editor: POST
// /admin/playbooks/{id}/copy with id.
func (s *Server) playbookCopy(w http.ResponseWriter, r *http.Request) {
	if !s.playbooksConfigured(w, r) {
		return
	}
	if err := parseForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	from := r.PathValue("id")
	c, err := s.opts.Incidents.CopyPlaybook(r.Context(), incidentActor(r), from, r.PostFormValue("id"))
	if err == nil {
		redirectDone(w, r, playbookAdminHref(c.ID, "edit"), "copied")
		return
	}
	d, derr := s.copyPage(r, from)
	if derr != nil || !d.formErrors(err) {
		s.fail(w, r, err)
		return
	}
	if fault.Is(err, fault.Conflict) {
		d.Errors["id"] = d.T("playbookui.exists", "id", safeLine(r.PostFormValue("id"), 100))
	}
	d.NewID = safeLine(r.PostFormValue("id"), 100)
	s.render(w, r, statusFor(fault.KindOf(classify(err))), "playbook_copy", d)
}

// playbookEditPage is the data of the YAML editor of a custom playbook.
type playbookEditPage struct {
	*Page
	ID      string
	YAML    string
	Version int64
	// Replaces: the playbook has a built-in one's id.
	Replaces bool
	Problems []playbookProblemView
	Lines    []sourceLine
	Action   string
	ReadHref string
}

// playbookProblemView is one problem of the text, translated.
type playbookProblemView struct {
	Line, Col     int
	Path, Message string
}

// editPlaybookPage builds the editor of custom playbook id.
func (s *Server) editPlaybookPage(r *http.Request, e incident.LibraryEntry) *playbookEditPage {
	p := s.page(r, "playbooks", "playbookui.edit_title")
	p.Title = p.T("playbookui.edit_title_of", "id", e.ID)
	return &playbookEditPage{Page: p, ID: e.ID, Version: e.Version(), Replaces: e.Replaces,
		Action: playbookAdminHref(e.ID, "edit"), ReadHref: playbookHref(e.ID)}
}

// customEntry returns the custom playbook id as the library lists it, or
// NotFound when id names none.
func (s *Server) customEntry(r *http.Request, id string) (incident.LibraryEntry, error) {
	lib, err := s.opts.Incidents.PlaybookLibrary(r.Context(), incidentActor(r))
	if err != nil {
		return incident.LibraryEntry{}, err
	}
	for _, e := range lib {
		if e.ID == id && e.Custom != nil {
			return e, nil
		}
	}
	return incident.LibraryEntry{}, fault.New(fault.NotFound, "playbookui.not_custom", "id", safeLine(id, 100))
}

// playbookEditForm is the editor: GET /admin/playbooks/{id}/edit.
func (s *Server) playbookEditForm(w http.ResponseWriter, r *http.Request) {
	if !s.playbooksConfigured(w, r) {
		return
	}
	e, err := s.customEntry(r, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := s.editPlaybookPage(r, e)
	d.YAML = e.Custom.Source
	s.playbookFlash(d.Page, r)
	if len(e.Problems) > 0 {
		d.problems(e.Problems)
	}
	s.render(w, r, http.StatusOK, "playbook_edit", d)
}

// problems shows a text's problems beside it.
func (d *playbookEditPage) problems(ps incident.PlaybookProblems) {
	var rps []RuleProblem
	for _, pr := range ps {
		d.Problems = append(d.Problems, playbookProblemView{Line: pr.Line, Col: pr.Col, Path: safeLine(pr.Path, 300),
			Message: safeLine(d.T(pr.Msg, pr.Args...), 1000)})
		rps = append(rps, RuleProblem{Line: pr.Line, Col: pr.Col, Msg: pr.Msg, Args: pr.Args})
	}
	d.Lines = sourceLines(d.Page, d.YAML, rps)
}

// playbookSave saves the edited YAML: POST /admin/playbooks/{id}/edit
// with yaml and version. Problems show the editor again, the text kept,
// each problem with its line.
func (s *Server) playbookSave(w http.ResponseWriter, r *http.Request) {
	if !s.playbooksConfigured(w, r) {
		return
	}
	if err := parseForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	id := r.PathValue("id")
	e, err := s.customEntry(r, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := s.editPlaybookPage(r, e)
	d.YAML = strings.ReplaceAll(r.PostFormValue("yaml"), "\r\n", "\n")
	version, err := playbookFormVersion(r)
	if err == nil {
		d.Version = version
		_, err = s.opts.Incidents.SavePlaybook(r.Context(), incidentActor(r), id, d.YAML, version)
	}
	if err == nil {
		redirectDone(w, r, playbookHref(id), "saved")
		return
	}
	if k := fault.KindOf(classify(err)); k == fault.Internal || k == fault.NotFound || !d.formErrors(err) {
		s.fail(w, r, err)
		return
	}
	status := statusFor(fault.KindOf(classify(err)))
	var probs incident.PlaybookProblems
	if errors.As(err, &probs) {
		d.problems(probs)
		status = http.StatusUnprocessableEntity
	}
	s.render(w, r, status, "playbook_edit", d)
}

// playbookDisable disables or enables a custom playbook: POST
// /admin/playbooks/{id}/disable or /enable with version.
func (s *Server) playbookDisable(disabled bool) http.HandlerFunc {
	done := "enabled"
	if disabled {
		done = "disabled"
	}
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.playbooksConfigured(w, r) {
			return
		}
		s.form(w, r, "playbooks", "/admin/playbooks", done, func() error {
			v, err := playbookFormVersion(r)
			if err != nil {
				return err
			}
			_, err = s.opts.Incidents.SetPlaybookDisabled(r.Context(), incidentActor(r), r.PathValue("id"), disabled, v)
			return err
		}, s.playbookListData(r))
	}
}

// playbookDelete deletes a custom playbook: POST
// /admin/playbooks/{id}/delete with version and confirm=yes.
func (s *Server) playbookDelete(w http.ResponseWriter, r *http.Request) {
	if !s.playbooksConfigured(w, r) {
		return
	}
	s.form(w, r, "playbooks", "/admin/playbooks", "deleted", func() error {
		if r.PostFormValue("confirm") != "yes" {
			return fault.InvalidField("confirm", "playbookui.confirm_delete")
		}
		v, err := playbookFormVersion(r)
		if err != nil {
			return err
		}
		return s.opts.Incidents.DeletePlaybook(r.Context(), incidentActor(r), r.PathValue("id"), v)
	}, s.playbookListData(r))
}

// playbookListData rebuilds the list to show a refused action's message.
func (s *Server) playbookListData(r *http.Request) func() (pageData, error) {
	return func() (pageData, error) {
		lib, err := s.opts.Incidents.PlaybookLibrary(r.Context(), incidentActor(r))
		if err != nil {
			return nil, err
		}
		p := s.page(r, "playbooks", "playbookui.list_title")
		p.RequestPath = "/admin/playbooks"
		d := &playbookListPage{Page: p}
		for _, e := range lib {
			d.Rows = append(d.Rows, playbookRowOf(p, e))
		}
		return d, nil
	}
}
