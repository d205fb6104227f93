// SPDX-License-Identifier: Apache-2.0

package web

import (
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/koban-csirt/koban/internal/audit"
	"github.com/koban-csirt/koban/internal/auth"
	"github.com/koban-csirt/koban/internal/event"
	"github.com/koban-csirt/koban/internal/eventstore/duckdb"
	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/search"
)

// testEvent builds an event at t with fields given as name, value pairs.
func testEvent(t time.Time, host, source string, kv ...string) event.Event {
	e := event.Event{ID: event.NewID(t.UnixNano()), Time: t.UnixNano(), Received: t.UnixNano(), Host: host, Source: source}
	var raw []string
	for i := 0; i+1 < len(kv); i += 2 {
		e.Add(kv[i], kv[i+1])
		raw = append(raw, kv[i]+"="+kv[i+1])
	}
	e.Raw = []byte(host + " " + strings.Join(raw, " "))
	return e
}

// searchEnv is a web server with a real (DuckDB) event store and an
// analyst signed in.
type searchEnv struct {
	*testEnv
	events  *duckdb.Store
	batches int
	analyst auth.User
	session string
}

func newSearchEnv(t *testing.T, opts ...func(*Options)) *searchEnv {
	t.Helper()
	st, err := duckdb.Open(t.TempDir(), duckdb.Options{Threads: 1, MemoryBytes: 256 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("close the event store: %v", err)
		}
	})
	e := newEnv(t, append([]func(*Options){func(o *Options) { o.Events = st }}, opts...)...)
	u := e.user("ana", auth.RoleAnalyst)
	return &searchEnv{testEnv: e, events: st, analyst: u, session: e.session("ana")}
}

// add stores evs as one batch.
func (e *searchEnv) add(evs ...event.Event) {
	e.t.Helper()
	e.batches++
	if err := e.events.Insert(e.t.Context(), evs, fmt.Sprint(e.batches)); err != nil {
		e.t.Fatalf("Insert: %v", err)
	}
}

func (e *searchEnv) get(path string) (*http.Response, string) {
	e.t.Helper()
	resp := e.do(req{path: path, session: e.session})
	return resp, bodyOf(e.t, resp)
}

func TestEventsPageQueryError(t *testing.T) {
	e := newSearchEnv(t)
	e.add(testEvent(e.clock.now().Add(-time.Minute), "web01", "syslog-tcp", "message", "hello"))
	q := `host:web01 AND (EventID:4625`
	resp, body := e.get("/events?q=" + url.QueryEscape(q))
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("GET /events with %q: status %d, want 400", q, resp.StatusCode)
	}
	_, perr := search.Parse(q)
	msg, args := fault.Public(perr)
	want := html.EscapeString(e.srv.cat.T("en", msg, args...))
	errBox := regexp.MustCompile(`<p class="field-error" id="q-error">([^<]*)</p>`).FindStringSubmatch(body)
	if errBox == nil || errBox[1] != want {
		t.Errorf("query error beside the box: %q, want the parser's message %q", errBox, want)
	}
	if !strings.Contains(body, `aria-invalid="true" `) && !strings.Contains(body, `aria-invalid="true">`) {
		t.Error("the query box is not marked invalid")
	}
	col, _ := columnArg(args)
	if caret := regexp.MustCompile(`(?s)<pre class="caret" aria-hidden="true">[^\n]*\n( *)\^</pre>`).FindStringSubmatch(body); caret == nil || len(caret[1]) != col-1 {
		t.Errorf("caret under the query: %q, want it at column %d", caret, col)
	}
	if strings.Contains(body, `id="events-table"`) {
		t.Error("an invalid query still shows results")
	}
	// htmx only swaps successful answers: the same page with 200.
	if r := e.do(req{path: "/events?q=" + url.QueryEscape(q), session: e.session, header: map[string]string{"HX-Request": "true"}}); r.StatusCode != http.StatusOK {
		t.Errorf("invalid query through htmx: status %d, want 200", r.StatusCode)
	}
}

