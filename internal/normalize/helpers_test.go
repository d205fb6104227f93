// SPDX-License-Identifier: Apache-2.0

package normalize

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/koban-csirt/koban/internal/event"
)

// received is the received time the tests give events: after every sample.
var received = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()

// newEvent builds an event from name, value pairs.
func newEvent(kv ...string) *event.Event {
	e := &event.Event{Received: received}
	for i := 0; i+1 < len(kv); i += 2 {
		e.Add(kv[i], kv[i+1])
	}
	return e
}

// fields returns e's fields as a map.
func fields(e *event.Event) map[string]string {
	m := map[string]string{}
	for _, f := range e.Fields {
		m[f.Name()] = f.Value
	}
	return m
}

// checkFields fails t unless e has each of want's fields with its value; a
// want value of "<absent>" means the field must be missing.
func checkFields(t *testing.T, e *event.Event, want map[string]string) {
	t.Helper()
	got := fields(e)
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v, ok := got[k]
		switch {
		case want[k] == "<absent>" && ok:
			t.Errorf("field %s = %q, want it absent", k, v)
		case want[k] != "<absent>" && (!ok || v != want[k]):
			t.Errorf("field %s = %q (present %v), want %q", k, v, ok, want[k])
		}
	}
}

// flatten adds v's scalars to e under dotted names, as intake flattens JSON:
// numbers keep their text, arrays of scalars are joined with commas, and an
// evtx_dump "#text" member stands for its element.
func flatten(e *event.Event, prefix string, v any) {
	switch x := v.(type) {
	case map[string]any:
		if t, ok := x["#text"]; ok {
			flatten(e, prefix, t)
			return
		}
		for k, c := range x {
			name := k
			if prefix != "" {
				name = prefix + "." + k
			}
			flatten(e, name, c)
		}
	case []any:
		var parts []string
		for _, c := range x {
			switch c.(type) {
			case map[string]any, []any:
				b, _ := json.Marshal(c)
				parts = append(parts, string(b))
			default:
				parts = append(parts, scalar(c))
			}
		}
		e.Add(prefix, strings.Join(parts, ","))
	case nil:
	default:
		e.Add(prefix, scalar(x))
	}
}

func scalar(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return fmt.Sprint(x)
	}
	return fmt.Sprint(v)
}

// decodeAll reads concatenated JSON documents (evtx_dump output, NDJSON).
func decodeAll(t testing.TB, r io.Reader) []map[string]any {
	t.Helper()
	return decodeN(t, r, -1)
}

// decodeN reads up to limit documents (all when limit < 0).
func decodeN(t testing.TB, r io.Reader, limit int) []map[string]any {
	t.Helper()
	dec := json.NewDecoder(bufio.NewReader(r))
	dec.UseNumber()
	var out []map[string]any
	for len(out) != limit {
		var m map[string]any
		err := dec.Decode(&m)
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("decode JSON document %d: %v", len(out)+1, err)
		}
		out = append(out, m)
	}
	return out
}

// readDocs reads the JSON documents of a file, gunzipping .gz files.
func readDocs(t testing.TB, path string) []map[string]any {
	t.Helper()
	return readDocsN(t, path, -1)
}

// readDocsN reads the first limit documents of a file.
func readDocsN(t testing.TB, path string, limit int) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	var r io.Reader = bytes.NewReader(b)
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(r)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		r = zr
	}
	return decodeN(t, r, limit)
}

// jsonEvent builds an event from one flattened JSON document.
func jsonEvent(doc map[string]any) *event.Event {
	e := &event.Event{Received: received}
	flatten(e, "", doc)
	return e
}

// evtxEvent builds an event from an evtx_dump JSON rendering the way the
// EVTX parser renders a record: System elements by name, System attributes
// as Element_Attribute (Provider's Name is Provider_Name, TimeCreated's
// SystemTime is TimeCreated), EventData and UserData items by name.
func evtxEvent(doc map[string]any) *event.Event {
	e := &event.Event{Received: received, Log: event.LogSource{Product: "windows"}}
	ev, _ := doc["Event"].(map[string]any)
	sys, _ := ev["System"].(map[string]any)
	for k, v := range sys {
		m, ok := v.(map[string]any)
		if !ok {
			if v != nil {
				e.Add(k, scalar(v))
			}
			continue
		}
		if t, ok := m["#text"]; ok {
			e.Add(k, scalar(t))
			continue
		}
		attrs, _ := m["#attributes"].(map[string]any)
		for a, av := range attrs {
			switch {
			case k == "TimeCreated" && a == "SystemTime":
				e.Add("TimeCreated", scalar(av))
			default:
				e.Add(k+"_"+a, scalar(av))
			}
		}
	}
	for _, sec := range []string{"EventData", "UserData"} {
		data, _ := ev[sec].(map[string]any)
		if sec == "UserData" && len(data) == 1 {
			for _, inner := range data {
				data, _ = inner.(map[string]any)
			}
		}
		for k, v := range data {
			if k == "#attributes" {
				continue
			}
			if v == nil {
				e.Add(k, "")
				continue
			}
			if _, ok := v.(map[string]any); ok {
				continue
			}
			e.Add(k, scalar(v))
		}
	}
	return e
}
