// SPDX-License-Identifier: Apache-2.0

package sigma

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"

	"github.com/koban-csirt/koban/internal/i18n"
)

// MaxFileBytes bounds one rule file: SigmaHQ's largest is under 64 KiB.
const MaxFileBytes = 4 << 20

// Limits that keep one rule from costing the pipeline much: values per
// predicate, search identifiers per rule, condition length and depth.
const (
	maxValues     = 10000
	maxSearches   = 1000
	maxCondition  = 16 << 10
	maxCondDepth  = 64
	maxValueBytes = 64 << 10
)

var catalog = sync.OnceValues(i18n.Load)

// englishOf renders a message id in English, for Error strings and logs.
func englishOf(id string, args []any) string {
	c, err := catalog()
	if err != nil {
		return id
	}
	return c.T(i18n.English, id, args...)
}

// Parse reads every YAML document of one rule file. It returns the rules
// that parsed and a problem for each document that did not (that document
// is left out). file names the file in problems.
func Parse(file string, data []byte) ([]*Rule, []*Problem) {
	if len(data) > MaxFileBytes {
		return nil, []*Problem{{File: file, Msg: "sigma.file_too_large", Args: []any{"max", MaxFileBytes}}}
	}
	var (
		rules []*Rule
		probs []*Problem
	)
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// The YAML parser cannot resume after a syntax error.
			probs = append(probs, yamlProblem(file, err))
			break
		}
		if len(doc.Content) == 0 {
			continue
		}
		r, ps := parseDoc(doc.Content[0])
		for _, p := range ps {
			p.File = file
			if r != nil && p.Rule == "" {
				p.Rule = r.Ref()
			}
		}
		probs = append(probs, ps...)
		if r != nil && len(ps) == 0 {
			r.File = file
			rules = append(rules, r)
		}
	}
	return rules, probs
}

var yamlLine = regexp.MustCompile(`line (\d+)`)

func yamlProblem(file string, err error) *Problem {
	p := &Problem{File: file, Msg: "sigma.yaml", Args: []any{"reason", strings.TrimPrefix(err.Error(), "yaml: ")}}
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		p.Pos.Line, _ = strconv.Atoi(m[1])
		p.Pos.Col = 1
	}
	return p
}

func at(n *yaml.Node) Pos { return Pos{n.Line, n.Column} }

// docParser collects problems while reading one document.
type docParser struct {
	probs []*Problem
}

func (d *docParser) fail(n *yaml.Node, msg string, args ...any) {
	d.probs = append(d.probs, problem(at(n), msg, args...))
}

