// SPDX-License-Identifier: Apache-2.0

package web

import (
	"cmp"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/koban-csirt/koban/internal/alert"
	"github.com/koban-csirt/koban/internal/fault"
)

// rulesPerPage is how many rules a page of the list shows;
// maxProblemsShown bounds the unreadable documents it lists ("koban rules
// lint" lists them all).
const (
	rulesPerPage     = 100
	maxProblemsShown = 200
)

// ruleQuery is the list's filter as the query string asks for it.
type ruleQuery struct {
	Levels                     []string
	Status                     string
	Tag                        string
	Product, Category, Service string
	Pack                       string
	// State is "" (all), "enabled" (on or quiet), or a RuleState.
	State string
	Q     string
	Page  int
}

// parseRuleQuery reads level (repeated), status, tag, product, category,
// service, pack, state, q and page. Unknown values are faults naming
// their field.
func parseRuleQuery(v url.Values) (ruleQuery, error) {
	var q ruleQuery
	var errs fault.List
	for _, l := range v["level"] {
		if l = strings.TrimSpace(l); l == "" {
			continue
		}
		if !alert.Level(l).Valid() {
			errs = append(errs, fault.InvalidField("level", "rulesui.bad_level", "value", safeLine(l, 40)))
			continue
		}
		if !slices.Contains(q.Levels, l) {
			q.Levels = append(q.Levels, l)
		}
	}
	trim := func(k string) string { return strings.TrimSpace(truncateRunes(v.Get(k), 200)) }
	q.Status, q.Tag, q.Q = trim("status"), trim("tag"), trim("q")
	q.Product, q.Category, q.Service, q.Pack = trim("product"), trim("category"), trim("service"), trim("pack")
	if q.Status != "" && !slices.Contains(ruleStatuses, q.Status) {
		errs = append(errs, fault.InvalidField("status", "rulesui.bad_status", "value", safeLine(q.Status, 40)))
		q.Status = ""
	}
	switch q.State = trim("state"); q.State {
	case "", "enabled":
	default:
		if !RuleState(q.State).Valid() {
			errs = append(errs, fault.InvalidField("state", "rulesui.bad_state", "value", safeLine(q.State, 40)))
			q.State = ""
		}
	}
	if p := v.Get("page"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 1_000_000 {
			errs = append(errs, fault.InvalidField("page", "rulesui.bad_page"))
		} else {
			q.Page = n
		}
	}
	return q, errs.Err()
}

// ruleStatuses are Sigma's statuses, most trusted first.
var ruleStatuses = []string{"stable", "test", "experimental", "deprecated", "unsupported"}

// values is q as query parameters, without the page.
func (q ruleQuery) values() url.Values {
	v := url.Values{}
	for _, l := range q.Levels {
		v.Add("level", l)
	}
	for _, kv := range [][2]string{{"status", q.Status}, {"tag", q.Tag}, {"product", q.Product}, {"category", q.Category},
		{"service", q.Service}, {"pack", q.Pack}, {"state", q.State}, {"q", q.Q}} {
		if kv[1] != "" {
			v.Set(kv[0], kv[1])
		}
	}
	return v
}

// rulesURL is the list with parameters v.
func rulesURL(v url.Values) string {
	if len(v) == 0 {
		return "/rules"
	}
	return "/rules?" + v.Encode()
}

// ruleHref is the page of the rule addressed as ref.
func ruleHref(ref string) string { return "/rules/" + url.PathEscape(ref) }

// tagMatches reports whether a rule with tags matches the tag filter want
// (lower case): the tag itself or one below it ("attack.t1059" covers
// "attack.t1059.001"), with "attack." implied ("t1059", "execution").
func tagMatches(tags []string, want string) bool {
	for _, t := range tags {
		t = strings.ToLower(t)
		for _, w := range []string{want, "attack." + want} {
			if t == w || strings.HasPrefix(t, w+".") {
				return true
			}
		}
	}
	return false
}

// match reports whether r passes every filter of q.
func (q ruleQuery) match(r *RuleInfo) bool {
	switch {
	case len(q.Levels) > 0 && !slices.Contains(q.Levels, levelOf(r.Level)),
		q.Status != "" && r.Status != q.Status,
		q.Product != "" && !strings.EqualFold(r.Product, q.Product),
		q.Category != "" && !strings.EqualFold(r.Category, q.Category),
		q.Service != "" && !strings.EqualFold(r.Service, q.Service),
		q.Pack != "" && r.Pack != q.Pack,
		q.State == "enabled" && !r.State.Enabled(),
		q.State != "" && q.State != "enabled" && string(r.State) != q.State,
		q.Tag != "" && !tagMatches(r.Tags, strings.ToLower(q.Tag)):
		return false
	}
	if q.Q == "" {
		return true
	}
	want := strings.ToLower(q.Q)
	for _, s := range []string{r.Ref, r.Name, r.Title, r.TitleJA, r.Description, r.DescriptionJA, r.Author, r.File} {
		if strings.Contains(strings.ToLower(s), want) {
			return true
		}
	}
	return false
}

