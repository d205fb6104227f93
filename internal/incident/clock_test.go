// SPDX-License-Identifier: Apache-2.0

package incident

import (
	"slices"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // Asia/Tokyo and Europe/Berlin on hosts without zoneinfo

	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/i18n"
)

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("LoadLocation(%q): %v", name, err)
	}
	return loc
}

// endOfDay is 23:59:59.999999999 on the given date in loc.
func endOfDay(y int, m time.Month, d int, loc *time.Location) time.Time {
	return time.Date(y, m, d, 23, 59, 59, 999999999, loc)
}

// flagsOf reads a flag string: P personal data, S sensitive, F financial
// risk, M malicious intent, O over 1,000, E EU residents.
func flagsOf(s string) Flags {
	return Flags{
		PersonalData:    strings.Contains(s, "P"),
		Sensitive:       strings.Contains(s, "S"),
		FinancialRisk:   strings.Contains(s, "F"),
		MaliciousIntent: strings.Contains(s, "M"),
		Over1000:        strings.Contains(s, "O"),
		EUResidents:     strings.Contains(s, "E"),
	}
}

func deadline(ds []Deadline, k DeadlineKind) (Deadline, bool) {
	i := slices.IndexFunc(ds, func(d Deadline) bool { return d.Kind == k })
	if i < 0 {
		return Deadline{}, false
	}
	return ds[i], true
}

func TestPPCReportable(t *testing.T) {
	t.Parallel()
	const (
		s = "incidentclock.ppc.sensitive"
		f = "incidentclock.ppc.financial_risk"
		m = "incidentclock.ppc.malicious_intent"
		o = "incidentclock.ppc.over_1000"
	)
	tests := []struct {
		flags string
		want  bool
		why   []string
	}{
		// Personal data with every combination of the four situations.
		{"P", false, nil},
		{"PS", true, []string{s}},
		{"PF", true, []string{f}},
		{"PM", true, []string{m}},
		{"PO", true, []string{o}},
		{"PSF", true, []string{s, f}},
		{"PSM", true, []string{s, m}},
		{"PSO", true, []string{s, o}},
		{"PFM", true, []string{f, m}},
		{"PFO", true, []string{f, o}},
		{"PMO", true, []string{m, o}},
		{"PSFM", true, []string{s, f, m}},
		{"PSFO", true, []string{s, f, o}},
		{"PSMO", true, []string{s, m, o}},
		{"PFMO", true, []string{f, m, o}},
		{"PSFMO", true, []string{s, f, m, o}},
		// Without personal data no situation counts.
		{"", false, nil},
		{"S", false, nil},
		{"F", false, nil},
		{"M", false, nil},
		{"O", false, nil},
		{"SF", false, nil},
		{"SFMO", false, nil},
		{"SFMOE", false, nil},
		// EU residents alone is no PPC situation.
		{"PE", false, nil},
		{"E", false, nil},
		{"PSE", true, []string{s}},
		{"PMOE", true, []string{m, o}},
	}
	for _, tt := range tests {
		got, why := flagsOf(tt.flags).PPCReportable()
		if got != tt.want || !slices.Equal(why, tt.why) {
			t.Errorf("Flags(%q).PPCReportable() = %v, %v; want %v, %v", tt.flags, got, why, tt.want, tt.why)
		}
	}
}

func TestClockGDPRApplies(t *testing.T) {
	t.Parallel()
	for flags, want := range map[string]bool{"PE": true, "PSFMOE": true, "E": false, "P": false, "": false, "SFMOE": false} {
		if got := flagsOf(flags).GDPRApplies(); got != want {
			t.Errorf("Flags(%q).GDPRApplies() = %v, want %v", flags, got, want)
		}
	}
}

func TestClockFlagNames(t *testing.T) {
	t.Parallel()
	all := flagsOf("PSFMOE")
	if got := all.Names(); !slices.Equal(got, PlaybookFlags) {
		t.Errorf("Names() of every flag = %v, want PlaybookFlags %v", got, PlaybookFlags)
	}
	if got := (Flags{}).Names(); got != nil {
		t.Errorf("Flags{}.Names() = %v, want nil", got)
	}
	for _, s := range []string{"", "P", "PM", "SO", "PSFMOE", "E"} {
		f := flagsOf(s)
		back, err := FlagsOf(f.Names())
		if err != nil || back != f {
			t.Errorf("FlagsOf(%v) = %+v, %v; want %+v", f.Names(), back, err, f)
		}
	}
	got, err := FlagsOf([]string{FlagPersonalData, FlagOver1000, FlagPersonalData})
	if want := flagsOf("PO"); err != nil || got != want {
		t.Errorf("FlagsOf(personal_data, over_1000, personal_data) = %+v, %v; want %+v", got, err, want)
	}
	if _, err := FlagsOf([]string{FlagSensitive, "Sensitive"}); !fault.Is(err, fault.Invalid) || !strings.Contains(err.Error(), `"Sensitive"`) {
		t.Errorf("FlagsOf(sensitive, Sensitive) error = %v, want Invalid naming \"Sensitive\"", err)
	}
}

