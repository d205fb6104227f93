// SPDX-License-Identifier: Apache-2.0

package httpin

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/koban-csirt/koban/internal/event"
	"github.com/koban-csirt/koban/internal/intake"
)

// memSink keeps what it is given; err, when set, is returned instead.
type memSink struct {
	mu     sync.Mutex
	events []event.Event
	calls  int
	err    func(call int) error // nil: accept
	block  chan struct{}        // when set, Append waits for it to close
}

func (s *memSink) Append(ctx context.Context, evs []event.Event) error {
	if s.block != nil {
		select {
		case <-s.block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.err != nil {
		if err := s.err(s.calls); err != nil {
			return err
		}
	}
	s.events = append(s.events, evs...)
	return nil
}

func (s *memSink) all() []event.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.events)
}

var fixedNow = time.Date(2024, 5, 1, 12, 0, 30, 0, time.UTC)

const (
	tokenA = "tok-A-0123456789"
	tokenB = "id-b:key-b-secret"
)

type env struct {
	srv  *httptest.Server
	sink *memSink
	reg  *intake.Registry
}

// newEnv serves the intake with two sources: "winlogbeat" (token tokenA, any
// address) and "fluentbit" (token tokenB, only from 10.0.0.0/8, so never
// from the test's loopback address).
func newEnv(t *testing.T, tweak func(*Config)) *env {
	t.Helper()
	e := &env{sink: &memSink{}, reg: intake.NewRegistry()}
	c := Config{
		Sources: []Source{
			{Name: "winlogbeat", Token: tokenA},
			{Name: "fluentbit", Token: tokenB, Allow: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}},
			{Name: "no-token"},
		},
		Sink:     e.sink,
		Registry: e.reg,
		Now:      func() time.Time { return fixedNow },
	}
	if tweak != nil {
		tweak(&c)
	}
	e.srv = httptest.NewServer(New(c))
	t.Cleanup(e.srv.Close)
	return e
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request; header values "" are left out.
func (e *env) do(t *testing.T, method, path string, body []byte, header map[string]string) reply {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{resp.StatusCode, resp.Header, b}
}

func bearer(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

func apiKey(s string) string { return "ApiKey " + base64.StdEncoding.EncodeToString([]byte(s)) }

func TestAuthMatrix(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	routes := []struct{ method, path, body string }{
		{"GET", "/", ""},
		{"POST", "/ingest/v1/events", `{"m":1}`},
		{"POST", "/_bulk", "{\"index\":{\"_index\":\"x\"}}\n{\"m\":1}\n"},
		{"GET", "/_license", ""},
	}
	cases := []struct {
		name   string
		auth   string
		status int
	}{
		{"no credentials", "", 401},
		{"empty bearer", "Bearer ", 401},
		{"wrong bearer", "Bearer nope", 401},
		{"unknown scheme", "Token " + tokenA, 401},
		{"bearer", "Bearer " + tokenA, 200},
		{"bearer scheme in lower case", "bearer " + tokenA, 200},
		{"apikey id:key, key is the token", apiKey("someid:" + tokenA), 200},
		{"apikey whole decoded is the token", apiKey(tokenB), 403}, // right token, wrong address
		{"apikey as given is the token", "ApiKey " + tokenA, 200},
		{"apikey wrong", apiKey("id:wrong"), 401},
		{"basic any user", basic("elastic", tokenA), 200},
		{"basic source name", basic("winlogbeat", tokenA), 200},
		{"basic token as user", basic(tokenA, ""), 401},
		{"basic wrong password", basic("winlogbeat", "x"), 401},
		{"right token, address not allowed", "Bearer " + tokenB, 403},
	}
	for _, c := range cases {
		for _, rt := range routes {
			r := e.do(t, rt.method, rt.path, []byte(rt.body), map[string]string{"Authorization": c.auth})
			if r.status != c.status {
				t.Errorf("%s: %s %s = %d %s, want %d", c.name, rt.method, rt.path, r.status, r.body, c.status)
			}
			if got := r.header.Get("X-Elastic-Product"); got != "Elasticsearch" {
				t.Errorf("%s: %s %s: X-Elastic-Product = %q", c.name, rt.method, rt.path, got)
			}
			if c.status == 401 {
				want := []string{`Basic realm="security", charset="UTF-8"`, `Bearer realm="security"`, `ApiKey`}
				if got := r.header.Values("WWW-Authenticate"); !slices.Equal(got, want) {
					t.Errorf("%s: WWW-Authenticate = %q, want %q", c.name, got, want)
				}
			}
			if c.status >= 400 && strings.Contains(string(r.body), tokenA) {
				t.Errorf("%s: the answer repeats the token: %s", c.name, r.body)
			}
		}
	}
	snap := map[string]intake.SourceSnapshot{}
	for _, s := range e.reg.Snapshot() {
		snap[s.Name] = s
	}
	if s := snap[UnknownSource]; s.Rejected == 0 || !strings.HasPrefix(s.LastProblem, "httpin.rejected.") {
		t.Errorf("unknown-sender counter = %+v, want rejections with a reason", s)
	}
	if s := snap["fluentbit"]; s.Rejected != 2*int64(len(routes)) || s.LastProblem != reasonAddress {
		t.Errorf("fluentbit counter = %+v, want %d rejections for its address", s, 2*len(routes))
	}
}

func TestNoSourcesRefusesAll(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.Sources = nil })
	for _, p := range []string{"/", "/_bulk", "/ingest/v1/events"} {
		if r := e.do(t, "GET", p, nil, bearer(tokenA)); r.status != 401 {
			t.Errorf("GET %s with no sources configured = %d, want 401", p, r.status)
		}
	}
}