// levelOf is a rule's level as the filters and badges treat it: no level
// counts as informational, as in selection.
func levelOf(l string) string {
	if l == "" {
		return string(alert.LevelInformational)
	}
	return l
}

// ruleRow is one rule of the list. Texts have been through safeLine.
type ruleRow struct {
	Ref, Href, Title, Kind string
	Level                  alert.Level
	Status, LogSource      string
	Pack, File             string
	PackPath               string // the pack's label in full (a path for detection.rules)
	Techniques             []technique
	Tactics                []string
	State                  RuleState
	Reason                 string // translated
	Custom                 bool
}

// packOption is a pack in the filter: its label and how it is shown.
type packOption struct{ Value, Name string }

// stateCount is one state tab of the list with how many rules it holds.
type stateCount struct {
	Key, Label, Href string
	Count            int
	Current          bool
}

// rulesPage is the data of the rule list.
type rulesPage struct {
	*Page
	In       ruleQuery
	Rows     []ruleRow
	States   []stateCount
	Matching int // rules passing the filters
	Total    int
	// Toggle lists the refs on this filter that can be turned off or on,
	// for the bulk form.
	Toggle, ToggleOn, ToggleOff int
	Levels                      []alert.Level
	Statuses                    []string
	Products, Categories        []string
	Services                    []string
	Packs                       []packOption
	Problems                    []problemView // documents that are not rules
	MoreProblems                int           // problems not shown
	MinLevel                    alert.Level
	OlderURL, NewerURL          string
	PageNo, Pages               int
	Filter                      string // the filter as a query string, for the bulk form
	CanManage                   bool
	Built                       timeView
	ClearURL                    string
	Reason                      string // the bulk reason as typed, when shown again
}

// LevelChecked reports whether the list filters on level l.
func (d *rulesPage) LevelChecked(l alert.Level) bool { return slices.Contains(d.In.Levels, string(l)) }

