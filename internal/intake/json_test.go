// SPDX-License-Identifier: Apache-2.0

package intake

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/koban-csirt/koban/internal/event"
	"github.com/koban-csirt/koban/internal/shareddata"
)

// fieldMap returns ev's fields by name.
func fieldMap(ev *event.Event) map[string]string {
	m := make(map[string]string, len(ev.Fields))
	for _, f := range ev.Fields {
		m[f.Name()] = f.Value
	}
	return m
}

func TestFromJSONFields(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		doc   string
		want  map[string]string
		flags event.Flag
	}{
		{"flat", `{"a":"x","b":1,"c":true,"d":false,"e":null}`,
			map[string]string{"a": "x", "b": "1", "c": "true", "d": "false"}, 0},
		{"nested", `{"a":{"b":{"c":"deep"},"d":2},"e":{}}`,
			map[string]string{"a.b.c": "deep", "a.d": "2"}, 0},
		{"numbers keep their text", `{"f":1.50,"g":-0,"h":1E+3,"i":12345678901234567890123}`,
			map[string]string{"f": "1.50", "g": "-0", "h": "1E+3", "i": "12345678901234567890123"}, 0},
		{"arrays as compact JSON", "{\"tags\":[ \"a\" , \"b\\u00e9\" ],\"n\":[1, null ,true],\"o\":[{\"k\" : \"v\\n\"}],\"e\":[]}",
			map[string]string{"tags": `["a","bé"]`, "n": `[1,null,true]`, "o": `[{"k":"v\n"}]`, "e": `[]`}, 0},
		{"escapes", `{"s":"q\"b\\s\/t\tn\nu\u3042\ud83d\ude00"}`,
			map[string]string{"s": "q\"b\\s/t\tn\nuあ😀"}, 0},
		{"last duplicate wins", `{"a":1,"b":2,"a":3}`, map[string]string{"a": "3", "b": "2"}, 0},
		{"dotted name meets nested", `{"a.b":1,"a":{"b":2}}`, map[string]string{"a.b": "2"}, 0},
		{"whitespace and BOM", "\xEF\xBB\xBF \n{ \"a\" : \"b\" }\r\n", map[string]string{"a": "b"}, 0},
		{"Shift_JIS bytes repaired", "{\"msg\":\"\x83\x65\x83\x58\x83\x67 ok\"}",
			map[string]string{"msg": "\uFFFDe\uFFFDX\uFFFDg ok"}, event.FlagInvalidText},
		{"invalid UTF-8 in a name", "{\"n\xff\":\"v\"}", map[string]string{"n\uFFFD": "v"}, event.FlagInvalidText},
		{"lone surrogate", `{"s":"a\ud800b"}`, map[string]string{"s": "a\uFFFDb"}, event.FlagInvalidText},
		{"empty name dropped", `{"":1,"a":{"":2},"b":3}`, map[string]string{"a.": "2", "b": "3"}, event.FlagFieldsDropped},
		{"raw control byte kept", "{\"s\":\"a\x01b\"}", map[string]string{"s": "a\x01b"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ev event.Event
			if err := FromJSON([]byte(tt.doc), &ev); err != nil {
				t.Fatalf("FromJSON(%q): %v", tt.doc, err)
			}
			if diff := cmp.Diff(tt.want, fieldMap(&ev)); diff != "" {
				t.Errorf("FromJSON(%q) fields (-want +got):\n%s", tt.doc, diff)
			}
			if ev.Flags != tt.flags {
				t.Errorf("FromJSON(%q) flags = %v (%q), want %v", tt.doc, ev.Flags.Names(), ev.Reason, tt.flags.Names())
			}
			if string(ev.Raw) != tt.doc {
				t.Errorf("FromJSON(%q) raw = %q", tt.doc, ev.Raw)
			}
		})
	}
}

func TestFromJSONOrderAndRawCopy(t *testing.T) {
	t.Parallel()
	doc := []byte(`{"z":1,"a":{"y":2},"m":3}`)
	var ev event.Event
	if err := FromJSON(doc, &ev); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range ev.Fields {
		names = append(names, f.Name())
	}
	if want := []string{"z", "a.y", "m"}; !reflect.DeepEqual(names, want) {
		t.Errorf("field order = %v, want %v", names, want)
	}
	doc[2] = 'Q'
	if ev.Raw[2] != 'z' {
		t.Errorf("ev.Raw shares the caller's buffer")
	}
}

