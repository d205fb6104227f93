// SPDX-License-Identifier: Apache-2.0

package web

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/koban-csirt/koban/internal/auth"
	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/i18n"
	"github.com/koban-csirt/koban/internal/incident"
)

// The playbook library: anyone who works incidents reads a playbook at
// /playbooks/{id} in their language; admins list the library at
// /admin/playbooks, copy a playbook into an editable custom one, edit its
// YAML, disable, enable and delete it (playbooks_edit.go). A custom
// playbook with a built-in one's id replaces it while enabled (see
// incident/playbook_custom.go); the pages say so.

// registerPlaybookAdmin registers the routes of reading, copying and
// editing playbooks.
func (s *Server) registerPlaybookAdmin() {
	s.handle(Session, auth.PermIncidents, "GET /playbooks/{id}", s.playbookRead)
	s.handle(Session, auth.PermPlaybooks, "GET /admin/playbooks", s.playbookList)
	s.handle(Session, auth.PermPlaybooks, "GET /admin/playbooks/{id}/copy", s.playbookCopyForm)
	s.handle(Session, auth.PermPlaybooks, "POST /admin/playbooks/{id}/copy", s.playbookCopy)
	s.handle(Session, auth.PermPlaybooks, "GET /admin/playbooks/{id}/edit", s.playbookEditForm)
	s.handleUpload(Session, auth.PermPlaybooks, "POST /admin/playbooks/{id}/edit", maxPlaybookForm, s.playbookSave)
	s.handle(Session, auth.PermPlaybooks, "POST /admin/playbooks/{id}/disable", s.playbookDisable(true))
	s.handle(Session, auth.PermPlaybooks, "POST /admin/playbooks/{id}/enable", s.playbookDisable(false))
	s.handle(Session, auth.PermPlaybooks, "POST /admin/playbooks/{id}/delete", s.playbookDelete)
}

// maxPlaybookForm bounds the editor's form: the largest playbook koban
// takes, URL-encoded (Japanese text triples), and the other fields.
const maxPlaybookForm = 3*incident.MaxPlaybookBytes + 4<<10

// playbookLibrary returns the playbooks an incident may apply: koban's own
// and those admins copied and edited (an enabled custom playbook replacing
// the built-in one with its id). Every page that offers playbooks calls it.
func (s *Server) playbookLibrary(ctx context.Context) ([]*incident.Playbook, error) {
	if s.opts.Incidents == nil {
		return incident.Library()
	}
	return s.opts.Incidents.Playbooks(ctx)
}

// playbooksConfigured answers 404 when koban runs without incidents.
func (s *Server) playbooksConfigured(w http.ResponseWriter, r *http.Request) bool {
	if s.opts.Incidents == nil {
		s.fail(w, r, fault.New(fault.NotFound, "playbookui.no_service"))
		return false
	}
	return true
}

// playbookHref is the address of a playbook's page.
func playbookHref(id string) string { return "/playbooks/" + id }

// playbookAdminHref is the address of an admin action on a playbook.
func playbookAdminHref(id, action string) string { return "/admin/playbooks/" + id + "/" + action }

// playbookFlash shows the notice a redirect asked for with ?done=, from
// the playbookui.done messages only.
func (s *Server) playbookFlash(p *Page, r *http.Request) {
	if id := r.URL.Query().Get("done"); id != "" && s.cat.Has(i18n.English, "playbookui.done."+id) {
		p.Flash = p.T("playbookui.done." + id)
	}
}

// playbookRow is one playbook of the admin list.
type playbookRow struct {
	ID, Href, Title string
	Custom          bool
	Types           []string
	Phases          []string
	Tasks           int
	// State is a playbookui.state message id.
	State                   string
	Replaces, Replaced      bool
	Version                 int64
	Updated, UpdatedBy      string
	CopyHref, EditHref      string
	DisableHref, EnableHref string
	Disabled                bool
}

// playbookListPage is the data of /admin/playbooks.
type playbookListPage struct {
	*Page
	Rows []playbookRow
}

