// SPDX-License-Identifier: Apache-2.0

package app

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// sigmaRule returns a small Sigma rule matching process creations whose
// image ends with \<exe>.
func sigmaRule(id, title, level, exe string, tags ...string) string {
	s := fmt.Sprintf("title: %s\nid: %s\nstatus: test\nlevel: %s\nlogsource:\n    product: windows\n    category: process_creation\n"+
		"detection:\n    selection:\n        Image|endswith: '\\%s'\n    condition: selection\n", title, id, level, exe)
	if len(tags) > 0 {
		s += "tags:\n"
		for _, t := range tags {
			s += "    - " + t + "\n"
		}
	}
	return s
}

const (
	ruleWhoami = "a0000000-0000-4000-8000-000000000001"
	ruleNet    = "a0000000-0000-4000-8000-000000000002"
	ruleCert   = "a0000000-0000-4000-8000-000000000003"
)

// brokenRule names a search that does not exist in its condition, on
// line 10.
const brokenRule = "title: Broken\nid: a0000000-0000-4000-8000-0000000000ff\nstatus: test\nlevel: high\n" +
	"logsource:\n    product: windows\ndetection:\n    selection:\n        Image: x\n    condition: selection and nothere\n"

func write(t *testing.T, dir string, files map[string]string) {
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

// listFilesRel returns the regular files below dir, relative and sorted.
func listFilesRel(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func TestRulesLint(t *testing.T) {
	t.Parallel()
	in := t.TempDir()
	write(t, in, map[string]string{
		"good/whoami.yml":             sigmaRule(ruleWhoami, "Whoami", "medium", "whoami.exe"),
		"bad/broken.yml":              brokenRule,
		"regression/x/info.yml":       "id: x\nrule_metadata:\n  - id: " + ruleWhoami + "\n",
		"bad/bad_yaml.yml":            "title: [unclosed\n",
		"good/placeholder_needed.yml": strings.Replace(sigmaRule(ruleNet, "Net", "low", "net.exe"), "Image|endswith: '\\net.exe'", "User|expand: '%admins%'", 1),
	})
	dir := t.TempDir()
	out, errOut, err := run(t, dir, "rules", "lint", in)
	if err == nil || ExitCode(err, &strings.Builder{}) != 1 {
		t.Fatalf("rules lint %s: %v (want exit 1)\nstdout:\n%s\nstderr:\n%s", in, err, out, errOut)
	}
	for _, want := range []string{
		`(?m)^` + regexp.QuoteMeta(filepath.Join(in, "bad", "broken.yml")) + `:10:\d+: .*“nothere”`,
		`(?m)^` + regexp.QuoteMeta(filepath.Join(in, "bad", "bad_yaml.yml")) + `:\d+:\d+: `,
		`(?m)^` + regexp.QuoteMeta(filepath.Join(in, "good", "placeholder_needed.yml")) + `:10:\d+: .*%admins%`,
		`(?m)^4 rule file\(s\) \(1 other YAML file\(s\) left out\), 2 rule\(s\) parsed: 1 loaded, 1 left out; 3 problem\(s\)$`,
	} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("rules lint output does not match %s:\n%s", want, out)
		}
	}
	// The same as JSON.
	out, _, err = run(t, dir, "rules", "lint", "--json", in)
	if err == nil {
		t.Fatalf("rules lint --json: no error\n%s", out)
	}
	var rep lintReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("rules lint --json: %v\n%s", err, out)
	}
	if rep.Files != 4 || rep.NotRules != 1 || rep.Rules != 2 || rep.Loaded != 1 || len(rep.Problems) != 3 {
		t.Errorf("rules lint --json: %+v", rep)
	}
	for _, p := range rep.Problems {
		if strings.HasSuffix(p.File, "broken.yml") && (p.Line != 10 || p.Column < 16 || p.ID != "sigma.cond.unknown_ident" || !strings.Contains(p.Message, "nothere")) {
			t.Errorf("broken.yml reported as %+v, want line 10, the condition's column, sigma.cond.unknown_ident", p)
		}
	}
	// Good rules only: exit 0; Japanese when the locale says so.
	out, _, err = runIn(t, dir, "", map[string]string{"LANG": "ja_JP.UTF-8"}, "rules", "lint", filepath.Join(in, "good", "whoami.yml"))
	if err != nil || !strings.Contains(out, "1 loaded") {
		t.Errorf("rules lint on a good rule: %v\n%s", err, out)
	}
	out, _, _ = runIn(t, dir, "", map[string]string{"LANG": "ja_JP.UTF-8"}, "rules", "lint", filepath.Join(in, "bad", "broken.yml"))
	if !strings.Contains(out, "条件") {
		t.Errorf("rules lint with LANG=ja_JP: message not in Japanese:\n%s", out)
	}
}