func TestFromJSONTime(t *testing.T) {
	t.Parallel()
	at := func(s string) int64 {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm.UnixNano()
	}
	tests := []struct {
		doc  string
		want int64
	}{
		{`{"@timestamp":"2024-05-01T12:00:00.123Z"}`, at("2024-05-01T12:00:00.123Z")},
		{`{"@timestamp":"2024-05-01T12:00:00.123456789+09:00"}`, at("2024-05-01T03:00:00.123456789Z")},
		{`{"timestamp":"2017-01-30T16:12:26.985026+0100"}`, at("2017-01-30T15:12:26.985026Z")}, // Suricata EVE
		{`{"time":"2024-05-01 12:00:00"}`, at("2024-05-01T12:00:00Z")},
		{`{"ts":1521911721.926318}`, at("2018-03-24T17:15:21.926318Z")}, // Zeek JSON
		{`{"ts":"1521911721"}`, at("2018-03-24T17:15:21Z")},
		{`{"ts":1714564800123}`, at("2024-05-01T12:00:00.123Z")},       // milliseconds
		{`{"ts":1714564800123456}`, at("2024-05-01T12:00:00.123456Z")}, // microseconds
		{`{"ts":1714564800123456789}`, at("2024-05-01T12:00:00.123456789Z")},
		{`{"date":1714564800.5}`, at("2024-05-01T12:00:00.5Z")}, // Fluent Bit http output
		{`{"ts":1.7145648e9}`, at("2024-05-01T12:00:00Z")},
		// Preference order: @timestamp before time, whatever the input order.
		{`{"time":"2001-01-01T00:00:00Z","@timestamp":"2024-05-01T12:00:00Z"}`, at("2024-05-01T12:00:00Z")},
		// An unusable @timestamp falls through to the next name.
		{`{"@timestamp":"yesterday","time":"2024-05-01T12:00:00Z"}`, at("2024-05-01T12:00:00Z")},
		{`{"time":"12"}`, 0}, // too small to be a time
		{`{"time":-1714564800}`, 0},
		{`{"time":true}`, 0},
		{`{"a":{"time":"2024-05-01T12:00:00Z"}}`, 0}, // only top-level names
		{`{"msg":"no time"}`, 0},
	}
	for _, tt := range tests {
		var ev event.Event
		if err := FromJSON([]byte(tt.doc), &ev); err != nil {
			t.Fatalf("FromJSON(%s): %v", tt.doc, err)
		}
		if ev.Time != tt.want {
			t.Errorf("FromJSON(%s).Time = %v, want %v", tt.doc, time.Unix(0, ev.Time).UTC(), time.Unix(0, tt.want).UTC())
		}
	}
}

