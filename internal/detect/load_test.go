// SPDX-License-Identifier: Apache-2.0

package detect

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"context"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/koban-csirt/koban/internal/shareddata"
	"github.com/koban-csirt/koban/internal/sigma"
)

// rule returns a small valid Sigma rule.
func rule(id, title, level, status string, extra ...string) string {
	s := fmt.Sprintf("title: %s\nid: %s\nstatus: %s\nlevel: %s\nlogsource:\n    product: windows\n    category: process_creation\n"+
		"detection:\n    selection:\n        Image|endswith: '\\%s.exe'\n    condition: selection\n", title, id, status, level, strings.ReplaceAll(title, " ", ""))
	return s + strings.Join(extra, "")
}

const (
	idA = "11111111-1111-4111-8111-111111111111"
	idB = "22222222-2222-4222-8222-222222222222"
	idC = "33333333-3333-4333-8333-333333333333"
)

// broken has a condition naming a search that does not exist, on line 9.
const broken = "title: Broken\nid: 44444444-4444-4444-8444-444444444444\nstatus: test\nlevel: high\n" +
	"logsource:\n    product: windows\ndetection:\n    selection:\n        Image: x\n    condition: selection and nothere\n"

const infoYML = "id: 75a7a650-1934-4994-9447-addc8cea2c50\nrule_metadata:\n    - id: " + idA + "\n      title: A\n" +
	"regression_tests_info:\n    - name: Positive\n      type: evtx\n      path: regression_data/x.evtx\n"

const workflowYML = "name: CI\non: [push]\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - run: make\n"

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func msgs(probs []*sigma.Problem) []string {
	var out []string
	for _, p := range probs {
		out = append(out, p.Msg)
	}
	slices.Sort(out)
	return out
}

func TestLoadRulesDirectory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"windows/a.yml":                     rule(idA, "Rule A", "high", "test"),
		"windows/b.yaml":                    rule(idB, "Rule B", "low", "stable"),
		"windows/broken.yml":                broken,
		"windows/zz_copy_of_a.yml":          rule(idA, "Rule A again", "high", "test"),
		"regression_data/a/info.yml":        infoYML,
		".github/workflows/ci.yml":          workflowYML,
		".git/config.yml":                   rule(idC, "In git", "high", "test"),
		"notes.txt":                         rule(idC, "Not YAML by name", "high", "test"),
		"empty.yml":                         "",
		"windows/multi.yml":                 rule(idC, "Rule C", "medium", "test") + "---\n" + workflowYML,
		"deep/er/still/fine/rule_deep.yaml": rule("55555555-5555-4555-8555-555555555555", "Deep", "critical", "test"),
	})
	if err := os.Symlink(filepath.Join(dir, "windows", "a.yml"), filepath.Join(dir, "link.yml")); err != nil {
		t.Fatal(err)
	}
	p, probs := LoadRules(context.Background(), []Source{{Label: "mine", Path: dir}})
	var ids []string
	for _, r := range p.Rules {
		ids = append(ids, r.Title)
	}
	if want := []string{"Deep", "Rule A", "Rule B", "Rule C"}; !slices.Equal(ids, want) {
		t.Errorf("LoadRules(%s): rules %q, want %q", dir, ids, want)
	}
	// broken.yml, the copy of A and multi.yml (whose second document is no
	// rule but sits in a rule file) are problems; info.yml, the workflow
	// and the empty file are not rules.
	want := []string{"rules.duplicate_id", "sigma.cond.unknown_ident", "sigma.missing", "sigma.missing", "sigma.missing"}
	if !cmp.Equal(msgs(probs), want) {
		t.Errorf("problems %v, want messages %v", probs, want)
	}
	if p.Files != 5+1 || p.NotRules != 3 {
		t.Errorf("Files %d (want 6), NotRules %d (want 3)", p.Files, p.NotRules)
	}
	for _, pr := range probs {
		switch pr.Msg {
		case "rules.duplicate_id":
			if !strings.HasSuffix(pr.File, "zz_copy_of_a.yml") || pr.Pos.Line != 1 || !strings.HasSuffix(fmt.Sprint(pr.Args...), "a.yml") {
				t.Errorf("duplicate reported as %+v, want on the second file naming the first", pr)
			}
		case "sigma.cond.unknown_ident":
			if !strings.HasSuffix(pr.File, "broken.yml") || pr.Pos.Line != 10 {
				t.Errorf("broken rule reported as %v, want broken.yml line 10", pr)
			}
		}
	}
	if o := p.Origin(p.Rules[0]); o != (Origin{Source: "mine", File: "deep/er/still/fine/rule_deep.yaml"}) {
		t.Errorf("Origin(Deep) = %+v", o)
	}
}

