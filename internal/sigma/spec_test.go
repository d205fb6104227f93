// SPDX-License-Identifier: Apache-2.0

package sigma_test

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/koban-csirt/koban/internal/event"
	"github.com/koban-csirt/koban/internal/sigma"
)

// The examples of the Sigma specification (v2.1, in the shared data), run
// as the specification says they behave.

const corrSpec = "sigma-correlation-rules-specification.md"

// TestSpecFailedLoginsThenSuccess runs the specification's complete example,
// parsed verbatim: ten failed logins then a successful one by the same user
// within ten minutes.
func TestSpecFailedLoginsThenSuccess(t *testing.T) {
	t.Parallel()
	yml := specBlock(t, corrSpec, "### Failed Logins Followed by Successful Login")
	failed := func(at time.Duration, user string) *event.Event {
		return winEvent(at, "EventID", "4625", "User", user)
	}
	success := func(at time.Duration, user string) *event.Event {
		return winEvent(at, "EventID", "4624", "User", user)
	}
	failures := func(start, step time.Duration, n int, user string) []*event.Event {
		var out []*event.Event
		for i := range n {
			out = append(out, failed(start+time.Duration(i)*step, user))
		}
		return out
	}
	cases := []struct {
		name string
		evs  []*event.Event
		want int
	}{
		{"ten failures then success", append(failures(0, 10*time.Second, 10, "alice"), success(2*time.Minute, "alice")), 1},
		{"success as the old id 528", append(failures(0, time.Second, 10, "alice"), winEvent(time.Minute, "EventID", "528", "User", "alice")), 1},
		{"success by another user", append(failures(0, 10*time.Second, 10, "alice"), success(2*time.Minute, "bob")), 0},
		{"failures by two users", append(append(failures(0, 10*time.Second, 5, "alice"), failures(time.Second, 10*time.Second, 5, "bob")...), success(2*time.Minute, "alice")), 0},
		{"only nine failures", append(failures(0, 10*time.Second, 9, "alice"), success(2*time.Minute, "alice")), 0},
		{"failures too slow", append(failures(0, 2*time.Minute, 10, "alice"), success(19*time.Minute, "alice")), 0},
		{"success too late", append(failures(0, time.Second, 10, "alice"), success(9*time.Second+11*time.Minute, "alice")), 0},
		{"wrong order", append([]*event.Event{success(0, "alice")}, failures(time.Second, time.Second, 10, "alice")...), 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, yml, sigma.CorrelatorOptions{})
			h.feed(c.evs...)
			got := h.fired("b180ead8-d58f-40b2-ae54-c8940995b9b6")
			if len(got) != c.want {
				t.Fatalf("%s: the correlation fired %d times, want %d (all matches: %v)", c.name, len(got), c.want, h.got)
			}
			// Only the outermost correlation alerts: the chained event_count
			// and both detection rules are referenced with generate false.
			if len(h.got) != len(got) || len(h.plain) != 0 {
				t.Errorf("%s: other alerts: correlations %d, detection rules %v; want none", c.name, len(h.got)-len(got), h.plain)
			}
			if c.want == 0 {
				return
			}
			m := got[0]
			last := c.evs[len(c.evs)-1]
			if !slices.Equal(m.Group, []string{"alice"}) || m.Count != 2 || m.Last != last.Time || len(m.Events) != 11 || m.Events[10] != last.ID {
				t.Errorf("%s: match %+v, want group [alice], count 2, last at the success, 11 events ending with it", c.name, m)
			}
		})
	}
}

// withTitle gives the specification's fragments (correlation sections
// shown without their rule's title) the title a rule needs.
func withTitle(title, yml string) string {
	if strings.HasPrefix(yml, "title:") {
		return yml
	}
	return "title: " + title + "\nid: " + title + "\n" + yml
}

// detRule is a detection rule for Windows security events.
func detRule(ref, detection string) string {
	idOrName := "name: " + ref
	if len(ref) == 36 && strings.Count(ref, "-") == 4 {
		idOrName = "id: " + ref
	}
	return fmt.Sprintf("---\ntitle: %s\n%s\nlogsource: {product: windows, service: security}\ndetection:\n%s", ref, idOrName, indent(detection, "  "))
}

func indent(s, by string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = by + l
	}
	return strings.Join(lines, "\n") + "\n"
}

func TestSpecEventCount(t *testing.T) {
	t.Parallel()
	yml := specBlock(t, corrSpec, "#### Event Count (event_count)") +
		detRule("5638f7c0-ac70-491d-8465-2a65075e0d86", "sel: {EventID: 4625}\ncondition: sel")
	ev := func(i int, step time.Duration, host string) *event.Event {
		return winEvent(time.Duration(i)*step, "EventID", "4625", "ComputerName", host, "User", fmt.Sprint("u", i))
	}
	cases := []struct {
		name string
		n    int
		step time.Duration
		host func(i int) string
		want int
	}{
		{"100 in an hour on one host", 100, 30 * time.Second, func(int) string { return "dc1" }, 1},
		{"99", 99, 30 * time.Second, func(int) string { return "dc1" }, 0},
		{"100 over two hosts", 100, 30 * time.Second, func(i int) string { return fmt.Sprint("dc", i%2) }, 0},
		{"100 over two hours", 100, 72 * time.Second, func(int) string { return "dc1" }, 0},
		{"250 in an hour", 250, 10 * time.Second, func(int) string { return "dc1" }, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, yml, sigma.CorrelatorOptions{})
			for i := range c.n {
				h.feed(ev(i, c.step, c.host(i)))
			}
			got := h.fired("0e95725d-7320-415d-80f7-004da920fc11")
			if len(got) != c.want {
				t.Fatalf("%s: fired %d times, want %d", c.name, len(got), c.want)
			}
			for _, m := range got {
				if m.Count != 100 || len(m.Events) != sigma.DefaultMaxEvents {
					t.Errorf("%s: count %v with %d events, want 100 with the latest %d", c.name, m.Count, len(m.Events), sigma.DefaultMaxEvents)
				}
			}
		})
	}
}