func TestEventsPaging(t *testing.T) {
	e := newSearchEnv(t)
	now := e.clock.now()
	const n = 2*searchPageSize + 7
	for i := 0; i < n; i++ {
		e.add(testEvent(now.Add(-time.Duration(i+1)*time.Minute), fmt.Sprintf("host%03d", i), "syslog-udp", "message", fmt.Sprintf("line %03d", i)))
	}
	rowRe := regexp.MustCompile(`<details id="ev-([0-9A-Z]{26})"`)
	moreRe := regexp.MustCompile(`href="(/events\?[^"]+)" hx-get="(/events\?[^"]+)"`)
	seen := map[string]bool{}
	var order []string
	path := "/events?range=24h"
	for page := 1; path != ""; page++ {
		resp, body := e.get(path)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("page %d (%s): status %d", page, path, resp.StatusCode)
		}
		rows := rowRe.FindAllStringSubmatch(body, -1)
		want := searchPageSize
		if page == 3 {
			want = n - 2*searchPageSize
		}
		if len(rows) != want {
			t.Fatalf("page %d: %d rows, want %d", page, len(rows), want)
		}
		for _, r := range rows {
			if seen[r[1]] {
				t.Errorf("page %d repeats event %s", page, r[1])
			}
			seen[r[1]] = true
			order = append(order, r[1])
		}
		more := moreRe.FindStringSubmatch(body)
		if page == 3 {
			if more != nil {
				t.Errorf("the last page links to older events: %s", more[1])
			}
			break
		}
		if more == nil {
			t.Fatalf("page %d: no link to older events", page)
		}
		// The rows part that htmx fetches holds the same rows as the
		// plain page the link opens, and no layout.
		_, part := e.get(html.UnescapeString(more[2]))
		_, plain := e.get(html.UnescapeString(more[1]))
		if strings.Contains(part, "<html") || !strings.Contains(plain, "<html") {
			t.Errorf("page %d: the part has a layout or the plain link has none", page)
		}
		if a, b := rowRe.FindAllString(part, -1), rowRe.FindAllString(plain, -1); strings.Join(a, "") != strings.Join(b, "") {
			t.Errorf("page %d: the htmx part and the plain page show different rows", page)
		}
		path = html.UnescapeString(more[1])
	}
	if len(seen) != n {
		t.Errorf("paging showed %d distinct events, want %d", len(seen), n)
	}
	// Newest first: ids start with their time.
	for i := 1; i < len(order); i++ {
		if order[i-1] < order[i] {
			t.Errorf("row %d (%s) is newer than row %d (%s)", i, order[i], i-1, order[i-1])
			break
		}
	}
	// Events arriving meanwhile do not shift the older pages.
	_, first := e.get("/events?range=24h")
	more := moreRe.FindStringSubmatch(first)
	e.add(testEvent(now.Add(-30*time.Second), "late", "syslog-udp", "message", "late"))
	e.clock.advance(time.Minute)
	_, second := e.get(html.UnescapeString(more[1]))
	if got := rowRe.FindStringSubmatch(second); got == nil || got[1] != order[searchPageSize] {
		t.Errorf("after new events the older page starts with %v, want %s", got, order[searchPageSize])
	}
}

