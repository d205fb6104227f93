// SPDX-License-Identifier: Apache-2.0

package app

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/koban-csirt/koban/internal/config"
	"github.com/koban-csirt/koban/internal/detect"
	"github.com/koban-csirt/koban/internal/i18n"
	"github.com/koban-csirt/koban/internal/sigma"
)

const rulesSynopsis = `rules <subcommand> [flags]

Subcommands:
  lint PATH…              parse and compile rules; one line per problem; exit 1 when any
  import PATH|ZIP         validate a pack and install it in <data_dir>/rules/<name>
  test DIR…               run rule fixtures (SigmaHQ regression_data, or case/expect.yml)
  list                    list the rules koban loads

Run 'koban rules <subcommand> -h' for a subcommand's flags.`

// runRules dispatches "koban rules SUBCOMMAND".
func runRules(ctx context.Context, args []string, env Env) error {
	fs := newFlags("rules", rulesSynopsis, env)
	fs.Usage = func() { fmt.Fprintf(env.Stderr, "Usage: koban %s\n", rulesSynopsis) }
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if _, err := parse(fs, args); err != nil {
			return done(err)
		}
		return usageErr(fs, "missing subcommand")
	}
	switch args[0] {
	case "lint":
		return runRulesLint(ctx, args[1:], env)
	case "import":
		return runRulesImport(ctx, args[1:], env)
	case "test":
		return runRulesTest(ctx, args[1:], env)
	case "list":
		return runRulesList(ctx, args[1:], env)
	}
	return usageErr(fs, "unknown subcommand %q", args[0])
}

// pathList is a flag that may be given several times, each time with one
// path or a comma-separated list.
type pathList []string

func (p *pathList) String() string { return strings.Join(*p, ",") }

func (p *pathList) Set(s string) error {
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			*p = append(*p, v)
		}
	}
	return nil
}

// pathSources turns paths given on the command line into rule sources.
func pathSources(paths []string) []detect.Source {
	out := make([]detect.Source, len(paths))
	for i, p := range paths {
		out[i] = detect.Source{Label: p, Path: p}
	}
	return out
}

// loadRules reads, selects and compiles rules as koban serve does
// (compileRules); with all, the configured selection is left out, so that
// every rule is checked.
func loadRules(ctx context.Context, c config.Config, srcs []detect.Source, all bool) (*compiledRules, error) {
	if all {
		c.Detect.Statuses, c.Detect.DisabledRules, c.Detect.DisabledTags, c.Detect.DisabledLogSources = nil, nil, nil, nil
	}
	cr, err := compileRules(ctx, c, srcs)
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	return cr, err
}

// loadedRules returns the selected rules that compiled: detection rules,
// filters and correlations no problem names.
func loadedRules(cr *compiledRules) []*sigma.Rule {
	bad := map[string]bool{}
	for _, p := range cr.problems {
		if p.Rule != "" {
			bad[p.File+"\x00"+p.Rule] = true
		}
	}
	var out []*sigma.Rule
	for _, r := range cr.kept {
		if !bad[r.File+"\x00"+r.Ref()] {
			out = append(out, r)
		}
	}
	return out
}

// reported splits the loaded rules by detection.min_level as the detector
// does: rules below it stay loaded to feed correlations but report
// nothing; the others are returned first.
func reported(cr *compiledRules, minLevel string) ([]*sigma.Rule, []detect.Skipped) {
	return detect.Select(loadedRules(cr), detect.Policy{MinLevel: minLevel})
}

// catalogue renders message ids in the terminal's language.
type catalogue struct {
	cat  *i18n.Catalog
	lang i18n.Lang
}

func newCatalogue(env Env) (catalogue, error) {
	cat, err := i18n.Load()
	return catalogue{cat, terminalLang(env.Getenv)}, err
}

func (c catalogue) text(id string, args []any) string { return c.cat.T(c.lang, id, args...) }

// line renders a problem as file:line:col: message.
func (c catalogue) line(p *sigma.Problem) string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Pos.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", p.Pos.Line, p.Pos.Col)
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	b.WriteString(c.text(p.Msg, p.Args))
	return b.String()
}