func TestDeadlinesPPC(t *testing.T) {
	t.Parallel()
	jst := mustLoc(t, "Asia/Tokyo")
	tests := []struct {
		name   string
		aware  time.Time
		flags  string
		days   int // PPCPreliminaryDays; 0 for the default
		prelim time.Time
		final  time.Time
	}{
		{"brief example 23:30 JST", time.Date(2026, 4, 1, 23, 30, 0, 0, jst), "PS", 3,
			endOfDay(2026, 4, 4, jst), endOfDay(2026, 5, 1, jst)},
		{"23:59:59 JST is 14:59:59 UTC the same day", time.Date(2026, 3, 31, 14, 59, 59, 0, time.UTC), "PS", 0,
			endOfDay(2026, 4, 3, jst), endOfDay(2026, 4, 30, jst)},
		{"00:00 JST is 15:00 UTC the day before", time.Date(2026, 3, 31, 15, 0, 0, 0, time.UTC), "PS", 0,
			endOfDay(2026, 4, 4, jst), endOfDay(2026, 5, 1, jst)},
		{"last nanosecond of a JST day", time.Date(2026, 3, 31, 23, 59, 59, 999999999, jst), "PF", 0,
			endOfDay(2026, 4, 3, jst), endOfDay(2026, 4, 30, jst)},
		{"aware in New York, date taken in JST", time.Date(2026, 6, 30, 11, 30, 0, 0, mustLoc(t, "America/New_York")), "PO", 0,
			endOfDay(2026, 7, 4, jst), endOfDay(2026, 7, 31, jst)},
		{"4 days", time.Date(2026, 4, 1, 10, 0, 0, 0, jst), "PO", 4,
			endOfDay(2026, 4, 5, jst), endOfDay(2026, 5, 1, jst)},
		{"5 days", time.Date(2026, 4, 1, 10, 0, 0, 0, jst), "PO", 5,
			endOfDay(2026, 4, 6, jst), endOfDay(2026, 5, 1, jst)},
		{"out-of-range 9 days is held at 5", time.Date(2026, 4, 1, 10, 0, 0, 0, jst), "PO", 9,
			endOfDay(2026, 4, 6, jst), endOfDay(2026, 5, 1, jst)},
		{"out-of-range 1 day is held at 3", time.Date(2026, 4, 1, 10, 0, 0, 0, jst), "PO", 1,
			endOfDay(2026, 4, 4, jst), endOfDay(2026, 5, 1, jst)},
		{"month end, February of a common year", time.Date(2026, 1, 30, 12, 0, 0, 0, jst), "PS", 0,
			endOfDay(2026, 2, 2, jst), endOfDay(2026, 3, 1, jst)},
		{"weekend is counted (Friday to Monday)", time.Date(2026, 5, 1, 9, 0, 0, 0, jst), "PS", 3,
			endOfDay(2026, 5, 4, jst), endOfDay(2026, 5, 31, jst)},
		{"year end", time.Date(2026, 12, 30, 9, 0, 0, 0, jst), "PS", 0,
			endOfDay(2027, 1, 2, jst), endOfDay(2027, 1, 29, jst)},
		{"new year in JST, still old year in UTC", time.Date(2026, 12, 31, 15, 0, 0, 0, time.UTC), "PS", 0,
			endOfDay(2027, 1, 4, jst), endOfDay(2027, 1, 31, jst)},
		{"old year's last second in JST", time.Date(2026, 12, 31, 14, 59, 59, 0, time.UTC), "PS", 0,
			endOfDay(2027, 1, 3, jst), endOfDay(2027, 1, 30, jst)},
		{"lands on leap day", time.Date(2028, 2, 26, 18, 0, 0, 0, jst), "PS", 0,
			endOfDay(2028, 2, 29, jst), endOfDay(2028, 3, 27, jst)},
		{"aware on leap day", time.Date(2028, 2, 29, 8, 0, 0, 0, jst), "PS", 0,
			endOfDay(2028, 3, 3, jst), endOfDay(2028, 3, 30, jst)},
		{"final across leap day", time.Date(2028, 2, 28, 8, 0, 0, 0, jst), "PO", 5,
			endOfDay(2028, 3, 4, jst), endOfDay(2028, 3, 29, jst)},
		{"60 days for malicious intent", time.Date(2026, 4, 1, 23, 30, 0, 0, jst), "PM", 0,
			endOfDay(2026, 4, 4, jst), endOfDay(2026, 5, 31, jst)},
		{"60 days across the year end", time.Date(2026, 11, 15, 10, 0, 0, 0, jst), "PSM", 0,
			endOfDay(2026, 11, 18, jst), endOfDay(2027, 1, 14, jst)},
		{"60 days across leap February", time.Date(2028, 1, 15, 10, 0, 0, 0, jst), "PMO", 0,
			endOfDay(2028, 1, 18, jst), endOfDay(2028, 3, 15, jst)},
		{"60 days from 00:00 JST (UTC the day before)", time.Date(2026, 3, 31, 15, 0, 0, 0, time.UTC), "PM", 0,
			endOfDay(2026, 4, 4, jst), endOfDay(2026, 5, 31, jst)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ds := Deadlines(tt.aware, flagsOf(tt.flags), "", Policy{PPCPreliminaryDays: tt.days})
			if len(ds) != 2 {
				t.Fatalf("Deadlines(%v, %q) = %d clocks %+v, want the two PPC ones", tt.aware, tt.flags, len(ds), ds)
			}
			for _, c := range []struct {
				kind DeadlineKind
				want time.Time
			}{{DeadlinePPCPreliminary, tt.prelim}, {DeadlinePPCFinal, tt.final}} {
				d, ok := deadline(ds, c.kind)
				switch {
				case !ok:
					t.Errorf("Deadlines(%v, %q): no %s clock", tt.aware, tt.flags, c.kind)
				case !d.Due.Equal(c.want):
					t.Errorf("Deadlines(%v, %q) %s due %v, want %v", tt.aware, tt.flags, c.kind, d.Due, c.want)
				case d.Due.Location().String() != "Asia/Tokyo":
					t.Errorf("Deadlines(%v, %q) %s due in %v, want Asia/Tokyo", tt.aware, tt.flags, c.kind, d.Due.Location())
				case !d.Hard || !d.From.Equal(tt.aware):
					t.Errorf("Deadlines(%v, %q) %s = %+v, want Hard and From the awareness", tt.aware, tt.flags, c.kind, d)
				}
			}
		})
	}
}

