// SPDX-License-Identifier: Apache-2.0

package web

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/incident"
)

// Applying a playbook to an incident from its tasks tab: the playbook
// shown in the viewer's language, then its tasks and decisions created.

// phaseStarts returns when each phase of the incident began, from its
// timeline: triage at its creation, the others at their latest phase
// change into them. Phases not reached are missing.
func phaseStarts(d incident.Detail) map[incident.Phase]time.Time {
	out := map[incident.Phase]time.Time{incident.PhaseTriage: d.CreatedAt}
	for _, e := range d.Timeline {
		if e.Kind != incident.EntryPhase {
			continue
		}
		for i := 0; i+1 < len(e.Args); i += 2 {
			if e.Args[i] == "to" {
				out[incident.Phase(e.Args[i+1])] = e.At
			}
		}
	}
	if _, ok := out[d.Phase]; !ok {
		out[d.Phase] = d.UpdatedAt
	}
	return out
}

// hasTaskSource reports whether the incident has a task from the playbook
// task named.
func hasTaskSource(d incident.Detail, src incident.TaskSource) bool {
	return slices.ContainsFunc(d.Tasks, func(t incident.Task) bool { return t.Source == src })
}

// playbookChoice is the "apply a playbook" card: the playbooks to choose
// from, suited ones first, and the one chosen shown in full.
type playbookChoice struct {
	Options  []playbookOption
	Selected string
	Preview  *playbookPreview
	// Err is set when the chosen playbook does not exist.
	Err error
}

// playbookOption is one playbook of the select.
type playbookOption struct {
	ID, Title string
	Suggested bool
}

// playbookPreview is a playbook in the viewer's language, as the incident
// would get it.
type playbookPreview struct {
	ID, Title, Summary string
	Do, DoNot          []string
	Evidence           []string
	Phases             []pbPhaseView
	// New counts the tasks applying it now would add.
	New int
	// Present counts its tasks the incident has already.
	Present int
}

// pbPhaseView is a playbook's work in one phase.
type pbPhaseView struct {
	Phase     incident.Phase
	Tasks     []pbTaskView
	Decisions []pbDecisionView
}

// pbTaskView is one task of a playbook.
type pbTaskView struct {
	Title, Why, Role, Due string
	Required, Present     bool
	Checklist             []string
}

// pbDecisionView is one decision of a playbook with what "yes" does.
type pbDecisionView struct {
	ID, Question, Help string
	Flags              []string
	Tasks              []pbTaskView
	// Answer is "yes", "no" or "" (not decided yet) as chosen.
	Answer string
	// Present: the incident has the task of deciding it already.
	Present bool
}

// playbookChoiceOf builds the card for incident d: the playbook named by
// the request's "playbook" value is previewed.
func (s *Server) playbookChoiceOf(r *http.Request, p *Page, d incident.Detail, lib []*incident.Playbook) playbookChoice {
	lang := string(p.Lang)
	var c playbookChoice
	suited := map[string]bool{}
	for _, pb := range lib {
		if slices.Contains(pb.Types, d.Type) {
			suited[pb.ID] = true
		}
	}
	for _, sug := range []bool{true, false} {
		for _, pb := range lib {
			if suited[pb.ID] == sug {
				c.Options = append(c.Options, playbookOption{ID: pb.ID, Title: incident.PlaybookText(pb.Title, lang), Suggested: sug})
			}
		}
	}
	c.Selected = r.FormValue("playbook")
	if c.Selected == "" {
		return c
	}
	i := slices.IndexFunc(lib, func(pb *incident.Playbook) bool { return pb.ID == c.Selected })
	if i < 0 {
		c.Err = fault.InvalidField("playbook", "incidents.tasks.playbook_unknown", "id", safeLine(c.Selected, 64))
		c.Selected = ""
		return c
	}
	c.Preview = previewOf(p, lib[i], d, func(id string) string { return r.FormValue("decision." + id) })
	return c
}

