// SPDX-License-Identifier: Apache-2.0

package rulepack_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/koban-csirt/koban/internal/detect/rulepack"
	"github.com/koban-csirt/koban/internal/normalize"
	"github.com/koban-csirt/koban/internal/shareddata"
	"github.com/koban-csirt/koban/internal/sigma"
)

func TestFiles(t *testing.T) {
	t.Parallel()
	names := rulepack.Files()
	if len(names) == 0 {
		t.Fatal("Files() = [], want the pack's rule files")
	}
	if !slices.IsSorted(names) {
		t.Errorf("Files() = %v, want sorted", names)
	}
	fileName := regexp.MustCompile(`^[a-z0-9_]{10,70}\.yml$`) // the specification's file naming
	for _, n := range names {
		if !fileName.MatchString(n) {
			t.Errorf("file %q: want 10-70 lower-case letters, digits or _ and .yml", n)
		}
		if _, err := fs.Stat(rulepack.FS(), n); err != nil {
			t.Errorf("fs.Stat(FS(), %q): %v", n, err)
		}
	}
	all, err := fs.Glob(rulepack.FS(), "*")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(all, names) {
		t.Errorf("FS() holds %v, Files() = %v", all, names)
	}
}

var (
	uuid4   = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	tactic  = regexp.MustCompile(`^attack\.[a-z]+(_[a-z]+)*$`)
	tech    = regexp.MustCompile(`^attack\.t\d{4}(\.\d{3})?$`)
	isoDate = regexp.MustCompile(`^20\d\d-[01]\d-[0-3]\d$`)
	levels  = []string{"informational", "low", "medium", "high", "critical"}
)

// japanese reports whether s holds kana or kanji, as natural Japanese does.
func japanese(s string) bool {
	for _, r := range s {
		if unicode.In(r, unicode.Hiragana, unicode.Katakana, unicode.Han) {
			return true
		}
	}
	return false
}

// TestRuleMetadata checks what every document of the pack must carry.
func TestRuleMetadata(t *testing.T) {
	t.Parallel()
	rules := loadPack(t)
	if len(rules) == 0 {
		t.Fatal("the pack holds no rule")
	}
	ids, names := map[string]string{}, map[string]bool{}
	referenced := map[string]bool{}
	for _, r := range rules {
		if r.Name != "" {
			if names[r.Name] {
				t.Errorf("%s: name %q used twice", r.File, r.Name)
			}
			names[r.Name] = true
			if !strings.HasPrefix(r.Name, "koban_") {
				t.Errorf("%s: name %q: want the koban_ prefix (names are global among all loaded rules)", r.File, r.Name)
			}
		}
		if r.Correlation != nil {
			for _, ref := range r.Correlation.Rules {
				referenced[ref] = true
			}
		}
	}
	for _, r := range rules {
		where := r.File + ": " + r.Title
		if !uuid4.MatchString(r.ID) {
			t.Errorf("%s: id %q is not a lower-case UUIDv4", where, r.ID)
		}
		if f, dup := ids[r.ID]; dup {
			t.Errorf("%s: id %s also used in %s", where, r.ID, f)
		}
		ids[r.ID] = r.File
		if r.Title == "" || len(r.Title) > 256 {
			t.Errorf("%s: title has %d bytes, want 1-256", where, len(r.Title))
		}
		for _, k := range []string{"title_ja", "description_ja"} {
			if v := r.Custom[k]; !japanese(v) {
				t.Errorf("%s: %s = %q, want Japanese text", where, k, v)
			}
		}
		if r.Description == "" {
			t.Errorf("%s: no description", where)
		}
		if r.Status != "experimental" {
			t.Errorf("%s: status %q, want experimental", where, r.Status)
		}
		if !slices.Contains(levels, r.Level) {
			t.Errorf("%s: level %q, want one of %v", where, r.Level, levels)
		}
		if r.Author != "koban" {
			t.Errorf("%s: author %q, want koban", where, r.Author)
		}
		if !isoDate.MatchString(r.Date) {
			t.Errorf("%s: date %q, want YYYY-MM-DD", where, r.Date)
		}
		if len(r.FalsePositives) == 0 {
			t.Errorf("%s: no falsepositives", where)
		}
		if !slices.ContainsFunc(r.Tags, tactic.MatchString) || !slices.ContainsFunc(r.Tags, tech.MatchString) {
			t.Errorf("%s: tags %v, want an ATT&CK tactic and technique", where, r.Tags)
		}
		for _, tag := range r.Tags {
			if !tactic.MatchString(tag) && !tech.MatchString(tag) {
				t.Errorf("%s: tag %q is not an ATT&CK tactic or technique", where, tag)
			}
		}
		switch r.Kind {
		case sigma.KindRule:
			if r.LogSource.Product == "" {
				t.Errorf("%s: logsource has no product", where)
			}
			// A rule at level informational only feeds a correlation, and
			// a rule a correlation uses has level informational.
			fed := referenced[r.Name] || referenced[r.ID]
			if fed != (r.Level == "informational") {
				t.Errorf("%s: level %s, referenced by a correlation: %t", where, r.Level, fed)
			}
		case sigma.KindCorrelation:
			// A correlation another one refers to raises no alert of its
			// own (generate: false), so its level says informational.
			fed := referenced[r.Name] || referenced[r.ID]
			if fed != (r.Level == "informational") {
				t.Errorf("%s: level %s, referenced by a correlation: %t", where, r.Level, fed)
			}
			if r.Correlation.Generate {
				t.Errorf("%s: generate: true would alert on every base event", where)
			}
			if !strings.HasPrefix(r.File, "mr_") {
				t.Errorf("%s: a file holding correlations is named mr_*", where)
			}
			if len(r.Correlation.GroupBy) == 0 {
				t.Errorf("%s: correlation has no group-by", where)
			}
		default:
			t.Errorf("%s: kind %v, want rule or correlation", where, r.Kind)
		}
	}
}

