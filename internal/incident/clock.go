// SPDX-License-Identifier: Apache-2.0

package incident

import (
	"fmt"
	"slices"
	"time"

	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/i18n"
)

// This file holds the deadline clocks an incident starts: the legal ones
// (the PPC 漏えい等報告 under 個人情報保護法 26条 and 施行規則 7条・8条, GDPR
// Art. 33) and koban's internal service levels. Everything here is pure
// arithmetic on times: no store, no goroutines, no clock of its own; the
// caller passes "now".

// Severity is how bad an incident is, stored as-is.
type Severity string

// The severities, from least to most severe.
const (
	SeverityLow      Severity = "low"
	SeverityMedium   Severity = "medium"
	SeverityHigh     Severity = "high"
	SeverityCritical Severity = "critical"
)

// Severities lists every severity from least to most severe.
var Severities = []Severity{SeverityLow, SeverityMedium, SeverityHigh, SeverityCritical}

// Valid reports whether s is one of the severities.
func (s Severity) Valid() bool { return slices.Contains(Severities, s) }

// Flags are the legal facts about an incident that start regulatory clocks.
// Each means "is or may be the case": the PPC rules count suspected cases
// (おそれ) as well as confirmed ones. Flags is comparable, so Flags{} means
// "none set".
type Flags struct {
	// PersonalData: personal data (個人データ) leaked, was lost or
	// damaged (漏えい・滅失・毀損), or may have been.
	PersonalData bool
	// Sensitive: the data includes 要配慮個人情報 (施行規則 7条1号).
	Sensitive bool
	// FinancialRisk: misuse may cause financial damage (財産的被害のおそれ),
	// e.g. card numbers or net-banking credentials (7条2号).
	FinancialRisk bool
	// MaliciousIntent: the leak may have been done for an unlawful purpose
	// (不正の目的のおそれ), e.g. unauthorised access or an insider taking
	// data (7条3号). It doubles the PPC final report's period to 60 days.
	MaliciousIntent bool
	// Over1000: more than 1,000 people are or may be affected (7条4号).
	Over1000 bool
	// EUResidents: personal data of people in the EU is involved, which
	// brings in GDPR Art. 33.
	EUResidents bool
}

// The stored names of the flags, the same as PlaybookFlags.
const (
	FlagPersonalData    = "personal_data"
	FlagSensitive       = "sensitive"
	FlagFinancialRisk   = "financial_risk"
	FlagMaliciousIntent = "malicious_intent"
	FlagOver1000        = "over_1000"
	FlagEUResidents     = "eu_residents"
)

// flagField pairs a flag's stored name with its field.
type flagField struct {
	name string
	v    *bool
}

// fields returns f's flags in PlaybookFlags order.
func (f *Flags) fields() []flagField {
	return []flagField{
		{FlagPersonalData, &f.PersonalData},
		{FlagSensitive, &f.Sensitive},
		{FlagFinancialRisk, &f.FinancialRisk},
		{FlagMaliciousIntent, &f.MaliciousIntent},
		{FlagOver1000, &f.Over1000},
		{FlagEUResidents, &f.EUResidents},
	}
}

// Names returns the stored names of the flags that are set, in PlaybookFlags
// order; nil when none is.
func (f Flags) Names() []string {
	var out []string
	for _, fl := range f.fields() {
		if *fl.v {
			out = append(out, fl.name)
		}
	}
	return out
}

// FlagsOf returns the flags named (as Names writes them, or a playbook
// decision sets them). An unknown name is an Invalid fault naming it.
func FlagsOf(names []string) (Flags, error) {
	var f Flags
	fs := f.fields()
	for _, n := range names {
		i := slices.IndexFunc(fs, func(fl flagField) bool { return fl.name == n })
		if i < 0 {
			return Flags{}, fault.Wrap(fault.Invalid, fmt.Errorf("incident: unknown flag %q", n), "incidentclock.flag_unknown", "value", n)
		}
		*fs[i].v = true
	}
	return f, nil
}