func TestEventsHistogramJSON(t *testing.T) {
	e := newSearchEnv(t)
	now := e.clock.now()
	e.add(
		testEvent(now.Add(-50*time.Minute), "a", "s", "EventID", "4625"),
		testEvent(now.Add(-50*time.Minute+time.Second), "a", "s", "EventID", "4625"),
		testEvent(now.Add(-10*time.Minute), "b", "s", "EventID", "4624"),
		testEvent(now.Add(-2*time.Hour), "c", "s", "EventID", "4625"), // outside the hour
	)
	resp, body := e.get("/events/histogram?range=1h&q=EventID:4625")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("histogram: %d %s\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	var h histogramJSON
	if err := json.Unmarshal([]byte(body), &h); err != nil {
		t.Fatalf("histogram JSON: %v\n%s", err, body)
	}
	step := histogramStep(now.Add(-time.Hour), now)
	if h.Step != int64(step/time.Second) || len(h.Times) != len(h.Counts) || int64(len(h.Times)) != int64(time.Hour/step) {
		t.Errorf("histogram: step %d s, %d times, %d counts; want step %s and %d buckets", h.Step, len(h.Times), len(h.Counts), step, time.Hour/step)
	}
	if h.Total != 2 || !h.From.Equal(now.Add(-time.Hour)) || !h.To.Equal(now) {
		t.Errorf("histogram: total %d over [%s, %s), want 2 over the last hour", h.Total, h.From, h.To)
	}
	want := now.Add(-50 * time.Minute).Unix()
	for i, ts := range h.Times {
		if h.Counts[i] != 0 && (ts > want || ts+h.Step <= want || h.Counts[i] != 2) {
			t.Errorf("bucket at %d has %d events, want the two at %d only", ts, h.Counts[i], want)
		}
	}
	// A bad query answers JSON naming the field.
	resp, body = e.get("/events/histogram?q=" + url.QueryEscape(`(`))
	var apiErr apiError
	if resp.StatusCode != http.StatusBadRequest || json.Unmarshal([]byte(body), &apiErr) != nil || apiErr.Error.Field != "q" || apiErr.Error.Message == "" {
		t.Errorf("histogram with a bad query: %d %s, want 400 JSON about q", resp.StatusCode, body)
	}
}

func TestEventsSidebarAndRows(t *testing.T) {
	e := newSearchEnv(t)
	now := e.clock.now()
	for i := 0; i < 6; i++ {
		host := "web01"
		if i%3 == 0 {
			host = "db01"
		}
		ev := testEvent(now.Add(-time.Duration(i+1)*time.Minute), host, "winlogbeat", "EventID", "4625", "TargetUserName", `adm"in`)
		ev.Log = event.LogSource{Product: "windows", Service: "security"}
		e.add(ev)
	}
	_, body := e.get("/events?range=1h")
	if !strings.Contains(body, `id="fields"`) {
		t.Fatalf("no fields sidebar:\n%s", body)
	}
	for _, f := range []string{"host", "source", "product", "service", "EventID", "TargetUserName"} {
		if !strings.Contains(body, "<h3><code>"+f+"</code></h3>") {
			t.Errorf("sidebar lacks field %s", f)
		}
	}
	if strings.Contains(body, "<h3><code>category</code></h3>") {
		t.Error("sidebar shows category, which no event has")
	}
	// host: web01 4, db01 2, most common first.
	hosts := regexp.MustCompile(`<a href="(/events\?[^"]+)">(web01|db01)</a> <span class="count">(\d+)</span>`).FindAllStringSubmatch(body, -1)
	if len(hosts) != 2 || hosts[0][2] != "web01" || hosts[0][3] != "4" || hosts[1][3] != "2" {
		t.Fatalf("host top values: %v, want web01 4 then db01 2", hosts)
	}
	link, err := url.Parse(html.UnescapeString(hosts[1][1]))
	if err != nil {
		t.Fatal(err)
	}
	if got := link.Query().Get("q"); got != `host:"db01"` || link.Query().Get("range") != "1h" {
		t.Errorf("top value link: q=%q range=%q, want host:\"db01\" and the same range", got, link.Query().Get("range"))
	}
	_, narrowed := e.get(link.String())
	if n := strings.Count(narrowed, `<details id="ev-`); n != 2 {
		t.Errorf("after choosing db01: %d rows, want 2", n)
	}
	// A value with a quote round-trips through the query language.
	users := regexp.MustCompile(`<a href="(/events\?[^"]+)">adm&#34;in</a>`).FindStringSubmatch(narrowed)
	if users == nil {
		t.Fatalf("no top value for the user name with a quote:\n%s", narrowed)
	}
	resp, quoted := e.get(html.UnescapeString(users[1]))
	if resp.StatusCode != http.StatusOK || strings.Count(quoted, `<details id="ev-`) != 2 {
		t.Errorf("narrowing by a quoted value: %d, %d rows, want 200 and 2", resp.StatusCode, strings.Count(quoted, `<details id="ev-`))
	}
	// Rows: time in the viewer's zone (UTC for English), log source, count.
	if !strings.Contains(body, "2026-11-22 09:59:00.000") || !strings.Contains(body, "<td>windows/security</td>") {
		t.Errorf("rows lack the event time in UTC or the log source:\n%s", body)
	}
	if !strings.Contains(body, "6 events from") {
		t.Error("no count of matching events")
	}
	if !strings.Contains(body, `data-src="/events/histogram?`) {
		t.Error("no histogram on the page")
	}
}

func TestEventsEmptyStates(t *testing.T) {
	t.Run("no store", func(t *testing.T) {
		e := newEnv(t)
		e.user("ana", auth.RoleAnalyst)
		body := bodyOf(t, e.do(req{path: "/events", session: e.session("ana")}))
		if !strings.Contains(body, `id="no-store"`) || !strings.Contains(body, "runs without an event store") {
			t.Errorf("without a store the page does not say so:\n%s", body)
		}
		resp := e.do(req{path: "/events/histogram", session: e.session("ana")})
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("histogram without a store: %d, want 404", resp.StatusCode)
		}
	})
	t.Run("nothing received", func(t *testing.T) {
		e := newSearchEnv(t)
		_, body := e.get("/events?q=anything")
		if !strings.Contains(body, `id="none-yet"`) || !strings.Contains(body, "shipping-logs.md") || strings.Contains(body, `id="no-match"`) {
			t.Errorf("an empty store does not explain how to send logs:\n%s", body)
		}
	})
	t.Run("no match", func(t *testing.T) {
		e := newSearchEnv(t)
		e.add(testEvent(e.clock.now().Add(-time.Minute), "web01", "s", "message", "hello"))
		_, body := e.get("/events?q=host:nowhere")
		if !strings.Contains(body, `id="no-match"`) || strings.Contains(body, `id="none-yet"`) {
			t.Errorf("a query without matches does not say so:\n%s", body)
		}
		// An older event outside the range: still "no match", not "none yet".
		_, body = e.get("/events?range=15m&q=host:web01")
		if !strings.Contains(body, `id="events-table"`) {
			t.Errorf("the event a minute old is not found in the last 15 minutes")
		}
		e.clock.advance(30 * time.Minute)
		_, body = e.get("/events?range=15m")
		if !strings.Contains(body, `id="no-match"`) {
			t.Errorf("events outside the range: want the no-match notice")
		}
	})
}