func TestFromJSONHost(t *testing.T) {
	t.Parallel()
	tests := []struct{ doc, want string }{
		{`{"host":{"name":"ws1","hostname":"ws1.corp"}}`, "ws1"},
		{`{"hostname":"h2","winlog":{"computer_name":"DC01.corp"}}`, "DC01.corp"},
		{`{"host":"h3"}`, "h3"},
		{`{"host":{"name":""},"hostname":"h4"}`, "h4"},
		{`{"host":["a","b"],"agent":{"hostname":"h5"}}`, "h5"},
		{`{"msg":"x"}`, ""},
	}
	for _, tt := range tests {
		var ev event.Event
		if err := FromJSON([]byte(tt.doc), &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Host != tt.want {
			t.Errorf("FromJSON(%s).Host = %q, want %q", tt.doc, ev.Host, tt.want)
		}
	}
	ev := event.Event{Host: "given"}
	if err := FromJSON([]byte(`{"host":"h"}`), &ev); err != nil || ev.Host != "given" {
		t.Errorf("FromJSON replaced a host already set: %q, %v", ev.Host, err)
	}
}

func TestFromJSONErrors(t *testing.T) {
	t.Parallel()
	deep := strings.Repeat(`{"a":`, MaxJSONDepth+1) + "1" + strings.Repeat("}", MaxJSONDepth+1)
	deepArray := `{"a":` + strings.Repeat("[", MaxJSONDepth+1) + strings.Repeat("]", MaxJSONDepth+1) + "}"
	tests := []struct {
		doc    string
		offset int
		msg    string
	}{
		{``, 0, "empty document"},
		{`   `, 3, "empty document"},
		{`[{"a":1}]`, 0, "not a JSON object"},
		{`"text"`, 0, "not a JSON object"},
		{`hello world`, 0, "not a JSON object"},
		{`{"a":1} trailing`, 8, "text after the JSON object"},
		{`{"a":1}{"b":2}`, 7, "text after the JSON object"},
		{`{"a":1`, 6, "unterminated object"},
		{`{"a":"b`, 5, "unterminated string"},
		{`{"a" 1}`, 5, "want ':'"},
		{`{a:1}`, 1, "want a quoted member name"},
		{`{"a":1,}`, 7, "want a quoted member name"},
		{`{"a":01}`, 6, "want ',' or '}'"},
		{`{"a":1.}`, 7, "no digits after '.'"},
		{`{"a":-}`, 6, "invalid number"},
		{`{"a":tru}`, 5, "invalid literal"},
		{`{"a":"\x"}`, 6, "invalid escape"},
		{`{"a":"\u12"}`, 6, "invalid \\u escape"},
		{`{"a":[1,2}`, 9, "want ',' or ']'"},
		{`{"a":'x'}`, 5, "unexpected"},
		{deep, 5 * (MaxJSONDepth), "nested deeper than 64"},
		{deepArray, 5 + MaxJSONDepth - 1, "nested deeper than 64"},
	}
	for _, tt := range tests {
		ev := event.Event{Source: "kept"}
		err := FromJSON([]byte(tt.doc), &ev)
		var je *JSONError
		if !errors.As(err, &je) {
			t.Errorf("FromJSON(%.40q) = %v, want a *JSONError", tt.doc, err)
			continue
		}
		if je.Offset != tt.offset || !strings.Contains(je.Msg, tt.msg) {
			t.Errorf("FromJSON(%.40q) = %q at %d, want %q at %d", tt.doc, je.Msg, je.Offset, tt.msg, tt.offset)
		}
		if len(ev.Fields) != 0 || ev.Raw != nil || ev.Source != "kept" {
			t.Errorf("FromJSON(%.40q) changed the event on error: %+v", tt.doc, ev)
		}
	}
}

func TestFromJSONLimits(t *testing.T) {
	t.Parallel()
	t.Run("too long", func(t *testing.T) {
		doc := []byte(`{"m":"` + strings.Repeat("x", MaxJSONBytes) + `"}`)
		var ev event.Event
		err := FromJSON(doc, &ev)
		if err == nil {
			t.Fatal("FromJSON of a document over MaxJSONBytes succeeded")
		}
		Unparsed(doc, err, &ev)
		if len(ev.Raw) != MaxJSONBytes || !ev.Flags.Has(event.FlagTruncated|event.FlagParseError) {
			t.Errorf("Unparsed: raw %d bytes, flags %v; want %d bytes, truncated and parse_error", len(ev.Raw), ev.Flags.Names(), MaxJSONBytes)
		}
	})
	t.Run("many fields", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("{")
		for i := range MaxJSONFields + 10 {
			fmt.Fprintf(&b, `"f%d":%d,`, i%(MaxJSONFields+5), i) // a few duplicates past the limit
		}
		b.WriteString(`"last":1}`)
		var ev event.Event
		if err := FromJSON([]byte(b.String()), &ev); err != nil {
			t.Fatal(err)
		}
		if len(ev.Fields) != MaxJSONFields || !ev.Flags.Has(event.FlagTruncated) {
			t.Errorf("got %d fields, flags %v; want %d and truncated", len(ev.Fields), ev.Flags.Names(), MaxJSONFields)
		}
		if v, _ := ev.Lookup("f0"); v != fmt.Sprint(MaxJSONFields+5) {
			t.Errorf("f0 = %q, want the later duplicate %d", v, MaxJSONFields+5)
		}
	})
	t.Run("long name", func(t *testing.T) {
		doc := `{"` + strings.Repeat("n", MaxFieldNameBytes+1) + `":1,"ok":2}`
		var ev event.Event
		if err := FromJSON([]byte(doc), &ev); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(map[string]string{"ok": "2"}, fieldMap(&ev)); diff != "" || !ev.Flags.Has(event.FlagFieldsDropped) {
			t.Errorf("fields (-want +got):\n%s flags %v", diff, ev.Flags.Names())
		}
	})
}

