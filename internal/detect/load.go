// SPDX-License-Identifier: Apache-2.0

package detect

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/koban-csirt/koban/internal/sigma"
)

// Limits on reading a zip archive of rules. SigmaHQ's sigma_all_rules.zip
// holds about 4,000 entries and 20 MB; these leave room for growth while
// keeping a hostile archive (a zip bomb, millions of entries) from costing
// more than a bounded amount of memory and time.
const (
	// MaxZipEntries bounds the entries of an archive; a larger one is not
	// read at all.
	MaxZipEntries = 100_000
	// MaxZipBytes bounds the rule bytes read from one archive, all entries
	// together; entries past it are left out with a problem.
	MaxZipBytes = 256 << 20
)

// MaxRuleFileBytes bounds one rule file, inside an archive or not.
const MaxRuleFileBytes = sigma.MaxFileBytes

// Source is one place rules are read from: a path on disk or a file system.
type Source struct {
	// Label names the source in listings: a pack name ("sigmahq"), "koban"
	// for the embedded pack, or the path as given.
	Label string
	// Path is a rule file, a directory (walked for .yml and .yaml files)
	// or a zip archive (by its content, whatever its name). Ignored when FS
	// is set.
	Path string
	// FS, when set, is walked instead of Path for .yml and .yaml files.
	FS fs.FS
}

func (s Source) label() string {
	if s.Label != "" {
		return s.Label
	}
	return s.Path
}

// Origin says where a rule was read from.
type Origin struct {
	Source string // the Source's label
	File   string // slash-separated path inside the source
}

// Pack is the rules read from a list of sources.
type Pack struct {
	// Rules are in reading order: sources in the order given, files in
	// lexical order, documents in file order. A rule whose id was already
	// read is not here (LoadRules reports it).
	Rules []*sigma.Rule
	// Files counts the rule files read (those holding a Sigma document,
	// valid or not); NotRules the YAML files that hold none (regression
	// test descriptions, CI workflows, configuration), which are not
	// problems.
	Files, NotRules int
	origins         map[*sigma.Rule]Origin
}

// Origin returns where r was read from (zero for a rule not in the pack).
func (p *Pack) Origin(r *sigma.Rule) Origin { return p.origins[r] }

// File is one YAML file of a Source.
type File struct {
	Rel  string // slash-separated path inside the source; the base name for a single file
	Name string // for messages: the path on disk, "archive.zip/rel" or "label/rel"
	Data []byte
}

// LoadRules parses the rules of every source. A file, document or archive
// entry that cannot be read or parsed is left out with a problem and the
// rest still loads; YAML files that hold no Sigma document are counted in
// Pack.NotRules. When two rules share an id, the first read is kept and the
// second reported. A cancelled ctx stops the reading, with a problem.
func LoadRules(ctx context.Context, srcs []Source) (*Pack, []*sigma.Problem) {
	p := &Pack{origins: map[*sigma.Rule]Origin{}}
	var probs []*sigma.Problem
	first := map[string]*sigma.Rule{}
	for _, src := range srcs {
		label := src.label()
		ps, err := Walk(ctx, src, func(f File) error {
			rules, rp := sigma.Parse(f.Name, f.Data)
			if len(rules) == 0 && (len(rp) == 0 || !ruleLike(f.Data)) {
				p.NotRules++
				return nil
			}
			p.Files++
			probs = append(probs, rp...)
			for _, r := range rules {
				if r.ID != "" {
					if r0, dup := first[r.ID]; dup {
						probs = append(probs, &sigma.Problem{File: f.Name, Pos: sigma.Pos{Line: r.Line, Col: 1}, Rule: r.ID,
							Msg: "rules.duplicate_id", Args: []any{"id", r.ID, "first", r0.File}})
						continue
					}
					first[r.ID] = r
				}
				p.Rules = append(p.Rules, r)
				p.origins[r] = Origin{Source: label, File: f.Rel}
			}
			return nil
		})
		probs = append(probs, ps...)
		if err != nil {
			probs = append(probs, readProblem(label, err))
			break
		}
	}
	return p, probs
}

