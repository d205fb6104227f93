// SPDX-License-Identifier: Apache-2.0

package app

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/koban-csirt/koban/internal/config"
	"github.com/koban-csirt/koban/internal/detect"
	"github.com/koban-csirt/koban/internal/event"
	"github.com/koban-csirt/koban/internal/intake"
	"github.com/koban-csirt/koban/internal/intake/file"
	"github.com/koban-csirt/koban/internal/normalize"
	"github.com/koban-csirt/koban/internal/sigma"
)

// ---- koban rules test ----

const rulesTestSynopsis = `rules test [--rules PATH…] DIR…

Runs the rule test cases found below each DIR, in two layouts:

  SigmaHQ's regression tests: an info.yml naming the rules under test
  (rule_metadata ids) and their samples (regression_tests_info entries of
  type evtx, with path and match_count). Each rule must match its sample at
  least match_count times (once when absent). Sample paths are taken from
  the root of the SigmaHQ checkout holding the case, else beside info.yml.

  koban's own layout: a folder with expect.yml, events.jsonl (one JSON event
  per line, as koban's HTTP intake takes them) and, optionally, rule.yml
  (one or more Sigma documents; without it the rules are looked up by id):
      matches:                 # rule id or name, and exactly how many matches
        - {rule: 5638f7c0-ac70-491d-8465-2a65075e0d86, count: 3}
        - {rule: failed_logon}  # without count: at least one
      no_match: [0e95725d-7320-415d-80f7-004da920fc11]
  Correlation rules count their firings.

Rules come from --rules (default: the configured rule set and, for a case
inside a SigmaHQ checkout, that checkout's rules* folders); every rule is
tested whatever its status or level.

Exit status: 0 when every case passes, 1 when one fails or cannot run.`

// sigmaInfo is SigmaHQ's regression test description (info.yml).
type sigmaInfo struct {
	Rules []struct {
		ID    string `yaml:"id"`
		Title string `yaml:"title"`
	} `yaml:"rule_metadata"`
	Tests []struct {
		Name       string `yaml:"name"`
		Type       string `yaml:"type"`
		Path       string `yaml:"path"`
		MatchCount *int   `yaml:"match_count"`
	} `yaml:"regression_tests_info"`
}

// expectation is expect.yml of koban's test layout.
type expectation struct {
	Matches []struct {
		Rule  string `yaml:"rule"`
		Count *int   `yaml:"count"`
	} `yaml:"matches"`
	NoMatch []string `yaml:"no_match"`
}

// ruleTest is one test case.
type ruleTest struct {
	name string // for output: the folder, relative to the DIR given
	dir  string
	info string // info.yml for a SigmaHQ case; "" for koban's layout
	root string // the SigmaHQ checkout holding the case, if any
}

// findRuleTests lists the cases below dir in path order.
func findRuleTests(dir string) ([]ruleTest, error) {
	root := sigmaCheckout(dir)
	var out []ruleTest
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		if d.IsDir() || (d.Name() != "info.yml" && d.Name() != "expect.yml") {
			return nil
		}
		cd := filepath.Dir(p)
		name, _ := filepath.Rel(dir, cd)
		if name == "." {
			name = filepath.Base(cd)
		}
		t := ruleTest{name: filepath.ToSlash(name), dir: cd, root: root}
		if d.Name() == "info.yml" {
			t.info = p
		}
		out = append(out, t)
		return nil
	})
	return out, err
}

// sigmaCheckout returns the SigmaHQ checkout holding dir (a folder with
// regression_data and rules), or "".
func sigmaCheckout(dir string) string {
	d, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	for {
		if isDir(filepath.Join(d, "regression_data")) && isDir(filepath.Join(d, "rules")) {
			return d
		}
		parent := filepath.Dir(d)
		if parent == d {
			return ""
		}
		d = parent
	}
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// checkoutRules are the rules* folders of a SigmaHQ checkout.
func checkoutRules(root string) []detect.Source {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil
	}
	var out []detect.Source
	for _, e := range entries {
		if e.IsDir() && (e.Name() == "rules" || strings.HasPrefix(e.Name(), "rules-")) {
			p := filepath.Join(root, e.Name())
			out = append(out, detect.Source{Label: p, Path: p})
		}
	}
	return out
}