func TestSpecValueCount(t *testing.T) {
	t.Parallel()
	yml := specBlock(t, corrSpec, "#### Value Count (value_count)") +
		detRule("5638f7c0-ac70-491d-8465-2a65075e0d86", "sel: {EventID: 4625}\ncondition: sel")
	ev := func(i int, user, ws string) *event.Event {
		return winEvent(time.Duration(i)*time.Minute, "EventID", "4625", "ComputerName", "dc1", "WorkstationName", ws, "User", user)
	}
	cases := []struct {
		name  string
		users int // distinct users
		reps  int // events per user
		ws    func(i int) string
		want  int
	}{
		{"100 users", 100, 1, func(int) string { return "ws1" }, 1},
		{"99 users, many attempts", 99, 3, func(int) string { return "ws1" }, 0},
		{"100 users from two workstations", 100, 1, func(i int) string { return fmt.Sprint("ws", i%2) }, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, yml, sigma.CorrelatorOptions{})
			i := 0
			for range c.reps {
				for u := range c.users {
					h.feed(ev(i, fmt.Sprint("user", u), c.ws(u)))
					i++
				}
			}
			got := h.fired("0e95725d-7320-415d-80f7-004da920fc12")
			if len(got) != c.want {
				t.Fatalf("%s: fired %d times, want %d", c.name, len(got), c.want)
			}
			if c.want > 0 && (got[0].Count != 100 || !slices.Equal(got[0].Group, []string{"dc1", "ws1"})) {
				t.Errorf("%s: %+v, want 100 values for [dc1 ws1]", c.name, got[0])
			}
		})
	}
}

const reconRules = `
---
title: recon a
name: recon_cmd_a
logsource: {product: windows, service: security}
detection: {sel: {CommandLine|contains: whoami}, condition: sel}
---
title: recon b
name: recon_cmd_b
logsource: {product: windows, service: security}
detection: {sel: {CommandLine|contains: net user}, condition: sel}
---
title: recon c
name: recon_cmd_c
logsource: {product: windows, service: security}
detection: {sel: {CommandLine|contains: ipconfig}, condition: sel}
`

func TestSpecTemporal(t *testing.T) {
	t.Parallel()
	yml := withTitle("recon", specBlock(t, corrSpec, "#### Temporal Proximity (temporal)")) + reconRules
	cmd := func(at time.Duration, line, user string) *event.Event {
		return winEvent(at, "CommandLine", line, "ComputerName", "pc1", "User", user)
	}
	cases := []struct {
		name string
		evs  []*event.Event
		want int
	}{
		{"c a b", []*event.Event{cmd(0, "ipconfig /all", "u"), cmd(time.Minute, "whoami /priv", "u"), cmd(4*time.Minute, "net user x", "u")}, 1},
		{"a b c", []*event.Event{cmd(0, "whoami", "u"), cmd(time.Minute, "net user", "u"), cmd(2*time.Minute, "ipconfig", "u")}, 1},
		{"a b only", []*event.Event{cmd(0, "whoami", "u"), cmd(time.Minute, "net user", "u"), cmd(2*time.Minute, "whoami", "u")}, 0},
		{"over 6 minutes", []*event.Event{cmd(0, "whoami", "u"), cmd(time.Minute, "ipconfig", "u"), cmd(6*time.Minute, "net user", "u")}, 0},
		{"two users", []*event.Event{cmd(0, "whoami", "u"), cmd(time.Minute, "ipconfig", "u"), cmd(2*time.Minute, "net user", "v")}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, yml, sigma.CorrelatorOptions{})
			h.feed(c.evs...)
			if got := h.fired("recon"); len(got) != c.want {
				t.Fatalf("%s: fired %d times, want %d", c.name, len(got), c.want)
			}
		})
	}
}

func TestSpecTemporalOrdered(t *testing.T) {
	t.Parallel()
	block := specBlock(t, corrSpec, "#### Ordered Temporal Proximity (temporal_ordered)")
	rules := `
---
title: many failed logins
name: many_failed_logins
correlation: {type: event_count, rules: [failed], group-by: [User], timespan: 1h, condition: {gte: 3}}
---
title: failed
name: failed
logsource: {product: windows, service: security}
detection: {sel: {EventID: 4625}, condition: sel}
---
title: success
name: successful_login
logsource: {product: windows, service: security}
detection: {sel: {EventID: 4624}, condition: sel}
`
	ev := func(at time.Duration, id string) *event.Event {
		return winEvent(at, "EventID", id, "User", "u", "ComputerName", fmt.Sprint("pc", at))
	}
	inOrder := []*event.Event{ev(0, "4625"), ev(time.Minute, "4625"), ev(2*time.Minute, "4625"), ev(3*time.Minute, "4624")}
	reversed := []*event.Event{ev(0, "4624"), ev(time.Minute, "4625"), ev(2*time.Minute, "4625"), ev(3*time.Minute, "4625")}
	for _, c := range []struct {
		name, typ string
		evs       []*event.Event
		want      int
	}{
		{"ordered, in order", "temporal_ordered", inOrder, 1},
		{"ordered, reversed", "temporal_ordered", reversed, 0},
		{"unordered, reversed", "temporal", reversed, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			yml := withTitle("ordered", strings.Replace(block, "temporal_ordered", c.typ, 1)) + rules
			h := newHarness(t, yml, sigma.CorrelatorOptions{})
			h.feed(c.evs...)
			if got := h.fired("ordered"); len(got) != c.want {
				t.Fatalf("%s: fired %d times, want %d", c.name, len(got), c.want)
			}
		})
	}
}

