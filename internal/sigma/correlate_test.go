// SPDX-License-Identifier: Apache-2.0

package sigma_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/koban-csirt/koban/internal/event"
	"github.com/koban-csirt/koban/internal/shareddata"
	"github.com/koban-csirt/koban/internal/sigma"
)

// t0 is the time test events are relative to.
var t0 = time.Date(2024, 6, 16, 9, 0, 0, 0, time.UTC)

// winEvent builds a Windows security event at t0+at with fields as
// name, value pairs.
func winEvent(at time.Duration, kv ...string) *event.Event {
	ev := &event.Event{Time: t0.Add(at).UnixNano(), Log: event.LogSource{Product: "windows", Service: "security"}}
	for i := 0; i+1 < len(kv); i += 2 {
		ev.Add(kv[i], kv[i+1])
	}
	ev.ID = event.NewID(ev.Time)
	return ev
}

// harness runs detection rules and correlations over events as the
// detector does: plain matches of silent rules are dropped, every match is
// observed by the Correlator.
type harness struct {
	tb    testing.TB
	rules []*sigma.Rule
	m     *sigma.Matcher
	c     *sigma.Correlator
	got   []sigma.CorrelationMatch
	plain []string // refs of detection rules that alerted on their own
}

func newHarness(tb testing.TB, yml string, o sigma.CorrelatorOptions) *harness {
	tb.Helper()
	rules, probs := sigma.Parse("test.yml", []byte(yml))
	for _, p := range probs {
		tb.Fatalf("Parse: %v", p)
	}
	rs, probs := sigma.Compile(rules, sigma.Options{})
	for _, p := range probs {
		tb.Fatalf("Compile: %v", p)
	}
	c, probs := sigma.NewCorrelator(rules, o)
	for _, p := range probs {
		tb.Fatalf("NewCorrelator: %v", p)
	}
	return &harness{tb: tb, rules: rules, m: rs.NewMatcher(), c: c}
}

func (h *harness) collect(m sigma.CorrelationMatch) { h.got = append(h.got, m) }

func (h *harness) feed(evs ...*event.Event) {
	for _, ev := range evs {
		h.m.Match(ev, func(m sigma.Match) {
			if !h.c.Silent(m.Rule) {
				h.plain = append(h.plain, m.Rule.Ref())
			}
			h.c.Observe(m, ev, h.collect)
		})
	}
}

// fired returns the matches of the correlation ref (id or name).
func (h *harness) fired(ref string) []sigma.CorrelationMatch {
	var out []sigma.CorrelationMatch
	for _, m := range h.got {
		if m.Rule.ID == ref || m.Rule.Name == ref {
			out = append(out, m)
		}
	}
	return out
}

func (h *harness) rule(ref string) *sigma.Rule {
	for _, r := range h.rules {
		if r.ID == ref || r.Name == ref {
			return r
		}
	}
	h.tb.Fatalf("no rule %q", ref)
	return nil
}