func TestDeadlinesPPCBasis(t *testing.T) {
	t.Parallel()
	aware := time.Date(2026, 4, 1, 1, 0, 0, 0, time.UTC)
	tests := []struct {
		flags, days   string
		prelim, final []any
		finalBasis    string
	}{
		{"PS", "", []any{"count", 3}, []any{"count", 30}, "incidentclock.basis.ppc_final"},
		{"PM", "", []any{"count", 3}, []any{"count", 60}, "incidentclock.basis.ppc_final_malicious"},
		{"PO", "5", []any{"count", 5}, []any{"count", 30}, "incidentclock.basis.ppc_final"},
	}
	for _, tt := range tests {
		p := DefaultPolicy()
		if tt.days == "5" {
			p.PPCPreliminaryDays = 5
		}
		ds := Deadlines(aware, flagsOf(tt.flags), "", p)
		pre, _ := deadline(ds, DeadlinePPCPreliminary)
		fin, _ := deadline(ds, DeadlinePPCFinal)
		if pre.Basis != "incidentclock.basis.ppc_preliminary" || !slices.Equal(pre.BasisArgs, tt.prelim) {
			t.Errorf("Deadlines(%q) preliminary basis %s %v, want incidentclock.basis.ppc_preliminary %v", tt.flags, pre.Basis, pre.BasisArgs, tt.prelim)
		}
		if fin.Basis != tt.finalBasis || !slices.Equal(fin.BasisArgs, tt.final) {
			t.Errorf("Deadlines(%q) final basis %s %v, want %s %v", tt.flags, fin.Basis, fin.BasisArgs, tt.finalBasis, tt.final)
		}
	}
}

func TestDeadlinesGDPRAcrossDST(t *testing.T) {
	t.Parallel()
	berlin := mustLoc(t, "Europe/Berlin")
	tests := []struct {
		name  string
		aware time.Time
		due   time.Time // wall clock in Berlin
	}{
		{"spring forward 2026-03-29", time.Date(2026, 3, 28, 12, 0, 0, 0, berlin), time.Date(2026, 3, 31, 13, 0, 0, 0, berlin)},
		{"spring forward, aware in the last CET hour", time.Date(2026, 3, 29, 1, 30, 0, 0, berlin), time.Date(2026, 4, 1, 2, 30, 0, 0, berlin)},
		{"fall back 2026-10-25", time.Date(2026, 10, 24, 12, 0, 0, 0, berlin), time.Date(2026, 10, 27, 11, 0, 0, 0, berlin)},
		{"fall back, aware in the first of the repeated hours", time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC), time.Date(2026, 10, 28, 1, 30, 0, 0, berlin)},
		{"no change", time.Date(2026, 7, 1, 9, 15, 0, 0, berlin), time.Date(2026, 7, 4, 9, 15, 0, 0, berlin)},
	}
	for _, tt := range tests {
		for _, loc := range []*time.Location{nil, berlin, time.UTC} {
			ds := Deadlines(tt.aware, flagsOf("PE"), "", Policy{Location: loc})
			d, ok := deadline(ds, DeadlineGDPR)
			if !ok || len(ds) != 1 {
				t.Fatalf("%s: Deadlines(%v, PE) = %+v, want one GDPR clock", tt.name, tt.aware, ds)
			}
			if !d.Due.Equal(tt.due) || d.Due.Sub(tt.aware) != 72*time.Hour || !d.Hard {
				t.Errorf("%s (location %v): GDPR due %v (%v after awareness), want %v, 72h after, hard", tt.name, loc, d.Due.In(berlin), d.Due.Sub(tt.aware), tt.due)
			}
			if d.Basis != "incidentclock.basis.gdpr_authority" || !slices.Equal(d.BasisArgs, []any{"count", 72}) {
				t.Errorf("%s: GDPR basis %s %v", tt.name, d.Basis, d.BasisArgs)
			}
		}
	}
}

