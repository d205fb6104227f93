// SPDX-License-Identifier: Apache-2.0

package comms

import (
	"context"
	"slices"
	"strings"

	"github.com/koban-csirt/koban/internal/i18n"
	"github.com/koban-csirt/koban/internal/incident"
)

// maxTimelineLines bounds the timeline a draft quotes: the latest ones.
const maxTimelineLines = 30

// prefillFor reads the incident a draft is about and returns the pre-filled
// text of each of its fields.
func (s *Service) prefillFor(ctx context.Context, a Actor, r Report) (map[string]string, error) {
	d, err := s.detail(ctx, a, r.IncidentID)
	if err != nil {
		return nil, err
	}
	ms, err := s.store.IncidentMessages(ctx, r.IncidentID)
	if err != nil {
		return nil, err
	}
	return s.prefill(ctx, r.Kind, r.Lang, d, ms), nil
}

// prefill writes a draft's fields from what koban knows of the incident.
// What is unknown is said to be so (調査中), so that a 速報 can go with what
// is known at the time.
func (s *Service) prefill(ctx context.Context, kind ReportKind, lang i18n.Lang, d incident.Detail, ms []Message) map[string]string {
	p := prefiller{ctx: ctx, s: s, lang: lang, d: d, ms: ms, f: s.facts(lang, d)}
	switch kind {
	case ReportPPC:
		return map[string]string{
			"summary":           p.summary(),
			"data_items":        p.dataItems(),
			"people":            p.f.people,
			"cause":             p.cause(),
			"secondary_harm":    p.secondaryHarm(),
			"subjects_response": p.released(TemplateCustomer, "comms.prefill.notified", "comms.prefill.subjects_not_yet"),
			"publication":       p.released(TemplatePress, "comms.prefill.published", "comms.prefill.publication_not_yet"),
			"prevention":        p.prevention(),
			"other":             p.other(),
		}
	case ReportJPCERT:
		return map[string]string{
			"purpose":       p.t("comms.prefill.jpcert_purpose"),
			"incident_type": p.f.typ,
			"systems":       p.systems(),
			"discovery":     p.discovery(),
			"discovered_at": p.f.detected,
			"source":        p.sources(),
			"time_info":     p.t("comms.prefill.time_info", "zone", s.loc.String()),
			"details":       p.f.description,
			"damage":        p.damage(),
			"actions":       p.timeline(),
		}
	case ReportIPA:
		return map[string]string{
			"discovered_at": p.f.detected,
			"systems":       p.systems(),
			"discovery":     p.discovery(),
			"damage":        p.damage(),
			"cause":         p.cause(),
			"actions":       p.timeline(),
			"other":         p.sources(),
		}
	case ReportManagement:
		return map[string]string{
			"overview":   p.summary(),
			"impact":     p.damage(),
			"response":   p.t("comms.prefill.response", "status", p.f.status, "phase", p.f.phase) + "\n" + p.timeline(),
			"deadlines":  p.deadlines(),
			"prevention": p.prevention(),
		}
	}
	return nil
}

// prefiller writes the pieces of pre-filled text in one language.
type prefiller struct {
	ctx  context.Context
	s    *Service
	lang i18n.Lang
	d    incident.Detail
	ms   []Message
	f    facts
}

func (p prefiller) t(id string, args ...any) string { return p.s.cat.T(p.lang, id, args...) }

func (p prefiller) lines(ls []string) string { return strings.Join(ls, "\n") }

func (p prefiller) summary() string {
	return p.t("comms.prefill.summary", "title", p.d.Title, "type", p.f.typ, "aware", p.f.aware,
		"detected", p.f.detected, "description", p.f.description)
}

// dataItems names the kinds of personal data involved, from the flags and
// the impact questionnaire.
func (p prefiller) dataItems() string {
	info := p.d.Assessment.Impact.Information
	var ls []string
	if p.d.Flags.PersonalData || slices.Contains(info, incident.InfoPersonal) {
		ls = append(ls, p.t("comms.prefill.items_personal"))
	}
	if p.d.Flags.Sensitive || slices.Contains(info, incident.InfoSensitive) {
		ls = append(ls, p.t("comms.prefill.items_sensitive"))
	}
	if p.d.Flags.FinancialRisk || slices.Contains(info, incident.InfoPayment) {
		ls = append(ls, p.t("comms.prefill.items_payment"))
	}
	if len(ls) == 0 {
		return p.t("comms.prefill.unknown")
	}
	return p.lines(ls)
}

// cause is the review's root cause, its description and the "5 whys", or
// "under investigation".
func (p prefiller) cause() string {
	rv := p.d.Review
	if rv.IncidentID == 0 || (rv.Cause == "" && rv.CauseText == "") {
		return p.t("comms.prefill.investigating")
	}
	var ls []string
	if rv.Cause != "" {
		ls = append(ls, p.t("incident.root_cause."+string(rv.Cause)))
	}
	if rv.CauseText != "" {
		ls = append(ls, rv.CauseText)
	}
	for i, w := range rv.Whys {
		if w != "" {
			ls = append(ls, p.t("comms.prefill.why", "n", i+1, "text", w))
		}
	}
	return p.lines(ls)
}