func TestSpecValueSumAndAvg(t *testing.T) {
	t.Parallel()
	web := func(ref string) string {
		return detRule(ref, "sel: {EventID: 5156}\ncondition: sel")
	}
	access := func(at time.Duration, user, field, n string) *event.Event {
		return winEvent(at, "EventID", "5156", "SourceIP", "10.0.0.9", "User", user, field, n)
	}
	sum := specBlock(t, corrSpec, "#### Value Sum (value_sum)") + web("website_access")
	avg := specBlock(t, corrSpec, "#### Value Average (value_avg)") + strings.Replace(web("rule_a_id"), "name: rule_a_id", "id: rule_a_id", 1)
	cases := []struct {
		name, yml, title string
		evs              []*event.Event
		want             float64 // 0: no match
	}{
		{"sum over", sum, "Possible Exfiltration to Website", []*event.Event{access(0, "u", "bytes_sent", "600000"), access(time.Minute, "u", "bytes_sent", "500000")}, 1100000},
		{"sum equal is not greater", sum, "Possible Exfiltration to Website", []*event.Event{access(0, "u", "bytes_sent", "600000"), access(time.Minute, "u", "bytes_sent", "400000")}, 0},
		{"sum over two users", sum, "Possible Exfiltration to Website", []*event.Event{access(0, "u", "bytes_sent", "600000"), access(time.Minute, "v", "bytes_sent", "500000")}, 0},
		{"sum over two hours", sum, "Possible Exfiltration to Website", []*event.Event{access(0, "u", "bytes_sent", "600000"), access(2*time.Hour, "u", "bytes_sent", "500000")}, 0},
		{"avg over", avg, "Suspicious average network traffic", []*event.Event{access(0, "u", "BytesOut", "400"), access(time.Hour, "u", "BytesOut", "700")}, 550},
		{"avg under", avg, "Suspicious average network traffic", []*event.Event{access(0, "u", "BytesOut", "400"), access(time.Hour, "u", "BytesOut", "500")}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, c.yml, sigma.CorrelatorOptions{})
			h.feed(c.evs...)
			h.c.Advance(t0.Add(48*time.Hour).UnixNano(), h.collect)
			var got []float64
			for _, m := range h.got {
				if m.Rule.Title == c.title {
					got = append(got, m.Count)
				}
			}
			var want []float64
			if c.want != 0 {
				want = []float64{c.want}
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s: fired with %v, want %v", c.name, got, want)
			}
		})
	}
}

func TestSpecValuePercentileUnsupported(t *testing.T) {
	t.Parallel()
	yml := specBlock(t, corrSpec, "#### Value Percentile (value_percentile)") + detRule("process_creation", "sel: {EventID: 1}\ncondition: sel")
	rules, probs := sigma.Parse("p.yml", []byte(yml))
	if len(probs) > 0 {
		t.Fatal(probs[0])
	}
	c, probs := sigma.NewCorrelator(rules, sigma.CorrelatorOptions{})
	if len(probs) != 1 || !probs[0].Unsupported || c.Len() != 0 {
		t.Fatalf("value_percentile: problems %v, %d correlations; want one unsupported problem and none evaluated", probs, c.Len())
	}
	if c.Silent(rules[1]) {
		t.Errorf("the rule of an unsupported correlation is silent; it should still alert")
	}
}

func TestSpecFieldNameAliases(t *testing.T) {
	t.Parallel()
	ls := "title: %s\nlogsource: {product: windows, service: security}\n"
	yml := specBlock(t, corrSpec, "The correlation rule") +
		"---\n" + fmt.Sprintf(ls, "internal error") + specBlock(t, corrSpec, "Rule internal_error") +
		"---\n" + fmt.Sprintf(ls, "new connection") + specBlock(t, corrSpec, "Rule new_network_connection")
	httpErr := func(at time.Duration, src, dst string) *event.Event {
		return winEvent(at, "http.response.status_code", "500", "source.ip", src, "destination.ip", dst)
	}
	conn := func(at time.Duration, src, dst string) *event.Event {
		return winEvent(at, "event.category", "network", "event.type", "connection", "event.outcome", "success", "source.ip", src, "destination.ip", dst)
	}
	cases := []struct {
		name string
		evs  []*event.Event
		want int
	}{
		{"error then connection back", []*event.Event{httpErr(0, "203.0.113.7", "10.0.0.5"), conn(5*time.Second, "10.0.0.5", "203.0.113.7")}, 1},
		{"connection then error", []*event.Event{conn(0, "10.0.0.5", "203.0.113.7"), httpErr(5*time.Second, "203.0.113.7", "10.0.0.5")}, 1},
		{"same direction", []*event.Event{httpErr(0, "203.0.113.7", "10.0.0.5"), conn(5*time.Second, "203.0.113.7", "10.0.0.5")}, 0},
		{"other address", []*event.Event{httpErr(0, "203.0.113.7", "10.0.0.5"), conn(5*time.Second, "10.0.0.6", "203.0.113.7")}, 0},
		{"11 seconds apart", []*event.Event{httpErr(0, "203.0.113.7", "10.0.0.5"), conn(11*time.Second, "10.0.0.5", "203.0.113.7")}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, yml, sigma.CorrelatorOptions{})
			h.feed(c.evs...)
			got := h.fired("—")
			if len(got) != c.want {
				t.Fatalf("%s: fired %d times, want %d", c.name, len(got), c.want)
			}
			if c.want > 0 && !slices.Equal(got[0].Group, []string{"10.0.0.5", "203.0.113.7"}) {
				t.Errorf("%s: group %q, want [internal_ip remote_ip] = [10.0.0.5 203.0.113.7]", c.name, got[0].Group)
			}
		})
	}
}