func TestDeadlinesSLA(t *testing.T) {
	t.Parallel()
	aware := time.Date(2026, 4, 1, 23, 50, 0, 0, mustLoc(t, "Asia/Tokyo"))
	type clock struct {
		after time.Duration
		basis string
		count int
	}
	tests := []struct {
		sev          Severity
		sla          map[Severity]SLA
		ack, contain clock
	}{
		{SeverityCritical, nil, clock{15 * time.Minute, "minutes", 15}, clock{4 * time.Hour, "hours", 4}},
		{SeverityHigh, nil, clock{time.Hour, "hours", 1}, clock{24 * time.Hour, "days", 1}},
		{SeverityMedium, nil, clock{4 * time.Hour, "hours", 4}, clock{72 * time.Hour, "days", 3}},
		{SeverityLow, nil, clock{24 * time.Hour, "days", 1}, clock{7 * 24 * time.Hour, "days", 7}},
		{SeverityHigh, map[Severity]SLA{SeverityHigh: {Acknowledge: 30 * time.Minute, Contain: 90 * time.Minute}},
			clock{30 * time.Minute, "minutes", 30}, clock{90 * time.Minute, "minutes", 90}},
		{SeverityMedium, map[Severity]SLA{SeverityHigh: {Acknowledge: time.Minute, Contain: time.Minute}},
			clock{4 * time.Hour, "hours", 4}, clock{72 * time.Hour, "days", 3}},
		{SeverityLow, map[Severity]SLA{SeverityLow: {Acknowledge: 2 * time.Hour}},
			clock{2 * time.Hour, "hours", 2}, clock{7 * 24 * time.Hour, "days", 7}},
		{SeverityCritical, map[Severity]SLA{SeverityCritical: {Acknowledge: 90 * time.Second, Contain: 36 * time.Hour}},
			clock{90 * time.Second, "minutes", 2}, clock{36 * time.Hour, "hours", 36}},
	}
	for _, tt := range tests {
		ds := Deadlines(aware, Flags{}, tt.sev, Policy{SLA: tt.sla})
		if len(ds) != 2 {
			t.Fatalf("Deadlines(%s, SLA %v) = %+v, want two SLA clocks", tt.sev, tt.sla, ds)
		}
		for _, c := range []struct {
			kind DeadlineKind
			want clock
		}{{DeadlineAcknowledge, tt.ack}, {DeadlineContain, tt.contain}} {
			d, ok := deadline(ds, c.kind)
			basis := "incidentclock.basis." + string(c.kind) + "." + c.want.basis
			switch {
			case !ok:
				t.Errorf("Deadlines(%s): no %s clock", tt.sev, c.kind)
			case d.Due.Sub(aware) != c.want.after || d.Hard:
				t.Errorf("Deadlines(%s, SLA %v) %s due %v after awareness (hard %v), want %v, internal", tt.sev, tt.sla, c.kind, d.Due.Sub(aware), d.Hard, c.want.after)
			case d.Basis != basis || !slices.Equal(d.BasisArgs, []any{"count", c.want.count}):
				t.Errorf("Deadlines(%s) %s basis %s %v, want %s count %d", tt.sev, c.kind, d.Basis, d.BasisArgs, basis, c.want.count)
			}
		}
	}
	for _, sev := range []Severity{"", "urgent", "Critical"} {
		if ds := Deadlines(aware, Flags{}, sev, DefaultPolicy()); len(ds) != 0 {
			t.Errorf("Deadlines(severity %q) = %+v, want no clock", sev, ds)
		}
	}
}

func TestDeadlinesAll(t *testing.T) {
	t.Parallel()
	jst := mustLoc(t, "Asia/Tokyo")
	aware := time.Date(2026, 4, 1, 23, 30, 0, 0, jst)
	ds := Deadlines(aware, flagsOf("PSFMOE"), SeverityCritical, DefaultPolicy())
	want := []struct {
		kind DeadlineKind
		due  time.Time
	}{
		{DeadlineAcknowledge, aware.Add(15 * time.Minute)},
		{DeadlineContain, aware.Add(4 * time.Hour)},
		{DeadlineGDPR, aware.Add(72 * time.Hour)},
		{DeadlinePPCPreliminary, endOfDay(2026, 4, 4, jst)},
		{DeadlinePPCFinal, endOfDay(2026, 5, 31, jst)},
	}
	if len(ds) != len(want) {
		t.Fatalf("Deadlines(all flags, critical) = %d clocks %+v, want %d", len(ds), ds, len(want))
	}
	for i, w := range want {
		if ds[i].Kind != w.kind || !ds[i].Due.Equal(w.due) {
			t.Errorf("Deadlines(all flags, critical)[%d] = %s due %v, want %s due %v", i, ds[i].Kind, ds[i].Due, w.kind, w.due)
		}
		if !ds[i].Kind.Valid() || ds[i].Hard != ds[i].Kind.Hard() {
			t.Errorf("Deadlines(all flags, critical)[%d] = %+v: kind invalid or Hard mismatched", i, ds[i])
		}
	}
	if ds := Deadlines(time.Time{}, flagsOf("PSFMOE"), SeverityCritical, DefaultPolicy()); ds != nil {
		t.Errorf("Deadlines(zero awareness) = %+v, want none", ds)
	}
	if ds := Deadlines(aware, flagsOf("P"), "", DefaultPolicy()); ds != nil {
		t.Errorf("Deadlines(personal data only, no severity) = %+v, want none", ds)
	}
}

