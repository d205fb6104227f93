// SPDX-License-Identifier: Apache-2.0

package app

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/koban-csirt/koban/internal/config"
	"github.com/koban-csirt/koban/internal/detect"
	"github.com/koban-csirt/koban/internal/detect/rulepack"
	"github.com/koban-csirt/koban/internal/normalize"
	"github.com/koban-csirt/koban/internal/sigma"
)

// rulesDir is where "koban rules import" puts rule packs.
func rulesDir(c config.Config) string { return filepath.Join(c.DataDir, "rules") }

// configuredSources lists the rule sources the configuration names: koban's
// own pack, the imported packs in the data directory, and detection.rules.
func configuredSources(c config.Config) []detect.Source {
	var srcs []detect.Source
	if c.Detect.OwnRules {
		srcs = append(srcs, detect.Source{Label: "koban", FS: rulepack.FS()})
	}
	if entries, err := os.ReadDir(rulesDir(c)); err == nil {
		for _, e := range entries {
			// Names starting with a dot are packs being imported or
			// replaced ("koban rules import"): never half a pack.
			if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
				srcs = append(srcs, detect.Source{Label: e.Name(), Path: filepath.Join(rulesDir(c), e.Name())})
			}
		}
	}
	for _, p := range c.Detect.Rules {
		srcs = append(srcs, detect.Source{Path: p})
	}
	return srcs
}

// compiledRules is what compileRules made of a set of sources.
type compiledRules struct {
	rules    *detect.Rules
	pack     *detect.Pack
	kept     []*sigma.Rule
	skipped  []detect.Skipped
	problems []*sigma.Problem // loading and compiling
	took     time.Duration
}

// compileRules loads, selects and compiles the rules of srcs with the
// configuration's policy, mapping and placeholders. Problems with single
// rules are returned, not errors: those rules are left out. An error means
// the configuration itself is unusable (an unreadable mapping file).
func compileRules(ctx context.Context, c config.Config, srcs []detect.Source) (*compiledRules, error) {
	start := time.Now()
	out := &compiledRules{}
	var probs []*sigma.Problem
	out.pack, probs = detect.LoadRules(ctx, srcs)
	out.problems = append(out.problems, probs...)
	out.kept, out.skipped = detect.Select(out.pack.Rules, detect.Policy{
		Statuses: c.Detect.Statuses, DisabledRules: c.Detect.DisabledRules, DisabledTags: c.Detect.DisabledTags,
		DisabledLogSources: c.Detect.DisabledLogSources,
	})
	o := sigma.Options{Applies: normalize.Matches}
	if c.Detect.Mapping != "" {
		b, err := os.ReadFile(c.Detect.Mapping)
		if err != nil {
			return nil, fmt.Errorf("detection.mapping: %w", err)
		}
		m, mp := sigma.ParseMapping(c.Detect.Mapping, b)
		if len(mp) > 0 {
			return nil, fmt.Errorf("detection.mapping: %w", mp[0])
		}
		o.Mapping = m
	}
	if len(c.Detect.Placeholders) > 0 {
		o.Placeholders = map[string][]string{}
		for _, p := range c.Detect.Placeholders {
			o.Placeholders[p.Name] = p.Values
		}
	}
	set, cp := sigma.Compile(out.kept, o)
	out.problems = append(out.problems, cp...)
	corr, rp := sigma.NewCorrelator(out.kept, sigma.CorrelatorOptions{})
	out.problems = append(out.problems, rp...)
	out.rules = &detect.Rules{Set: set, MinLevel: sigma.LevelRank(c.Detect.MinLevel)}
	if corr.Len() > 0 {
		out.rules.Correlator = corr
	}
	out.took = time.Since(start)
	return out, nil
}

// logRules reports a rule load in the operator log.
func logRules(log *slog.Logger, cr *compiledRules) {
	st := cr.rules.Set.Stats()
	log.Info("rules loaded", "files", cr.pack.Files, "rules", st.Rules, "correlations", corrLen(cr.rules),
		"skipped_by_policy", len(cr.skipped), "problems", len(cr.problems), "took", cr.took.Round(time.Millisecond).String())
	for i, p := range cr.problems {
		if i == 10 {
			log.Warn("more rule problems not shown; run koban rules lint", "count", len(cr.problems)-10)
			break
		}
		log.Warn("rule left out", "problem", p.Error())
	}
}

func corrLen(r *detect.Rules) int {
	if r.Correlator == nil {
		return 0
	}
	return r.Correlator.Len()
}