func parseDoc(n *yaml.Node) (*Rule, []*Problem) {
	d := &docParser{}
	if n.Kind != yaml.MappingNode {
		d.fail(n, "sigma.not_a_map")
		return nil, d.probs
	}
	r := &Rule{Line: n.Line}
	var detection, logsource, correlation, filter *yaml.Node
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := k.Value
		if seen[key] {
			d.fail(k, "sigma.duplicate_key", "key", key)
			continue
		}
		seen[key] = true
		switch key {
		case "title":
			r.Title = d.str(v, key)
		case "id":
			r.ID = d.str(v, key)
		case "name":
			r.Name = d.str(v, key)
		case "status":
			r.Status = d.str(v, key)
		case "level":
			r.Level = d.str(v, key)
		case "description":
			r.Description = d.str(v, key)
		case "author":
			r.Author = d.str(v, key)
		case "date":
			r.Date = d.str(v, key)
		case "modified":
			r.Modified = d.str(v, key)
		case "license":
			r.License = d.str(v, key)
		case "taxonomy":
			r.Taxonomy = d.str(v, key)
		case "references":
			r.References = d.strs(v, key)
		case "tags":
			r.Tags = d.strs(v, key)
		case "falsepositives":
			r.FalsePositives = d.strs(v, key)
		case "fields":
			r.Fields = d.strs(v, key)
		case "related":
			r.Related = d.related(v)
		case "logsource":
			logsource = v
		case "detection":
			detection = v
		case "correlation":
			correlation = v
		case "filter":
			filter = v
		case "scope":
			d.strs(v, key)
		default:
			if r.Custom == nil {
				r.Custom = map[string]string{}
			}
			if v.Kind == yaml.ScalarNode {
				r.Custom[key] = v.Value
			} else {
				b, _ := yaml.Marshal(v)
				r.Custom[key] = strings.TrimSpace(string(b))
			}
		}
	}
	switch {
	case correlation != nil:
		r.Kind = KindCorrelation
		r.Correlation = d.correlation(correlation)
	case filter != nil:
		r.Kind = KindFilter
		r.Detection, r.FilterRules = d.filter(filter)
	default:
		r.Kind = KindRule
		if detection == nil {
			d.fail(n, "sigma.missing", "key", "detection")
		} else {
			r.Detection = d.detection(detection)
		}
	}
	if r.Title == "" {
		d.fail(n, "sigma.missing", "key", "title")
	}
	if logsource != nil {
		r.LogSource = d.logsource(logsource)
	} else if r.Kind != KindCorrelation {
		d.fail(n, "sigma.missing", "key", "logsource")
	}
	if r.Level != "" {
		if _, ok := levels[r.Level]; !ok {
			d.fail(valueNode(n, "level"), "sigma.bad_level", "value", r.Level)
		}
	}
	if r.Status != "" && !statuses[r.Status] {
		d.fail(valueNode(n, "status"), "sigma.bad_status", "value", r.Status)
	}
	for _, t := range r.Tags {
		if t == "" || strings.ContainsAny(t, " \t") {
			d.fail(valueNode(n, "tags"), "sigma.bad_tag", "value", t)
			break
		}
	}
	return r, d.probs
}

// levels ranks Sigma's levels.
var levels = map[string]int{"informational": 1, "low": 2, "medium": 3, "high": 4, "critical": 5}

// LevelRank returns 1 (informational) to 5 (critical), or 0 for an unknown
// level.
func LevelRank(level string) int { return levels[level] }

var statuses = map[string]bool{"stable": true, "test": true, "experimental": true, "deprecated": true, "unsupported": true}

func valueNode(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return m
}

func (d *docParser) str(v *yaml.Node, key string) string {
	if v.Kind != yaml.ScalarNode {
		d.fail(v, "sigma.want_text", "key", key)
		return ""
	}
	return v.Value
}

func (d *docParser) strs(v *yaml.Node, key string) []string {
	if v.Kind == yaml.ScalarNode {
		if v.Tag == "!!null" {
			return nil
		}
		return []string{v.Value}
	}
	if v.Kind != yaml.SequenceNode {
		d.fail(v, "sigma.want_list", "key", key)
		return nil
	}
	out := make([]string, 0, len(v.Content))
	for _, c := range v.Content {
		if c.Kind != yaml.ScalarNode {
			d.fail(c, "sigma.want_text", "key", key)
			continue
		}
		out = append(out, c.Value)
	}
	return out
}

func (d *docParser) related(v *yaml.Node) []Related {
	if v.Kind != yaml.SequenceNode {
		d.fail(v, "sigma.want_list", "key", "related")
		return nil
	}
	var out []Related
	for _, c := range v.Content {
		if c.Kind != yaml.MappingNode {
			d.fail(c, "sigma.want_map", "key", "related")
			continue
		}
		var r Related
		for i := 0; i+1 < len(c.Content); i += 2 {
			switch c.Content[i].Value {
			case "id":
				r.ID = d.str(c.Content[i+1], "related.id")
			case "type":
				r.Type = d.str(c.Content[i+1], "related.type")
			}
		}
		out = append(out, r)
	}
	return out
}