func TestDeadlineState(t *testing.T) {
	t.Parallel()
	jst := mustLoc(t, "Asia/Tokyo")
	from := time.Date(2026, 4, 1, 9, 0, 0, 0, jst)
	short := Deadline{Kind: DeadlineContain, From: from, Due: from.Add(4 * time.Hour)} // window 1h
	long := Deadlines(from, flagsOf("PS"), "", DefaultPolicy())[1]                     // final, window 24h
	if long.Kind != DeadlinePPCFinal || !long.Due.Equal(endOfDay(2026, 5, 1, jst)) {
		t.Fatalf("PPC final clock = %+v", long)
	}
	var zero time.Time
	ns := time.Nanosecond
	tests := []struct {
		name     string
		d        Deadline
		now, met time.Time
		want     DeadlineState
	}{
		{"at start", short, from, zero, StateUpcoming},
		{"before start", short, from.Add(-time.Hour), zero, StateUpcoming},
		{"just before the window", short, short.Due.Add(-time.Hour - ns), zero, StateUpcoming},
		{"window opens (25% of 4h)", short, short.Due.Add(-time.Hour), zero, StateDueSoon},
		{"at due", short, short.Due, zero, StateDueSoon},
		{"just past due", short, short.Due.Add(ns), zero, StateOverdue},
		{"long after due", short, short.Due.Add(48 * time.Hour), zero, StateOverdue},
		{"met at due", short, short.Due.Add(time.Hour), short.Due, StateMet},
		{"met early, now before due", short, from.Add(time.Minute), from.Add(time.Minute), StateMet},
		{"met just late", short, short.Due.Add(time.Hour), short.Due.Add(ns), StateMetLate},
		{"met late, now before met", short, from, short.Due.Add(time.Hour), StateMetLate},
		{"30 days: just before the 24h cap", long, long.Due.Add(-24*time.Hour - ns), zero, StateUpcoming},
		{"30 days: 24h cap", long, long.Due.Add(-24 * time.Hour), zero, StateDueSoon},
		{"30 days: last instant of the day", long, endOfDay(2026, 5, 1, jst), zero, StateDueSoon},
		{"30 days: next JST midnight", long, time.Date(2026, 5, 2, 0, 0, 0, 0, jst), zero, StateOverdue},
		{"30 days: same midnight from UTC", long, time.Date(2026, 5, 1, 15, 0, 0, 0, time.UTC), zero, StateOverdue},
		{"30 days: met at 23:59:59.999999999 JST", long, long.Due.Add(time.Hour), long.Due, StateMet},
		{"zero span", Deadline{From: from, Due: from}, from, zero, StateDueSoon},
		{"zero span, after", Deadline{From: from, Due: from}, from.Add(ns), zero, StateOverdue},
	}
	for _, tt := range tests {
		if got := tt.d.State(tt.now, tt.met); got != tt.want || !got.Valid() {
			t.Errorf("%s: %s.State(%v, %v) = %s, want %s", tt.name, tt.d.Kind, tt.now, tt.met, got, tt.want)
		}
	}
}

func TestDeadlineDueSoonWindowAndRemaining(t *testing.T) {
	t.Parallel()
	from := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	for span, want := range map[time.Duration]time.Duration{
		15 * time.Minute:    225 * time.Second,
		time.Hour:           15 * time.Minute,
		96 * time.Hour:      24 * time.Hour,
		95 * time.Hour:      95 * time.Hour / 4,
		30 * 24 * time.Hour: 24 * time.Hour,
		0:                   0,
		-time.Hour:          0,
	} {
		d := Deadline{From: from, Due: from.Add(span)}
		if got := d.DueSoonWindow(); got != want {
			t.Errorf("DueSoonWindow() for a %v span = %v, want %v", span, got, want)
		}
	}
	d := Deadline{From: from, Due: from.Add(time.Hour)}
	for now, want := range map[time.Time]time.Duration{
		from:                       time.Hour,
		from.Add(time.Hour):        0,
		from.Add(90 * time.Minute): -30 * time.Minute,
	} {
		if got := d.Remaining(now); got != want {
			t.Errorf("Remaining(%v) for due %v = %v, want %v", now, d.Due, got, want)
		}
	}
}

