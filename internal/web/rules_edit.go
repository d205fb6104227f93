// SPDX-License-Identifier: Apache-2.0

package web

import (
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/koban-csirt/koban/internal/alert"
	"github.com/koban-csirt/koban/internal/fault"
)

// ruleEditPage is the data of the custom rule editor.
type ruleEditPage struct {
	*Page
	New    bool
	Ref    string // the rule being edited; "" for a new one
	Action string // where the form posts
	YAML   string
	Events string
	// Checked: lint ran (Check, Test or a refused Save) and found
	// Problems, or none.
	Checked  bool
	Problems []problemView
	Lines    []sourceLine // the YAML with numbers, problem lines marked
	Test     *testView
	// DeleteURL is set for an existing custom rule.
	DeleteURL string
	BackURL   string
	MaxEvents int
}

// testView is a rule test's outcome as shown.
type testView struct {
	Rules   []TestedRule
	Events  []testedEventView
	Matched int // events with at least one match
	Errors  int // lines that did not read as events
}

// testedEventView is one tested event as shown. Texts have been through
// safeLine.
type testedEventView struct {
	Line      int
	Time      string
	Host      string
	LogSource string
	Error     string
	Matches   []TestMatch
	Fields    []alert.KV
}

// MaxPastedEvents is how many sample events a rule test takes; the
// service enforces it, the page says it.
const MaxPastedEvents = 1000

// parseEditorForm reads the editor's form, sent as multipart/form-data
// (pasted events are mostly punctuation, which URL encoding would triple)
// or URL-encoded.
func (s *Server) parseEditorForm(r *http.Request) error {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "multipart/form-data" {
		return parseForm(r)
	}
	// The body is already bounded by MaxBodyBytes: keep it all in memory.
	if err := r.ParseMultipartForm(s.opts.MaxBodyBytes); err != nil {
		if c := classify(err); fault.KindOf(c) == fault.TooLarge {
			return c
		}
		return fault.Wrap(fault.Invalid, err, "error.malformed")
	}
	return nil
}

// ruleTemplate is the commented rule a new custom rule starts from, in
// the viewer's language.
func (s *Server) ruleTemplate(p *Page, r *http.Request) string {
	author := "koban"
	if pr := principal(r); pr != nil {
		author = pr.User.Name
	}
	return p.T("rulesui.template", "author", author, "date", s.now().In(p.loc).Format(time.DateOnly))
}

// editPage builds the editor for the rule ref ("" for a new rule).
func (s *Server) editPage(r *http.Request, ref string) *ruleEditPage {
	p := s.page(r, "rules", "rulesui.new_title")
	d := &ruleEditPage{Page: p, New: ref == "", Ref: safeLine(ref, 200), Action: "/rules/new", BackURL: "/rules", MaxEvents: MaxPastedEvents}
	if ref != "" {
		p.Title = p.T("rulesui.edit_title", "rule", safeLine(ref, 200))
		d.Action = ruleHref(ref) + "/edit"
		d.DeleteURL = ruleHref(ref) + "/delete"
		d.BackURL = ruleHref(ref)
	}
	return d
}

// ruleNew is the editor for a new custom rule: GET /rules/new.
func (s *Server) ruleNew(w http.ResponseWriter, r *http.Request) {
	if !s.rulesConfigured(w, r) {
		return
	}
	d := s.editPage(r, "")
	d.YAML = s.ruleTemplate(d.Page, r)
	s.render(w, r, http.StatusOK, "rules_edit", d)
}

