// SPDX-License-Identifier: Apache-2.0

package incident

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/koban-csirt/koban/internal/i18n"
)

// MaxPlaybookBytes bounds one playbook's YAML text; the largest built-in
// one is a tenth of it.
const MaxPlaybookBytes = 512 << 10

// Limits that keep an edited playbook readable and cheap to show.
const (
	maxPlaybookTypes         = 20
	maxPlaybookPhaseTasks    = 50
	maxPlaybookTasks         = 300
	maxPlaybookDecisions     = 20
	maxPlaybookDecisionTasks = 20
	maxPlaybookChecklist     = 30
	maxPlaybookAdvice        = 30
	maxPlaybookEvidence      = 50
	maxPlaybookShortText     = 200  // runes: titles and questions
	maxPlaybookLongText      = 2000 // runes: everything else
	maxPlaybookDue           = 365 * 24 * time.Hour
	maxPlaybookDueDigits     = 4
	maxPlaybookIDLength      = 64
	playbookIDPatternSrc     = `^[a-z0-9][a-z0-9_-]{0,63}$`
)

var playbookIDPattern = regexp.MustCompile(playbookIDPatternSrc)

// playbookLangs are the languages every playbook text needs.
var playbookLangs = []string{"en", "ja"}

// PlaybookProblem is one thing wrong with a playbook: where (file, line and
// column when it came from YAML, and the path of the element, such as
// "phases[2].tasks[0].role") and what. Msg is a message id of the i18n
// catalogue (playbook.*) and Args its named arguments, so that the editor can
// show it in the reader's language; Error gives English text.
type PlaybookProblem struct {
	File      string
	Line, Col int
	Path      string
	Msg       string
	Args      []any
}

// Error returns "file:line:col: path: what", leaving out what is unknown.
func (p *PlaybookProblem) Error() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", p.Line, p.Col)
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	if p.Path != "" {
		b.WriteString(p.Path + ": ")
	}
	b.WriteString(playbookEnglish(p.Msg, p.Args))
	return b.String()
}

// PlaybookProblems is every problem found in one playbook, in file order.
type PlaybookProblems []*PlaybookProblem

// Error joins the problems, one per line.
func (ps PlaybookProblems) Error() string {
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = p.Error()
	}
	return strings.Join(parts, "\n")
}

func (ps PlaybookProblems) err() error {
	if len(ps) == 0 {
		return nil
	}
	return ps
}

// asPlaybookProblems returns the problems an error of ParsePlaybook or Validate
// holds.
func asPlaybookProblems(err error) PlaybookProblems {
	var ps PlaybookProblems
	if errors.As(err, &ps) {
		return ps
	}
	return PlaybookProblems{{Msg: "playbook.yaml", Args: []any{"reason", err.Error()}}}
}

var playbookCatalog = sync.OnceValues(i18n.Load)

func playbookEnglish(id string, args []any) string {
	c, err := playbookCatalog()
	if err != nil {
		return id + fmt.Sprint(args)
	}
	return c.T(i18n.English, id, args...)
}

