// SPDX-License-Identifier: Apache-2.0

package web

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/koban-csirt/koban/internal/event"
	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/search"
)

func TestParseSearch(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		query      string
		from, to   time.Time
		rng        string
		errFields  []string
		wantCursor bool
	}{
		{name: "default", query: "", rng: "24h", from: now.Add(-24 * time.Hour), to: now},
		{name: "preset", query: "range=15m", rng: "15m", from: now.Add(-15 * time.Minute), to: now},
		{name: "preset ignores from", query: "range=1h&from=2020-01-01T00:00", rng: "1h", from: now.Add(-time.Hour), to: now},
		{name: "custom in zone", query: "range=custom&from=2026-11-22T09:00&to=2026-11-22T18:30:15", rng: "custom",
			from: time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC), to: time.Date(2026, 11, 22, 9, 30, 15, 0, time.UTC)},
		{name: "from alone implies custom", query: "from=2026-11-22T00:00:00Z", rng: "custom",
			from: time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC), to: now},
		{name: "RFC 3339 with fraction", query: "range=custom&from=2026-11-21T10:00:00.5Z&to=2026-11-22T01:00:00%2B09:00", rng: "custom",
			from: time.Date(2026, 11, 21, 10, 0, 0, 5e8, time.UTC), to: time.Date(2026, 11, 21, 16, 0, 0, 0, time.UTC)},
		{name: "cursor", query: "after=1763805600000000000." + event.NewID(1).String(), rng: "24h", from: now.Add(-24 * time.Hour), to: now, wantCursor: true},
		{name: "custom without from", query: "range=custom&to=2026-11-22T00:00", errFields: []string{"from"}},
		{name: "bad times", query: "range=custom&from=yesterday&to=2026-13-01", errFields: []string{"from", "to"}},
		{name: "reversed", query: "range=custom&from=2026-11-22T10:00&to=2026-11-22T09:00", errFields: []string{"to"}},
		{name: "empty range", query: "range=custom&from=2026-11-22T10:00&to=2026-11-22T10:00", errFields: []string{"to"}},
		{name: "before 1970", query: "range=custom&from=0001-01-01T00:00&to=2026-11-22T00:00", errFields: []string{"from"}},
		{name: "far future", query: "range=custom&from=2026-11-22T00:00&to=9999-12-31T23:59:59Z", errFields: []string{"to"}},
		{name: "unknown preset", query: "range=99y", errFields: []string{"range"}},
		{name: "bad cursor", query: "after=12.nope", errFields: []string{"after"}},
		{name: "bad query", query: "q=" + url.QueryEscape(`host:"web01`), errFields: []string{"q"}},
		{name: "everything wrong", query: "range=custom&from=x&after=y&q=(", errFields: []string{"from", "after", "q"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := url.ParseQuery(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			in, err := parseSearch(v, now, tokyo)
			var got []string
			for _, f := range fault.Faults(err) {
				got = append(got, f.Field)
				if f.Kind != fault.Invalid {
					t.Errorf("parseSearch(%q): fault %v is %s, want invalid", tt.query, f, f.Kind)
				}
			}
			if strings.Join(got, ",") != strings.Join(tt.errFields, ",") {
				t.Fatalf("parseSearch(%q): faults on %v (%v), want on %v", tt.query, got, err, tt.errFields)
			}
			if err != nil {
				return
			}
			if in.Range != tt.rng || !in.From.Equal(tt.from) || !in.To.Equal(tt.to) {
				t.Errorf("parseSearch(%q) = range %s [%s, %s), want %s [%s, %s)", tt.query, in.Range, in.From, in.To, tt.rng, tt.from, tt.to)
			}
			if (in.After != nil) != tt.wantCursor {
				t.Errorf("parseSearch(%q): cursor %v, want one: %v", tt.query, in.After, tt.wantCursor)
			}
		})
	}
}