func TestEventsTimeout(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.Events = slowStore{}; o.SearchTimeout = 20 * time.Millisecond })
	e.user("ana", auth.RoleAnalyst)
	se := &searchEnv{testEnv: e, session: e.session("ana")}
	resp, body := se.get("/events?q=host:web01")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `id="timed-out"`) || !strings.Contains(body, "longer than 0 seconds") {
		t.Errorf("a slow store: %d, want the page saying the search ran out of time:\n%s", resp.StatusCode, body)
	}
	resp, body = se.get("/events/histogram?range=1h")
	var apiErr apiError
	if resp.StatusCode != http.StatusServiceUnavailable || json.Unmarshal([]byte(body), &apiErr) != nil || apiErr.Error.Code != "timeout" {
		t.Errorf("a slow histogram: %d %s, want 503 timeout", resp.StatusCode, body)
	}
}

func TestEventsShowRawSafely(t *testing.T) {
	e := newSearchEnv(t)
	now := e.clock.now()
	ev := testEvent(now.Add(-time.Minute), "<b>host</b>", "syslog-udp", "message", "evil \u202eexe.txt <script>alert(1)</script>")
	ev.Raw = []byte("bin\x00\xff\xfe <script>x</script> \u202e end")
	sjis := testEvent(now.Add(-2*time.Minute), "jp01", "syslog-udp", "message", "x")
	sjis.Raw = []byte{0x83, 0x65, 0x83, 0x58, 0x83, 0x67} // テスト in Shift_JIS
	sjis.Flags = event.FlagInvalidText
	e.add(ev, sjis)
	_, body := e.get("/events")
	for _, bad := range []string{"<script>", "<b>host", "\u202e", "\x00", "\xff"} {
		if strings.Contains(body, bad) {
			t.Errorf("the page contains %q unescaped", bad)
		}
	}
	for _, want := range []string{`bin\x00\xFF\xFE &lt;script&gt;x&lt;/script&gt; \u{202E} end`, `evil \u{202E}exe.txt`, "テスト", "flagged", "invalid_text"} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	// The event's own page shows it whole.
	resp, page := e.get("/events/" + ev.ID.String())
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `bin\x00\xFF\xFE`) || strings.Contains(page, "<script>x") {
		t.Errorf("event page: %d\n%s", resp.StatusCode, page)
	}
	for _, p := range []string{"/events/" + event.NewID(1).String(), "/events/not-an-id"} {
		if resp, _ := e.get(p); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, resp.StatusCode)
		}
	}
}

