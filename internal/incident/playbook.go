// SPDX-License-Identifier: Apache-2.0

package incident

import (
	"embed"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Playbook is a response guide for one kind of incident: what to do in each
// phase, by whom and why, what first responders must and must not do, the
// questions that change the response (and start regulatory clocks), and the
// evidence to keep. koban ships a library of them (see Library); admins copy
// and edit them as YAML, which ParsePlaybook checks the same way.
//
// Every text is a map from language ("en", "ja") to text; both languages are
// required. A Playbook from Library is shared: treat it as read-only.
type Playbook struct {
	// ID names the playbook: lower-case letters, digits, '-' and '_'.
	ID string `yaml:"id"`
	// Version counts edits, from 1.
	Version int `yaml:"version"`
	// Types lists the incident types the playbook suits, best fit first.
	Types   []Type            `yaml:"types"`
	Title   map[string]string `yaml:"title"`
	Summary map[string]string `yaml:"summary"`
	// Do and DoNot are the first responder's advice, shown before anything
	// else: the few things that make a difference in the first hour.
	Do    []map[string]string `yaml:"do"`
	DoNot []map[string]string `yaml:"do_not"`
	// Phases lists the phases the playbook has work for, in lifecycle order.
	Phases []PlaybookPhase `yaml:"phases"`
	// Evidence lists what to collect and keep, for analysis, insurers,
	// the police and regulators.
	Evidence []map[string]string `yaml:"evidence"`
}

// PlaybookPhase is a playbook's work in one phase: tasks in the order to do
// them, and the questions to answer in that phase.
type PlaybookPhase struct {
	// Phase is one of triage, analysis, containment, eradication, recovery
	// and review.
	Phase     Phase              `yaml:"phase"`
	Tasks     []PlaybookTask     `yaml:"tasks"`
	Decisions []PlaybookDecision `yaml:"decisions"`
}

// PlaybookTask is one task a playbook creates on an incident.
type PlaybookTask struct {
	// ID is unique in its playbook (tasks added by decisions included).
	ID string `yaml:"id"`
	// Phase is set only on a task a decision adds, when it belongs to
	// another phase than the decision's.
	Phase Phase             `yaml:"phase,omitempty"`
	Title map[string]string `yaml:"title"`
	// Why says in one or two sentences why the task matters.
	Why map[string]string `yaml:"why"`
	// Role is who should do it: see PlaybookRoles.
	Role string `yaml:"role"`
	// Required tasks must be done before the incident closes.
	Required bool `yaml:"required"`
	// DueAfter is how long after DueFrom the task is due, such as "4h",
	// "3d" or "1d12h" (units w, d, h, m); empty for no due time.
	DueAfter string `yaml:"due_after,omitempty"`
	// DueFrom is DueFromAwareness or DueFromPhase; set exactly when
	// DueAfter is.
	DueFrom   string              `yaml:"due_from,omitempty"`
	Checklist []map[string]string `yaml:"checklist,omitempty"`
}

// PlaybookDecision is a yes/no question whose "yes" sets incident flags
// (which start regulatory clocks) and adds tasks.
type PlaybookDecision struct {
	ID       string            `yaml:"id"`
	Question map[string]string `yaml:"question"`
	// Help explains how to answer, and what "yes" sets in motion.
	Help  map[string]string `yaml:"help"`
	OnYes PlaybookEffect    `yaml:"on_yes"`
}

// PlaybookEffect is what answering a decision "yes" does.
type PlaybookEffect struct {
	// Flags are incident flags to set: see PlaybookFlags.
	Flags []string `yaml:"flags,omitempty"`
	// Tasks are added to the incident; each belongs to the decision's
	// phase unless it names another.
	Tasks []PlaybookTask `yaml:"tasks,omitempty"`
}

// Where a task's due time counts from.
const (
	// DueFromAwareness counts from the moment the organisation became
	// aware of the incident, as regulatory clocks do.
	DueFromAwareness = "awareness"
	// DueFromPhase counts from the start of the task's phase.
	DueFromPhase = "phase"
)

// playbookPhases is the lifecycle a playbook follows: every phase but closed.
var playbookPhases = []Phase{PhaseTriage, PhaseAnalysis, PhaseContainment, PhaseEradication, PhaseRecovery, PhaseReview}

// playbookRoles lists who a playbook task can be for.
var playbookRoles = []string{"responder", "analyst", "it_admin", "management", "legal_pr", "reporter"}

// PlaybookFlags lists the incident flags a decision can set, as Flags.Names
// writes them: they start the regulatory clocks (PPC for personal data, GDPR
// for EU residents). Do not modify it.
var PlaybookFlags = []string{"personal_data", "sensitive", "financial_risk", "malicious_intent", "over_1000", "eu_residents"}

// PlaybookPhases returns the phases a playbook can have work for, in
// lifecycle order (every phase but closed).
func PlaybookPhases() []Phase { return slices.Clone(playbookPhases) }

// PlaybookRoles returns who a playbook task can be for: responder (runs the
// incident), analyst, it_admin (the IT administrator, 情シス), management,
// legal_pr (legal and public relations) and reporter (the employee who
// reported the incident). Message playbook.role.<role> labels each.
func PlaybookRoles() []string { return slices.Clone(playbookRoles) }

//go:embed playbooks/*.yaml
var playbookFS embed.FS

var playbookLibrary = sync.OnceValues(func() ([]*Playbook, error) {
	sub, err := fs.Sub(playbookFS, "playbooks")
	if err != nil {
		return nil, fmt.Errorf("incident: playbooks: %w", err)
	}
	return loadPlaybooks(sub)
})

// Library returns koban's built-in playbooks, sorted by ID. They are parsed
// once; the playbooks are shared and must not be modified.
func Library() ([]*Playbook, error) {
	pbs, err := playbookLibrary()
	if err != nil {
		return nil, err
	}
	return slices.Clone(pbs), nil
}

// PlaybookSource returns the YAML text of built-in playbook id, comments
// included, as the starting point of an admin's copy.
func PlaybookSource(id string) ([]byte, bool) {
	if !playbookIDPattern.MatchString(id) {
		return nil, false
	}
	b, err := playbookFS.ReadFile("playbooks/" + id + ".yaml")
	return b, err == nil
}

// loadPlaybooks parses every .yaml file of fsys as a playbook named by its
// file, and reports the problems of all of them at once.
func loadPlaybooks(fsys fs.FS) ([]*Playbook, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("incident: playbooks: %w", err)
	}
	var (
		pbs   []*Playbook
		probs PlaybookProblems
		seen  = map[string]string{}
	)
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".yaml") {
			continue
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("incident: playbooks: %w", err)
		}
		pb, err := ParsePlaybook(name, b)
		if err != nil {
			probs = append(probs, asPlaybookProblems(err)...)
			continue
		}
		if want := pb.ID + ".yaml"; name != want {
			probs = append(probs, &PlaybookProblem{File: name, Path: "id", Msg: "playbook.file_name", Args: []any{"id", pb.ID, "want", want}})
		}
		if other, dup := seen[pb.ID]; dup {
			probs = append(probs, &PlaybookProblem{File: name, Path: "id", Msg: "playbook.duplicate_id", Args: []any{"id", pb.ID, "first", other}})
		}
		seen[pb.ID] = name
		pbs = append(pbs, pb)
	}
	if len(probs) > 0 {
		return nil, fmt.Errorf("incident: playbooks: %w", probs)
	}
	sort.Slice(pbs, func(i, j int) bool { return pbs[i].ID < pbs[j].ID })
	return pbs, nil
}