// ruleTester runs test cases, loading the shared rule set once.
type ruleTester struct {
	ctx   context.Context
	c     config.Config
	cat   catalogue
	paths []string // --rules
	roots []string // SigmaHQ checkouts of the cases
	set   *compiledRules
	err   error
	byRef map[string]*sigma.Rule
	probs map[string]*sigma.Problem // by rule id or name
	norm  *normalize.Normalizer
}

// shared returns the rule set cases without rule.yml use.
func (t *ruleTester) shared() (*compiledRules, error) {
	if t.set != nil || t.err != nil {
		return t.set, t.err
	}
	srcs := pathSources(t.paths)
	if len(t.paths) == 0 {
		srcs = configuredSources(t.c)
		for _, r := range t.roots {
			srcs = append(srcs, checkoutRules(r)...)
		}
	}
	t.set, t.err = loadRules(t.ctx, t.c, srcs, true)
	if t.err == nil {
		t.byRef, t.probs = refIndex(t.set)
	}
	return t.set, t.err
}

// refIndex maps ids and names to the loaded rules and to the problem that
// left a rule out.
func refIndex(set *compiledRules) (map[string]*sigma.Rule, map[string]*sigma.Problem) {
	byRef, probs := map[string]*sigma.Rule{}, map[string]*sigma.Problem{}
	for _, r := range loadedRules(set) {
		for _, k := range []string{r.ID, r.Name} {
			if k != "" {
				byRef[k] = r
			}
		}
	}
	for _, p := range set.problems {
		if p.Rule != "" && probs[p.Rule] == nil {
			probs[p.Rule] = p
		}
	}
	return byRef, probs
}

// missing says why a referenced rule is not loaded.
func (t *ruleTester) missing(ref string, probs map[string]*sigma.Problem) string {
	if p := probs[ref]; p != nil {
		return fmt.Sprintf("rule %s is not loaded: %s", ref, t.cat.line(p))
	}
	return fmt.Sprintf("rule %s is not among the rules loaded", ref)
}

// runRulesTest is "koban rules test".
func runRulesTest(ctx context.Context, args []string, env Env) error {
	fs := newFlags("rules test", rulesTestSynopsis, env)
	cf := config.AddFlags(fs)
	var paths pathList
	fs.Var(&paths, "rules", "rule files, directories or zips holding the rules under test (repeatable)")
	pos, c, err := prepare(fs, cf, args, env, func(pos []string) string {
		if len(pos) == 0 {
			return "name at least one directory of test cases"
		}
		return ""
	})
	if err != nil {
		return done(err)
	}
	cat, err := newCatalogue(env)
	if err != nil {
		return err
	}
	t := &ruleTester{ctx: ctx, c: c, cat: cat, paths: paths, norm: normalize.New()}
	var cases []ruleTest
	for _, d := range pos {
		cs, err := findRuleTests(d)
		if err != nil {
			return fmt.Errorf("rules test: %w", err)
		}
		if r := sigmaCheckout(d); r != "" && !slices.Contains(t.roots, r) {
			t.roots = append(t.roots, r)
		}
		cases = append(cases, cs...)
	}
	if len(cases) == 0 {
		return fmt.Errorf("no test cases (info.yml or expect.yml) below %s", strings.Join(pos, ", "))
	}
	var pass, fail, skip int
	for _, tc := range cases {
		if ctx.Err() != nil {
			return fmt.Errorf("rules test interrupted after %d case(s)", pass+fail+skip)
		}
		verdict, detail := t.run(tc)
		switch verdict {
		case "PASS":
			pass++
		case "SKIP":
			skip++
		default:
			fail++
		}
		fmt.Fprintf(env.Stdout, "%s  %s: %s\n", verdict, tc.name, detail)
	}
	fmt.Fprintf(env.Stdout, "\n%d passed, %d failed, %d skipped\n", pass, fail, skip)
	if fail > 0 {
		return fmt.Errorf("%d rule test(s) failed", fail)
	}
	return nil
}