func TestEventsLongRawIsCut(t *testing.T) {
	e := newSearchEnv(t)
	ev := testEvent(e.clock.now().Add(-time.Minute), "h", "s", "message", strings.Repeat("é", 3000))
	ev.Raw = []byte(strings.Repeat("日本語", 2000)) // 18,000 bytes
	e.add(ev)
	_, body := e.get("/events")
	if !strings.Contains(body, "The first 4,096 of 18,000 bytes are shown.") {
		t.Error("a long raw event is not cut with a note")
	}
	if strings.Contains(body, `\x`) {
		t.Error("cutting inside a character escaped its first bytes")
	}
	_, page := e.get("/events/" + ev.ID.String())
	raw := regexp.MustCompile(`<pre class="raw">([^<]*)</pre>`).FindStringSubmatch(page)
	if raw == nil {
		t.Fatal("the event page has no raw event")
	}
	if n := strings.Count(raw[1], "日本語"); n != 2000 {
		t.Errorf("the event page shows %d of the 2000 repeats of the raw event", n)
	}
}

func TestEventsJapanese(t *testing.T) {
	e := newSearchEnv(t)
	e.add(testEvent(e.clock.now().Add(-time.Minute), "web01", "s", "message", "hello"))
	if err := e.auth.SetPreferences(t.Context(), audit.System, e.analyst.ID, "ja", ""); err != nil {
		t.Fatal(err)
	}
	_, body := e.get("/events")
	for _, want := range []string{"イベント検索", "検索条件の書き方", "直近 24 時間", "日時 (Asia/Tokyo)", "2026-11-22 18:59:00.000", "イベント 1 件"} {
		if !strings.Contains(body, want) {
			t.Errorf("Japanese search page lacks %q", want)
		}
	}
}