func sortProblems(probs []*sigma.Problem) {
	slices.SortStableFunc(probs, func(a, b *sigma.Problem) int {
		return cmp.Or(strings.Compare(a.File, b.File), cmp.Compare(a.Pos.Line, b.Pos.Line), cmp.Compare(a.Pos.Col, b.Pos.Col))
	})
}

// reason is one line of a "skipped by reason" summary.
type reason struct {
	ID      string `json:"reason"`
	Message string `json:"message"` // the first occurrence, in the reader's language
	Count   int    `json:"count"`
	similar bool   // occurrences differ in their details
}

// reasons counts problems by message id and skipped rules by their
// rendered reason (a status or level), most frequent first.
func (c catalogue) reasons(probs []*sigma.Problem, skipped []detect.Skipped) []reason {
	idx := map[string]int{}
	var out []reason
	add := func(key, id, msg string) {
		i, ok := idx[key]
		if !ok {
			i = len(out)
			idx[key] = i
			out = append(out, reason{ID: id, Message: msg})
		}
		out[i].Count++
		out[i].similar = out[i].similar || out[i].Message != msg
	}
	for _, p := range probs {
		add(p.Msg, p.Msg, c.text(p.Msg, p.Args))
	}
	for _, s := range skipped {
		msg := c.text(s.Reason, s.Args)
		add(msg, s.Reason, msg)
	}
	slices.SortStableFunc(out, func(a, b reason) int { return cmp.Compare(b.Count, a.Count) })
	return out
}

func writeReasons(w io.Writer, rs []reason, limit int) {
	for i, r := range rs {
		if limit > 0 && i == limit {
			fmt.Fprintf(w, "  … and %d more reasons\n", len(rs)-limit)
			return
		}
		msg := r.Message
		if r.similar {
			msg += " (and similar)"
		}
		fmt.Fprintf(w, "  %6d  %s\n", r.Count, msg)
	}
}

// ---- koban rules lint ----

// lintReport is the --json output of "koban rules lint".
type lintReport struct {
	Files    int           `json:"files"`
	NotRules int           `json:"not_rules"`
	Rules    int           `json:"rules"`
	Loaded   int           `json:"loaded"`
	Skipped  []reason      `json:"skipped"`
	Problems []lintProblem `json:"problems"`
}

type lintProblem struct {
	File        string `json:"file"`
	Line        int    `json:"line,omitempty"`
	Column      int    `json:"column,omitempty"`
	Rule        string `json:"rule,omitempty"`
	ID          string `json:"message_id"`
	Message     string `json:"message"`
	Unsupported bool   `json:"unsupported,omitempty"`
}