func (p prefiller) secondaryHarm() string {
	var ls []string
	if p.d.Flags.FinancialRisk {
		ls = append(ls, p.t("comms.prefill.harm_financial"))
	}
	if p.d.Flags.MaliciousIntent {
		ls = append(ls, p.t("comms.prefill.harm_malicious"))
	}
	if len(ls) == 0 {
		return p.t("comms.prefill.harm_none_known")
	}
	return p.lines(ls)
}

// released lists the released messages made from template k (notices to
// the people affected, public statements), or says there are none yet.
func (p prefiller) released(k TemplateKind, msg, none string) string {
	var ls []string
	for _, m := range p.ms {
		if m.Status == StatusReleased && m.Template == k {
			ls = append(ls, p.t(msg, "at", p.s.timeText(p.lang, m.At), "channel", p.t("comms.channel."+string(m.Channel)),
				"subject", m.Subject))
		}
	}
	if len(ls) == 0 {
		return p.t(none)
	}
	return p.lines(ls)
}

func (p prefiller) prevention() string {
	var ls []string
	for _, a := range p.d.Actions {
		if a.Status == incident.ActionCancelled {
			continue
		}
		due := p.t("comms.prefill.no_due")
		if !a.Due.IsZero() {
			due = p.s.timeText(p.lang, a.Due)
		}
		ls = append(ls, p.t("comms.prefill.action", "title", a.Title, "status",
			p.t("incident.action_status."+string(a.Status)), "due", due))
	}
	if len(ls) == 0 {
		return p.t("comms.prefill.prevention_pending")
	}
	return p.lines(ls)
}

// other gathers what else helps the reader: severity, who and what is
// affected, the authorities and others already contacted, GDPR.
func (p prefiller) other() string {
	ls := []string{
		p.t("comms.prefill.severity", "severity", p.f.severity),
		p.t("comms.prefill.affected", "affected", p.f.affected),
	}
	for _, m := range p.ms {
		if m.Direction == DirectionOut && (m.Status == StatusReleased || m.Status == StatusLogged) && m.Template == "" {
			ls = append(ls, p.t("comms.prefill.contacted", "at", p.s.timeText(p.lang, m.At), "party", p.party(m),
				"channel", p.t("comms.channel."+string(m.Channel))))
		}
	}
	if p.d.Flags.EUResidents {
		ls = append(ls, p.t("comms.prefill.gdpr"))
	}
	ls = append(ls, p.t("comms.prefill.timeline_head"), p.timeline())
	return p.lines(ls)
}

func (p prefiller) party(m Message) string {
	if m.ContactID != 0 {
		if c, err := p.s.store.Contact(p.ctx, m.ContactID); err == nil {
			return c.Label()
		}
	}
	return m.Party
}

func (p prefiller) systems() string {
	if len(p.d.AffectedAssets) == 0 {
		return p.t("comms.prefill.unknown")
	}
	return p.lines(p.d.AffectedAssets)
}

func (p prefiller) discovery() string {
	return p.t("comms.prefill.discovery", "detected", p.f.detected, "aware", p.f.aware)
}

func (p prefiller) damage() string {
	return p.t("comms.prefill.damage", "severity", p.f.severity, "people", p.f.people, "affected", p.f.affected)
}

// sources lists the network indicators written in the description and the
// timeline, defanged so that the report carries no live links.
func (p prefiller) sources() string {
	text := []string{p.d.Description}
	for _, e := range p.d.Timeline {
		if e.Manual {
			text = append(text, e.Text)
		}
	}
	var ls []string
	for _, o := range incident.Extract(strings.Join(text, "\n")) {
		if o.Kind.Network() {
			ls = append(ls, p.t("comms.prefill.indicator", "kind", p.t("comms.indicator."+string(o.Kind)),
				"value", incident.Defang(o)))
		}
	}
	if len(ls) == 0 {
		return p.t("comms.prefill.unknown")
	}
	return p.lines(ls)
}

// timeline quotes the latest entries of the timeline that say what was
// done, oldest first.
func (p prefiller) timeline() string {
	var ls []string
	tr := incident.TimelineTranslate(p.s.cat, p.lang)
	for _, e := range p.d.Timeline {
		switch e.Kind {
		case incident.EntryUpdate, incident.EntryAssign, incident.EntryLink, incident.EntryObservable,
			incident.EntryReport:
			continue
		}
		text := e.Text
		if !e.Manual {
			text = tr(e.Msg, e.MsgArgs()...)
		}
		ls = append(ls, p.s.timeText(p.lang, e.At)+" "+text)
	}
	if len(ls) > maxTimelineLines {
		ls = ls[len(ls)-maxTimelineLines:]
	}
	if len(ls) == 0 {
		return p.t("comms.prefill.unknown")
	}
	return p.lines(ls)
}

func (p prefiller) deadlines() string {
	var ls []string
	for _, dl := range incident.Deadlines(p.d.AwareAt, p.d.Flags, p.d.Severity, p.s.policy) {
		ls = append(ls, p.t("comms.prefill.deadline", "kind", p.t("incidentclock.kind."+string(dl.Kind)),
			"due", incident.FormatDue(dl, p.lang)))
	}
	if len(ls) == 0 {
		return p.t("comms.prefill.no_deadlines")
	}
	return p.lines(ls)
}
