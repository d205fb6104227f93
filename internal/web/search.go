// SPDX-License-Identifier: Apache-2.0

package web

import (
	"context"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/koban-csirt/koban/internal/event"
	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/search"
)

// eventsPage is the data of the search page.
type eventsPage struct {
	*Page
	In        searchInput
	FromInput string // datetime-local values in the viewer's zone
	ToInput   string
	Presets   []string
	// NoStore: koban runs without an event store.
	NoStore bool
	// Searched: the query ran (it was valid and a store is there).
	Searched bool
	// TimedOut: a query ran past the deadline of Timeout seconds; what
	// finished is shown.
	TimedOut bool
	Timeout  int
	Total    int64
	// CountKnown: Total was counted (not cut off by the deadline).
	CountKnown bool
	Events     []eventView
	Fields     []sidebarField
	// NoneYet: the store holds no event at all.
	NoneYet bool
	// MoreURL is the next (older) page; MorePart its rows alone, for htmx.
	MoreURL, MorePart string
	// HistURL is the histogram's JSON; HistStep its bucket width in words.
	HistURL, HistStep string
	// QueryErr is the query box's message; Caret marks the column it names.
	QueryErr string
	Caret    string
}

// sidebarField is one field of the sidebar with its most common values.
type sidebarField struct {
	Name   string
	Values []sidebarValue
}

// sidebarValue is one value of a sidebar field and the search narrowed to
// it.
type sidebarValue struct {
	Value string // safe to show
	Count int64
	Href  string
}

func (s *Server) eventsData(r *http.Request) *eventsPage {
	d := &eventsPage{Page: s.page(r, "hunting", "events.title"), Timeout: int(s.searchTimeout() / time.Second),
		NoStore: s.opts.Events == nil}
	for _, p := range rangePresets {
		d.Presets = append(d.Presets, p.Key)
	}
	return d
}

// events is the search page: a GET form, so that it works without script;
// htmx swaps the #search region and appends older rows.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	d := s.eventsData(r)
	in, err := parseSearch(r.URL.Query(), s.now(), d.loc)
	d.setInput(in)
	if err != nil {
		if !d.formErrors(err) {
			s.fail(w, r, err)
			return
		}
		d.queryError(in.Q, err)
		status := statusFor(fault.KindOf(err))
		if r.Header.Get("HX-Request") == "true" {
			status = http.StatusOK // htmx swaps only successful answers
		}
		s.render(w, r, status, "search", d)
		return
	}
	if d.NoStore {
		s.render(w, r, http.StatusOK, "search", d)
		return
	}
	ctx, cancel := s.searchContext(r)
	defer cancel()
	if err := s.runSearch(ctx, d, in, r.URL.Query().Get("part") == "rows"); err != nil {
		s.fail(w, r, err)
		return
	}
	if r.URL.Query().Get("part") == "rows" {
		s.renderPart(w, r, "search", "search_rows", d)
		return
	}
	s.render(w, r, http.StatusOK, "search", d)
}

func (d *eventsPage) setInput(in searchInput) {
	d.In = in
	if !in.From.IsZero() {
		d.FromInput = in.From.In(d.loc).Format(inputLayout)
	}
	if !in.To.IsZero() {
		d.ToInput = in.To.In(d.loc).Format(inputLayout)
	}
}

