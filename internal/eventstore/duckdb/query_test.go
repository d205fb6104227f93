// SPDX-License-Identifier: Apache-2.0

package duckdb

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/koban-csirt/koban/internal/event"
	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/i18n"
	"github.com/koban-csirt/koban/internal/search"
)

func TestOperators(t *testing.T) {
	t.Parallel()
	s := openStore(t, t.TempDir(), testOptions())
	insert(t, s, "cp1", corpus()...)
	tests := []struct {
		q    string
		want []string
	}{
		{"", []string{"japanese", "logon-fail-1", "logon-fail-2", "logon-fail-3", "logon-ok", "mimikatz", "syslog", "whoami"}},
		{"EventID:4625", []string{"logon-fail-1", "logon-fail-2", "logon-fail-3"}},
		{"EventID:4625 TargetUserName:administrator", []string{"logon-fail-1", "logon-fail-2"}},
		{"TargetUserName:ADMINISTRATOR", []string{"logon-fail-1", "logon-fail-2"}},
		{"EventID:4625 -TargetUserName:guest", []string{"logon-fail-1", "logon-fail-2"}},
		{"NOT EventID:*", []string{"syslog"}},
		{"NOT EventID:4625 AND NOT EventID:1", []string{"japanese", "logon-ok", "syslog"}},
		{"EventID:(4624 OR 4688)", []string{"japanese", "logon-ok"}},
		{"CommandLine:*mimikatz*", []string{"mimikatz"}},
		{"CommandLine:*MIMIKATZ*", []string{"mimikatz"}},
		{"commandline:*whoami*", []string{"whoami"}},
		{"process.command_line:*whoami*", []string{"whoami"}},
		{`Image:*\mimikatz.exe`, []string{"mimikatz"}},
		{`Image:"C:\\Windows\\*"`, []string{"whoami"}},
		{`Image:c:\windows\system32\whoami.exe`, []string{"whoami"}},
		{"Image:*Users*Downloads*", []string{"mimikatz"}},
		{"Image:*\\\\?IMIKATZ.exe", []string{"mimikatz"}},
		{"User:*", []string{"japanese", "mimikatz", "whoami"}},
		{"user.name:*bob", []string{"mimikatz"}},
		{`CommandLine:/sekurlsa::\w+/`, []string{"mimikatz"}},
		{`CommandLine:/SEKURLSA/`, []string{}},
		{`CommandLine:/(?i)SEKURLSA/`, []string{"mimikatz"}},
		{"SourceIp:10.0.0.0/8", []string{"logon-fail-1", "logon-fail-2"}},
		{"source.ip:192.168.0.0/16", []string{"logon-fail-3"}},
		{"SourceIp:2001:db8::/32", []string{"logon-ok"}},
		{"SourceIp:10.1.2.3/32", []string{"logon-fail-1"}},
		{"bytes:>100", []string{"logon-fail-2"}},
		{"bytes:>=100", []string{"logon-fail-1", "logon-fail-2"}},
		{"bytes:<100", []string{"logon-fail-3"}},
		{"bytes:<=7", []string{"logon-fail-3"}},
		{"LogonType:3", []string{"logon-fail-1", "logon-fail-3"}},
		{"ParentImage:*explorer*", []string{"whoami"}},
		{"program:sshd", []string{"syslog"}},
		{`message:"*INVALID USER*"`, []string{"syslog"}},
		{`"invalid user oracle"`, []string{"syslog"}},
		{"logonpasswords", []string{"mimikatz"}},
		{"LOGONPASSWORDS", []string{"mimikatz"}},
		{"mimi*debug", []string{"mimikatz"}},
		{"/logon-fail-[12]/", []string{"logon-fail-1", "logon-fail-2"}},
		{"host:db01", []string{"syslog"}},
		{"product:linux OR service:sshd", []string{"syslog"}},
		{"category:process_creation -EventID:*", []string{}},
		{"flags:no_time", []string{"syslog"}},
		{"flags:*", []string{"syslog"}},
		{`reason:"*no time*"`, []string{"syslog"}},
		{"source:test EventID:4624", []string{"logon-ok"}},
		{"User:管理者", []string{"japanese"}},
		{"メッセージ:*失敗*", []string{"japanese"}},
		{"ログオン", []string{"japanese"}},
		{"CommandLine:*ｐｏｗｅｒｓｈｅｌｌ*", []string{"japanese"}},
		{"CommandLine:*powershell*", []string{}},
		{"CommandLine:*äöü*", []string{"japanese"}},
		{"nosuchfield:*", []string{}},
		{"nosuchfield:x OR EventID:4624", []string{"logon-ok"}},
		{`raw:"*logon-fail-?*"`, []string{"logon-fail-1", "logon-fail-2", "logon-fail-3"}},
	}
	for _, tt := range tests {
		if got := names(t, s, tt.q); !cmp.Equal(got, tt.want) {
			t.Errorf("query %q found %v, want %v", tt.q, got, tt.want)
		}
	}
	// Preds that search.Parse does not produce from text.
	exprs := []struct {
		x    search.Expr
		want []string
	}{
		{search.Pred{Field: "CommandLine", Op: search.Wildcard, Value: `*"privilege::debug"*`}, []string{"mimikatz"}},
		{search.Pred{Field: "CommandLine", Op: search.Wildcard, Value: `*100\%*`}, []string{}},
		{search.Pred{Field: "EventID", Op: search.Prefix, Value: "46"}, []string{"japanese", "logon-fail-1", "logon-fail-2", "logon-fail-3", "logon-ok"}},
		{search.Pred{Field: "EventID", Op: search.Suffix, Value: "25"}, []string{"logon-fail-1", "logon-fail-2", "logon-fail-3"}},
		{search.And{}, []string{"japanese", "logon-fail-1", "logon-fail-2", "logon-fail-3", "logon-ok", "mimikatz", "syslog", "whoami"}},
		{search.Or{}, []string{}},
		{search.Pred{Field: "id", Op: search.Eq, Value: corpus()[2].ID.String()}, []string{"logon-fail-1"}},
	}
	for _, tt := range exprs {
		pg, err := s.Search(context.Background(), all(tt.x))
		if err != nil {
			t.Fatalf("Search(%v): %v", tt.x, err)
		}
		got := []string{}
		for _, e := range pg.Events {
			n, _ := e.Lookup("name")
			got = append(got, n)
		}
		sort.Strings(got)
		if !cmp.Equal(got, tt.want) {
			t.Errorf("Search(%v) found %v, want %v", tt.x, got, tt.want)
		}
	}
}

