// SPDX-License-Identifier: Apache-2.0

package duckdb

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/koban-csirt/koban/internal/event"
	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/search"
)

var testColumns = []string{"CommandLine", "Image", "EventID", "TargetUserName", "SourceIp", "User"}

var testAliases = map[string]string{"process.command_line": "CommandLine", "source.ip": "SourceIp", "user.name": "User"}

func testOptions() Options {
	return Options{
		Columns:     testColumns,
		Canonical:   func(s string) (string, bool) { c, ok := testAliases[s]; return c, ok },
		MemoryBytes: 256 << 20,
		Threads:     2,
	}
}

func openStore(t *testing.T, dir string, o Options) *Store {
	t.Helper()
	s, err := Open(dir, o)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// day0 is the first day test events fall on.
var day0 = time.Date(2025, 3, 10, 0, 0, 0, 0, time.UTC)

// mk builds an event at day0+offset; name is kept in the map field "name"
// so that tests can tell events apart. fields are name, value pairs.
func mk(name string, offset time.Duration, fields ...string) event.Event {
	ns := day0.Add(offset).UnixNano()
	e := event.Event{
		ID: event.DeriveID(ns, []byte(name)), Time: ns, Received: ns + 1000,
		Source: "test", Host: "web01", Log: event.LogSource{Product: "windows", Category: "process_creation"},
		Raw: []byte("raw " + name + " " + strings.Join(fields, " ")),
	}
	e.Add("name", name)
	for i := 0; i+1 < len(fields); i += 2 {
		e.Add(fields[i], fields[i+1])
	}
	return e
}

func insert(t *testing.T, s *Store, cp string, evs ...event.Event) {
	t.Helper()
	if err := s.Insert(context.Background(), evs, cp); err != nil {
		t.Fatalf("Insert(%d events, %q): %v", len(evs), cp, err)
	}
}

// all is a query over every test day.
func all(where search.Expr) search.Query {
	return search.Query{From: day0.Add(-48 * time.Hour), To: day0.Add(30 * 24 * time.Hour), Where: where, Limit: 1000}
}

// names returns the "name" fields of the events matching text, sorted.
func names(t *testing.T, s *Store, text string) []string {
	t.Helper()
	x, err := search.Parse(text)
	if err != nil {
		t.Fatalf("Parse(%q): %v", text, err)
	}
	pg, err := s.Search(context.Background(), all(x))
	if err != nil {
		t.Fatalf("Search(%q): %v", text, err)
	}
	out := []string{}
	for _, e := range pg.Events {
		n, _ := e.Lookup("name")
		out = append(out, n)
	}
	sort.Strings(out)
	n, err := s.Count(context.Background(), all(x))
	if err != nil {
		t.Fatalf("Count(%q): %v", text, err)
	}
	if n != int64(len(out)) {
		t.Errorf("Count(%q) = %d, Search found %d", text, n, len(out))
	}
	return out
}

// corpus is a small set of events over two days.
func corpus() []event.Event {
	evs := []event.Event{
		mk("whoami", time.Hour, "CommandLine", `C:\Windows\System32\whoami.exe /all`, "Image", `C:\Windows\System32\whoami.exe`,
			"EventID", "1", "User", "CORP\\alice", "ParentImage", `C:\Windows\explorer.exe`),
		mk("mimikatz", 2*time.Hour, "CommandLine", `mimikatz.exe "privilege::debug" "sekurlsa::logonpasswords"`,
			"Image", `C:\Users\bob\Downloads\MIMIKATZ.EXE`, "EventID", "1", "User", "CORP\\bob"),
		mk("logon-fail-1", 3*time.Hour, "EventID", "4625", "TargetUserName", "administrator", "SourceIp", "10.1.2.3",
			"LogonType", "3", "bytes", "100"),
		mk("logon-fail-2", 4*time.Hour, "EventID", "4625", "TargetUserName", "Administrator", "SourceIp", "::ffff:10.9.9.9",
			"LogonType", "10", "bytes", "2500"),
		mk("logon-fail-3", 26*time.Hour, "EventID", "4625", "TargetUserName", "guest", "SourceIp", "192.168.1.20",
			"LogonType", "3", "bytes", "7"),
		mk("logon-ok", 27*time.Hour, "EventID", "4624", "TargetUserName", "alice", "SourceIp", "2001:db8::5",
			"LogonType", "2"),
		mk("japanese", 28*time.Hour, "EventID", "4688", "User", "管理者", "メッセージ", "ログオンに失敗しました",
			"CommandLine", "ＰＯＷＥＲＳＨＥＬＬ -enc ÄÖÜ"),
		mk("syslog", 29*time.Hour, "program", "sshd", "message", "Failed password for invalid user oracle from 203.0.113.7"),
	}
	evs[7].Host = "db01"
	evs[7].Log = event.LogSource{Product: "linux", Service: "sshd"}
	evs[7].Flag(event.FlagNoTime, "no time in line")
	return evs
}

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

func TestRoundTripAndGet(t *testing.T) {
	t.Parallel()
	s := openStore(t, t.TempDir(), testOptions())
	evs := corpus()
	bad := mk("binary", 5*time.Hour, "CommandLine", "x")
	bad.Raw = []byte("Shift_JIS \x83\x65\x83\x58\x83\x67 \xff\x00 end")
	bad.Tenant = "t2"
	odd := mk("odd", 6*time.Hour, "nul", "a\x00b", "", "empty name", "CommandLine", "x\x00y", "long", strings.Repeat("ｘ", 1<<20))
	odd.Raw = []byte("nul \x00 in raw")
	evs = append(evs, bad, odd)
	insert(t, s, "cp", evs...)
	for _, want := range evs {
		got, err := s.Get(context.Background(), want.Tenant, want.ID)
		if err != nil {
			t.Fatalf("Get(%s): %v", want.ID, err)
		}
		// Typed columns come back first; compare fields as sets.
		sortFields := func(e *event.Event) {
			slices.SortFunc(e.Fields, func(a, b event.Field) int { return strings.Compare(a.Name(), b.Name()) })
		}
		sortFields(&got)
		sortFields(&want)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Get(%s) (-want +got):\n%s", want.ID, diff)
		}
	}
	if _, err := s.Get(context.Background(), "", bad.ID); !fault.Is(err, fault.NotFound) {
		t.Errorf("Get of another tenant's event: %v, want NotFound", err)
	}
	if _, err := s.Get(context.Background(), "", event.NewID(1)); !fault.Is(err, fault.NotFound) {
		t.Errorf("Get of an unknown id: %v, want NotFound", err)
	}
	// Tenants do not see each other's events.
	if n, _ := s.Count(context.Background(), all(nil)); n != int64(len(evs)-1) {
		t.Errorf("Count for tenant \"\" = %d, want %d", n, len(evs)-1)
	}
	// A field named twice (which intake should not produce) keeps its
	// first value and does not fail the batch.
	twice := mk("twice", 7*time.Hour)
	twice.Fields = append(twice.Fields, event.Field{ID: event.MustIntern("Extra"), Value: "1"}, event.Field{ID: event.MustIntern("Extra"), Value: "2"},
		event.Field{ID: event.MustIntern("Image"), Value: "a"}, event.Field{ID: event.MustIntern("Image"), Value: "b"})
	insert(t, s, "cp2", twice)
	got, err := s.Get(context.Background(), "", twice.ID)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := got.Lookup("Extra"); v != "1" {
		t.Errorf("a field named twice: Extra = %q, want the first value", v)
	}
	if v, _ := got.Lookup("Image"); v != "a" {
		t.Errorf("a typed field named twice: Image = %q, want the first value", v)
	}
	q := all(search.Text{Value: "shift_jis"})
	q.Tenant = "t2"
	if n, err := s.Count(context.Background(), q); err != nil || n != 1 {
		t.Errorf("Count of tenant t2's text = %d, %v; want 1", n, err)
	}
}