func TestAPIEvents(t *testing.T) {
	e := newSearchEnv(t)
	now := e.clock.now()
	for i := 0; i < 5; i++ {
		e.add(testEvent(now.Add(-time.Duration(i+1)*time.Minute), "web01", "s", "EventID", "4625"))
	}
	bin := testEvent(now.Add(-10*time.Minute), "web02", "s", "EventID", "1")
	bin.Raw = []byte{0xff, 0x00, 'a'}
	e.add(bin)
	admin := e.user("root", auth.RoleAdmin)
	tok := e.token(admin, auth.RoleAnalyst)
	type apiPage struct {
		Events []apiEvent `json:"events"`
		Next   string     `json:"next"`
	}
	get := func(path string) (int, apiPage, string) {
		resp := e.do(req{path: path, token: tok})
		body := bodyOf(t, resp)
		var p apiPage
		if resp.StatusCode == http.StatusOK {
			if err := json.Unmarshal([]byte(body), &p); err != nil {
				t.Fatalf("GET %s: %v\n%s", path, err, body)
			}
		}
		return resp.StatusCode, p, body
	}
	var ids []string
	path := "/api/v1/events?q=EventID:4625&limit=2"
	for path != "" {
		st, p, body := get(path)
		if st != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, st, body)
		}
		for _, ev := range p.Events {
			ids = append(ids, ev.ID)
			if ev.Fields["EventID"] != "4625" || ev.Host != "web01" {
				t.Errorf("API event %+v does not match the query", ev)
			}
		}
		path = ""
		if p.Next != "" {
			path = "/api/v1/events?q=EventID:4625&limit=2&after=" + url.QueryEscape(p.Next)
		}
	}
	if len(ids) != 5 {
		t.Errorf("paging the API gave %d events, want 5", len(ids))
	}
	_, p, _ := get("/api/v1/events?q=host:web02")
	if len(p.Events) != 1 || p.Events[0].RawEncoding != "base64" || p.Events[0].Raw != "/wBh" {
		t.Errorf("binary raw event through the API: %+v", p.Events)
	}
	for _, bad := range []string{"?limit=0", "?limit=1001", "?limit=x", "?q=%28", "?from=nope"} {
		if st, _, body := get("/api/v1/events" + bad); st != http.StatusBadRequest || !strings.Contains(body, `"code": "invalid"`) {
			t.Errorf("GET /api/v1/events%s: %d %s, want 400", bad, st, body)
		}
	}
}

func TestHuntingLeadsToSearch(t *testing.T) {
	e := newSearchEnv(t)
	resp, _ := e.get("/hunting")
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/events" {
		t.Errorf("GET /hunting: %d %s, want a redirect to /events", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, body := e.get("/events")
	if !strings.Contains(body, `<a href="/events" id="nav-hunting" aria-current="page">`) {
		t.Error("the hunting entry of the navigation does not lead to the search or is not marked current")
	}
}

func FuzzSafeText(f *testing.F) {
	for _, s := range []string{"plain", "a\x00b", "\xff\xfe", "\u202eabc", "日本語", "\x1b[31mred", "tab\tnew\nline", "\u200b\ufeff"} {
		f.Add(s, 5)
	}
	f.Fuzz(func(t *testing.T, s string, max int) {
		if max < 0 || max > 1<<16 {
			return
		}
		out, _ := safeText(s, max)
		if !utf8ValidNoHidden(out) {
			t.Fatalf("safeText(%q, %d) = %q: invalid or hidden characters remain", s, max, out)
		}
		r := viewRaw([]byte(s), max)
		if !utf8ValidNoHidden(r.Text) || (r.ShiftJIS != "" && !utf8ValidNoHidden(r.ShiftJIS)) {
			t.Fatalf("viewRaw(%q, %d) = %+v: invalid or hidden characters remain", s, max, r)
		}
		if l := safeLine(s, max); strings.ContainsAny(l, "\n\r\t") {
			t.Fatalf("safeLine(%q) = %q keeps a line break", s, l)
		}
	})
}

// utf8ValidNoHidden reports whether s is valid UTF-8 without control or
// invisible formatting characters other than tab and line breaks.
func utf8ValidNoHidden(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unsafeRune(r) && r != '\n' && r != '\t' && r != '\r' {
			return false
		}
	}
	return true
}

// BenchmarkEventsPage measures the search page (one page of events, the
// count, the sidebar's top values) and the histogram over a day of events
// in the DuckDB store. KOBAN_BENCH_EVENTS sets how many (default 1,000,000).
// benchServer is a web server over st with an analyst signed in, for
// benchmarks (the test helpers need a *testing.T).