func TestPaging(t *testing.T) {
	t.Parallel()
	s := openStore(t, t.TempDir(), testOptions())
	ctx := context.Background()
	var evs []event.Event
	for i := range 230 {
		// Groups of three events share a time; days change on the way.
		evs = append(evs, mk(fmt.Sprintf("e%03d", i), time.Duration(i/3)*20*time.Minute, "EventID", fmt.Sprint(i%7)))
	}
	insert(t, s, "a", evs...)
	q := all(nil)
	q.Limit = 7
	seen := map[event.ID]bool{}
	var prev *event.Event
	pages := 0
	for {
		pg, err := s.Search(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for i := range pg.Events {
			e := pg.Events[i]
			if seen[e.ID] {
				t.Fatalf("page %d repeats %s", pages, e.ID)
			}
			seen[e.ID] = true
			if prev != nil && (e.Time > prev.Time || e.Time == prev.Time && string(e.ID[:]) >= string(prev.ID[:])) {
				t.Fatalf("page %d: %s (%d) after %s (%d) is not newest-first", pages, e.ID, e.Time, prev.ID, prev.Time)
			}
			prev = &e
		}
		if pages == 2 {
			// Events arriving while someone pages do not move the pages.
			insert(t, s, "b", mk("newer", 100*time.Hour), mk("older-but-late", -time.Hour))
		}
		if pg.Next == nil {
			if len(pg.Events) > q.Limit {
				t.Fatalf("last page has %d events", len(pg.Events))
			}
			break
		}
		if len(pg.Events) != q.Limit {
			t.Fatalf("page %d has %d events, want %d", pages, len(pg.Events), q.Limit)
		}
		q.After = pg.Next
	}
	// "newer" sorts before the first page and is not seen; the late event
	// sorts after every page and is.
	if len(seen) != len(evs)+1 {
		t.Errorf("paging saw %d events, want %d", len(seen), len(evs)+1)
	}
	if pages != (len(evs)+1+6)/7 {
		t.Errorf("%d pages, want %d", pages, (len(evs)+1+6)/7)
	}
}

func TestAggregates(t *testing.T) {
	t.Parallel()
	s := openStore(t, t.TempDir(), testOptions())
	ctx := context.Background()
	insert(t, s, "cp", corpus()...)
	q := all(nil)
	q.From, q.To = day0, day0.Add(48*time.Hour)
	h, err := s.Histogram(ctx, q, 12*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	want := []search.Bucket{
		{Start: day0, Count: 4}, {Start: day0.Add(12 * time.Hour), Count: 0},
		{Start: day0.Add(24 * time.Hour), Count: 4}, {Start: day0.Add(36 * time.Hour), Count: 0},
	}
	if diff := cmp.Diff(want, h); diff != "" {
		t.Errorf("Histogram (-want +got):\n%s", diff)
	}
	// A step that does not divide the range leaves a short last bucket.
	q.To = day0.Add(5 * time.Hour)
	if h, err := s.Histogram(ctx, q, 2*time.Hour); err != nil || len(h) != 3 || h[0].Count != 1 || h[1].Count != 2 || h[2].Count != 1 {
		t.Errorf("Histogram over 5h by 2h = %v, %v", h, err)
	}
	for _, bad := range []struct {
		q    search.Query
		step time.Duration
	}{{search.Query{}, time.Hour}, {all(nil), 0}, {all(nil), time.Second}} {
		if _, err := s.Histogram(ctx, bad.q, bad.step); !fault.Is(err, fault.Invalid) {
			t.Errorf("Histogram(%v, %v): %v, want Invalid", bad.q, bad.step, err)
		}
	}

	x, _ := search.Parse("EventID:*")
	top, err := s.Top(ctx, all(x), "EventID", 2, false)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]search.Value{{Value: "4625", Count: 3}, {Value: "1", Count: 2}}, top); diff != "" {
		t.Errorf("Top EventID (-want +got):\n%s", diff)
	}
	rare, err := s.Top(ctx, all(nil), "EventID", 2, true)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]search.Value{{Value: "4624", Count: 1}, {Value: "4688", Count: 1}}, rare); diff != "" {
		t.Errorf("rare EventID (-want +got):\n%s", diff)
	}
	hosts, err := s.Top(ctx, all(nil), "host", 10, false)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]search.Value{{Value: "web01", Count: 7}, {Value: "db01", Count: 1}}, hosts); diff != "" {
		t.Errorf("Top host (-want +got):\n%s", diff)
	}
	x, _ = search.Parse("EventID:4625")
	groups, err := s.CountBy(ctx, all(x), []string{"TargetUserName", "LogonType"}, 10)
	if err != nil {
		t.Fatal(err)
	}
	wantGroups := []search.Group{
		{Values: []string{"Administrator", "10"}, Count: 1},
		{Values: []string{"administrator", "3"}, Count: 1},
		{Values: []string{"guest", "3"}, Count: 1},
	}
	if diff := cmp.Diff(wantGroups, groups); diff != "" {
		t.Errorf("CountBy (-want +got):\n%s", diff)
	}
	groups, err = s.CountBy(ctx, all(nil), []string{"host", "product"}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]search.Group{{Values: []string{"web01", "windows"}, Count: 7}}, groups); diff != "" {
		t.Errorf("CountBy host, product (-want +got):\n%s", diff)
	}
	if _, err := s.CountBy(ctx, all(nil), []string{"id"}, 1); !fault.Is(err, fault.Invalid) {
		t.Errorf("CountBy id: %v, want Invalid", err)
	}
	if _, err := s.CountBy(ctx, all(nil), nil, 1); !fault.Is(err, fault.Invalid) {
		t.Errorf("CountBy no fields: %v, want Invalid", err)
	}
}