// run runs one case: PASS, FAIL or SKIP with what was found.
func (t *ruleTester) run(tc ruleTest) (string, string) {
	var fails []string
	var detail string
	var skip bool
	if tc.info != "" {
		detail, fails, skip = t.runSigmaHQ(tc)
	} else {
		detail, fails = t.runOwn(tc)
	}
	switch {
	case len(fails) > 0:
		return "FAIL", strings.Join(fails, "; ")
	case skip:
		return "SKIP", detail
	}
	return "PASS", detail
}

// counts are matches per rule id and per name.
type counts map[string]int

func (c counts) add(r *sigma.Rule) {
	for _, k := range []string{r.ID, r.Name} {
		if k != "" {
			c[k]++
		}
	}
}

// runSigmaHQ runs a case of SigmaHQ's regression_data.
func (t *ruleTester) runSigmaHQ(tc ruleTest) (string, []string, bool) {
	b, err := os.ReadFile(tc.info)
	if err != nil {
		return "", []string{err.Error()}, false
	}
	var info sigmaInfo
	if err := yaml.Unmarshal(b, &info); err != nil {
		return "", []string{fmt.Sprintf("%s: %v", tc.info, err)}, false
	}
	if len(info.Tests) == 0 {
		return "no regression_tests_info in info.yml", nil, true
	}
	if len(info.Rules) == 0 {
		return "", []string{"info.yml names no rule (rule_metadata)"}, false
	}
	set, err := t.shared()
	if err != nil {
		return "", []string{err.Error()}, false
	}
	var fails, done []string
	for _, test := range info.Tests {
		if test.Type != "evtx" {
			done = append(done, fmt.Sprintf("%s: type %q not run", test.Name, test.Type))
			continue
		}
		sample := filepath.Join(tc.dir, path.Base(test.Path))
		if tc.root != "" {
			if p := filepath.Join(tc.root, filepath.FromSlash(test.Path)); fileExists(p) {
				sample = p
			}
		}
		got, events, err := t.matchFile(set.rules.Set, sample)
		if err != nil {
			fails = append(fails, err.Error())
			continue
		}
		want := 1
		if test.MatchCount != nil {
			want = max(*test.MatchCount, 1)
		}
		for _, r := range info.Rules {
			switch {
			case t.byRef[r.ID] == nil:
				fails = append(fails, t.missing(r.ID, t.probs))
			case got[r.ID] < want:
				fails = append(fails, fmt.Sprintf("rule %s (%s) matched %d of %d events in %s, want at least %d", r.ID, r.Title, got[r.ID], events, filepath.Base(sample), want))
			default:
				done = append(done, fmt.Sprintf("%s matched %d of %d events (want ≥ %d)", r.ID, got[r.ID], events, want))
			}
		}
	}
	return strings.Join(done, "; "), fails, false
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// matchFile counts the matches of rs's rules in one log file, read as
// koban import reads it.
func (t *ruleTester) matchFile(rs *sigma.Ruleset, name string) (counts, int64, error) {
	got := counts{}
	sink := newMatchSink(t.norm, rs, func(_ *event.Event, m sigma.Match) { got.add(m.Rule) })
	sum, err := file.Import(t.ctx, name, sink, file.Options{Source: "test"})
	return got, sum.Events, err
}

// runOwn runs a case of koban's layout.
func (t *ruleTester) runOwn(tc ruleTest) (string, []string) {
	exp, err := readExpectation(filepath.Join(tc.dir, "expect.yml"))
	if err != nil {
		return "", []string{err.Error()}
	}
	var set *compiledRules
	var byRef map[string]*sigma.Rule
	var probs map[string]*sigma.Problem
	if rf := filepath.Join(tc.dir, "rule.yml"); fileExists(rf) {
		if set, err = loadRules(t.ctx, t.c, []detect.Source{{Label: tc.name, Path: rf}}, true); err != nil {
			return "", []string{err.Error()}
		}
		if len(set.problems) > 0 {
			var fails []string
			for _, p := range set.problems {
				fails = append(fails, t.cat.line(p))
			}
			return "", fails
		}
		byRef, probs = refIndex(set)
	} else {
		if set, err = t.shared(); err != nil {
			return "", []string{err.Error()}
		}
		byRef, probs = t.byRef, t.probs
	}
	got, events, err := t.matchEvents(set, filepath.Join(tc.dir, "events.jsonl"))
	if err != nil {
		return "", []string{err.Error()}
	}
	var fails, done []string
	for _, m := range exp.Matches {
		switch {
		case byRef[m.Rule] == nil:
			fails = append(fails, t.missing(m.Rule, probs))
		case m.Count == nil && got[m.Rule] == 0:
			fails = append(fails, fmt.Sprintf("rule %s matched none of %d events, want at least one", m.Rule, events))
		case m.Count != nil && got[m.Rule] != *m.Count:
			fails = append(fails, fmt.Sprintf("rule %s matched %d time(s) in %d events, want %d", m.Rule, got[m.Rule], events, *m.Count))
		default:
			done = append(done, fmt.Sprintf("%s matched %d", m.Rule, got[m.Rule]))
		}
	}
	for _, ref := range exp.NoMatch {
		switch {
		case byRef[ref] == nil:
			fails = append(fails, t.missing(ref, probs))
		case got[ref] > 0:
			fails = append(fails, fmt.Sprintf("rule %s matched %d time(s) in %d events, want none", ref, got[ref], events))
		default:
			done = append(done, ref+" did not match")
		}
	}
	return fmt.Sprintf("%d events; %s", events, strings.Join(done, "; ")), fails
}

func readExpectation(name string) (expectation, error) {
	var exp expectation
	b, err := os.ReadFile(name)
	if err != nil {
		return exp, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&exp); err != nil && !errors.Is(err, io.EOF) {
		return exp, fmt.Errorf("%s: %w", name, err)
	}
	if len(exp.Matches) == 0 && len(exp.NoMatch) == 0 {
		return exp, fmt.Errorf("%s: expects nothing: give matches or no_match", name)
	}
	for i, m := range exp.Matches {
		if m.Rule == "" {
			return exp, fmt.Errorf("%s: matches[%d] names no rule", name, i)
		}
	}
	return exp, nil
}

// matchEvents runs the events of a JSON lines file through set, with a
// fresh correlator so that cases do not see each other's windows, and
// counts matches and correlation firings by rule.
func (t *ruleTester) matchEvents(set *compiledRules, name string) (counts, int, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	cr, _ := sigma.NewCorrelator(set.kept, sigma.CorrelatorOptions{}) // its problems are in set.problems
	got := counts{}
	fire := func(cm sigma.CorrelationMatch) { got.add(cm.Rule) }
	m := set.rules.Set.NewMatcher()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), intake.MaxJSONBytes+1)
	now := time.Now().UnixNano()
	n, line := 0, 0
	for sc.Scan() {
		line++
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		ev := event.Event{Received: now, Source: "test"}
		if err := intake.FromJSON(text, &ev); err != nil {
			return nil, n, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		t.norm.Event(&ev)
		n++
		m.Match(&ev, func(x sigma.Match) {
			got.add(x.Rule)
			cr.Observe(x, &ev, fire)
		})
	}
	if err := sc.Err(); err != nil {
		return nil, n, fmt.Errorf("%s:%d: %w", name, line+1, err)
	}
	cr.Advance(math.MaxInt64, fire)
	return got, n, nil
}
