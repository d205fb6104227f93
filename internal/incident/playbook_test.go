// SPDX-License-Identifier: Apache-2.0

package incident

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"
	"unicode"

	"github.com/google/go-cmp/cmp"

	"github.com/koban-csirt/koban/internal/i18n"
)

// builtinPlaybooks are the playbooks issue 5 asks for, by id, with the
// incident type each is the best fit for.
var builtinPlaybooks = map[string]Type{
	"ransomware":         TypeRansomware,
	"phishing-bec":       TypePhishing,
	"account-compromise": TypeAccountCompromise,
	"malware-pc":         TypeMalware,
	"lost-device":        TypeLostDevice,
	"data-leak":          TypeDataLeak,
	"web-defacement":     TypeWebDefacement,
	"dos":                TypeDoS,
	"vuln-exploitation":  TypeVulnExploitation,
}

func library(t *testing.T) map[string]*Playbook {
	t.Helper()
	pbs, err := Library()
	if err != nil {
		t.Fatalf("Library() = %v", err)
	}
	out := map[string]*Playbook{}
	for _, pb := range pbs {
		out[pb.ID] = pb
	}
	return out
}

func TestPlaybookLibrary(t *testing.T) {
	t.Parallel()
	lib := library(t)
	for id := range builtinPlaybooks {
		if lib[id] == nil {
			t.Errorf("Library() has no playbook %q", id)
		}
	}
	for id, pb := range lib {
		t.Run(id, func(t *testing.T) {
			if err := pb.Validate(); err != nil {
				t.Errorf("Validate() = %v", err)
			}
			var phases []Phase
			for _, ph := range pb.Phases {
				phases = append(phases, ph.Phase)
			}
			for _, want := range []Phase{PhaseTriage, PhaseContainment, PhaseRecovery, PhaseReview} {
				if !slices.Contains(phases, want) {
					t.Errorf("phases %v lack %s", phases, want)
				}
			}
			if len(pb.Do) < 3 || len(pb.DoNot) < 3 {
				t.Errorf("%d do and %d do-not items, want at least 3 of each", len(pb.Do), len(pb.DoNot))
			}
			if len(pb.Evidence) < 4 {
				t.Errorf("%d evidence items, want at least 4", len(pb.Evidence))
			}
			decisions := 0
			for _, ph := range pb.Phases {
				decisions += len(ph.Decisions)
			}
			if decisions == 0 {
				t.Error("no decision points")
			}
			src, ok := PlaybookSource(id)
			if !ok {
				t.Fatalf("PlaybookSource(%q) found nothing", id)
			}
			again, err := ParsePlaybook(id+".yaml", src)
			if err != nil {
				t.Fatalf("ParsePlaybook(PlaybookSource(%q)) = %v", id, err)
			}
			if diff := cmp.Diff(pb, again); diff != "" {
				t.Errorf("the source parses to another playbook (-library +source):\n%s", diff)
			}
		})
	}
	if _, ok := PlaybookSource("../ransomware"); ok {
		t.Error(`PlaybookSource("../ransomware") found a file`)
	}
	if _, ok := PlaybookSource("nope"); ok {
		t.Error(`PlaybookSource("nope") found a file`)
	}
}

// TestLoadPlaybooks checks what the library loader adds to ParsePlaybook:
// a file named after its playbook, unique ids, and every bad file reported.
func TestLoadPlaybooks(t *testing.T) {
	t.Parallel()
	other := strings.Replace(basePlaybook, "id: test\n", "id: other\n", 1)
	fsys := fstest.MapFS{
		"test.yaml":      {Data: []byte(basePlaybook)},
		"other.yaml":     {Data: []byte(other)},
		"notes.txt":      {Data: []byte("not a playbook")},
		"misnamed.yaml":  {Data: []byte(other)},
		"broken.yaml":    {Data: []byte(strings.Replace(basePlaybook, "role: responder", "role: boss", 1))},
		"sub/test2.yaml": {Data: []byte("ignored: true")},
	}
	_, err := loadPlaybooks(fsys)
	var ps PlaybookProblems
	if !errors.As(err, &ps) {
		t.Fatalf("loadPlaybooks() = %v, want PlaybookProblems", err)
	}
	var got []string
	for _, p := range ps {
		got = append(got, p.File+" "+p.Msg)
	}
	want := []string{"broken.yaml playbook.unknown_role", "misnamed.yaml playbook.file_name", "other.yaml playbook.duplicate_id"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("loadPlaybooks() problems (-want +got):\n%s\n%v", diff, err)
	}
	delete(fsys, "misnamed.yaml")
	delete(fsys, "broken.yaml")
	pbs, err := loadPlaybooks(fsys)
	if err != nil || len(pbs) != 2 || pbs[0].ID != "other" || pbs[1].ID != "test" {
		t.Errorf("loadPlaybooks() = %v, %v; want other and test", pbs, err)
	}
}