func TestInvalidQueries(t *testing.T) {
	t.Parallel()
	s := openStore(t, t.TempDir(), testOptions())
	insert(t, s, "cp", corpus()...)
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	deep := search.Expr(search.Text{Value: "x"})
	for range maxExprDepth + 5 {
		deep = search.Not{X: deep}
	}
	for _, x := range []search.Expr{
		search.Pred{Field: "CommandLine", Op: search.Regex, Value: "(unclosed"},
		search.Pred{Field: "bytes", Op: search.Gt, Value: "lots"},
		search.Pred{Field: "bytes", Op: search.Gt, Value: "NaN"},
		search.Pred{Field: "SourceIp", Op: search.CIDR, Value: "10.0.0.0/33"},
		search.Pred{Field: "flags", Op: search.Eq, Value: "no_such_flag"},
		search.Pred{Field: "id", Op: search.Eq, Value: "not-an-id"},
		search.Pred{Field: "id", Op: search.Contains, Value: "x"},
		search.Pred{Field: "x", Op: search.Op(99), Value: "x"},
		deep,
	} {
		_, err := s.Search(context.Background(), all(x))
		if !fault.Is(err, fault.Invalid) {
			t.Errorf("Search(%v): %v, want Invalid", x, err)
		}
		var f *fault.Error
		if errors.As(err, &f) {
			for _, l := range i18n.Langs {
				if !cat.Has(l, f.Msg) || !strings.HasPrefix(f.Msg, "search.") {
					t.Errorf("Search(%v): message %s is not a search.* message in %s", x, f.Msg, l)
				}
				for _, a := range cat.Args(l, f.Msg) {
					if !slices.Contains(f.Args, any(a)) {
						t.Errorf("Search(%v): message %s uses {%s}, which %v lacks", x, f.Msg, a, f)
					}
				}
			}
		}
	}
}