func readProblem(name string, err error) *sigma.Problem {
	return &sigma.Problem{File: name, Msg: "rules.read", Args: []any{"reason", err.Error()}}
}

// sigmaKeys are the top-level attributes that make a YAML document a Sigma
// document (possibly a broken one) rather than some other YAML file.
var sigmaKeys = map[string]bool{"detection": true, "correlation": true, "filter": true, "logsource": true}

// ruleLike reports whether some document of data is a map with a Sigma
// attribute, or whether data is not YAML at all (then it is taken for a
// broken rule, whose problem is worth reporting).
func ruleLike(data []byte) bool {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return false
		}
		if err != nil {
			return true
		}
		if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
			continue
		}
		m := doc.Content[0].Content
		for i := 0; i+1 < len(m); i += 2 {
			if sigmaKeys[m[i].Value] {
				return true
			}
		}
	}
}

// isYAML reports whether a file name ends in .yml or .yaml.
func isYAML(name string) bool {
	ext := strings.ToLower(path.Ext(name))
	return ext == ".yml" || ext == ".yaml"
}

// Walk calls fn for each rule file of src: a single file (whatever its
// name), the .yml and .yaml files below a directory or file system in
// lexical order (".git" directories and symbolic links left out), or the
// .yml and .yaml entries of a zip archive in name order. Parts that cannot
// be read (an unreadable file, an archive entry that is unsafe or too
// large) are returned as problems and the walk goes on; an error from fn or
// a cancelled ctx stops it and is returned, as is a source that cannot be
// opened at all.
func Walk(ctx context.Context, src Source, fn func(File) error) ([]*sigma.Problem, error) {
	if src.FS != nil {
		return walkFS(ctx, src.FS, src.label(), fn)
	}
	fi, err := os.Stat(src.Path)
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		return walkDir(ctx, src.Path, fn)
	}
	f, err := os.Open(src.Path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var magic [4]byte
	n, _ := io.ReadFull(f, magic[:])
	if isZip(magic[:n]) {
		return walkZip(ctx, f, fi.Size(), src.Path, zipLimits{MaxZipEntries, MaxRuleFileBytes, MaxZipBytes}, fn)
	}
	if fi.Size() > MaxRuleFileBytes {
		return []*sigma.Problem{tooLarge(src.Path, MaxRuleFileBytes)}, nil
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxRuleFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxRuleFileBytes {
		return []*sigma.Problem{tooLarge(src.Path, MaxRuleFileBytes)}, nil
	}
	return nil, fn(File{Rel: filepath.Base(src.Path), Name: src.Path, Data: data})
}

// isZip reports whether b starts like a zip archive (a local file header,
// or the end record of an empty archive).
func isZip(b []byte) bool {
	return bytes.HasPrefix(b, []byte("PK\x03\x04")) || bytes.HasPrefix(b, []byte("PK\x05\x06"))
}

func tooLarge(name string, max int) *sigma.Problem {
	return &sigma.Problem{File: name, Msg: "sigma.file_too_large", Args: []any{"max", max}}
}

func walkDir(ctx context.Context, root string, fn func(File) error) ([]*sigma.Problem, error) {
	var probs []*sigma.Problem
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			probs = append(probs, readProblem(p, err))
			if d != nil && d.IsDir() && p != root {
				return fs.SkipDir
			}
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == ".git" {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || !isYAML(d.Name()) {
			return nil // symbolic links are not followed
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		data, err := readLimited(p)
		if err != nil {
			probs = append(probs, readProblem(p, err))
			return nil
		}
		if data == nil {
			probs = append(probs, tooLarge(p, MaxRuleFileBytes))
			return nil
		}
		return fn(File{Rel: filepath.ToSlash(rel), Name: p, Data: data})
	})
	return probs, err
}

// readLimited reads a file of at most MaxRuleFileBytes; nil, nil means it
// is larger.
func readLimited(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxRuleFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxRuleFileBytes {
		return nil, nil
	}
	return data, nil
}

func walkFS(ctx context.Context, fsys fs.FS, label string, fn func(File) error) ([]*sigma.Problem, error) {
	var probs []*sigma.Problem
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		name := label + "/" + p
		if err != nil {
			probs = append(probs, readProblem(name, err))
			if d != nil && d.IsDir() && p != "." {
				return fs.SkipDir
			}
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() || !d.Type().IsRegular() || !isYAML(p) {
			return nil
		}
		f, err := fsys.Open(p)
		if err != nil {
			probs = append(probs, readProblem(name, err))
			return nil
		}
		data, err := io.ReadAll(io.LimitReader(f, MaxRuleFileBytes+1))
		f.Close()
		switch {
		case err != nil:
			probs = append(probs, readProblem(name, err))
		case len(data) > MaxRuleFileBytes:
			probs = append(probs, tooLarge(name, MaxRuleFileBytes))
		default:
			return fn(File{Rel: p, Name: name, Data: data})
		}
		return nil
	})
	return probs, err
}

