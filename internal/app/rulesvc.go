// SPDX-License-Identifier: Apache-2.0

package app

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing/fstest"
	"time"
	"unicode/utf8"

	"github.com/koban-csirt/koban/internal/audit"
	"github.com/koban-csirt/koban/internal/config"
	"github.com/koban-csirt/koban/internal/detect"
	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/normalize"
	"github.com/koban-csirt/koban/internal/sigma"
	"github.com/koban-csirt/koban/internal/store"
	"github.com/koban-csirt/koban/internal/web"
)

// customPack names the pack of rules written in the web UI, kept in
// <data_dir>/rules/custom like any imported pack.
const customPack = "custom"

// customDir is where the web UI writes custom rules.
func customDir(c config.Config) string { return filepath.Join(rulesDir(c), customPack) }

// maxReason bounds the reason given for turning a rule off or on.
const maxReason = 2000

// ruleService is the web UI's side of the detection rules
// (web.RuleManager): it lists the configured rule set as detection loads
// it, turns rules off and on (rule_settings in the state store, on top of
// detection.disabled_rules), writes custom rules into the custom pack, and
// hands detection a fresh rule set after every change. Changes are
// serialised; the listing is compiled once per change and kept.
type ruleService struct {
	c    config.Config
	db   *store.DB
	norm *normalize.Normalizer
	log  *slog.Logger
	now  func() time.Time
	// reload gives running detection the configuration to compile its
	// rules from (detection.reloadRules); nil when nothing runs.
	reload func(ctx context.Context, c config.Config)

	mu   sync.Mutex // serialises changes, reloads and building snap
	snap *ruleSnapshot
}

// newRuleService returns the rule service over configuration c and the
// state store db.
func newRuleService(c config.Config, db *store.DB, log *slog.Logger) *ruleService {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &ruleService{c: c, db: db, norm: normalize.New(), log: log, now: time.Now}
}

// ruleSnapshot is the rule set as last compiled, for the pages.
type ruleSnapshot struct {
	set      web.RuleSet
	rules    []*sigma.Rule // parallel to set.Rules
	byRef    map[string]int
	srcs     []detect.Source
	problems []*sigma.Problem
}

// find returns the index of the rule addressed as ref (id, name or
// title), or -1.
func (sn *ruleSnapshot) find(ref string) int {
	if i, ok := sn.byRef[ref]; ok {
		return i
	}
	return -1
}

// detectConfig returns the configuration detection compiles its rules
// from: c with the rules turned off in the web UI added to
// detection.disabled_rules.
func (s *ruleService) detectConfig(ctx context.Context) (config.Config, error) {
	settings, err := s.db.RuleSettings(ctx)
	if err != nil {
		return config.Config{}, fmt.Errorf("rules: %w", err)
	}
	return s.effective(settings), nil
}

func (s *ruleService) effective(settings []store.RuleSetting) config.Config {
	c := s.c
	c.Detect.DisabledRules = slices.Clone(c.Detect.DisabledRules)
	for _, rs := range settings {
		if !rs.Enabled {
			c.Detect.DisabledRules = append(c.Detect.DisabledRules, rs.RuleID)
		}
	}
	return c
}

// Reload reads the rules again (after "koban rules import" and SIGHUP)
// and hands them to detection.
func (s *ruleService) Reload(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.snap = nil
	return s.reloadLocked(ctx)
}

// reloadLocked hands detection the rules as they now are. The caller holds
// mu, which also keeps two reloads from racing for detection's one-slot
// reload queue. The work runs to its end even when the request that asked
// for it goes away: a half-read rule set must never reach detection.
func (s *ruleService) reloadLocked(ctx context.Context) error {
	if s.reload == nil {
		return nil
	}
	ctx = context.WithoutCancel(ctx)
	c, err := s.detectConfig(ctx)
	if err != nil {
		return err
	}
	s.reload(ctx, c)
	return nil
}

// snapshot returns the compiled listing, building it when a change made
// it stale. The caller holds mu.
func (s *ruleService) snapshot(ctx context.Context) (*ruleSnapshot, error) {
	if s.snap != nil {
		return s.snap, nil
	}
	ctx = context.WithoutCancel(ctx) // a half-built listing is never kept
	settings, err := s.db.RuleSettings(ctx)
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	c := s.effective(settings)
	srcs := configuredSources(c)
	cr, err := compileRules(ctx, c, srcs)
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	s.snap = s.listing(cr, srcs, settings)
	return s.snap, nil
}

