// SPDX-License-Identifier: Apache-2.0

package incident

import (
	"bufio"
	"os"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/text/unicode/norm"

	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/shareddata"
)

func TestScrub(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		in        string
		multiline bool
		want      string
	}{
		{"plain", "Ransomware on FILESRV", false, "Ransomware on FILESRV"},
		{"html is kept", `<script>alert("x")</script> & <b>`, false, `<script>alert("x")</script> & <b>`},
		{"japanese", "　経理部のPCで不審なメール　", false, "経理部のPCで不審なメール"},
		{"line ends in a line", "a\r\nb\nc\rd\te", false, "a b c d e"},
		{"line ends in text", "a\r\nb\rc\n\td", true, "a\nb\nc\n\td"},
		{"NUL and C0", "a\x00b\x07c\x1bd", true, "abcd"},
		{"DEL and C1", "a\x7fb\u0085c\u009fd", false, "abcd"},
		{"bidi overrides", "invoice\u202egpj.exe \u2066x\u2069", false, "invoicegpj.exe x"},
		{"invalid UTF-8", "a\xffb\xc3", false, "a\uFFFDb\uFFFD"},
		{"written U+FFFD kept", "a\uFFFDb", false, "a\uFFFDb"},
		{"NFC", "が", false, "が"},
		{"NFC after removal", "e\x00\u0301", false, "é"},
		{"zero width joiner kept", "👩\u200d💻", false, "👩\u200d💻"},
		{"only space", " \t\r\n ", true, ""},
	}
	for _, tt := range tests {
		if got := scrub(tt.in, tt.multiline); got != tt.want {
			t.Errorf("scrub(%s %q, multiline %v) = %q, want %q", tt.name, tt.in, tt.multiline, got, tt.want)
		}
	}
}

