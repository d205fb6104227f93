// SPDX-License-Identifier: Apache-2.0

package detect

import (
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/koban-csirt/koban/internal/detect/baseline"
	"github.com/koban-csirt/koban/internal/event"
	"github.com/koban-csirt/koban/internal/i18n"
	"github.com/koban-csirt/koban/internal/intel"
	"github.com/koban-csirt/koban/internal/sigma"
)

// The sources of detections.
const (
	SourceSigma       = "sigma"
	SourceIOC         = "ioc"
	SourceBaseline    = "baseline"
	SourceCorrelation = "correlation"
)

// Field is a named value shown with a detection.
type Field struct{ Name, Value string }

// Detection is what the detector found: one rule matching one event, an
// indicator seen in an event, a baseline finding, or a correlation of
// several events. Its strings may share the event's memory only until
// the callback returns: Event copies nothing, so a callback that keeps a
// Detection must not keep the event's buffers (the pipeline records
// detections before it reads the next batch).
type Detection struct {
	Time      time.Time
	Tenant    string
	Source    string
	RuleID    string
	RuleTitle string
	Level     string // informational … critical
	Tags      []string
	Host      string
	User      string
	Fields    []Field
	EventIDs  []event.ID
}

// IndicatorMatcher finds indicators of compromise in an event's fields;
// intel.Live is the built-in one.
type IndicatorMatcher interface {
	MatchEvent(ev *event.Event, fn func(intel.Hit))
}

// Rules is a compiled rule set with what the detector needs about it.
type Rules struct {
	Set *sigma.Ruleset
	// Correlator evaluates the correlation rules of the set; nil when
	// there are none. It is used by the detector's goroutine only.
	Correlator *sigma.Correlator
	// MinLevel: matches of rules below it are not reported (they may
	// still feed correlations).
	MinLevel int
}

// Options configure a Detector. Each part may be nil.
type Options struct {
	Rules      *Rules
	Indicators IndicatorMatcher
	Baselines  *baseline.Engine
	// IndicatorLevel is the level of indicator detections (default high).
	IndicatorLevel string
	// Catalog gives baseline titles and reasons in English; New loads the
	// embedded one when nil.
	Catalog *i18n.Catalog
}

// Detector runs Sigma rules, indicators and baselines over normalised
// events. Event is for one goroutine; Swap may be called from any.
type Detector struct {
	rules   atomic.Pointer[Rules]
	m       *sigma.Matcher
	mRules  *Rules
	ioc     IndicatorMatcher
	base    *baseline.Engine
	iocLvl  string
	matched int64
	// The event and callback of the Event call in progress, so that the
	// indicator callback is built once: a closure passed through the
	// IndicatorMatcher interface would escape, one allocation per event.
	cur   *event.Event
	curFn func(Detection)
	onHit func(intel.Hit)
	// baseline definition name → English title and reason catalogue, for
	// readable alerts (the alert stores one title).
	baseTitle map[string]string
	cat       *i18n.Catalog
}

// New returns a Detector.
func New(o Options) *Detector {
	d := &Detector{ioc: o.Indicators, base: o.Baselines, iocLvl: o.IndicatorLevel}
	if d.iocLvl == "" {
		d.iocLvl = "high"
	}
	d.onHit = d.hit
	if d.base != nil {
		d.cat = o.Catalog
		if d.cat == nil {
			d.cat, _ = i18n.Load()
		}
		d.baseTitle = map[string]string{}
		for _, def := range d.base.Definitions() {
			title := def.Title["en"]
			if title == "" && def.TitleID != "" && d.cat != nil {
				title = d.cat.T(i18n.English, def.TitleID)
			}
			if title == "" {
				title = def.Name
			}
			d.baseTitle[def.Name] = title
		}
	}
	if o.Rules != nil {
		d.rules.Store(o.Rules)
	}
	return d
}

// Swap replaces the rules; the next Event uses them.
func (d *Detector) Swap(r *Rules) { d.rules.Store(r) }

// Rules returns the rules in use.
func (d *Detector) Rules() *Rules { return d.rules.Load() }

// userFields are the fields, in order of preference, that name the user an
// event is about.
var userFields = []string{"TargetUserName", "User", "SubjectUserName", "UserName", "AccountName", "user", "username", "USER", "auid"}

// userOf returns the user an event is about.
func userOf(ev *event.Event) string {
	for _, f := range userFields {
		if v, ok := ev.Lookup(f); ok && v != "" && v != "-" {
			return v
		}
	}
	return ""
}

// maxKeyFields and maxFieldValue bound what a detection carries of an
// event.
const (
	maxKeyFields  = 12
	maxFieldValue = 512
)

// Event checks one event and calls fn for each detection.
func (d *Detector) Event(ev *event.Event, fn func(Detection)) {
	if r := d.rules.Load(); r != nil && r.Set != nil {
		if d.mRules != r {
			d.m, d.mRules = r.Set.NewMatcher(), r
		}
		d.m.Match(ev, func(m sigma.Match) {
			if c := r.Correlator; c != nil {
				c.Observe(m, ev, func(cm sigma.CorrelationMatch) { fn(CorrelationDetection(cm, ev)) })
				if c.Silent(m.Rule) {
					return
				}
			}
			if sigma.LevelRank(m.Rule.Level) < r.MinLevel {
				return
			}
			d.matched++
			fn(d.sigmaDetection(r, m, ev))
		})
	}
	if d.ioc != nil {
		d.cur, d.curFn = ev, fn
		d.ioc.MatchEvent(ev, d.onHit)
		d.cur, d.curFn = nil, nil
	}
	if d.base != nil {
		d.base.Observe(ev, func(f baseline.Finding) { fn(d.baselineDetection(f, ev)) })
	}
}