// TestPlaybookMessages checks that every problem message the code can report
// is in both catalogues with the same arguments.
func TestPlaybookMessages(t *testing.T) {
	t.Parallel()
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, f := range []string{"playbook.go", "playbook_validate.go"} {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range regexp.MustCompile(`"(playbook\.[a-z_]+)"`).FindAllStringSubmatch(string(src), -1) {
			ids[m[1]] = true
		}
	}
	if len(ids) < 30 {
		t.Fatalf("found %d message ids in the code: the pattern no longer matches it", len(ids))
	}
	for id := range ids {
		if !cat.Has(i18n.English, id) || !cat.Has(i18n.Japanese, id) {
			t.Errorf("message %s is missing from a catalogue", id)
			continue
		}
		if en, ja := cat.Args(i18n.English, id), cat.Args(i18n.Japanese, id); !slices.Equal(en, ja) {
			t.Errorf("message %s: arguments en %v, ja %v", id, en, ja)
		}
	}
	for _, r := range PlaybookRoles() {
		if !cat.Has(i18n.Japanese, "playbook.role."+r) || !cat.Has(i18n.English, "playbook.role."+r) {
			t.Errorf("role %s has no label", r)
		}
	}
}

// eachText calls f with every text of pb and where it is.
func eachText(pb *Playbook, f func(path string, m map[string]string)) {
	list := func(path string, ts []map[string]string) {
		for i, m := range ts {
			f(fmt.Sprintf("%s[%d]", path, i), m)
		}
	}
	task := func(path string, t *PlaybookTask) {
		f(path+".title", t.Title)
		f(path+".why", t.Why)
		list(path+".checklist", t.Checklist)
	}
	f("title", pb.Title)
	f("summary", pb.Summary)
	list("do", pb.Do)
	list("do_not", pb.DoNot)
	list("evidence", pb.Evidence)
	for i, ph := range pb.Phases {
		for j := range ph.Tasks {
			task(fmt.Sprintf("phases[%d].tasks[%d]", i, j), &ph.Tasks[j])
		}
		for j, d := range ph.Decisions {
			path := fmt.Sprintf("phases[%d].decisions[%d]", i, j)
			f(path+".question", d.Question)
			f(path+".help", d.Help)
			for k := range d.OnYes.Tasks {
				task(fmt.Sprintf("%s.on_yes.tasks[%d]", path, k), &d.OnYes.Tasks[k])
			}
		}
	}
}

// bracketed matches a bracketed aside, where an English text may give the
// Japanese term: "recall the transfer (組戻し)".
var bracketed = regexp.MustCompile(`\([^()]*\)`)

// TestPlaybookLanguages checks that the Japanese texts are Japanese (they
// hold kana, not only kanji and Latin letters) and the English texts are
// English (almost only ASCII outside brackets, where a Japanese term may
// be given).
func TestPlaybookLanguages(t *testing.T) {
	t.Parallel()
	for id, pb := range library(t) {
		n := 0
		eachText(pb, func(path string, m map[string]string) {
			n++
			ja, en := m["ja"], m["en"]
			if !strings.ContainsFunc(ja, func(r rune) bool { return unicode.In(r, unicode.Hiragana, unicode.Katakana) }) {
				t.Errorf("%s: %s.ja has no kana: %q", id, path, ja)
			}
			nonASCII, letters := 0, 0
			outside := bracketed.ReplaceAllString(en, "")
			for _, r := range outside {
				if r > unicode.MaxASCII {
					nonASCII++
				} else if unicode.IsLetter(r) {
					letters++
				}
			}
			if letters == 0 || nonASCII*10 > len([]rune(outside)) {
				t.Errorf("%s: %s.en is not English: %q", id, path, en)
			}
			if strings.ContainsFunc(outside, func(r rune) bool { return unicode.In(r, unicode.Hiragana) }) {
				t.Errorf("%s: %s.en holds hiragana outside brackets: %q", id, path, en)
			}
		})
		if n < 50 {
			t.Errorf("%s: only %d texts", id, n)
		}
	}
}

func TestPlaybookForType(t *testing.T) {
	t.Parallel()
	for id, typ := range builtinPlaybooks {
		got := ForType(typ)
		if len(got) == 0 || got[0].ID != id {
			var ids []string
			for _, pb := range got {
				ids = append(ids, pb.ID)
			}
			t.Errorf("ForType(%q) = %v, want %q first", typ, ids, id)
		}
	}
	if got := ForType(TypeBEC); len(got) == 0 || got[0].ID != "phishing-bec" {
		t.Errorf("ForType(bec) does not start with phishing-bec")
	}
	if got := ForType("no_such_type"); got != nil {
		t.Errorf("ForType(no_such_type) = %v, want none", got)
	}
	// Every type of the taxonomy that a responder meets often has a
	// playbook, even when it is not the best fit.
	for _, typ := range []Type{TypeUnauthorisedAccess, TypeBEC, TypeMalware} {
		if len(ForType(typ)) == 0 {
			t.Errorf("ForType(%q) is empty", typ)
		}
	}
}

// TestPlaybookPPCDecision checks that the playbooks where personal data is
// most often at stake ask the PPC question: "yes" sets personal_data and adds
// the preliminary report (速報), due within the PPC's 3–5 days of awareness.
func TestPlaybookPPCDecision(t *testing.T) {
	t.Parallel()
	lib := library(t)
	for _, id := range []string{"data-leak", "phishing-bec", "ransomware", "lost-device", "account-compromise"} {
		pb := lib[id]
		if pb == nil {
			t.Errorf("no playbook %q", id)
			continue
		}
		found := false
		for _, ph := range pb.Phases {
			for _, d := range ph.Decisions {
				if !slices.Contains(d.OnYes.Flags, "personal_data") {
					continue
				}
				for _, tt := range pb.DecisionTasks(d.ID, time.Date(2025, 4, 1, 9, 0, 0, 0, time.UTC)) {
					if strings.Contains(tt.Title["ja"], "速報") && tt.DueFrom == DueFromAwareness &&
						tt.DueAfter >= 3*24*time.Hour && tt.DueAfter <= 5*24*time.Hour && tt.Required {
						found = true
					}
				}
			}
		}
		if !found {
			t.Errorf("%s: no decision sets personal_data and adds a required 速報 task due 3–5 days after awareness", id)
		}
	}
}