// ParsePlaybook reads one playbook from YAML and validates it. file names
// the source in problems (a file name, or empty for a stored copy). On any
// problem it returns a nil playbook and a PlaybookProblems error listing
// every problem found, each with its line when the YAML has one.
func ParsePlaybook(file string, data []byte) (pb *Playbook, err error) {
	defer func() {
		// The YAML library is third-party code fed untrusted text: a
		// panic in it must become a problem, not a crash.
		if r := recover(); r != nil {
			pb, err = nil, PlaybookProblems{{File: file, Msg: "playbook.yaml", Args: []any{"reason", fmt.Sprint(r)}}}
		}
	}()
	fail := func(msg string, args ...any) (*Playbook, error) {
		return nil, PlaybookProblems{{File: file, Msg: msg, Args: args}}
	}
	if len(data) > MaxPlaybookBytes {
		return fail("playbook.too_large", "max", MaxPlaybookBytes)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var root yaml.Node
	if err := dec.Decode(&root); errors.Is(err, io.EOF) {
		return fail("playbook.empty")
	} else if err != nil {
		return nil, playbookYAMLProblems(file, err, nil)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		at := &extra
		if len(extra.Content) > 0 {
			at = extra.Content[0]
		}
		return nil, PlaybookProblems{{File: file, Line: at.Line, Col: at.Column, Msg: "playbook.many_documents"}}
	} else if !errors.Is(err, io.EOF) {
		return nil, playbookYAMLProblems(file, err, nil)
	}
	if len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		line, col := root.Line, root.Column
		if len(root.Content) > 0 {
			line, col = root.Content[0].Line, root.Content[0].Column
		}
		return nil, PlaybookProblems{{File: file, Line: line, Col: col, Msg: "playbook.not_a_map"}}
	}
	ix := newPlaybookIndex(root.Content[0])

	strict := yaml.NewDecoder(bytes.NewReader(data))
	strict.KnownFields(true)
	pb = &Playbook{}
	if err := strict.Decode(pb); err != nil {
		return nil, playbookYAMLProblems(file, err, ix)
	}
	v := &playbookValidator{file: file, ix: ix}
	v.playbook(pb)
	if len(v.probs) > 0 {
		return nil, v.probs.sorted()
	}
	return pb, nil
}

// Validate checks a playbook as ParsePlaybook does: both languages in every
// text, known phases, roles and flags, unique IDs, valid due times, and the
// size limits. It returns a PlaybookProblems error, or nil.
func (pb *Playbook) Validate() error {
	v := &playbookValidator{}
	v.playbook(pb)
	return v.probs.err()
}

func (ps PlaybookProblems) sorted() PlaybookProblems {
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].Line != ps[j].Line {
			return ps[i].Line < ps[j].Line
		}
		return ps[i].Col < ps[j].Col
	})
	return ps
}

// parsePlaybookDue reads a due time such as "30m", "4h", "3d", "1d12h" or "2w".
func parsePlaybookDue(s string) (time.Duration, error) {
	if s == "" {
		return 0, errors.New("empty")
	}
	var total time.Duration
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if j == i || j-i > maxPlaybookDueDigits || j == len(s) {
			return 0, errors.New("bad syntax")
		}
		n, _ := strconv.Atoi(s[i:j])
		var unit time.Duration
		switch s[j] {
		case 'w':
			unit = 7 * 24 * time.Hour
		case 'd':
			unit = 24 * time.Hour
		case 'h':
			unit = time.Hour
		case 'm':
			unit = time.Minute
		default:
			return 0, errors.New("bad unit")
		}
		total += time.Duration(n) * unit
		if total > maxPlaybookDue {
			return 0, errors.New("too long")
		}
		i = j + 1
	}
	if total <= 0 {
		return 0, errors.New("not positive")
	}
	return total, nil
}

// playbookValidator collects problems while checking one playbook.
type playbookValidator struct {
	file      string
	ix        *playbookIndex // nil for a playbook not read from YAML
	probs     PlaybookProblems
	taskIDs   map[string]string // id → path of its first use
	decisions map[string]string
	tasks     int
}

func (v *playbookValidator) add(path, msg string, args ...any) {
	p := v.ix.at(path)
	v.probs = append(v.probs, &PlaybookProblem{File: v.file, Line: p.line, Col: p.col, Path: path, Msg: msg, Args: args})
}