var importLine = regexp.MustCompile(`Rules: (\d+) read from (\d+) file\(s\) \((\d+) other YAML file\(s\) left out\): (\d+) loaded, (\d+) skipped`)

func TestRulesImportDirectory(t *testing.T) {
	t.Parallel()
	in := filepath.Join(t.TempDir(), "My Pack")
	write(t, in, map[string]string{
		"windows/whoami.yml":     sigmaRule(ruleWhoami, "Whoami", "medium", "whoami.exe", "attack.discovery", "attack.t1033"),
		"windows/net/net.yml":    sigmaRule(ruleNet, "Net", "informational", "net.exe"),
		"windows/broken.yml":     brokenRule,
		"regression/x/info.yml":  "id: x\nrule_metadata:\n  - id: " + ruleWhoami + "\n",
		"README.md":              "# my pack",
		"windows/certutil.yml":   sigmaRule(ruleCert, "Certutil", "high", "certutil.exe"),
		"windows/deprecated.yml": strings.Replace(sigmaRule("a0000000-0000-4000-8000-000000000004", "Old", "high", "old.exe"), "status: test", "status: deprecated", 1),
	})
	dir := t.TempDir()
	out, errOut, err := run(t, dir, "rules", "import", in)
	if err != nil {
		t.Fatalf("rules import %s: %v\nstdout:\n%s\nstderr:\n%s", in, err, out, errOut)
	}
	pack := filepath.Join(dir, "rules", "My-Pack")
	m := importLine.FindStringSubmatch(out)
	if m == nil || m[1] != "4" || m[2] != "5" || m[3] != "1" || m[4] != "2" || m[5] != "2" {
		t.Errorf("summary: want 4 rules read from 5 files, 1 other, 2 loaded, 2 skipped:\n%s", out)
	}
	for _, want := range []string{
		"Installed rule pack \"My-Pack\": 4 rule file(s)", pack,
		"Rules with status “deprecated” are not loaded.", "Level “informational” is below the lowest level loaded (low).",
		"broken.yml:10:", "SIGHUP",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	if !regexp.MustCompile(`(?m)^  windows\s+0\s+1\s+1\s+0\s+0\s+2$`).MatchString(out) {
		t.Errorf("no windows row with 1 high and 1 medium rule in the level table:\n%s", out)
	}
	// The files holding rules are copied, in their layout; the broken
	// file, the regression description and the README are not.
	want := []string{"windows/certutil.yml", "windows/deprecated.yml", "windows/net/net.yml", "windows/whoami.yml"}
	if got := listFilesRel(t, pack); !slices.Equal(got, want) {
		t.Errorf("pack files %q, want %q", got, want)
	}
	// koban rules list sees the pack (koban's own pack too, unless off).
	out, _, err = runIn(t, dir, "", map[string]string{"KOBAN_DETECTION_OWN_RULES": "false"}, "rules", "list")
	if err != nil || !strings.Contains(out, ruleWhoami) || !strings.Contains(out, ruleCert) || strings.Contains(out, ruleNet) {
		t.Errorf("rules list after import: %v\n%s", err, out)
	}
	// A second import of the same name replaces the pack whole.
	if err := os.RemoveAll(filepath.Join(in, "windows", "net")); err != nil {
		t.Fatal(err)
	}
	out, _, err = run(t, dir, "rules", "import", "--name", "My-Pack", in)
	if err != nil || !strings.Contains(out, "Replaced rule pack \"My-Pack\": 3 rule file(s)") {
		t.Fatalf("second import: %v\n%s", err, out)
	}
	if got := listFilesRel(t, pack); slices.Contains(got, "windows/net/net.yml") || len(got) != 3 {
		t.Errorf("after replacing: %q", got)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "rules"))
	if len(entries) != 1 {
		t.Errorf("rules directory holds %v, want only the pack (no temporary or old copies)", entries)
	}
}

func TestRulesImportUsage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	empty := t.TempDir()
	write(t, empty, map[string]string{"ci.yml": "name: CI\non: [push]\n"})
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"rules", "import"}, "name one rule file, directory or zip"},
		{[]string{"rules", "import", "--name", "../up", empty}, `--name "../up"`},
		{[]string{"rules"}, "missing subcommand"},
		{[]string{"rules", "frob"}, `unknown subcommand "frob"`},
	} {
		_, errOut, err := run(t, dir, c.args...)
		if !errors.Is(err, ErrUsage) || !strings.Contains(errOut, c.want) {
			t.Errorf("koban %v: %v, stderr %q; want a usage error saying %q", c.args, err, errOut, c.want)
		}
	}
	_, _, err := run(t, dir, "rules", "import", empty)
	if err == nil || !strings.Contains(err.Error(), "no rules found") {
		t.Errorf("import of a folder without rules: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "rules", filepath.Base(empty))); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("an empty pack was installed: %v", err)
	}
}