func TestCursorRoundTrip(t *testing.T) {
	c := search.Cursor{Time: -5, ID: event.NewID(42)}
	got, err := parseCursor(formatCursor(c))
	if err != nil || got != c {
		t.Errorf("parseCursor(formatCursor(%v)) = %v, %v", c, got, err)
	}
	for _, bad := range []string{"", ".", "1.", "x." + c.ID.String(), "1." + c.ID.String() + "0", "1_" + c.ID.String()} {
		if _, err := parseCursor(bad); err == nil {
			t.Errorf("parseCursor(%q): no error", bad)
		}
	}
}

func TestHistogramStep(t *testing.T) {
	for _, p := range rangePresets {
		step := histogramStep(time.Time{}, time.Time{}.Add(p.D))
		n := p.D / step
		if n < 60 || n > 120 {
			t.Errorf("histogramStep(%s) = %s: %d buckets, want 60 to 120", p.Key, step, n)
		}
	}
	for _, span := range []time.Duration{time.Second, 90 * time.Second, 3 * time.Hour, 400 * 24 * time.Hour, 5000 * 24 * time.Hour} {
		step := histogramStep(time.Time{}, time.Time{}.Add(span))
		if step <= 0 || (span+step-1)/step > 120 {
			t.Errorf("histogramStep(%s) = %s: more than 120 buckets", span, step)
		}
	}
}

func TestAddTerm(t *testing.T) {
	tests := []struct{ q, field, value, want string }{
		{"", "host", "web01", `host:"web01"`},
		{"EventID:1", "host", "web01", `EventID:1 AND host:"web01"`},
		{"a OR b", "host", `x"y\z*?`, `(a OR b) AND host:"x\"y\\z\*\?"`},
	}
	for _, tt := range tests {
		x, err := search.Parse(tt.q)
		if err != nil {
			t.Fatal(err)
		}
		got := addTerm(searchInput{Q: tt.q, expr: x}, tt.field, tt.value)
		if got != tt.want {
			t.Errorf("addTerm(%q, %s, %q) = %s, want %s", tt.q, tt.field, tt.value, got, tt.want)
		}
		// The term means exactly the value.
		y, err := search.Parse(got)
		if err != nil {
			t.Fatalf("Parse(%s): %v", got, err)
		}
		var pred *search.Pred
		var find func(search.Expr)
		find = func(x search.Expr) {
			switch x := x.(type) {
			case search.And:
				for _, p := range x {
					find(p)
				}
			case search.Pred:
				if x.Field == tt.field {
					pred = &x
				}
			}
		}
		find(y)
		if pred == nil || pred.Op != search.Eq || pred.Value != tt.value {
			t.Errorf("Parse(%s): the added term is %+v, want %s equal to %q", got, pred, tt.field, tt.value)
		}
	}
}

func FuzzParseSearch(f *testing.F) {
	for _, s := range []string{"", "range=custom&from=2026-11-22T09:00&to=2026-11-22T18:30:15", "q=host%3Aweb01+AND+%28EventID%3A1",
		"after=1.0000000000000000000000000&range=7d", "from=2026-11-22T00:00:00Z&to=9999-12-31T23:59:59Z", "q=%22%5C", "range=custom&from=0001-01-01"} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		in, err := parseSearch(v, now, time.UTC)
		if err != nil {
			for _, ft := range fault.Faults(err) {
				if ft.Kind != fault.Invalid || ft.Field == "" {
					t.Fatalf("parseSearch(%q): fault %v without a field or not invalid", raw, ft)
				}
			}
			return
		}
		if !in.From.Before(in.To) {
			t.Fatalf("parseSearch(%q): empty range [%s, %s)", raw, in.From, in.To)
		}
		if in.From.Before(minSearchTime) || in.To.After(maxSearchTime) {
			t.Fatalf("parseSearch(%q): [%s, %s) reaches beyond the times events can have", raw, in.From, in.To)
		}
		// Links built from the input read back the same search.
		back, err := parseSearch(in.values(), now, time.UTC)
		if err != nil || back.Q != in.Q || !back.From.Equal(in.From) || !back.To.Equal(in.To) {
			t.Fatalf("parseSearch(%q) → %v → %+v, %v; want the same search", raw, in.values(), back, err)
		}
		_ = histogramStep(in.From, in.To)
	})
}