// playbookList lists the library: GET /admin/playbooks.
func (s *Server) playbookList(w http.ResponseWriter, r *http.Request) {
	if !s.playbooksConfigured(w, r) {
		return
	}
	lib, err := s.opts.Incidents.PlaybookLibrary(r.Context(), incidentActor(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p := s.page(r, "playbooks", "playbookui.list_title")
	s.playbookFlash(p, r)
	d := &playbookListPage{Page: p}
	for _, e := range lib {
		d.Rows = append(d.Rows, playbookRowOf(p, e))
	}
	s.render(w, r, http.StatusOK, "playbooks", d)
}

func playbookRowOf(p *Page, e incident.LibraryEntry) playbookRow {
	row := playbookRow{ID: e.ID, Href: playbookHref(e.ID), Title: e.ID, Custom: e.Origin == incident.OriginCustom,
		Replaces: e.Replaces, Replaced: e.Replaced, Disabled: e.Disabled, Version: e.Version(),
		CopyHref: playbookAdminHref(e.ID, "copy")}
	switch {
	case e.Playbook == nil:
		row.State = "playbookui.state.invalid"
	case e.Disabled:
		row.State = "playbookui.state.disabled"
	case e.Replaced:
		row.State = "playbookui.state.replaced"
	default:
		row.State = "playbookui.state.offered"
	}
	if pb := e.Playbook; pb != nil {
		row.Title = safeLine(incident.PlaybookText(pb.Title, string(p.Lang)), 300)
		for _, t := range pb.Types {
			row.Types = append(row.Types, p.T("incident.type."+string(t)))
		}
		for _, ph := range pb.Phases {
			row.Phases = append(row.Phases, p.T("incident.phase."+string(ph.Phase)))
		}
		row.Tasks = len(pb.Tasks(time.Time{}))
	}
	if c := e.Custom; c != nil {
		row.Updated, row.UpdatedBy = p.Time(c.UpdatedAt), safeLine(c.UpdatedBy, 200)
		row.EditHref = playbookAdminHref(e.ID, "edit")
		row.DisableHref, row.EnableHref = playbookAdminHref(e.ID, "disable"), playbookAdminHref(e.ID, "enable")
		// A built-in replaced: its page is the custom one's, so the row
		// links nowhere rather than to the wrong text.
	} else if e.Replaced {
		row.Href = ""
	}
	return row
}

// playbookTaskView is one task of a playbook's page.
type playbookTaskView struct {
	ID, Title, Why, Due string
	// Who says whose task it is, RequiredLabel marks a required one;
	// both translated, for the shared task template.
	Who, RequiredLabel string
	Phase              string // set when a decision adds it to another phase
	Required           bool
	Checklist          []string
}

// playbookDecisionView is one decision of a playbook's page.
type playbookDecisionView struct {
	ID, Question, Help string
	Flags              []string
	Tasks              []playbookTaskView
}

// playbookPhaseView is one phase of a playbook's page.
type playbookPhaseView struct {
	Key, Label, IPAStep string
	Tasks               []playbookTaskView
	Decisions           []playbookDecisionView
}

// playbookPage is the data of /playbooks/{id}.
type playbookPage struct {
	*Page
	ID, Summary string
	Types       []string
	Custom      bool
	Replaces    bool
	Disabled    bool
	CopiedFrom  string
	Do, DoNot   []string
	Phases      []playbookPhaseView
	Evidence    []string
	// Admin: the reader may copy and edit playbooks.
	Admin              bool
	CopyHref, EditHref string
}

// playbookRead shows a playbook in the reader's language: GET
// /playbooks/{id}.
func (s *Server) playbookRead(w http.ResponseWriter, r *http.Request) {
	if !s.playbooksConfigured(w, r) {
		return
	}
	e, err := s.opts.Incidents.Playbook(r.Context(), incidentActor(r), r.PathValue("id"))
	if err == nil && e.Playbook == nil {
		err = fault.New(fault.NotFound, "playbookui.invalid_stored", "id", e.ID)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p := s.page(r, "incidents", "playbookui.read_title")
	pb := e.Playbook
	lang := string(p.Lang)
	text := func(m map[string]string, n int) string { return safeLine(incident.PlaybookText(m, lang), n) }
	texts := func(ms []map[string]string) []string {
		out := make([]string, 0, len(ms))
		for _, m := range ms {
			out = append(out, text(m, 4000))
		}
		return out
	}
	p.Title = text(pb.Title, 300)
	s.playbookFlash(p, r)
	d := &playbookPage{Page: p, ID: e.ID, Summary: text(pb.Summary, 4000), Custom: e.Origin == incident.OriginCustom,
		Replaces: e.Replaces, Disabled: e.Disabled, Do: texts(pb.Do), DoNot: texts(pb.DoNot), Evidence: texts(pb.Evidence)}
	if e.Custom != nil {
		d.CopiedFrom = safeLine(e.Custom.CopiedFrom, 100)
	}
	for _, t := range pb.Types {
		d.Types = append(d.Types, p.T("incident.type."+string(t)))
	}
	task := func(t incident.PlaybookTask, decision bool) playbookTaskView {
		v := playbookTaskView{ID: t.ID, Title: text(t.Title, 300), Why: text(t.Why, 4000),
			Who: p.T("playbookui.who", "role", p.T("playbook.role."+t.Role)), RequiredLabel: p.T("playbookui.required"),
			Required: t.Required, Checklist: texts(t.Checklist)}
		if t.DueAfter != "" {
			v.Due = p.T("playbookui.due", "after", t.DueAfter, "from", p.T("playbook.due_from."+t.DueFrom))
		}
		if decision && t.Phase != "" {
			v.Phase = p.T("incident.phase." + string(t.Phase))
		}
		return v
	}
	for _, ph := range pb.Phases {
		pv := playbookPhaseView{Key: string(ph.Phase), Label: p.T("incident.phase." + string(ph.Phase)),
			IPAStep: p.T("incident.ipa_step." + string(ph.Phase.IPAStep()))}
		for _, t := range ph.Tasks {
			pv.Tasks = append(pv.Tasks, task(t, false))
		}
		for _, dc := range ph.Decisions {
			dv := playbookDecisionView{ID: dc.ID, Question: text(dc.Question, 300), Help: text(dc.Help, 4000)}
			for _, f := range dc.OnYes.Flags {
				dv.Flags = append(dv.Flags, p.T("incidentclock.flag."+f))
			}
			for _, t := range dc.OnYes.Tasks {
				dv.Tasks = append(dv.Tasks, task(t, true))
			}
			pv.Decisions = append(pv.Decisions, dv)
		}
		d.Phases = append(d.Phases, pv)
	}
	if pr := principal(r); pr != nil && pr.Can(auth.PermPlaybooks) {
		d.Admin, d.CopyHref = true, playbookAdminHref(e.ID, "copy")
		if e.Custom != nil {
			d.EditHref = playbookAdminHref(e.ID, "edit")
		}
	}
	s.render(w, r, http.StatusOK, "playbook", d)
}

// playbookFormVersion reads the version a form was loaded with.
func playbookFormVersion(r *http.Request) (int64, error) {
	v, err := strconv.ParseInt(r.PostFormValue("version"), 10, 64)
	if err != nil || v < 1 {
		return 0, fault.InvalidField("version", "playbookui.version_missing")
	}
	return v, nil
}