// runRulesLint parses and compiles every rule under the paths, prints one
// line per problem and a summary, and fails when there is any problem.
func runRulesLint(ctx context.Context, args []string, env Env) error {
	fs := newFlags("rules lint", "rules lint [--json] PATH…", env)
	cf := config.AddFlags(fs)
	asJSON := fs.Bool("json", false, "print a JSON report instead of text")
	pos, c, err := prepare(fs, cf, args, env, func(pos []string) string {
		if len(pos) == 0 {
			return "name at least one rule file, directory or zip"
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
	s, err := loadRules(ctx, c, pathSources(pos), true)
	if err != nil {
		return err
	}
	probs := s.problems
	sortProblems(probs)
	rep := lintReport{Files: s.pack.Files, NotRules: s.pack.NotRules, Rules: len(s.pack.Rules), Loaded: len(loadedRules(s)),
		Skipped: cat.reasons(probs, nil), Problems: []lintProblem{}}
	for _, p := range probs {
		rep.Problems = append(rep.Problems, lintProblem{File: p.File, Line: p.Pos.Line, Column: p.Pos.Col, Rule: p.Rule,
			ID: p.Msg, Message: cat.text(p.Msg, p.Args), Unsupported: p.Unsupported})
	}
	w := env.Stdout
	if *asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		for _, p := range probs {
			fmt.Fprintln(w, cat.line(p))
		}
		if len(probs) > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "%d rule file(s) (%d other YAML file(s) left out), %d rule(s) parsed: %d loaded, %d left out; %d problem(s)\n",
			rep.Files, rep.NotRules, rep.Rules, rep.Loaded, rep.Rules-rep.Loaded, len(probs))
		if len(rep.Skipped) > 0 {
			fmt.Fprintln(w, "Problems by reason:")
			writeReasons(w, rep.Skipped, 0)
		}
	}
	if len(probs) > 0 {
		return fmt.Errorf("%d problem(s) in the rules", len(probs))
	}
	return nil
}

// ---- koban rules import ----

var packName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// defaultPackName derives a pack name from a path: its base name without
// .zip, .yml or .yaml, with other characters than letters, digits, dot,
// dash and underscore replaced by dashes.
func defaultPackName(p string) string {
	base := filepath.Base(filepath.Clean(p))
	for _, ext := range []string{".zip", ".yml", ".yaml"} {
		if strings.HasSuffix(strings.ToLower(base), ext) {
			base = base[:len(base)-len(ext)]
			break
		}
	}
	name := strings.Trim(regexp.MustCompile(`[^A-Za-z0-9._-]+`).ReplaceAllString(base, "-"), ".-_")
	if len(name) > 64 {
		name = name[:64]
	}
	return name
}

// runRulesImport validates a rule pack and installs the files that hold
// rules into <data_dir>/rules/<name>, replacing an earlier pack of that
// name in one step, then prints what will load.
func runRulesImport(ctx context.Context, args []string, env Env) error {
	fs := newFlags("rules import", "rules import [--name NAME] PATH|ZIP", env)
	cf := config.AddFlags(fs)
	name := fs.String("name", "", "the pack's name (default: the file or directory name)")
	pos, c, err := prepare(fs, cf, args, env, func(pos []string) string {
		if len(pos) != 1 {
			return "name one rule file, directory or zip"
		}
		if *name == "" {
			*name = defaultPackName(pos[0])
		}
		if !packName.MatchString(*name) {
			return fmt.Sprintf("--name %q: use letters, digits, '.', '-' and '_' (at most 64, not starting with '.')", *name)
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
	src := detect.Source{Label: *name, Path: pos[0]}
	s, err := loadRules(ctx, c, []detect.Source{src}, false)
	if err != nil {
		return err
	}
	if len(s.pack.Rules) == 0 {
		for _, p := range s.problems {
			fmt.Fprintln(env.Stderr, cat.line(p))
		}
		return fmt.Errorf("no rules found in %s: nothing imported", pos[0])
	}
	dst := filepath.Join(c.DataDir, "rules", *name)
	copied, replaced, err := installPack(ctx, src, s.pack, dst)
	if err != nil {
		return err
	}
	w := env.Stdout
	verb := "Installed"
	if replaced {
		verb = "Replaced"
	}
	fmt.Fprintf(w, "%s rule pack %q: %d rule file(s) from %s copied to %s\n\n", verb, *name, copied, pos[0], dst)
	writeImportSummary(w, cat, s, c.Detect.MinLevel)
	fmt.Fprintln(w, "\nkoban serve loads the pack at its next start; a running koban serve reloads its rules on SIGHUP (kill -HUP <pid>).")
	return nil
}

// installPack copies the files of src that hold rules of p into a fresh
// directory beside dst, then puts it in dst's place: an earlier pack is
// renamed aside, the new one renamed in, the old one removed. Readers see
// the old pack or the new one, never a half-written one (between the two
// renames, for an instant, none). It returns the files copied and whether
// a pack was replaced.
func installPack(ctx context.Context, src detect.Source, p *detect.Pack, dst string) (int, bool, error) {
	keep := map[string]bool{}
	for _, r := range p.Rules {
		keep[p.Origin(r).File] = true
	}
	parent := filepath.Dir(dst)
	if err := os.MkdirAll(parent, 0o750); err != nil {
		return 0, false, fmt.Errorf("rules import: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, ".import-"+filepath.Base(dst)+"-")
	if err != nil {
		return 0, false, fmt.Errorf("rules import: %w", err)
	}
	defer os.RemoveAll(tmp) // a no-op once renamed into place
	copied := 0
	_, err = detect.Walk(ctx, src, func(f detect.File) error {
		if !keep[f.Rel] {
			return nil
		}
		rel := filepath.FromSlash(f.Rel)
		if !filepath.IsLocal(rel) {
			return fmt.Errorf("%s: not a local path", f.Name) // Walk never yields one; refuse anyway
		}
		out := filepath.Join(tmp, rel)
		if err := os.MkdirAll(filepath.Dir(out), 0o750); err != nil {
			return err
		}
		copied++
		return os.WriteFile(out, f.Data, 0o640)
	})
	if err != nil {
		return 0, false, fmt.Errorf("rules import: %w", err)
	}
	old := ""
	if _, err := os.Lstat(dst); err == nil {
		old = filepath.Join(parent, fmt.Sprintf(".replaced-%s-%d", filepath.Base(dst), time.Now().UnixNano()))
		if err := os.Rename(dst, old); err != nil {
			return 0, false, fmt.Errorf("rules import: %w", err)
		}
	}
	if err := os.Rename(tmp, dst); err != nil {
		if old != "" {
			_ = os.Rename(old, dst) // put the earlier pack back; the error below says what failed
		}
		return 0, false, fmt.Errorf("rules import: %w", err)
	}
	if old != "" {
		if err := os.RemoveAll(old); err != nil {
			return copied, true, fmt.Errorf("rules import: the pack is in place, but the old one could not be removed: %w", err)
		}
	}
	return copied, old != "", nil
}

// writeImportSummary prints what of a pack loads: counts, the top reasons
// for what does not, and the loaded rules by product and level.
func writeImportSummary(w io.Writer, cat catalogue, s *compiledRules, minLevel string) {
	loaded, quiet := reported(s, minLevel)
	fmt.Fprintf(w, "Rules: %d read from %d file(s) (%d other YAML file(s) left out): %d loaded, %d skipped\n",
		len(s.pack.Rules), s.pack.Files, s.pack.NotRules, len(loaded), len(s.pack.Rules)-len(loaded))
	if rs := cat.reasons(s.problems, append(slices.Clone(s.skipped), quiet...)); len(rs) > 0 {
		fmt.Fprintln(w, "\nSkipped, by reason:")
		writeReasons(w, rs, 10)
	}
	if probs := s.problems; len(probs) > 0 {
		fmt.Fprintf(w, "\nProblems (%d; 'koban rules lint' lists them all):\n", len(probs))
		sortProblems(probs)
		for i, p := range probs {
			if i == maxListed {
				fmt.Fprintf(w, "  … and %d more\n", len(probs)-maxListed)
				break
			}
			fmt.Fprintf(w, "  %s\n", cat.line(p))
		}
	}
	fmt.Fprintln(w, "\nLoaded rules by product and level:")
	writeLevelTable(w, loaded)
}

var levelNames = []string{"critical", "high", "medium", "low", "informational"}

// writeLevelTable prints rules counted by logsource product and level.
func writeLevelTable(w io.Writer, rules []*sigma.Rule) {
	counts := map[string][]int{}
	total := make([]int, len(levelNames)+1)
	for _, r := range rules {
		prod := r.LogSource.Product
		switch {
		case r.Kind == sigma.KindCorrelation:
			prod = "(correlation)"
		case r.Kind == sigma.KindFilter:
			prod = "(filter)"
		case prod == "":
			prod = "(any)"
		}
		row := counts[prod]
		if row == nil {
			row = make([]int, len(levelNames)+1)
			counts[prod] = row
		}
		i := slices.Index(levelNames, r.Level)
		if i < 0 {
			i = len(levelNames) - 1 // no level: informational
		}
		row[i]++
		row[len(levelNames)]++
		total[i]++
		total[len(levelNames)]++
	}
	prods := make([]string, 0, len(counts))
	for p := range counts {
		prods = append(prods, p)
	}
	slices.SortFunc(prods, func(a, b string) int {
		return cmp.Or(cmp.Compare(counts[b][len(levelNames)], counts[a][len(levelNames)]), strings.Compare(a, b))
	})
	width := len("PRODUCT")
	for _, p := range prods {
		width = max(width, len(p))
	}
	fmt.Fprintf(w, "  %-*s  CRITICAL      HIGH    MEDIUM       LOW      INFO     TOTAL\n", width, "PRODUCT")
	row := func(name string, r []int) {
		fmt.Fprintf(w, "  %-*s", width, name)
		for _, n := range r {
			fmt.Fprintf(w, "  %8d", n)
		}
		fmt.Fprintln(w)
	}
	for _, p := range prods {
		row(p, counts[p])
	}
	row("total", total)
}

// ---- koban rules list ----

// runRulesList prints the rules that load: the configured rule set, or
// the rules under --rules, after the configured selection.
func runRulesList(ctx context.Context, args []string, env Env) error {
	fs := newFlags("rules list", "rules list [--level LEVEL] [--tag TAG] [--rules PATH…]", env)
	cf := config.AddFlags(fs)
	level := fs.String("level", "", "list rules of this level and above: informational, low, medium, high, critical")
	tag := fs.String("tag", "", "list rules with this tag, or a tag below it (attack.t1059 lists attack.t1059.001); t1059 means attack.t1059")
	var paths pathList
	fs.Var(&paths, "rules", "rule files, directories or zips to list instead of the configured rule set (repeatable)")
	_, c, err := prepare(fs, cf, args, env, func(pos []string) string {
		if msg := noArgs(pos); msg != "" {
			return msg
		}
		if *level != "" && sigma.LevelRank(*level) == 0 {
			return fmt.Sprintf("--level %q: say informational, low, medium, high or critical", *level)
		}
		return ""
	})
	if err != nil {
		return done(err)
	}
	srcs := pathSources(paths)
	if len(paths) == 0 {
		srcs = configuredSources(c)
	}
	s, err := loadRules(ctx, c, srcs, false)
	if err != nil {
		return err
	}
	loaded, quiet := reported(s, c.Detect.MinLevel)
	keep := listFilter(*level, *tag)
	var rows []*sigma.Rule
	for _, r := range loaded {
		if keep(r) {
			rows = append(rows, r)
		}
	}
	slices.SortStableFunc(rows, func(a, b *sigma.Rule) int {
		return cmp.Or(cmp.Compare(sigma.LevelRank(b.Level), sigma.LevelRank(a.Level)), strings.Compare(a.Title, b.Title))
	})
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tLEVEL\tSTATUS\tLOGSOURCE\tTITLE\tATT&CK")
	for _, r := range rows {
		ls := r.LogSource.String()
		if r.Kind == sigma.KindCorrelation {
			ls = "correlation:" + r.Correlation.Type
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Ref(), or(r.Level, "-"), or(r.Status, "-"), ls, r.Title, strings.Join(techniques(r.Tags), " "))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "\n%d rule(s) listed of %d loaded; %d skipped by the selection, %d below detection.min_level, %d with problems ('koban rules lint' says which)\n",
		len(rows), len(loaded), len(s.skipped), len(quiet), len(s.kept)-len(loadedRules(s)))
	return nil
}

// listFilter says which rules "rules list" shows: no filters, rules of
// the level or above, rules with the tag or one below it.
func listFilter(level, tag string) func(*sigma.Rule) bool {
	want := strings.ToLower(tag)
	if want != "" && !strings.Contains(want, ".") {
		want = "attack." + want
	}
	return func(r *sigma.Rule) bool {
		if r.Kind == sigma.KindFilter || level != "" && max(sigma.LevelRank(r.Level), 1) < sigma.LevelRank(level) {
			return false
		}
		return want == "" || slices.ContainsFunc(r.Tags, func(t string) bool {
			t = strings.ToLower(t)
			return t == want || strings.HasPrefix(t, want+".")
		})
	}
}

func or(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

var techniqueTag = regexp.MustCompile(`^attack\.t\d{4}(\.\d{3})?$`)

// techniques returns the ATT&CK technique ids among tags, as T1059.001.
func techniques(tags []string) []string {
	var out []string
	for _, t := range tags {
		if t = strings.ToLower(t); techniqueTag.MatchString(t) {
			out = append(out, strings.ToUpper(strings.TrimPrefix(t, "attack.")))
		}
	}
	return out
}

// attackTags returns a rule's ATT&CK tags without their prefix: tactics as
// written (execution), techniques, groups and software in upper case.
func attackTags(tags []string) []string {
	var out []string
	for _, t := range tags {
		rest, ok := strings.CutPrefix(strings.ToLower(t), "attack.")
		if !ok {
			continue
		}
		if len(rest) >= 5 && strings.ContainsRune("tgs", rune(rest[0])) && rest[1] >= '0' && rest[1] <= '9' {
			rest = strings.ToUpper(rest)
		}
		out = append(out, rest)
	}
	return out
}