// listing says of every rule read whether detection loads it, and why
// not.
func (s *ruleService) listing(cr *compiledRules, srcs []detect.Source, settings []store.RuleSetting) *ruleSnapshot {
	sn := &ruleSnapshot{byRef: map[string]int{}, srcs: srcs, problems: cr.problems}
	sn.set.MinLevel, sn.set.Built = s.c.Detect.MinLevel, s.now()
	byKey := map[string]store.RuleSetting{}
	for _, rs := range settings {
		byKey[rs.RuleID] = rs
	}
	bad := map[string]*sigma.Problem{}
	for _, p := range cr.problems {
		if k := p.File + "\x00" + p.Rule; p.Rule != "" && bad[k] == nil {
			bad[k] = p
		}
	}
	skipped := map[*sigma.Rule]detect.Skipped{}
	for _, sk := range cr.skipped {
		skipped[sk.Rule] = sk
	}
	_, quietList := reported(cr, s.c.Detect.MinLevel)
	quiet := map[*sigma.Rule]bool{}
	for _, sk := range quietList {
		quiet[sk.Rule] = true
	}
	used := map[*sigma.Problem]bool{}
	for _, r := range cr.pack.Rules {
		info := s.info(cr.pack, r, srcs)
		if rs, ok := byKey[toggleKey(r)]; ok && info.Toggle {
			info.Setting = &web.RuleSetting{Enabled: rs.Enabled, Reason: rs.Reason, Actor: rs.Actor, At: rs.UpdatedAt}
		}
		sk, isSkipped := skipped[r]
		switch p := bad[r.File+"\x00"+r.Ref()]; {
		case p != nil:
			used[p] = true
			info.State, info.Reason, info.Args = web.RuleBroken, p.Msg, p.Args
		case isSkipped && info.Setting != nil && !info.Setting.Enabled && sk.Reason == "rules.skip_disabled":
			info.State = web.RuleOff
		case isSkipped:
			info.State, info.Reason, info.Args = web.RuleSkipped, sk.Reason, sk.Args
		case quiet[r]:
			info.State, info.Reason, info.Args = web.RuleQuiet, "rulesui.below_min_level", []any{"level", s.c.Detect.MinLevel}
		default:
			info.State = web.RuleOn
		}
		sn.rules = append(sn.rules, r)
		sn.set.Rules = append(sn.set.Rules, info)
		for _, k := range []string{r.ID, r.Name, r.Title} {
			if _, dup := sn.byRef[k]; k != "" && !dup {
				sn.byRef[k] = len(sn.rules) - 1
			}
		}
	}
	for _, p := range cr.problems {
		if !used[p] {
			rp := problemOf(p)
			rp.File = displayName(srcs, p.File)
			sn.set.Problems = append(sn.set.Problems, rp)
		}
	}
	return sn
}

// toggleKey is how rule_settings and detection.disabled_rules name a
// rule: its id, else its name ("" when it has neither and so cannot be
// turned off by name).
func toggleKey(r *sigma.Rule) string { return cmp.Or(r.ID, r.Name) }

// info describes r for the pages.
func (s *ruleService) info(p *detect.Pack, r *sigma.Rule, srcs []detect.Source) web.RuleInfo {
	o := p.Origin(r)
	in := web.RuleInfo{Ref: r.Ref(), ID: r.ID, Name: r.Name, Kind: r.Kind.String(), Title: r.Title,
		TitleJA: r.Custom["title_ja"], DescriptionJA: r.Custom["description_ja"], Level: r.Level, Status: r.Status,
		Product: r.LogSource.Product, Category: r.LogSource.Category, Service: r.LogSource.Service, Tags: r.Tags,
		Description: r.Description, Author: r.Author, Date: r.Date, Modified: r.Modified, References: r.References,
		FalsePositives: r.FalsePositives, Fields: r.Fields, Pack: o.Source, File: o.File, Line: r.Line}
	if src, ok := sourceOf(srcs, o.Source); ok && src.Path == customDir(s.c) {
		in.Custom = true
	}
	// Filters are always kept by the selection, and a rule with neither
	// id nor name cannot be named in detection.disabled_rules.
	in.Toggle = r.Kind != sigma.KindFilter && toggleKey(r) != ""
	for _, d := range s.c.Detect.DisabledRules {
		if d != "" && (d == r.ID || d == r.Name) {
			in.ConfigOff = true
		}
	}
	if c := r.Correlation; c != nil {
		in.CorrelationType, in.Correlation = c.Type, strings.Join(c.Rules, ", ")
	}
	return in
}