// ruleEdit is the editor for a custom rule: GET /rules/{id}/edit.
func (s *Server) ruleEdit(w http.ResponseWriter, r *http.Request) {
	if !s.rulesConfigured(w, r) {
		return
	}
	ref := r.PathValue("id")
	rd, err := s.opts.Rules.Rule(r.Context(), ref)
	if err == nil && !rd.Custom {
		err = fault.New(fault.Invalid, "rulesui.not_custom")
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := s.editPage(r, rd.Ref)
	d.YAML = rd.Source
	s.render(w, r, http.StatusOK, "rules_edit", d)
}

// ruleNewPost is Check, Test or Save of a new rule: POST /rules/new.
func (s *Server) ruleNewPost(w http.ResponseWriter, r *http.Request) { s.editorPost(w, r, "") }

// ruleEditPost is Check, Test or Save of a custom rule: POST
// /rules/{id}/edit.
func (s *Server) ruleEditPost(w http.ResponseWriter, r *http.Request) {
	s.editorPost(w, r, r.PathValue("id"))
}

// editorPost runs the button pressed (action: check, test or save) on the
// YAML and events of the form. Check and Test show the editor again with
// their outcome; a Save without problems goes to the rule's page.
func (s *Server) editorPost(w http.ResponseWriter, r *http.Request, ref string) {
	if !s.rulesConfigured(w, r) {
		return
	}
	if err := s.parseEditorForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	ctx := r.Context()
	d := s.editPage(r, ref)
	d.YAML = strings.ReplaceAll(r.PostFormValue("yaml"), "\r\n", "\n")
	d.Events = r.PostFormValue("events")
	var probs []RuleProblem
	var err error
	switch r.PostFormValue("action") {
	case "check":
		probs, err = s.opts.Rules.CheckRule(ctx, ref, []byte(d.YAML))
		d.Checked = err == nil
	case "test":
		var res RuleTest
		res, err = s.opts.Rules.TestRule(ctx, []byte(d.YAML), []byte(d.Events))
		probs, d.Checked = res.Problems, err == nil
		if err == nil && len(res.Problems) == 0 {
			d.Test = testViewOf(d.Page, res)
		}
	case "save":
		var id string
		id, probs, err = s.opts.Rules.SaveRule(ctx, actor(r), ref, []byte(d.YAML))
		if err == nil && len(probs) == 0 {
			redirectDone(w, r, ruleHref(id), "saved")
			return
		}
		d.Checked = err == nil
		if d.Checked {
			d.Summary = append(d.Summary, d.T("rulesui.save_refused"))
		}
	default:
		err = fault.New(fault.Invalid, "rulesui.bad_action")
	}
	status := http.StatusOK
	if err != nil {
		if k := fault.KindOf(err); k == fault.Internal || k == fault.NotFound {
			s.fail(w, r, err)
			return
		}
		if !d.formErrors(err) {
			s.fail(w, r, err)
			return
		}
		status = statusFor(fault.KindOf(err))
	}
	if len(probs) > 0 && status == http.StatusOK && r.PostFormValue("action") == "save" {
		// A save refused; Check and Test did what was asked.
		status = http.StatusUnprocessableEntity
	}
	for _, rp := range probs {
		d.Problems = append(d.Problems, problemViewOf(d.Page, rp))
	}
	if d.Checked {
		d.Lines = sourceLines(d.Page, d.YAML, probs)
	}
	s.render(w, r, status, "rules_edit", d)
}

// testViewOf prepares a test's outcome for the page.
func testViewOf(p *Page, res RuleTest) *testView {
	v := &testView{Rules: res.Rules}
	for i := range v.Rules {
		tr := &v.Rules[i]
		tr.Ref, tr.Title, tr.Level = safeLine(tr.Ref, 200), safeLine(tr.Title, 300), levelOf(tr.Level)
	}
	for _, e := range res.Events {
		ev := testedEventView{Line: e.Line, Host: safeLine(e.Host, 200), LogSource: safeLine(e.LogSource, 200),
			Error: safeLine(e.Error, 500)}
		if !e.Time.IsZero() {
			ev.Time = e.Time.In(p.loc).Format(eventTimeLayout)
		}
		for _, m := range e.Matches {
			ev.Matches = append(ev.Matches, TestMatch{Ref: safeLine(m.Ref, 200), Title: safeLine(m.Title, 300),
				Level: levelOf(m.Level), Correlation: m.Correlation})
		}
		for _, f := range e.Fields {
			ev.Fields = append(ev.Fields, alert.KV{Name: safeLine(f.Name, 200), Value: safeLine(f.Value, 500)})
		}
		if len(ev.Matches) > 0 {
			v.Matched++
		}
		if ev.Error != "" {
			v.Errors++
		}
		v.Events = append(v.Events, ev)
	}
	return v
}

// ruleDelete deletes a custom rule: POST /rules/{id}/delete with
// confirm=yes.
func (s *Server) ruleDelete(w http.ResponseWriter, r *http.Request) {
	if !s.rulesConfigured(w, r) {
		return
	}
	ref := r.PathValue("id")
	s.form(w, r, "rules_detail", "/rules", "deleted", func() error {
		if r.PostFormValue("confirm") != "yes" {
			return fault.InvalidField("confirm", "rulesui.confirm_delete")
		}
		return s.opts.Rules.DeleteRule(r.Context(), actor(r), ref)
	}, func() (pageData, error) {
		d, err := s.ruleDetailData(r, ref)
		if err != nil {
			return nil, err
		}
		d.RequestPath = ruleHref(ref)
		return d, nil
	})
}

// LevelOf is the alert level of a rule level, for badges.
func (p *Page) LevelOf(l string) levelBadge { return p.LevelBadge(alert.Level(levelOf(l))) }