// distinct returns the distinct non-empty values of field over rules,
// sorted.
func distinct(rules []RuleInfo, field func(*RuleInfo) string) []string {
	seen := map[string]bool{}
	var out []string
	for i := range rules {
		if v := field(&rules[i]); v != "" && !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return out
}

// sortRules orders rules for the list: highest level first, then title.
func sortRules(rs []*RuleInfo) {
	slices.SortStableFunc(rs, func(a, b *RuleInfo) int {
		return cmp.Or(cmp.Compare(alert.Level(levelOf(b.Level)).Rank(), alert.Level(levelOf(a.Level)).Rank()),
			strings.Compare(a.Title, b.Title), strings.Compare(a.Ref, b.Ref))
	})
}

// filterRules returns the rules of set passing q, in list order.
func filterRules(set []RuleInfo, q ruleQuery) []*RuleInfo {
	var out []*RuleInfo
	for i := range set {
		if q.match(&set[i]) {
			out = append(out, &set[i])
		}
	}
	sortRules(out)
	return out
}

// rulesPageData builds the list for the query v. A fault in the query
// comes back with the page, listing nothing.
func (s *Server) rulesPageData(r *http.Request, v url.Values) (*rulesPage, error) {
	set, err := s.opts.Rules.Rules(r.Context())
	if err != nil {
		return nil, err
	}
	p := s.page(r, "rules", "rulesui.title")
	s.rulesFlash(p, r)
	d := &rulesPage{Page: p, Levels: alert.Levels, Statuses: ruleStatuses, Total: len(set.Rules), CanManage: canManage(r),
		MinLevel: alert.Level(set.MinLevel), Built: p.timeView(set.Built, s.now()), ClearURL: "/rules"}
	d.Products = distinct(set.Rules, func(r *RuleInfo) string { return r.Product })
	d.Categories = distinct(set.Rules, func(r *RuleInfo) string { return r.Category })
	d.Services = distinct(set.Rules, func(r *RuleInfo) string { return r.Service })
	for _, p := range distinct(set.Rules, func(r *RuleInfo) string { return r.Pack }) {
		d.Packs = append(d.Packs, packOption{Value: p, Name: PackName(p)})
	}
	for i, rp := range set.Problems {
		if i == maxProblemsShown {
			break
		}
		d.Problems = append(d.Problems, problemViewOf(p, rp))
	}
	d.MoreProblems = len(set.Problems) - len(d.Problems)
	in, qerr := parseRuleQuery(v)
	d.In = in
	d.Filter = in.values().Encode()
	d.States = ruleStates(p, in, set.Rules)
	if qerr != nil {
		d.formErrors(qerr)
		return d, qerr
	}
	rows := filterRules(set.Rules, in)
	d.Matching = len(rows)
	for _, r := range rows {
		if r.Toggle {
			d.Toggle++
			if r.State.Enabled() {
				d.ToggleOff++
			} else if r.State == RuleOff {
				d.ToggleOn++
			}
		}
	}
	d.Pages = max(1, (len(rows)+rulesPerPage-1)/rulesPerPage)
	d.PageNo = min(max(in.Page, 1), d.Pages)
	start := (d.PageNo - 1) * rulesPerPage
	for _, r := range rows[start:min(start+rulesPerPage, len(rows))] {
		d.Rows = append(d.Rows, rowOf(p, r))
	}
	page := func(n int) string {
		pv := in.values()
		if n > 1 {
			pv.Set("page", strconv.Itoa(n))
		}
		return rulesURL(pv)
	}
	if d.PageNo < d.Pages {
		d.OlderURL = page(d.PageNo + 1)
	}
	if d.PageNo > 1 {
		d.NewerURL = page(d.PageNo - 1)
	}
	return d, nil
}

// ruleStates builds the state tabs with their counts under the other
// filters.
func ruleStates(p *Page, in ruleQuery, rules []RuleInfo) []stateCount {
	other := in
	other.State = ""
	counts := map[string]int{}
	for i := range rules {
		if other.match(&rules[i]) {
			counts[""]++
			counts[string(rules[i].State)]++
			if rules[i].State.Enabled() {
				counts["enabled"]++
			}
		}
	}
	v := other.values()
	var out []stateCount
	for _, k := range []string{"", "enabled", string(RuleOn), string(RuleQuiet), string(RuleOff), string(RuleSkipped), string(RuleBroken)} {
		label := p.T("rulesui.tab_all")
		switch k {
		case "":
		case "enabled":
			label = p.T("rulesui.tab_enabled")
		default:
			label = p.RuleState(RuleState(k))
		}
		if k == "" {
			v.Del("state")
		} else {
			v.Set("state", k)
		}
		key := k
		if key == "" {
			key = "all"
		}
		out = append(out, stateCount{Key: key, Label: label, Href: rulesURL(v), Count: counts[k], Current: in.State == k})
	}
	return out
}

// rules is the rule list: GET /rules.
func (s *Server) rules(w http.ResponseWriter, r *http.Request) {
	if s.opts.Rules == nil {
		s.section("rules")(w, r)
		return
	}
	d, err := s.rulesPageData(r, r.URL.Query())
	if err != nil {
		if d == nil || fault.KindOf(err) == fault.Internal {
			s.fail(w, r, err)
			return
		}
		s.render(w, r, statusFor(fault.KindOf(err)), "rules", d)
		return
	}
	s.render(w, r, http.StatusOK, "rules", d)
}

// rulesBulk turns every rule on the list's filter off or back on: POST
// /rules/bulk with action (disable or enable), reason and filter (the
// list's query string).
func (s *Server) rulesBulk(w http.ResponseWriter, r *http.Request) {
	if !s.rulesConfigured(w, r) {
		return
	}
	if err := parseForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	filter, err := url.ParseQuery(r.PostFormValue("filter"))
	if err != nil {
		s.fail(w, r, fault.Wrap(fault.Invalid, err, "error.malformed"))
		return
	}
	filter.Del("page")
	in, err := parseRuleQuery(filter)
	var n int
	var enable bool
	if err == nil {
		switch r.PostFormValue("action") {
		case "enable":
			enable = true
		case "disable":
		default:
			err = fault.New(fault.Invalid, "rulesui.bad_action")
		}
	}
	if err == nil {
		var set RuleSet
		if set, err = s.opts.Rules.Rules(r.Context()); err == nil {
			var ids []string
			for _, ri := range filterRules(set.Rules, in) {
				// Only what would change: rules off here come back on,
				// loaded rules go off; the others stay as they are.
				if ri.Toggle && ((enable && ri.State == RuleOff) || (!enable && ri.State.Enabled())) {
					ids = append(ids, ri.Ref)
				}
			}
			if len(ids) == 0 {
				err = fault.New(fault.Invalid, "rulesui.bulk_none")
			} else {
				n, err = s.opts.Rules.SetEnabled(r.Context(), actor(r), ids, enable, r.PostFormValue("reason"))
			}
		}
	}
	back := in.values()
	if err == nil {
		done := "disabled_n"
		if enable {
			done = "enabled_n"
		}
		back.Set("done", done)
		back.Set("n", strconv.Itoa(n))
		http.Redirect(w, r, rulesURL(back), http.StatusSeeOther)
		return
	}
	if fault.KindOf(err) == fault.Internal {
		s.fail(w, r, err)
		return
	}
	d, derr := s.rulesPageData(r, filter)
	if derr != nil && d == nil {
		s.fail(w, r, derr)
		return
	}
	d.RequestPath = rulesURL(back)
	d.Reason = r.PostFormValue("reason")
	d.formErrors(err)
	s.render(w, r, statusFor(fault.KindOf(err)), "rules", d)
}
