// SPDX-License-Identifier: Apache-2.0

package detect_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/koban-csirt/koban/internal/detect"
	"github.com/koban-csirt/koban/internal/detect/baseline"
	"github.com/koban-csirt/koban/internal/event"
	"github.com/koban-csirt/koban/internal/intake"
	"github.com/koban-csirt/koban/internal/intel"
	"github.com/koban-csirt/koban/internal/normalize"
	"github.com/koban-csirt/koban/internal/sigma"
)

// whoamiRule is a generic process_creation rule written as SigmaHQ writes
// them.
const whoamiRule = `
title: Whoami With All Switch
id: 0a6fc4a4-2a2b-4dfe-9cb0-4b41a46a3f31
status: test
level: high
tags: [attack.discovery, attack.t1033]
logsource: {category: process_creation, product: windows}
detection:
  selection_img:
    - Image|endswith: '\whoami.exe'
    - OriginalFileName: 'whoami.exe'
  selection_cli:
    CommandLine|contains|windash: ' -all'
  condition: all of selection_*
`

const auditdRule = `
title: Arp Cache Read
id: 8f3e4a2b-7a51-4b9e-a0d6-5c1f9c2e7d11
status: test
level: low
logsource: {product: linux, service: auditd}
detection:
  selection: {type: EXECVE, a0: arp, a1: '-a'}
  condition: selection
`

func compile(t *testing.T, o sigma.Options, docs ...string) *detect.Rules {
	t.Helper()
	var rules []*sigma.Rule
	for _, d := range docs {
		rs, probs := sigma.Parse("test.yml", []byte(d))
		if len(probs) > 0 {
			t.Fatal(probs[0])
		}
		rules = append(rules, rs...)
	}
	o.Applies = normalize.Matches
	set, probs := sigma.Compile(rules, o)
	if len(probs) > 0 {
		t.Fatal(probs[0])
	}
	return &detect.Rules{Set: set}
}

// kv builds an event as an importer does, then normalises it.
func kv(product string, pairs ...string) event.Event {
	var ev event.Event
	ev.Log.Product = product
	ev.Time = time.Date(2026, 11, 20, 1, 2, 3, 0, time.UTC).UnixNano()
	for i := 0; i+1 < len(pairs); i += 2 {
		ev.Add(pairs[i], pairs[i+1])
	}
	normalize.New().Event(&ev)
	return ev
}

// fromJSON builds an event as the HTTP intake does, then normalises it.
func fromJSON(t *testing.T, doc string) event.Event {
	t.Helper()
	var ev event.Event
	if err := intake.FromJSON([]byte(doc), &ev); err != nil {
		t.Fatal(err)
	}
	normalize.New().Event(&ev)
	return ev
}

func detections(d *detect.Detector, evs ...event.Event) []detect.Detection {
	var out []detect.Detection
	for i := range evs {
		d.Event(&evs[i], func(x detect.Detection) { out = append(out, x) })
	}
	return out
}

