// SPDX-License-Identifier: Apache-2.0

package intel

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/koban-csirt/koban/internal/shareddata"
)

// loaded is what a test compares of a loaded indicator.
type loaded struct {
	Kind    Kind
	Value   string
	Note    string
	Expires time.Time
}

func brief(list []Indicator) []loaded {
	var out []loaded
	for _, ind := range list {
		out = append(out, loaded{ind.Kind, ind.Value, ind.Note, ind.Expires})
	}
	return out
}

// errLines returns "line:message" for each of errs, failing on errors that
// are no LineError of file name or whose message is missing.
func errLines(t *testing.T, name string, errs []error) []string {
	t.Helper()
	var out []string
	for _, err := range errs {
		var le *LineError
		if !errors.As(err, &le) {
			t.Errorf("error %v is no *LineError", err)
			continue
		}
		if le.File != name {
			t.Errorf("error %v names file %q, want %q", err, le.File, name)
		}
		out = append(out, fmt.Sprintf("%d:%s", le.Line, checkMessage(t, err).Msg))
	}
	return out
}

func TestLoadText(t *testing.T) {
	t.Parallel()
	in := "\ufeff# koban indicator list\n" +
		"\n" +
		"192.0.2.1\n" + // 3
		"  hxxp://evil[.]example/payload.exe  \r\n" +
		"domain,Bad.Example,phishing kit, seen 2026-04\n" + // 5
		"ip-dst,198.51.100.7\n" +
		"sha256,E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855 # empty file\n" + // 7
		"   # an indented comment\n" +
		"not an indicator\n" + // 9
		"md5,xyz\n" +
		"203.0.113.0/24,scanner range\n" + // 11
		"http://evil.example/a?x=1,2\n" +
		"yara,rule x\n" + // 13
		"a@evil.example\t# reported by staff\n" +
		"localhost\n" + // 15
		"evil\xff.example\n" +
		"last.example" // 17, no newline
	list, errs := Load(strings.NewReader(in), "team.txt")
	want := []loaded{
		{Kind: KindIP, Value: "192.0.2.1"},
		{Kind: KindURL, Value: "http://evil.example/payload.exe"},
		{Kind: KindDomain, Value: "bad.example", Note: "phishing kit, seen 2026-04"},
		{Kind: KindIP, Value: "198.51.100.7"},
		{Kind: KindSHA256, Value: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", Note: "empty file"},
		{Kind: KindCIDR, Value: "203.0.113.0/24", Note: "scanner range"},
		{Kind: KindURL, Value: "http://evil.example/a?x=1,2"},
		{Kind: KindEmail, Value: "a@evil.example", Note: "reported by staff"},
		{Kind: KindDomain, Value: "last.example"},
	}
	if diff := cmp.Diff(want, brief(list)); diff != "" {
		t.Errorf("Load indicators (-want +got):\n%s", diff)
	}
	wantErrs := []string{"9:intel.unknown_value", "10:intel.bad_hash_digit", "13:intel.unknown_value",
		"15:intel.unknown_value", "16:intel.invalid_text"}
	if diff := cmp.Diff(wantErrs, errLines(t, "team.txt", errs)); diff != "" {
		t.Errorf("Load errors (-want +got):\n%s\n%v", diff, errs)
	}
	for _, ind := range list {
		if ind.Source != "team.txt" {
			t.Errorf("indicator %q has source %q, want the list's name", ind.Value, ind.Source)
		}
	}
	if len(errs) > 0 {
		if got := errs[0].Error(); !strings.HasPrefix(got, "intel: team.txt:9: ") {
			t.Errorf("error text %q does not start with file and line", got)
		}
	}
}

func TestLoadCSV(t *testing.T) {
	t.Parallel()
	in := "# exported 2026-05-01\n" +
		"Kind, Value, Note, Expires\n" +
		"ip,192.0.2.1,c2,2026-12-31\n" + // 3
		"domain,evil.example,\"phishing, kit\",\n" +
		",hxxps://evil[.]example/login,,2026-06-01T12:00:00Z\n" + // 5
		"ip,192.0.2.300,bad,\n" +
		"ip,192.0.2.2,,next year\n" + // 7
		"filename,invoice.exe,,\n" +
		",,,\n" + // 9
		"ip,\"192.0.2.3\n" +
		"# the quote above is never closed\n"
	list, errs := Load(strings.NewReader(in), "feed.csv")
	want := []loaded{
		{Kind: KindIP, Value: "192.0.2.1", Note: "c2", Expires: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)},
		{Kind: KindDomain, Value: "evil.example", Note: "phishing, kit"},
		{Kind: KindURL, Value: "https://evil.example/login", Expires: time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)},
	}
	if diff := cmp.Diff(want, brief(list)); diff != "" {
		t.Errorf("Load indicators (-want +got):\n%s", diff)
	}
	wantErrs := []string{"6:intel.bad_ip", "7:intel.bad_expires", "8:intel.unknown_kind", "9:intel.empty", "10:intel.bad_csv"}
	if diff := cmp.Diff(wantErrs, errLines(t, "feed.csv", errs)); diff != "" {
		t.Errorf("Load errors (-want +got):\n%s\n%v", diff, errs)
	}
}

