// SPDX-License-Identifier: Apache-2.0

package web

import (
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/koban-csirt/koban/internal/alert"
	"github.com/koban-csirt/koban/internal/i18n"
)

// ruleDetailPage is the data of one rule's page.
type ruleDetailPage struct {
	*Page
	R          *RuleInfo
	Row        ruleRow
	Level      alert.Level
	Tags       []string
	Techniques []technique
	Tactics    []string
	Desc       string
	Lines      []sourceLine
	SourceCut  bool
	Problems   []problemView
	Setting    *settingView
	Reason     string // the reason as typed, when shown again
	CanManage  bool
	AlertsURL  string
	TuningURL  string
	EditURL    string
	Texts      ruleTexts
	// NewExclusionURL is the form for a suppression of this rule, when
	// the viewer may make one.
	NewExclusionURL string
}

// ruleTexts are a rule's free texts made safe to show.
type ruleTexts struct {
	Author, Date, Modified, Correlation   string
	References, FalsePositives, Fields    []string
	ReferenceLinks                        []refLink
	Pack, File, ID, Name, Status, LogSrc  string
	HasRefs, HasFalsePositives, HasFields bool
}

// refLink is a reference of a rule: a link when it is an http(s) URL.
type refLink struct {
	Text, Href string
}

// settingView is a person's last choice about a rule, as shown.
type settingView struct {
	Enabled       bool
	Actor, Reason string
	At            timeView
}

// sourceLine is one numbered line of a rule file.
type sourceLine struct {
	N       int
	Text    string
	Marked  bool   // a problem points at it
	Caret   string // spaces and "^" under the column a problem names
	Message string // the first problem on the line, translated
}

// maxSourceRunes bounds the file text a rule's page shows.
const maxSourceRunes = 256 << 10

// sourceLines numbers the lines of text and marks those problems point
// at.
func sourceLines(p *Page, text string, probs []RuleProblem) []sourceLine {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	out := make([]sourceLine, len(lines))
	for i, l := range lines {
		t, _ := safeText(strings.TrimRight(l, "\r"), 4000)
		out[i] = sourceLine{N: i + 1, Text: t}
	}
	for _, rp := range probs {
		if rp.Line < 1 || rp.Line > len(out) {
			continue
		}
		sl := &out[rp.Line-1]
		if sl.Marked {
			continue
		}
		sl.Marked = true
		sl.Message = safeLine(p.T(rp.Msg, rp.Args...), 1000)
		if rp.Col >= 1 && rp.Col <= utf8.RuneCountInString(lines[rp.Line-1])+1 {
			sl.Caret = strings.Repeat(" ", rp.Col-1) + "^"
		}
	}
	return out
}

func refLinks(refs []string) []refLink {
	var out []refLink
	for _, ref := range refs {
		l := refLink{Text: safeLine(ref, 500)}
		if u, err := url.Parse(strings.TrimSpace(ref)); err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" {
			l.Href = u.String()
		}
		out = append(out, l)
	}
	return out
}

func safeLines(ss []string, max int) []string {
	var out []string
	for _, s := range ss {
		out = append(out, safeLine(s, max))
	}
	return out
}