// specBlock returns the first code block after the heading line of a
// specification file in the shared data.
func specBlock(tb testing.TB, file, heading string) string {
	tb.Helper()
	b, err := os.ReadFile(shareddata.Path(tb, filepath.Join("sigma-specification/specification", file)))
	if err != nil {
		tb.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	i := slices.Index(lines, heading)
	if i < 0 {
		tb.Fatalf("%s: no heading %q", file, heading)
	}
	for ; i < len(lines) && !strings.HasPrefix(lines[i], "```"); i++ {
	}
	var out []string
	for i++; i < len(lines) && !strings.HasPrefix(lines[i], "```"); i++ {
		out = append(out, lines[i])
	}
	if len(out) == 0 {
		tb.Fatalf("%s: no code block after %q", file, heading)
	}
	return strings.Join(out, "\n") + "\n"
}

const bruteForce = `
title: failed logon
id: 11111111-0000-0000-0000-000000000001
name: failed
logsource: {product: windows, service: security}
detection:
  sel: {EventID: 4625}
  condition: sel
---
title: success logon
id: 11111111-0000-0000-0000-000000000002
name: success
logsource: {product: windows, service: security}
detection:
  sel: {EventID: 4624}
  condition: sel
`

func TestCorrelatorEventCountRefire(t *testing.T) {
	t.Parallel()
	h := newHarness(t, bruteForce+`---
title: brute force
id: bf
correlation: {type: event_count, rules: [failed], group-by: [User], timespan: 5m, condition: {gte: 3}}
`, sigma.CorrelatorOptions{})
	var evs []*event.Event
	for i := range 7 {
		evs = append(evs, winEvent(time.Duration(i)*time.Second, "EventID", "4625", "User", "alice"))
	}
	h.feed(evs...)
	got := h.fired("bf")
	// 7 events, gte 3, window emptied after each firing: fires at the 3rd
	// and the 6th event.
	if len(got) != 2 {
		t.Fatalf("7 failures with gte 3: %d matches, want 2: %+v", len(got), got)
	}
	for i, m := range got {
		first, last := evs[3*i], evs[3*i+2]
		if m.Count != 3 || m.First != first.Time || m.Last != last.Time || !slices.Equal(m.Group, []string{"alice"}) {
			t.Errorf("match %d = count %v, %d–%d, group %q; want 3, %d–%d, [alice]", i, m.Count, m.First, m.Last, m.Group, first.Time, last.Time)
		}
		want := []event.ID{evs[3*i].ID, evs[3*i+1].ID, evs[3*i+2].ID}
		if !slices.Equal(m.Events, want) {
			t.Errorf("match %d events = %v, want %v", i, m.Events, want)
		}
	}
	if s := h.c.Stats(); s.Fired != 2 || s.Groups != 1 {
		t.Errorf("Stats = %+v, want 2 fired and 1 live group (the 7th event)", s)
	}
	// The referenced rule has generate false (the default): silent.
	if !h.c.Silent(h.rule("failed")) || h.c.Silent(h.rule("success")) || len(h.plain) != 0 {
		t.Errorf("Silent(failed) = %v, Silent(success) = %v, plain alerts %v; want true, false, none",
			h.c.Silent(h.rule("failed")), h.c.Silent(h.rule("success")), h.plain)
	}
}

func TestCorrelatorSlidingWindow(t *testing.T) {
	t.Parallel()
	h := newHarness(t, bruteForce+`---
title: brute force
id: bf
correlation: {type: event_count, rules: [failed], group-by: [User], timespan: 10s, condition: {gte: 3}}
`, sigma.CorrelatorOptions{})
	// 0s, 6s, 12s: never 3 within 10s; then 14s gives 6, 12, 14.
	for _, s := range []int{0, 6, 12} {
		h.feed(winEvent(time.Duration(s)*time.Second, "EventID", "4625", "User", "bob"))
	}
	if n := len(h.fired("bf")); n != 0 {
		t.Fatalf("3 failures over 12s with a 10s window: %d matches, want 0", n)
	}
	h.feed(winEvent(14*time.Second, "EventID", "4625", "User", "bob"))
	got := h.fired("bf")
	if len(got) != 1 || got[0].First != t0.Add(6*time.Second).UnixNano() {
		t.Fatalf("after a 4th failure at 14s: %+v, want one match from 6s", got)
	}
	// Boundary: exactly timespan apart is within it.
	h2 := newHarness(t, bruteForce+`---
title: brute force
id: bf
correlation: {type: event_count, rules: [failed], group-by: [User], timespan: 10s, condition: {gte: 2}}
`, sigma.CorrelatorOptions{})
	h2.feed(winEvent(0, "EventID", "4625", "User", "bob"), winEvent(10*time.Second, "EventID", "4625", "User", "bob"))
	if n := len(h2.fired("bf")); n != 1 {
		t.Errorf("2 failures exactly 10s apart, timespan 10s: %d matches, want 1", n)
	}
}

func TestCorrelatorOutOfOrder(t *testing.T) {
	t.Parallel()
	h := newHarness(t, bruteForce+`---
title: brute force
id: bf
correlation: {type: event_count, rules: [failed], group-by: [User], timespan: 1m, condition: {gte: 3}}
`, sigma.CorrelatorOptions{})
	h.feed(winEvent(30*time.Second, "EventID", "4625", "User", "bob"),
		winEvent(10*time.Second, "EventID", "4625", "User", "bob"), // a little late: counted
		winEvent(-5*time.Minute, "EventID", "4625", "User", "bob")) // older than the window: dropped
	if n := len(h.fired("bf")); n != 0 {
		t.Fatalf("2 failures in the window and one 5 minutes late: %d matches, want 0", n)
	}
	if s := h.c.Stats(); s.Late != 1 {
		t.Errorf("Stats.Late = %d, want 1", s.Late)
	}
	h.feed(winEvent(20*time.Second, "EventID", "4625", "User", "bob"))
	got := h.fired("bf")
	if len(got) != 1 || got[0].First != t0.Add(10*time.Second).UnixNano() || got[0].Last != t0.Add(30*time.Second).UnixNano() {
		t.Fatalf("after a third failure: %+v, want one match over 10s–30s", got)
	}
}

func TestCorrelatorMissingGroupField(t *testing.T) {
	t.Parallel()
	h := newHarness(t, bruteForce+`---
title: brute force
id: bf
correlation: {type: event_count, rules: [failed], group-by: [User], timespan: 1m, condition: {gte: 2}}
`, sigma.CorrelatorOptions{})
	h.feed(winEvent(0, "EventID", "4625"), winEvent(time.Second, "EventID", "4625"))
	if n := len(h.fired("bf")); n != 0 {
		t.Errorf("events without the group-by field: %d matches, want 0", n)
	}
	if s := h.c.Stats(); s.Incomplete != 2 {
		t.Errorf("Stats.Incomplete = %d, want 2", s.Incomplete)
	}
	// Without group-by, all events form one group.
	h2 := newHarness(t, bruteForce+`---
title: brute force
id: bf
correlation: {type: event_count, rules: [failed], timespan: 1m, condition: {gte: 2}}
`, sigma.CorrelatorOptions{})
	h2.feed(winEvent(0, "EventID", "4625", "User", "a"), winEvent(time.Second, "EventID", "4625", "User", "b"))
	if got := h2.fired("bf"); len(got) != 1 || len(got[0].Group) != 0 {
		t.Errorf("no group-by, 2 events: %+v, want one match with no group values", got)
	}
}

func TestCorrelatorMaxGroups(t *testing.T) {
	t.Parallel()
	h := newHarness(t, bruteForce+`---
title: brute force
id: bf
correlation: {type: event_count, rules: [failed], group-by: [User], timespan: 1h, condition: {gte: 2}}
`, sigma.CorrelatorOptions{MaxGroups: 3})
	for i, u := range []string{"a", "b", "c", "d"} {
		h.feed(winEvent(time.Duration(i)*time.Second, "EventID", "4625", "User", u))
	}
	if s := h.c.Stats(); s.Groups != 3 || s.Evicted != 1 {
		t.Fatalf("4 users with MaxGroups 3: Stats = %+v, want 3 groups and 1 eviction", s)
	}
	// a was evicted: its second failure starts over; d's completes.
	h.feed(winEvent(10*time.Second, "EventID", "4625", "User", "a"), winEvent(11*time.Second, "EventID", "4625", "User", "d"))
	var users []string
	for _, m := range h.fired("bf") {
		users = append(users, m.Group...)
	}
	if !slices.Equal(users, []string{"d"}) {
		t.Errorf("after a second failure of a (evicted) and d: fired for %q, want [d]", users)
	}
}

func TestCorrelatorExpiredGroupsForgotten(t *testing.T) {
	t.Parallel()
	h := newHarness(t, bruteForce+`---
title: brute force
id: bf
correlation: {type: event_count, rules: [failed], group-by: [User], timespan: 1m, condition: {gte: 5}}
`, sigma.CorrelatorOptions{})
	for i := range 100 {
		h.feed(winEvent(time.Duration(i)*time.Second, "EventID", "4625", "User", fmt.Sprint("u", i)))
	}
	if s := h.c.Stats(); s.Groups > 65 {
		t.Errorf("100 users, one a second, timespan 1m: %d live groups, want at most about 60", s.Groups)
	}
	h.c.Advance(t0.Add(time.Hour).UnixNano(), h.collect)
	if s := h.c.Stats(); s.Groups != 0 {
		t.Errorf("after Advance past every window: %d live groups, want 0", s.Groups)
	}
}

func TestCorrelatorValueCountAndSum(t *testing.T) {
	t.Parallel()
	h := newHarness(t, bruteForce+`---
title: spray
id: spray
correlation:
  type: value_count
  rules: [failed]
  group-by: [IpAddress]
  timespan: 1m
  condition: {field: User, gte: 3}
---
title: volume
id: volume
correlation:
  type: value_sum
  rules: [success]
  group-by: [User]
  timespan: 1m
  condition: {field: Bytes, gt: 100}
`, sigma.CorrelatorOptions{})
	for i, u := range []string{"a", "b", "a", "b", "c"} {
		h.feed(winEvent(time.Duration(i)*time.Second, "EventID", "4625", "User", u, "IpAddress", "10.0.0.1"))
	}
	got := h.fired("spray")
	if len(got) != 1 || got[0].Count != 3 || len(got[0].Events) != 5 {
		t.Fatalf("users a b a b c from one address, gte 3 distinct: %+v, want one match of 3 values and 5 events", got)
	}
	for i, b := range []string{"60", "not a number", "40", "0x10"} {
		h.feed(winEvent(time.Duration(i)*time.Second, "EventID", "4624", "User", "x", "Bytes", b))
	}
	got = h.fired("volume")
	if len(got) != 1 || got[0].Count != 116 {
		t.Fatalf("bytes 60, junk, 40, 0x10 with gt 100: %+v, want one match summing 116", got)
	}
}

func TestCorrelatorValueAvgClosesWindow(t *testing.T) {
	t.Parallel()
	h := newHarness(t, bruteForce+`---
title: avg
id: avg
correlation:
  type: value_avg
  rules: [success]
  group-by: [User]
  timespan: 1m
  condition: {field: Bytes, gt: 50}
`, sigma.CorrelatorOptions{})
	h.feed(winEvent(0, "EventID", "4624", "User", "x", "Bytes", "100"),
		winEvent(time.Second, "EventID", "4624", "User", "x", "Bytes", "20"),
		winEvent(0, "EventID", "4624", "User", "y", "Bytes", "10"))
	if n := len(h.fired("avg")); n != 0 {
		t.Fatalf("value_avg before its window closed: %d matches, want 0", n)
	}
	h.c.Advance(t0.Add(2*time.Minute).UnixNano(), h.collect)
	got := h.fired("avg")
	if len(got) != 1 || got[0].Count != 60 || got[0].Group[0] != "x" {
		t.Fatalf("after the window: %+v, want one match for x averaging 60", got)
	}
}

func TestCorrelatorChainedGenerate(t *testing.T) {
	t.Parallel()
	h := newHarness(t, bruteForce+`---
title: many failures
id: many
name: many
correlation: {type: event_count, rules: [failed], group-by: [User], timespan: 5m, condition: {gte: 2}, generate: true}
---
title: many then success
id: outer
correlation: {type: temporal_ordered, rules: [many, success], group-by: [User], timespan: 5m}
`, sigma.CorrelatorOptions{})
	h.feed(winEvent(0, "EventID", "4625", "User", "u"), winEvent(time.Second, "EventID", "4625", "User", "u"),
		winEvent(2*time.Second, "EventID", "4624", "User", "u"))
	// many has generate: true, so failed alerts on its own; many is
	// referenced by outer (generate false), so it is silent; success too.
	if n := len(h.fired("many")); n != 0 {
		t.Errorf("the inner correlation alerted %d times, want 0 (referenced by a correlation with generate: false)", n)
	}
	out := h.fired("outer")
	if len(out) != 1 || len(out[0].Events) != 3 {
		t.Fatalf("outer: %+v, want one match over 3 events", out)
	}
	if want := []string{"failed", "failed"}; !slices.Equal(refsToNames(h, h.plain), want) {
		t.Errorf("plain alerts %v, want %v", h.plain, want)
	}
	if h.c.Silent(h.rule("failed")) || !h.c.Silent(h.rule("success")) || !h.c.Silent(h.rule("many")) {
		t.Errorf("Silent failed/success/many = %v/%v/%v, want false/true/true",
			h.c.Silent(h.rule("failed")), h.c.Silent(h.rule("success")), h.c.Silent(h.rule("many")))
	}
}

func refsToNames(h *harness, refs []string) []string {
	var out []string
	for _, r := range refs {
		out = append(out, h.rule(r).Name)
	}
	return out
}

func TestNewCorrelatorProblems(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, yml, msg string
		unsupported    bool
	}{
		{"unknown rule", `correlation: {type: event_count, rules: [nope], group-by: [User], timespan: 1m, condition: {gte: 2}}`, "sigmacorr.unknown_rule", false},
		{"filter", `correlation: {type: event_count, rules: [flt], group-by: [User], timespan: 1m, condition: {gte: 2}}`, "sigmacorr.not_a_rule", false},
		{"self", `name: me
correlation: {type: event_count, rules: [me], group-by: [User], timespan: 1m, condition: {gte: 2}}`, "sigmacorr.cycle", false},
		{"empty group-by", `correlation: {type: event_count, rules: [failed], group-by: [""], timespan: 1m, condition: {gte: 2}}`, "sigmacorr.empty_group_by", false},
		{"alias rule", `correlation:
  type: temporal
  rules: [failed, success]
  group-by: [ip]
  timespan: 1m
  aliases: {ip: {failed: IpAddress, other: SourceIp}}`, "sigmacorr.alias_rule", false},
		{"alias without field", `correlation:
  type: temporal
  rules: [failed, success]
  group-by: [ip]
  timespan: 1m
  aliases: {ip: {failed: "", success: SourceIp}}`, "sigmacorr.alias_field", false},
		{"duplicate", `correlation: {type: temporal, rules: [failed, failed], group-by: [User], timespan: 1m}`, "sigmacorr.duplicate_rule", false},
		{"percentile", `correlation: {type: value_percentile, rules: [failed], group-by: [User], timespan: 1m, condition: {field: x, lte: 1}}`, "sigmacorr.unsupported_type", true},
		{"too many values", `correlation: {type: value_count, rules: [failed], group-by: [User], timespan: 1m, condition: {field: x, gte: 20000}}`, "sigmacorr.too_many_values", true},
		{"ambiguous", `correlation: {type: event_count, rules: [dup], group-by: [User], timespan: 1m, condition: {gte: 2}}`, "sigmacorr.ambiguous_rule", false},
	}
	base := bruteForce + `---
title: filter
name: flt
logsource: {product: windows}
filter: {rules: [failed], sel: {User: x}, condition: not sel}
---
title: dup one
name: dup
logsource: {product: windows}
detection: {sel: {a: b}, condition: sel}
---
title: dup two
name: dup
logsource: {product: windows}
detection: {sel: {a: c}, condition: sel}
`
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			yml := base + "---\ntitle: bad\nid: bad-corr\n" + c.yml + "\n---\ntitle: good\nid: good\ncorrelation: {type: event_count, rules: [failed], group-by: [User], timespan: 1m, condition: {gte: 2}}\n"
			rules, probs := sigma.Parse("c.yml", []byte(yml))
			if len(probs) > 0 {
				t.Fatalf("Parse: %v", probs[0])
			}
			cr, probs := sigma.NewCorrelator(rules, sigma.CorrelatorOptions{})
			if len(probs) != 1 {
				t.Fatalf("NewCorrelator(%s): %d problems %v, want 1", c.name, len(probs), probs)
			}
			p := probs[0]
			if p.Msg != c.msg || p.Rule != "bad-corr" || p.File != "c.yml" || p.Pos.Line == 0 || p.Unsupported != c.unsupported {
				t.Errorf("problem = %+v, want %s (unsupported %v) for bad-corr in c.yml with a line", p, c.msg, c.unsupported)
			}
			if txt := p.Error(); strings.Contains(txt, "sigmacorr.") || !strings.HasPrefix(txt, "c.yml:") {
				t.Errorf("problem text %q: want c.yml:line:col and a message from the catalogue", txt)
			}
			if cr.Len() != 1 {
				t.Errorf("Len = %d, want 1 (the good correlation still works)", cr.Len())
			}
		})
	}
}