func TestCheckpointAtomic(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	s, err := Open(dir, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	if cp, err := s.Checkpoint(ctx); err != nil || cp != "" {
		t.Fatalf("Checkpoint of a new store = %q, %v", cp, err)
	}
	evs := corpus()
	insert(t, s, "journal:42", evs[:4]...)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, dir, testOptions())
	if cp, err := s.Checkpoint(ctx); err != nil || cp != "journal:42" {
		t.Fatalf("Checkpoint after reopen = %q, %v; want journal:42", cp, err)
	}
	if n, _ := s.Count(ctx, all(nil)); n != 4 {
		t.Fatalf("Count after reopen = %d, want 4", n)
	}
	// Make the checkpoint update fail after the events (over two days)
	// were appended: none of them may stay.
	if _, err := s.db.ExecContext(ctx, "ALTER TABLE koban_meta RENAME TO koban_meta_away"); err != nil {
		t.Fatal(err)
	}
	failing := append(slices.Clone(evs[4:]), mk("day0-late", 5*time.Hour))
	if err := s.Insert(ctx, failing, "journal:99"); err == nil {
		t.Fatal("Insert with a failing checkpoint update succeeded")
	}
	if _, err := s.db.ExecContext(ctx, "ALTER TABLE koban_meta_away RENAME TO koban_meta"); err != nil {
		t.Fatal(err)
	}
	if cp, err := s.Checkpoint(ctx); err != nil || cp != "journal:42" {
		t.Errorf("Checkpoint after a failed insert = %q, %v; want journal:42", cp, err)
	}
	if n, _ := s.Count(ctx, all(nil)); n != 4 {
		t.Errorf("Count after a failed insert = %d, want 4", n)
	}
	// The failed batch was not remembered as stored: it goes in now.
	insert(t, s, "journal:99", failing...)
	if n, _ := s.Count(ctx, all(nil)); n != int64(len(evs)+1) {
		t.Errorf("Count after the retry = %d, want %d", n, len(evs)+1)
	}
	// A cancelled context stores nothing.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.Insert(cctx, []event.Event{mk("late", time.Minute)}, "journal:100"); !errors.Is(err, context.Canceled) {
		t.Errorf("Insert with a cancelled context: %v", err)
	}
	if cp, _ := s.Checkpoint(ctx); cp != "journal:99" {
		t.Errorf("Checkpoint after a cancelled insert = %q", cp)
	}
}