// walkZip reads the rule entries of a zip archive. Entries are taken in
// name order; directories, symbolic links and other special entries are
// ignored; an entry whose name is absolute, climbs out with "..", uses
// backslashes or a drive letter, or repeats an earlier name is refused
// with a problem, as is one larger than MaxRuleFileBytes (by its header or
// by what it really inflates to) or past MaxZipBytes in total.
func walkZip(ctx context.Context, r io.ReaderAt, size int64, name string, lim zipLimits, fn func(File) error) ([]*sigma.Problem, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(zr.File) > lim.entries {
		return []*sigma.Problem{{File: name, Msg: "rules.zip_entries", Args: []any{"max", lim.entries}}}, nil
	}
	entries := slices.Clone(zr.File)
	slices.SortStableFunc(entries, func(a, b *zip.File) int { return strings.Compare(a.Name, b.Name) })
	var probs []*sigma.Problem
	seen := map[string]bool{}
	var total int64
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return probs, err
		}
		mode := e.Mode()
		if mode.IsDir() || strings.HasSuffix(e.Name, "/") || !mode.IsRegular() {
			continue // symbolic links and devices are never followed or made
		}
		rel, ok := safeEntryName(e.Name)
		entry := name + "/" + strings.ToValidUTF8(e.Name, "\uFFFD")
		if !ok {
			probs = append(probs, &sigma.Problem{File: name, Msg: "rules.zip_unsafe_path", Args: []any{"name", strings.ToValidUTF8(e.Name, "\uFFFD")}})
			continue
		}
		if !isYAML(rel) {
			continue
		}
		if seen[rel] {
			probs = append(probs, &sigma.Problem{File: entry, Msg: "rules.zip_duplicate", Args: []any{"name", rel}})
			continue
		}
		seen[rel] = true
		if e.UncompressedSize64 > uint64(lim.entryBytes) {
			probs = append(probs, tooLarge(entry, lim.entryBytes))
			continue
		}
		if total+int64(e.UncompressedSize64) > lim.totalBytes {
			probs = append(probs, &sigma.Problem{File: name, Msg: "rules.zip_total", Args: []any{"max", lim.totalBytes}})
			break
		}
		data, err := readEntry(e, lim.entryBytes)
		total += int64(len(data))
		switch {
		case err != nil:
			probs = append(probs, readProblem(entry, err))
			continue
		case len(data) > lim.entryBytes:
			probs = append(probs, tooLarge(entry, lim.entryBytes))
			continue
		}
		if err := fn(File{Rel: rel, Name: name + "/" + rel, Data: data}); err != nil {
			return probs, err
		}
	}
	return probs, nil
}