// runSearch fills d: the page of events, then (unless rowsOnly) the count,
// whether the store is empty, the sidebar and the histogram link. A query
// that runs out of time leaves what finished and sets TimedOut.
func (s *Server) runSearch(ctx context.Context, d *eventsPage, in searchInput, rowsOnly bool) error {
	st := s.opts.Events
	pg, err := st.Search(ctx, in.query(searchPageSize))
	if err != nil {
		if timedOut(ctx, err) {
			d.TimedOut = true
			return nil
		}
		return err
	}
	d.Searched = true
	for i := range pg.Events {
		d.Events = append(d.Events, viewEvent(&pg.Events[i], d.loc, listRawBytes, listValueRunes))
	}
	if pg.Next != nil {
		v := in.values()
		in.absolute(v)
		v.Set("after", formatCursor(*pg.Next))
		d.MoreURL = "/events?" + v.Encode()
		v.Set("part", "rows")
		d.MorePart = "/events?" + v.Encode()
	}
	if rowsOnly {
		return nil
	}
	hv := in.values()
	in.absolute(hv)
	d.HistURL = "/events/histogram?" + hv.Encode()
	d.HistStep = d.duration(histogramStep(in.From, in.To))
	if in.After != nil {
		return nil // an older page: the count and sidebar are the first page's
	}
	n, err := st.Count(ctx, in.query(0))
	switch {
	case timedOut(ctx, err):
		d.TimedOut = true
		return nil
	case err != nil:
		return err
	}
	d.Total, d.CountKnown = n, true
	if n == 0 {
		// Is there anything at all? An empty store gets the how-to.
		all, err := st.Search(ctx, search.Query{From: time.Unix(0, 0), To: s.now().Add(24 * 365 * time.Hour), Limit: 1})
		switch {
		case timedOut(ctx, err):
			d.TimedOut = true
			return nil
		case err != nil:
			return err
		}
		d.NoneYet = len(all.Events) == 0
		return nil
	}
	return s.sidebar(ctx, d, in, pg.Events)
}

// sidebarAlways are event columns the sidebar shows whenever the page's
// events have them; sidebarFields are fields it shows when present, in
// order of usefulness, up to sidebarMax in all.
var (
	sidebarAlways = []string{"host", "source", "category", "product", "service"}
	sidebarFields = []string{"EventID", "Channel", "Provider_Name", "User", "TargetUserName", "SubjectUserName",
		"Image", "ParentImage", "SourceIp", "DestinationIp", "DestinationPort", "QueryName", "ServiceName",
		"LogonType", "IpAddress", "program", "status"}
)

// sidebar fills the fields sidebar: the top values of the useful fields
// that the page's events have.
func (s *Server) sidebar(ctx context.Context, d *eventsPage, in searchInput, evs []event.Event) error {
	has := func(name string) bool {
		for i := range evs {
			e := &evs[i]
			var v string
			switch name {
			case "host":
				v = e.Host
			case "source":
				v = e.Source
			case "product":
				v = e.Log.Product
			case "category":
				v = e.Log.Category
			case "service":
				v = e.Log.Service
			default:
				v, _ = e.Lookup(name)
			}
			if v != "" {
				return true
			}
		}
		return false
	}
	var names []string
	for _, list := range [][]string{sidebarAlways, sidebarFields} {
		for _, n := range list {
			if len(names) < sidebarMax && has(n) {
				names = append(names, n)
			}
		}
	}
	for _, n := range names {
		vals, err := s.opts.Events.Top(ctx, in.query(0), n, sidebarValues, false)
		switch {
		case timedOut(ctx, err):
			d.TimedOut = true
			return nil
		case err != nil:
			return err
		}
		f := sidebarField{Name: n}
		for _, v := range vals {
			if v.Value == "" {
				continue
			}
			nv := in.values()
			nv.Set("q", addTerm(in, n, v.Value))
			f.Values = append(f.Values, sidebarValue{Value: safeLine(v.Value, 80), Count: v.Count, Href: "/events?" + nv.Encode()})
		}
		if len(f.Values) > 0 {
			d.Fields = append(d.Fields, f)
		}
	}
	return nil
}

// queryError copies the query's message beside the box and, when the
// message names a column, marks it under the query.
func (d *eventsPage) queryError(q string, err error) {
	d.QueryErr = d.Err("q")
	for _, f := range fault.Faults(err) {
		if f.Field != "q" {
			continue
		}
		if col, ok := columnArg(f.Args); ok && col >= 1 && col <= utf8.RuneCountInString(q)+1 {
			d.Caret = strings.Repeat(" ", col-1) + "^"
		}
	}
}