func TestAllowList(t *testing.T) {
	t.Parallel()
	list := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32")}
	for _, tt := range []struct {
		remote string
		want   bool
	}{
		{"10.1.2.3:5000", true}, {"[::ffff:10.1.2.3]:5000", true}, {"[2001:db8::1]:80", true},
		{"127.0.0.1:5000", false}, {"[::1]:80", false}, {"garbage", false},
	} {
		if got := allowed(list, tt.remote); got != tt.want {
			t.Errorf("allowed(%q) = %v, want %v", tt.remote, got, tt.want)
		}
	}
	if !allowed(nil, "garbage") {
		t.Errorf("an empty list must allow every address")
	}
}

// decodeStrict decodes b into v, failing on unknown fields: the answer has
// exactly the shape the test describes.
func decodeStrict(t *testing.T, b []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decoding %s: %v", b, err)
	}
}

func TestESReadRoutes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	auth := bearer(tokenA)

	r := e.do(t, "GET", "/", nil, auth)
	var info struct {
		Name, ClusterName, ClusterUUID string
		Version                        map[string]any
		Tagline                        string
	}
	if err := json.Unmarshal(r.body, &info); err != nil || r.status != 200 {
		t.Fatalf("GET / = %d %s: %v", r.status, r.body, err)
	}
	if v, _ := info.Version["number"].(string); !strings.HasPrefix(v, "8.") || info.Version["build_flavor"] != "default" || info.Tagline != "You Know, for Search" {
		t.Errorf("GET / = %s", r.body)
	}
	if h := e.do(t, "HEAD", "/", nil, auth); h.status != 200 || len(h.body) != 0 {
		t.Errorf("HEAD / = %d %q", h.status, h.body)
	}
	// The 8.x clients ask for the versioned media type and get it back.
	if h := e.do(t, "GET", "/", nil, map[string]string{"Authorization": "Bearer " + tokenA,
		"Accept": "application/vnd.elasticsearch+json; compatible-with=8"}); h.header.Get("Content-Type") != compatibleType {
		t.Errorf("GET / with a compatible-with Accept: Content-Type %q", h.header.Get("Content-Type"))
	}

	var lic struct {
		License struct{ Status, Type, UID string } `json:"license"`
	}
	r = e.do(t, "GET", "/_license?human=false", nil, auth)
	if err := json.Unmarshal(r.body, &lic); err != nil || lic.License.Status != "active" || lic.License.Type != "basic" {
		t.Errorf("GET /_license = %d %s", r.status, r.body)
	}
	var xp struct {
		Features map[string]struct{ Available, Enabled bool } `json:"features"`
	}
	r = e.do(t, "GET", "/_xpack", nil, auth)
	if err := json.Unmarshal(r.body, &xp); err != nil || !xp.Features["ilm"].Available {
		t.Errorf("GET /_xpack = %d %s", r.status, r.body)
	}
	var health struct{ Status string }
	r = e.do(t, "GET", "/_cluster/health", nil, auth)
	if err := json.Unmarshal(r.body, &health); err != nil || r.status != 200 || health.Status != "green" {
		t.Errorf("GET /_cluster/health = %d %s", r.status, r.body)
	}
	var nodes struct {
		Nodes map[string]struct {
			HTTP struct {
				PublishAddress string `json:"publish_address"`
			} `json:"http"`
		} `json:"nodes"`
	}
	r = e.do(t, "GET", "/_nodes/http", nil, auth)
	if err := json.Unmarshal(r.body, &nodes); err != nil || len(nodes.Nodes) != 1 {
		t.Fatalf("GET /_nodes/http = %d %s", r.status, r.body)
	}
	for _, n := range nodes.Nodes {
		if n.HTTP.PublishAddress != strings.TrimPrefix(e.srv.URL, "http://") {
			t.Errorf("publish_address = %q, want the address the client used", n.HTTP.PublishAddress)
		}
	}

	for _, p := range []string{"/_template/filebeat", "/_index_template/winlogbeat-8.13.2", "/_component_template/logs@settings",
		"/_ilm/policy/winlogbeat", "/_ingest/pipeline/filebeat-8.13.2-system-auth-pipeline", "/_data_stream/logs-generic-default"} {
		for _, m := range []string{"PUT", "POST", "DELETE"} {
			r := e.do(t, m, p, []byte(`{"settings":{}}`), auth)
			if r.status != 200 || string(r.body) != "{\"acknowledged\":true}\n" {
				t.Errorf("%s %s = %d %s, want acknowledged", m, p, r.status, r.body)
			}
		}
		if r := e.do(t, "HEAD", p, nil, auth); r.status != 200 {
			t.Errorf("HEAD %s = %d, want 200 (exists)", p, r.status)
		}
		r := e.do(t, "GET", p, nil, auth)
		name := p[strings.LastIndexByte(p, '/')+1:]
		if r.status != 200 || !json.Valid(r.body) || !strings.Contains(string(r.body), `"`+name+`"`) {
			t.Errorf("GET %s = %d %s", p, r.status, r.body)
		}
	}
	if r := e.do(t, "GET", "/_index_template", nil, auth); r.status != 200 {
		t.Errorf("GET /_index_template = %d", r.status)
	}

	// Unknown: PUT (index creation, mappings) is acknowledged; nothing else
	// is, so that no write is ever acknowledged and lost.
	if r := e.do(t, "PUT", "/%3Clogstash-%7Bnow%2Fd%7D-000001%3E", []byte(`{"aliases":{}}`), auth); r.status != 200 {
		t.Errorf("PUT /<index> = %d %s", r.status, r.body)
	}
	for _, m := range []string{"GET", "POST"} {
		r := e.do(t, m, "/some-index/_search", []byte(`{}`), auth)
		var es esError
		decodeStrict(t, r.body, &es)
		if r.status != 404 || es.Status != 404 || es.Error.Type != "resource_not_found_exception" {
			t.Errorf("%s /some-index/_search = %d %s", m, r.status, r.body)
		}
	}
	if n := len(e.sink.all()); n != 0 {
		t.Errorf("read routes stored %d events", n)
	}
}