// previewOf shows pb as incident d would get it; answer returns the answer
// chosen for a decision.
func previewOf(p *Page, pb *incident.Playbook, d incident.Detail, answer func(string) string) *playbookPreview {
	lang := string(p.Lang)
	tx := func(m map[string]string) string { return incident.PlaybookText(m, lang) }
	pv := &playbookPreview{ID: pb.ID, Title: tx(pb.Title), Summary: tx(pb.Summary)}
	for _, m := range pb.Do {
		pv.Do = append(pv.Do, tx(m))
	}
	for _, m := range pb.DoNot {
		pv.DoNot = append(pv.DoNot, tx(m))
	}
	for _, m := range pb.Evidence {
		pv.Evidence = append(pv.Evidence, tx(m))
	}
	task := func(t incident.TaskTemplate) pbTaskView {
		v := pbTaskView{Title: tx(t.Title), Why: tx(t.Why), Role: p.T("playbook.role." + t.Role), Required: t.Required,
			Present: hasTaskSource(d, incident.TaskSource{PlaybookID: t.PlaybookID, TaskID: t.TaskID})}
		switch {
		case !t.Due.IsZero():
			v.Due = p.Time(t.Due)
		case t.DueFrom == incident.DueFromPhase:
			v.Due = p.T("incidents.tasks.due_after_phase", "after", durationText(p, t.DueAfter))
		}
		for _, c := range t.Checklist {
			v.Checklist = append(v.Checklist, tx(c))
		}
		if v.Present {
			pv.Present++
		}
		return v
	}
	at := map[incident.Phase]int{}
	phase := func(ph incident.Phase) *pbPhaseView {
		i, ok := at[ph]
		if !ok {
			i = len(pv.Phases)
			at[ph] = i
			pv.Phases = append(pv.Phases, pbPhaseView{Phase: ph})
		}
		return &pv.Phases[i]
	}
	for _, t := range pb.Tasks(d.AwareAt) {
		v := task(t)
		if !v.Present {
			pv.New++
		}
		ph := phase(t.Phase)
		ph.Tasks = append(ph.Tasks, v)
	}
	for _, ph := range pb.Phases {
		for _, dec := range ph.Decisions {
			dv := pbDecisionView{ID: dec.ID, Question: tx(dec.Question), Help: tx(dec.Help), Answer: answer(dec.ID),
				Present: hasTaskSource(d, decisionSource(pb.ID, dec.ID))}
			for _, f := range dec.OnYes.Flags {
				dv.Flags = append(dv.Flags, p.T("incidentclock.flag."+f))
			}
			for _, t := range pb.DecisionTasks(dec.ID, d.AwareAt) {
				dv.Tasks = append(dv.Tasks, task(t))
			}
			vp := phase(ph.Phase)
			vp.Decisions = append(vp.Decisions, dv)
		}
	}
	slices.SortStableFunc(pv.Phases, func(a, b pbPhaseView) int {
		return slices.Index(incident.Phases, a.Phase) - slices.Index(incident.Phases, b.Phase)
	})
	return pv
}

// decisionSource is the source of the task of answering a playbook's
// decision.
func decisionSource(playbookID, decisionID string) incident.TaskSource {
	return incident.TaskSource{PlaybookID: playbookID, TaskID: "decision:" + decisionID}
}

// templateInput turns a playbook's task into a task of the incident, in
// language lang; a task due from its phase's start counts from starts
// (no due time for a phase not reached yet).
func templateInput(t incident.TaskTemplate, lang string, aware time.Time, starts map[incident.Phase]time.Time) incident.TaskInput {
	in := incident.TaskInput{Title: incident.PlaybookText(t.Title, lang), Why: incident.PlaybookText(t.Why, lang),
		Phase: t.Phase, OwnerRole: t.Role, Required: t.Required, Due: t.DueAt(aware, starts[t.Phase]),
		Source: incident.TaskSource{PlaybookID: t.PlaybookID, TaskID: t.TaskID}}
	for _, c := range t.Checklist {
		in.Checklist = append(in.Checklist, incident.CheckItem{Text: incident.PlaybookText(c, lang)})
	}
	return in
}

// playbookApply applies a playbook: POST /incidents/{ref}/playbook. It
// adds the playbook's tasks the incident lacks; for each decision, "yes"
// adds its tasks and sets its flags (which start the regulatory clocks),
// "no" adds nothing, and no answer adds a required task of deciding it.
// An answer given later closes that task. All of it is one transaction.
func (s *Server) playbookApply(w http.ResponseWriter, r *http.Request) {
	d, ok := s.incidentDetail(w, r)
	if !ok {
		return
	}
	s.form(w, r, "incident_tasks", incidentHref(d.Ref, "tasks"), "inctask_applied", func() error {
		lib, err := s.playbookLibrary(r.Context())
		if err != nil {
			return err
		}
		id := r.PostFormValue("playbook")
		i := slices.IndexFunc(lib, func(pb *incident.Playbook) bool { return pb.ID == id })
		if i < 0 {
			return fault.InvalidField("playbook", "incidents.tasks.playbook_unknown", "id", safeLine(id, 64))
		}
		return s.applyPlaybook(r, d, lib[i])
	}, func() (pageData, error) {
		pg, err := s.tasksData(r, d)
		if err != nil {
			return nil, err
		}
		pg.Active = "apply"
		return pg, nil
	})
}