// TestCompile compiles the pack as detection does: no problem, and every
// rule has literals the scan can select it by (none evaluated on every
// event of its logsource).
func TestCompile(t *testing.T) {
	t.Parallel()
	rules := loadPack(t)
	rs, probs := sigma.Compile(rules, sigma.Options{Applies: normalize.Matches})
	for _, p := range probs {
		t.Errorf("sigma.Compile: %v", p)
	}
	st := rs.Stats()
	if st.AlwaysEvaluated != 0 {
		t.Errorf("sigma.Compile: %d rules always evaluated, want 0 (stats %+v)", st.AlwaysEvaluated, st)
	}
	var detections, correlations int
	for _, r := range rules {
		switch r.Kind {
		case sigma.KindRule:
			detections++
		case sigma.KindCorrelation:
			correlations++
		}
	}
	if st.Rules != detections {
		t.Errorf("sigma.Compile: %d rules compiled, want %d", st.Rules, detections)
	}
	cr, probs := sigma.NewCorrelator(rules, sigma.CorrelatorOptions{})
	for _, p := range probs {
		t.Errorf("sigma.NewCorrelator: %v", p)
	}
	if cr.Len() != correlations {
		t.Errorf("sigma.NewCorrelator: %d correlations, want %d", cr.Len(), correlations)
	}
}

// TestAlongsideSigmaHQ loads the pack beside SigmaHQ's rules, as koban
// does: no id or name is taken twice, and every correlation still resolves.
func TestAlongsideSigmaHQ(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("parses every SigmaHQ rule")
	}
	ours := loadPack(t)
	mine := map[string]bool{}
	for _, r := range ours {
		mine[r.ID] = true
		if r.Name != "" {
			mine[r.Name] = true
		}
	}
	var all []*sigma.Rule
	root := shareddata.Path(t, "sigma/rules")
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".yml") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rs, _ := sigma.Parse(p, b) // SigmaHQ's own problems are the engine's tests' business
		for _, r := range rs {
			if mine[r.ID] || (r.Name != "" && mine[r.Name]) {
				t.Errorf("%s: id %s / name %q is also the pack's", p, r.ID, r.Name)
			}
		}
		all = append(all, rs...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) < 1000 {
		t.Fatalf("read %d SigmaHQ rules from %s, want the full rule set", len(all), root)
	}
	all = append(all, ours...)
	cr, probs := sigma.NewCorrelator(all, sigma.CorrelatorOptions{})
	for _, p := range probs {
		t.Errorf("sigma.NewCorrelator: %v", p)
	}
	if want := countKind(ours, sigma.KindCorrelation); cr.Len() < want {
		t.Errorf("sigma.NewCorrelator: %d correlations, want at least the pack's %d", cr.Len(), want)
	}
}

func countKind(rules []*sigma.Rule, k sigma.Kind) int {
	n := 0
	for _, r := range rules {
		if r.Kind == k {
			n++
		}
	}
	return n
}