// esError is Elasticsearch's error answer.
type esError struct {
	Error struct {
		RootCause []struct{ Type, Reason string } `json:"root_cause"`
		Type      string                          `json:"type"`
		Reason    string                          `json:"reason"`
	} `json:"error"`
	Status int `json:"status"`
}

type ingestReply struct {
	Accepted int `json:"accepted"`
	Rejected []struct {
		Line  int    `json:"line"`
		Error string `json:"error"`
	} `json:"rejected"`
	RejectedTotal int `json:"rejected_total"`
}

func gz(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestIngest(t *testing.T) {
	t.Parallel()
	ndjson := "{\"@timestamp\":\"2024-05-01T12:00:00Z\",\"message\":\"one\",\"host\":{\"name\":\"h1\"}}\n" +
		"\n" + // blank lines are skipped, but counted
		"not json at all\n" +
		"{\"message\":\"three\"}\r\n" +
		"[1,2]\n" +
		"123\n" +
		"\"a string\"\n" +
		"null\n" +
		"{\"msg\":\"\x83\x65\x83\x58\x83\x67\"}\n" + // Shift_JIS
		"{\"message\":\"no newline at the end\"}"
	tests := []struct {
		name     string
		body     []byte
		header   map[string]string
		accepted int
		rejected []int // line numbers
	}{
		{"ndjson", []byte(ndjson), map[string]string{"Content-Type": "application/x-ndjson"}, 4, []int{3, 5, 6, 7, 8}},
		{"ndjson gzip", gz(t, []byte(ndjson)), map[string]string{"Content-Type": "application/x-ndjson", "Content-Encoding": "gzip"}, 4, []int{3, 5, 6, 7, 8}},
		{"ndjson without a type", []byte(ndjson), nil, 4, []int{3, 5, 6, 7, 8}},
		{"array", []byte(`[{"message":"a"}, 7, {"message":"b"}, "x"]`), map[string]string{"Content-Type": "application/json"}, 2, []int{2, 4}},
		{"broken array keeps the rest", []byte(`[{"message":"a"}, {"message": tru}, {"message":"c"}]`), nil, 1, []int{2}},
		{"pretty object", []byte("{\n  \"message\": \"one\",\n  \"n\": 2\n}\n"), map[string]string{"Content-Type": "application/json"}, 1, nil},
		{"ndjson sent as application/json", []byte("{\"a\":1}\n{\"a\":2}\n"), map[string]string{"Content-Type": "application/json"}, 2, nil},
		{"empty", nil, nil, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, nil)
			h := map[string]string{"Authorization": "Bearer " + tokenA}
			for k, v := range tt.header {
				h[k] = v
			}
			r := e.do(t, "POST", "/ingest/v1/events", tt.body, h)
			if r.status != 200 {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			var got ingestReply
			decodeStrict(t, r.body, &got)
			var lines []int
			for _, rj := range got.Rejected {
				lines = append(lines, rj.Line)
				if rj.Error == "" {
					t.Errorf("rejected line %d has no error", rj.Line)
				}
			}
			if got.Accepted != tt.accepted || !slices.Equal(lines, tt.rejected) {
				t.Errorf("answer %s, want accepted %d, rejected lines %v", r.body, tt.accepted, tt.rejected)
			}
			evs := e.sink.all()
			if len(evs) != tt.accepted+len(tt.rejected) {
				t.Fatalf("sink got %d events, want %d (rejected ones are kept flagged)", len(evs), tt.accepted+len(tt.rejected))
			}
			ids := map[event.ID]bool{}
			flagged := 0
			for _, ev := range evs {
				if ev.Source != "winlogbeat" || ev.Received != fixedNow.UnixNano() || ev.ID.IsZero() || ids[ev.ID] || len(ev.Raw) == 0 {
					t.Errorf("event %+v: want source winlogbeat, received %v, a fresh id and raw bytes", ev, fixedNow)
				}
				ids[ev.ID] = true
				if ev.Flags.Has(event.FlagParseError) {
					flagged++
					if _, ok := ev.Lookup("message"); !ok {
						t.Errorf("flagged event without its message: %+v", ev)
					}
				}
			}
			if flagged != len(tt.rejected) {
				t.Errorf("%d events flagged parse_error, want %d", flagged, len(tt.rejected))
			}
			if got, want := e.sink.calls, min(1, len(evs)); got != want {
				t.Errorf("%d Append calls, want %d (one per request)", got, want)
			}
			if s := e.reg.Snapshot(); len(evs) > 0 && (len(s) != 1 || s[0].Kind != "http" || s[0].Events != int64(len(evs)) || s[0].ParseErrors != int64(len(tt.rejected))) {
				t.Errorf("counters %+v", s)
			}
		})
	}
}

