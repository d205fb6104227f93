// SPDX-License-Identifier: Apache-2.0

package httpin

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/koban-csirt/koban/internal/event"
	"github.com/koban-csirt/koban/internal/intake"
)

// bulkResult is one item of a bulk answer, with every key Elasticsearch 8
// gives; decodeStrict refuses any other.
type bulkResult struct {
	Index       string                                   `json:"_index"`
	ID          string                                   `json:"_id"`
	Version     int                                      `json:"_version"`
	Result      string                                   `json:"result"`
	Shards      *struct{ Total, Successful, Failed int } `json:"_shards"`
	SeqNo       *int64                                   `json:"_seq_no"`
	PrimaryTerm int                                      `json:"_primary_term"`
	Status      int                                      `json:"status"`
	Error       *struct{ Type, Reason string }           `json:"error"`
}

type bulkReply struct {
	Took   *int64                  `json:"took"`
	Errors *bool                   `json:"errors"`
	Items  []map[string]bulkResult `json:"items"`
}

// startStep is a call a shipper makes before it sends documents, and what it
// checks in the answer.
type startStep struct {
	method, path string
	check        func(t *testing.T, r reply)
}

// The shippers' start-up checks, as their sources do them (see
// testdata/SOURCES.md).
var (
	// Beats (libbeat eslegclient.Connection.Ping) and Vector (get_version
	// in src/sinks/elasticsearch/common.rs) read version.number; Vector
	// takes the major version to choose its request format.
	checkVersion = func(t *testing.T, r reply) {
		t.Helper()
		var v struct{ Version struct{ Number string } }
		if err := json.Unmarshal(r.body, &v); err != nil || r.status != 200 {
			t.Fatalf("GET / = %d %s: %v", r.status, r.body, err)
		}
		if major, _, _ := strings.Cut(v.Version.Number, "."); major != "8" {
			t.Errorf("version.number %q: shippers pick the 8.x format from it", v.Version.Number)
		}
	}
	// Logstash's elasticsearch?(response): version >= 7.14 needs the
	// X-Elastic-Product header.
	checkLogstash = func(t *testing.T, r reply) {
		t.Helper()
		checkVersion(t, r)
		if r.header.Get("X-Elastic-Product") != "Elasticsearch" {
			t.Errorf("Logstash refuses a server without X-Elastic-Product: Elasticsearch")
		}
	}
	// Beats' licenser reads license.status and license.type.
	checkLicense = func(t *testing.T, r reply) {
		t.Helper()
		var l struct{ License struct{ Status, Type string } }
		if err := json.Unmarshal(r.body, &l); err != nil || l.License.Status != "active" || l.License.Type == "" {
			t.Errorf("GET /_license = %d %s", r.status, r.body)
		}
	}
	check200 = func(t *testing.T, r reply) {
		t.Helper()
		if r.status != 200 {
			t.Errorf("status %d %s, want 200", r.status, r.body)
		}
	}
)

const filterPath = "?filter_path=errors,items.*.error,items.*.status"

