// SPDX-License-Identifier: Apache-2.0

package incident_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/koban-csirt/koban/internal/audit"
	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/i18n"
	"github.com/koban-csirt/koban/internal/incident"
)

func TestAddNote(t *testing.T) {
	t.Parallel()
	e := newIncEnv(t)
	ctx := context.Background()
	inc := e.create(t, incDraft("notes"))
	e.clock.Add(time.Hour)
	// Recorded an hour after it happened, before the incident was opened.
	cable, err := e.svc.AddNote(ctx, e.a, inc.ID, incident.Note{Kind: incident.EntryAction, At: incT0.Add(-30 * time.Minute),
		Text: "13:05 LAN ケーブルを抜いた <b>PC-01</b>\x00"})
	if err != nil {
		t.Fatalf("AddNote: %v", err)
	}
	if !cable.At.Equal(incT0.Add(-30*time.Minute)) || !cable.RecordedAt.Equal(incT0.Add(time.Hour)) || !cable.Manual ||
		cable.Text != "13:05 LAN ケーブルを抜いた <b>PC-01</b>" || cable.Author != "resp1" {
		t.Errorf("AddNote = %+v", cable)
	}
	now, err := e.svc.AddNote(ctx, e.a, inc.ID, incident.Note{Text: "called the insurer"})
	if err != nil || now.Kind != incident.EntryNote || !now.At.Equal(incT0.Add(time.Hour)) {
		t.Errorf("AddNote(no time) = %+v, %v; want a note at now", now, err)
	}
	for _, c := range []struct {
		name string
		n    incident.Note
		msg  string
	}{
		{"empty", incident.Note{Text: " \x00 "}, "incident.field_required"},
		{"future", incident.Note{Text: "x", At: incT0.Add(2 * time.Hour)}, "incident.time_future"},
		{"automatic kind", incident.Note{Text: "x", Kind: incident.EntryPhase}, "incident.entry_kind_invalid"},
		{"long", incident.Note{Text: strings.Repeat("x", 10001)}, "incident.field_too_long"},
	} {
		_, err := e.svc.AddNote(ctx, e.a, inc.ID, c.n)
		wantFault(t, "AddNote("+c.name+")", err, fault.Invalid, c.msg)
	}
	_, err = e.svc.AddNote(ctx, e.a, 999, incident.Note{Text: "x"})
	wantFault(t, "AddNote(no incident)", err, fault.NotFound, "incident.not_found")
	tl, err := e.svc.Timeline(ctx, e.a, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"note: " + cable.Text, "incident.timeline.created", "note: called the insurer"}
	if diff := cmp.Diff(want, msgs(tl)); diff != "" {
		t.Errorf("timeline by when things happened (-want +got):\n%s", diff)
	}
	if a := e.audits(t, inc.ID); len(a) != 3 || a[1] != "incident.note" {
		t.Errorf("audit = %v, want create and two notes", a)
	}
}

func TestLog(t *testing.T) {
	t.Parallel()
	e := newIncEnv(t)
	ctx := context.Background()
	inc := e.create(t, incDraft("log"))
	e.assessLow(t, inc.ID)
	if _, err := e.svc.Close(ctx, e.a, incident.Ref{ID: inc.ID}, incident.Closing{Resolution: incident.ResolutionResolved,
		Summary: "x"}); err != nil {
		t.Fatal(err)
	}
	sys := incident.Actor{Actor: audit.System, Access: incident.AccessFull}
	// Automatic entries go on closed incidents too: a download after the
	// close is part of the record.
	en, err := e.svc.Log(ctx, sys, inc.ID, incident.EntryEvidence, time.Time{}, "evidence.timeline.downloaded",
		"name", "mail.eml\x00", "by", "resp1")
	if err != nil {
		t.Fatalf("Log(closed incident): %v", err)
	}
	if en.Author != "system" || en.Manual || !cmp.Equal(en.Args, []string{"name", "mail.eml", "by", "resp1"}) || !en.At.Equal(incT0) {
		t.Errorf("Log = %+v", en)
	}
	for name, call := range map[string]func() error{
		"odd args": func() error {
			_, err := e.svc.Log(ctx, sys, inc.ID, incident.EntryAlert, time.Time{}, "x", "a")
			return err
		},
		"no message":   func() error { _, err := e.svc.Log(ctx, sys, inc.ID, incident.EntryAlert, time.Time{}, ""); return err },
		"unknown kind": func() error { _, err := e.svc.Log(ctx, sys, inc.ID, "chat", time.Time{}, "x"); return err },
	} {
		wantFault(t, "Log("+name+")", call(), fault.Invalid, "incident.entry_invalid")
	}
	_, err = e.svc.Log(ctx, sys, 999, incident.EntryAlert, time.Time{}, "x")
	wantFault(t, "Log(no incident)", err, fault.NotFound, "incident.not_found")
	// In the caller's transaction, it goes with the caller's change.
	boom := errors.New("boom")
	err = e.db.Tx(ctx, func(ctx context.Context) error {
		if _, err := e.svc.Log(ctx, sys, inc.ID, incident.EntryAlert, time.Time{}, "alert.merged", "id", "7"); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	tl, err := e.svc.Timeline(ctx, e.a, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, en := range tl {
		if en.Msg == "alert.merged" {
			t.Error("an entry logged in a rolled-back transaction was kept")
		}
	}
}

// exportEntries is a timeline with the awkward cases an export must carry.
func exportEntries() []incident.Entry {
	at := time.Date(2026, 4, 1, 14, 59, 59, 500000000, time.UTC) // 23:59:59 in Tokyo
	return []incident.Entry{
		{ID: 1, IncidentID: 7, Kind: incident.EntryCreated, At: at, RecordedAt: at, Author: "system",
			Msg: "incident.timeline.created", Args: []string{"ref", "INC-2026-0007"}},
		{ID: 2, IncidentID: 7, Kind: incident.EntryAction, At: at.Add(time.Second), RecordedAt: at.Add(2 * time.Hour),
			Author: "=cmd|' /C calc'!A0", Manual: true, Text: "ケーブルを抜いた, \"PC-01\"\n<script>alert(1)</script>"},
		{ID: 3, IncidentID: 7, Kind: incident.EntryNote, At: at.Add(time.Minute), RecordedAt: at.Add(time.Minute),
			Author: "resp1", Manual: true, Text: "-2+3 looked odd"},
	}
}

func TestWriteTimelineCSV(t *testing.T) {
	t.Parallel()
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	ja := func(msg string, args ...any) string { return cat.T(i18n.Japanese, msg, args...) }
	var b bytes.Buffer
	if err := incident.WriteTimelineCSV(&b, exportEntries(), ja); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b.Bytes(), []byte("\uFEFF")) {
		t.Error("CSV does not start with a byte order mark")
	}
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b.Bytes(), []byte("\uFEFF")))).ReadAll()
	if err != nil {
		t.Fatalf("reading the CSV back: %v", err)
	}
	want := [][]string{
		{"id", "kind", "happened_utc", "happened_jst", "recorded_utc", "recorded_jst", "author", "manual", "text"},
		{"1", "created", "2026-04-01T14:59:59Z", "2026-04-01T23:59:59+09:00", "2026-04-01T14:59:59Z",
			"2026-04-01T23:59:59+09:00", "system", "false", "インシデント INC-2026-0007 を起票しました。"},
		{"2", "action", "2026-04-01T15:00:00Z", "2026-04-02T00:00:00+09:00", "2026-04-01T16:59:59Z",
			"2026-04-02T01:59:59+09:00", "'=cmd|' /C calc'!A0", "true", "ケーブルを抜いた, \"PC-01\"\n<script>alert(1)</script>"},
		{"3", "note", "2026-04-01T15:00:59Z", "2026-04-02T00:00:59+09:00", "2026-04-01T15:00:59Z",
			"2026-04-02T00:00:59+09:00", "resp1", "true", "'-2+3 looked odd"},
	}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("CSV (-want +got):\n%s", diff)
	}
}