func TestIngestInvalidText(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	body := "{\"user\":\"\x93\xfa\x96\x7b\",\"bin\":\"\x00\xff\xfe\"}\n" // Shift_JIS 日本, binary
	r := e.do(t, "POST", "/ingest/v1/events", []byte(body), bearer(tokenA))
	if r.status != 200 {
		t.Fatalf("status %d %s", r.status, r.body)
	}
	evs := e.sink.all()
	if len(evs) != 1 || !evs[0].Flags.Has(event.FlagInvalidText) {
		t.Fatalf("events %+v, want one flagged invalid_text", evs)
	}
	if v, _ := evs[0].Lookup("user"); v != "\uFFFD\uFFFD\uFFFD{" {
		t.Errorf("user = %q", v)
	}
	if string(evs[0].Raw) != strings.TrimSuffix(body, "\n") {
		t.Errorf("raw bytes changed: %q", evs[0].Raw)
	}
}

func TestBodyLimits(t *testing.T) {
	t.Parallel()
	const max = 1 << 20
	e := newEnv(t, func(c *Config) { c.MaxBodyBytes = max })
	auth := func(extra ...string) map[string]string {
		h := map[string]string{"Authorization": "Bearer " + tokenA}
		for i := 0; i+1 < len(extra); i += 2 {
			h[extra[i]] = extra[i+1]
		}
		return h
	}
	// A gzip bomb: 64 MiB of zeros in about 64 KiB.
	bomb := gz(t, make([]byte, 64<<20))
	for _, path := range []string{"/ingest/v1/events", "/_bulk"} {
		r := e.do(t, "POST", path, bomb, auth("Content-Encoding", "gzip"))
		if r.status != http.StatusRequestEntityTooLarge {
			t.Errorf("gzip bomb to %s = %d %s, want 413", path, r.status, r.body)
		}
		r = e.do(t, "POST", path, bytes.Repeat([]byte("x"), max+1), auth())
		if r.status != http.StatusRequestEntityTooLarge {
			t.Errorf("plain body over the limit to %s = %d, want 413", path, r.status)
		}
		r = e.do(t, "POST", path, []byte("\x1f\x8b\x08\x00garbage"), auth("Content-Encoding", "gzip"))
		if r.status != http.StatusBadRequest {
			t.Errorf("corrupt gzip to %s = %d %s, want 400", path, r.status, r.body)
		}
		r = e.do(t, "POST", path, gz(t, []byte(`{"a":1}`))[:15], auth("Content-Encoding", "gzip"))
		if r.status != http.StatusBadRequest {
			t.Errorf("truncated gzip to %s = %d %s, want 400", path, r.status, r.body)
		}
		r = e.do(t, "POST", path, []byte(`{"a":1}`), auth("Content-Encoding", "br"))
		if r.status != http.StatusUnsupportedMediaType {
			t.Errorf("brotli to %s = %d, want 415", path, r.status)
		}
	}
	if n := len(e.sink.all()); n != 0 {
		t.Errorf("refused bodies stored %d events", n)
	}
	s := e.reg.Snapshot()
	if len(s) != 1 || s[0].Rejected != 10 {
		t.Errorf("counters %+v, want 10 rejections", s)
	}
}

