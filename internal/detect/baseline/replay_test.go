// SPDX-License-Identifier: Apache-2.0

package baseline

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/koban-csirt/koban/internal/event"
)

// These tests replay real EVTX samples and loghub's OpenSSH log and check
// the engine against plain-map reimplementations of each kind's rule on
// the same stream: strings.ToLower keys, full lists of times.

// realEvents returns the EVTX attack samples, DeepBlueCLI's and the
// EVTX-to-MITRE samples, then the OpenSSH log, in that order.
// They are read once per test binary; callers must not change them
// (Observe does not).
func realEvents(t testing.TB) []event.Event {
	t.Helper()
	real.Do(func() {
		for _, rel := range []string{"evtx-attack-samples", "deepbluecli-evtx", "evtx-to-mitre-attack"} {
			real.evs = append(real.evs, replayEVTX(t, rel)...)
		}
		real.evs = append(real.evs, replaySyslog(t, "loghub/OpenSSH/OpenSSH_2k.log")...)
	})
	if len(real.evs) == 0 {
		t.Fatal("no real events (see the first test that read them)")
	}
	return real.evs
}

var real struct {
	sync.Once
	evs []event.Event
}

// fixedNow is the clock of replays, for events without a time.
func fixedNow() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }

// eventTime is the time the engine uses for ev.
func eventTime(ev *event.Event) int64 {
	if ev.Time == 0 {
		return fixedNow().UnixNano()
	}
	return ev.Time
}

// brief is what the replay tests compare of a finding.
type brief struct {
	Key, Value string
	Count      int
	Time       int64
}

func briefs(fs []Finding) []brief {
	out := make([]brief, 0, len(fs))
	for _, f := range fs {
		out = append(out, brief{strings.Join(f.Key, "|"), strings.Join(f.Value, "|"), f.Count, f.Time.UnixNano()})
	}
	return out
}

// observeAll feeds evs to an engine of defs and returns its findings.
func observeAll(t *testing.T, defs []Definition, evs []event.Event) ([]Finding, *Engine) {
	t.Helper()
	e := mustNew(t, defs, Options{Now: fixedNow})
	var got []Finding
	for i := range evs {
		e.Observe(&evs[i], collect(&got))
	}
	return got, e
}

func field(ev *event.Event, name string) string {
	v, _ := ev.Lookup(name)
	if !present(v) {
		return ""
	}
	return v
}

// TestReplayNewProcess: after each host's learning period, the findings are
// exactly the (host, image) pairs not seen on that host before.
func TestReplayNewProcess(t *testing.T) {
	t.Parallel()
	evs := realEvents(t)
	const learn = time.Hour
	got, _ := observeAll(t, only(t, "new_process", func(d *Definition) { d.Learn = learn }), evs)

	var want []brief
	firstSeen := map[string]int64{}
	known := map[string]bool{}
	held := 0
	for i := range evs {
		ev := &evs[i]
		image := field(ev, "Image")
		if ev.Log.Category != "process_creation" || image == "" || !present(ev.Host) {
			continue
		}
		at := eventTime(ev)
		host := strings.ToLower(ev.Host)
		if _, ok := firstSeen[host]; !ok {
			firstSeen[host] = at
		}
		k := host + "\x00" + strings.ToLower(image)
		if known[k] {
			continue
		}
		known[k] = true
		if at < firstSeen[host]+int64(learn) {
			held++
			continue
		}
		want = append(want, brief{ev.Host, image, 1, at})
	}
	if len(want) == 0 || held == 0 {
		t.Fatalf("the replay has %d new images after learning and %d during: it tests nothing", len(want), held)
	}
	if diff := cmp.Diff(want, briefs(got)); diff != "" {
		t.Errorf("new_process findings differ (-want +got):\n%s", diff)
	}
	t.Logf("%d events, %d hosts, %d new images after learning, %d during", len(evs), len(firstSeen), len(want), held)
}

// TestReplayRareParentChild: a pair is reported while it has been seen
// fewer than Threshold times in the window before.
func TestReplayRareParentChild(t *testing.T) {
	t.Parallel()
	evs := realEvents(t)
	def := only(t, "rare_parent_child", noLearning)
	got, _ := observeAll(t, def, evs)

	var want []brief
	times := map[string][]int64{}
	window := int64(def[0].Window)
	for i := range evs {
		ev := &evs[i]
		parent, image := field(ev, "ParentImage"), field(ev, "Image")
		if ev.Log.Category != "process_creation" || parent == "" || image == "" {
			continue
		}
		at := eventTime(ev)
		k := strings.ToLower(parent) + "\x00" + strings.ToLower(image)
		n := 0
		for _, s := range times[k] {
			if s > at-window {
				n++
			}
		}
		times[k] = append(times[k], at)
		if n < def[0].Threshold {
			want = append(want, brief{"", parent + "|" + image, n + 1, at})
		}
	}
	if len(want) == 0 || len(want) == len(evs) {
		t.Fatalf("%d findings of %d events: the replay tests nothing", len(want), len(evs))
	}
	if diff := cmp.Diff(want, briefs(got)); diff != "" {
		t.Errorf("rare_parent_child findings differ (-want +got):\n%s", diff)
	}
	t.Logf("%d rare pair sightings of %d distinct pairs", len(want), len(times))
}

