// SPDX-License-Identifier: Apache-2.0

package file

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"

	"github.com/koban-csirt/koban/internal/event"
	"github.com/koban-csirt/koban/internal/shareddata"
)

// seed adds the first bytes of shared sample files to f's corpus.
func seed(f *testing.F, rels ...string) {
	dir, err := shareddata.Find()
	if err != nil {
		f.Fatal(err)
	}
	for _, r := range rels {
		var b []byte
		if filepath.Ext(r) == ".gz" {
			b = readAll(f, filepath.Join(dir, r))
		} else if b, err = os.ReadFile(filepath.Join(dir, r)); err != nil {
			f.Fatal(err)
		}
		f.Add(b[:min(len(b), 2<<10)])
	}
}

// fuzzImport runs one format over data with small limits and checks what
// every import must: no panic, no error, events with text values and their
// raw bytes.
func fuzzImport(t *testing.T, format Format, data []byte) {
	sum, evs, err := importBytes("fuzz", data, Options{Format: format, MaxLineBytes: 4096, Batch: 7})
	if err != nil && !bytes.HasPrefix(data, gzipMagic) { // damaged gzip is an error
		t.Fatalf("Import: %v", err)
	}
	if int(sum.Events) != len(evs) {
		t.Fatalf("summary %d events, sink %d", sum.Events, len(evs))
	}
	for i := range evs {
		e := &evs[i]
		if len(e.Raw) == 0 || e.ID.IsZero() || e.Time == 0 {
			t.Fatalf("event %d: raw %q id %s time %d", i, e.Raw, e.ID, e.Time)
		}
		if e.Flags.Has(event.FlagTruncated) && len(e.Raw) > 4096 {
			t.Fatalf("event %d: cut to %d bytes", i, len(e.Raw))
		}
		for _, f := range e.Fields {
			if !utf8.ValidString(f.Value) || !utf8.ValidString(f.Name()) {
				t.Fatalf("event %d: field %q = %q is not UTF-8", i, f.Name(), f.Value)
			}
		}
	}
}

func FuzzCSV(f *testing.F) {
	seed(f, "loghub/Linux/Linux_2k.log_structured.csv", "loghub/Mac/Mac_2k.log_structured.csv")
	f.Add([]byte("a;b\n\"x\"\"y\";\"open\n1;2\n"))
	f.Add([]byte("\xef\xbb\xbf\x93\xfa\x8e\x9e,\x83\x86\x81\x5b\x83\x55\x81\x5b\n2024/1/5 9:03,\x8eR\x93c\n"))
	f.Add([]byte("a,b\n\"x\"tail,\xff\n,\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzImport(t, FormatCSV, data)
		Detect("x.csv", data)
	})
}

func FuzzZeek(f *testing.F) {
	seed(f, "zeek-wrccdc-2018/zeek-default/analyzer.log.gz", "zeek-wrccdc-2018/zeek-default/ntp.log.gz", "zeek-wrccdc-2018/zeek-default/smb_mapping.log.gz")
	f.Add([]byte("#separator \\x2c\n#fields,ts,a\n1.5,\\xe6\\x97\\xa5\\xff\n"))
	f.Add([]byte("#separator \\x\n#fields\n\\\\\\x0\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzImport(t, FormatZeek, data)
		Detect("x.log", data)
	})
}

func FuzzJSONDocument(f *testing.F) {
	seed(f, "suricata-eve/surevego/testdata/eve_broken.json")
	f.Add([]byte("[{\"a\":1},\n{\"b\":[1,{\"c\":\"]\"}]}, 3, \"x\"]"))
	f.Add([]byte("{\n \"a\": {\"b\": [}\n}\n{\"c\":1}"))
	f.Add([]byte("[[[[[[[[[[[[[[]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzImport(t, FormatJSON, data)
		fuzzImport(t, FormatJSONL, data)
	})
}