// zipLimits bound the reading of one archive.
type zipLimits struct {
	entries    int   // entries in the archive
	entryBytes int   // one entry, inflated
	totalBytes int64 // all entries read, inflated
}

// readEntry inflates an entry, at most one byte past max whatever its
// header claims.
func readEntry(e *zip.File, max int) ([]byte, error) {
	rc, err := e.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(io.LimitReader(rc, int64(max)+1))
}

// safeEntryName returns an archive entry's name as a path that stays
// inside the directory the archive is unpacked into, or false.
func safeEntryName(name string) (string, bool) {
	if name == "" || strings.ContainsAny(name, "\\\x00") || !utf8.ValidString(name) {
		return "", false
	}
	if len(name) >= 2 && name[1] == ':' { // C:evil.yml
		return "", false
	}
	for _, el := range strings.Split(name, "/") {
		if el == ".." {
			return "", false
		}
	}
	clean := path.Clean(name)
	if path.IsAbs(name) || !fs.ValidPath(clean) || clean == "." {
		return "", false
	}
	return clean, true
}

// Policy says which rules load: the operator's choice of statuses, lowest
// level, and rules left out by id or tag.
type Policy struct {
	// Statuses lists the statuses that load; empty means any. A rule
	// without a status loads.
	Statuses []string
	// MinLevel is the lowest level that loads ("" for any); a rule
	// without a level counts as informational.
	MinLevel string
	// DisabledRules are ids (or names) of rules that never load.
	DisabledRules []string
	// DisabledLogSources leave out rules whose logsource fits one of these
	// product/category/service patterns (LogSourceMatches).
	DisabledLogSources []string
	// DisabledTags leave out rules with any of these tags, compared
	// without regard to case; a tag also covers the tags below it
	// ("attack.t1059" covers "attack.t1059.001").
	DisabledTags []string
}

// Skipped is a rule Select left out, and why.
type Skipped struct {
	Rule *sigma.Rule
	// Reason is a message id (rules.skip_*); Args are its arguments.
	Reason string
	Args   []any
}

// Select applies a policy to rules. It returns the rules to compile, in
// their order, and the others with the reason each was left out. Filters
// are always kept. A correlation rule that is kept keeps the rules it
// refers to (directly or through other correlations) even when their level
// or status alone would leave them out, since such rules are often
// informational building blocks; a rule disabled by id or tag stays out,
// and then so does a correlation that needs it.
func Select(rules []*sigma.Rule, pol Policy) ([]*sigma.Rule, []Skipped) {
	s := selector{pol: pol, refs: map[string][]*sigma.Rule{}, state: map[*sigma.Rule]uint8{}, needed: map[*sigma.Rule]bool{}}
	s.minRank = sigma.LevelRank(pol.MinLevel)
	for _, r := range rules {
		for _, k := range []string{r.ID, r.Name} {
			if k != "" {
				s.refs[k] = append(s.refs[k], r)
			}
		}
	}
	for _, r := range rules {
		if r.Kind == sigma.KindCorrelation && s.soft(r) == nil && s.usable(r) {
			s.need(r)
		}
	}
	var kept []*sigma.Rule
	var skipped []Skipped
	for _, r := range rules {
		if r.Kind == sigma.KindFilter {
			kept = append(kept, r)
			continue
		}
		if sk := s.hard(r); sk != nil {
			skipped = append(skipped, *sk)
			continue
		}
		if r.Kind == sigma.KindCorrelation && !s.usable(r) {
			skipped = append(skipped, Skipped{Rule: r, Reason: "rules.skip_base", Args: []any{"rule", s.missing[r]}})
			continue
		}
		if sk := s.soft(r); sk != nil && !s.needed[r] {
			skipped = append(skipped, *sk)
			continue
		}
		kept = append(kept, r)
	}
	return kept, skipped
}

type selector struct {
	pol     Policy
	minRank int
	refs    map[string][]*sigma.Rule
	state   map[*sigma.Rule]uint8 // usable: 1 visiting, 2 yes, 3 no
	missing map[*sigma.Rule]string
	needed  map[*sigma.Rule]bool
}

