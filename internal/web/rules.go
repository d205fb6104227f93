// SPDX-License-Identifier: Apache-2.0

package web

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/koban-csirt/koban/internal/alert"
	"github.com/koban-csirt/koban/internal/audit"
	"github.com/koban-csirt/koban/internal/auth"
	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/i18n"
)

// RuleManager is the detection rule set behind /rules: the rule files,
// the settings people made here, and the running detector. internal/app
// implements it. Values it returns are shared: callers must not change
// them.
type RuleManager interface {
	// Rules lists every rule read from the configured sources, those left
	// out included, and the documents that could not be read as rules.
	// Errors are Internal.
	Rules(ctx context.Context) (RuleSet, error)
	// Rule returns the rule whose id (or name, or title when it has
	// neither) is id, with the text of its file. NotFound.
	Rule(ctx context.Context, id string) (RuleDetail, error)
	// SetEnabled turns rules off, or back on, with a reason, records who
	// did it in the settings and the audit trail, and reloads detection.
	// It returns how many rules changed. Invalid (no reason; a rule that
	// cannot be turned on or off here), NotFound.
	SetEnabled(ctx context.Context, a audit.Actor, ids []string, enabled bool, reason string) (int, error)
	// CheckRule lints the YAML of a custom rule: replacing is the id of
	// the rule being edited, "" for a new one. Invalid, TooLarge.
	CheckRule(ctx context.Context, replacing string, yaml []byte) ([]RuleProblem, error)
	// TestRule lints the YAML and, when it has no problems, runs it over
	// pasted sample events (JSON lines or syslog lines). Invalid and
	// TooLarge name the field "events".
	TestRule(ctx context.Context, yaml, events []byte) (RuleTest, error)
	// SaveRule writes a custom rule (a new file when replacing is "",
	// else the file of that rule) and reloads detection. With lint
	// problems nothing is written and they are returned. It returns the
	// id of the (first) rule saved. Invalid, TooLarge, NotFound, Conflict.
	SaveRule(ctx context.Context, a audit.Actor, replacing string, yaml []byte) (string, []RuleProblem, error)
	// DeleteRule deletes the file of a custom rule and reloads
	// detection. NotFound, Invalid (not a custom rule).
	DeleteRule(ctx context.Context, a audit.Actor, id string) error
}

// RuleState says whether a rule is in detection, and if not why.
type RuleState string

// The rule states.
const (
	// RuleOn: loaded, and its matches become alerts.
	RuleOn RuleState = "on"
	// RuleQuiet: loaded but below detection.min_level; it only feeds
	// correlations.
	RuleQuiet RuleState = "quiet"
	// RuleOff: turned off here by a person.
	RuleOff RuleState = "off"
	// RuleSkipped: left out by the configuration (statuses, disabled
	// rules, tags or logsources), or a correlation whose rules are.
	RuleSkipped RuleState = "skipped"
	// RuleBroken: left out because of a problem (Reason says which).
	RuleBroken RuleState = "problem"
)

// Valid reports whether s is a known state.
func (s RuleState) Valid() bool {
	return s == RuleOn || s == RuleQuiet || s == RuleOff || s == RuleSkipped || s == RuleBroken
}

// Enabled reports whether a rule in state s is loaded.
func (s RuleState) Enabled() bool { return s == RuleOn || s == RuleQuiet }

// RuleSet is every rule the configured sources hold.
type RuleSet struct {
	Rules []RuleInfo
	// Problems are files and documents that could not be read as rules
	// (and duplicates of ids read before), with where and why.
	Problems []RuleProblem
	// MinLevel is detection.min_level.
	MinLevel string
	// Built is when the set was read.
	Built time.Time
}

// RuleInfo is one rule as the rule pages show it.
type RuleInfo struct {
	// Ref is how the rule is addressed: its id, else its name, else its
	// title.
	Ref                          string
	ID, Name                     string
	Kind                         string // "rule", "filter" or "correlation"
	Title                        string
	TitleJA                      string // the title_ja custom attribute
	DescriptionJA                string // the description_ja custom attribute
	Level, Status                string
	Product, Category, Service   string
	Tags                         []string
	Description, Author          string
	Date, Modified               string
	References, FalsePositives   []string
	Fields                       []string
	Pack, File                   string // the source's label, the file inside it
	Line                         int    // where the rule's document starts
	Custom                       bool   // in the custom pack: it can be edited here
	Toggle                       bool   // it can be turned off or on here
	ConfigOff                    bool   // the configuration turns it off by id
	State                        RuleState
	Reason                       string // why it is not loaded: a message id
	Args                         []any
	Setting                      *RuleSetting // what a person last chose here, if anything
	CorrelationType, Correlation string       // correlation rules: type and the rules it joins
}

// RuleSetting is a person's last choice about a rule.
type RuleSetting struct {
	Enabled bool
	Reason  string
	Actor   string
	At      time.Time
}

// RuleDetail is a rule with the text of its file and the problems found
// in that file.
type RuleDetail struct {
	RuleInfo
	Source    string
	SourceCut bool // Source is only the start of the file
	Problems  []RuleProblem
}