// sourceOf returns the source labelled label.
func sourceOf(srcs []detect.Source, label string) (detect.Source, bool) {
	for _, src := range srcs {
		if cmp.Or(src.Label, src.Path) == label {
			return src, true
		}
	}
	return detect.Source{}, false
}

// displayName shows a file name of a problem relative to its source
// ("sigmahq/windows/x.yml"), so that pages do not show paths of the
// machine.
func displayName(srcs []detect.Source, name string) string {
	for _, src := range srcs {
		label := cmp.Or(src.Label, src.Path)
		switch {
		case src.Path == "":
		case name == src.Path:
			return label
		case strings.HasPrefix(name, src.Path+string(filepath.Separator)), strings.HasPrefix(name, src.Path+"/"):
			return label + "/" + filepath.ToSlash(name[len(src.Path)+1:])
		}
	}
	return name
}

// problemOf turns a sigma problem into the web's.
func problemOf(p *sigma.Problem) web.RuleProblem {
	return web.RuleProblem{File: p.File, Line: p.Pos.Line, Col: p.Pos.Col, Rule: p.Rule, Msg: p.Msg, Args: p.Args}
}

// Rules implements web.RuleManager.
func (s *ruleService) Rules(ctx context.Context) (web.RuleSet, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sn, err := s.snapshot(ctx)
	if err != nil {
		return web.RuleSet{}, err
	}
	return sn.set, nil
}

// Rule implements web.RuleManager.
func (s *ruleService) Rule(ctx context.Context, ref string) (web.RuleDetail, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sn, err := s.snapshot(ctx)
	if err != nil {
		return web.RuleDetail{}, err
	}
	i := sn.find(ref)
	if i < 0 {
		return web.RuleDetail{}, fault.New(fault.NotFound, "rulesui.not_found")
	}
	d := web.RuleDetail{RuleInfo: sn.set.Rules[i]}
	r := sn.rules[i]
	text, cut, err := readRuleFile(ctx, sn.srcs, d.Pack, d.File)
	if err != nil {
		// The file may have gone since the listing was built: say so
		// on the page rather than fail it.
		s.log.Warn("rule file not readable", "rule_id", d.Ref, "error", err)
		d.Problems = append(d.Problems, web.RuleProblem{Msg: "rulesui.source_unreadable"})
	}
	d.Source, d.SourceCut = text, cut
	for _, p := range sn.problems {
		if p.File == r.File {
			d.Problems = append(d.Problems, problemOf(p))
		}
	}
	return d, nil
}

// maxShownSource bounds the text of a rule file the page receives.
const maxShownSource = 1 << 20

// readRuleFile reads the file rel of the source labelled pack.
func readRuleFile(ctx context.Context, srcs []detect.Source, pack, rel string) (string, bool, error) {
	src, ok := sourceOf(srcs, pack)
	if !ok {
		return "", false, fmt.Errorf("no source %q", pack)
	}
	var data []byte
	var err error
	switch fi, serr := os.Stat(src.Path); {
	case src.FS != nil:
		data, err = fs.ReadFile(src.FS, rel)
	case serr != nil:
		err = serr
	case fi.IsDir():
		local := filepath.FromSlash(rel)
		if !filepath.IsLocal(local) {
			return "", false, fmt.Errorf("%s: not a local path", rel)
		}
		data, err = os.ReadFile(filepath.Join(src.Path, local))
	default: // a single file or a zip archive
		found := false
		_, err = detect.Walk(ctx, src, func(f detect.File) error {
			if f.Rel == rel && !found {
				data, found = f.Data, true
			}
			return nil
		})
		if err == nil && !found {
			err = fmt.Errorf("%s: not in %s", rel, pack)
		}
	}
	if err != nil {
		return "", false, err
	}
	cut := len(data) > maxShownSource
	if cut {
		data = data[:maxShownSource]
	}
	return strings.ToValidUTF8(string(data), "\uFFFD"), cut, nil
}