func (v *playbookValidator) playbook(pb *Playbook) {
	v.taskIDs, v.decisions = map[string]string{}, map[string]string{}
	v.id("id", pb.ID)
	if pb.Version < 1 {
		v.add("version", "playbook.bad_version", "value", pb.Version)
	}
	switch {
	case len(pb.Types) == 0:
		v.add("types", "playbook.missing", "key", "types")
	case len(pb.Types) > maxPlaybookTypes:
		v.add("types", "playbook.too_many", "max", maxPlaybookTypes)
	}
	seen := map[Type]bool{}
	for i, t := range pb.Types {
		path := fmt.Sprintf("types[%d]", i)
		if !t.Valid() {
			v.add(path, "playbook.unknown_type", "value", t, "known", playbookJoin(Types()))
		} else if seen[t] {
			v.add(path, "playbook.duplicate_type", "value", t)
		}
		seen[t] = true
	}
	v.text("title", pb.Title, maxPlaybookShortText)
	v.text("summary", pb.Summary, maxPlaybookLongText)
	v.texts("do", pb.Do, maxPlaybookAdvice, maxPlaybookLongText)
	v.texts("do_not", pb.DoNot, maxPlaybookAdvice, maxPlaybookLongText)
	v.texts("evidence", pb.Evidence, maxPlaybookEvidence, maxPlaybookLongText)
	if len(pb.Phases) == 0 {
		v.add("phases", "playbook.missing", "key", "phases")
	}
	last, where := -1, map[Phase]int{}
	for i := range pb.Phases {
		ph := &pb.Phases[i]
		path := fmt.Sprintf("phases[%d]", i)
		idx := slices.Index(playbookPhases, ph.Phase)
		switch {
		case ph.Phase == "":
			v.add(path+".phase", "playbook.missing", "key", "phase")
		case idx < 0:
			v.add(path+".phase", "playbook.unknown_phase", "value", ph.Phase, "known", playbookJoin(playbookPhases))
		case where[ph.Phase] > 0:
			v.add(path+".phase", "playbook.duplicate_phase", "value", ph.Phase)
		case idx < last:
			v.add(path+".phase", "playbook.phase_order", "value", ph.Phase, "after", playbookPhases[last])
		}
		if idx >= 0 {
			where[ph.Phase]++
			last = max(last, idx)
		}
		v.phase(path, ph)
	}
	if v.tasks > maxPlaybookTasks {
		v.add("phases", "playbook.too_many", "max", maxPlaybookTasks)
	}
}

func (v *playbookValidator) phase(path string, ph *PlaybookPhase) {
	if len(ph.Tasks) == 0 && len(ph.Decisions) == 0 {
		v.add(path, "playbook.empty_phase", "phase", ph.Phase)
	}
	if len(ph.Tasks) > maxPlaybookPhaseTasks {
		v.add(path+".tasks", "playbook.too_many", "max", maxPlaybookPhaseTasks)
	}
	if len(ph.Decisions) > maxPlaybookDecisions {
		v.add(path+".decisions", "playbook.too_many", "max", maxPlaybookDecisions)
	}
	for i := range ph.Tasks {
		t := &ph.Tasks[i]
		tp := fmt.Sprintf("%s.tasks[%d]", path, i)
		if t.Phase != "" && t.Phase != ph.Phase {
			v.add(tp+".phase", "playbook.task_phase")
		}
		v.task(tp, t)
	}
	for i := range ph.Decisions {
		v.decision(fmt.Sprintf("%s.decisions[%d]", path, i), &ph.Decisions[i])
	}
}

func (v *playbookValidator) task(path string, t *PlaybookTask) {
	v.tasks++
	if v.id(path+".id", t.ID) {
		if first, dup := v.taskIDs[t.ID]; dup {
			v.add(path+".id", "playbook.duplicate_task", "id", t.ID, "first", first)
		} else {
			v.taskIDs[t.ID] = path
		}
	}
	v.text(path+".title", t.Title, maxPlaybookShortText)
	v.text(path+".why", t.Why, maxPlaybookLongText)
	switch {
	case t.Role == "":
		v.add(path+".role", "playbook.missing", "key", "role")
	case !slices.Contains(playbookRoles, t.Role):
		v.add(path+".role", "playbook.unknown_role", "value", t.Role, "known", strings.Join(playbookRoles, ", "))
	}
	switch {
	case t.DueAfter == "" && t.DueFrom != "":
		v.add(path+".due_from", "playbook.due_from_alone")
	case t.DueAfter == "":
	case t.DueFrom == "":
		v.add(path+".due_after", "playbook.missing", "key", "due_from")
	case t.DueFrom != DueFromAwareness && t.DueFrom != DueFromPhase:
		v.add(path+".due_from", "playbook.bad_due_from", "value", t.DueFrom)
	}
	if t.DueAfter != "" {
		if _, err := parsePlaybookDue(t.DueAfter); err != nil {
			v.add(path+".due_after", "playbook.bad_due", "value", t.DueAfter)
		}
	}
	v.texts(path+".checklist", t.Checklist, maxPlaybookChecklist, maxPlaybookLongText)
}