// applyPlaybook does playbookApply's work for pb.
func (s *Server) applyPlaybook(r *http.Request, d incident.Detail, pb *incident.Playbook) error {
	ctx, a := r.Context(), incidentActor(r)
	lang := string(s.lang(r))
	starts := phaseStarts(d)
	var ins []incident.TaskInput
	add := func(t incident.TaskTemplate) {
		if !hasTaskSource(d, incident.TaskSource{PlaybookID: t.PlaybookID, TaskID: t.TaskID}) {
			ins = append(ins, templateInput(t, lang, d.AwareAt, starts))
		}
	}
	for _, t := range pb.Tasks(d.AwareAt) {
		add(t)
	}
	flags := d.Flags.Names()
	var answered []incident.Task // decision tasks an answer closes
	for _, ph := range pb.Phases {
		for _, dec := range ph.Decisions {
			src := decisionSource(pb.ID, dec.ID)
			switch r.PostFormValue("decision." + dec.ID) {
			case "yes":
				for _, t := range pb.DecisionTasks(dec.ID, d.AwareAt) {
					add(t)
				}
				for _, f := range dec.OnYes.Flags {
					if !slices.Contains(flags, f) {
						flags = append(flags, f)
					}
				}
			case "no":
			default:
				if !hasTaskSource(d, src) {
					ins = append(ins, incident.TaskInput{
						Title: s.cat.T(s.lang(r), "incidents.tasks.decide", "question", incident.PlaybookText(dec.Question, lang)),
						Why:   incident.PlaybookText(dec.Help, lang), Phase: ph.Phase, OwnerRole: "responder", Required: true, Source: src})
				}
				continue
			}
			for _, t := range d.Tasks {
				if t.Source == src && t.Status.Open() {
					answered = append(answered, t)
				}
			}
		}
	}
	newFlags, err := incident.FlagsOf(flags)
	if err != nil {
		return err
	}
	if len(ins) == 0 && newFlags == d.Flags && len(answered) == 0 {
		return fault.New(fault.Invalid, "incidents.tasks.apply_nothing")
	}
	return s.opts.Tx(ctx, func(ctx context.Context) error {
		if len(ins) > 0 {
			if _, err := s.opts.Incidents.AddTasks(ctx, a, d.ID, ins); err != nil {
				return err
			}
		}
		for _, t := range answered {
			if _, err := s.opts.Incidents.SetTaskStatus(ctx, a, incident.TaskRef{ID: t.ID, Version: t.Version}, incident.TaskDone, ""); err != nil {
				return err
			}
		}
		if newFlags == d.Flags {
			return nil
		}
		in := incident.Input{Title: d.Title, Description: d.Description, Type: d.Type, AffectedAssets: d.AffectedAssets,
			AffectedUsers: d.AffectedUsers, Techniques: d.Techniques, Fields: d.Fields, Tags: d.Tags, Flags: newFlags,
			DetectedAt: d.DetectedAt, AwareAt: d.AwareAt}
		_, err := s.opts.Incidents.Update(ctx, a, incident.Ref{ID: d.ID, Version: formVersion(r)}, in)
		return err
	})
}

// durationText writes a playbook's due period in whole days, hours and
// minutes: "1 day 12 hours".
func durationText(p *Page, d time.Duration) string {
	var parts []string
	for _, u := range []struct {
		id   string
		size time.Duration
	}{{"events.unit.days", 24 * time.Hour}, {"events.unit.hours", time.Hour}, {"events.unit.minutes", time.Minute}} {
		if n := int(d / u.size); n > 0 {
			parts = append(parts, p.T(u.id, "count", n))
			d -= time.Duration(n) * u.size
		}
	}
	if len(parts) == 0 {
		return p.T("events.unit.minutes", "count", 0)
	}
	return strings.Join(parts, " ")
}