// PPCReportable reports whether the incident must be reported to the
// Personal Information Protection Commission (個人情報保護委員会) and the
// people affected told: personal data is involved and at least one of the
// four situations of 施行規則 7条 holds (要配慮個人情報, 財産的被害のおそれ,
// 不正の目的のおそれ, more than 1,000 people). The first three count from a
// single person; suspicion counts. It also returns the situations that hold,
// as message ids (incidentclock.ppc.*), in the rule's order.
//
// Without PersonalData no situation counts: the rule is about personal data,
// and a form asks that question first. The exemption for data protected by
// strong encryption (高度な暗号化) is for the responder to judge: such an
// incident should not have PersonalData set as leaked.
func (f Flags) PPCReportable() (bool, []string) {
	if !f.PersonalData {
		return false, nil
	}
	var why []string
	if f.Sensitive {
		why = append(why, "incidentclock.ppc.sensitive")
	}
	if f.FinancialRisk {
		why = append(why, "incidentclock.ppc.financial_risk")
	}
	if f.MaliciousIntent {
		why = append(why, "incidentclock.ppc.malicious_intent")
	}
	if f.Over1000 {
		why = append(why, "incidentclock.ppc.over_1000")
	}
	return len(why) > 0, why
}

// GDPRApplies reports whether GDPR Art. 33's notification to the supervisory
// authority may be due: personal data of people in the EU is involved. Art.
// 33 spares breaches unlikely to result in a risk to people; that judgement
// is the responder's, so the clock starts and they may mark it met.
func (f Flags) GDPRApplies() bool { return f.PersonalData && f.EUResidents }

// SLA is koban's internal service level for one severity: how soon an
// incident must be acknowledged (someone has looked and taken it on) and
// contained (the damage stopped from spreading), counted from awareness.
type SLA struct {
	Acknowledge time.Duration
	Contain     time.Duration
}

// DefaultSLA returns the default service levels: critical 15 minutes to
// acknowledge and 4 hours to contain, high 1 hour and 24 hours, medium 4
// hours and 72 hours, low 24 hours and 7 days. They suit a small team with a
// part-time responder: a critical incident (ransomware spreading) pulls
// someone in at once and must be contained within a working morning; a low
// one can wait until the next working day.
func DefaultSLA() map[Severity]SLA {
	return map[Severity]SLA{
		SeverityCritical: {Acknowledge: 15 * time.Minute, Contain: 4 * time.Hour},
		SeverityHigh:     {Acknowledge: time.Hour, Contain: 24 * time.Hour},
		SeverityMedium:   {Acknowledge: 4 * time.Hour, Contain: 72 * time.Hour},
		SeverityLow:      {Acknowledge: 24 * time.Hour, Contain: 7 * 24 * time.Hour},
	}
}

// The PPC preliminary report's period: the guideline asks for it "発覚日から
// おおむね3~5日以内".
const (
	MinPPCPreliminaryDays     = 3
	MaxPPCPreliminaryDays     = 5
	DefaultPPCPreliminaryDays = 3
)

// The PPC final report's period (施行規則 8条2項): 30 days, 60 when the leak
// may have been done for an unlawful purpose.
const (
	PPCFinalDays          = 30
	PPCFinalDaysMalicious = 60
)

// GDPRNotifyWithin is GDPR Art. 33's period for notifying the supervisory
// authority: 72 hours after becoming aware.
const GDPRNotifyWithin = 72 * time.Hour

// Policy holds what an organisation may set about its clocks. A zero field
// takes its default when clocks are computed, so Policy{} behaves as
// DefaultPolicy().
type Policy struct {
	// PPCPreliminaryDays is the period for the PPC preliminary report
	// (速報), in days after the day of awareness: 3 to 5, default 3 (the
	// earliest reading of "おおむね3~5日以内").
	PPCPreliminaryDays int
	// SLA holds the service level per severity; a severity missing here
	// takes DefaultSLA's.
	SLA map[Severity]SLA
	// Location is the time zone of the Japanese rules' calendar days;
	// nil means Asia/Tokyo. It is also the zone deadlines are given in.
	Location *time.Location
}