// duration says d in words: "15 minutes", "1 day".
func (p *Page) duration(d time.Duration) string {
	switch {
	case d%(24*time.Hour) == 0:
		return p.T("events.unit.days", "count", int(d/(24*time.Hour)))
	case d%time.Hour == 0:
		return p.T("events.unit.hours", "count", int(d/time.Hour))
	case d%time.Minute == 0:
		return p.T("events.unit.minutes", "count", int(d/time.Minute))
	}
	return p.T("events.unit.seconds", "count", int(d/time.Second))
}

// histogramJSON is the histogram's data as the chart script reads it:
// bucket starts in Unix seconds (uPlot's time scale) and their counts.
type histogramJSON struct {
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	Step   int64     `json:"step"` // seconds
	Times  []int64   `json:"times"`
	Counts []int64   `json:"counts"`
	Total  int64     `json:"total"`
}

// eventsHistogram answers the chart of the search page with JSON.
func (s *Server) eventsHistogram(w http.ResponseWriter, r *http.Request) {
	info(r).api = true // errors as JSON too
	if s.opts.Events == nil {
		s.fail(w, r, fault.New(fault.NotFound, "events.no_store_short"))
		return
	}
	in, err := parseSearch(r.URL.Query(), s.now(), s.location(r, s.lang(r)))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	step := histogramStep(in.From, in.To)
	ctx, cancel := s.searchContext(r)
	defer cancel()
	bs, err := s.opts.Events.Histogram(ctx, in.query(0), step)
	if err != nil {
		s.failSearch(w, r, ctx, err)
		return
	}
	out := histogramJSON{From: in.From.UTC(), To: in.To.UTC(), Step: int64(step / time.Second),
		Times: make([]int64, 0, len(bs)), Counts: make([]int64, 0, len(bs))}
	for _, b := range bs {
		out.Times = append(out.Times, b.Start.Unix())
		out.Counts = append(out.Counts, b.Count)
		out.Total += b.Count
	}
	s.writeJSON(w, http.StatusOK, out)
}

// failSearch answers a failed store query of the JSON endpoints: a query
// that ran out of time is a 503 saying so, anything else goes to fail.
func (s *Server) failSearch(w http.ResponseWriter, r *http.Request, ctx context.Context, err error) {
	if !timedOut(ctx, err) {
		s.fail(w, r, err)
		return
	}
	s.writeJSONError(w, r, http.StatusServiceUnavailable, fault.Kind("timeout"), "events.timeout",
		[]any{"seconds", int(s.searchTimeout() / time.Second)}, err)
}

// eventPage is the data of one event's page.
type eventPage struct {
	*Page
	Event eventView
	Back  string
}

// eventDetail shows one event whole: every field and up to 1 MiB of raw
// bytes.
func (s *Server) eventDetail(w http.ResponseWriter, r *http.Request) {
	if s.opts.Events == nil {
		s.fail(w, r, fault.New(fault.NotFound, "events.no_store_short"))
		return
	}
	id, err := event.ParseID(r.PathValue("id"))
	if err != nil {
		s.fail(w, r, fault.New(fault.NotFound, "error.not_found"))
		return
	}
	ctx, cancel := s.searchContext(r)
	defer cancel()
	e, err := s.opts.Events.Get(ctx, "", id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := eventPage{Page: s.page(r, "hunting", "events.event_title")}
	d.Event = viewEvent(&e, d.loc, pageRawBytes, pageValueRunes)
	d.Back = "/events"
	if b := r.URL.Query().Get("back"); strings.HasPrefix(b, "/events") {
		d.Back = localPath(b)
	}
	s.render(w, r, http.StatusOK, "search_event", d)
}

// hunting was the placeholder of the hunting section, whose first page is
// the event search.
func (s *Server) hunting(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/events", http.StatusFound)
}