// TestSameRuleEverySource: one SigmaHQ-style rule fires on Sysmon (EVTX
// names), Security 4688 (NewProcessName), Winlogbeat 8 and Elastic Agent
// documents; an auditd rule fires on an audit.log line and on the same
// record forwarded through syslog (audisp). Near misses do not fire.
func TestSameRuleEverySource(t *testing.T) {
	d := detect.New(detect.Options{Rules: compile(t, sigma.Options{}, whoamiRule, auditdRule)})
	cases := []struct {
		name string
		ev   event.Event
		want string // rule id, "" for none
	}{
		{"sysmon 1", kv("windows", "EventID", "1", "Channel", "Microsoft-Windows-Sysmon/Operational", "Provider_Name", "Microsoft-Windows-Sysmon",
			"Computer", "pc1", "Image", `C:\Windows\System32\whoami.exe`, "CommandLine", "whoami /all", "User", `CORP\alice`), "0a6fc4a4-2a2b-4dfe-9cb0-4b41a46a3f31"},
		{"security 4688", kv("windows", "EventID", "4688", "Channel", "Security", "Provider_Name", "Microsoft-Windows-Security-Auditing",
			"Computer", "pc2", "NewProcessName", `C:\Windows\System32\WHOAMI.EXE`, "CommandLine", "whoami.exe –all", "SubjectUserName", "bob"), "0a6fc4a4-2a2b-4dfe-9cb0-4b41a46a3f31"},
		{"winlogbeat 8", fromJSON(t, `{"@timestamp":"2026-11-20T01:02:03Z","agent":{"type":"winlogbeat"},"ecs":{"version":"8.0.0"},
			"winlog":{"channel":"Microsoft-Windows-Sysmon/Operational","event_id":"1","provider_name":"Microsoft-Windows-Sysmon","computer_name":"pc3",
			"event_data":{"Image":"C:\\Windows\\System32\\whoami.exe","CommandLine":"whoami -all","OriginalFileName":"whoami.exe"}},
			"process":{"executable":"C:\\Windows\\System32\\whoami.exe","command_line":"whoami -all"}}`), "0a6fc4a4-2a2b-4dfe-9cb0-4b41a46a3f31"},
		{"winlogbeat 4688 via ECS names", fromJSON(t, `{"@timestamp":"2026-11-20T01:02:03Z","winlog":{"channel":"Security","event_id":"4688",
			"event_data":{"NewProcessName":"C:\\Windows\\System32\\whoami.exe","CommandLine":"whoami /all"}}}`), "0a6fc4a4-2a2b-4dfe-9cb0-4b41a46a3f31"},
		{"near miss: other switch", kv("windows", "EventID", "1", "Channel", "Microsoft-Windows-Sysmon/Operational",
			"Image", `C:\Windows\System32\whoami.exe`, "CommandLine", "whoami /groups"), ""},
		{"near miss: other logsource", kv("windows", "EventID", "4104", "Channel", "Microsoft-Windows-PowerShell/Operational",
			"ScriptBlockText", `C:\Windows\System32\whoami.exe -all`), ""},
		{"auditd line", kv("linux", "message", `type=EXECVE msg=audit(1604994496.155:92733): argc=2 a0="arp" a1=2D61`), "8f3e4a2b-7a51-4b9e-a0d6-5c1f9c2e7d11"},
		{"auditd through syslog", kv("", "program", "audispd", "hostname", "h1", "message", `node=h1 type=EXECVE msg=audit(1604994496.155:92733): argc=2 a0="arp" a1=2D61`), "8f3e4a2b-7a51-4b9e-a0d6-5c1f9c2e7d11"},
		{"auditd other command", kv("linux", "message", `type=EXECVE msg=audit(1604994496.155:92733): argc=2 a0="arp" a1=2D6E`), ""},
	}
	for _, tc := range cases {
		got := detections(d, tc.ev)
		var ids []string
		for _, x := range got {
			ids = append(ids, x.RuleID)
		}
		if tc.want == "" && len(ids) > 0 || tc.want != "" && !slices.Contains(ids, tc.want) {
			t.Errorf("%s (logsource %+v): detections %v, want %q", tc.name, tc.ev.Log, ids, tc.want)
		}
	}
}

// TestDetectionContent: a detection carries what the alert needs: level,
// ATT&CK tags, host, user, the rule's key fields with the event's values,
// and the event id.
func TestDetectionContent(t *testing.T) {
	d := detect.New(detect.Options{Rules: compile(t, sigma.Options{}, whoamiRule)})
	ev := kv("windows", "EventID", "1", "Channel", "Microsoft-Windows-Sysmon/Operational", "Computer", "pc1",
		"Image", `C:\Windows\System32\whoami.exe`, "CommandLine", "whoami /all", "User", `CORP\alice`)
	ev.ID = event.NewID(ev.Time)
	got := detections(d, ev)
	if len(got) != 1 {
		t.Fatalf("got %d detections", len(got))
	}
	x := got[0]
	if x.Source != detect.SourceSigma || x.Level != "high" || x.Host != "pc1" || x.User != `CORP\alice` ||
		!slices.Equal(x.Tags, []string{"attack.discovery", "attack.t1033"}) || len(x.EventIDs) != 1 || x.EventIDs[0] != ev.ID ||
		!x.Time.Equal(time.Unix(0, ev.Time)) {
		t.Fatalf("detection %+v", x)
	}
	want := []detect.Field{{"Image", `C:\Windows\System32\whoami.exe`}, {"CommandLine", "whoami /all"}}
	if !slices.Equal(x.Fields, want) {
		t.Fatalf("fields %v, want %v", x.Fields, want)
	}
}