// DefaultPolicy returns the default policy: a 3-day PPC preliminary report,
// DefaultSLA, and Asia/Tokyo.
func DefaultPolicy() Policy {
	return Policy{PPCPreliminaryDays: DefaultPPCPreliminaryDays, SLA: DefaultSLA(), Location: Tokyo()}
}

// Tokyo returns the Asia/Tokyo time zone. It comes from the time zone
// database (koban embeds one, see internal/app/tzdata.go); should that be
// missing, a fixed UTC+9 zone named JST stands in, which gives the same
// times: Japan has kept no daylight saving time since 1951.
func Tokyo() *time.Location {
	if loc, err := time.LoadLocation("Asia/Tokyo"); err == nil {
		return loc
	}
	return time.FixedZone("JST", 9*60*60)
}

// Validate reports every problem of a policy read from configuration or a
// settings form at once, as a fault.List of Invalid faults whose Field names
// the setting: the PPC preliminary days must be 3 to 5 (a configuration
// starts from DefaultPolicy, so 0 there means someone set it to 0), and each
// service level must name a known severity and give positive whole minutes,
// containment no sooner than acknowledgement.
func (p Policy) Validate() error {
	var errs fault.List
	if p.PPCPreliminaryDays < MinPPCPreliminaryDays || p.PPCPreliminaryDays > MaxPPCPreliminaryDays {
		errs = append(errs, &fault.Error{
			Kind: fault.Invalid, Field: "ppc_preliminary_days",
			Msg: "incidentclock.policy.ppc_days", Args: []any{"value", p.PPCPreliminaryDays, "min", MinPPCPreliminaryDays, "max", MaxPPCPreliminaryDays},
			Err: fmt.Errorf("incident: clock policy: PPC preliminary report days is %d; it must be %d to %d (the guideline says おおむね3~5日以内)",
				p.PPCPreliminaryDays, MinPPCPreliminaryDays, MaxPPCPreliminaryDays),
		})
	}
	sevs := make([]Severity, 0, len(p.SLA))
	for s := range p.SLA {
		sevs = append(sevs, s)
	}
	slices.Sort(sevs)
	for _, s := range sevs {
		errs = append(errs, validateSLA(s, p.SLA[s])...)
	}
	return errs.Err()
}

func validateSLA(s Severity, l SLA) fault.List {
	field := "sla." + string(s)
	if !s.Valid() {
		return fault.List{&fault.Error{
			Kind: fault.Invalid, Field: field, Msg: "incidentclock.policy.sla_severity", Args: []any{"value", string(s)},
			Err: fmt.Errorf("incident: clock policy: SLA for %q: not a severity (low, medium, high, critical)", s),
		}}
	}
	var errs fault.List
	for _, d := range []struct {
		what string
		v    time.Duration
	}{{"acknowledge", l.Acknowledge}, {"contain", l.Contain}} {
		if d.v <= 0 || d.v%time.Minute != 0 {
			errs = append(errs, &fault.Error{
				Kind: fault.Invalid, Field: field + "." + d.what, Msg: "incidentclock.policy.sla_duration",
				Args: []any{"severity", string(s), "value", d.v.String()},
				Err:  fmt.Errorf("incident: clock policy: SLA %s %s is %v; it must be a positive number of whole minutes", s, d.what, d.v),
			})
		}
	}
	if len(errs) == 0 && l.Contain < l.Acknowledge {
		errs = append(errs, &fault.Error{
			Kind: fault.Invalid, Field: field + ".contain", Msg: "incidentclock.policy.sla_order",
			Args: []any{"severity", string(s)},
			Err:  fmt.Errorf("incident: clock policy: SLA %s contain (%v) is sooner than acknowledge (%v)", s, l.Contain, l.Acknowledge),
		})
	}
	return errs
}