func TestReminders(t *testing.T) {
	t.Parallel()
	jst := mustLoc(t, "Asia/Tokyo")
	aware := time.Date(2026, 4, 1, 23, 30, 0, 0, jst)
	ds := Deadlines(aware, flagsOf("PS"), SeverityCritical, DefaultPolicy())
	get := func(k DeadlineKind) Deadline {
		d, ok := deadline(ds, k)
		if !ok {
			t.Fatalf("no %s clock in %+v", k, ds)
		}
		return d
	}
	prelim := get(DeadlinePPCPreliminary)
	due := endOfDay(2026, 4, 4, jst)
	at := func(y int, mo time.Month, d, h, mi, s, ns int) time.Time {
		return time.Date(y, mo, d, h, mi, s, ns, jst)
	}
	sla := func(sev Severity, k DeadlineKind) Deadline {
		d, ok := deadline(Deadlines(aware, Flags{}, sev, DefaultPolicy()), k)
		if !ok {
			t.Fatalf("no %s clock for %s", k, sev)
		}
		return d
	}
	tests := []struct {
		name string
		d    Deadline
		now  time.Time
		want []time.Time
	}{
		{"PPC at awareness", prelim, aware, []time.Time{at(2026, 4, 3, 23, 59, 59, 999999999), at(2026, 4, 4, 21, 59, 59, 999999999), due}},
		{"PPC just after the 24h reminder", prelim, at(2026, 4, 4, 0, 0, 0, 0), []time.Time{at(2026, 4, 4, 21, 59, 59, 999999999), due}},
		{"PPC exactly at the 2h reminder", prelim, at(2026, 4, 4, 21, 59, 59, 999999999), []time.Time{at(2026, 4, 4, 21, 59, 59, 999999999), due}},
		{"PPC just after the 2h reminder", prelim, at(2026, 4, 4, 22, 0, 0, 0), []time.Time{due}},
		{"PPC at due", prelim, due, []time.Time{due}},
		{"PPC past due", prelim, due.Add(time.Nanosecond), nil},
		{"critical acknowledge (15m): due-soon moment and due", sla(SeverityCritical, DeadlineAcknowledge), aware,
			[]time.Time{aware.Add(11*time.Minute + 15*time.Second), aware.Add(15 * time.Minute)}},
		{"critical acknowledge after the due-soon moment", sla(SeverityCritical, DeadlineAcknowledge), aware.Add(12 * time.Minute),
			[]time.Time{aware.Add(15 * time.Minute)}},
		{"high acknowledge (1h)", sla(SeverityHigh, DeadlineAcknowledge), aware,
			[]time.Time{aware.Add(45 * time.Minute), aware.Add(time.Hour)}},
		{"critical contain (4h): 2h before and due", sla(SeverityCritical, DeadlineContain), aware,
			[]time.Time{aware.Add(2 * time.Hour), aware.Add(4 * time.Hour)}},
		{"low acknowledge (24h): 24h before is the start, dropped", sla(SeverityLow, DeadlineAcknowledge), aware,
			[]time.Time{aware.Add(22 * time.Hour), aware.Add(24 * time.Hour)}},
		{"low contain (7 days)", sla(SeverityLow, DeadlineContain), aware,
			[]time.Time{aware.Add(6 * 24 * time.Hour), aware.Add(7*24*time.Hour - 2*time.Hour), aware.Add(7 * 24 * time.Hour)}},
		{"now before the clock started", sla(SeverityHigh, DeadlineContain), aware.Add(-time.Hour),
			[]time.Time{aware.Add(22 * time.Hour), aware.Add(24 * time.Hour)}},
		{"zero span", Deadline{From: aware, Due: aware}, aware, []time.Time{aware}},
	}
	for _, tt := range tests {
		got := tt.d.Reminders(tt.now)
		if !slices.EqualFunc(got, tt.want, time.Time.Equal) {
			t.Errorf("%s: %s.Reminders(%v) = %v, want %v", tt.name, tt.d.Kind, tt.now, got, tt.want)
		}
	}
}

func TestClockPolicyValidate(t *testing.T) {
	t.Parallel()
	if err := DefaultPolicy().Validate(); err != nil {
		t.Fatalf("DefaultPolicy().Validate() = %v", err)
	}
	for _, days := range []int{3, 4, 5} {
		p := DefaultPolicy()
		p.PPCPreliminaryDays = days
		if err := p.Validate(); err != nil {
			t.Errorf("Validate(PPCPreliminaryDays %d) = %v, want nil", days, err)
		}
	}
	for _, days := range []int{-1, 0, 1, 2, 6, 30} {
		p := DefaultPolicy()
		p.PPCPreliminaryDays = days
		err := p.Validate()
		fs := fault.Faults(err)
		if !fault.Is(err, fault.Invalid) || len(fs) != 1 || fs[0].Field != "ppc_preliminary_days" ||
			fs[0].Msg != "incidentclock.policy.ppc_days" || !strings.Contains(err.Error(), "must be 3 to 5") {
			t.Errorf("Validate(PPCPreliminaryDays %d) = %v, want one Invalid ppc_preliminary_days fault saying 3 to 5", days, err)
		}
	}
	tests := []struct {
		name   string
		sla    map[Severity]SLA
		fields []string
	}{
		{"one severity overridden", map[Severity]SLA{SeverityHigh: {Acknowledge: 30 * time.Minute, Contain: 8 * time.Hour}}, nil},
		{"equal times", map[Severity]SLA{SeverityLow: {Acknowledge: time.Hour, Contain: time.Hour}}, nil},
		{"unknown severity", map[Severity]SLA{"urgent": {Acknowledge: time.Hour, Contain: 2 * time.Hour}}, []string{"sla.urgent"}},
		{"zero acknowledge", map[Severity]SLA{SeverityHigh: {Contain: time.Hour}}, []string{"sla.high.acknowledge"}},
		{"negative contain", map[Severity]SLA{SeverityHigh: {Acknowledge: time.Minute, Contain: -time.Hour}}, []string{"sla.high.contain"}},
		{"seconds", map[Severity]SLA{SeverityMedium: {Acknowledge: 90 * time.Second, Contain: time.Hour}}, []string{"sla.medium.acknowledge"}},
		{"contain before acknowledge", map[Severity]SLA{SeverityCritical: {Acknowledge: 2 * time.Hour, Contain: time.Hour}}, []string{"sla.critical.contain"}},
		{"every problem at once", map[Severity]SLA{
			SeverityLow: {}, "x": {}, SeverityCritical: {Acknowledge: time.Hour, Contain: time.Minute},
		}, []string{"sla.critical.contain", "sla.low.acknowledge", "sla.low.contain", "sla.x"}},
	}
	for _, tt := range tests {
		p := DefaultPolicy()
		p.SLA = tt.sla
		err := p.Validate()
		var fields []string
		for _, f := range fault.Faults(err) {
			if f.Kind != fault.Invalid || !strings.HasPrefix(f.Msg, "incidentclock.policy.") || f.Err == nil {
				t.Errorf("%s: fault %+v, want Invalid incidentclock.policy.* with a cause", tt.name, f)
			}
			fields = append(fields, f.Field)
		}
		if !slices.Equal(fields, tt.fields) {
			t.Errorf("%s: Validate() = %v, fields %v; want %v", tt.name, err, fields, tt.fields)
		}
	}
	p := DefaultPolicy()
	p.PPCPreliminaryDays, p.SLA = 7, map[Severity]SLA{SeverityHigh: {}}
	if fs := fault.Faults(p.Validate()); len(fs) != 3 {
		t.Errorf("Validate(7 days, empty high SLA) = %d faults %v, want 3", len(fs), fs)
	}
}