func TestPlaybookRansomwareAdvice(t *testing.T) {
	t.Parallel()
	pb := library(t)["ransomware"]
	if pb == nil {
		t.Fatal("no ransomware playbook")
	}
	has := func(ts []map[string]string, en, ja string) bool {
		return slices.ContainsFunc(ts, func(m map[string]string) bool {
			return strings.Contains(strings.ToLower(m["en"]), en) && strings.Contains(m["ja"], ja)
		})
	}
	if !has(pb.DoNot, "switch off", "電源を切") {
		t.Error("ransomware: no do-not advice against switching machines off")
	}
	if !has(pb.DoNot, "pay the ransom", "身代金") {
		t.Error("ransomware: no do-not advice against paying the ransom")
	}
	if !has(pb.Do, "disconnect", "切り離") {
		t.Error("ransomware: no advice to disconnect from the network")
	}
}

// TestPlaybookFlagsMatchClocks checks that every flag a playbook may set is
// one the clocks know.
func TestPlaybookFlagsMatchClocks(t *testing.T) {
	t.Parallel()
	for _, f := range PlaybookFlags {
		if _, err := FlagsOf([]string{f}); err != nil {
			t.Errorf("FlagsOf(%q) = %v", f, err)
		}
	}
}

func TestPlaybookTasks(t *testing.T) {
	t.Parallel()
	tokyo := time.FixedZone("JST", 9*3600)
	aware := time.Date(2025, 3, 31, 22, 30, 0, 0, tokyo)
	pb := mustParse(t, basePlaybook)
	got := pb.Tasks(aware)
	want := []TaskTemplate{
		{PlaybookID: "test", TaskID: "t1", Phase: PhaseTriage, Title: map[string]string{"en": "First", "ja": "最初のタスク"},
			Why: map[string]string{"en": "Because.", "ja": "理由です。"}, Role: "responder", Required: true,
			Due: aware.Add(90 * time.Minute), DueAfter: 90 * time.Minute, DueFrom: DueFromAwareness,
			Checklist: []map[string]string{{"en": "One", "ja": "その一"}}},
		{PlaybookID: "test", TaskID: "t2", Phase: PhaseTriage, Title: map[string]string{"en": "Second", "ja": "二番目のタスク"},
			Why: map[string]string{"en": "Because.", "ja": "理由です。"}, Role: "it_admin"},
		{PlaybookID: "test", TaskID: "c1", Phase: PhaseContainment, Title: map[string]string{"en": "Contain", "ja": "封じ込めます"},
			Why: map[string]string{"en": "Because.", "ja": "理由です。"}, Role: "it_admin", Required: true,
			DueAfter: 36 * time.Hour, DueFrom: DueFromPhase},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Tasks(%v) (-want +got):\n%s", aware, diff)
	}
	start := aware.Add(48 * time.Hour)
	if due := got[2].DueAt(aware, start); !due.Equal(start.Add(36 * time.Hour)) {
		t.Errorf("DueAt(aware, %v) of a phase task = %v, want %v", start, due, start.Add(36*time.Hour))
	}
	if due := got[2].DueAt(aware, time.Time{}); !due.IsZero() {
		t.Errorf("DueAt before the phase started = %v, want zero", due)
	}
	if due := got[1].DueAt(aware, start); !due.IsZero() {
		t.Errorf("DueAt of a task without due time = %v, want zero", due)
	}
	// The templates are the caller's to change.
	got[0].Title["en"] = "changed"
	got[0].Checklist[0]["en"] = "changed"
	if again := pb.Tasks(aware); again[0].Title["en"] != "First" || again[0].Checklist[0]["en"] != "One" {
		t.Error("changing a TaskTemplate changed the playbook")
	}

	dt := pb.DecisionTasks("d1", aware)
	if len(dt) != 2 || dt[0].TaskID != "t4" || dt[0].DecisionID != "d1" || dt[0].Phase != PhaseTriage ||
		!dt[0].Due.Equal(aware.Add(3*24*time.Hour)) || dt[1].TaskID != "t5" || dt[1].Phase != PhaseReview {
		t.Errorf("DecisionTasks(d1) = %+v", dt)
	}
	if dt := pb.DecisionTasks("nope", aware); dt != nil {
		t.Errorf("DecisionTasks(nope) = %+v, want none", dt)
	}
	if d, ph := pb.Decision("d1"); d == nil || ph != PhaseTriage {
		t.Errorf("Decision(d1) = %v, %q", d, ph)
	}

	// Every built-in task template is complete.
	for id, pb := range library(t) {
		for _, tt := range pb.Tasks(aware) {
			if tt.Title["en"] == "" || tt.Title["ja"] == "" || tt.Why["ja"] == "" || tt.Role == "" || !tt.Phase.Valid() {
				t.Errorf("%s: incomplete template %+v", id, tt)
			}
			if tt.DueFrom == DueFromAwareness && !tt.Due.After(aware) {
				t.Errorf("%s: task %s due %v, not after awareness", id, tt.TaskID, tt.Due)
			}
		}
	}
}