func (d *Detector) base0(ev *event.Event) Detection {
	return Detection{
		Time:     time.Unix(0, ev.Time).UTC(),
		Tenant:   ev.Tenant,
		Host:     ev.Host,
		User:     userOf(ev),
		EventIDs: []event.ID{ev.ID},
	}
}

func (d *Detector) sigmaDetection(r *Rules, m sigma.Match, ev *event.Event) Detection {
	det := d.base0(ev)
	det.Source = SourceSigma
	det.RuleID = m.Rule.ID
	if det.RuleID == "" {
		det.RuleID = m.Rule.Ref()
	}
	det.RuleTitle = m.Rule.Title
	det.Level = m.Rule.Level
	if det.Level == "" {
		det.Level = "medium"
	}
	det.Tags = m.Rule.Tags
	det.Fields = keyFields(ev, r.Set.KeyFields(m.Index), m.Rule.Fields)
	return det
}

// keyFields returns the event's values of the fields a rule names (its
// predicates, then its fields attribute), bounded.
func keyFields(ev *event.Event, names ...[]string) []Field {
	var out []Field
	for _, list := range names {
		for _, n := range list {
			if len(out) >= maxKeyFields {
				return out
			}
			v, ok := ev.Lookup(n)
			if !ok || containsField(out, n) {
				continue
			}
			out = append(out, Field{n, clip(v)})
		}
	}
	return out
}

func containsField(fs []Field, name string) bool {
	for _, f := range fs {
		if f.Name == name {
			return true
		}
	}
	return false
}

func clip(v string) string {
	if len(v) <= maxFieldValue {
		return v
	}
	cut := maxFieldValue
	for cut > 0 && v[cut]&0xC0 == 0x80 {
		cut--
	}
	return v[:cut] + "…"
}

// CorrelationDetection reports a correlation rule that fired; its group-by
// values are its key fields, and host and user come from them when the
// rule groups by such a field, else from the event that completed it (nil
// when a window closed by the clock).
func CorrelationDetection(cm sigma.CorrelationMatch, ev *event.Event) Detection {
	r := cm.Rule
	det := Detection{
		Time: time.Unix(0, cm.Last).UTC(), Source: SourceCorrelation,
		RuleID: r.ID, RuleTitle: r.Title, Level: r.Level, Tags: r.Tags,
		EventIDs: append([]event.ID(nil), cm.Events...),
	}
	if ev != nil {
		det.Tenant, det.Host = ev.Tenant, ev.Host
	}
	if det.RuleID == "" {
		det.RuleID = r.Ref()
	}
	if det.Level == "" {
		det.Level = "medium"
	}
	userSet := false
	if c := r.Correlation; c != nil {
		for i, name := range c.GroupBy {
			if i >= len(cm.Group) {
				break
			}
			v := clip(cm.Group[i])
			det.Fields = append(det.Fields, Field{name, v})
			switch name {
			case "Computer", "Hostname", "host", "ComputerName":
				det.Host = v
			}
			for _, u := range userFields {
				if name == u && !userSet {
					det.User, userSet = v, true
				}
			}
		}
		det.Fields = append(det.Fields, Field{"count", strconvFloat(cm.Count)})
	}
	if !userSet && ev != nil {
		det.User = userOf(ev)
	}
	return det
}

func strconvFloat(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func (d *Detector) hit(h intel.Hit) { d.curFn(d.iocDetection(h, d.cur)) }

func (d *Detector) iocDetection(h intel.Hit, ev *event.Event) Detection {
	det := d.base0(ev)
	det.Source = SourceIOC
	ind := h.Indicator
	det.RuleID = "ioc:" + string(ind.Kind) + ":" + ind.Value
	det.RuleTitle = "Indicator " + string(ind.Kind) + " " + ind.Value
	if ind.Source != "" {
		det.RuleTitle += " (" + ind.Source + ")"
	}
	det.Level = d.iocLvl
	det.Fields = []Field{{h.Field, clip(h.Value)}, {"indicator", ind.Value}}
	if ind.Note != "" {
		det.Fields = append(det.Fields, Field{"note", clip(ind.Note)})
	}
	return det
}

// baselineDetection reports a baseline finding with its definition's title
// and, as its first key field, the reason in English.
func (d *Detector) baselineDetection(f baseline.Finding, ev *event.Event) Detection {
	det := Detection{
		Time: f.Time.UTC(), Tenant: ev.Tenant, Source: SourceBaseline,
		RuleID: "baseline:" + f.Definition, RuleTitle: d.baseTitle[f.Definition],
		Level: string(f.Level), Host: f.Host, User: f.User, EventIDs: []event.ID{f.EventID},
	}
	if det.RuleTitle == "" {
		det.RuleTitle = f.Definition
	}
	if f.Reason != "" && d.cat != nil {
		det.Fields = append(det.Fields, Field{"reason", clip(d.cat.T(i18n.English, f.Reason, f.Args...))})
	}
	if len(f.Key) > 0 {
		det.Fields = append(det.Fields, Field{"key", clip(strings.Join(f.Key, " / "))})
	}
	if len(f.Value) > 0 {
		det.Fields = append(det.Fields, Field{"value", clip(strings.Join(f.Value, " / "))})
	}
	return det
}