func TestUnparsed(t *testing.T) {
	t.Parallel()
	doc := []byte("not json \x82\xa0\n")
	var ev event.Event
	err := FromJSON(doc, &ev)
	if err == nil {
		t.Fatal("FromJSON accepted text")
	}
	Unparsed(doc, err, &ev)
	if v, _ := ev.Lookup("message"); v != "not json \uFFFD\uFFFD" {
		t.Errorf("message = %q", v)
	}
	if !ev.Flags.Has(event.FlagParseError|event.FlagInvalidText) || !strings.Contains(ev.Reason, "not a JSON object") {
		t.Errorf("flags %v reason %q", ev.Flags.Names(), ev.Reason)
	}
	if !bytes.Equal(ev.Raw, doc) {
		t.Errorf("raw = %q, want %q", ev.Raw, doc)
	}
}

// refFlatten is the slow reference for FromJSON's fields: encoding/json's
// tokens, flattened the same way. ok is false for documents outside what the
// reference models (empty or long names, too many fields).
func refFlatten(doc []byte) (map[string]any, bool) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	out := map[string]any{}
	var walk func(prefix string) bool
	walk = func(prefix string) bool {
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return false
			}
			name := tok.(string)
			if prefix != "" {
				name = prefix + "." + name
			}
			if strings.HasSuffix(name, ".") || name == "" || len(name) > MaxFieldNameBytes {
				return false
			}
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return false
			}
			switch raw[0] {
			case '{':
				sub := json.NewDecoder(bytes.NewReader(raw))
				sub.UseNumber()
				saved := dec
				dec = sub
				if _, err := dec.Token(); err != nil {
					return false
				}
				if !walk(name) {
					return false
				}
				dec = saved
			case '[':
				var v any
				if err := json.Unmarshal(raw, &v); err != nil {
					return false
				}
				out[name] = v
			case 'n':
				// null: no field
			default:
				var v any
				d := json.NewDecoder(bytes.NewReader(raw))
				d.UseNumber()
				if err := d.Decode(&v); err != nil {
					return false
				}
				switch x := v.(type) {
				case json.Number:
					out[name] = string(x)
				case bool:
					out[name] = fmt.Sprint(x)
				default:
					out[name] = x
				}
			}
		}
		_, err := dec.Token() // closing brace
		return err == nil
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, false
	}
	if !walk("") || len(out) > MaxJSONFields {
		return nil, false
	}
	return out, true
}

func FuzzFromJSON(f *testing.F) {
	for _, s := range []string{
		`{"a":{"b":1},"c":[1,"x",{"d":null}],"e":"\u00e9\ud83d\ude00","f":true}`,
		`{"@timestamp":"2024-05-01T12:00:00.123Z","winlog":{"event_id":4688,"event_data":{"NewProcessName":"C:\\x.exe"}}}`,
		`{"ts":1521911721.926318,"uid":"C1","id.orig_h":"10.0.0.1"}`,
		"{\"m\":\"\x83\x65\x83\x58\x83\x67\"}",
		`[1,2]`, `{"a":1`, `{"a":"\ud800"}`, ``,
	} {
		f.Add([]byte(s))
	}
	for _, s := range realJSONSamples(f, 40) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		var ev event.Event
		err := FromJSON(doc, &ev)
		if err != nil {
			var je *JSONError
			if !errors.As(err, &je) || je.Offset < 0 || je.Offset > len(doc) {
				t.Fatalf("FromJSON(%q) error %v: not a *JSONError with an offset inside the document", doc, err)
			}
			Unparsed(doc, err, &ev)
			if !ev.Flags.Has(event.FlagParseError) || ev.Raw == nil && len(doc) > 0 {
				t.Fatalf("Unparsed(%q) gave %+v", doc, ev)
			}
		}
		for _, fl := range ev.Fields {
			if !utf8.ValidString(fl.Value) || !utf8.ValidString(fl.Name()) {
				t.Fatalf("FromJSON(%q): field %q=%q is not valid UTF-8", doc, fl.Name(), fl.Value)
			}
		}
		if !json.Valid(doc) {
			return
		}
		want, ok := refFlatten(doc)
		if !ok {
			return
		}
		if err != nil {
			t.Fatalf("FromJSON(%q) = %v for a valid JSON object", doc, err)
		}
		if ev.Flags&(event.FlagFieldsDropped|event.FlagTruncated) != 0 {
			return
		}
		got := fieldMap(&ev)
		if len(got) != len(want) {
			t.Fatalf("FromJSON(%q) fields = %q, want %v", doc, got, want)
		}
		for name, w := range want {
			g, ok := got[name]
			if !ok {
				t.Fatalf("FromJSON(%q): no field %q (want %v); got %q", doc, name, w, got)
			}
			if s, isString := w.(string); isString {
				if g != s {
					t.Fatalf("FromJSON(%q) %q = %q, want %q", doc, name, g, s)
				}
				continue
			}
			var gv any // an array: compare as data
			if err := json.Unmarshal([]byte(g), &gv); err != nil || !reflect.DeepEqual(normNumbers(gv), normNumbers(w)) {
				t.Fatalf("FromJSON(%q) %q = %s, want %v (%v)", doc, name, g, w, err)
			}
		}
	})
}