func TestParsePlaybookDue(t *testing.T) {
	t.Parallel()
	good := map[string]time.Duration{
		"30m": 30 * time.Minute, "4h": 4 * time.Hour, "3d": 72 * time.Hour, "1d12h": 36 * time.Hour,
		"2w": 14 * 24 * time.Hour, "1h30m": 90 * time.Minute, "365d": 365 * 24 * time.Hour, "0d1m": time.Minute,
	}
	for s, want := range good {
		if got, err := parsePlaybookDue(s); err != nil || got != want {
			t.Errorf("parsePlaybookDue(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"", "0h", "3", "d", "3x", "1.5h", "-1h", "3 d", "366d", "53w", "99999h", "1h ", "10s",
		strings.Repeat("9999w", 1000)} {
		if got, err := parsePlaybookDue(s); err == nil {
			t.Errorf("parsePlaybookDue(%q) = %v, want an error", s, got)
		}
	}
}

func mustParse(t *testing.T, src string) *Playbook {
	t.Helper()
	pb, err := ParsePlaybook("test.yaml", []byte(src))
	if err != nil {
		t.Fatalf("ParsePlaybook() = %v", err)
	}
	return pb
}

// basePlaybook is a small valid playbook that the validation cases break
// one rule at a time.
const basePlaybook = `id: test
version: 1
types: [malware, ransomware]
title:
  en: Test
  ja: テストです
summary:
  en: A test playbook.
  ja: テスト用のプレイブックです。
do:
  - en: Do this.
    ja: これをします。
do_not:
  - en: Do not do that.
    ja: それはしません。
phases:
  - phase: triage
    tasks:
      - id: t1
        title:
          en: First
          ja: 最初のタスク
        why:
          en: Because.
          ja: 理由です。
        role: responder
        required: true
        due_after: 1h30m
        due_from: awareness
        checklist:
          - en: One
            ja: その一
      - id: t2
        title:
          en: Second
          ja: 二番目のタスク
        why:
          en: Because.
          ja: 理由です。
        role: it_admin
    decisions:
      - id: d1
        question:
          en: Personal data?
          ja: 個人データですか？
        help:
          en: Help.
          ja: 説明です。
        on_yes:
          flags: [personal_data, malicious_intent]
          tasks:
            - id: t4
              title:
                en: Report
                ja: 報告します
              why:
                en: The law.
                ja: 法律です。
              role: legal_pr
              required: true
              due_after: 3d
              due_from: awareness
            - id: t5
              phase: review
              title:
                en: Final report
                ja: 確報です
              why:
                en: The law.
                ja: 法律です。
              role: legal_pr
              required: true
  - phase: containment
    tasks:
      - id: c1
        title:
          en: Contain
          ja: 封じ込めます
        why:
          en: Because.
          ja: 理由です。
        role: it_admin
        required: true
        due_after: 1d12h
        due_from: phase
evidence:
  - en: Logs
    ja: ログです
`

// lineOf returns the 1-based line of the first occurrence of marker in s.
func lineOf(t *testing.T, s, marker string) int {
	t.Helper()
	i := strings.Index(s, marker)
	if i < 0 {
		t.Fatalf("marker %q not in the source", marker)
	}
	return strings.Count(s[:i], "\n") + 1
}

func TestParsePlaybookProblems(t *testing.T) {
	t.Parallel()
	type want struct {
		msg, path string
		marker    string // the problem is on this text's line; "" for no line
	}
	cases := []struct {
		name       string
		from, to   string // replace from with to in basePlaybook
		src        string // instead of basePlaybook
		want       []want
		wantReason string // for playbook.yaml problems: part of the reason
	}{
		{name: "yaml syntax", from: "version: 1\n", to: "version: 1: 2\n",
			want: []want{{"playbook.yaml", "", "version: 1: 2"}}},
		{name: "unclosed list", from: "types: [malware, ransomware]", to: "types: [malware, ransomware",
			want: []want{{"playbook.yaml", "", "types: ["}}},
		{name: "list item in a mapping", from: "  ja: テストです\n", to: "  - ja: テストです\n",
			want: []want{{"playbook.yaml", "", "  en: Test"}}},
		{name: "unknown key", from: "        role: it_admin\n        required: true\n", to: "        role: it_admin\n        requried: true\n",
			want: []want{{"playbook.unknown_key", "phases[1].tasks[0].requried", "requried:"}}},
		{name: "duplicate key", from: "version: 1\n", to: "version: 1\nversion: 2\n",
			want: []want{{"playbook.duplicate_key", "version", "version: 2"}}},
		{name: "number expected", from: "version: 1\n", to: "version: first\n",
			want: []want{{"playbook.want_number", "version", "version: first"}}},
		{name: "list expected", from: "types: [malware, ransomware]", to: "types: malware",
			want: []want{{"playbook.want_list", "types", "types: malware"}}},
		{name: "bool expected", from: "        required: true\n        due_after: 1d12h", to: "        required: maybe\n        due_after: 1d12h",
			want: []want{{"playbook.want_bool", "phases[1].tasks[0].required", "required: maybe"}}},
		{name: "text expected", from: "  en: Test\n", to: "  en: [Test]\n",
			want: []want{{"playbook.want_text", "title.en", "en: [Test]"}}},
		{name: "mapping expected", from: "evidence:\n  - en: Logs\n    ja: ログです\n", to: "evidence:\n  - Logs\n",
			want: []want{{"playbook.want_map", "evidence[0]", "- Logs"}}},
		{name: "empty", src: "# nothing\n", want: []want{{"playbook.empty", "", ""}}},
		{name: "two documents", src: basePlaybook + "---\nid: other\n", want: []want{{"playbook.many_documents", "", "id: other"}}},
		{name: "not a mapping", src: "- id: test\n", want: []want{{"playbook.not_a_map", "", "- id: test"}}},
		{name: "too large", src: basePlaybook + "#" + strings.Repeat("x", MaxPlaybookBytes) + "\n",
			want: []want{{"playbook.too_large", "", ""}}},
		{name: "missing language", from: "  en: Test\n  ja: テストです\n", to: "  en: Test\n",
			want: []want{{"playbook.missing_lang", "title.ja", "title:"}}},
		{name: "blank text", from: "  en: A test playbook.\n", to: "  en: '  '\n",
			want: []want{{"playbook.missing_lang", "summary.en", "en: '  '"}}},
		{name: "missing text", from: "        why:\n          en: Because.\n          ja: 理由です。\n        role: it_admin\n    decisions:",
			to:   "        role: it_admin\n    decisions:",
			want: []want{{"playbook.missing_text", "phases[0].tasks[1].why", "- id: t2"}}},
		{name: "unknown language", from: "  en: Test\n", to: "  en: Test\n  fr: Essai\n",
			want: []want{{"playbook.unknown_lang", "title.fr", "fr: Essai"}}},
		{name: "control character", from: "  en: Test\n", to: "  en: \"Te\\x01st\"\n",
			want: []want{{"playbook.bad_text", "title.en", `en: "Te\x01st"`}}},
		{name: "title too long", from: "  en: Test\n", to: "  en: " + strings.Repeat("x", maxPlaybookShortText+1) + "\n",
			want: []want{{"playbook.too_long", "title.en", "  en: xxx"}}},
		{name: "bad id", from: "id: test\n", to: "id: Test Playbook\n",
			want: []want{{"playbook.bad_id", "id", "id: Test"}}},
		{name: "missing id", from: "id: test\n", to: "",
			want: []want{{"playbook.missing", "id", ""}}},
		{name: "bad version", from: "version: 1\n", to: "version: 0\n",
			want: []want{{"playbook.bad_version", "version", "version: 0"}}},
		{name: "unknown type", from: "types: [malware, ransomware]", to: "types: [malware, virus]",
			want: []want{{"playbook.unknown_type", "types[1]", "types:"}}},
		{name: "duplicate type", from: "types: [malware, ransomware]", to: "types: [malware, malware]",
			want: []want{{"playbook.duplicate_type", "types[1]", "types:"}}},
		{name: "no types", from: "types: [malware, ransomware]", to: "types: []",
			want: []want{{"playbook.missing", "types", "types:"}}},
		{name: "unknown phase", from: "phase: containment", to: "phase: contain",
			want: []want{{"playbook.unknown_phase", "phases[1].phase", "phase: contain"}}},
		{name: "phase closed", from: "phase: containment", to: "phase: closed",
			want: []want{{"playbook.unknown_phase", "phases[1].phase", "phase: closed"}}},
		{name: "duplicate phase", from: "phase: containment", to: "phase: triage",
			want: []want{
				{"playbook.duplicate_phase", "phases[1].phase", "- phase: triage\n    tasks:\n      - id: c1"},
			}},
		{name: "phase order", from: "phase: triage", to: "phase: recovery",
			want: []want{{"playbook.phase_order", "phases[1].phase", "phase: containment"}}},
		{name: "empty phase", from: "evidence:\n", to: "  - phase: review\nevidence:\n",
			want: []want{{"playbook.empty_phase", "phases[2]", "  - phase: review\nevidence"}}},
		{name: "no phases", src: strings.Split(basePlaybook, "phases:")[0],
			want: []want{{"playbook.missing", "phases", ""}}},
		{name: "duplicate task id", from: "      - id: t2\n", to: "      - id: t1\n",
			want: []want{{"playbook.duplicate_task", "phases[0].tasks[1].id", "id: t1\n        title:\n          en: Second"}}},
		{name: "duplicate task id in a decision", from: "            - id: t5\n", to: "            - id: c1\n",
			want: []want{{"playbook.duplicate_task", "phases[1].tasks[0].id", "      - id: c1\n        title:\n          en: Contain"}}},
		{name: "duplicate decision id", from: "    decisions:\n", to: "    decisions:\n      - id: d1\n        question: {en: Q, ja: 質問です}\n        help: {en: H, ja: 説明です}\n        on_yes: {flags: [sensitive]}\n",
			want: []want{{"playbook.duplicate_decision", "phases[0].decisions[1].id", "      - id: d1\n        question:\n          en: Personal"}}},
		{name: "unknown role", from: "role: responder", to: "role: boss",
			want: []want{{"playbook.unknown_role", "phases[0].tasks[0].role", "role: boss"}}},
		{name: "missing role", from: "        role: responder\n", to: "",
			want: []want{{"playbook.missing", "phases[0].tasks[0].role", "- id: t1"}}},
		{name: "bad due", from: "due_after: 1h30m", to: "due_after: 90 minutes",
			want: []want{{"playbook.bad_due", "phases[0].tasks[0].due_after", "due_after: 90"}}},
		{name: "due too long", from: "due_after: 1h30m", to: "due_after: 400d",
			want: []want{{"playbook.bad_due", "phases[0].tasks[0].due_after", "due_after: 400d"}}},
		{name: "due without from", from: "        due_after: 1h30m\n        due_from: awareness\n", to: "        due_after: 1h30m\n",
			want: []want{{"playbook.missing", "phases[0].tasks[0].due_after", "due_after: 1h30m"}}},
		{name: "from without due", from: "        due_after: 1h30m\n        due_from: awareness\n", to: "        due_from: awareness\n",
			want: []want{{"playbook.due_from_alone", "phases[0].tasks[0].due_from", "due_from: awareness"}}},
		{name: "bad due from", from: "due_from: awareness\n        checklist", to: "due_from: start\n        checklist",
			want: []want{{"playbook.bad_due_from", "phases[0].tasks[0].due_from", "due_from: start"}}},
		{name: "unknown flag", from: "flags: [personal_data, malicious_intent]", to: "flags: [personal_data, pii]",
			want: []want{{"playbook.unknown_flag", "phases[0].decisions[0].on_yes.flags[1]", "flags: ["}}},
		{name: "duplicate flag", from: "flags: [personal_data, malicious_intent]", to: "flags: [personal_data, personal_data]",
			want: []want{{"playbook.duplicate_flag", "phases[0].decisions[0].on_yes.flags[1]", "flags: ["}}},
		{name: "empty on_yes", from: "          flags: [personal_data, malicious_intent]\n          tasks:\n", to: "          tasks:\n",
			src: "", want: nil}, // replaced below: a decision with neither
		{name: "task names a phase", from: "      - id: t2\n", to: "      - id: t2\n        phase: review\n",
			want: []want{{"playbook.task_phase", "phases[0].tasks[1].phase", "phase: review\n        title:\n          en: Second"}}},
		{name: "decision task in unknown phase", from: "              phase: review\n", to: "              phase: later\n",
			want: []want{{"playbook.unknown_phase", "phases[0].decisions[0].on_yes.tasks[1].phase", "phase: later"}}},
		{name: "too many checklist items", from: "        checklist:\n", to: "        checklist:\n" + strings.Repeat("          - {en: x, ja: エックス}\n", maxPlaybookChecklist),
			want: []want{{"playbook.too_many", "phases[0].tasks[0].checklist", "checklist:\n          - {en: x"}}},
		{name: "duplicate key in a task", from: "role: responder", to: "role: responder\n        role: boss",
			want: []want{{"playbook.duplicate_key", "phases[0].tasks[0].role", "role: boss"}}},
		{name: "several problems in file order",
			src: strings.NewReplacer("due_after: 1d12h", "due_after: soon", "role: responder", "role: boss", "version: 1", "version: -1").Replace(basePlaybook),
			want: []want{
				{"playbook.bad_version", "version", "version: -1"},
				{"playbook.unknown_role", "phases[0].tasks[0].role", "role: boss"},
				{"playbook.bad_due", "phases[1].tasks[0].due_after", "due_after: soon"},
			}},
	}
	// A decision that sets nothing and adds nothing.
	for i := range cases {
		if cases[i].name == "empty on_yes" {
			cases[i].from = "    decisions:\n"
			cases[i].to = "    decisions:\n      - id: d0\n        question: {en: Q, ja: 質問です}\n        help: {en: H, ja: 説明です}\n        on_yes: {}\n"
			cases[i].want = []want{{"playbook.empty_on_yes", "phases[0].decisions[0].on_yes", "on_yes: {}"}}
		}
	}
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := tc.src
			if src == "" {
				if !strings.Contains(basePlaybook, tc.from) {
					t.Fatalf("%q is not in basePlaybook", tc.from)
				}
				src = strings.Replace(basePlaybook, tc.from, tc.to, 1)
			}
			pb, err := ParsePlaybook("test.yaml", []byte(src))
			if err == nil {
				t.Fatalf("ParsePlaybook() = %v, nil; want problems", pb)
			}
			if pb != nil {
				t.Errorf("ParsePlaybook() returned a playbook with its problems")
			}
			var ps PlaybookProblems
			if !errors.As(err, &ps) {
				t.Fatalf("ParsePlaybook() error %T %v is not PlaybookProblems", err, err)
			}
			var got, exp []string
			for _, p := range ps {
				got = append(got, fmt.Sprintf("%s %s line %d", p.Msg, p.Path, p.Line))
				if p.File != "test.yaml" {
					t.Errorf("problem %v names file %q", p, p.File)
				}
				for _, l := range i18n.Langs {
					if !cat.Has(l, p.Msg) {
						t.Errorf("message %s is not in the %s catalogue", p.Msg, l)
					}
				}
				if strings.Contains(p.Error(), "[playbook.") || strings.Contains(p.Error(), "incident.Playbook") {
					t.Errorf("Error() = %q: no message, or Go type names", p.Error())
				}
			}
			for _, w := range tc.want {
				line := 0
				if w.marker != "" {
					line = lineOf(t, src, w.marker)
				}
				exp = append(exp, fmt.Sprintf("%s %s line %d", w.msg, w.path, line))
			}
			if diff := cmp.Diff(exp, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s\nerror: %v", diff, err)
			}
		})
	}
}