func TestNewCorrelatorNoTimespan(t *testing.T) {
	t.Parallel()
	rules, probs := sigma.Parse("c.yml", []byte(bruteForce+`---
title: bf
id: bf
correlation: {type: event_count, rules: [failed], group-by: [User], timespan: 1m, condition: {gte: 2}}
`))
	if len(probs) > 0 {
		t.Fatal(probs[0])
	}
	rules[2].Correlation.Timespan = 0 // as a caller building rules by hand might
	cr, probs := sigma.NewCorrelator(rules, sigma.CorrelatorOptions{})
	if len(probs) != 1 || probs[0].Msg != "sigmacorr.no_timespan" || strings.Contains(probs[0].Error(), "sigmacorr.") || cr.Len() != 0 {
		t.Errorf("zero timespan: problems %v, %d correlations; want one sigmacorr.no_timespan and none", probs, cr.Len())
	}
}

func TestNewCorrelatorCycleAndBrokenChain(t *testing.T) {
	t.Parallel()
	yml := bruteForce + `---
title: a
name: a
correlation: {type: event_count, rules: [b], group-by: [User], timespan: 1m, condition: {gte: 2}}
---
title: b
name: b
correlation: {type: event_count, rules: [a], group-by: [User], timespan: 1m, condition: {gte: 2}}
---
title: c
name: c
correlation: {type: event_count, rules: [a], group-by: [User], timespan: 1m, condition: {gte: 2}}
---
title: d
name: d
correlation: {type: event_count, rules: [failed], group-by: [User], timespan: 1m, condition: {gte: 2}}
`
	rules, probs := sigma.Parse("c.yml", []byte(yml))
	if len(probs) > 0 {
		t.Fatal(probs[0])
	}
	cr, probs := sigma.NewCorrelator(rules, sigma.CorrelatorOptions{})
	got := map[string]string{}
	for _, p := range probs {
		got[p.Rule] = p.Msg
	}
	want := map[string]string{"a": "sigmacorr.cycle", "b": "sigmacorr.cycle", "c": "sigmacorr.broken_ref"}
	if !mapsEqual(got, want) {
		t.Errorf("problems by rule = %v, want %v", got, want)
	}
	if cr.Len() != 1 {
		t.Errorf("Len = %d, want 1 (d)", cr.Len())
	}
	// failed is referenced by d only (a is left out), so it is silent.
	if !cr.Silent(rules[0]) {
		t.Errorf("Silent(failed) = false, want true")
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestCorrelatorSnapshotRestore(t *testing.T) {
	t.Parallel()
	yml := bruteForce + `---
title: brute force
id: bf
correlation: {type: event_count, rules: [failed], group-by: [User], timespan: 5m, condition: {gte: 3}}
---
title: spray
id: spray
correlation: {type: value_count, rules: [failed], group-by: [IpAddress], timespan: 5m, condition: {field: User, gte: 3}}
---
title: pair
id: pair
correlation: {type: temporal_ordered, rules: [failed, success], group-by: [User], timespan: 5m}
---
title: few
id: few
correlation: {type: event_count, rules: [success], group-by: [User], timespan: 5m, condition: {lt: 3}}
`
	h := newHarness(t, yml, sigma.CorrelatorOptions{})
	h.feed(winEvent(0, "EventID", "4625", "User", "a", "IpAddress", "1.1.1.1"),
		winEvent(time.Second, "EventID", "4625", "User", "a", "IpAddress", "1.1.1.1"),
		winEvent(2*time.Second, "EventID", "4625", "User", "b", "IpAddress", "1.1.1.1"),
		winEvent(3*time.Second, "EventID", "4624", "User", "c"))
	if len(h.got) != 0 {
		t.Fatalf("before the snapshot: %d matches, want 0", len(h.got))
	}
	var buf bytes.Buffer
	if err := h.c.Snapshot(&buf); err != nil {
		t.Fatal(err)
	}
	// A fresh correlator over the same rules picks up where h left off.
	h2 := newHarness(t, yml, sigma.CorrelatorOptions{})
	if err := h2.c.Restore(bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if s1, s2 := h.c.Stats(), h2.c.Stats(); s1.Groups != s2.Groups {
		t.Errorf("groups before %d, after restore %d", s1.Groups, s2.Groups)
	}
	next := []*event.Event{
		winEvent(4*time.Second, "EventID", "4625", "User", "a", "IpAddress", "1.1.1.1"), // bf: a×3
		winEvent(5*time.Second, "EventID", "4625", "User", "c", "IpAddress", "1.1.1.1"), // spray: a, b, c
		winEvent(6*time.Second, "EventID", "4624", "User", "a"),                         // pair: failed a, then success a
	}
	h.feed(next...)
	h2.feed(next...)
	h.c.Advance(t0.Add(time.Hour).UnixNano(), h.collect) // few: c had 1 success
	h2.c.Advance(t0.Add(time.Hour).UnixNano(), h2.collect)
	summary := func(ms []sigma.CorrelationMatch) []string {
		var out []string
		for _, m := range ms {
			out = append(out, fmt.Sprintf("%s%v=%v@%d-%d/%d", m.Rule.ID, m.Group, m.Count, m.First, m.Last, len(m.Events)))
		}
		slices.Sort(out)
		return out
	}
	want := summary(h.got)
	if len(want) != 5 {
		t.Fatalf("matches without a restart: %v, want bf, spray, pair and few for a and c", want)
	}
	if got := summary(h2.got); !slices.Equal(got, want) {
		t.Errorf("matches after restore:\n%v\nwant\n%v", got, want)
	}

	// A changed rule set keeps what still applies: bf's state, not spray's
	// (its group-by changed).
	changed := strings.Replace(yml, "group-by: [IpAddress]", "group-by: [WorkstationName]", 1)
	h3 := newHarness(t, changed, sigma.CorrelatorOptions{})
	if err := h3.c.Restore(bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatalf("Restore into a changed rule set: %v", err)
	}
	h3.feed(winEvent(4*time.Second, "EventID", "4625", "User", "a", "IpAddress", "1.1.1.1", "WorkstationName", "w"))
	if n, m := len(h3.fired("bf")), len(h3.fired("spray")); n != 1 || m != 0 {
		t.Errorf("after restoring into a changed rule set: bf fired %d, spray %d; want 1, 0", n, m)
	}
}

func TestCorrelatorRestoreRejectsCorruption(t *testing.T) {
	t.Parallel()
	h := newHarness(t, bruteForce+`---
title: brute force
id: bf
correlation: {type: event_count, rules: [failed], group-by: [User], timespan: 5m, condition: {gte: 3}}
`, sigma.CorrelatorOptions{})
	h.feed(winEvent(0, "EventID", "4625", "User", "a"), winEvent(time.Second, "EventID", "4625", "User", "a"))
	var buf bytes.Buffer
	if err := h.c.Snapshot(&buf); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	flipped := bytes.Clone(good)
	flipped[len(flipped)-5] ^= 1
	cases := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "no header"},
		{"other file", []byte("hello\n{}"), "bad header"},
		{"newer version", bytes.Replace(good, []byte("correlator 1 "), []byte("correlator 2 "), 1), "version \"2\" is not supported"},
		{"truncated", good[:len(good)-10], "checksum mismatch"},
		{"bit flip", flipped, "checksum mismatch"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h2 := newHarness(t, bruteForce+`---
title: brute force
id: bf
correlation: {type: event_count, rules: [failed], group-by: [User], timespan: 5m, condition: {gte: 3}}
`, sigma.CorrelatorOptions{})
			h2.feed(winEvent(0, "EventID", "4625", "User", "z"))
			err := h2.c.Restore(bytes.NewReader(c.in))
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "sigma: restore correlations: ") {
				t.Fatalf("Restore(%s) = %v, want an error containing %q", c.name, err, c.want)
			}
			if s := h2.c.Stats(); s.Groups != 0 {
				t.Errorf("after a failed Restore: %d groups, want an empty state", s.Groups)
			}
		})
	}
}