func TestLoadRulesSingleFileAndMissingPath(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f := filepath.Join(dir, "my rule.txt")
	writeFiles(t, dir, map[string]string{"my rule.txt": rule(idA, "A", "high", "test")})
	missing := filepath.Join(dir, "nope")
	p, probs := LoadRules(context.Background(), []Source{{Path: f}, {Path: missing}})
	if len(p.Rules) != 1 || p.Origin(p.Rules[0]) != (Origin{Source: f, File: "my rule.txt"}) {
		t.Errorf("LoadRules(%s): %d rules, origin %+v", f, len(p.Rules), p.Origin(p.Rules[0]))
	}
	if len(probs) != 1 || probs[0].Msg != "rules.read" || probs[0].File != missing {
		t.Errorf("problems for a missing path: %v", probs)
	}
}

func TestLoadRulesFS(t *testing.T) {
	t.Parallel()
	fsys := fstest.MapFS{
		"windows/a.yml": {Data: []byte(rule(idA, "A", "high", "test"))},
		"README.md":     {Data: []byte("# pack")},
		"big.yml":       {Data: bytes.Repeat([]byte("#"), MaxRuleFileBytes+1)},
	}
	p, probs := LoadRules(context.Background(), []Source{{Label: "koban", FS: fsys}})
	if len(p.Rules) != 1 || p.Rules[0].File != "koban/windows/a.yml" || p.Origin(p.Rules[0]).Source != "koban" {
		t.Errorf("rules %v", p.Rules)
	}
	if len(probs) != 1 || probs[0].Msg != "sigma.file_too_large" || probs[0].File != "koban/big.yml" {
		t.Errorf("problems %v, want big.yml too large", probs)
	}
}

// zipEntry is one entry of a test archive; raw entries (claimed > 0) are
// deflated by hand and their header claims a false uncompressed size.
type zipEntry struct {
	name    string
	body    string
	mode    fs.FileMode
	claimed uint64 // for raw entries: the uncompressed size in the header
}