func TestPlaybookProblemError(t *testing.T) {
	t.Parallel()
	src := strings.Replace(basePlaybook, "role: responder", "role: boss", 1)
	_, err := ParsePlaybook("mine.yaml", []byte(src))
	want := fmt.Sprintf(`mine.yaml:%d:15: phases[0].tasks[0].role: Unknown role "boss": use one of responder, analyst, it_admin, management, legal_pr, reporter.`,
		lineOf(t, src, "role: boss"))
	if err == nil || err.Error() != want {
		t.Errorf("ParsePlaybook() error = %v\nwant %s", err, want)
	}
	_, err = ParsePlaybook("", []byte("version: x\n"))
	if err == nil || err.Error() != ":1:10: version: Expected a whole number here." {
		t.Errorf("ParsePlaybook(version: x) error = %v", err)
	}
}

// TestPlaybookValidate checks a playbook built in Go, as a stored copy
// decoded elsewhere would be: problems have paths but no lines.
func TestPlaybookValidate(t *testing.T) {
	t.Parallel()
	pb := mustParse(t, basePlaybook)
	if err := pb.Validate(); err != nil {
		t.Fatalf("Validate() of a parsed playbook = %v", err)
	}
	pb.Phases[1].Tasks[0].Role = "janitor"
	pb.Phases[0].Decisions[0].OnYes.Flags = append(pb.Phases[0].Decisions[0].OnYes.Flags, "gdpr")
	pb.Title = map[string]string{"en": "Only English"}
	err := pb.Validate()
	var ps PlaybookProblems
	if !errors.As(err, &ps) {
		t.Fatalf("Validate() = %v, want PlaybookProblems", err)
	}
	var got []string
	for _, p := range ps {
		if p.Line != 0 || p.File != "" {
			t.Errorf("problem %v has a position", p)
		}
		got = append(got, p.Msg+" "+p.Path)
	}
	want := []string{
		"playbook.missing_lang title.ja",
		"playbook.unknown_flag phases[0].decisions[0].on_yes.flags[2]",
		"playbook.unknown_role phases[1].tasks[0].role",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Validate() problems (-want +got):\n%s", diff)
	}
	if err := (&Playbook{}).Validate(); err == nil {
		t.Error("Validate() of an empty playbook = nil")
	}
}