// withDefaults fills p's zero fields and keeps the preliminary days within
// 3..5, so that an unvalidated policy can never move a legal deadline past
// what the guideline allows.
func (p Policy) withDefaults() Policy {
	switch {
	case p.PPCPreliminaryDays == 0:
		p.PPCPreliminaryDays = DefaultPPCPreliminaryDays
	case p.PPCPreliminaryDays < MinPPCPreliminaryDays:
		p.PPCPreliminaryDays = MinPPCPreliminaryDays
	case p.PPCPreliminaryDays > MaxPPCPreliminaryDays:
		p.PPCPreliminaryDays = MaxPPCPreliminaryDays
	}
	if p.Location == nil {
		p.Location = Tokyo()
	}
	return p
}

// sla returns the service level for s: the policy's when it sets a valid
// one, else the default; false for an invalid severity.
func (p Policy) sla(s Severity) (SLA, bool) {
	if !s.Valid() {
		return SLA{}, false
	}
	def := DefaultSLA()[s]
	l, ok := p.SLA[s]
	if !ok {
		return def, true
	}
	if l.Acknowledge <= 0 {
		l.Acknowledge = def.Acknowledge
	}
	if l.Contain <= 0 {
		l.Contain = def.Contain
	}
	return l, true
}

// DeadlineKind names a clock, stored as-is.
type DeadlineKind string

// The clocks, in the order Deadlines lists clocks due at the same moment.
const (
	// DeadlinePPCPreliminary is the PPC preliminary report (速報).
	DeadlinePPCPreliminary DeadlineKind = "ppc_preliminary"
	// DeadlinePPCFinal is the PPC final report (確報).
	DeadlinePPCFinal DeadlineKind = "ppc_final"
	// DeadlineGDPR is GDPR Art. 33's notification to the supervisory
	// authority.
	DeadlineGDPR DeadlineKind = "gdpr_authority"
	// DeadlineAcknowledge is the internal service level for taking the
	// incident on.
	DeadlineAcknowledge DeadlineKind = "sla_acknowledge"
	// DeadlineContain is the internal service level for containment.
	DeadlineContain DeadlineKind = "sla_contain"
)

// DeadlineKinds lists every clock.
var DeadlineKinds = []DeadlineKind{DeadlinePPCPreliminary, DeadlinePPCFinal, DeadlineGDPR, DeadlineAcknowledge, DeadlineContain}

// Valid reports whether k is one of the clocks.
func (k DeadlineKind) Valid() bool { return slices.Contains(DeadlineKinds, k) }

// Hard reports whether the clock is a legal one rather than an internal
// target.
func (k DeadlineKind) Hard() bool {
	return k == DeadlinePPCPreliminary || k == DeadlinePPCFinal || k == DeadlineGDPR
}

// Deadline is one running clock of an incident.
type Deadline struct {
	Kind DeadlineKind
	// From is when the clock started: the moment of awareness.
	From time.Time
	// Due is the last moment that still meets the deadline, in the
	// policy's location (Asia/Tokyo by default).
	Due time.Time
	// Basis is the message id explaining the rule behind Due
	// (incidentclock.basis.*) and BasisArgs its arguments, ready for
	// i18n.Catalog.T.
	Basis     string
	BasisArgs []any
	// Hard is true for a legal deadline, false for an internal target.
	Hard bool
}