func TestClockFormatDue(t *testing.T) {
	t.Parallel()
	jst := mustLoc(t, "Asia/Tokyo")
	prelim := Deadlines(time.Date(2026, 4, 1, 23, 30, 0, 0, jst), flagsOf("PS"), "", DefaultPolicy())[0]
	fixed := Deadlines(time.Date(2026, 4, 1, 14, 30, 0, 0, time.UTC), flagsOf("PS"), "", Policy{Location: time.FixedZone("JST", 9*3600)})[0]
	berlin := Deadlines(time.Date(2026, 3, 28, 12, 0, 0, 0, time.UTC), flagsOf("PE"), "", Policy{Location: mustLoc(t, "Europe/Berlin")})[0]
	tests := []struct {
		d    Deadline
		lang i18n.Lang
		want string
	}{
		{prelim, i18n.English, "2026-04-04 23:59 JST"},
		{prelim, i18n.Japanese, "2026年4月4日 23:59 (JST)"},
		{prelim, "fr", "2026-04-04 23:59 JST"},
		{fixed, i18n.Japanese, "2026年4月4日 23:59 (JST)"},
		{berlin, i18n.English, "2026-03-31 14:00 CEST"},
		{Deadline{}, i18n.Japanese, ""},
	}
	for _, tt := range tests {
		if got := FormatDue(tt.d, tt.lang); got != tt.want {
			t.Errorf("FormatDue(%v, %s) = %q, want %q", tt.d.Due, tt.lang, got, tt.want)
		}
	}
}

func TestClockTokyo(t *testing.T) {
	t.Parallel()
	loc := Tokyo()
	for _, tm := range []time.Time{
		time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC), time.Date(2040, 12, 31, 0, 0, 0, 0, time.UTC),
	} {
		if name, off := tm.In(loc).Zone(); name != "JST" || off != 9*3600 {
			t.Errorf("Tokyo() at %v: zone %s %+d, want JST +32400", tm, name, off)
		}
	}
}

// TestClockMessages checks that every message id the clocks hand out
// exists in both languages and fills in all its arguments.
func TestClockMessages(t *testing.T) {
	t.Parallel()
	c, err := i18n.Load()
	if err != nil {
		t.Fatalf("i18n.Load: %v", err)
	}
	type msg struct {
		id   string
		args []any
	}
	var msgs []msg
	aware := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	policies := []Policy{DefaultPolicy(), {SLA: map[Severity]SLA{
		SeverityCritical: {Acknowledge: time.Minute, Contain: 2 * time.Minute},
		SeverityHigh:     {Acknowledge: time.Hour, Contain: 2 * time.Hour},
		SeverityLow:      {Acknowledge: 24 * time.Hour, Contain: 48 * time.Hour},
	}}}
	for _, p := range policies {
		for _, sev := range Severities {
			for _, f := range []string{"PSFOE", "PSFMOE"} {
				for _, d := range Deadlines(aware, flagsOf(f), sev, p) {
					msgs = append(msgs, msg{d.Basis, d.BasisArgs}, msg{"incidentclock.kind." + string(d.Kind), nil})
				}
			}
		}
	}
	_, why := flagsOf("PSFMO").PPCReportable()
	for _, id := range why {
		msgs = append(msgs, msg{id, nil})
	}
	for _, s := range DeadlineStates {
		msgs = append(msgs, msg{"incidentclock.state." + string(s), nil})
	}
	for _, n := range PlaybookFlags {
		msgs = append(msgs, msg{"incidentclock.flag." + n, nil})
	}
	msgs = append(msgs, msg{"incidentclock.hard", nil}, msg{"incidentclock.internal", nil})
	bad := Policy{PPCPreliminaryDays: 9, SLA: map[Severity]SLA{"x": {}, SeverityHigh: {Acknowledge: time.Second}, SeverityLow: {Acknowledge: 2 * time.Hour, Contain: time.Hour}}}
	for _, f := range fault.Faults(bad.Validate()) {
		msgs = append(msgs, msg{f.Msg, f.Args})
	}
	_, err = FlagsOf([]string{"nope"})
	for _, f := range fault.Faults(err) {
		msgs = append(msgs, msg{f.Msg, f.Args})
	}
	if len(msgs) < 40 {
		t.Fatalf("only %d messages collected", len(msgs))
	}
	for _, m := range msgs {
		for _, l := range i18n.Langs {
			got := c.T(l, m.id, m.args...)
			if !c.Has(l, m.id) || strings.ContainsAny(got, "{}") {
				t.Errorf("T(%s, %s, %v) = %q: missing or with an unfilled argument", l, m.id, m.args, got)
			}
		}
	}
	pre := Deadlines(aware, flagsOf("PS"), "", Policy{PPCPreliminaryDays: 4})[0]
	if got, want := c.T(i18n.Japanese, pre.Basis, pre.BasisArgs...), "発覚日から4日以内"; !strings.HasPrefix(got, want) {
		t.Errorf("Japanese basis of a 4-day preliminary report = %q, want it to start %q", got, want)
	}
	ack := Deadlines(aware, Flags{}, SeverityHigh, DefaultPolicy())[0]
	if got, want := c.T(i18n.English, ack.Basis, ack.BasisArgs...), "Acknowledge within 1 hour of awareness"; !strings.HasPrefix(got, want) {
		t.Errorf("English basis of the high acknowledgement = %q, want it to start %q", got, want)
	}
}