// TestReplayLogonsAndServices checks new_logon_source and new_service:
// each finding is a (subject, value) pair seen for the first time.
func TestReplayLogonsAndServices(t *testing.T) {
	t.Parallel()
	evs := realEvents(t)
	for _, name := range []string{"new_logon_source", "new_service"} {
		got, _ := observeAll(t, only(t, name, noLearning), evs)
		var want []brief
		known := map[string]bool{}
		for i := range evs {
			ev := &evs[i]
			var key, value string
			switch name {
			case "new_logon_source":
				switch {
				case ev.Log.Service == "security" && field(ev, "EventID") == "4624" &&
					slices.Contains([]string{"3", "10"}, field(ev, "LogonType")):
					key, value = field(ev, "TargetUserName"), field(ev, "IpAddress")
					if strings.HasSuffix(key, "$") || value == "127.0.0.1" || value == "::1" {
						continue
					}
				case ev.Log.Service == "sshd" && field(ev, "AuthResult") == "success":
					key, value = field(ev, "User"), field(ev, "SourceIp")
				}
			case "new_service":
				id := field(ev, "EventID")
				if ev.Log.Service == "system" && id == "7045" || ev.Log.Service == "security" && id == "4697" {
					key, value = ev.Host, field(ev, "ServiceName")
				}
			}
			if key == "" || value == "" {
				continue
			}
			k := strings.ToLower(userName(key)) + "\x00" + strings.ToLower(value)
			if !known[k] {
				known[k] = true
				want = append(want, brief{key, value, 1, eventTime(ev)})
			}
		}
		if len(want) < 2 {
			t.Fatalf("%s: %d findings expected: the replay tests nothing", name, len(want))
		}
		if diff := cmp.Diff(want, briefs(got)); diff != "" {
			t.Errorf("%s findings differ (-want +got):\n%s", name, diff)
		}
		t.Logf("%s: %d findings", name, len(want))
	}
}

// TestReplayFailedLogons: a (user, source) is reported when its latest ten
// failures fit in ten minutes, then not again for ten minutes. The replay
// holds DeepBlueCLI's SMB password guessing (3,561 failures) and the
// OpenSSH log's 520 "Failed password" lines.
func TestReplayFailedLogons(t *testing.T) {
	t.Parallel()
	evs := realEvents(t)
	def := only(t, "failed_logons", nil)
	got, _ := observeAll(t, def, evs)

	var want []brief
	times := map[string][]int64{}
	quiet := map[string]int64{}
	n, window := def[0].Threshold, int64(def[0].Window)
	for i := range evs {
		ev := &evs[i]
		var user, src string
		switch {
		case ev.Log.Service == "security" && field(ev, "EventID") == "4625":
			user, src = field(ev, "TargetUserName"), field(ev, "IpAddress")
			if src == "" {
				src = field(ev, "WorkstationName")
			}
		case ev.Log.Service == "sshd" && field(ev, "AuthResult") == "failure" && field(ev, "AuthMethod") != "":
			user, src = field(ev, "User"), field(ev, "SourceIp")
		}
		if user == "" || src == "" {
			continue
		}
		k := strings.ToLower(userName(user)) + "\x00" + strings.ToLower(src)
		ts := append(times[k], eventTime(ev))
		slices.Sort(ts)
		times[k] = ts
		if len(ts) < n {
			continue
		}
		last := ts[len(ts)-n:]
		latest := last[n-1]
		if latest-last[0] < window && latest >= quiet[k] {
			quiet[k] = latest + window
			want = append(want, brief{user + "|" + src, "", n, eventTime(ev)})
		}
	}
	users := map[string]bool{}
	for _, b := range want {
		users[b.Key] = true
	}
	if len(users) < 2 {
		t.Fatalf("findings for %d user/source pairs expected: the replay tests too little", len(users))
	}
	if diff := cmp.Diff(want, briefs(got)); diff != "" {
		t.Errorf("failed_logons findings differ (-want +got):\n%s", diff)
	}
	t.Logf("%d findings for %d user/source pairs", len(want), len(users))
}

// TestReplayDefaults runs the whole built-in set with its real learning
// periods over the replay and checks the stats add up.
func TestReplayDefaults(t *testing.T) {
	t.Parallel()
	evs := realEvents(t)
	got, e := observeAll(t, Defaults(), evs)
	st := e.Stats()
	if st.Events != uint64(len(evs)) {
		t.Errorf("Stats().Events = %d, want %d", st.Events, len(evs))
	}
	per := map[string]uint64{}
	for _, f := range got {
		per[f.Definition]++
	}
	for _, d := range st.Definitions {
		if d.Findings != per[d.Name] {
			t.Errorf("%s: Stats().Findings = %d, findings seen %d", d.Name, d.Findings, per[d.Name])
		}
		if d.Observed == 0 {
			t.Errorf("%s observed no event of the replay", d.Name)
		}
		t.Logf("%s: %+v", d.Name, d)
	}
}