func TestDedup(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	s, err := Open(dir, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	evs := corpus()
	// Duplicates within a batch and across batches are stored once.
	insert(t, s, "1", append(slices.Clone(evs[:3]), evs[0], evs[1])...)
	insert(t, s, "2", evs...)
	if n, _ := s.Count(ctx, all(nil)); n != int64(len(evs)) {
		t.Errorf("Count after duplicate deliveries = %d, want %d", n, len(evs))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// After a restart the memory is refilled from the store.
	s = openStore(t, dir, testOptions())
	insert(t, s, "3", evs...)
	if n, _ := s.Count(ctx, all(nil)); n != int64(len(evs)) {
		t.Errorf("Count after a re-delivery following a restart = %d, want %d", n, len(evs))
	}
	// With deduplication off, a re-delivered batch is stored again.
	o := testOptions()
	o.Dedup = -1
	s2 := openStore(t, t.TempDir(), o)
	insert(t, s2, "1", evs[:2]...)
	insert(t, s2, "2", evs[:2]...)
	if n, _ := s2.Count(ctx, all(nil)); n != 4 {
		t.Errorf("Count without dedup = %d, want 4", n)
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
		if errors.As(err, &f) && !strings.HasPrefix(f.Msg, "search.") {
			t.Errorf("Search(%v): message %s is not search.*", x, f.Msg)
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

func TestColumnsChange(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	o := testOptions()
	o.Columns = []string{"CommandLine", "Image"}
	s, err := Open(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	insert(t, s, "1", mk("old", time.Hour, "CommandLine", "old whoami", "Image", "old.exe", "Hash", "abc"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Image loses its column, Hash gains one; the old day keeps its own.
	o.Columns = []string{"Hash", "CommandLine"}
	s = openStore(t, dir, o)
	insert(t, s, "2", mk("new", 49*time.Hour, "CommandLine", "new whoami", "Image", "new.exe", "Hash", "abc"))
	for q, want := range map[string][]string{
		"CommandLine:*whoami*": {"new", "old"},
		"Image:*.exe":          {"new", "old"},
		"Hash:abc":             {"new", "old"},
		"Image:old.exe":        {"old"},
	} {
		if got := names(t, s, q); !cmp.Equal(got, want) {
			t.Errorf("after the column change, %q found %v, want %v", q, got, want)
		}
	}
	top, err := s.Top(ctx, all(nil), "Image", 5, false)
	if err != nil || len(top) != 2 {
		t.Errorf("Top Image across the change = %v, %v", top, err)
	}
	pg, err := s.Search(ctx, all(nil))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range pg.Events {
		if v, ok := e.Lookup("Image"); !ok || !strings.HasSuffix(v, ".exe") {
			t.Errorf("event %s lost Image: %q", e.ID, v)
		}
	}
}

func TestRetention(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	o := testOptions()
	o.MaxAge = 3 * 24 * time.Hour
	s := openStore(t, t.TempDir(), o)
	var evs []event.Event
	for d := range 6 {
		for i := range 50 {
			evs = append(evs, mk(fmt.Sprintf("d%d-%d", d, i), time.Duration(d)*24*time.Hour+time.Duration(i)*time.Minute,
				"CommandLine", strings.Repeat(fmt.Sprintf("payload %d %d ", d, i), 20)))
		}
	}
	insert(t, s, "cp", evs...)
	st, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Days) != 6 || st.Events != 300 || st.Bytes <= 0 || st.BytesPerEvent() <= 0 {
		t.Fatalf("Stats = %d days, %d events, %d bytes", len(st.Days), st.Events, st.Bytes)
	}
	// Now is day 5 at noon: days 0 and 1 ended more than 3 days ago.
	r, err := s.Retain(ctx, day0.Add(5*24*time.Hour+12*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Dropped) != 2 || !r.Dropped[0].Day.Equal(day0) || !r.Dropped[1].Day.Equal(day0.Add(24*time.Hour)) || r.Events != 100 {
		t.Errorf("Retain by age dropped %v (%d events)", r.Dropped, r.Events)
	}
	if got := names(t, s, "d1-0 OR d2-0"); !cmp.Equal(got, []string{"d2-0"}) {
		t.Errorf("after retention by age, found %v", got)
	}
	// By size: allow a little more than two of the four days left; the
	// oldest go, whole.
	st, err = s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s.maxAge = 0
	s.maxBytes = st.Days[2].Bytes + st.Days[3].Bytes + st.Days[3].Bytes/4
	r, err = s.Retain(ctx, day0.Add(5*24*time.Hour+12*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Dropped) != 2 || !r.Dropped[0].Day.Equal(day0.Add(48*time.Hour)) {
		t.Errorf("Retain by size (max %d of %d) dropped %v", s.maxBytes, st.Bytes, r.Dropped)
	}
	st, err = s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Days) != 2 || st.Events != 100 || !st.Days[0].Day.Equal(day0.Add(4*24*time.Hour)) {
		t.Errorf("after retention by size: %d days from %v, %d events", len(st.Days), st.Days, st.Events)
	}
	// The newest day is never dropped for size.
	s.maxBytes = 1
	if _, err := s.Retain(ctx, day0.Add(6*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.Count(ctx, all(nil)); n != 50 {
		t.Errorf("after retention to 1 byte, %d events left, want the newest day's 50", n)
	}
	// New events for a dropped day make it again.
	insert(t, s, "cp2", mk("again", time.Hour))
	if got := names(t, s, "again"); !cmp.Equal(got, []string{"again"}) {
		t.Errorf("an event for a dropped day: found %v", got)
	}
}

func TestCancel(t *testing.T) {
	t.Parallel()
	s := openStore(t, t.TempDir(), testOptions())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		// Long enough to be running when the cancel comes.
		var n int64
		done <- s.db.QueryRowContext(ctx, "SELECT count(*) FROM range(1000000000000) a WHERE a.range % 7 = 3").Scan(&n)
	}()
	time.Sleep(200 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled query returned %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("a cancelled query did not return")
	}
	// The store's own methods report a cancelled context.
	insert(t, s, "cp", corpus()...)
	if _, err := s.Count(ctx, all(nil)); !errors.Is(err, context.Canceled) {
		t.Errorf("Count with a cancelled context: %v", err)
	}
	if _, err := s.Search(ctx, all(nil)); !errors.Is(err, context.Canceled) {
		t.Errorf("Search with a cancelled context: %v", err)
	}
}

func TestSettings(t *testing.T) {
	t.Parallel()
	o := testOptions()
	o.MemoryBytes, o.Threads = 400<<20, 1
	s := openStore(t, t.TempDir(), o)
	var mem, threads, autoload string
	err := s.db.QueryRowContext(context.Background(), `SELECT current_setting('memory_limit'), current_setting('threads')::VARCHAR,
		current_setting('autoload_known_extensions')::VARCHAR`).Scan(&mem, &threads, &autoload)
	if err != nil {
		t.Fatal(err)
	}
	// memory_limit is three fifths of MemoryBytes: 240 MiB.
	if !strings.HasPrefix(mem, "240") || threads != "1" || autoload != "false" {
		t.Errorf("settings: memory_limit %s, threads %s, autoload %s; want 240 MiB, 1, false", mem, threads, autoload)
	}
}

func TestConcurrent(t *testing.T) {
	t.Parallel()
	s := openStore(t, t.TempDir(), testOptions())
	ctx := context.Background()
	x, _ := search.Parse("EventID:4625 OR CommandLine:*x*")
	done := make(chan struct{})
	errs := make(chan error, 16)
	for g := range 3 {
		go func() {
			for {
				select {
				case <-done:
					errs <- nil
					return
				default:
				}
				var err error
				switch g {
				case 0:
					_, err = s.Search(ctx, all(x))
				case 1:
					_, err = s.CountBy(ctx, all(x), []string{"host", "EventID"}, 5)
				default:
					_, err = s.Retain(ctx, day0.Add(24*time.Hour))
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for b := range 20 {
		var evs []event.Event
		for i := range 50 {
			evs = append(evs, mk(fmt.Sprintf("c%d-%d", b, i), time.Duration(b)*3*time.Hour+time.Duration(i)*time.Second, "EventID", "4625", "CommandLine", "x"))
		}
		insert(t, s, strconv.Itoa(b), evs...)
	}
	close(done)
	for range 3 {
		if err := <-errs; err != nil {
			t.Errorf("concurrent call: %v", err)
		}
	}
	if n, err := s.Count(ctx, all(nil)); err != nil || n != 1000 {
		t.Errorf("Count after concurrent inserts = %d, %v", n, err)
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