// nextPlaybook has required and optional tasks, a decision adding tasks to
// its own phase and a later one, a phase with more tasks than the preview
// shows, and a gap (no eradication or recovery).
const nextPlaybook = `id: next
version: 1
types: [other]
title: {en: Next, ja: 次です}
summary: {en: Next steps., ja: 次の手順です。}
phases:
  - phase: triage
    tasks:
      - {id: t1, title: {en: T1, ja: タスク1}, why: {en: W, ja: 理由}, role: responder, required: true}
      - {id: t2, title: {en: T2, ja: タスク2}, why: {en: W, ja: 理由}, role: responder}
      - {id: t3, title: {en: T3, ja: タスク3}, why: {en: W, ja: 理由}, role: it_admin, required: true}
    decisions:
      - id: d1
        question: {en: "Personal data?", ja: 個人データですか？}
        help: {en: Help, ja: 説明です}
        on_yes:
          flags: [personal_data]
          tasks:
            - {id: t4, title: {en: T4, ja: タスク4}, why: {en: W, ja: 理由}, role: legal_pr, required: true}
            - {id: t5, phase: containment, title: {en: T5, ja: タスク5}, why: {en: W, ja: 理由}, role: legal_pr, required: true}
      - id: d2
        question: {en: "Insured?", ja: 保険はありますか？}
        help: {en: Help, ja: 説明です}
        on_yes: {flags: [financial_risk]}
  - phase: containment
    tasks:
      - {id: c1, title: {en: C1, ja: タスク1}, why: {en: W, ja: 理由}, role: it_admin, required: true}
      - {id: c2, title: {en: C2, ja: タスク2}, why: {en: W, ja: 理由}, role: it_admin}
      - {id: c3, title: {en: C3, ja: タスク3}, why: {en: W, ja: 理由}, role: it_admin, required: true}
      - {id: c4, title: {en: C4, ja: タスク4}, why: {en: W, ja: 理由}, role: it_admin, required: true}
  - phase: review
    tasks:
      - {id: r1, title: {en: R1, ja: タスク1}, why: {en: W, ja: 理由}, role: responder, required: true}
`