// normNumbers turns float64 values into their text, so that arrays decoded
// with and without UseNumber compare equal.
func normNumbers(v any) any {
	switch x := v.(type) {
	case []any:
		for i := range x {
			x[i] = normNumbers(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = normNumbers(x[k])
		}
	case float64:
		return fmt.Sprint(x)
	}
	return v
}

// realJSONSamples returns up to n JSON lines from the shared data: Suricata
// EVE, Zeek JSON and the OTRF Windows event sets (Winlogbeat-shaped).
func realJSONSamples(tb testing.TB, n int) [][]byte {
	tb.Helper()
	var out [][]byte
	add := func(r io.Reader, max int) {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 0, 1<<20), MaxJSONBytes)
		for i := 0; i < max && sc.Scan(); i++ {
			out = append(out, bytes.Clone(sc.Bytes()))
		}
	}
	for _, rel := range []string{"suricata-eve/surevego/testdata/eve.json", "suricata-eve/fever/util/testdata/jsonparse_eve.json"} {
		f, err := os.Open(shareddata.Path(tb, rel))
		if err != nil {
			tb.Fatal(err)
		}
		add(f, n/4)
		f.Close()
	}
	zeek, err := filepath.Glob(filepath.Join(shareddata.Dir(tb), "zeek-wrccdc-2018/zeek-json/*.json.gz"))
	if err != nil || len(zeek) == 0 {
		tb.Fatalf("no Zeek JSON samples: %v", err)
	}
	for _, p := range zeek[:min(3, len(zeek))] {
		f, err := os.Open(p)
		if err != nil {
			tb.Fatal(err)
		}
		zr, err := gzip.NewReader(f)
		if err != nil {
			tb.Fatalf("%s: %v", p, err)
		}
		add(zr, n/12)
		f.Close()
	}
	out = append(out, otrfSamples(tb, n/4)...)
	return out
}

// otrfSamples returns up to n JSON lines of one OTRF Windows data set.
func otrfSamples(tb testing.TB, n int) [][]byte {
	tb.Helper()
	p := shareddata.Path(tb, "otrf-security-datasets/datasets/atomic/windows/defense_evasion/host/psh_mshta_html_application_execution.zip")
	zr, err := zip.OpenReader(p)
	if err != nil {
		tb.Fatalf("%s: %v", p, err)
	}
	defer zr.Close()
	var out [][]byte
	for _, zf := range zr.File {
		r, err := zf.Open()
		if err != nil {
			tb.Fatal(err)
		}
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 0, 1<<20), MaxJSONBytes)
		for len(out) < n && sc.Scan() {
			out = append(out, bytes.Clone(sc.Bytes()))
		}
		r.Close()
	}
	return out
}