func buildZip(t testing.TB, entries []zipEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		if e.mode != 0 {
			h.SetMode(e.mode)
		}
		if e.claimed > 0 {
			var comp bytes.Buffer
			fw, _ := flate.NewWriter(&comp, flate.BestSpeed)
			fw.Write([]byte(e.body))
			fw.Close()
			h.CRC32 = crc32.ChecksumIEEE([]byte(e.body))
			h.CompressedSize64 = uint64(comp.Len())
			h.UncompressedSize64 = e.claimed
			w, err := zw.CreateRaw(h)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write(comp.Bytes()); err != nil {
				t.Fatal(err)
			}
			continue
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestLoadRulesZip(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	z := buildZip(t, []zipEntry{
		{name: "rules/"},
		{name: "rules/windows/a.yml", body: rule(idA, "A", "high", "test")},
		{name: "rules/windows/b.yml", body: rule(idB, "B", "low", "test")},
		{name: "rules/windows/b.yml", body: rule(idC, "B twice", "low", "test")},
		{name: "../../evil.yml", body: rule(idC, "Slip", "high", "test")},
		{name: "rules/../../evil2.yml", body: rule(idC, "Slip 2", "high", "test")},
		{name: "/etc/evil.yml", body: rule(idC, "Absolute", "high", "test")},
		{name: `rules\..\evil.yml`, body: rule(idC, "Backslash", "high", "test")},
		{name: "C:evil.yml", body: rule(idC, "Drive", "high", "test")},
		{name: "rules/link.yml", body: "../../../etc/passwd", mode: fs.ModeSymlink | 0o777},
		{name: ".github/workflows/ci.yml", body: workflowYML},
		{name: "regression_data/x/info.yml", body: infoYML},
		{name: "rules/huge.yml", body: strings.Repeat("#", MaxRuleFileBytes+10)},
		{name: "rules/liar.yml", body: strings.Repeat("#", MaxRuleFileBytes+10), claimed: 100},
		{name: "LICENSE", body: "DRL"},
	})
	zp := filepath.Join(dir, "sigma_all_rules.zip")
	if err := os.WriteFile(zp, z, 0o644); err != nil {
		t.Fatal(err)
	}
	var rels []string
	probs, err := Walk(context.Background(), Source{Path: zp}, func(f File) error {
		rels = append(rels, f.Rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	wantRels := []string{".github/workflows/ci.yml", "regression_data/x/info.yml", "rules/windows/a.yml", "rules/windows/b.yml"}
	if !slices.Equal(rels, wantRels) {
		t.Errorf("Walk(zip) files %q, want %q", rels, wantRels)
	}
	got := map[string]int{}
	for _, p := range probs {
		got[p.Msg]++
	}
	// huge.yml says its size; liar.yml claims 100 bytes and inflates to
	// more, which the reader refuses.
	want := map[string]int{"rules.zip_unsafe_path": 5, "rules.zip_duplicate": 1, "sigma.file_too_large": 1, "rules.read": 1}
	if !cmp.Equal(got, want) {
		t.Errorf("problems %v\nby message %v, want %v", probs, got, want)
	}
	p, lprobs := LoadRules(context.Background(), []Source{{Label: "sigma", Path: zp}})
	if len(p.Rules) != 2 || p.NotRules != 2 || p.Files != 2 || len(lprobs) != len(probs) {
		t.Errorf("LoadRules(zip): %d rules, %d files, %d not rules, problems %v", len(p.Rules), p.Files, p.NotRules, lprobs)
	}
	if p.Rules[0].File != zp+"/rules/windows/a.yml" {
		t.Errorf("rule file %q", p.Rules[0].File)
	}
}

func TestLoadRulesZipCorrupt(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	z := buildZip(t, []zipEntry{{name: "a.yml", body: rule(idA, "A", "high", "test")}})
	zp := filepath.Join(dir, "cut.zip")
	if err := os.WriteFile(zp, z[:len(z)-30], 0o644); err != nil {
		t.Fatal(err)
	}
	p, probs := LoadRules(context.Background(), []Source{{Path: zp}})
	if len(p.Rules) != 0 || len(probs) != 1 || probs[0].Msg != "rules.read" || !strings.Contains(probs[0].Error(), "cut.zip") {
		t.Errorf("truncated zip: %d rules, problems %v", len(p.Rules), probs)
	}
}

func TestLoadRulesCancelled(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"a.yml": rule(idA, "A", "high", "test")})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p, probs := LoadRules(ctx, []Source{{Path: dir}})
	if len(p.Rules) != 0 || len(probs) != 1 || !strings.Contains(probs[0].Error(), "context canceled") {
		t.Errorf("cancelled: %d rules, problems %v", len(p.Rules), probs)
	}
}

// TestLoadSigmaHQ loads the shared SigmaHQ checkout as one directory, as a
// user pointing koban at a clone would: the main packs load without
// problems and the regression descriptions and test configuration count as
// other YAML.
func TestLoadSigmaHQ(t *testing.T) {
	t.Parallel()
	base := shareddata.Path(t, "sigma")
	p, probs := LoadRules(context.Background(), []Source{{Label: "sigmahq", Path: base}})
	byTop := map[string]int{}
	for _, pr := range probs {
		rel, _ := filepath.Rel(base, pr.File)
		top, _, _ := strings.Cut(rel, string(filepath.Separator))
		byTop[top]++
		if strings.HasPrefix(top, "rules") && top != "rules-placeholder" {
			t.Errorf("%v", pr)
		}
	}
	t.Logf("%d rule files, %d other YAML files, %d rules, problems by folder %v", p.Files, p.NotRules, len(p.Rules), byTop)
	// 163 regression info.yml files and tests/thor.yml.
	if p.NotRules != 164 {
		t.Errorf("NotRules = %d, want 164", p.NotRules)
	}
	if len(p.Rules) < 3900 {
		t.Errorf("only %d rules", len(p.Rules))
	}
}

func mk(id, level, status string, tags ...string) *sigma.Rule {
	return &sigma.Rule{Kind: sigma.KindRule, ID: id, Title: id, Level: level, Status: status, Tags: tags}
}

func corr(id, level, status string, refs ...string) *sigma.Rule {
	return &sigma.Rule{Kind: sigma.KindCorrelation, ID: id, Title: id, Level: level, Status: status,
		Correlation: &sigma.Correlation{Type: "event_count", Rules: refs}}
}

func TestSelect(t *testing.T) {
	t.Parallel()
	named := mk("named-id", "informational", "test")
	named.Name = "failed_logon"
	rules := []*sigma.Rule{
		mk("stable-high", "high", "stable", "attack.execution", "attack.t1059.001"),
		mk("exp-low", "low", "experimental"),
		mk("depr-crit", "critical", "deprecated"),
		mk("info", "informational", "test"),
		mk("nolevel", "", ""),
		{Kind: sigma.KindFilter, ID: "filter", Title: "filter", Level: "informational", Status: "deprecated"},
		named,
		mk("base-low", "low", "test"),
		corr("brute", "high", "test", "failed_logon"),
		corr("chain", "critical", "test", "brute", "base-low"),
		mk("base-orphan", "informational", "test"),
		corr("corr-below", "low", "test", "base-orphan"),
		mk("base-off", "informational", "test", "koban.off"),
		corr("corr-needs-off", "high", "test", "base-off"),
		corr("loop-a", "high", "test", "loop-b"),
		corr("loop-b", "high", "test", "loop-a"),
	}
	type result struct {
		Kept    []string
		Skipped map[string]string
	}
	run := func(pol Policy) result {
		kept, skipped := Select(rules, pol)
		r := result{Skipped: map[string]string{}}
		for _, k := range kept {
			r.Kept = append(r.Kept, k.ID)
		}
		for _, s := range skipped {
			r.Skipped[s.Rule.ID] = s.Reason + fmt.Sprint(s.Args...)
		}
		if len(kept)+len(skipped) != len(rules) {
			panic("Select lost rules")
		}
		return r
	}
	tests := []struct {
		name string
		pol  Policy
		want result
	}{
		{"default policy", Policy{Statuses: []string{"stable", "test", "experimental"}, MinLevel: "medium"}, result{
			Kept: []string{"stable-high", "filter", "named-id", "base-low", "brute", "chain", "base-off", "corr-needs-off"},
			Skipped: map[string]string{
				"exp-low": "rules.skip_levellevellowminmedium", "depr-crit": "rules.skip_statusstatusdeprecated",
				"info": "rules.skip_levellevelinformationalminmedium", "nolevel": "rules.skip_levellevelinformationalminmedium",
				"base-orphan": "rules.skip_levellevelinformationalminmedium", "corr-below": "rules.skip_levellevellowminmedium",
				"loop-a": "rules.skip_baseruleloop-b", "loop-b": "rules.skip_baseruleloop-a",
			},
		}},
		{"everything", Policy{}, result{
			Kept: []string{"stable-high", "exp-low", "depr-crit", "info", "nolevel", "filter", "named-id", "base-low", "brute", "chain",
				"base-orphan", "corr-below", "base-off", "corr-needs-off"},
			Skipped: map[string]string{"loop-a": "rules.skip_baseruleloop-b", "loop-b": "rules.skip_baseruleloop-a"},
		}},
		{"disabled by id, name and tag", Policy{DisabledRules: []string{"failed_logon", "exp-low"}, DisabledTags: []string{"ATTACK.T1059", "koban.off"}}, result{
			Kept: []string{"depr-crit", "info", "nolevel", "filter", "base-low", "base-orphan", "corr-below"},
			Skipped: map[string]string{
				"stable-high": "rules.skip_tagtagattack.t1059.001", "exp-low": "rules.skip_disabledruleexp-low",
				"named-id": "rules.skip_disabledrulefailed_logon", "brute": "rules.skip_baserulefailed_logon",
				"chain": "rules.skip_baserulebrute", "base-off": "rules.skip_tagtagkoban.off", "corr-needs-off": "rules.skip_baserulebase-off",
				"loop-a": "rules.skip_baseruleloop-b", "loop-b": "rules.skip_baseruleloop-a",
			},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := run(tt.pol)
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("Select(%+v) (-want +got):\n%s", tt.pol, d)
			}
		})
	}
}

// FuzzZip feeds arbitrary bytes to the zip reader: it must not panic, and
// every file it hands over must be a YAML file whose path stays inside the
// pack and whose size is within the limit (the rule parser has fuzz
// targets of its own in package sigma). The seeds are archives of real
// SigmaHQ rules, one with hostile entries, and a damaged one.
func FuzzZip(f *testing.F) {
	base := shareddata.Path(f, "sigma/rules/windows/process_creation")
	entries, err := os.ReadDir(base)
	if err != nil {
		f.Fatal(err)
	}
	var real []zipEntry
	for _, e := range entries[:min(6, len(entries))] {
		b, err := os.ReadFile(filepath.Join(base, e.Name()))
		if err != nil {
			f.Fatal(err)
		}
		real = append(real, zipEntry{name: "rules/windows/process_creation/" + e.Name(), body: string(b)})
	}
	good := buildZip(f, real)
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add(buildZip(f, []zipEntry{
		{name: "../evil.yml", body: rule(idA, "A", "high", "test")},
		{name: "a/./b/../c.yml", body: rule(idB, "B", "high", "test")},
		{name: "link.yml", body: "/etc/passwd", mode: fs.ModeSymlink | 0o777},
		{name: "liar.yml", body: strings.Repeat("x", 5000), claimed: 10},
		{name: "ok.yaml", body: rule(idC, "C", "low", "test")},
		{name: "ok.yaml", body: rule(idC, "C", "low", "test")},
	}))
	f.Add(buildZip(f, nil))
	f.Fuzz(func(t *testing.T, data []byte) {
		var files int
		// Small limits: an archive whose entries all point at one
		// compressed stream would otherwise inflate MaxZipBytes per run.
		lim := zipLimits{entries: 1000, entryBytes: 64 << 10, totalBytes: 1 << 20}
		probs, err := walkZip(context.Background(), bytes.NewReader(data), int64(len(data)), "fuzz.zip", lim, func(fl File) error {
			files++
			if !fs.ValidPath(fl.Rel) || !isYAML(fl.Rel) || strings.Contains(fl.Rel, `\`) || slices.Contains(strings.Split(fl.Rel, "/"), "..") {
				t.Errorf("unsafe or non-YAML file handed over: %q", fl.Rel)
			}
			if len(fl.Data) > lim.entryBytes {
				t.Errorf("%s: %d bytes, over the limit", fl.Rel, len(fl.Data))
			}
			if fl.Name != "fuzz.zip/"+fl.Rel {
				t.Errorf("name %q for %q", fl.Name, fl.Rel)
			}
			return nil
		})
		if err != nil && files > 0 {
			t.Errorf("error %v after %d files", err, files)
		}
		for _, p := range probs {
			if p.File == "" || p.Error() == "" {
				t.Errorf("problem without a place or text: %+v", p)
			}
		}
	})
}

func TestSelectLogSource(t *testing.T) {
	mk := func(id, product, category, service string) *sigma.Rule {
		return &sigma.Rule{ID: id, Title: id, Level: "high", LogSource: sigma.LogSource{Product: product, Category: category, Service: service}}
	}
	rules := []*sigma.Rule{mk("ps", "windows", "ps_script", ""), mk("pc", "windows", "process_creation", ""), mk("sys", "windows", "", "sysmon"), mk("ssh", "linux", "", "sshd")}
	kept, skipped := Select(rules, Policy{DisabledLogSources: []string{"windows/ps_script", "*/*/sysmon"}})
	var ids []string
	for _, r := range kept {
		ids = append(ids, r.ID)
	}
	if strings.Join(ids, ",") != "pc,ssh" || len(skipped) != 2 || skipped[0].Reason != "rules.skip_logsource" {
		t.Fatalf("kept %v, skipped %+v", ids, skipped)
	}
}