// TestSpecRangeCondition runs the specification's "101 to 200" condition
// on an event_count: it is decided when the window closes.
func TestSpecRangeCondition(t *testing.T) {
	t.Parallel()
	cond := specBlock(t, corrSpec, `Example "101 to 200":`)
	yml := "title: range\nid: range\ncorrelation:\n  type: event_count\n  rules: [failed]\n  group-by: [User]\n  timespan: 1h\n" +
		indent(cond, "  ") + "---" + bruteForce
	for _, c := range []struct {
		n    int
		want bool
	}{{100, false}, {101, true}, {150, true}, {200, true}, {201, false}, {250, false}} {
		t.Run(fmt.Sprint(c.n), func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, yml, sigma.CorrelatorOptions{})
			for i := range c.n {
				h.feed(winEvent(time.Duration(i)*time.Second, "EventID", "4625", "User", "u"))
			}
			if n := len(h.fired("range")); n != 0 {
				t.Fatalf("%d events: fired %d times before the window closed, want 0", c.n, n)
			}
			// An event an hour later closes the window.
			h.feed(winEvent(2*time.Hour, "EventID", "4625", "User", "other"))
			got := h.fired("range")
			if (len(got) == 1 && got[0].Count == float64(c.n)) != c.want || len(got) > 1 {
				t.Errorf("%d events with gt 100, lte 200: matches %+v, want match %v", c.n, got, c.want)
			}
		})
	}
}

// detectionCase is one example of the rules specification or the modifiers
// appendix: a detection section and whether it matches an event.
type detectionCase struct {
	name      string
	detection string
	fields    []string // name, value pairs
	want      bool
}

func runDetectionCases(t *testing.T, cases []detectionCase, o sigma.Options) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			yml := "title: case\nid: case\nlogsource: {product: windows, service: security}\ndetection:\n" + indent(c.detection, "  ")
			rules, probs := sigma.Parse("case.yml", []byte(yml))
			if len(probs) > 0 {
				t.Fatalf("Parse(%q): %v", c.detection, probs[0])
			}
			rs, probs := sigma.Compile(rules, o)
			if len(probs) > 0 {
				t.Fatalf("Compile(%q): %v", c.detection, probs[0])
			}
			ev := winEvent(0, c.fields...)
			got := false
			rs.NewMatcher().Match(ev, func(sigma.Match) { got = true })
			if got != c.want {
				t.Errorf("detection\n%s\non %q: matched %v, want %v", c.detection, c.fields, got, c.want)
			}
		})
	}
}

func TestSpecDetectionLists(t *testing.T) {
	t.Parallel()
	keywords := "keywords:\n  - 'EVILSERVICE'\n  - 'svchost.exe -n evil'\ncondition: keywords"
	listOfMaps := "selection:\n  - Image|endswith: '\\\\example.exe'\n  - Description|contains: 'Test executable'\ncondition: selection"
	eventLog := "selection:\n  EventLog: Security\n  EventID:\n    - 517\n    - 1102\ncondition: selection"
	ticket := "selection:\n  EventLog: Security\n  EventID: 4769\n  TicketOptions: '0x40810000'\n  TicketEncryption: '0x17'\ncondition: selection"
	runDetectionCases(t, []detectionCase{
		{"keyword in a field", keywords, []string{"Message", "Service EvilService installed"}, true},
		{"keyword, second", keywords, []string{"CommandLine", "svchost.exe -n evil"}, true},
		{"keyword absent", keywords, []string{"Message", "Service installed"}, false},
		{"list of maps, first", listOfMaps, []string{"Image", `C:\temp\example.exe`}, true},
		{"list of maps, second", listOfMaps, []string{"Description", "a test executable"}, true},
		{"list of maps, neither", listOfMaps, []string{"Image", `C:\temp\example.exe.bak`, "Description", "test"}, false},
		{"map and list", eventLog, []string{"EventLog", "Security", "EventID", "1102"}, true},
		{"map and list, other id", eventLog, []string{"EventLog", "Security", "EventID", "4624"}, false},
		{"map, one field missing", eventLog, []string{"EventID", "517"}, false},
		{"map of four", ticket, []string{"EventLog", "Security", "EventID", "4769", "TicketOptions", "0x40810000", "TicketEncryption", "0x17"}, true},
		{"map of four, one differs", ticket, []string{"EventLog", "Security", "EventID", "4769", "TicketOptions", "0x40810000", "TicketEncryption", "0x12"}, false},
		{"case-insensitive", "sel: {User: 'ADMIN'}\ncondition: sel", []string{"User", "admin"}, true},
		{"exact, not contains", "sel: {User: admin}\ncondition: sel", []string{"User", "administrator"}, false},
	}, sigma.Options{})
}

