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

// minSearchTime and maxSearchTime bound the times a search may name.
var (
	minSearchTime = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	maxSearchTime = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
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
		bad := map[string]bool{}
		for _, f := range []struct {
			name string
			t    *time.Time
		}{{"from", &in.From}, {"to", &in.To}} {
			text := strings.TrimSpace(v.Get(f.name))
			if text == "" {
				if f.name == "from" {
					errs = append(errs, fault.InvalidField("from", "events.from_missing"))
					bad["from"] = true
				}
				continue
			}
			t, err := parseInputTime(text, loc)
			switch {
			case err != nil:
				errs = append(errs, fault.InvalidField(f.name, "events.bad_time", "value", text))
				bad[f.name] = true
			case t.Before(minSearchTime) || t.After(maxSearchTime):
				// Event times are Unix nanoseconds: keep far inside their span.
				errs = append(errs, fault.InvalidField(f.name, "events.time_out_of_range"))
				bad[f.name] = true
			default:
				*f.t = t
			}
		}
		if !bad["from"] && !bad["to"] && !in.From.Before(in.To) {
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

// parseQuery reads the query box.
func parseQuery(q string) (search.Expr, error) { return search.Parse(q) }