// ruleDetailData builds the page of the rule addressed as id.
func (s *Server) ruleDetailData(r *http.Request, id string) (*ruleDetailPage, error) {
	rd, err := s.opts.Rules.Rule(r.Context(), id)
	if err != nil {
		return nil, err
	}
	p := s.page(r, "rules", "")
	s.rulesFlash(p, r)
	ri := &rd.RuleInfo
	d := &ruleDetailPage{Page: p, R: ri, Row: rowOf(p, ri), Level: alert.Level(levelOf(ri.Level)), Techniques: techniques(ri.Tags),
		Tactics: alert.TacticsOf(ri.Tags), CanManage: canManage(r) && ri.Toggle && !ri.ConfigOff, SourceCut: rd.SourceCut}
	p.Title = d.Row.Title
	d.Desc, _ = safeText(ri.Description, 20000)
	if p.Lang == i18n.Japanese && strings.TrimSpace(ri.DescriptionJA) != "" {
		d.Desc, _ = safeText(ri.DescriptionJA, 20000)
	}
	d.Tags = safeLines(ri.Tags, 200)
	d.Texts = ruleTexts{Author: safeLine(ri.Author, 500), Date: safeLine(ri.Date, 40), Modified: safeLine(ri.Modified, 40),
		Correlation: safeLine(ri.Correlation, 2000), FalsePositives: safeLines(ri.FalsePositives, 1000),
		Fields: safeLines(ri.Fields, 200), ReferenceLinks: refLinks(ri.References), Pack: safeLine(PackName(ri.Pack), 100),
		File: safeLine(ri.File, 500), ID: safeLine(ri.ID, 200), Name: safeLine(ri.Name, 200), Status: safeLine(ri.Status, 40),
		LogSrc: safeLine(ruleLogSource(ri), 200)}
	d.Texts.HasRefs, d.Texts.HasFalsePositives, d.Texts.HasFields = len(ri.References) > 0, len(ri.FalsePositives) > 0, len(ri.Fields) > 0
	if st := ri.Setting; st != nil {
		d.Setting = &settingView{Enabled: st.Enabled, Actor: safeLine(st.Actor, 200), Reason: safeLine(st.Reason, 2000),
			At: p.timeView(st.At, s.now())}
	}
	// Problems of the file that concern this rule, or no rule at all.
	var mine []RuleProblem
	for _, rp := range rd.Problems {
		if rp.Rule == "" || rp.Rule == ri.Ref || rp.Rule == ri.ID || rp.Rule == ri.Title {
			mine = append(mine, rp)
			d.Problems = append(d.Problems, problemViewOf(p, rp))
		}
	}
	src := rd.Source
	if utf8.RuneCountInString(src) > maxSourceRunes {
		src, d.SourceCut = truncateRunes(src, maxSourceRunes), true
	}
	d.Lines = sourceLines(p, src, mine)
	if ri.ID != "" {
		d.AlertsURL = alertsURL(url.Values{"rule": {ri.ID}, "state": {tabAll}})
		d.TuningURL = "/alerts/exclusions?" + url.Values{"rule": {ri.ID}}.Encode()
	}
	if canManage(r) && s.opts.Alerts != nil && ri.Kind != "filter" && ri.Ref != "" {
		d.NewExclusionURL = newExclusionURL(ri.Ref)
	}
	if ri.Custom && canManage(r) {
		d.EditURL = ruleHref(ri.Ref) + "/edit"
	}
	return d, nil
}

// ruleDetail is one rule's page: GET /rules/{id}.
func (s *Server) ruleDetail(w http.ResponseWriter, r *http.Request) {
	if !s.rulesConfigured(w, r) {
		return
	}
	d, err := s.ruleDetailData(r, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "rules_detail", d)
}

// ruleEnable turns a rule back on: POST /rules/{id}/enable with reason.
func (s *Server) ruleEnable(w http.ResponseWriter, r *http.Request) { s.ruleToggle(w, r, true) }

// ruleDisable turns a rule off: POST /rules/{id}/disable with reason.
func (s *Server) ruleDisable(w http.ResponseWriter, r *http.Request) { s.ruleToggle(w, r, false) }

func (s *Server) ruleToggle(w http.ResponseWriter, r *http.Request, enable bool) {
	if !s.rulesConfigured(w, r) {
		return
	}
	id := r.PathValue("id")
	done := "disabled"
	if enable {
		done = "enabled"
	}
	s.form(w, r, "rules_detail", ruleHref(id), done, func() error {
		_, err := s.opts.Rules.SetEnabled(r.Context(), actor(r), []string{id}, enable, r.PostFormValue("reason"))
		return err
	}, func() (pageData, error) {
		d, err := s.ruleDetailData(r, id)
		if err != nil {
			return nil, err
		}
		d.RequestPath = ruleHref(id)
		d.Reason = r.PostFormValue("reason")
		return d, nil
	})
}