func (v *playbookValidator) decision(path string, d *PlaybookDecision) {
	if v.id(path+".id", d.ID) {
		if first, dup := v.decisions[d.ID]; dup {
			v.add(path+".id", "playbook.duplicate_decision", "id", d.ID, "first", first)
		} else {
			v.decisions[d.ID] = path
		}
	}
	v.text(path+".question", d.Question, maxPlaybookShortText)
	v.text(path+".help", d.Help, maxPlaybookLongText)
	if len(d.OnYes.Flags) == 0 && len(d.OnYes.Tasks) == 0 {
		v.add(path+".on_yes", "playbook.empty_on_yes")
	}
	seen := map[string]bool{}
	for i, f := range d.OnYes.Flags {
		fp := fmt.Sprintf("%s.on_yes.flags[%d]", path, i)
		switch {
		case !slices.Contains(PlaybookFlags, f):
			v.add(fp, "playbook.unknown_flag", "value", f, "known", strings.Join(PlaybookFlags, ", "))
		case seen[f]:
			v.add(fp, "playbook.duplicate_flag", "value", f)
		}
		seen[f] = true
	}
	if len(d.OnYes.Tasks) > maxPlaybookDecisionTasks {
		v.add(path+".on_yes.tasks", "playbook.too_many", "max", maxPlaybookDecisionTasks)
	}
	for i := range d.OnYes.Tasks {
		t := &d.OnYes.Tasks[i]
		tp := fmt.Sprintf("%s.on_yes.tasks[%d]", path, i)
		if t.Phase != "" && !slices.Contains(playbookPhases, t.Phase) {
			v.add(tp+".phase", "playbook.unknown_phase", "value", t.Phase, "known", playbookJoin(playbookPhases))
		}
		v.task(tp, t)
	}
}

// id checks an identifier and reports whether it is well-formed.
func (v *playbookValidator) id(path, id string) bool {
	switch {
	case id == "":
		v.add(path, "playbook.missing", "key", "id")
	case !playbookIDPattern.MatchString(id):
		v.add(path, "playbook.bad_id", "value", id, "max", maxPlaybookIDLength)
	default:
		return true
	}
	return false
}

func (v *playbookValidator) texts(path string, ts []map[string]string, maxItems, maxLen int) {
	if len(ts) > maxItems {
		v.add(path, "playbook.too_many", "max", maxItems)
		return
	}
	for i, t := range ts {
		v.text(fmt.Sprintf("%s[%d]", path, i), t, maxLen)
	}
}

// text checks a text in every language: present, not blank, not too long,
// printable; and no language koban does not know.
func (v *playbookValidator) text(path string, m map[string]string, maxLen int) {
	if len(m) == 0 {
		v.add(path, "playbook.missing_text")
		return
	}
	for _, l := range playbookLangs {
		s := m[l]
		lp := path + "." + l
		switch {
		case strings.TrimSpace(s) == "":
			v.add(lp, "playbook.missing_lang", "lang", l)
		case !utf8.ValidString(s) || strings.IndexFunc(s, playbookBadRune) >= 0:
			v.add(lp, "playbook.bad_text")
		case utf8.RuneCountInString(s) > maxLen:
			v.add(lp, "playbook.too_long", "max", maxLen)
		}
	}
	var unknown []string
	for l := range m {
		if !slices.Contains(playbookLangs, l) {
			unknown = append(unknown, l)
		}
	}
	sort.Strings(unknown)
	for _, l := range unknown {
		v.add(path+"."+l, "playbook.unknown_lang", "lang", l)
	}
}

// playbookBadRune reports control characters other than line breaks and tabs.
func playbookBadRune(r rune) bool {
	return r != '\n' && r != '\t' && (unicode.IsControl(r) || r == utf8.RuneError)
}

// playbookJoin lists values of a string type for a message.
func playbookJoin[S ~string](vs []S) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = string(v)
	}
	return strings.Join(parts, ", ")
}
