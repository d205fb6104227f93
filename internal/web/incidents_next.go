// SPDX-License-Identifier: Apache-2.0

package web

import (
	"net/http"
	"slices"

	"github.com/koban-csirt/koban/internal/incident"
)

// incNext is the "what to do next" panel of an incident's overview: the
// steps of the playbook it follows, else generic advice for its phase.
type incNext struct {
	// Playbook is the title of the playbook followed; "" when none is.
	Playbook string
	Steps    []incStep
	// Generic is the advice for the phase when no playbook is followed.
	Generic []string
	// TasksHref is the tasks tab, where playbooks are applied and tasks
	// done.
	TasksHref string
}

// incStep is one step of the panel.
type incStep struct {
	Kind                  incident.StepKind
	KindLabel, Title, Why string
	Role, PhaseLabel      string
	Required              bool
}

// incGenericAdvice is how many lines of generic advice each phase has
// (messages incidents.next.generic.<phase>.<n>, from 1).
var incGenericAdvice = map[incident.Phase]int{
	incident.PhaseTriage: 3, incident.PhaseAnalysis: 3, incident.PhaseContainment: 3,
	incident.PhaseEradication: 2, incident.PhaseRecovery: 2, incident.PhaseReview: 2, incident.PhaseClosed: 1,
}

// incAdviceKeys lists the message ids of a phase's generic advice.
func incAdviceKeys(ph incident.Phase) []string {
	var out []string
	for i := 1; i <= incGenericAdvice[ph]; i++ {
		out = append(out, "incidents.next.generic."+string(ph)+"."+string(rune('0'+i)))
	}
	return out
}

// incNextSteps builds the panel: the playbook the incident's tasks came
// from (the first task that came from one names it), with what its tasks
// and decisions say is done.
func (s *Server) incNextSteps(r *http.Request, p *Page, d incident.Detail) (incNext, error) {
	n := incNext{TasksHref: incidentHref(d.Ref, "tasks")}
	var pb *incident.Playbook
	if i := slices.IndexFunc(d.Tasks, func(t incident.Task) bool { return !t.Source.Manual() }); i >= 0 {
		lib, err := s.playbookLibrary(r.Context())
		if err != nil {
			return n, err
		}
		id := d.Tasks[i].Source.PlaybookID
		if j := slices.IndexFunc(lib, func(pb *incident.Playbook) bool { return pb.ID == id }); j >= 0 {
			pb = lib[j]
		}
	}
	if pb == nil || d.Closed() {
		for _, id := range incAdviceKeys(d.Phase) {
			n.Generic = append(n.Generic, p.T(id))
		}
		return n, nil
	}
	lang := string(p.Lang)
	n.Playbook = incident.PlaybookText(pb.Title, lang)
	done, answered := playbookProgress(pb, d.Tasks)
	for _, st := range incident.NextSteps(pb, d.Phase, done, answered) {
		v := incStep{Kind: st.Kind, KindLabel: p.T("playbook.step." + string(st.Kind)),
			Title: incident.PlaybookText(st.Title, lang), Why: incident.PlaybookText(st.Detail, lang),
			PhaseLabel: p.T("incident.phase." + string(st.Phase)), Required: st.Required}
		if st.Role != "" {
			v.Role = p.T("playbook.role." + st.Role)
		}
		n.Steps = append(n.Steps, v)
	}
	return n, nil
}

// playbookProgress reads from an incident's tasks which of pb's tasks are
// finished (done or skipped) and how its decisions were answered, as the
// tasks tab records them: a decision with tasks of its "yes" on the
// incident was answered yes; one whose "decide" task (source
// "decision:<id>") is still open is unanswered; any other was answered no
// (when the playbook was applied, or later).
func playbookProgress(pb *incident.Playbook, tasks []incident.Task) (done, answered map[string]bool) {
	done, answered = map[string]bool{}, map[string]bool{}
	has := map[string]incident.Task{}
	for _, t := range tasks {
		if t.Source.PlaybookID != pb.ID {
			continue
		}
		has[t.Source.TaskID] = t
		if !t.Status.Open() {
			done[t.Source.TaskID] = true
		}
	}
	for _, ph := range pb.Phases {
		for _, dec := range ph.Decisions {
			yes := slices.ContainsFunc(dec.OnYes.Tasks, func(t incident.PlaybookTask) bool { _, ok := has[t.ID]; return ok })
			decide, asked := has["decision:"+dec.ID]
			switch {
			case yes:
				answered[dec.ID] = true
			case asked && decide.Status.Open():
			default:
				answered[dec.ID] = false
			}
		}
	}
	return done, answered
}