// TestShipperBulkRequests replays what each shipper sends, in the shapes
// their sources show (testdata/SOURCES.md): start-up calls, then _bulk with
// their headers, authentication and compression. It checks the answers the
// way the shippers read them, and that each document became an event with
// its index.
func TestShipperBulkRequests(t *testing.T) {
	t.Parallel()
	shippers := []struct {
		name, fixture string
		source        string
		auth          string
		startup       []startStep
		path          string
		header        map[string]string
		gzip          bool
	}{
		{
			// libbeat: api_key "id:key" sent as ApiKey base64(id:key);
			// compression_level 1 (gzip) by default in 8.x; bulk filtered
			// by filter_path; create actions to the data stream.
			name: "winlogbeat 8", fixture: "winlogbeat-8.ndjson", source: "winlogbeat",
			auth: apiKey("VuaCfGcBCdbkQm-e5aOx:" + tokenA),
			startup: []startStep{{"GET", "/", checkVersion}, {"GET", "/_license?human=false", checkLicense},
				{"HEAD", "/_index_template/winlogbeat-8.13.2", check200}, {"GET", "/_ilm/policy/winlogbeat", check200},
				{"PUT", "/_ingest/pipeline/winlogbeat-8.13.2-routing", check200}},
			path:   "/_bulk" + filterPath,
			header: map[string]string{"Content-Type": "application/json; charset=UTF-8", "Accept": "application/json", "User-Agent": "Winlogbeat/8.13.2 (windows; amd64)"},
			gzip:   true,
		},
		{
			name: "filebeat 8", fixture: "filebeat-8.ndjson", source: "winlogbeat",
			auth:    basic("elastic", tokenA),
			startup: []startStep{{"GET", "/", checkVersion}, {"GET", "/_license?human=false", checkLicense}},
			path:    "/_bulk" + filterPath,
			header:  map[string]string{"Content-Type": "application/json; charset=UTF-8", "User-Agent": "Filebeat/8.13.2 (linux; amd64)"},
		},
		{
			// Fluent Bit's es output: HTTP_User/HTTP_Passwd (Basic),
			// Compress gzip, application/x-ndjson; no start-up calls.
			name: "fluent bit es, logstash format", fixture: "fluentbit-es.ndjson", source: "winlogbeat",
			auth: basic("fluent", tokenA), path: "/_bulk",
			header: map[string]string{"Content-Type": "application/x-ndjson", "User-Agent": "Fluent-Bit"}, gzip: true,
		},
		{
			name: "fluent bit es, create", fixture: "fluentbit-es-create.ndjson", source: "winlogbeat",
			auth: basic("fluent", tokenA), path: "/_bulk",
			header: map[string]string{"Content-Type": "application/x-ndjson"},
		},
		{
			// Vector: GET / for api_version auto, GET /_cluster/health as
			// healthcheck (must be 200), then bulk.
			name: "vector bulk", fixture: "vector-bulk.ndjson", source: "winlogbeat",
			auth:    basic("vector", tokenA),
			startup: []startStep{{"GET", "/", checkVersion}, {"GET", "/_cluster/health", check200}},
			path:    "/_bulk", header: map[string]string{"Content-Type": "application/x-ndjson", "User-Agent": "Vector/0.38.0"},
		},
		{
			name: "vector data stream", fixture: "vector-datastream.ndjson", source: "winlogbeat",
			auth:    "Bearer " + tokenA,
			startup: []startStep{{"GET", "/", checkVersion}, {"GET", "/_cluster/health", check200}},
			path:    "/_bulk", header: map[string]string{"Content-Type": "application/x-ndjson"}, gzip: true,
		},
		{
			// Logstash: GET / with the product check, license, then bulk
			// (gzip with compression_level > 0).
			name: "logstash 8", fixture: "logstash-8.ndjson", source: "winlogbeat",
			auth:    apiKey("ls-id:" + tokenA),
			startup: []startStep{{"GET", "/", checkLogstash}, {"GET", "/_license", checkLicense}, {"HEAD", "/_index_template/ecs-logstash", check200}},
			path:    "/_bulk" + filterPath, header: map[string]string{"Content-Type": "application/json", "User-Agent": "logstash/8.13.2"}, gzip: true,
		},
	}
	for _, sh := range shippers {
		t.Run(sh.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, nil)
			for _, st := range sh.startup {
				r := e.do(t, st.method, st.path, nil, map[string]string{"Authorization": sh.auth})
				st.check(t, r)
			}
			body, err := os.ReadFile(filepath.Join("testdata", sh.fixture))
			if err != nil {
				t.Fatal(err)
			}
			h := map[string]string{"Authorization": sh.auth}
			for k, v := range sh.header {
				h[k] = v
			}
			send := body
			if sh.gzip {
				send = gz(t, body)
				h["Content-Encoding"] = "gzip"
			}
			r := e.do(t, "POST", sh.path, send, h)
			if r.status != 200 {
				t.Fatalf("POST %s = %d %s", sh.path, r.status, r.body)
			}
			// Fluent Bit looks for this exact text.
			if !bytes.Contains(r.body, []byte(`"errors":false`)) {
				t.Errorf(`answer lacks "errors":false: %s`, r.body)
			}
			var br bulkReply
			decodeStrict(t, r.body, &br)
			actions, docs := splitFixture(t, body)
			if br.Took == nil || br.Errors == nil || *br.Errors || len(br.Items) != len(actions) {
				t.Fatalf("answer %s: want took, errors false and %d items", r.body, len(actions))
			}
			for i, it := range br.Items {
				res, ok := it[actions[i].op]
				if !ok || len(it) != 1 {
					t.Errorf("item %d = %v, want one %q object", i, it, actions[i].op)
					continue
				}
				if res.Status != 201 || res.Result != "created" || res.Index != actions[i].index || res.ID == "" ||
					res.Version != 1 || res.SeqNo == nil || res.PrimaryTerm != 1 || res.Shards == nil || res.Shards.Successful != 1 || res.Error != nil {
					t.Errorf("item %d = %+v", i, res)
				}
			}
			evs := e.sink.all()
			if len(evs) != len(docs) {
				t.Fatalf("stored %d events, want %d", len(evs), len(docs))
			}
			for i, ev := range evs {
				// Each event is exactly its document as FromJSON reads it,
				// plus the index.
				var want event.Event
				if err := intake.FromJSON(docs[i], &want); err != nil {
					t.Fatalf("fixture document %d: %v", i, err)
				}
				want.Set(fieldIndex, actions[i].index)
				if diff := cmp.Diff(fieldMap(&want), fieldMap(&ev)); diff != "" {
					t.Errorf("event %d fields (-want +got):\n%s", i, diff)
				}
				if ev.Source != sh.source || ev.Time == 0 || ev.Time != want.Time || ev.Flags != 0 || !bytes.Equal(ev.Raw, docs[i]) {
					t.Errorf("event %d: source %q time %d flags %v; want %q, time %d, no flags, raw document", i, ev.Source, ev.Time, ev.Flags.Names(), sh.source, want.Time)
				}
			}
		})
	}
}