// ForType returns the built-in playbooks suited to incidentType: those for
// which it is the best fit first, then the others, each group by ID. The
// library is checked by tests, so a library that fails to load yields none.
func ForType(incidentType Type) []*Playbook {
	pbs, err := playbookLibrary()
	if err != nil {
		return nil
	}
	var first, other []*Playbook
	for _, pb := range pbs {
		switch i := slices.Index(pb.Types, incidentType); {
		case i == 0:
			first = append(first, pb)
		case i > 0:
			other = append(other, pb)
		}
	}
	return append(first, other...)
}

// TaskTemplate is a task to create on an incident from a playbook. Texts
// are maps from language to text, copied so that the caller may keep them.
type TaskTemplate struct {
	PlaybookID string
	TaskID     string
	// DecisionID names the decision whose "yes" adds the task; empty for
	// the playbook's own tasks.
	DecisionID string
	Phase      Phase
	Title      map[string]string
	Why        map[string]string
	Role       string
	Required   bool
	// Due is when the task is due, for a task due from awareness; zero
	// when the task has no due time or counts from its phase's start
	// (DueAt computes that one).
	Due time.Time
	// DueAfter and DueFrom are the task's due rule; DueFrom is empty when
	// the task has no due time.
	DueAfter  time.Duration
	DueFrom   string
	Checklist []map[string]string
}