func FuzzRestore(f *testing.F) {
	yml := bruteForce + `---
title: brute force
id: bf
correlation: {type: event_count, rules: [failed], group-by: [User], timespan: 5m, condition: {gte: 30}}
---
title: spray
id: spray
correlation: {type: value_count, rules: [failed], group-by: [IpAddress], timespan: 5m, condition: {field: User, gte: 30}}
---
title: pair
id: pair
correlation: {type: temporal_ordered, rules: [failed, success], group-by: [User], timespan: 5m}
---
title: any
id: any
correlation: {type: temporal, rules: [failed, success], group-by: [User], timespan: 5m}
---
title: few
id: few
correlation: {type: value_sum, rules: [success], group-by: [User], timespan: 5m, condition: {field: Bytes, lt: 3}}
`
	h := newHarness(f, yml, sigma.CorrelatorOptions{})
	for i := range 6 {
		u := fmt.Sprint("u", i%2)
		h.feed(winEvent(time.Duration(i)*time.Second, "EventID", "4625", "User", u, "IpAddress", fmt.Sprint("10.0.0.", i%3)),
			winEvent(time.Duration(i)*time.Second, "EventID", "4624", "User", u, "Bytes", fmt.Sprint(i)))
	}
	var buf bytes.Buffer
	if err := h.c.Snapshot(&buf); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	// The body alone, with a header whose checksum is right, lets the
	// fuzzer reach the JSON and the checks after it.
	f.Add([]byte("koban-sigma-correlator 1 x\n{}"))
	h = newHarness(f, yml, sigma.CorrelatorOptions{})
	f.Fuzz(func(t *testing.T, data []byte) {
		c, probs := sigma.NewCorrelator(h.rules, sigma.CorrelatorOptions{MaxGroups: 8, MaxValues: 64, MaxEvents: 4})
		if len(probs) > 0 {
			t.Fatal(probs[0])
		}
		h.c, h.got = c, nil
		for _, in := range [][]byte{data, resum(data)} {
			if err := h.c.Restore(bytes.NewReader(in)); err != nil {
				if s := h.c.Stats(); s.Groups != 0 {
					t.Fatalf("failed Restore left %d groups", s.Groups)
				}
				continue
			}
			// What restored must work and save again.
			h.feed(winEvent(0, "EventID", "4625", "User", "u1", "IpAddress", "10.0.0.1"),
				winEvent(time.Second, "EventID", "4624", "User", "u1", "Bytes", "1"))
			h.c.Advance(t0.Add(time.Hour).UnixNano(), h.collect)
			var out bytes.Buffer
			if err := h.c.Snapshot(&out); err != nil {
				t.Fatalf("Snapshot after Restore: %v", err)
			}
			if s := h.c.Stats(); s.Groups > 5*8 {
				t.Fatalf("%d groups, more than MaxGroups per correlation", s.Groups)
			}
		}
	})
}

