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

	"github.com/google/go-cmp/cmp"

	"github.com/koban-csirt/koban/internal/i18n"
)

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
	for _, f := range []string{"playbook.go", "playbook_validate.go", "playbook_yaml.go"} {
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