// DueAt returns when the task is due given the awareness time and its
// phase's start; zero when it has no due time or the time it counts from is
// zero.
func (t TaskTemplate) DueAt(aware, phaseStart time.Time) time.Time {
	from := aware
	if t.DueFrom == DueFromPhase {
		from = phaseStart
	}
	if t.DueFrom == "" || from.IsZero() {
		return time.Time{}
	}
	return from.Add(t.DueAfter)
}

// Tasks returns the tasks applying the playbook creates, in phase order,
// with due times counted from aware (the moment of awareness). Tasks that a
// decision adds are not included: see DecisionTasks.
func (pb *Playbook) Tasks(aware time.Time) []TaskTemplate {
	var out []TaskTemplate
	for _, ph := range pb.sortedPhases() {
		for i := range ph.Tasks {
			out = append(out, pb.template(&ph.Tasks[i], ph.Phase, "", aware))
		}
	}
	return out
}

// DecisionTasks returns the tasks answering decision "yes" adds, with due
// times counted from aware; none when the playbook has no such decision.
func (pb *Playbook) DecisionTasks(decisionID string, aware time.Time) []TaskTemplate {
	d, phase := pb.Decision(decisionID)
	if d == nil {
		return nil
	}
	out := make([]TaskTemplate, 0, len(d.OnYes.Tasks))
	for i := range d.OnYes.Tasks {
		out = append(out, pb.template(&d.OnYes.Tasks[i], phase, d.ID, aware))
	}
	return out
}

// Decision returns the decision with the given ID and the phase it belongs
// to, or nil.
func (pb *Playbook) Decision(id string) (*PlaybookDecision, Phase) {
	for i := range pb.Phases {
		ph := &pb.Phases[i]
		for j := range ph.Decisions {
			if ph.Decisions[j].ID == id {
				return &ph.Decisions[j], ph.Phase
			}
		}
	}
	return nil, ""
}

func (pb *Playbook) template(t *PlaybookTask, phase Phase, decisionID string, aware time.Time) TaskTemplate {
	if t.Phase != "" {
		phase = t.Phase
	}
	tt := TaskTemplate{
		PlaybookID: pb.ID,
		TaskID:     t.ID,
		DecisionID: decisionID,
		Phase:      phase,
		Title:      maps.Clone(t.Title),
		Why:        maps.Clone(t.Why),
		Role:       t.Role,
		Required:   t.Required,
	}
	if t.DueAfter != "" {
		if d, err := parsePlaybookDue(t.DueAfter); err == nil {
			tt.DueAfter, tt.DueFrom = d, t.DueFrom
		}
	}
	if tt.DueFrom == DueFromAwareness {
		tt.Due = tt.DueAt(aware, time.Time{})
	}
	for _, c := range t.Checklist {
		tt.Checklist = append(tt.Checklist, maps.Clone(c))
	}
	return tt
}

// sortedPhases returns the playbook's phases in lifecycle order, whatever
// order a (not yet validated) playbook lists them in.
func (pb *Playbook) sortedPhases() []*PlaybookPhase {
	out := make([]*PlaybookPhase, 0, len(pb.Phases))
	for i := range pb.Phases {
		out = append(out, &pb.Phases[i])
	}
	sort.SliceStable(out, func(i, j int) bool {
		return playbookPhaseIndex(out[i].Phase) < playbookPhaseIndex(out[j].Phase)
	})
	return out
}

func playbookPhaseIndex(p Phase) int {
	if i := slices.Index(playbookPhases, p); i >= 0 {
		return i
	}
	return len(playbookPhases)
}

// StepKind says what a Step asks for.
type StepKind string