// RuleProblem is something wrong with a rule: where, and a message id with
// its arguments.
type RuleProblem struct {
	File      string
	Line, Col int
	Rule      string
	Msg       string
	Args      []any
}

// RuleTest is the outcome of a rule test against pasted events.
type RuleTest struct {
	// Problems: the rule did not pass lint and was not run.
	Problems []RuleProblem
	Rules    []TestedRule
	Events   []TestedEvent
}

// TestedRule is one rule of a test and how often it fired.
type TestedRule struct {
	Ref, Title, Level, Kind string
	Matches                 int
}

// TestedEvent is one pasted event and what fired on it.
type TestedEvent struct {
	Line      int // the first line of the paste it came from
	Time      time.Time
	Host      string
	LogSource string
	Error     string // why the line did not read as an event, if it did not
	Matches   []TestMatch
	Fields    []alert.KV // the values of the fields the rules look at
}

// TestMatch is a rule that fired on a tested event.
type TestMatch struct {
	Ref, Title, Level string
	Correlation       bool
}

// problemView is a problem as a page shows it. Texts are translated and
// have been through safeLine.
type problemView struct {
	File, Rule, Message string
	Line, Col           int
	Href                string // the rule's page, when the rule is known
}

// problemViewOf translates a problem.
func problemViewOf(p *Page, rp RuleProblem) problemView {
	return problemView{File: safeLine(rp.File, 300), Rule: safeLine(rp.Rule, 200), Line: rp.Line, Col: rp.Col,
		Message: safeLine(p.T(rp.Msg, rp.Args...), 1000)}
}

// rulesConfigured answers 404 when koban runs without the rule service.
func (s *Server) rulesConfigured(w http.ResponseWriter, r *http.Request) bool {
	if s.opts.Rules == nil {
		s.fail(w, r, fault.New(fault.NotFound, "rulesui.no_service"))
		return false
	}
	return true
}

// rulesFlash shows the notice a redirect asked for with ?done=, from the
// rulesui.done messages only.
func (s *Server) rulesFlash(p *Page, r *http.Request) {
	if id := r.URL.Query().Get("done"); id != "" && s.cat.Has(i18n.English, "rulesui.done."+id) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		p.Flash = p.T("rulesui.done."+id, "count", n)
	}
}

// canManage reports whether the request may change rules.
func canManage(r *http.Request) bool {
	p := principal(r)
	return p != nil && !p.MFAPending && p.Can(auth.PermRules)
}

// RuleTitle is the title a reader of the page's language sees.
func (p *Page) RuleTitle(r *RuleInfo) string {
	if p.Lang == i18n.Japanese && strings.TrimSpace(r.TitleJA) != "" {
		return safeLine(r.TitleJA, 300)
	}
	if r.Title == "" {
		return safeLine(r.Ref, 300)
	}
	return safeLine(r.Title, 300)
}

// RuleState names a rule state in the viewer's language.
func (p *Page) RuleState(s RuleState) string {
	if !s.Valid() {
		return safeLine(string(s), 40)
	}
	return p.T("rulesui.state." + string(s))
}

// Tactic names an ATT&CK tactic in the viewer's language.
func (p *Page) Tactic(t string) string {
	if id := "rulesui.tactic." + t; p.cat.Has(i18n.English, id) {
		return p.T(id)
	}
	return safeLine(t, 60)
}

// ruleReason says in the viewer's language why a rule is not loaded.
func ruleReason(p *Page, r *RuleInfo) string {
	switch {
	case r.State == RuleOff && r.Setting != nil:
		return p.T("rulesui.off_by", "actor", safeLine(r.Setting.Actor, 100), "reason", safeLine(r.Setting.Reason, 300))
	case r.Reason != "":
		return safeLine(p.T(r.Reason, r.Args...), 1000)
	}
	return ""
}

// PackName is how a pack is shown: its name, or the last element of a
// path given in detection.rules.
func PackName(label string) string {
	if i := strings.LastIndexAny(label, `/\`); i >= 0 && i < len(label)-1 {
		return label[i+1:]
	}
	return label
}

// ruleLogSource renders product/category/service, "*" for a part not given.
func ruleLogSource(r *RuleInfo) string {
	if r.Kind == "correlation" {
		return "correlation: " + r.CorrelationType
	}
	part := func(s string) string {
		if s == "" {
			return "*"
		}
		return s
	}
	return part(r.Product) + "/" + part(r.Category) + "/" + part(r.Service)
}

func rowOf(p *Page, r *RuleInfo) ruleRow {
	return ruleRow{Ref: safeLine(r.Ref, 200), Href: ruleHref(r.Ref), Title: p.RuleTitle(r), Kind: r.Kind,
		Level: alert.Level(levelOf(r.Level)), Status: safeLine(r.Status, 40), LogSource: safeLine(ruleLogSource(r), 200),
		Pack: safeLine(PackName(r.Pack), 100), PackPath: safeLine(r.Pack, 500), File: safeLine(r.File, 300), Techniques: techniques(r.Tags), Tactics: alert.TacticsOf(r.Tags),
		State: r.State, Reason: ruleReason(p, r), Custom: r.Custom}
}