// testZip writes a zip archive of entries (name, body) in order.
func testZip(t *testing.T, name string, entries [][2]string) {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		w, err := zw.Create(e[0])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(e[1])); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestRulesImportZip(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	zp := filepath.Join(base, "sigma_all_rules.zip")
	testZip(t, zp, [][2]string{
		{"rules/windows/whoami.yml", sigmaRule(ruleWhoami, "Whoami", "medium", "whoami.exe")},
		{"../../evil.yml", sigmaRule(ruleNet, "Slip", "high", "net.exe")},
		{"rules/../../../evil2.yml", sigmaRule(ruleNet, "Slip 2", "high", "net.exe")},
		{".github/workflows/test.yml", "name: test\non: push\njobs: {}\n"},
		{"rules-threat-hunting/windows/certutil.yml", sigmaRule(ruleCert, "Certutil", "high", "certutil.exe")},
	})
	dir := filepath.Join(base, "data")
	out, errOut, err := run(t, dir, "rules", "import", zp)
	if err != nil {
		t.Fatalf("rules import %s: %v\nstdout:\n%s\nstderr:\n%s", zp, err, out, errOut)
	}
	for _, want := range []string{
		`Installed rule pack "sigma_all_rules": 2 rule file(s)`,
		"“../../evil.yml” would be written outside the pack; it is refused.",
		"“rules/../../../evil2.yml” would be written outside the pack; it is refused.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	pack := filepath.Join(dir, "rules", "sigma_all_rules")
	if got, want := listFilesRel(t, pack), []string{"rules-threat-hunting/windows/certutil.yml", "rules/windows/whoami.yml"}; !slices.Equal(got, want) {
		t.Errorf("pack files %q, want %q", got, want)
	}
	// Nothing was written outside the pack.
	for _, p := range listFilesRel(t, base) {
		if strings.Contains(p, "evil") {
			t.Errorf("zip-slip entry written: %s", p)
		}
	}
}

func TestRulesList(t *testing.T) {
	t.Parallel()
	in := t.TempDir()
	write(t, in, map[string]string{
		"a.yml": sigmaRule(ruleWhoami, "Whoami Run", "medium", "whoami.exe", "attack.discovery", "attack.t1033"),
		"b.yml": sigmaRule(ruleNet, "Net Run", "low", "net.exe", "attack.discovery", "attack.t1087.001"),
		"c.yml": sigmaRule(ruleCert, "Certutil Run", "critical", "certutil.exe", "attack.t1105"),
	})
	dir := t.TempDir()
	rows := func(args ...string) []string {
		t.Helper()
		out, errOut, err := run(t, dir, append([]string{"rules", "list", "--rules", in}, args...)...)
		if err != nil {
			t.Fatalf("rules list %v: %v\n%s", args, err, errOut)
		}
		var ids []string
		for _, l := range strings.Split(out, "\n") {
			if f := strings.Fields(l); len(f) > 0 && strings.HasPrefix(f[0], "a0000000-") {
				ids = append(ids, f[0])
			}
		}
		return ids
	}
	if got, want := rows(), []string{ruleCert, ruleWhoami, ruleNet}; !slices.Equal(got, want) {
		t.Errorf("rules list: %v, want %v (by level, highest first)", got, want)
	}
	if got, want := rows("--level", "medium"), []string{ruleCert, ruleWhoami}; !slices.Equal(got, want) {
		t.Errorf("rules list --level medium: %v, want %v", got, want)
	}
	if got, want := rows("--tag", "attack.t1087"), []string{ruleNet}; !slices.Equal(got, want) {
		t.Errorf("rules list --tag attack.t1087: %v, want %v", got, want)
	}
	if got, want := rows("--tag", "discovery"), []string{ruleWhoami, ruleNet}; !slices.Equal(got, want) {
		t.Errorf("rules list --tag discovery: %v, want %v", got, want)
	}
	out, _, _ := run(t, dir, "rules", "list", "--rules", in)
	if !regexp.MustCompile(ruleWhoami + `\s+medium\s+test\s+windows/process_creation/\*\s+Whoami Run\s+T1033`).MatchString(out) {
		t.Errorf("rules list row for Whoami Run lacks level, status, logsource, title or technique:\n%s", out)
	}
	if _, errOut, err := run(t, dir, "rules", "list", "--level", "urgent"); !errors.Is(err, ErrUsage) || !strings.Contains(errOut, `--level "urgent"`) {
		t.Errorf("rules list --level urgent: %v %s", err, errOut)
	}
}

var testTotals = regexp.MustCompile(`(?m)^(\d+) passed, (\d+) failed, (\d+) skipped$`)
