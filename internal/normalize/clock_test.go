// SPDX-License-Identifier: Apache-2.0

package normalize

import (
	"testing"
	"time"

	"github.com/koban-csirt/koban/internal/event"
)

func TestParseTime(t *testing.T) {
	t.Parallel()
	at := func(s string) int64 {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v.UnixNano()
	}
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"2025-11-27T07:40:10.165324Z", at("2025-11-27T07:40:10.165324Z"), true},     // EVTX
		{"2020-12-19T06:59:28.410Z", at("2020-12-19T06:59:28.41Z"), true},            // @timestamp
		{"2025-11-27 07:40:10.132", at("2025-11-27T07:40:10.132Z"), true},            // Sysmon UtcTime
		{"2017-01-30T16:12:26.985026+0100", at("2017-01-30T15:12:26.985026Z"), true}, // Suricata
		{"2022-05-11T18:10:20.399931000Z", at("2022-05-11T18:10:20.399931Z"), true},
		{"2024-01-02T03:04:05+09:00", at("2024-01-01T18:04:05Z"), true},
		{"2024-01-02T03:04:05-07", at("2024-01-02T10:04:05Z"), true},
		{"2024-01-02t03:04:05,5z", at("2024-01-02T03:04:05.5Z"), true},
		{"2024-01-02", at("2024-01-02T00:00:00Z"), true},
		{"2024-01-02 03:04", at("2024-01-02T03:04:00Z"), true},
		{`"2024-01-02T03:04:05Z"`, at("2024-01-02T03:04:05Z"), true},
		{"2024-01-02T03:04:05.1234567891Z", at("2024-01-02T03:04:05.123456789Z"), true},
		{"1521911720.865716", at("2018-03-24T17:15:20.865716Z"), true}, // Zeek ts
		{"1588206738", at("2020-04-30T00:32:18Z"), true},
		{"1588206738095", at("2020-04-30T00:32:18.095Z"), true},
		{"1588206738095123", at("2020-04-30T00:32:18.095123Z"), true},
		{"1704190272000000000", at("2024-01-02T10:11:12Z"), true},
		{"10/Oct/2000:13:55:36 -0700", at("2000-10-10T20:55:36Z"), true}, // CLF
		{"", 0, false},
		{"yesterday", 0, false},
		{"2024-13-01T00:00:00Z", 0, false},
		{"2024-01-02T25:00:00Z", 0, false},
		{"2024-01-02T03:04:05+2500", 0, false},
		{"2024-01-02T03:04:05 PST", 0, false},
		{"12345678901", 0, false},
		{"1.2.3", 0, false},
		{"10/Foo/2000:13:55:36 -0700", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseTime(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseTime(%q) = %v, %v; want %v, %v", tt.in, time.Unix(0, got).UTC(), ok, time.Unix(0, tt.want).UTC(), tt.ok)
		}
	}
}

func TestParseBSD(t *testing.T) {
	t.Parallel()
	ref := time.Date(2026, 1, 3, 0, 0, 0, 0, time.UTC).UnixNano()
	tests := []struct {
		in   string
		want time.Time
	}{
		{"Jan  2 15:04:05", time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)},
		{"Dec 31 23:59:59", time.Date(2025, 12, 31, 23, 59, 59, 0, time.UTC)}, // last year's
		{"Jan 03 10:00:00", time.Date(2026, 1, 3, 10, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		got, ok := parseBSD(tt.in, ref)
		if !ok || got != tt.want.UnixNano() {
			t.Errorf("parseBSD(%q) = %v, %v; want %v", tt.in, time.Unix(0, got).UTC(), ok, tt.want)
		}
	}
	for _, bad := range []string{"Foo  2 15:04:05", "Jan 32 15:04:05", "Jan  2 15:04", "Jan  2 1x:04:05"} {
		if _, ok := parseBSD(bad, ref); ok {
			t.Errorf("parseBSD(%q) succeeded", bad)
		}
	}
}

func TestClock(t *testing.T) {
	t.Parallel()
	n := New()
	rcv := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		time     time.Time // set by intake
		fields   []string
		want     time.Time
		flags    event.Flag
		rawField string // want event_time_raw
	}{
		{name: "own time", fields: []string{"@timestamp", "2026-03-01T11:59:00Z"},
			want: time.Date(2026, 3, 1, 11, 59, 0, 0, time.UTC)},
		{name: "an hour ahead is fine", fields: []string{"@timestamp", "2026-03-01T13:00:00Z"},
			want: time.Date(2026, 3, 1, 13, 0, 0, 0, time.UTC)},
		{name: "more than an hour ahead", fields: []string{"@timestamp", "2026-03-01T13:00:01Z"},
			want: rcv, flags: event.FlagTimeSkew, rawField: "2026-03-01T13:00:01Z"},
		{name: "before 1990", fields: []string{"ts", "631151999"},
			want: rcv, flags: event.FlagTimeSkew, rawField: "631151999"},
		{name: "old but after 1990", fields: []string{"ts", "631152000"},
			want: time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)},
		{name: "no time", fields: []string{"foo", "bar"}, want: rcv, flags: event.FlagNoTime},
		{name: "unreadable time", fields: []string{"timestamp", "next tuesday"}, want: rcv, flags: event.FlagNoTime,
			rawField: "next tuesday"},
		{name: "intake's time wins", time: time.Date(2026, 3, 1, 11, 0, 0, 0, time.UTC),
			fields: []string{"@timestamp", "2026-03-01T11:59:00Z"}, want: time.Date(2026, 3, 1, 11, 0, 0, 0, time.UTC)},
		{name: "intake's time is checked too", time: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
			fields: []string{"program", "sshd", "message", "x"}, want: rcv, flags: event.FlagTimeSkew,
			rawField: "2027-01-01T00:00:00Z"},
		{name: "windows TimeCreated", fields: []string{"EventID", "1", "Channel", "System", "TimeCreated", "2026-03-01T10:00:00.5Z",
			"@timestamp", "2026-03-01T10:00:03Z"}, want: time.Date(2026, 3, 1, 10, 0, 0, 5e8, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEvent(tt.fields...)
			e.Received = rcv.UnixNano()
			if !tt.time.IsZero() {
				e.Time = tt.time.UnixNano()
			}
			n.Event(e)
			if e.Time != tt.want.UnixNano() || e.Flags != tt.flags {
				t.Errorf("Time %v flags %v (%s), want %v flags %v", e.TimeOf(), e.Flags.Names(), e.Reason, tt.want, tt.flags.Names())
			}
			raw, ok := e.Lookup("event_time_raw")
			if raw != tt.rawField || ok != (tt.rawField != "") {
				t.Errorf("event_time_raw = %q (present %v), want %q", raw, ok, tt.rawField)
			}
			if e.Flags != 0 && e.Reason == "" {
				t.Error("flagged without a reason")
			}
			// Normalising again changes nothing.
			before := *e
			before.Fields = append([]event.Field(nil), e.Fields...)
			n.Event(e)
			if e.Time != before.Time || e.Flags != before.Flags || len(e.Fields) != len(before.Fields) {
				t.Errorf("second Event changed Time %v→%v, flags %v→%v, %d→%d fields", before.TimeOf(), e.TimeOf(),
					before.Flags.Names(), e.Flags.Names(), len(before.Fields), len(e.Fields))
			}
		})
	}
}