func TestTenMegabyteLine(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil) // default body limit, 64 MiB
	huge := `{"message":"` + strings.Repeat("A", 10<<20) + `"}`
	body := `{"message":"before"}` + "\n" + huge + "\n" + `{"message":"after"}` + "\n"
	r := e.do(t, "POST", "/ingest/v1/events", gz(t, []byte(body)), map[string]string{"Authorization": "Bearer " + tokenA, "Content-Encoding": "gzip"})
	var got ingestReply
	decodeStrict(t, r.body, &got)
	if r.status != 200 || got.Accepted != 2 || len(got.Rejected) != 1 || got.Rejected[0].Line != 2 || !strings.Contains(got.Rejected[0].Error, "longer than") {
		t.Fatalf("answer %d %s", r.status, r.body)
	}
	evs := e.sink.all()
	if len(evs) != 3 || !evs[1].Flags.Has(event.FlagTruncated|event.FlagParseError) || len(evs[1].Raw) != intake.MaxJSONBytes {
		t.Fatalf("the long line: flags %v, %d raw bytes; want truncated, parse_error, %d bytes", evs[1].Flags.Names(), len(evs[1].Raw), intake.MaxJSONBytes)
	}
	if v, _ := evs[2].Lookup("message"); v != "after" {
		t.Errorf("the line after the long one: %q", v)
	}
}