func TestFromJSONRealSamples(t *testing.T) {
	t.Parallel()
	samples := realJSONSamples(t, 400)
	if len(samples) < 100 {
		t.Fatalf("only %d samples read", len(samples))
	}
	for i, doc := range samples {
		var ev event.Event
		if err := FromJSON(doc, &ev); err != nil {
			t.Fatalf("sample %d %.80q: %v", i, doc, err)
		}
		want, ok := refFlatten(doc)
		if !ok {
			t.Fatalf("sample %d: the reference refused it", i)
		}
		if len(ev.Fields) != len(want) {
			t.Errorf("sample %d: %d fields, reference %d", i, len(ev.Fields), len(want))
		}
		if ev.Time == 0 {
			t.Errorf("sample %d %.120q: no time found", i, doc)
		}
	}
}

// beatsDoc is a Filebeat 8 document of about 500 bytes, as in the brief.
const beatsDoc = `{"@timestamp":"2024-05-01T12:00:00.123Z","message":"Accepted publickey for alice from 10.1.2.3 port 50022 ssh2","log":{"offset":12345,"file":{"path":"/var/log/auth.log"}},"input":{"type":"filestream"},"ecs":{"version":"8.0.0"},"host":{"name":"web-01","hostname":"web-01","os":{"family":"debian","name":"Debian GNU/Linux"}},"agent":{"type":"filebeat","version":"8.13.2","id":"3f1c2a9e-7f1d-4c3b-9a2e-1d2c3b4a5f6e","name":"web-01"},"event":{"dataset":"system.auth"},"tags":["beats_input"]}`

func BenchmarkFromJSONBeats(b *testing.B) {
	doc := []byte(beatsDoc)
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	var ev event.Event
	for b.Loop() {
		ev = event.Event{}
		if err := FromJSON(doc, &ev); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFromJSONWindows(b *testing.B) {
	docs := otrfSamples(b, 200)
	var n int64
	for _, d := range docs {
		n += int64(len(d))
	}
	b.SetBytes(n / int64(len(docs)))
	b.ReportAllocs()
	var ev event.Event
	i := 0
	for b.Loop() {
		ev = event.Event{}
		if err := FromJSON(docs[i%len(docs)], &ev); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func TestJSONArray(t *testing.T) {
	t.Parallel()
	tests := []struct {
		doc   string
		elems []string
		rest  int
		err   string
	}{
		{` [ {"a":1} , 2,"x" ,[3] ] `, []string{`{"a":1}`, `2`, `"x"`, `[3]`}, 26, ""},
		{`[]`, nil, 2, ""},
		{`[{"a":1},{"b":tru},{"c":3}]`, []string{`{"a":1}`}, 9, "invalid literal"},
		{`[{"a":1}`, []string{`{"a":1}`}, 8, "unterminated array"},
		{`[{"a":1}] x`, []string{`{"a":1}`}, 10, "text after the JSON array"},
		{`{"a":1}`, nil, 0, "not a JSON array"},
	}
	for _, tt := range tests {
		var got []string
		rest, err := JSONArray([]byte(tt.doc), func(e []byte) bool {
			got = append(got, string(e))
			return true
		})
		if !reflect.DeepEqual(got, tt.elems) || rest != tt.rest {
			t.Errorf("JSONArray(%s) = %q rest %d, want %q rest %d", tt.doc, got, rest, tt.elems, tt.rest)
		}
		if tt.err == "" && err != nil || tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("JSONArray(%s) error = %v, want %q", tt.doc, err, tt.err)
		}
	}
}

// A pooled parser that indexed a large document must not remember its
// fields in the next one.
func TestFromJSONReuseAfterManyFields(t *testing.T) {
	var b strings.Builder
	b.WriteString("{")
	for i := range 100 {
		fmt.Fprintf(&b, `"reuse%d":%d,`, i, i)
	}
	b.WriteString(`"reuse0":"last"}`)
	for range 5 {
		var big event.Event
		if err := FromJSON([]byte(b.String()), &big); err != nil {
			t.Fatal(err)
		}
		if v, _ := big.Lookup("reuse0"); len(big.Fields) != 100 || v != "last" {
			t.Fatalf("big document: %d fields, reuse0 = %q", len(big.Fields), v)
		}
		var small event.Event
		if err := FromJSON([]byte(`{"reuse5":"x","reuse5":"y","other":1}`), &small); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(map[string]string{"reuse5": "y", "other": "1"}, fieldMap(&small)); diff != "" {
			t.Fatalf("small document after a big one (-want +got):\n%s", diff)
		}
	}
}
