// SPDX-License-Identifier: Apache-2.0

package evtx_test

import (
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/koban-csirt/koban/internal/evtx"
	"github.com/koban-csirt/koban/internal/shareddata"
)

// readAll parses a file and returns copies of its records.
func readAll(tb testing.TB, path string) ([]evtx.Record, []*evtx.Warning) {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		tb.Fatal(err)
	}
	return readFrom(tb, path, f, fi.Size())
}

// readFrom parses what r holds and returns copies of its records.
func readFrom(tb testing.TB, name string, ra io.ReaderAt, size int64) ([]evtx.Record, []*evtx.Warning) {
	tb.Helper()
	r, err := evtx.NewReader(ra, size)
	if err != nil {
		tb.Fatalf("NewReader(%s): %v", name, err)
	}
	var recs []evtx.Record
	var warns []*evtx.Warning
	err = r.Records(func(rec *evtx.Record) error {
		c := *rec
		c.Fields = slices.Clone(rec.Fields)
		recs = append(recs, c)
		return nil
	}, func(w *evtx.Warning) { warns = append(warns, w) })
	if err != nil {
		tb.Fatalf("Records(%s): %v", name, err)
	}
	return recs, warns
}

// evtxFiles lists every .evtx file below dir.
func evtxFiles(tb testing.TB, dir string) []string {
	tb.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.EqualFold(filepath.Ext(p), ".evtx") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return files
}

// TestAllSharedFiles parses every EVTX file of the shared data and expects
// no warning: none of them is corrupt.
func TestAllSharedFiles(t *testing.T) {
	dir := shareddata.Dir(t)
	files := evtxFiles(t, dir)
	if len(files) < 600 {
		t.Fatalf("found %d .evtx files under %s, want the ~637 of the shared data", len(files), dir)
	}
	var records, fields int
	for _, path := range files {
		recs, warns := readAll(t, path)
		rel, _ := filepath.Rel(dir, path)
		for _, w := range warns {
			t.Errorf("%s: %v", rel, w)
		}
		for _, rec := range recs {
			checkRecord(t, rel, rec)
			fields += len(rec.Fields)
		}
		records += len(recs)
	}
	t.Logf("%d files, %d records, %d fields, no warnings", len(files), records, fields)
}

// checkRecord checks what holds for every well-formed record: the System
// fields every event has, names unique and non-empty, values valid UTF-8.
func checkRecord(t *testing.T, file string, rec evtx.Record) {
	t.Helper()
	for _, name := range []string{"EventID", "Provider_Name", "TimeCreated", "EventRecordID", "Computer"} {
		if !hasField(rec, name) {
			t.Errorf("%s: record %d lacks %s: %v", file, rec.ID, name, rec.Fields)
		}
	}
	if v, _ := field(rec, "EventRecordID"); v != strconv.FormatUint(rec.ID, 10) {
		t.Errorf("%s: record ID %d, EventRecordID field %q", file, rec.ID, v)
	}
	seen := make(map[string]bool, len(rec.Fields))
	for _, f := range rec.Fields {
		if f.Name == "" || seen[f.Name] {
			t.Errorf("%s: record %d: field name %q empty or repeated", file, rec.ID, f.Name)
		}
		seen[f.Name] = true
		if !utf8.ValidString(f.Value) {
			t.Errorf("%s: record %d: field %s is not valid UTF-8: %q", file, rec.ID, f.Name, f.Value)
		}
	}
	if rec.Time < time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano() {
		t.Errorf("%s: record %d: header time %v", file, rec.ID, time.Unix(0, rec.Time).UTC())
	}
}

func field(rec evtx.Record, name string) (string, bool) {
	for _, f := range rec.Fields {
		if f.Name == name {
			return f.Value, true
		}
	}
	return "", false
}

func hasField(rec evtx.Record, name string) bool {
	_, ok := field(rec, name)
	return ok
}