func TestSpecDetectionWildcardsAndEscapes(t *testing.T) {
	t.Parallel()
	runDetectionCases(t, []detectionCase{
		{"? one character", "sel: {Image: 'prog?.exe'}\ncondition: sel", []string{"Image", "progA.exe"}, true},
		{"? not zero", "sel: {Image: 'prog?.exe'}\ncondition: sel", []string{"Image", "prog.exe"}, false},
		{"? not two", "sel: {Image: 'prog?.exe'}\ncondition: sel", []string{"Image", "progAB.exe"}, false},
		{"* any", "sel: {Image: 'antivirus_V*.exe'}\ncondition: sel", []string{"Image", "antivirus_V21.2.1.exe"}, true},
		{"* empty", "sel: {Image: 'antivirus_V*.exe'}\ncondition: sel", []string{"Image", "antivirus_V.exe"}, true},
		{"leading *", "sel: {Image: '*\\cmd.exe'}\ncondition: sel", []string{"Image", `C:\Windows\System32\cmd.exe`}, true},
		{`\* is a star`, `sel: {Name: 'a\*b'}` + "\ncondition: sel", []string{"Name", "a*b"}, true},
		{`\* is not a wildcard`, `sel: {Name: 'a\*b'}` + "\ncondition: sel", []string{"Name", "axxb"}, false},
		{`\? is a question mark`, `sel: {Name: 'what\?'}` + "\ncondition: sel", []string{"Name", "what?"}, true},
		{`\? is not a wildcard`, `sel: {Name: 'what\?'}` + "\ncondition: sel", []string{"Name", "whatx"}, false},
		{`\\* is backslash then wildcard`, `sel: {Path: 'C:\\*'}` + "\ncondition: sel", []string{"Path", `C:\Windows`}, true},
		{`\\* needs the backslash`, `sel: {Path: 'C:\\*'}` + "\ncondition: sel", []string{"Path", "C:Windows"}, false},
		{`\\\* is backslash and star`, `sel: {Name: 'a\\\*'}` + "\ncondition: sel", []string{"Name", `a\*`}, true},
		{`\\\* is not a wildcard`, `sel: {Name: 'a\\\*'}` + "\ncondition: sel", []string{"Name", `a\xyz`}, false},
		{`\\\\ is two backslashes`, `sel: {Name: 'a\\\\b'}` + "\ncondition: sel", []string{"Name", `a\\b`}, true},
		{`\\\\ is not one backslash`, `sel: {Name: 'a\\\\b'}` + "\ncondition: sel", []string{"Name", `a\b`}, false},
		{`\\ alone is one backslash`, `sel: {Name: 'a\\b'}` + "\ncondition: sel", []string{"Name", `a\b`}, true},
		{`single \ is plain`, `sel: {Image: 'C:\Windows\System32\x.exe'}` + "\ncondition: sel", []string{"Image", `c:\windows\system32\X.EXE`}, true},
		{"wildcard case-insensitive", "sel: {Image: '*\\POWERSHELL.exe'}\ncondition: sel", []string{"Image", `C:\x\powershell.EXE`}, true},
	}, sigma.Options{})
}

func TestSpecDetectionNullAndEmpty(t *testing.T) {
	t.Parallel()
	notNull := "selection:\n  EventID: 4738\nfilter:\n  PasswordLastSet: null\ncondition: selection and not filter"
	emptyOrNull := "selection_main:\n  FieldA: 'something'\nselection_empty1:\n  FieldB: ''\nselection_empty2:\n  FieldB: null\ncondition: selection_main and 1 of selection_empty*"
	exists := "selection:\n  EventID: 4738\n  PasswordLastSet|exists: true\ncondition: selection"
	runDetectionCases(t, []detectionCase{
		{"not null, set", notNull, []string{"EventID", "4738", "PasswordLastSet", "2024-06-01"}, true},
		{"not null, absent", notNull, []string{"EventID", "4738"}, false},
		{"empty value", emptyOrNull, []string{"FieldA", "something", "FieldB", ""}, true},
		{"null value (absent)", emptyOrNull, []string{"FieldA", "something"}, true},
		{"neither empty nor null", emptyOrNull, []string{"FieldA", "something", "FieldB", "x"}, false},
		{"exists, set", exists, []string{"EventID", "4738", "PasswordLastSet", "x"}, true},
		{"exists, empty value", exists, []string{"EventID", "4738", "PasswordLastSet", ""}, true},
		{"exists, absent", exists, []string{"EventID", "4738"}, false},
		{"exists false, absent", "sel:\n  A|exists: false\ncondition: sel", []string{"B", "1"}, true},
		{"exists false, set", "sel:\n  A|exists: false\ncondition: sel", []string{"A", "1"}, false},
	}, sigma.Options{})

	// The specification's invalid example: null in a list of values.
	invalid := "title: x\nlogsource: {product: windows}\ndetection:\n  selection_main:\n    FieldA: 'something'\n    FieldB:\n      - ''\n      - null\n  condition: selection_main\n"
	rules, probs := sigma.Parse("x.yml", []byte(invalid))
	if len(probs) == 0 {
		_, probs = sigma.Compile(rules, sigma.Options{})
	}
	if len(probs) == 0 {
		t.Errorf("null in a list of values: no problem, want the rule rejected")
	}
}

func TestSpecDetectionKeywordsAll(t *testing.T) {
	t.Parallel()
	all := "keywords_cmdlet:\n  '|all':\n    - 'OabVirtualDirectory'\n    - ' -ExternalUrl '\ncondition: keywords_cmdlet"
	runDetectionCases(t, []detectionCase{
		{"both keywords", all, []string{"Payload", "Set-OabVirtualDirectory -ExternalUrl https://x"}, true},
		{"both keywords in two fields", all, []string{"A", "Set-OabVirtualDirectory", "B", "x -ExternalUrl y"}, true},
		{"one keyword", all, []string{"Payload", "Set-OabVirtualDirectory -InternalUrl https://x"}, false},
	}, sigma.Options{})
}