func TestWinlogbeatFields(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	body, err := os.ReadFile("testdata/winlogbeat-8.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	if r := e.do(t, "POST", "/_bulk", body, bearer(tokenA)); r.status != 200 {
		t.Fatalf("status %d %s", r.status, r.body)
	}
	evs := e.sink.all()
	if len(evs) != 3 {
		t.Fatalf("%d events", len(evs))
	}
	ev := evs[0]
	for name, want := range map[string]string{
		"_index":                           "winlogbeat-8.13.2",
		"winlog.event_id":                  "4688",
		"winlog.channel":                   "Security",
		"winlog.event_data.CommandLine":    `"C:\Windows\system32\cmd.exe" /c whoami`,
		"winlog.event_data.SubjectLogonId": "0x3e7a1",
		"event.category":                   `["process"]`,
		"host.ip":                          `["10.0.0.21","fe80::1c2d:3e4f:5a6b:7c8d"]`,
		"agent.type":                       "winlogbeat",
		"ecs.version":                      "8.0.0",
		"process.parent.pid":               "4312",
	} {
		if got, _ := ev.Lookup(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if ev.Host != "ws01.corp.example" || ev.TimeOf().Format("2006-01-02T15:04:05.000Z") != "2024-05-01T12:00:01.456Z" {
		t.Errorf("host %q, time %v", ev.Host, ev.TimeOf())
	}
	if v, _ := evs[2].Lookup("winlog.event_data.ScriptBlockText"); !strings.Contains(v, "日本語のコメント") {
		t.Errorf("ScriptBlockText = %q", v)
	}
}

type fixtureAction struct{ op, index string }

// splitFixture returns a fixture's actions and documents.
func splitFixture(t *testing.T, body []byte) ([]fixtureAction, [][]byte) {
	t.Helper()
	lines := bytes.Split(bytes.TrimSpace(body), []byte("\n"))
	if len(lines)%2 != 0 {
		t.Fatalf("fixture has %d lines, want pairs", len(lines))
	}
	var acts []fixtureAction
	var docs [][]byte
	for i := 0; i < len(lines); i += 2 {
		var a map[string]struct {
			Index string `json:"_index"`
		}
		if err := json.Unmarshal(lines[i], &a); err != nil || len(a) != 1 {
			t.Fatalf("fixture line %d: %s: %v", i+1, lines[i], err)
		}
		for op, m := range a {
			acts = append(acts, fixtureAction{op, m.Index})
		}
		docs = append(docs, lines[i+1])
	}
	return acts, docs
}

func fieldMap(ev *event.Event) map[string]string {
	m := map[string]string{}
	for _, f := range ev.Fields {
		m[f.Name()] = f.Value
	}
	return m
}

// TestBulkItems covers the items shippers rarely send: a document that is
// not JSON, delete and update, a malformed action line, a missing
// document. Each is answered on its own item; the others succeed; nothing
// sent as a document is dropped.
func TestBulkItems(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	body := strings.Join([]string{
		`{"index":{"_index":"a"}}`, `{"m":1}`, // 1
		`{"create":{"_index":"b","_id":"x1"}}`, `not json`, // 2: 400, kept flagged
		`{"delete":{"_index":"a","_id":"1"}}`,                    // 3: 400
		`{"update":{"_index":"a","_id":"1"}}`, `{"doc":{"m":2}}`, // 4: 400, the doc is not an event
		`{"index":{}}`, `{"m":3}`, // 5: index from the path
		`garbage action`, `{"m":4}`, // 6: 400; both lines kept
		``,                                  // blank lines are skipped
		`{"index":{"_index":"c"}}`, `[1,2]`, // 7: 400, kept flagged
		`{"create":{"_index":"d"}}`, // 8: no document
	}, "\n")
	r := e.do(t, "POST", "/p/_bulk", []byte(body), bearer(tokenA))
	if r.status != 200 {
		t.Fatalf("status %d %s", r.status, r.body)
	}
	var br bulkReply
	decodeStrict(t, r.body, &br)
	type item struct {
		op, index string
		status    int
		errType   string
	}
	want := []item{
		{"index", "a", 201, ""},
		{"create", "b", 400, "document_parsing_exception"},
		{"delete", "a", 400, "illegal_argument_exception"},
		{"update", "a", 400, "illegal_argument_exception"},
		{"index", "p", 201, ""},
		{"index", "p", 400, "illegal_argument_exception"},
		{"index", "c", 400, "document_parsing_exception"},
		{"create", "d", 400, "action_request_validation_exception"},
	}
	var got []item
	for _, it := range br.Items {
		for op, res := range it {
			typ := ""
			if res.Error != nil {
				typ = res.Error.Type
				if res.Error.Reason == "" {
					t.Errorf("item %s %s: error without a reason", op, res.Index)
				}
			}
			got = append(got, item{op, res.Index, res.Status, typ})
		}
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(item{})); diff != "" {
		t.Errorf("items (-want +got):\n%s\n%s", diff, r.body)
	}
	if !*br.Errors {
		t.Errorf("errors = false with failed items")
	}
	evs := e.sink.all()
	var raws []string
	flagged := 0
	for _, ev := range evs {
		raws = append(raws, string(ev.Raw))
		if ev.Flags.Has(event.FlagParseError) {
			flagged++
		}
	}
	wantRaws := []string{`{"m":1}`, `not json`, `{"m":3}`, `garbage action`, `{"m":4}`, `[1,2]`}
	if diff := cmp.Diff(wantRaws, raws); diff != "" {
		t.Errorf("stored documents (-want +got):\n%s", diff)
	}
	if flagged != 4 {
		t.Errorf("%d events flagged parse_error, want 4", flagged)
	}
	if s := e.reg.Snapshot(); len(s) != 1 || s[0].Kind != "elasticsearch" || s[0].ParseErrors != 4 {
		t.Errorf("counters %+v", s)
	}
}

// A document resent with the same _id (a shipper's retry) becomes the same
// event id, so that storage keeps it once.
func TestBulkIDIsStable(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	body := []byte(`{"create":{"_index":"logs","_id":"doc-1"}}` + "\n" + `{"@timestamp":"2024-05-01T12:00:00Z","m":1}` + "\n" +
		`{"create":{"_index":"logs"}}` + "\n" + `{"@timestamp":"2024-05-01T12:00:00Z","m":1}` + "\n")
	var ids [2][2]string
	for i := range 2 {
		r := e.do(t, "POST", "/_bulk", body, bearer(tokenA))
		var br bulkReply
		decodeStrict(t, r.body, &br)
		for j := range 2 {
			ids[i][j] = br.Items[j]["create"].ID
		}
	}
	evs := e.sink.all()
	if ids[0][0] != "doc-1" || evs[0].ID != evs[2].ID || evs[1].ID == evs[3].ID {
		t.Errorf("answered ids %v; event ids %v %v %v %v: want the _id echoed, the same event for doc-1, fresh ids otherwise",
			ids, evs[0].ID, evs[2].ID, evs[1].ID, evs[3].ID)
	}
	if ids[0][1] != evs[1].ID.String() {
		t.Errorf("an item without _id answers %q, want its event id %s", ids[0][1], evs[1].ID)
	}
}

func TestBulkEmpty(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	r := e.do(t, "POST", "/_bulk", []byte("\n\n"), bearer(tokenA))
	var es esError
	decodeStrict(t, r.body, &es)
	if r.status != 400 || es.Error.Type != "action_request_validation_exception" {
		t.Errorf("empty bulk = %d %s", r.status, r.body)
	}
}

func TestSeqNoGrows(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	var last int64 = -1
	for range 3 {
		r := e.do(t, "PUT", "/_bulk", []byte("{\"index\":{\"_index\":\"i\"}}\n{\"a\":1}\n"), bearer(tokenA))
		var br bulkReply
		decodeStrict(t, r.body, &br)
		s := *br.Items[0]["index"].SeqNo
		if s <= last {
			t.Errorf("_seq_no %d after %d", s, last)
		}
		last = s
	}
	if last != 2 {
		t.Errorf("last _seq_no = %s, want 2", strconv.FormatInt(last, 10))
	}
}