// TestUserMapping: a source the normaliser does not know (a custom JSON
// log with its own names) is covered by a user-written mapping, so the
// unmodified rule fires on it.
func TestUserMapping(t *testing.T) {
	m, probs := sigma.ParseMapping("mapping.yml", []byte(`
mappings:
  - logsource: {product: windows, category: process_creation}
    fields:
      Image: [proc.path]
      CommandLine: [proc.cmd]
`))
	if len(probs) > 0 {
		t.Fatal(probs[0])
	}
	ev := event.Event{Log: event.LogSource{Product: "windows", Category: "process_creation"}}
	ev.Add("proc.path", `C:\Windows\System32\whoami.exe`)
	ev.Add("proc.cmd", "whoami -all")
	without := detect.New(detect.Options{Rules: compile(t, sigma.Options{}, whoamiRule)})
	if got := detections(without, ev); len(got) != 0 {
		t.Fatalf("without the mapping: %v", got)
	}
	with := detect.New(detect.Options{Rules: compile(t, sigma.Options{Mapping: m}, whoamiRule)})
	if got := detections(with, ev); len(got) != 1 {
		t.Fatalf("with the mapping: %d detections", len(got))
	}
}

// TestMinLevel: matches below the minimum level are not reported.
func TestMinLevel(t *testing.T) {
	r := compile(t, sigma.Options{}, auditdRule)
	r.MinLevel = sigma.LevelRank("medium")
	d := detect.New(detect.Options{Rules: r})
	if got := detections(d, kv("linux", "message", `type=EXECVE msg=audit(1.0:1): argc=2 a0="arp" a1=2D61`)); len(got) != 0 {
		t.Fatalf("a low rule below min level medium reported: %v", got)
	}
}

// TestIndicators: an indicator in a field becomes a detection, through the
// built-in list.
func TestIndicators(t *testing.T) {
	list, errs := intel.Load(stringReader("ip,203.0.113.7,known C2\ndomain,evil.example\n"), "iocs.txt")
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
	set, errs := intel.NewSet(list)
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
	d := detect.New(detect.Options{Indicators: intel.NewLive(set)})
	ev := kv("windows", "EventID", "3", "Channel", "Microsoft-Windows-Sysmon/Operational", "Computer", "pc9",
		"DestinationIp", "203.0.113.7", "DestinationHostname", "a.b.evil.example")
	got := detections(d, ev)
	if len(got) != 2 {
		t.Fatalf("got %d detections: %+v", len(got), got)
	}
	for _, x := range got {
		if x.Source != detect.SourceIOC || x.Level != "high" || x.Host != "pc9" {
			t.Errorf("detection %+v", x)
		}
	}
}

// TestBaselineDetection: a baseline finding becomes a detection with its
// definition's English title and the reason as the first key field.
func TestBaselineDetection(t *testing.T) {
	defs := []baseline.Definition{{
		Name: "new_service", Kind: baseline.FirstSeen, TitleID: "baseline.new_service.title", ReasonID: "baseline.new_service.reason",
		Match: []baseline.Match{{Product: "windows", Service: "system", Fields: []baseline.Cond{{Field: "EventID", Values: []string{"7045"}}}}},
		Key:   []string{baseline.Host}, Value: []string{"ServiceName"}, Level: "medium",
	}}
	be, err := baseline.New(defs, baseline.Options{})
	if err != nil {
		t.Fatal(err)
	}
	d := detect.New(detect.Options{Baselines: be})
	ev := kv("windows", "EventID", "7045", "Channel", "System", "Provider_Name", "Service Control Manager", "Computer", "srv1",
		"ServiceName", "EvilSvc", "ImagePath", `C:\Users\Public\e.exe`)
	got := detections(d, ev)
	if len(got) != 1 {
		t.Fatalf("%d detections: %+v", len(got), got)
	}
	x := got[0]
	if x.Source != detect.SourceBaseline || x.RuleID != "baseline:new_service" || x.RuleTitle != "New service installed" ||
		len(x.Fields) == 0 || x.Fields[0].Name != "reason" || !strings.Contains(x.Fields[0].Value, "EvilSvc") {
		t.Fatalf("detection %+v", x)
	}
}
