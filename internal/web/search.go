// SPDX-License-Identifier: Apache-2.0

package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/koban-csirt/koban/internal/event"
	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/search"
)

const (
	// searchPageSize is how many events one page of the search table shows.
	searchPageSize = 50
	// sidebarValues is how many top values each field of the sidebar lists.
	sidebarValues = 5
	// sidebarMax bounds the fields in the sidebar: each is one query.
	sidebarMax = 8
	// defaultSearchTimeout bounds the queries of one request.
	defaultSearchTimeout = 10 * time.Second
	// defaultRange is the time range of a search that names none.
	defaultRange = "24h"
	// customRange is the range value of an explicit from/to.
	customRange = "custom"
	// inputLayout is how datetime-local inputs send and show times.
	inputLayout = "2006-01-02T15:04:05"
)

// rangePresets are the relative time ranges the search offers, in order.
var rangePresets = []struct {
	Key string
	D   time.Duration
}{
	{"15m", 15 * time.Minute},
	{"1h", time.Hour},
	{"24h", 24 * time.Hour},
	{"7d", 7 * 24 * time.Hour},
	{"30d", 30 * 24 * time.Hour},
}

// searchInput is a search as the query string asks for it, resolved to
// absolute times.
type searchInput struct {
	Q        string // the query text as typed
	Range    string // a preset key or "custom"
	From, To time.Time
	After    *search.Cursor
	expr     search.Expr
}

// parseSearch reads q, range, from, to and after from the query string. from
// and to are datetime-local values in loc or RFC 3339 times; they count only
// for the custom range, which an explicit from or to without a range
// implies. Every problem is reported, each as a fault naming its field.
func parseSearch(v url.Values, now time.Time, loc *time.Location) (searchInput, error) {
	in := searchInput{Q: strings.TrimSpace(v.Get("q")), Range: v.Get("range")}
	var errs fault.List
	if in.Range == "" {
		in.Range = defaultRange
		if v.Get("from") != "" || v.Get("to") != "" {
			in.Range = customRange
		}
	}
	if in.Range == customRange {
		in.To = now
		if t := strings.TrimSpace(v.Get("to")); t != "" {
			to, err := parseInputTime(t, loc)
			if err != nil {
				errs = append(errs, fault.InvalidField("to", "events.bad_time", "value", t))
			}
			in.To = to
		}
		switch f := strings.TrimSpace(v.Get("from")); {
		case f == "":
			errs = append(errs, fault.InvalidField("from", "events.from_missing"))
		default:
			from, err := parseInputTime(f, loc)
			if err != nil {
				errs = append(errs, fault.InvalidField("from", "events.bad_time", "value", f))
			}
			in.From = from
		}
		if len(errs) == 0 && !in.From.Before(in.To) {
			errs = append(errs, fault.InvalidField("to", "events.range_order"))
		}
	} else {
		d, ok := presetDuration(in.Range)
		if !ok {
			errs = append(errs, fault.InvalidField("range", "events.bad_range"))
			in.Range, d = defaultRange, 24*time.Hour
		}
		in.From, in.To = now.Add(-d), now
	}
	if a := v.Get("after"); a != "" {
		c, err := parseCursor(a)
		if err != nil {
			errs = append(errs, fault.InvalidField("after", "events.bad_cursor"))
		} else {
			in.After = &c
		}
	}
	if in.Q != "" {
		x, err := parseQuery(in.Q)
		if err != nil {
			errs = append(errs, queryFault(err))
		}
		in.expr = x
	}
	return in, errs.Err()
}

// queryFault is the parser's error as a fault about the query box, keeping
// its message (which says where the problem is).
func queryFault(err error) *fault.Error {
	var f *fault.Error
	if errors.As(err, &f) && f.Kind != fault.Internal {
		return &fault.Error{Kind: f.Kind, Msg: f.Msg, Args: f.Args, Field: "q", Err: err}
	}
	return &fault.Error{Kind: fault.Invalid, Msg: "events.bad_query", Field: "q", Err: err}
}

func presetDuration(key string) (time.Duration, bool) {
	for _, p := range rangePresets {
		if p.Key == key {
			return p.D, true
		}
	}
	return 0, false
}