func TestSpecDetectionConditions(t *testing.T) {
	t.Parallel()
	abc := "a: {A: 1}\nb: {B: 1}\nc: {C: 1}\n"
	runDetectionCases(t, []detectionCase{
		{"or", abc + "condition: a or b", []string{"B", "1"}, true},
		{"and", abc + "condition: a and b", []string{"B", "1"}, false},
		{"and precedes or", abc + "condition: a or b and c", []string{"A", "1"}, true},
		{"and precedes or, right", abc + "condition: a or b and c", []string{"B", "1"}, false},
		{"not precedes and", abc + "condition: not a and b", []string{"B", "1"}, true},
		{"not precedes and, both", abc + "condition: not a and b", []string{"A", "1", "B", "1"}, false},
		{"parentheses", abc + "condition: (a or b) and c", []string{"A", "1"}, false},
		{"parentheses, with c", abc + "condition: (a or b) and c", []string{"A", "1", "C", "1"}, true},
		{"not parentheses", abc + "condition: not (a or b)", []string{"C", "1"}, true},
		{"1 of them", abc + "condition: 1 of them", []string{"C", "1"}, true},
		{"1 of them skips _", "a: {A: 1}\n_x: {X: 1}\ncondition: 1 of them", []string{"X", "1"}, false},
		{"all of them skips _", "a: {A: 1}\nb: {B: 1}\n_x: {X: 1}\ncondition: all of them", []string{"A", "1", "B", "1"}, true},
		{"all of them", abc + "condition: all of them", []string{"A", "1", "B", "1"}, false},
		{"1 of pattern", "selection1: {A: 1}\nselection2: {B: 1}\nfilter: {C: 1}\ncondition: 1 of selection*", []string{"B", "1"}, true},
		{"1 of pattern, not others", "selection1: {A: 1}\nselection2: {B: 1}\nfilter: {C: 1}\ncondition: 1 of selection*", []string{"C", "1"}, false},
		{"all of pattern", "selection1: {A: 1}\nselection2: {B: 1}\ncondition: all of selection*", []string{"A", "1"}, false},
		{"1 of pattern and keywords", "selection1: {A: 1}\nkeywords: [evil]\ncondition: 1 of selection* and keywords", []string{"A", "1", "M", "so evil"}, true},
		{"1 of pattern and not 1 of filters", "selection1: {A: 1}\nfilter1: {B: 1}\nfilter2: {C: 1}\ncondition: 1 of selection* and not 1 of filter*", []string{"A", "1", "C", "1"}, false},
		{"1 of pattern and not 1 of filters, clean", "selection1: {A: 1}\nfilter1: {B: 1}\nfilter2: {C: 1}\ncondition: 1 of selection* and not 1 of filter*", []string{"A", "1"}, true},
		{"condition list is or", abc + "condition:\n  - a\n  - c", []string{"C", "1"}, true},
		{"pattern in the middle", "sel_a_x: {A: 1}\nsel_b_x: {B: 1}\ncondition: all of sel_*_x", []string{"A", "1", "B", "1"}, true},
	}, sigma.Options{})
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func utf16LE(s string) string {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u), byte(u>>8))
	}
	return string(b)
}

func utf16BE(s string) string {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u>>8), byte(u))
	}
	return string(b)
}