// Deadlines returns the clocks an incident runs, ordered by due time (then
// by DeadlineKinds order), counted from aware, the moment the organisation
// became aware of it. A zero aware starts no clock.
//
//   - PPC preliminary report (速報), when PPCReportable: counted in calendar
//     days in the policy's location (Asia/Tokyo), following the Civil
//     Code's rule for periods in days: the day of awareness (発覚日) is not
//     counted (民法140条) and the period ends with its last day (民法141条),
//     so aware 2026-04-01 23:30 JST with 3 days is due 2026-04-04
//     23:59:59.999999999 JST. Weekends and holidays are counted, not
//     skipped: the guideline speaks of days, not business days. koban does
//     not apply 民法142条's holiday extension either: a deadline shown too
//     early costs a little haste, one shown too late a breach of the rule.
//   - PPC final report (確報), when PPCReportable: 30 days, 60 when
//     MaliciousIntent, by the same rule.
//   - GDPR Art. 33, when GDPRApplies: exactly 72 hours after aware,
//     counted in elapsed time, so a daylight saving change in an EU zone
//     neither adds nor removes an hour.
//   - Acknowledge and contain service levels for sev (none for an invalid
//     severity), in elapsed time from aware.
func Deadlines(aware time.Time, f Flags, sev Severity, p Policy) []Deadline {
	if aware.IsZero() {
		return nil
	}
	p = p.withDefaults()
	loc := p.Location
	var out []Deadline
	add := func(k DeadlineKind, due time.Time, basis string, args ...any) {
		out = append(out, Deadline{Kind: k, From: aware, Due: due.In(loc), Basis: basis, BasisArgs: args, Hard: k.Hard()})
	}
	if ok, _ := f.PPCReportable(); ok {
		add(DeadlinePPCPreliminary, endOfDayAfter(aware, p.PPCPreliminaryDays, loc),
			"incidentclock.basis.ppc_preliminary", "count", p.PPCPreliminaryDays)
		if f.MaliciousIntent {
			add(DeadlinePPCFinal, endOfDayAfter(aware, PPCFinalDaysMalicious, loc),
				"incidentclock.basis.ppc_final_malicious", "count", PPCFinalDaysMalicious)
		} else {
			add(DeadlinePPCFinal, endOfDayAfter(aware, PPCFinalDays, loc),
				"incidentclock.basis.ppc_final", "count", PPCFinalDays)
		}
	}
	if f.GDPRApplies() {
		add(DeadlineGDPR, aware.Add(GDPRNotifyWithin), "incidentclock.basis.gdpr_authority", "count", int(GDPRNotifyWithin/time.Hour))
	}
	if l, ok := p.sla(sev); ok {
		id, n := spanMessage(l.Acknowledge)
		add(DeadlineAcknowledge, aware.Add(l.Acknowledge), "incidentclock.basis.sla_acknowledge."+id, "count", n)
		id, n = spanMessage(l.Contain)
		add(DeadlineContain, aware.Add(l.Contain), "incidentclock.basis.sla_contain."+id, "count", n)
	}
	slices.SortStableFunc(out, func(a, b Deadline) int { return a.Due.Compare(b.Due) })
	return out
}

// endOfDayAfter returns the last instant of the calendar day that is days
// days after t's date in loc.
func endOfDayAfter(t time.Time, days int, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d+days+1, 0, 0, 0, 0, loc).Add(-time.Nanosecond)
}

// spanMessage names the unit a service level is best told in (days, hours
// or minutes: the largest that divides it) and the count in that unit,
// rounded up.
func spanMessage(d time.Duration) (string, int) {
	switch {
	case d >= 24*time.Hour && d%(24*time.Hour) == 0:
		return "days", int(d / (24 * time.Hour))
	case d >= time.Hour && d%time.Hour == 0:
		return "hours", int(d / time.Hour)
	}
	return "minutes", int((d + time.Minute - 1) / time.Minute)
}

// DeadlineState is where a clock stands, stored and shown as-is.
type DeadlineState string

// The states.
const (
	// StateUpcoming: not met, and not yet close.
	StateUpcoming DeadlineState = "upcoming"
	// StateDueSoon: not met, and due within DueSoonWindow.
	StateDueSoon DeadlineState = "due_soon"
	// StateOverdue: not met, and past due.
	StateOverdue DeadlineState = "overdue"
	// StateMet: met by the due time.
	StateMet DeadlineState = "met"
	// StateMetLate: met, but after the due time.
	StateMetLate DeadlineState = "met_late"
)