func TestInjection(t *testing.T) {
	t.Parallel()
	s := openStore(t, t.TempDir(), testOptions())
	ctx := context.Background()
	evil := []string{
		`'; DROP TABLE koban_meta; --`, `" OR 1=1 --`, `x') OR ('1'='1`, `\'; SELECT 1; --`,
		`fields['name']`, `"; DROP TABLE "events_20250310"; --`, "a\x00b", `%_\`,
	}
	evs := corpus()
	trap := mk("trap", 30*time.Minute, evil[0], evil[1], "CommandLine", evil[2])
	insert(t, s, "cp", append(evs, trap)...)
	for _, v := range evil {
		for _, field := range []string{"CommandLine", "name", v, "fields", "raw", "host"} {
			for _, op := range []search.Op{search.Eq, search.Contains, search.Wildcard, search.Regex, search.Exists, search.Gt, search.CIDR} {
				_, err := s.Search(ctx, all(search.Pred{Field: field, Op: op, Value: v}))
				if err != nil && !fault.Is(err, fault.Invalid) {
					t.Errorf("Search(%s %s %q): %v", field, op, v, err)
				}
			}
			if _, err := s.Top(ctx, all(nil), field, 3, false); err != nil {
				t.Errorf("Top(%q): %v", field, err)
			}
		}
	}
	// The values were matched as data.
	if got := names(t, s, `CommandLine:"x') OR ('1'='1"`); !cmp.Equal(got, []string{"trap"}) {
		t.Errorf("a quote in a value found %v", got)
	}
	x := search.Pred{Field: evil[0], Op: search.Eq, Value: evil[1]}
	if pg, err := s.Search(ctx, all(x)); err != nil || len(pg.Events) != 1 {
		t.Errorf("a hostile field name and value: %d events, %v", len(pg.Events), err)
	}
	if n, err := s.Count(ctx, all(nil)); err != nil || n != int64(len(evs)+1) {
		t.Errorf("Count after the attempts = %d, %v", n, err)
	}
	if cp, err := s.Checkpoint(ctx); err != nil || cp != "cp" {
		t.Errorf("Checkpoint after the attempts = %q, %v", cp, err)
	}
}

// FuzzQuery runs whatever search.Parse accepts against a store: the SQL
// it compiles to must run, or the store must refuse it as Invalid.
func FuzzQuery(f *testing.F) {
	for _, s := range []string{
		`EventID:4625 TargetUserName:admin*`, `CommandLine:*mimikatz* OR -Image:"*\cmd.exe"`, `x:/a(b|c)/ bytes:>=10`,
		`SourceIp:10.0.0.0/8 flags:no_time id:0000000000000000000000000`, `"a'b" host:"x\"y" メッセージ:*失敗*`,
		`NOT (a OR b) AND raw:*?* reason:*`, `EventID:(1 OR 4688) -user.name:bob`,
	} {
		f.Add(s)
	}
	s, err := Open(f.TempDir(), testOptions())
	if err != nil {
		f.Fatal(err)
	}
	defer s.Close()
	if err := s.Insert(context.Background(), corpus(), "cp"); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text string) {
		x, err := search.Parse(text)
		if err != nil {
			return
		}
		if _, err := s.Count(context.Background(), all(x)); err != nil && !fault.Is(err, fault.Invalid) {
			t.Fatalf("Count(%q → %s): %v", text, search.Format(x), err)
		}
	})
}