func TestSpecModifiers(t *testing.T) {
	t.Parallel()
	sel := func(pred string) string { return "sel:\n  " + pred + "\ncondition: sel" }
	cases := []detectionCase{
		{"contains", sel("CommandLine|contains: 'mimikatz'"), []string{"CommandLine", "run MimiKatz.exe"}, true},
		{"contains, absent", sel("CommandLine|contains: 'mimikatz'"), []string{"CommandLine", "run mimi.exe"}, false},
		{"startswith", sel("User|startswith: 'adm'"), []string{"User", "ADM_bob"}, true},
		{"startswith, not inside", sel("User|startswith: 'adm'"), []string{"User", "x_adm"}, false},
		{"endswith", sel("Image|endswith: '\\cmd.exe'"), []string{"Image", `C:\Windows\cmd.exe`}, true},
		{"endswith, not start", sel("Image|endswith: '\\cmd.exe'"), []string{"Image", `\cmd.exe.bak`}, false},
		{"list is or", sel("CommandLine|contains: ['-a', '-b']"), []string{"CommandLine", "x -b"}, true},
		{"all", sel("CommandLine|contains|all: ['-a', '-b']"), []string{"CommandLine", "x -b -a"}, true},
		{"all, one missing", sel("CommandLine|contains|all: ['-a', '-b']"), []string{"CommandLine", "x -b"}, false},
		{"re is case-sensitive", sel("Name|re: 'Foo.*bar'"), []string{"Name", "foo bar"}, false},
		{"re", sel("Name|re: 'Foo.*bar'"), []string{"Name", "xFoo bar"}, true},
		{"re|i", sel("Name|re|i: 'Foo.*bar'"), []string{"Name", "foo BAR"}, true},
		{"re without m", sel("Name|re: '^bar$'"), []string{"Name", "foo\nbar"}, false},
		{"re|m", sel("Name|re|m: '^bar$'"), []string{"Name", "foo\nbar"}, true},
		{"re without s", sel("Name|re: 'foo.bar'"), []string{"Name", "foo\nbar"}, false},
		{"re|s", sel("Name|re|s: 'foo.bar'"), []string{"Name", "foo\nbar"}, true},
		{"base64", sel("Payload|base64: 'hello'"), []string{"Payload", b64("hello")}, true},
		{"base64 is exact", sel("Payload|base64: 'hello'"), []string{"Payload", b64("hello world")}, false},
		{"base64|contains", sel("Payload|base64|contains: 'hello'"), []string{"Payload", "x" + b64("hello") + "y"}, true},
		{"base64offset 0", sel("CommandLine|base64offset|contains: 'http://'"), []string{"CommandLine", "-enc " + b64("http://evil")}, true},
		{"base64offset 1", sel("CommandLine|base64offset|contains: 'http://'"), []string{"CommandLine", "-enc " + b64("ahttp://evil")}, true},
		{"base64offset 2", sel("CommandLine|base64offset|contains: 'http://'"), []string{"CommandLine", "-enc " + b64("abhttp://evil")}, true},
		{"base64offset absent", sel("CommandLine|base64offset|contains: 'http://'"), []string{"CommandLine", "-enc " + b64("ftp://evil")}, false},
		{"utf16le", sel("Data|utf16le|contains: 'cmd'"), []string{"Data", "x" + utf16LE("cmd") + "y"}, true},
		{"wide", sel("Data|wide|base64offset|contains: 'calc'"), []string{"Data", b64(utf16LE("run calc"))}, true},
		{"utf16le|base64offset", sel("Data|utf16le|base64offset|contains: 'calc'"), []string{"Data", b64(utf16LE("xcalc"))}, true},
		{"utf16be|base64offset", sel("Data|utf16be|base64offset|contains: 'calc'"), []string{"Data", b64(utf16BE("xxcalc"))}, true},
		{"utf16le is not be", sel("Data|utf16le|base64offset|contains: 'calc'"), []string{"Data", b64(utf16BE("calc"))}, false},
		{"utf16 with BOM", sel("Data|utf16|base64: 'cmd'"), []string{"Data", b64("\xff\xfe" + utf16LE("cmd"))}, true},
		{"windash -", sel("CommandLine|windash|contains: ' -encodedcommand'"), []string{"CommandLine", "powershell -encodedcommand x"}, true},
		{"windash /", sel("CommandLine|windash|contains: ' -encodedcommand'"), []string{"CommandLine", "powershell /encodedcommand x"}, true},
		{"windash en dash", sel("CommandLine|windash|contains: ' -encodedcommand'"), []string{"CommandLine", "powershell –encodedcommand x"}, true},
		{"windash em dash", sel("CommandLine|windash|contains: ' -encodedcommand'"), []string{"CommandLine", "powershell —encodedcommand x"}, true},
		{"windash horizontal bar", sel("CommandLine|windash|contains: ' -encodedcommand'"), []string{"CommandLine", "powershell ―encodedcommand x"}, true},
		{"windash other", sel("CommandLine|windash|contains: ' -encodedcommand'"), []string{"CommandLine", "powershell +encodedcommand x"}, false},
		{"cidr", sel("DestinationIp|cidr: 10.0.0.0/8"), []string{"DestinationIp", "10.1.2.3"}, true},
		{"cidr outside", sel("DestinationIp|cidr: 10.0.0.0/8"), []string{"DestinationIp", "11.0.0.1"}, false},
		{"cidr IPv6", sel("DestinationIp|cidr: 'fe80::/10'"), []string{"DestinationIp", "fe80::1"}, true},
		{"cidr not an address", sel("DestinationIp|cidr: 10.0.0.0/8"), []string{"DestinationIp", "10.x"}, false},
		{"fieldref", sel("SourceUser|fieldref: TargetUser"), []string{"SourceUser", "bob", "TargetUser", "bob"}, true},
		{"fieldref differs", sel("SourceUser|fieldref: TargetUser"), []string{"SourceUser", "bob", "TargetUser", "alice"}, false},
		{"fieldref neq", sel("SourceUser|fieldref|neq: TargetUser"), []string{"SourceUser", "bob", "TargetUser", "alice"}, true},
		{"fieldref neq, same", sel("SourceUser|fieldref|neq: TargetUser"), []string{"SourceUser", "bob", "TargetUser", "bob"}, false},
		{"cased", sel("User|cased: 'Admin'"), []string{"User", "Admin"}, true},
		{"cased, other case", sel("User|cased: 'Admin'"), []string{"User", "admin"}, false},
		{"cased contains", sel("CommandLine|cased|contains: 'EVIL'"), []string{"CommandLine", "so evil"}, false},
		{"gt", sel("Count|gt: 10"), []string{"Count", "11"}, true},
		{"gt equal", sel("Count|gt: 10"), []string{"Count", "10"}, false},
		{"gte", sel("Count|gte: 10"), []string{"Count", "10"}, true},
		{"lt", sel("Count|lt: 10"), []string{"Count", "9.5"}, true},
		{"lt equal", sel("Count|lt: 10"), []string{"Count", "10"}, false},
		{"lte", sel("Count|lte: 10"), []string{"Count", "10"}, true},
		{"gt not a number", sel("Count|gt: 10"), []string{"Count", "many"}, false},
		{"neq", sel("User|neq: admin"), []string{"User", "bob"}, true},
		{"neq is case-insensitive", sel("User|neq: admin"), []string{"User", "ADMIN"}, false},
		{"neq number", sel("EventID|neq: 4624"), []string{"EventID", "4625"}, true},
		{"neq list", sel("EventID|neq: [4624, 4625]"), []string{"EventID", "4625"}, false},
		{"minute", sel("Timestamp|minute: 30"), []string{"Timestamp", "2024-06-16T09:30:15Z"}, true},
		{"hour", sel("Timestamp|hour: 9"), []string{"Timestamp", "2024-06-16T09:30:15Z"}, true},
		{"hour, other", sel("Timestamp|hour: 10"), []string{"Timestamp", "2024-06-16T09:30:15Z"}, false},
		{"day", sel("Timestamp|day: 16"), []string{"Timestamp", "2024-06-16T09:30:15Z"}, true},
		{"week", sel("Timestamp|week: 24"), []string{"Timestamp", "2024-06-16T09:30:15Z"}, true},
		{"month", sel("Timestamp|month: 6"), []string{"Timestamp", "2024-06-16T09:30:15Z"}, true},
		{"year", sel("Timestamp|year: 2024"), []string{"Timestamp", "2024-06-16T09:30:15Z"}, true},
		{"hour gte", sel("Timestamp|hour|gte: 22"), []string{"Timestamp", "2024-06-16T23:00:00Z"}, true},
		{"hour gte, earlier", sel("Timestamp|hour|gte: 22"), []string{"Timestamp", "2024-06-16T21:59:00Z"}, false},
		{"placeholder without expand is literal", sel("User: '%Administrators%'"), []string{"User", "%administrators%"}, true},
	}
	runDetectionCases(t, cases, sigma.Options{})

	expand := []detectionCase{
		{"expand", sel("User|expand: '%Administrators%'"), []string{"User", "admin"}, true},
		{"expand, wildcard value", sel("User|expand: '%Administrators%'"), []string{"User", "rootkit"}, true},
		{"expand, other", sel("User|expand: '%Administrators%'"), []string{"User", "bob"}, false},
		{"expand, escaped percent", sel(`User|expand: '\%plain%name%'`), []string{"User", "%plainx"}, true},
		{"expand, escaped percent is not a placeholder", sel(`User|expand: '\%plain%name%'`), []string{"User", "plainx"}, false},
	}
	runDetectionCases(t, expand, sigma.Options{Placeholders: map[string][]string{"Administrators": {"admin", "root*"}, "name": {"x"}}})
}