// The kinds of step.
const (
	// StepTask is an open required task of the current phase.
	StepTask StepKind = "task"
	// StepDecision is an unanswered question of the current phase.
	StepDecision StepKind = "decision"
	// StepNextPhase is one of the first open tasks of the next phase
	// that has work, to show what comes after.
	StepNextPhase StepKind = "next_phase"
)

// Step is one line of the "what to do next" panel. Texts are maps from
// language to text (shared with the playbook: do not modify them).
type Step struct {
	Kind  StepKind
	Phase Phase
	// TaskID is set for task steps; DecisionID for decision steps and for
	// tasks a decision added.
	TaskID     string
	DecisionID string
	// Title is the task's title or the decision's question; Detail its
	// why or help.
	Title    map[string]string
	Detail   map[string]string
	Role     string
	Required bool
}

// playbookNextPreview is how many tasks of the next phase NextSteps shows.
const playbookNextPreview = 3

// NextSteps returns what to do next on an incident following pb in phase:
// the open required tasks of the phase in order, then its unanswered
// decisions, then the first few open tasks of the next phase that has any.
// done holds the IDs of finished tasks. answered holds a decision's answer
// under its ID (true for yes): a decision is answered when its ID is
// present, and a "yes" brings the tasks it adds into the list. An unknown
// phase (such as closed) has no next steps.
func NextSteps(pb *Playbook, phase Phase, done map[string]bool, answered map[string]bool) []Step {
	cur := slices.Index(playbookPhases, phase)
	if pb == nil || cur < 0 {
		return nil
	}
	tasks := pb.tasksByPhase(answered)
	var steps []Step
	for _, t := range tasks[phase] {
		if t.task.Required && !done[t.task.ID] {
			steps = append(steps, t.step(StepTask, phase))
		}
	}
	for _, ph := range pb.Phases {
		if ph.Phase != phase {
			continue
		}
		for i := range ph.Decisions {
			d := &ph.Decisions[i]
			if _, ok := answered[d.ID]; ok {
				continue
			}
			steps = append(steps, Step{Kind: StepDecision, Phase: phase, DecisionID: d.ID, Title: d.Question, Detail: d.Help})
		}
	}
	for _, next := range playbookPhases[cur+1:] {
		n := 0
		for _, t := range tasks[next] {
			if n == playbookNextPreview {
				break
			}
			if !done[t.task.ID] {
				steps = append(steps, t.step(StepNextPhase, next))
				n++
			}
		}
		if n > 0 {
			break
		}
	}
	return steps
}

type playbookPhaseTask struct {
	task       *PlaybookTask
	decisionID string
}

func (t playbookPhaseTask) step(kind StepKind, phase Phase) Step {
	return Step{Kind: kind, Phase: phase, TaskID: t.task.ID, DecisionID: t.decisionID,
		Title: t.task.Title, Detail: t.task.Why, Role: t.task.Role, Required: t.task.Required}
}

// tasksByPhase returns the playbook's tasks by phase, each phase's own tasks
// first, then those added by decisions answered yes, in playbook order.
func (pb *Playbook) tasksByPhase(answered map[string]bool) map[Phase][]playbookPhaseTask {
	out := map[Phase][]playbookPhaseTask{}
	phases := pb.sortedPhases()
	for _, ph := range phases {
		for i := range ph.Tasks {
			out[ph.Phase] = append(out[ph.Phase], playbookPhaseTask{task: &ph.Tasks[i]})
		}
	}
	for _, ph := range phases {
		for i := range ph.Decisions {
			d := &ph.Decisions[i]
			if !answered[d.ID] {
				continue
			}
			for j := range d.OnYes.Tasks {
				t := &d.OnYes.Tasks[j]
				p := ph.Phase
				if t.Phase != "" {
					p = t.Phase
				}
				out[p] = append(out[p], playbookPhaseTask{task: t, decisionID: d.ID})
			}
		}
	}
	return out
}

// PlaybookText returns the text of a playbook text map in lang, falling back
// to English.
func PlaybookText(m map[string]string, lang string) string {
	if s, ok := m[lang]; ok && strings.TrimSpace(s) != "" {
		return s
	}
	return m["en"]
}