func TestNextSteps(t *testing.T) {
	t.Parallel()
	pb := mustParse(t, nextPlaybook)
	set := func(ids ...string) map[string]bool {
		m := map[string]bool{}
		for _, id := range ids {
			m[id] = true
		}
		return m
	}
	cases := []struct {
		name     string
		phase    Phase
		done     map[string]bool
		answered map[string]bool
		want     []string
	}{
		{"triage, nothing done", PhaseTriage, nil, nil,
			[]string{"task triage t1", "task triage t3", "decision triage d1", "decision triage d2",
				"next_phase containment c1", "next_phase containment c2", "next_phase containment c3"}},
		{"triage, a required task done", PhaseTriage, set("t1"), nil,
			[]string{"task triage t3", "decision triage d1", "decision triage d2",
				"next_phase containment c1", "next_phase containment c2", "next_phase containment c3"}},
		{"triage, yes adds tasks", PhaseTriage, set("t1"), map[string]bool{"d1": true},
			[]string{"task triage t3", "task triage t4 (d1)", "decision triage d2",
				"next_phase containment c1", "next_phase containment c2", "next_phase containment c3"}},
		{"triage, no adds nothing", PhaseTriage, set("t1", "t3"), map[string]bool{"d1": false, "d2": false},
			[]string{"next_phase containment c1", "next_phase containment c2", "next_phase containment c3"}},
		{"triage, preview skips done tasks", PhaseTriage, set("t1", "t3", "c1", "c2"), map[string]bool{"d1": true, "d2": true},
			[]string{"task triage t4 (d1)", "next_phase containment c3", "next_phase containment c4", "next_phase containment t5 (d1)"}},
		{"analysis has no work: the next phase", PhaseAnalysis, nil, nil,
			[]string{"next_phase containment c1", "next_phase containment c2", "next_phase containment c3"}},
		{"containment, a decision's task last", PhaseContainment, set("c1"), map[string]bool{"d1": true},
			[]string{"task containment c3", "task containment c4", "task containment t5 (d1)", "next_phase review r1"}},
		{"containment, all done: skip empty phases", PhaseContainment, set("c1", "c2", "c3", "c4"), nil,
			[]string{"next_phase review r1"}},
		{"next phase all done: the one after", PhaseTriage, set("c1", "c2", "c3", "c4"), map[string]bool{"d1": false, "d2": true},
			[]string{"task triage t1", "task triage t3", "next_phase review r1"}},
		{"review", PhaseReview, nil, nil, []string{"task review r1"}},
		{"review done", PhaseReview, set("r1"), nil, nil},
		{"closed", PhaseClosed, nil, nil, nil},
		{"unknown phase", "later", nil, nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, s := range NextSteps(pb, tc.phase, tc.done, tc.answered) {
				id := s.TaskID
				if s.Kind == StepDecision {
					id = s.DecisionID
				} else if s.DecisionID != "" {
					id += " (" + s.DecisionID + ")"
				}
				got = append(got, fmt.Sprintf("%s %s %s", s.Kind, s.Phase, id))
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("NextSteps(%s, %v, %v) (-want +got):\n%s", tc.phase, tc.done, tc.answered, diff)
			}
		})
	}
	if got := NextSteps(nil, PhaseTriage, nil, nil); got != nil {
		t.Errorf("NextSteps(nil) = %v", got)
	}
	steps := NextSteps(pb, PhaseTriage, nil, nil)
	want := Step{Kind: StepTask, Phase: PhaseTriage, TaskID: "t3", Title: map[string]string{"en": "T3", "ja": "タスク3"},
		Detail: map[string]string{"en": "W", "ja": "理由"}, Role: "it_admin", Required: true}
	if diff := cmp.Diff(want, steps[1]); diff != "" {
		t.Errorf("NextSteps(triage)[1] (-want +got):\n%s", diff)
	}
	wantD := Step{Kind: StepDecision, Phase: PhaseTriage, DecisionID: "d1", Title: map[string]string{"en": "Personal data?", "ja": "個人データですか？"},
		Detail: map[string]string{"en": "Help", "ja": "説明です"}}
	if diff := cmp.Diff(wantD, steps[2]); diff != "" {
		t.Errorf("NextSteps(triage)[2] (-want +got):\n%s", diff)
	}
}