// hard returns why r is disabled outright (by id or tag), or nil.
func (s *selector) hard(r *sigma.Rule) *Skipped {
	for _, d := range s.pol.DisabledRules {
		if d != "" && (d == r.ID || d == r.Name) {
			return &Skipped{Rule: r, Reason: "rules.skip_disabled", Args: []any{"rule", d}}
		}
	}
	for _, d := range s.pol.DisabledTags {
		d = strings.ToLower(d)
		for _, t := range r.Tags {
			t = strings.ToLower(t)
			if d != "" && (t == d || strings.HasPrefix(t, d+".")) {
				return &Skipped{Rule: r, Reason: "rules.skip_tag", Args: []any{"tag", t}}
			}
		}
	}
	for _, d := range s.pol.DisabledLogSources {
		if LogSourceMatches(d, r.LogSource) {
			return &Skipped{Rule: r, Reason: "rules.skip_logsource", Args: []any{"logsource", d}}
		}
	}
	return nil
}

// LogSourceMatches reports whether a rule's logsource fits a pattern
// "product/category/service", where an empty part or "*" matches
// anything: "windows/ps_script" leaves out PowerShell script block rules,
// "//sysmon" every rule for the Sysmon service.
func LogSourceMatches(pattern string, ls sigma.LogSource) bool {
	parts := strings.SplitN(strings.ToLower(pattern), "/", 3)
	for len(parts) < 3 {
		parts = append(parts, "")
	}
	have := []string{strings.ToLower(ls.Product), strings.ToLower(ls.Category), strings.ToLower(ls.Service)}
	for i, p := range parts {
		if p != "" && p != "*" && p != have[i] {
			return false
		}
	}
	return true
}

// soft returns why r's status or level leaves it out, or nil.
func (s *selector) soft(r *sigma.Rule) *Skipped {
	if len(s.pol.Statuses) > 0 && r.Status != "" && !slices.Contains(s.pol.Statuses, r.Status) {
		return &Skipped{Rule: r, Reason: "rules.skip_status", Args: []any{"status", r.Status}}
	}
	if s.minRank > 0 && max(sigma.LevelRank(r.Level), 1) < s.minRank {
		lvl := r.Level
		if lvl == "" {
			lvl = "informational"
		}
		return &Skipped{Rule: r, Reason: "rules.skip_level", Args: []any{"level", lvl, "min", s.pol.MinLevel}}
	}
	return nil
}

// usable reports whether correlation c's rules can all be loaded: none is
// disabled outright, and so on through correlations of correlations. A
// reference that names no rule is left to the correlation engine to report.
func (s *selector) usable(c *sigma.Rule) bool {
	switch s.state[c] {
	case 1:
		return false // a cycle
	case 2:
		return true
	case 3:
		return false
	}
	if s.hard(c) != nil {
		s.state[c] = 3
		return false
	}
	s.state[c] = 1
	ok := true
	if c.Correlation != nil {
	refs:
		for _, ref := range c.Correlation.Rules {
			for _, r := range s.refs[ref] {
				if s.hard(r) != nil || r.Kind == sigma.KindCorrelation && !s.usable(r) {
					if s.missing == nil {
						s.missing = map[*sigma.Rule]string{}
					}
					s.missing[c] = ref
					ok = false
					break refs
				}
			}
		}
	}
	s.state[c] = map[bool]uint8{true: 2, false: 3}[ok]
	return ok
}

// need marks what a kept correlation refers to, transitively.
func (s *selector) need(c *sigma.Rule) {
	if c.Correlation == nil {
		return
	}
	for _, ref := range c.Correlation.Rules {
		for _, r := range s.refs[ref] {
			if !s.needed[r] {
				s.needed[r] = true
				if r.Kind == sigma.KindCorrelation {
					s.need(r)
				}
			}
		}
	}
}