func (d *docParser) logsource(v *yaml.Node) LogSource {
	var l LogSource
	if v.Kind != yaml.MappingNode {
		d.fail(v, "sigma.want_map", "key", "logsource")
		return l
	}
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, val := v.Content[i], v.Content[i+1]
		switch k.Value {
		case "product":
			l.Product = d.str(val, "logsource.product")
		case "category":
			l.Category = d.str(val, "logsource.category")
		case "service":
			l.Service = d.str(val, "logsource.service")
		case "definition":
			l.Definition = d.str(val, "logsource.definition")
		}
	}
	return l
}

// detection reads a detection section.
func (d *docParser) detection(v *yaml.Node) *Detection {
	if v.Kind != yaml.MappingNode {
		d.fail(v, "sigma.want_map", "key", "detection")
		return nil
	}
	det := &Detection{}
	var cond *yaml.Node
	seen := map[string]bool{}
	failed := map[string]bool{} // searches already reported as broken
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, val := v.Content[i], v.Content[i+1]
		switch k.Value {
		case "condition":
			cond = val
			continue
		case "timeframe":
			det.Timeframe = d.str(val, "timeframe")
			continue
		}
		if seen[k.Value] {
			d.fail(k, "sigma.duplicate_key", "key", k.Value)
			continue
		}
		seen[k.Value] = true
		if len(det.Searches) >= maxSearches {
			d.fail(k, "sigma.too_many_searches", "max", maxSearches)
			break
		}
		if s := d.search(k, val); s != nil {
			det.Searches = append(det.Searches, s)
		} else {
			failed[k.Value] = true
		}
	}
	if cond == nil {
		d.fail(v, "sigma.missing", "key", "detection.condition")
		return det
	}
	d.conditions(det, cond, failed)
	return det
}

func (d *docParser) conditions(det *Detection, cond *yaml.Node, failed map[string]bool) {
	var texts []*yaml.Node
	switch cond.Kind {
	case yaml.ScalarNode:
		texts = []*yaml.Node{cond}
	case yaml.SequenceNode:
		texts = cond.Content
	default:
		d.fail(cond, "sigma.want_text", "key", "condition")
		return
	}
	for _, t := range texts {
		if t.Kind != yaml.ScalarNode {
			d.fail(t, "sigma.want_text", "key", "condition")
			continue
		}
		c, err := ParseCondition(t.Value)
		if err != nil {
			d.probs = append(d.probs, &Problem{Pos: condPos(t, err.Col), Msg: err.Msg, Args: append([]any{"column", err.Col}, err.Args...)})
			continue
		}
		if err := checkIdents(c, det); err != nil {
			if err.Msg == "sigma.cond.unknown_ident" && len(err.Args) == 2 && failed[fmt.Sprint(err.Args[1])] {
				continue // the search itself was reported
			}
			pos := condPos(t, err.Col)
			d.probs = append(d.probs, &Problem{Pos: pos, Msg: err.Msg, Args: append([]any{"column", err.Col}, err.Args...)})
			continue
		}
		det.Conditions = append(det.Conditions, c)
	}
}

// condPos is where column col of a condition's text is in the file: a
// plain or quoted scalar on one line starts where its node does; for block
// scalars the node's own position is the best there is.
func condPos(t *yaml.Node, col int) Pos {
	pos := at(t)
	switch t.Style {
	case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		pos.Col += col
	case 0:
		pos.Col += col - 1
	}
	return pos
}

// search reads one search identifier.
func (d *docParser) search(k, v *yaml.Node) *Search {
	s := &Search{Name: k.Value, Pos: at(k)}
	if s.Name == "" {
		d.fail(k, "sigma.bad_search_name", "name", s.Name)
		return nil
	}
	switch v.Kind {
	case yaml.MappingNode:
		preds := d.preds(v)
		if preds == nil {
			return nil
		}
		s.Any = [][]*Pred{preds}
	case yaml.SequenceNode:
		if len(v.Content) == 0 {
			d.fail(v, "sigma.empty_search", "name", s.Name)
			return nil
		}
		switch v.Content[0].Kind {
		case yaml.MappingNode:
			for _, c := range v.Content {
				if c.Kind != yaml.MappingNode {
					d.fail(c, "sigma.mixed_list", "name", s.Name)
					return nil
				}
				preds := d.preds(c)
				if preds == nil {
					return nil
				}
				s.Any = append(s.Any, preds)
			}
		default:
			p := &Pred{Pos: at(v)}
			if !d.values(p, v) {
				return nil
			}
			s.Any = [][]*Pred{{p}}
		}
	case yaml.ScalarNode:
		// A single keyword.
		p := &Pred{Pos: at(v)}
		if !d.values(p, v) {
			return nil
		}
		s.Any = [][]*Pred{{p}}
	default:
		d.fail(v, "sigma.bad_search", "name", s.Name)
		return nil
	}
	return s
}

