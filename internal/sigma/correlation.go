// SPDX-License-Identifier: Apache-2.0

package sigma

import (
	"strconv"
	"time"

	"go.yaml.in/yaml/v3"
)

// Correlation is the correlation section of a correlation rule.
type Correlation struct {
	Type     string   // event_count, value_count, temporal, temporal_ordered, value_sum, value_avg, value_percentile
	Rules    []string // ids or names of the rules (or correlations) correlated
	GroupBy  []string
	Timespan time.Duration
	// Condition: each operator (gt, gte, lt, lte, eq, neq) with its bound;
	// all must hold.
	Condition map[string]float64
	// Field is the condition's field (value_count and the value_* types).
	Field string
	// Aliases maps an alias to, per rule name, the field it stands for.
	Aliases  map[string]map[string]string
	Generate bool
	Pos      Pos
}

var correlationTypes = map[string]bool{
	"event_count": true, "value_count": true, "temporal": true, "temporal_ordered": true,
	"value_sum": true, "value_avg": true, "value_percentile": true,
}

// ParseTimespan reads a Sigma timespan: a number and s, m, h, d (or w, M,
// y as some tools write).
func ParseTimespan(s string) (time.Duration, bool) {
	if len(s) < 2 {
		return 0, false
	}
	n, err := strconv.ParseInt(s[:len(s)-1], 10, 64)
	if err != nil || n <= 0 || n > 1<<20 {
		return 0, false
	}
	unit := map[byte]time.Duration{'s': time.Second, 'm': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour, 'w': 7 * 24 * time.Hour, 'M': 30 * 24 * time.Hour, 'y': 365 * 24 * time.Hour}[s[len(s)-1]]
	if unit == 0 {
		return 0, false
	}
	return time.Duration(n) * unit, true
}

func (d *docParser) correlation(v *yaml.Node) *Correlation {
	if v.Kind != yaml.MappingNode {
		d.fail(v, "sigma.want_map", "key", "correlation")
		return nil
	}
	c := &Correlation{Pos: at(v), Condition: map[string]float64{}}
	var cond, typ, timespan *yaml.Node
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, val := v.Content[i], v.Content[i+1]
		switch k.Value {
		case "type":
			typ = val
			c.Type = d.str(val, "correlation.type")
		case "rules":
			c.Rules = d.strs(val, "correlation.rules")
		case "group-by":
			c.GroupBy = d.strs(val, "correlation.group-by")
		case "timespan", "timeframe":
			timespan = val
		case "condition":
			cond = val
		case "generate":
			c.Generate = val.Value == "true"
		case "aliases":
			c.Aliases = d.aliases(val)
		default:
			d.fail(k, "sigma.corr.unknown_key", "key", k.Value)
		}
	}
	if typ == nil {
		d.fail(v, "sigma.missing", "key", "correlation.type")
	} else if !correlationTypes[c.Type] {
		d.fail(typ, "sigma.corr.bad_type", "value", c.Type)
	}
	if len(c.Rules) == 0 {
		d.fail(v, "sigma.missing", "key", "correlation.rules")
	}
	if timespan == nil {
		d.fail(v, "sigma.missing", "key", "correlation.timespan")
	} else if ts, ok := ParseTimespan(timespan.Value); !ok {
		d.fail(timespan, "sigma.corr.bad_timespan", "value", timespan.Value)
	} else {
		c.Timespan = ts
	}
	temporal := c.Type == "temporal" || c.Type == "temporal_ordered"
	if cond == nil {
		if !temporal {
			d.fail(v, "sigma.missing", "key", "correlation.condition")
		}
	} else if cond.Kind != yaml.MappingNode {
		d.fail(cond, "sigma.want_map", "key", "correlation.condition")
	} else {
		for i := 0; i+1 < len(cond.Content); i += 2 {
			k, val := cond.Content[i], cond.Content[i+1]
			switch k.Value {
			case "field":
				c.Field = d.str(val, "correlation.condition.field")
			case "gt", "gte", "lt", "lte", "eq", "neq":
				f, err := strconv.ParseFloat(val.Value, 64)
				if err != nil || val.Kind != yaml.ScalarNode {
					d.fail(val, "sigma.bad_number", "field", "correlation.condition."+k.Value, "value", val.Value)
					continue
				}
				c.Condition[k.Value] = f
			default:
				d.fail(k, "sigma.corr.bad_operator", "value", k.Value)
			}
		}
		if len(c.Condition) == 0 {
			d.fail(cond, "sigma.corr.no_operator")
		}
	}
	if c.Field == "" && c.Type != "event_count" && !temporal && c.Type != "" {
		d.fail(v, "sigma.missing", "key", "correlation.condition.field")
	}
	if temporal && len(c.Condition) == 0 {
		// Every rule must have matched.
		c.Condition["gte"] = float64(len(c.Rules))
	}
	return c
}

func (d *docParser) aliases(v *yaml.Node) map[string]map[string]string {
	if v.Kind != yaml.MappingNode {
		d.fail(v, "sigma.want_map", "key", "correlation.aliases")
		return nil
	}
	out := map[string]map[string]string{}
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, val := v.Content[i], v.Content[i+1]
		if val.Kind != yaml.MappingNode {
			d.fail(val, "sigma.want_map", "key", "correlation.aliases."+k.Value)
			continue
		}
		m := map[string]string{}
		for j := 0; j+1 < len(val.Content); j += 2 {
			m[val.Content[j].Value] = d.str(val.Content[j+1], "correlation.aliases")
		}
		out[k.Value] = m
	}
	return out
}

// Holds reports whether a count or value satisfies the condition.
func (c *Correlation) Holds(n float64) bool {
	for op, b := range c.Condition {
		if op == "neq" {
			if n == b {
				return false
			}
			continue
		}
		if !compare(n, op, b) {
			return false
		}
	}
	return true
}