func TestBackpressure(t *testing.T) {
	t.Parallel()
	bulk := []byte("{\"index\":{\"_index\":\"x\"}}\n{\"m\":1}\n")
	for _, tt := range []struct {
		name   string
		err    error
		status int
	}{
		{"full", fmt.Errorf("journal: queue: %w", event.ErrFull), 429},
		{"broken", errors.New("journal: write: disk on fire"), 503},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, func(c *Config) {})
			e.sink.err = func(int) error { return tt.err }
			for _, p := range []string{"/ingest/v1/events", "/_bulk", "/logs-x/_doc"} {
				r := e.do(t, "POST", p, bulk, bearer(tokenA))
				if r.status != tt.status {
					t.Errorf("POST %s with a %s sink = %d %s, want %d", p, tt.name, r.status, r.body, tt.status)
				}
				if ra := r.header.Get("Retry-After"); (tt.status == 429) != (ra != "") {
					t.Errorf("POST %s: Retry-After %q with status %d", p, ra, r.status)
				}
				if strings.Contains(string(r.body), "disk on fire") {
					t.Errorf("POST %s: the sink's error reached the sender: %s", p, r.body)
				}
				if p != "/ingest/v1/events" {
					var es esError
					decodeStrict(t, r.body, &es)
					if es.Status != tt.status || es.Error.Type == "" {
						t.Errorf("POST %s: not Elasticsearch's error shape: %s", p, r.body)
					}
				}
			}
			s := e.reg.Snapshot()
			if len(s) == 0 || s[0].Rejected == 0 {
				t.Errorf("counters %+v, want rejections", s)
			}
		})
	}
}

// A bulk request larger than MaxBatch is split; when a later batch is
// refused, only its items are answered 429 and the stored ones 201.
func TestBulkPartialBackpressure(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.sink.err = func(call int) error {
		if call >= 2 {
			return event.ErrFull
		}
		return nil
	}
	var b bytes.Buffer
	n := MaxBatch + 5
	for i := range n {
		fmt.Fprintf(&b, "{\"create\":{\"_index\":\"logs-a-default\"}}\n{\"n\":%d}\n", i)
	}
	r := e.do(t, "POST", "/_bulk", b.Bytes(), bearer(tokenA))
	if r.status != 200 {
		t.Fatalf("status %d", r.status)
	}
	var br bulkReply
	decodeStrict(t, r.body, &br)
	if len(br.Items) != n || !*br.Errors {
		t.Fatalf("%d items, errors %v", len(br.Items), *br.Errors)
	}
	for i, it := range br.Items {
		want := 201
		if i >= MaxBatch {
			want = 429
		}
		if got := it["create"].Status; got != want {
			t.Fatalf("item %d status %d, want %d", i, got, want)
		}
	}
	if got := len(e.sink.all()); got != MaxBatch {
		t.Errorf("stored %d, want %d", got, MaxBatch)
	}
}

func TestConcurrencyLimit(t *testing.T) {
	t.Parallel()
	// The first request holds the only slot until the sink returns, whatever
	// the route; meanwhile every write route answers 429.
	for _, first := range []string{"/ingest/v1/events", "/_bulk", "/i/_doc"} {
		e := newEnv(t, func(c *Config) { c.MaxConcurrent = 1 })
		e.sink.block = make(chan struct{})
		done := make(chan reply)
		go func() {
			body := "{\"index\":{}}\n{\"a\":1}\n"
			if first == "/i/_doc" {
				body = `{"a":1}`
			}
			done <- e.do(t, "POST", first, []byte(body), bearer(tokenA))
		}()
		deadline := time.Now().Add(10 * time.Second)
		for len(e.srv.Config.Handler.(*handler).slots) == 0 {
			if time.Now().After(deadline) {
				t.Fatal("the first request never started")
			}
			time.Sleep(time.Millisecond)
		}
		for _, p := range []string{"/ingest/v1/events", "/_bulk", "/i/_doc"} {
			r := e.do(t, "POST", p, []byte("{\"index\":{}}\n{\"a\":2}\n"), bearer(tokenA))
			if r.status != 429 || r.header.Get("Retry-After") == "" {
				t.Errorf("POST %s while %s holds the slot = %d %s, want 429 with Retry-After", p, first, r.status, r.body)
			}
		}
		close(e.sink.block)
		if r := <-done; r.status >= 300 {
			t.Errorf("first request to %s = %d %s", first, r.status, r.body)
		}
	}
}

