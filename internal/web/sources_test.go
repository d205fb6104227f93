// SPDX-License-Identifier: Apache-2.0

package web

import (
	"fmt"
	"html"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/koban-csirt/koban/internal/auth"
	"github.com/koban-csirt/koban/internal/event"
	"github.com/koban-csirt/koban/internal/intake"
)

func TestSourcesPage(t *testing.T) {
	var snaps []intake.SourceSnapshot
	e := newEnv(t, func(o *Options) { o.Sources = func() []intake.SourceSnapshot { return snaps } })
	now := e.clock.now()
	var many []intake.HostSnapshot
	for i := 0; i < hostsShown+5; i++ {
		many = append(many, intake.HostSnapshot{Host: fmt.Sprintf("pc%03d", i), Last: now.Add(-time.Minute), UsualGap: time.Minute})
	}
	snaps = []intake.SourceSnapshot{
		{Name: "syslog-tcp", Kind: "syslog-tcp", Events: 1234567, PerSecond: 12.5, LastEvent: now.Add(-3 * time.Minute),
			ParseErrors: 12345, Dropped: 0, Rejected: 2, LastProblem: "address 203.0.113.9 is not allowed <b>",
			Hosts: []intake.HostSnapshot{
				{Host: "fw01", Last: now.Add(-2 * time.Hour), UsualGap: 5 * time.Minute, Silent: true},
				{Host: "router<1>", Last: now.Add(-3 * time.Hour), UsualGap: 10 * time.Minute, Silent: true},
				{Host: "web01", Last: now.Add(-3 * time.Minute), UsualGap: 90 * time.Second},
				{Host: "new01", Last: now.Add(-10 * time.Second)},
			}},
		{Name: "winlogbeat", Kind: "elasticsearch", Events: 200, LastEvent: now.Add(-time.Minute), Hosts: many},
		{Name: "idle", Kind: "syslog-udp"},
	}
	e.user("ana", auth.RoleAnalyst)
	s := e.session("ana")
	body := bodyOf(t, e.do(req{path: "/sources", session: s}))
	for _, want := range []string{
		`<strong>2 hosts have stopped sending.</strong>`,
		`<td class="num">1,234,567</td>`, `<td class="num">12.5</td>`, `12,345 <span class="hint">(1.00 %)</span>`,
		"3 minutes ago", "2026-11-22 09:57:00", "address 203.0.113.9 is not allowed &lt;b&gt;",
		`<tr class="silent">`, "router&lt;1&gt;", "2 silent", "5 minutes", "1 minute", "not known yet",
		`hx-trigger="every 10s"`, "Figures as of 2026-11-22 10:00:00.", "Show all 55 hosts", "No host has sent anything yet.",
		`<td class="nowrap">never</td>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("sources page lacks %q", want)
		}
	}
	if n := strings.Count(body, `<span class="badge badge-warn">silent</span>`); n != 2 {
		t.Errorf("%d hosts flagged silent, want 2", n)
	}
	if strings.Contains(body, "pc054") || !strings.Contains(body, "pc049") {
		t.Errorf("the source with %d hosts does not show exactly the first %d", hostsShown+5, hostsShown)
	}
	// Silent hosts come before the others in their table.
	if i, j := strings.Index(body, "fw01"), strings.Index(body, "web01"); i < 0 || j < 0 || i > j {
		t.Error("silent hosts are not listed first")
	}
	all := regexp.MustCompile(`<a href="(/sources\?source=[^"]+)">Show all`).FindStringSubmatch(body)
	if all == nil {
		t.Fatal("no link to all hosts")
	}
	one := bodyOf(t, e.do(req{path: html.UnescapeString(all[1]), session: s}))
	if !strings.Contains(one, "pc054") || strings.Contains(one, "fw01") || !strings.Contains(one, `id="all-sources"`) {
		t.Errorf("the page of one source does not show all its hosts and only them")
	}
	if b := bodyOf(t, e.do(req{path: "/sources?source=nothing", session: s})); !strings.Contains(b, `id="no-such-source"`) {
		t.Error("an unknown source name is not reported")
	}
	snaps = snaps[1:]
	if b := bodyOf(t, e.do(req{path: "/sources", session: s})); !strings.Contains(b, "Every host is sending as usual.") {
		t.Error("without silent hosts the page does not say all is well")
	}
}

func TestSourcesFromRegistry(t *testing.T) {
	reg := intake.NewRegistry()
	e := newEnv(t, func(o *Options) { o.Sources = reg.Snapshot })
	e.user("ana", auth.RoleAnalyst)
	s := e.session("ana")
	body := bodyOf(t, e.do(req{path: "/sources", session: s}))
	if !strings.Contains(body, `id="no-sources"`) || !strings.Contains(body, "intake.syslog.udp") || !strings.Contains(body, "intake.http.listen") ||
		!strings.Contains(body, "intake.sources") {
		t.Errorf("without sources the page does not explain how to turn listeners on:\n%s", body)
	}
	c := reg.Source("syslog-udp", "syslog-udp")
	evs := []event.Event{{Host: "fw01"}, {Host: "fw01"}, {Host: "sw02", Flags: event.FlagParseError}}
	c.Accepted(evs)
	c.Dropped(5, "queue full")
	body = bodyOf(t, e.do(req{path: "/sources", session: s}))
	for _, want := range []string{"syslog-udp", `<td class="num">3</td>`, `<td class="num">5</td>`, "queue full", "fw01", "sw02", "(33.33 %)"} {
		if !strings.Contains(body, want) {
			t.Errorf("sources page from a registry lacks %q", want)
		}
	}
}

func TestSourcesJapaneseAndNav(t *testing.T) {
	e := newEnv(t, func(o *Options) {
		o.Sources = func() []intake.SourceSnapshot {
			return []intake.SourceSnapshot{{Name: "syslog-tcp", Kind: "syslog-tcp", Events: 1, Rejected: 1, LastProblem: "syslog.problem.address",
				Hosts: []intake.HostSnapshot{{Host: "fw01", Last: time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC), UsualGap: time.Minute, Silent: true}}}}
		}
	})
	e.user("ana", auth.RoleAnalyst)
	e.user("vic", auth.RoleViewer)
	body := bodyOf(t, e.do(req{path: "/sources", session: e.session("ana"), header: map[string]string{"Accept-Language": "ja"}}))
	for _, want := range []string{"ログの受信元", "1 台のホストからの送信が止まっています。", "2 時間前", "2026-11-22 17:00:00", "停止",
		"intake.syslog.allow にないアドレスからの送信を拒否しました"} {
		if !strings.Contains(body, want) {
			t.Errorf("Japanese sources page lacks %q", want)
		}
	}
	if !strings.Contains(body, `id="nav-sources"`) {
		t.Error("an analyst has no navigation link to the sources page")
	}
	if b := bodyOf(t, e.do(req{path: "/settings", session: e.session("vic")})); strings.Contains(b, `id="nav-sources"`) || strings.Contains(b, `id="nav-hunting"`) {
		t.Error("a viewer sees links to the sources page or the event search")
	}
}