func TestWriteTimelineJSON(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	if err := incident.WriteTimelineJSON(&b, exportEntries(), nil); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "<script>") {
		t.Error("JSON export carries a raw <script> tag")
	}
	var rows []incident.ExportRow
	if err := json.Unmarshal(b.Bytes(), &rows); err != nil {
		t.Fatalf("reading the JSON back: %v", err)
	}
	if len(rows) != 3 {
		t.Fatalf("JSON has %d rows, want 3", len(rows))
	}
	first := rows[0]
	if first.Text != "incident.timeline.created ref INC-2026-0007" || first.Msg != "incident.timeline.created" ||
		first.Args["ref"] != "INC-2026-0007" || first.HappenedTokyo != "2026-04-01T23:59:59+09:00" || first.HappenedUTC != "2026-04-01T14:59:59Z" {
		t.Errorf("JSON row 1 = %+v", first)
	}
	if second := rows[1]; second.Text != exportEntries()[1].Text || !second.Manual || second.Msg != "" || second.Args != nil {
		t.Errorf("JSON row 2 = %+v", second)
	}
	var raw []map[string]any
	if err := json.Unmarshal(b.Bytes(), &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"id", "kind", "happened_utc", "happened_jst", "recorded_utc", "recorded_jst", "author", "manual", "text"} {
		if _, ok := raw[0][k]; !ok {
			t.Errorf("JSON rows have no %q key: %v", k, raw[0])
		}
	}
}

// TestExportEveryEntry exports a real incident's timeline: every entry the
// service writes renders in both languages without a missing message.
func TestExportEveryEntry(t *testing.T) {
	t.Parallel()
	e := newIncEnv(t)
	ctx := context.Background()
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	a := e.create(t, incDraft("a"))
	b := e.create(t, incDraft("b"))
	steps := []error{
		e.svc.Link(ctx, e.a, a.ID, b.ID, incident.LinkParent),
	}
	_, err = e.svc.Update(ctx, e.a, incident.Ref{ID: a.ID, Version: 1}, incident.Input{Title: "A", Type: incident.TypeDoS})
	steps = append(steps, err)
	_, err = e.svc.ChangePhase(ctx, e.a, incident.Ref{ID: a.ID}, incident.PhaseReview, "")
	steps = append(steps, err)
	_, err = e.svc.AddTask(ctx, e.a, a.ID, incident.TaskInput{Title: "t"})
	steps = append(steps, err)
	_, err = e.svc.SaveReview(ctx, e.a, a.ID, 0, incident.ReviewInput{Cause: incident.CauseUnknown, CauseText: "?", Complete: true})
	steps = append(steps, err)
	_, err = e.svc.AddPreventionAction(ctx, e.a, a.ID, incident.ActionInput{Title: "p"})
	steps = append(steps, err)
	for i, err := range steps {
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	for _, l := range i18n.Langs {
		var buf bytes.Buffer
		tr := func(msg string, args ...any) string { return cat.T(l, msg, args...) }
		if err := incident.WriteTimelineCSV(&buf, e.detail(t, a.ID).Timeline, tr); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(buf.String(), "[incident.") || strings.Contains(buf.String(), "{") {
			t.Errorf("%s export has a missing message or argument:\n%s", l, buf.String())
		}
	}
}