// SetEnabled implements web.RuleManager.
func (s *ruleService) SetEnabled(ctx context.Context, a audit.Actor, refs []string, enabled bool, reason string) (int, error) {
	reason = strings.TrimSpace(reason)
	switch {
	case reason == "":
		return 0, fault.InvalidField("reason", "rulesui.reason_required")
	case utf8.RuneCountInString(reason) > maxReason:
		return 0, fault.InvalidField("reason", "rulesui.reason_too_long", "max", maxReason)
	case len(refs) == 0:
		return 0, fault.New(fault.Invalid, "rulesui.bulk_none")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sn, err := s.snapshot(ctx)
	if err != nil {
		return 0, err
	}
	var changes []store.RuleSetting
	seen := map[string]bool{}
	for _, ref := range refs {
		i := sn.find(ref)
		if i < 0 {
			return 0, fault.New(fault.NotFound, "rulesui.not_found")
		}
		info, key := sn.set.Rules[i], toggleKey(sn.rules[i])
		switch {
		case !info.Toggle:
			return 0, fault.New(fault.Invalid, "rulesui.cannot_toggle", "rule", ref)
		case enabled && info.ConfigOff:
			return 0, fault.New(fault.Invalid, "rulesui.config_disabled", "rule", ref)
		case seen[key], info.Setting != nil && info.Setting.Enabled == enabled,
			info.Setting == nil && enabled: // never turned off here: nothing to undo
			continue
		}
		seen[key] = true
		changes = append(changes, store.RuleSetting{RuleID: key, Enabled: enabled, Reason: reason, Actor: a.Name,
			ActorID: a.UserID, UpdatedAt: s.now().UTC()})
	}
	if len(changes) == 0 {
		return 0, nil
	}
	action := "rule.disable"
	if enabled {
		action = "rule.enable"
	}
	err = s.db.Tx(ctx, func(ctx context.Context) error {
		for _, rs := range changes {
			if err := s.db.SetRuleSetting(ctx, rs); err != nil {
				return err
			}
			after := map[string]any{"enabled": rs.Enabled, "reason": rs.Reason}
			if err := s.db.AppendAudit(ctx, audit.New(a, action, "rule:"+rs.RuleID, nil, after)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("rules: %s: %w", action, err)
	}
	s.snap = nil
	if err := s.reloadLocked(ctx); err != nil {
		return len(changes), err
	}
	return len(changes), nil
}

// ---- custom rules ----

// lint compiles the YAML of a custom rule as detection would (the
// configured mapping and placeholders, every status) and returns its
// problems, sorted by position. With sn, rule ids that another rule
// already uses are problems too, except in the file being replaced.
func (s *ruleService) lint(ctx context.Context, sn *ruleSnapshot, replacing string, data []byte) ([]web.RuleProblem, *compiledRules, error) {
	if len(data) > detect.MaxRuleFileBytes {
		return nil, nil, &fault.Error{Kind: fault.TooLarge, Field: "yaml", Msg: "rulesui.yaml_too_large", Args: []any{"max", detect.MaxRuleFileBytes}}
	}
	src := detect.Source{Label: customPack, FS: fstest.MapFS{"rule.yml": &fstest.MapFile{Data: data, Mode: 0o644}}}
	// Every rule of the editor is checked and tested, whatever the
	// selection (loadRules with all drops it).
	cr, err := loadRules(context.WithoutCancel(ctx), s.c, []detect.Source{src}, true)
	if err != nil {
		return nil, nil, fmt.Errorf("rules: lint: %w", err)
	}
	var out []web.RuleProblem
	for _, p := range cr.problems {
		rp := problemOf(p)
		rp.File = ""
		out = append(out, rp)
	}
	if len(cr.pack.Rules) == 0 && len(out) == 0 {
		out = append(out, web.RuleProblem{Line: 1, Col: 1, Msg: "rulesui.no_rule"})
	}
	if sn != nil {
		pos := idPositions(data)
		for _, r := range cr.pack.Rules {
			for key, k := range map[string]string{"id": r.ID, "name": r.Name} {
				i := sn.find(k)
				if k == "" || i < 0 || sn.rules[i].ID != k && sn.rules[i].Name != k {
					continue
				}
				if other := sn.set.Rules[i]; !(other.Custom && other.File == replacing && replacing != "") {
					at := cmp.Or(pos[r.Line][key], sigma.Pos{Line: r.Line, Col: 1})
					out = append(out, web.RuleProblem{Line: at.Line, Col: at.Col, Rule: r.Ref(), Msg: "rulesui.id_taken",
						Args: []any{"id", k, "pack", other.Pack, "file", other.File}})
				}
			}
		}
	}
	slices.SortStableFunc(out, func(a, b web.RuleProblem) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
	})
	return out, cr, nil
}

// customFile returns the file (relative to the custom pack) holding the
// custom rule ref; NotFound, or Invalid when ref is not a custom rule.
func (s *ruleService) customFile(sn *ruleSnapshot, ref string) (string, error) {
	i := sn.find(ref)
	if i < 0 {
		return "", fault.New(fault.NotFound, "rulesui.not_found")
	}
	info := sn.set.Rules[i]
	if !info.Custom {
		return "", fault.New(fault.Invalid, "rulesui.not_custom")
	}
	if !filepath.IsLocal(filepath.FromSlash(info.File)) {
		return "", fault.New(fault.Invalid, "rulesui.not_custom")
	}
	return info.File, nil
}

// CheckRule implements web.RuleManager.
func (s *ruleService) CheckRule(ctx context.Context, replacing string, data []byte) ([]web.RuleProblem, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sn, err := s.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	file := ""
	if replacing != "" {
		if file, err = s.customFile(sn, replacing); err != nil {
			return nil, err
		}
	}
	probs, _, err := s.lint(ctx, sn, file, data)
	return probs, err
}

// safeFileName is a rule id that can name its file as it is.
var safeFileName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)

// SaveRule implements web.RuleManager.
func (s *ruleService) SaveRule(ctx context.Context, a audit.Actor, replacing string, data []byte) (string, []web.RuleProblem, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sn, err := s.snapshot(ctx)
	if err != nil {
		return "", nil, err
	}
	file := ""
	if replacing != "" {
		if file, err = s.customFile(sn, replacing); err != nil {
			return "", nil, err
		}
	}
	probs, _, err := s.lint(ctx, sn, file, data)
	if err != nil || len(probs) > 0 {
		return "", probs, err
	}
	data = withIDs(data, newUUID)
	rules, _ := sigma.Parse(customPack+"/rule.yml", data) // it just passed lint
	if len(rules) == 0 {
		return "", nil, fault.New(fault.Invalid, "rulesui.no_rule")
	}
	id := rules[0].Ref()
	dir := customDir(s.c)
	action := "rule.update"
	if file == "" {
		action, file = "rule.create", newFileName(dir, id)
	}
	path := filepath.Join(dir, filepath.FromSlash(file))
	sum := sha256.Sum256(data)
	after := map[string]any{"file": customPack + "/" + file, "sha256": hex.EncodeToString(sum[:]), "title": rules[0].Title}
	err = s.db.Tx(ctx, func(ctx context.Context) error {
		if err := s.db.AppendAudit(ctx, audit.New(a, action, "rule:"+id, nil, after)); err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			return err
		}
		// The file is written last: if it fails, the audit entry is
		// rolled back with the transaction.
		return writeFileAtomic(path, data)
	})
	if err != nil {
		return "", nil, fmt.Errorf("rules: save %s: %w", file, err)
	}
	s.snap = nil
	return id, nil, s.reloadLocked(ctx)
}

// newFileName names the file of a new custom rule after its id, or a
// fresh UUID when the id cannot name a file or the name is taken.
func newFileName(dir, id string) string {
	name := id
	if !safeFileName.MatchString(name) {
		name = newUUID()
	}
	if _, err := os.Lstat(filepath.Join(dir, name+".yml")); err == nil {
		name = newUUID()
	}
	return name + ".yml"
}

// DeleteRule implements web.RuleManager.
func (s *ruleService) DeleteRule(ctx context.Context, a audit.Actor, ref string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sn, err := s.snapshot(ctx)
	if err != nil {
		return err
	}
	file, err := s.customFile(sn, ref)
	if err != nil {
		return err
	}
	path := filepath.Join(customDir(s.c), filepath.FromSlash(file))
	before := map[string]any{"file": customPack + "/" + file}
	if data, err := os.ReadFile(path); err == nil {
		sum := sha256.Sum256(data)
		before["sha256"] = hex.EncodeToString(sum[:])
	}
	err = s.db.Tx(ctx, func(ctx context.Context) error {
		if err := s.db.AppendAudit(ctx, audit.New(a, "rule.delete", "rule:"+ref, before, nil)); err != nil {
			return err
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("rules: delete %s: %w", file, err)
	}
	s.snap = nil
	return s.reloadLocked(ctx)
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
