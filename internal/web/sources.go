// SPDX-License-Identifier: Apache-2.0

package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/koban-csirt/koban/internal/i18n"
	"github.com/koban-csirt/koban/internal/intake"
)

// secondsLayout shows times to the second.
const secondsLayout = "2006-01-02 15:04:05"

// hostsShown is how many hosts of each source the sources page lists; the
// page of one source lists them all.
const hostsShown = 50

// sourcesPage is the data of the sources page.
type sourcesPage struct {
	*Page
	Sources []sourceView
	// Silent counts the silent hosts of all sources.
	Silent int
	// Only is the one source asked for with ?source=, or "".
	Only string
	// Updated is when the figures were read, in the viewer's zone.
	Updated string
}

// sourceView is one source on the sources page.
type sourceView struct {
	Anchor      string // element id
	Name, Kind  string
	PerSecond   string
	Events      string
	Last        timeView
	ParseErrors string
	ErrorRate   string // percent of events that did not parse
	Dropped     string
	Rejected    string
	LastProblem string
	Hosts       []hostView
	HostCount   int
	Silent      int
	// AllHosts links to the page of this source when hosts were left out.
	AllHosts string
}

// hostView is one sending host of a source.
type hostView struct {
	Host     string
	Last     timeView
	UsualGap string // "" until known
	Silent   bool
}

// timeView is a moment as absolute time in the viewer's zone and as
// "… ago".
type timeView struct {
	Abs, Ago, ISO string
}

// sources shows the intake registry: every source's rates and problems and
// its hosts, silent ones first. htmx reloads the figures every 10 seconds.
func (s *Server) sources(w http.ResponseWriter, r *http.Request) {
	d := sourcesPage{Page: s.page(r, "sources", "sources.title"), Only: r.URL.Query().Get("source")}
	var snaps []intake.SourceSnapshot
	if s.opts.Sources != nil {
		snaps = s.opts.Sources()
	}
	now := s.now()
	d.Updated = now.In(d.loc).Format(secondsLayout)
	for i, sn := range snaps {
		if d.Only != "" && sn.Name != d.Only {
			continue
		}
		v := sourceView{Anchor: "source-" + strconv.Itoa(i+1), Name: safeLine(sn.Name, 200), Kind: sn.Kind,
			PerSecond: strconv.FormatFloat(sn.PerSecond, 'f', 1, 64), Events: groupDigits(sn.Events),
			Last: d.timeView(sn.LastEvent, now), ParseErrors: groupDigits(sn.ParseErrors),
			Dropped: groupDigits(sn.Dropped), Rejected: groupDigits(sn.Rejected),
			LastProblem: s.problemText(d.Lang, sn.LastProblem), HostCount: len(sn.Hosts)}
		if sn.Events > 0 {
			v.ErrorRate = strconv.FormatFloat(100*float64(sn.ParseErrors)/float64(sn.Events), 'f', 2, 64)
		}
		for j, h := range sn.Hosts {
			if h.Silent {
				v.Silent++
			}
			if d.Only == "" && j >= hostsShown {
				continue
			}
			hv := hostView{Host: safeLine(h.Host, 200), Last: d.timeView(h.Last, now), Silent: h.Silent}
			if h.UsualGap > 0 {
				hv.UsualGap = d.span(h.UsualGap)
			}
			v.Hosts = append(v.Hosts, hv)
		}
		if len(v.Hosts) < len(sn.Hosts) {
			v.AllHosts = "/sources?source=" + url.QueryEscape(sn.Name)
		}
		d.Silent += v.Silent
		d.Sources = append(d.Sources, v)
	}
	s.render(w, r, http.StatusOK, "sources", d)
}

// timeView shows t in the viewer's zone and relative to now.
func (p *Page) timeView(t, now time.Time) timeView {
	if t.IsZero() {
		return timeView{Abs: p.T("time.never")}
	}
	return timeView{Abs: t.In(p.loc).Format(secondsLayout),
		ISO: t.UTC().Format(time.RFC3339), Ago: p.ago(now.Sub(t))}
}

// ago says how long ago something happened.
func (p *Page) ago(d time.Duration) string {
	if d < 0 {
		return p.T("sources.ago_future")
	}
	return p.T("sources.ago", "span", p.span(d))
}

// span says d in its largest whole unit, rounded down: "3 minutes".
func (p *Page) span(d time.Duration) string {
	switch {
	case d < time.Minute:
		return p.T("events.unit.seconds", "count", int(d/time.Second))
	case d < time.Hour:
		return p.T("events.unit.minutes", "count", int(d/time.Minute))
	case d < 48*time.Hour:
		return p.T("events.unit.hours", "count", int(d/time.Hour))
	}
	return p.T("events.unit.days", "count", int(d/(24*time.Hour)))
}

// groupDigits writes n with thousands separators: 1,234,567.
func groupDigits(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// problemText shows a source's last problem: listeners record a message id
// of the catalogue, shown in the viewer's language; anything else is shown
// as it is.
func (s *Server) problemText(l i18n.Lang, problem string) string {
	if problem != "" && s.cat.Has(l, problem) {
		return s.cat.T(l, problem)
	}
	return safeLine(problem, 500)
}