// TestNextStepsBuiltin walks each built-in playbook from triage to review,
// finishing every task and answering every question yes: each phase with
// work has steps until its work is done, and nothing is left at the end.
func TestNextStepsBuiltin(t *testing.T) {
	t.Parallel()
	for id, pb := range library(t) {
		done, answered := map[string]bool{}, map[string]bool{}
		for _, ph := range PlaybookPhases() {
			for range 100 {
				steps := NextSteps(pb, ph, done, answered)
				if len(steps) == 0 || steps[0].Kind == StepNextPhase {
					break
				}
				for _, s := range steps {
					switch s.Kind {
					case StepTask:
						done[s.TaskID] = true
					case StepDecision:
						answered[s.DecisionID] = true
					}
				}
			}
		}
		if left := NextSteps(pb, PhaseReview, done, answered); len(left) != 0 {
			t.Errorf("%s: after every phase, NextSteps(review) = %v", id, left)
		}
		for _, tt := range pb.Tasks(time.Now()) {
			if tt.Required && !done[tt.TaskID] {
				t.Errorf("%s: required task %s never came up", id, tt.TaskID)
			}
		}
	}
}

func FuzzParsePlaybook(f *testing.F) {
	pbs, err := Library()
	if err != nil {
		f.Fatal(err)
	}
	for _, pb := range pbs {
		src, _ := PlaybookSource(pb.ID)
		f.Add(src)
	}
	f.Add([]byte(basePlaybook))
	f.Add([]byte(nextPlaybook))
	f.Add([]byte("id: x\nversion: 1\n---\nid: y\n"))
	f.Add([]byte("a: &a [*a, *a]\n"))
	f.Add([]byte("phases:\n  - phase: triage\n    tasks:\n      - {id: t, due_after: 99999w}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		pb, err := ParsePlaybook("fuzz.yaml", data)
		if err != nil {
			if pb != nil {
				t.Fatal("a playbook with problems")
			}
			var ps PlaybookProblems
			if !errors.As(err, &ps) || len(ps) == 0 {
				t.Fatalf("error %T %v is not PlaybookProblems", err, err)
			}
			for _, p := range ps {
				if !strings.HasPrefix(p.Msg, "playbook.") {
					t.Fatalf("problem message %q", p.Msg)
				}
			}
			return
		}
		if err := pb.Validate(); err != nil {
			t.Fatalf("a parsed playbook does not validate: %v", err)
		}
		aware := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		for _, tt := range pb.Tasks(aware) {
			if tt.DueFrom == DueFromAwareness && !tt.Due.After(aware) {
				t.Fatalf("task %s due %v", tt.TaskID, tt.Due)
			}
		}
		for _, ph := range PlaybookPhases() {
			NextSteps(pb, ph, nil, nil)
		}
	})
}