// FuzzClockDeadlines checks the clocks' invariants for any awareness time in
// years 1 to 9999, any flags, policy days and severity text (severities and
// policies come from stored records and settings forms).
func FuzzClockDeadlines(f *testing.F) {
	for _, s := range []struct {
		sec   int64
		nsec  int64
		flags uint8
		days  int
		sev   string
		now   int64
	}{
		{time.Date(2026, 3, 31, 14, 59, 59, 0, time.UTC).Unix(), 0, 0b000011, 3, "critical", 3600},
		{time.Date(2026, 3, 31, 15, 0, 0, 0, time.UTC).Unix(), 0, 0b111111, 5, "low", -1},
		{time.Date(2028, 2, 28, 15, 0, 0, 0, time.UTC).Unix(), 999999999, 0b001001, 0, "", 86400 * 3},
		{time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC).Unix(), 1, 0b100001, 9, "high", 72 * 3600},
		{-62135596800, 0, 0b11111, -4, "medium", 0},
	} {
		f.Add(s.sec, s.nsec, s.flags, s.days, s.sev, s.now)
	}
	jst := Tokyo()
	lo, hi := time.Date(1, 1, 2, 0, 0, 0, 0, time.UTC).Unix(), time.Date(9999, 12, 1, 0, 0, 0, 0, time.UTC).Unix()
	f.Fuzz(func(t *testing.T, sec, nsec int64, bits uint8, days int, sev string, nowOff int64) {
		if sec < lo || sec > hi {
			sec = lo + (sec%(hi-lo)+(hi-lo))%(hi-lo)
		}
		aware := time.Unix(sec, nsec%1e9)
		fl := Flags{bits&1 != 0, bits&2 != 0, bits&4 != 0, bits&8 != 0, bits&16 != 0, bits&32 != 0}
		p := Policy{PPCPreliminaryDays: days}
		want := min(max(days, MinPPCPreliminaryDays), MaxPPCPreliminaryDays)
		if days == 0 {
			want = DefaultPPCPreliminaryDays
		}
		calendarDays := func(a, b time.Time) int {
			ya, ma, da := a.In(jst).Date()
			yb, mb, db := b.In(jst).Date()
			return int(time.Date(yb, mb, db, 12, 0, 0, 0, time.UTC).Sub(time.Date(ya, ma, da, 12, 0, 0, 0, time.UTC)) / (24 * time.Hour))
		}
		now := aware.Add(time.Duration(nowOff % int64(100*24*time.Hour)))
		ds := Deadlines(aware, fl, Severity(sev), p)
		for i, d := range ds {
			if i > 0 && d.Due.Before(ds[i-1].Due) {
				t.Fatalf("Deadlines(%v): %s due %v before %s due %v", aware, d.Kind, d.Due, ds[i-1].Kind, ds[i-1].Due)
			}
			if !d.Kind.Valid() || !d.Due.After(aware) || !d.From.Equal(aware) {
				t.Fatalf("Deadlines(%v) = %+v: invalid kind or due not after awareness", aware, d)
			}
			switch d.Kind {
			case DeadlinePPCPreliminary, DeadlinePPCFinal:
				n := want
				if d.Kind == DeadlinePPCFinal {
					n = PPCFinalDays
					if fl.MaliciousIntent {
						n = PPCFinalDaysMalicious
					}
				}
				if h, m, s := d.Due.In(jst).Clock(); h != 23 || m != 59 || s != 59 || d.Due.Nanosecond() != 999999999 || calendarDays(aware, d.Due) != n {
					t.Fatalf("Deadlines(%v, days %d) %s due %v: want the end of the JST day %d days after", aware, days, d.Kind, d.Due, n)
				}
			case DeadlineGDPR:
				if d.Due.Sub(aware) != GDPRNotifyWithin {
					t.Fatalf("Deadlines(%v) GDPR due %v, not 72h later", aware, d.Due)
				}
			}
			if !d.State(now, time.Time{}).Valid() || !d.State(now, now).Valid() {
				t.Fatalf("%s.State(%v) invalid", d.Kind, now)
			}
			rs := d.Reminders(now)
			for j, r := range rs {
				if r.Before(now) || r.After(d.Due) || !r.After(d.From) && !r.Equal(d.Due) || j > 0 && !r.After(rs[j-1]) {
					t.Fatalf("%s.Reminders(%v) = %v: out of order or range (from %v, due %v)", d.Kind, now, rs, d.From, d.Due)
				}
			}
			_ = FormatDue(d, i18n.Japanese)
		}
	})
}
