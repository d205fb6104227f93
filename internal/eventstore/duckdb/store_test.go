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