// resum gives data's body a correct checksum, so that fuzzed bodies get
// past the header.
func resum(data []byte) []byte {
	_, body, ok := bytes.Cut(data, []byte{'\n'})
	if !ok {
		body = data
	}
	return append([]byte(fmt.Sprintf("koban-sigma-correlator 1 %s\n", sha256hex(body))), body...)
}

func BenchmarkObserve(b *testing.B) {
	h := newHarness(b, bruteForce+`---
title: brute force
id: bf
correlation: {type: event_count, rules: [failed], group-by: [User], timespan: 10m, condition: {gte: 20}}
`, sigma.CorrelatorOptions{})
	const users = 10_000
	evs := make([]*event.Event, users)
	for i := range evs {
		evs[i] = winEvent(0, "EventID", "4625", "User", fmt.Sprint("user", i))
	}
	m := sigma.Match{Rule: h.rule("failed")}
	fired := 0
	fn := func(sigma.CorrelationMatch) { fired++ }
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		ev := evs[i%users]
		ev.Time = t0.UnixNano() + int64(i)*int64(time.Millisecond)
		h.c.Observe(m, ev, fn)
	}
	b.StopTimer()
	if b.N >= 20*users && fired == 0 {
		b.Fatal("no correlation fired")
	}
}

func sha256hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