func (d *docParser) preds(m *yaml.Node) []*Pred {
	if len(m.Content) == 0 {
		d.fail(m, "sigma.empty_search", "name", "")
		return nil
	}
	var out []*Pred
	seen := map[string]bool{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.fail(k, "sigma.bad_field", "field", "")
			return nil
		}
		if seen[k.Value] {
			d.fail(k, "sigma.duplicate_key", "key", k.Value)
			return nil
		}
		seen[k.Value] = true
		parts := strings.Split(k.Value, "|")
		p := &Pred{Pos: at(k), Field: parts[0], Modifiers: parts[1:]}
		for _, mod := range p.Modifiers {
			if mod == "" {
				d.fail(k, "sigma.empty_modifier", "field", k.Value)
				return nil
			}
		}
		if !d.values(p, v) {
			return nil
		}
		out = append(out, p)
	}
	return out
}

// values reads a predicate's value or list of values.
func (d *docParser) values(p *Pred, v *yaml.Node) bool {
	var items []*yaml.Node
	switch v.Kind {
	case yaml.ScalarNode:
		items = []*yaml.Node{v}
	case yaml.SequenceNode:
		if len(v.Content) == 0 {
			d.fail(v, "sigma.empty_values", "field", p.Field)
			return false
		}
		items = v.Content
	case yaml.AliasNode:
		if v.Alias != nil {
			return d.values(p, v.Alias)
		}
		fallthrough
	default:
		d.fail(v, "sigma.bad_value", "field", p.Field)
		return false
	}
	if len(items) > maxValues {
		d.fail(v, "sigma.too_many_values", "field", p.Field, "max", maxValues)
		return false
	}
	p.Values = make([]Value, 0, len(items))
	for _, it := range items {
		if it.Kind == yaml.AliasNode && it.Alias != nil {
			it = it.Alias
		}
		if it.Kind != yaml.ScalarNode {
			d.fail(it, "sigma.bad_value", "field", p.Field)
			return false
		}
		if len(it.Value) > maxValueBytes {
			d.fail(it, "sigma.value_too_long", "field", p.Field, "max", maxValueBytes)
			return false
		}
		val := Value{Pos: at(it), Text: it.Value}
		switch it.ShortTag() {
		case "!!null":
			val.Kind = Null
			val.Text = ""
		case "!!int", "!!float":
			val.Kind = Number
		case "!!bool":
			val.Kind = Bool
		default:
			val.Kind = String
		}
		p.Values = append(p.Values, val)
	}
	return true
}

func (d *docParser) filter(v *yaml.Node) (*Detection, []string) {
	if v.Kind != yaml.MappingNode {
		d.fail(v, "sigma.want_map", "key", "filter")
		return nil, nil
	}
	var rules []string
	hasRules := false
	rest := &yaml.Node{Kind: yaml.MappingNode, Line: v.Line, Column: v.Column}
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, val := v.Content[i], v.Content[i+1]
		if k.Value == "rules" {
			hasRules = true
			rules = d.strs(val, "filter.rules")
			continue
		}
		rest.Content = append(rest.Content, k, val)
	}
	if !hasRules || len(rules) == 0 {
		d.fail(v, "sigma.missing", "key", "filter.rules")
	}
	return d.detection(rest), rules
}