func TestLoadLimits(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", MaxLineLen+10)
	in := "192.0.2.1\n" + long + "\n192.0.2.2\n"
	list, errs := Load(strings.NewReader(in), "x")
	if len(list) != 2 {
		t.Errorf("Load kept %d indicators around a long line, want 2", len(list))
	}
	if diff := cmp.Diff([]string{"2:intel.line_too_long"}, errLines(t, "x", errs)); diff != "" {
		t.Errorf("Load errors (-want +got):\n%s", diff)
	}

	var b strings.Builder
	for range MaxLoadErrors + 5 {
		b.WriteString("???\n")
	}
	_, errs = Load(strings.NewReader(b.String()), "junk")
	if len(errs) != MaxLoadErrors+1 {
		t.Fatalf("Load of %d bad lines returned %d errors, want %d", MaxLoadErrors+5, len(errs), MaxLoadErrors+1)
	}
	last := checkMessage(t, errs[len(errs)-1])
	if last.Msg != "intel.more_errors" || fmt.Sprint(last.Args) != "[count 5]" {
		t.Errorf("last error = %v, want intel.more_errors with count 5", last)
	}

	_, errs = Load(io.MultiReader(strings.NewReader("192.0.2.1\n"), errReader{}), "broken")
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "read broken after line 1") {
		t.Errorf("Load of a failing reader: errors %v, want one naming the list and line", errs)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

// TestLoadMISPExports loads MISP events from the shared data as MISP's CSV
// export writes them: attributes of the kinds koban knows load, with their
// values normalised; the others are reported on their own lines.
func TestLoadMISPExports(t *testing.T) {
	t.Parallel()
	for _, rel := range []string{
		"misp/PyMISP/tests/reportlab_testfiles/to_delete1.json",
		"misp/PyMISP/tests/reportlab_testfiles/to_delete3.json",
		"misp/PyMISP/tests/reportlab_testfiles/sighting_1.json",
		"misp/MISP/tests/event.json",
	} {
		t.Run(rel, func(t *testing.T) {
			t.Parallel()
			b, err := os.ReadFile(shareddata.Path(t, rel))
			if err != nil {
				t.Fatal(err)
			}
			var doc struct {
				Event struct {
					Attribute []struct{ UUID, Type, Value, Comment string }
				}
			}
			if err := json.Unmarshal(b, &doc); err != nil {
				t.Fatal(err)
			}
			var sb strings.Builder
			w := csv.NewWriter(&sb)
			_ = w.Write([]string{"uuid", "event_id", "category", "type", "value", "comment", "to_ids", "date"}) // a strings.Builder cannot fail
			var want []loaded
			var wantErrs []string
			for _, a := range doc.Event.Attribute {
				w.Flush()
				line := strings.Count(sb.String(), "\n") + 1 // comments may span lines
				_ = w.Write([]string{a.UUID, "1", "Network activity", a.Type, a.Value, a.Comment, "1", "1700000000"})
				k, ok := ParseKind(a.Type)
				if !ok {
					wantErrs = append(wantErrs, fmt.Sprintf("%d:intel.unknown_kind", line))
					continue
				}
				v, err := Normalize(k, a.Value)
				if err != nil {
					t.Fatalf("attribute %s %q of %s does not normalise: %v", a.Type, a.Value, rel, err)
				}
				want = append(want, loaded{Kind: k, Value: v, Note: a.Comment})
			}
			w.Flush()
			if len(want) == 0 {
				t.Fatalf("%s has no attribute koban knows", rel)
			}
			list, errs := Load(strings.NewReader(sb.String()), "misp.csv")
			if diff := cmp.Diff(want, brief(list)); diff != "" {
				t.Errorf("Load indicators (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(wantErrs, errLines(t, "misp.csv", errs)); diff != "" {
				t.Errorf("Load errors (-want +got):\n%s", diff)
			}
		})
	}
}

// TestLoadKindColumns reads PyMISP's CSV test files, whose columns are
// named after hash kinds.
func TestLoadKindColumns(t *testing.T) {
	t.Parallel()
	for _, rel := range []string{"misp/PyMISP/tests/csv_testfiles/valid_fieldnames.csv", "misp/PyMISP/tests/csv_testfiles/invalid_fieldnames.csv"} {
		f, err := os.Open(shareddata.Path(t, rel))
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		list, errs := Load(strings.NewReader(string(b)), rel)
		if len(errs) > 0 {
			t.Errorf("Load(%s): %v", rel, errs)
		}
		// Every hex cell of the file is one indicator of its length's kind.
		var want []loaded
		r := csv.NewReader(strings.NewReader(string(b)))
		r.TrimLeadingSpace = true
		recs, err := r.ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		for _, rec := range recs[1:] {
			for _, c := range rec {
				if k, err := Guess(c); err == nil && (k == KindMD5 || k == KindSHA1 || k == KindSHA256) {
					want = append(want, loaded{Kind: k, Value: strings.ToLower(c)})
				}
			}
		}
		if len(want) == 0 {
			t.Fatalf("%s holds no hash", rel)
		}
		if diff := cmp.Diff(want, brief(list)); diff != "" {
			t.Errorf("Load(%s) (-want +got):\n%s", rel, diff)
		}
	}
}

// TestLoadWarningLists feeds MISP warning lists (real address, range and
// host name lists) to Load one entry per line: each line is kept or
// reported, never lost, and kept entries have the list's kind.
func TestLoadWarningLists(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"public-dns-v4", "public-dns-v6", "amazon-aws", "dynamic-dns", "tranco10k", "sinkholes", "url-shortener"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			entries, typ := warningList(t, name)
			list, errs := Load(strings.NewReader(strings.Join(entries, "\n")), name)
			if len(list)+len(errs) != len(entries) {
				t.Errorf("%d entries gave %d indicators and %d errors", len(entries), len(list), len(errs))
			}
			for _, ind := range list {
				ok := ind.Kind == KindDomain
				if typ == "cidr" {
					ok = ind.Kind == KindIP || ind.Kind == KindCIDR
				}
				if !ok {
					t.Errorf("%s entry %q loaded as %s", typ, ind.Value, ind.Kind)
				}
			}
			for _, err := range errs {
				t.Logf("skipped: %v", err)
			}
			if len(errs) > len(entries)/100 {
				t.Errorf("%d of %d entries failed to load", len(errs), len(entries))
			}
		})
	}
}

// warningList reads a MISP warning list: its entries and type.
func warningList(t testing.TB, name string) ([]string, string) {
	t.Helper()
	b, err := os.ReadFile(shareddata.Path(t, "misp-warninglists/lists/"+name+"/list.json"))
	if err != nil {
		t.Fatal(err)
	}
	var wl struct {
		Type string
		List []string
	}
	if err := json.Unmarshal(b, &wl); err != nil {
		t.Fatal(err)
	}
	return wl.List, wl.Type
}