// TestSpecFilter runs the filters specification's example, verbatim, with
// pySigma's meaning (rule and filter condition), and the same filter
// written as an exclusion.
func TestSpecFilter(t *testing.T) {
	t.Parallel()
	filter := specBlock(t, "sigma-filters-specification.md", "## Examples")
	rule := `---
title: Data Compressed - rar.exe
id: 6f3e2987-db24-4c78-a860-b4f4095a7095
logsource: {category: process_creation, product: windows}
detection: {sel: {Image|endswith: '\rar.exe'}, condition: sel}
---
title: Other
id: 11111111-2222-3333-4444-555555555555
logsource: {category: process_creation, product: windows}
detection: {sel: {Image|endswith: '\rar.exe'}, condition: sel}
`
	proc := func(user string) *event.Event {
		ev := winEvent(0, "Image", `C:\bin\rar.exe`, "User", user)
		ev.Log = event.LogSource{Product: "windows", Category: "process_creation"}
		return ev
	}
	for _, c := range []struct {
		name, filter string
		want         map[string][]string // user → rule ids matching
	}{
		{"as written", filter, map[string][]string{
			"adm_bob": {"6f3e2987-db24-4c78-a860-b4f4095a7095", "11111111-2222-3333-4444-555555555555"},
			"alice":   {"11111111-2222-3333-4444-555555555555"},
		}},
		{"as an exclusion", strings.Replace(filter, "condition: selection", "condition: not selection", 1), map[string][]string{
			"adm_bob": {"11111111-2222-3333-4444-555555555555"},
			"alice":   {"6f3e2987-db24-4c78-a860-b4f4095a7095", "11111111-2222-3333-4444-555555555555"},
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			rules, probs := sigma.Parse("f.yml", []byte(c.filter+rule))
			if len(probs) > 0 {
				t.Fatal(probs[0])
			}
			rs, probs := sigma.Compile(rules, sigma.Options{})
			if len(probs) > 0 {
				t.Fatal(probs[0])
			}
			m := rs.NewMatcher()
			for user, want := range c.want {
				var got []string
				m.Match(proc(user), func(x sigma.Match) { got = append(got, x.Rule.ID) })
				slices.Sort(got)
				slices.Sort(want)
				if !slices.Equal(got, want) {
					t.Errorf("%s, user %s: matched %v, want %v", c.name, user, got, want)
				}
			}
		})
	}
}

// TestSpecRejected: what the specification says a tool must not accept.
func TestSpecRejected(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, detection string
		o               sigma.Options
	}{
		// "Single item values are not allowed to have an all modifier."
		{"all with one value", "sel: {CommandLine|contains|all: 'x'}\ncondition: sel", sigma.Options{}},
		// "If the tool isn't able to handle placeholders, it must reject the rule."
		{"placeholder without a value", "sel: {User|expand: '%Servers%'}\ncondition: sel", sigma.Options{}},
		{"null in a list", "sel: {A: ['', null]}\ncondition: sel", sigma.Options{}},
		{"exists needs a boolean", "sel: {A|exists: 'yes'}\ncondition: sel", sigma.Options{}},
		{"unknown modifier", "sel: {A|sortof: x}\ncondition: sel", sigma.Options{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			yml := "title: case\nid: case\nlogsource: {product: windows}\ndetection:\n" + indent(c.detection, "  ")
			rules, probs := sigma.Parse("case.yml", []byte(yml))
			if len(probs) == 0 {
				var rs *sigma.Ruleset
				rs, probs = sigma.Compile(rules, c.o)
				if len(probs) == 0 && rs.Len() != 0 {
					t.Errorf("%s: the rule parsed and compiled, want it rejected with a problem", c.name)
				}
			}
		})
	}
}