// DeadlineStates lists every state.
var DeadlineStates = []DeadlineState{StateUpcoming, StateDueSoon, StateOverdue, StateMet, StateMetLate}

// Valid reports whether s is one of the states.
func (s DeadlineState) Valid() bool { return slices.Contains(DeadlineStates, s) }

// dueSoonMax caps DueSoonWindow.
const dueSoonMax = 24 * time.Hour

// DueSoonWindow returns how long before Due the clock counts as due soon: a
// quarter of the clock's span, but no more than 24 hours, so that a 15-minute
// acknowledgement turns "due soon" at 11m15s and a 30-day report on its last
// day.
func (d Deadline) DueSoonWindow() time.Duration {
	span := d.Due.Sub(d.From)
	if span <= 0 {
		return 0
	}
	return min(dueSoonMax, span/4)
}

// State returns where the clock stands at now, given when it was met (zero if
// it is not). A met clock is met or met_late whatever now is; Due itself is
// still on time. An unmet clock is overdue once now is past Due, due soon
// from Due minus DueSoonWindow (inclusive), else upcoming.
func (d Deadline) State(now, met time.Time) DeadlineState {
	if !met.IsZero() {
		if met.After(d.Due) {
			return StateMetLate
		}
		return StateMet
	}
	switch left := d.Due.Sub(now); {
	case left < 0:
		return StateOverdue
	case left <= d.DueSoonWindow():
		return StateDueSoon
	}
	return StateUpcoming
}

// Remaining returns the time left from now until Due; negative when overdue.
func (d Deadline) Remaining(now time.Time) time.Duration { return d.Due.Sub(now) }

// ReminderLeads are how long before Due e-mail reminders go out, besides the
// one at Due.
var ReminderLeads = []time.Duration{24 * time.Hour, 2 * time.Hour}

// Reminders returns when e-mail reminders for the clock go out that are still
// to come at now (a time equal to now included), in order: 24 hours and 2
// hours before Due, and at Due. A lead that falls at or before the clock's
// start is dropped (the clock's creation already tells people); when that
// leaves none before Due, as for a 15-minute acknowledgement, one goes out
// when the clock turns due soon instead. A clock already met needs no
// reminder: the caller stops asking.
func (d Deadline) Reminders(now time.Time) []time.Time {
	var at []time.Time
	for _, lead := range ReminderLeads {
		if t := d.Due.Add(-lead); t.After(d.From) {
			at = append(at, t)
		}
	}
	if len(at) == 0 {
		if w := d.DueSoonWindow(); w > 0 {
			at = append(at, d.Due.Add(-w))
		}
	}
	at = append(at, d.Due)
	out := at[:0]
	for _, t := range at {
		if !t.Before(now) {
			out = append(out, t)
		}
	}
	slices.SortFunc(out, func(a, b time.Time) int { return a.Compare(b) })
	return slices.CompactFunc(out, time.Time.Equal)
}

// dueLayouts are how FormatDue writes a time per language. They are fixed
// here rather than translated: a deadline's text goes into reports to
// authorities and must read the same on every install.
var dueLayouts = map[i18n.Lang]string{
	i18n.English:  "2006-01-02 15:04 MST",
	i18n.Japanese: "2006年1月2日 15:04 (MST)",
}

// FormatDue writes a clock's due time, to the minute, in the zone it was
// computed in (JST for the Japanese rules by default): "2026-04-04 23:59 JST"
// in English, "2026年4月4日 23:59 (JST)" in Japanese. Another language gets
// English; a zero Due gives "".
func FormatDue(d Deadline, lang i18n.Lang) string {
	if d.Due.IsZero() {
		return ""
	}
	layout, ok := dueLayouts[lang]
	if !ok {
		layout = dueLayouts[i18n.English]
	}
	return d.Due.Format(layout)
}