// parseInputTime reads a datetime-local value (with or without seconds) in
// loc, or an RFC 3339 time.
func parseInputTime(s string, loc *time.Location) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{inputLayout, "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errors.New("not a time")
}

// query is the search's store query.
func (in searchInput) query(limit int) search.Query {
	return search.Query{From: in.From, To: in.To, Where: in.expr, Limit: limit, After: in.After}
}

// values is in as query parameters: the same range kind, so that a relative
// range stays relative.
func (in searchInput) values() url.Values {
	v := url.Values{}
	if in.Q != "" {
		v.Set("q", in.Q)
	}
	v.Set("range", in.Range)
	if in.Range == customRange {
		in.absolute(v)
	}
	return v
}

// absolute sets from and to as RFC 3339 times: links that must show the
// same events later (older pages, the histogram) use them.
func (in searchInput) absolute(v url.Values) {
	v.Set("range", customRange)
	v.Set("from", in.From.UTC().Format(time.RFC3339Nano))
	v.Set("to", in.To.UTC().Format(time.RFC3339Nano))
}

// formatCursor writes a cursor as "<unix ns>.<event id>".
func formatCursor(c search.Cursor) string {
	return strconv.FormatInt(c.Time, 10) + "." + c.ID.String()
}

func parseCursor(s string) (search.Cursor, error) {
	ns, id, ok := strings.Cut(s, ".")
	if !ok {
		return search.Cursor{}, errors.New("cursor: no separator")
	}
	t, err := strconv.ParseInt(ns, 10, 64)
	if err != nil {
		return search.Cursor{}, err
	}
	eid, err := event.ParseID(id)
	if err != nil {
		return search.Cursor{}, err
	}
	return search.Cursor{Time: t, ID: eid}, nil
}

// histogramStep picks a bucket width for [from, to): a round step giving
// at most 120 buckets, and 60 or more where a round step allows.
func histogramStep(from, to time.Time) time.Duration {
	span := to.Sub(from)
	for _, s := range histogramSteps {
		if span/s <= 120 {
			return s
		}
	}
	// Longer than 120 weeks: whole days.
	days := (span/120 + 24*time.Hour - 1) / (24 * time.Hour)
	return days * 24 * time.Hour
}

var histogramSteps = []time.Duration{
	time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second,
	time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour,
	24 * time.Hour, 2 * 24 * time.Hour, 7 * 24 * time.Hour,
}

// searchContext bounds the store queries of one request.
func (s *Server) searchContext(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), s.searchTimeout())
}

func (s *Server) searchTimeout() time.Duration {
	if s.opts.SearchTimeout > 0 {
		return s.opts.SearchTimeout
	}
	return defaultSearchTimeout
}

// timedOut reports whether err came from ctx's deadline passing, however
// the store wrapped it.
func timedOut(ctx context.Context, err error) bool {
	return err != nil && (errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded))
}

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

// addTerm narrows the search's query to field:"value".
func addTerm(in searchInput, field, value string) string {
	term := field + ":" + quoteValue(value)
	switch {
	case in.Q == "":
		return term
	case isOr(in.expr):
		return "(" + in.Q + ") AND " + term
	}
	return in.Q + " AND " + term
}

func isOr(x search.Expr) bool {
	_, ok := x.(search.Or)
	return ok
}

// quoteValue writes v as a quoted phrase of the query language: a
// backslash before each quote and backslash, and wildcards escaped so that
// they match themselves.
func quoteValue(v string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range v {
		if r == '"' || r == '\\' || r == '*' || r == '?' {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteByte('"')
	return b.String()
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

// columnArg finds the 1-based column argument of a parse fault.
func columnArg(args []any) (int, bool) {
	for i := 0; i+1 < len(args); i += 2 {
		if k, _ := args[i].(string); k == "col" || k == "column" {
			switch n := args[i+1].(type) {
			case int:
				return n, true
			case int64:
				return int(n), true
			}
		}
	}
	return 0, false
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

// parseQuery reads the query box.
func parseQuery(q string) (search.Expr, error) { return search.Parse(q) }