func TestDoc(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	auth := bearer(tokenA)
	r := e.do(t, "POST", "/logs-app-default/_doc", []byte("{\n \"@timestamp\": \"2024-05-01T12:00:00Z\",\n \"message\": \"hi\"\n}"), auth)
	var res bulkResult
	decodeStrict(t, r.body, &res)
	if r.status != 201 || res.Index != "logs-app-default" || res.Result != "created" || res.ID == "" {
		t.Errorf("POST _doc = %d %s", r.status, r.body)
	}
	r1 := e.do(t, "PUT", "/logs-app-default/_doc/abc", []byte(`{"@timestamp":"2024-05-01T12:00:00Z","m":1}`), auth)
	r2 := e.do(t, "PUT", "/logs-app-default/_create/abc", []byte(`{"@timestamp":"2024-05-01T12:00:00Z","m":1}`), auth)
	if r1.status != 201 || r2.status != 201 {
		t.Errorf("PUT _doc/abc = %d %s; _create/abc = %d %s", r1.status, r1.body, r2.status, r2.body)
	}
	r = e.do(t, "POST", "/logs-app-default/_doc", []byte(`not json`), auth)
	var es esError
	decodeStrict(t, r.body, &es)
	if r.status != 400 || es.Error.Type != "document_parsing_exception" {
		t.Errorf("POST _doc with text = %d %s", r.status, r.body)
	}
	evs := e.sink.all()
	if len(evs) != 4 {
		t.Fatalf("stored %d events, want 4 (the text one flagged)", len(evs))
	}
	if evs[1].ID != evs[2].ID {
		t.Errorf("the same _id and time gave two event ids: %v %v", evs[1].ID, evs[2].ID)
	}
	if v, _ := evs[0].Lookup("_index"); v != "logs-app-default" {
		t.Errorf("_index = %q", v)
	}
	if !evs[3].Flags.Has(event.FlagParseError) {
		t.Errorf("text document not flagged: %v", evs[3].Flags.Names())
	}
}

func TestAppendString(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, want string }{
		{"plain", "plain"}, {"q\"b\\", "q\"b\\"}, {"ctl\x00\x1f\n\t", "ctl\x00\x1f\n\t"},
		{"日本語", "日本語"}, {"bad\xff\xfe", "bad\uFFFD\uFFFD"}, {"", ""},
	} {
		var got string
		if err := json.Unmarshal(intake.AppendJSONString(nil, tt.in), &got); err != nil || got != tt.want {
			t.Errorf("intake.AppendJSONString(%q) = %s, decodes to %q (%v), want %q", tt.in, intake.AppendJSONString(nil, tt.in), got, err, tt.want)
		}
	}
	if diff := cmp.Diff(`"a\u0001"`, string(intake.AppendJSONString(nil, "a\x01"))); diff != "" {
		t.Error(diff)
	}
}

// syncBuffer is a bytes.Buffer safe for the handler's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestLogsHoldNoTokens(t *testing.T) {
	t.Parallel()
	var buf syncBuffer
	e := newEnv(t, func(c *Config) {
		c.Log = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	e.sink.err = func(int) error { return errors.New("journal: disk full") }
	for _, auth := range []string{"Bearer wrong-token-xyz", "Bearer " + tokenB, apiKey("id:" + tokenA), basic("u", "wrong-token-xyz")} {
		e.do(t, "POST", "/_bulk", []byte("{\"index\":{}}\n{\"a\":1}\n"), map[string]string{"Authorization": auth})
	}
	log := buf.String()
	if !strings.Contains(log, "refused") || !strings.Contains(log, "cannot store") {
		t.Errorf("log lacks the refusal and the sink failure:\n%s", log)
	}
	for _, secret := range []string{tokenA, tokenB, "wrong-token-xyz", "key-b-secret"} {
		if strings.Contains(log, secret) {
			t.Errorf("log holds %q:\n%s", secret, log)
		}
	}
}