// TestSigmaRegressionData compares every record of the SigmaHQ regression
// cases with the evtx_dump JSON shipped beside it.
func TestSigmaRegressionData(t *testing.T) {
	dir := shareddata.Path(t, "sigma/regression_data")
	var cases, records, values int
	for _, path := range evtxFiles(t, dir) {
		jsonPath := strings.TrimSuffix(path, filepath.Ext(path)) + ".json"
		if _, err := os.Stat(jsonPath); err != nil {
			continue
		}
		rel, _ := filepath.Rel(dir, path)
		cases++
		docs := readJSONDocs(t, jsonPath)
		recs, warns := readAll(t, path)
		for _, w := range warns {
			t.Errorf("%s: %v", rel, w)
		}
		if len(recs) != len(docs) {
			t.Errorf("%s: %d records, the JSON has %d", rel, len(recs), len(docs))
			continue
		}
		for i, doc := range docs {
			want := expectedFields(t, rel, doc)
			got := recs[i]
			records++
			for _, w := range want {
				values++
				v, ok := field(got, w.name)
				switch {
				case w.null && ok && v != "":
					t.Errorf("%s: record %d (id %d): field %s = %q, want it absent (null in the JSON)", rel, i, got.ID, w.name, v)
				case !w.null && !ok:
					t.Errorf("%s: record %d (id %d): field %s missing, want %q", rel, i, got.ID, w.name, w.value)
				case !w.null && v != w.value:
					t.Errorf("%s: record %d (id %d): field %s = %q, want %q", rel, i, got.ID, w.name, v, w.value)
				}
			}
		}
	}
	if cases < 150 {
		t.Errorf("found %d regression cases with JSON, want the ~162 of the shared data", cases)
	}
	t.Logf("%d cases, %d records, %d values compared", cases, records, values)
}

// readJSONDocs reads the concatenated pretty-printed JSON documents of a
// regression case.
func readJSONDocs(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := json.NewDecoder(f)
	dec.UseNumber()
	var docs []map[string]any
	for {
		var m map[string]any
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			t.Fatalf("%s: document %d: %v", path, len(docs)+1, err)
		}
		docs = append(docs, m)
	}
}

type wantField struct {
	name, value string
	null        bool
}

// expectedFields maps one evtx_dump document to the field names of the
// package doc: System children by name, attributes as Element_Attribute
// (TimeCreated's SystemTime as TimeCreated), EventData items by name,
// UserData leaves by name.
func expectedFields(t *testing.T, file string, doc map[string]any) []wantField {
	t.Helper()
	ev, ok := doc["Event"].(map[string]any)
	if !ok {
		t.Fatalf("%s: document without Event", file)
	}
	var out []wantField
	add := func(name string, v any) {
		switch v := v.(type) {
		case nil:
			out = append(out, wantField{name: name, null: true})
		case json.Number:
			out = append(out, wantField{name: name, value: v.String()})
		case string:
			out = append(out, wantField{name: name, value: v})
		case bool:
			out = append(out, wantField{name: name, value: map[bool]string{true: "true", false: "false"}[v]})
		default:
			t.Fatalf("%s: field %s has a value of type %T, not handled", file, name, v)
		}
	}
	if sys, ok := ev["System"].(map[string]any); ok {
		for k, v := range sys {
			obj, isObj := v.(map[string]any)
			if !isObj {
				add(k, v)
				continue
			}
			for ok2, v2 := range obj {
				switch ok2 {
				case "#text":
					add(k, v2)
				case "#attributes":
					for a, av := range v2.(map[string]any) {
						if k == "TimeCreated" && a == "SystemTime" {
							add(k, av)
						} else {
							add(k+"_"+a, av)
						}
					}
				}
			}
		}
	}
	if ed, ok := ev["EventData"].(map[string]any); ok {
		for k, v := range ed {
			if k == "#attributes" {
				continue // <EventData Name="…">: not rendered to a field
			}
			if obj, isObj := v.(map[string]any); isObj {
				v = obj["#text"]
			}
			add(k, v)
		}
	}
	if ud, ok := ev["UserData"].(map[string]any); ok {
		var walk func(name string, v any)
		walk = func(name string, v any) {
			obj, isObj := v.(map[string]any)
			if !isObj {
				add(name, v)
				return
			}
			for k, v2 := range obj {
				if k != "#attributes" {
					walk(k, v2)
				}
			}
		}
		for _, wrapper := range ud {
			if obj, ok := wrapper.(map[string]any); ok {
				for k, v := range obj {
					if k != "#attributes" {
						walk(k, v)
					}
				}
			}
		}
	}
	return out
}