func TestClip(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{{"abc", 5, "abc"}, {"abc", 2, "ab"}, {"日本語です", 3, "日本語"}, {"日本語", 3, "日本語"}, {"", 0, ""}, {"a", 0, ""}} {
		if got := clip(c.in, c.n); got != c.want {
			t.Errorf("clip(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}

func TestInputCheck(t *testing.T) {
	t.Parallel()
	var c inputCheck
	long := strings.Repeat("あ", maxTitleLen+1)
	if got := c.line("title", long, maxTitleLen, true); utf8.RuneCountInString(got) != maxTitleLen {
		t.Errorf("line(too long) kept %d characters, want it cut to %d", utf8.RuneCountInString(got), maxTitleLen)
	}
	if got := c.line("title", strings.Repeat("あ", maxTitleLen), maxTitleLen, true); got == "" {
		t.Error("line(exactly the bound) refused")
	}
	c.line("title", " \x00 ", maxTitleLen, true)
	tags := c.list("tags", []string{"a", " a ", "", "b\x00", "b"}, maxItemLen, 1)
	fields := c.fields([]Field{{"Claim", "1"}, {"claim", "2"}, {"", "orphan value"}, {"", ""}, {" Police ", " 42 "}})
	techs := c.techniques([]string{"t1059.001", "T1059.001", "T1566", " t1003 ", "TA0001", "T1059.1", "", "T12345"})
	if diff := cmp.Diff([]string{"a"}, tags); diff != "" {
		t.Errorf("list(tags) (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]Field{{"Claim", "1"}, {"Police", "42"}}, fields); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"T1059.001", "T1566", "T1003"}, techs); diff != "" {
		t.Errorf("techniques (-want +got):\n%s", diff)
	}
	var got []string
	for _, f := range c.errs {
		if f.Kind != fault.Invalid {
			t.Errorf("fault %v is not Invalid", f)
		}
		got = append(got, f.Field+" "+f.Msg)
	}
	want := []string{
		"title incident.field_too_long",
		"title incident.field_required",
		"tags incident.field_too_many",
		"fields incident.field_twice",
		"fields incident.field_name_missing",
		"techniques incident.technique_invalid",
		"techniques incident.technique_invalid",
		"techniques incident.technique_invalid",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problems found (-want +got):\n%s", diff)
	}
}

func TestCanMove(t *testing.T) {
	t.Parallel()
	open := []Phase{PhaseTriage, PhaseAnalysis, PhaseContainment, PhaseEradication, PhaseRecovery, PhaseReview}
	for _, from := range Phases {
		for _, to := range Phases {
			want := from != to && from != PhaseClosed && to != PhaseClosed && to != PhaseTriage
			if got := CanMove(from, to); got != want {
				t.Errorf("CanMove(%s, %s) = %v, want %v", from, to, got, want)
			}
			back := from.order() > to.order()
			if got := MoveNeedsReason(from, to); got != back {
				t.Errorf("MoveNeedsReason(%s, %s) = %v, want %v", from, to, got, back)
			}
		}
	}
	for _, p := range open {
		if CanMove(p, "bogus") || CanMove("bogus", p) {
			t.Errorf("CanMove with an unknown phase and %s allowed", p)
		}
	}
}

func TestIPASteps(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		phase  Phase
		status Status
		flags  Flags
		want   []IPAStep
	}{
		{PhaseTriage, StatusOpen, Flags{PersonalData: true}, []IPAStep{IPADetect}},
		{PhaseAnalysis, StatusOpen, Flags{}, []IPAStep{IPADetect}},
		{PhaseContainment, StatusOpen, Flags{}, []IPAStep{IPADetect}},
		{PhaseContainment, StatusOpen, Flags{PersonalData: true}, []IPAStep{IPADetect, IPAReport}},
		{PhaseEradication, StatusOnHold, Flags{EUResidents: true}, []IPAStep{IPAReport, IPARecover}},
		{PhaseRecovery, StatusOpen, Flags{}, []IPAStep{IPARecover}},
		{PhaseReview, StatusOpen, Flags{}, []IPAStep{IPARecover}},
		{PhaseClosed, StatusClosed, Flags{PersonalData: true}, []IPAStep{IPARecover}},
	} {
		inc := Incident{Phase: c.phase, Status: c.status, Flags: c.flags}
		if diff := cmp.Diff(c.want, inc.IPASteps()); diff != "" {
			t.Errorf("IPASteps(%s, %s, %+v) (-want +got):\n%s", c.phase, c.status, c.flags, diff)
		}
	}
}

func TestFormatRef(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		year, n int
		want    string
	}{{2026, 1, "INC-2026-0001"}, {2026, 42, "INC-2026-0042"}, {2027, 9999, "INC-2027-9999"}, {2027, 12345, "INC-2027-12345"}} {
		if got := FormatRef(c.year, c.n); got != c.want {
			t.Errorf("FormatRef(%d, %d) = %q, want %q", c.year, c.n, got, c.want)
		}
	}
}

func TestBrief(t *testing.T) {
	t.Parallel()
	inc := Incident{ID: 1, Ref: "INC-2026-0001", Title: "t", Description: "secret details", Summary: "s",
		AffectedUsers: []string{"tanaka"}, Fields: []Field{{"claim", "1"}}, StatusReason: "waiting for police",
		Severity: SeverityHigh, Assessment: Assessment{Severity: SeverityHigh}, Override: Override{Severity: SeverityHigh, Reason: "r"}}
	b := inc.Brief()
	if b.Description != "" || b.Summary != "" || b.AffectedUsers != nil || b.Fields != nil || b.StatusReason != "" ||
		b.Override.Reason != "" || b.Assessment.Severity != "" {
		t.Errorf("Brief() = %+v, want the details cleared", b)
	}
	if b.Ref != inc.Ref || b.Title != inc.Title || b.Severity != inc.Severity {
		t.Errorf("Brief() = %+v, want reference, title and severity kept", b)
	}
}

// fuzzSeeds returns real text to start fuzzing from: log lines and threat
// intelligence descriptions.
func fuzzSeeds(tb testing.TB) []string {
	var out []string
	for _, rel := range []string{"loghub/OpenSSH/OpenSSH_2k.log", "loghub/Windows/Windows_2k.log",
		"misp/PyMISP/tests/mispevent_testfiles/event.json"} {
		f, err := os.Open(shareddata.Path(tb, rel))
		if err != nil {
			tb.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for i := 0; i < 5 && sc.Scan(); i++ {
			out = append(out, sc.Text())
		}
		f.Close()
	}
	return append(out, "経理部 <img src=x onerror=alert(1)>\r\n請求書.pdf\u202eexe", "\x00\x01\x7f\u0085\u2066", "e\u0301\x00\u0301",
		" \xff\xfe\u3000", strings.Repeat("長", 300))
}

// FuzzScrub: cleaning never panics, keeps no control characters, yields
// valid NFC UTF-8 without surrounding space, is idempotent, and the bounds
// hold.
func FuzzScrub(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s, true, 50)
		f.Add(s, false, 3)
	}
	f.Fuzz(func(t *testing.T, s string, multiline bool, n int) {
		out := scrub(s, multiline)
		if !utf8.ValidString(out) {
			t.Fatalf("scrub(%q) = %q: invalid UTF-8", s, out)
		}
		for _, r := range out {
			if dropRune(r) || r == '\r' || (!multiline && (r == '\n' || r == '\t')) {
				t.Fatalf("scrub(%q, %v) = %q keeps %U", s, multiline, out, r)
			}
		}
		if !norm.NFC.IsNormalString(out) {
			t.Errorf("scrub(%q) = %q: not NFC", s, out)
		}
		if strings.TrimSpace(out) != out {
			t.Errorf("scrub(%q) = %q: surrounding space", s, out)
		}
		if again := scrub(out, multiline); again != out {
			t.Errorf("scrub not idempotent: %q → %q → %q", s, out, again)
		}
		n = max(0, n%1000)
		var c inputCheck
		if got := c.text("f", s, n, false); utf8.RuneCountInString(got) > n {
			t.Errorf("text(%q, %d) has %d characters", s, n, utf8.RuneCountInString(got))
		}
		if got := clip(out, n); !strings.HasPrefix(out, got) || utf8.RuneCountInString(got) > n || !utf8.ValidString(got) {
			t.Errorf("clip(%q, %d) = %q", out, n, got)
		}
		for _, id := range c.techniques([]string{s}) {
			if !validTechnique(id) {
				t.Errorf("techniques(%q) kept %q", s, id)
			}
		}
	})
}

// TestStoreTime: times keep microseconds in UTC; zero stays zero.
func TestStoreTime(t *testing.T) {
	t.Parallel()
	tk := time.Date(2026, 4, 1, 9, 0, 0, 123456789, time.FixedZone("JST", 9*3600))
	if got := storeTime(tk); got.Location() != time.UTC || got.Nanosecond() != 123456000 || !got.Equal(tk.Truncate(time.Microsecond)) {
		t.Errorf("storeTime(%v) = %v", tk, got)
	}
	if !storeTime(time.Time{}).IsZero() {
		t.Error("storeTime(zero) is not zero")
	}
}

// FuzzCleanInput: whatever a form sends, cleaning an incident's input
// never panics, and what it accepts is clean and within bounds.
func FuzzCleanInput(f *testing.F) {
	seeds := fuzzSeeds(f)
	for i, s := range seeds {
		f.Add(s, seeds[(i+1)%len(seeds)], "phishing", "T1566,t1059.001", s+","+s)
	}
	f.Add("", "", "", "", "")
	f.Add("x", "y", "Malware", "TA0001,T1", ",,\x00,")
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, title, desc, typ, techs, list string) {
		in := Input{Title: title, Description: desc, Type: Type(typ), Techniques: strings.Split(techs, ","),
			AffectedAssets: strings.Split(list, ","), Tags: strings.Split(list, ","),
			Fields: []Field{{Name: title, Value: desc}, {Name: list, Value: title}}}
		out, errs := cleanInput(in, now, true)
		for _, e := range errs {
			if e.Kind != fault.Invalid || e.Field == "" {
				t.Errorf("cleanInput: fault %v is not Invalid about a field", e)
			}
		}
		if len(errs) > 0 {
			return
		}
		if out.Title == "" || utf8.RuneCountInString(out.Title) > maxTitleLen || strings.ContainsAny(out.Title, "\n\r\t\x00") {
			t.Errorf("cleanInput accepted title %q", out.Title)
		}
		if !out.Type.Valid() || out.AwareAt != now || out.DetectedAt != now {
			t.Errorf("cleanInput accepted type %q, aware %v, detected %v", out.Type, out.AwareAt, out.DetectedAt)
		}
		for _, id := range out.Techniques {
			if !validTechnique(id) {
				t.Errorf("cleanInput accepted technique %q", id)
			}
		}
		for _, s := range append(append([]string{out.Description}, out.AffectedAssets...), out.Tags...) {
			if !utf8.ValidString(s) || strings.ContainsRune(s, 0) || strings.ContainsRune(s, '\r') {
				t.Errorf("cleanInput kept %q", s)
			}
		}
		if len(out.Tags) > maxTags || len(out.Fields) > maxFields {
			t.Errorf("cleanInput kept %d tags and %d fields", len(out.Tags), len(out.Fields))
		}
	})
}
