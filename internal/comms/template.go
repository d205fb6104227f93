// SPDX-License-Identifier: Apache-2.0

package comms

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/koban-csirt/koban/internal/i18n"
	"github.com/koban-csirt/koban/internal/incident"
)

// TemplateKind names a message template, stored as-is.
type TemplateKind string

// The message templates.
const (
	// TemplateManagement is an update for management: what happened, how
	// bad, where the response stands, what is decided next.
	TemplateManagement TemplateKind = "management_update"
	// TemplateCustomer is a notice to customers or the people whose data is
	// involved (本人への通知).
	TemplateCustomer TemplateKind = "customer_notice"
	// TemplatePress is a statement for the public (公表).
	TemplatePress TemplateKind = "press_statement"
)

// TemplateKinds lists the templates, in the order forms offer them.
var TemplateKinds = []TemplateKind{TemplateManagement, TemplateCustomer, TemplatePress}

// Valid reports whether k is a template.
func (k TemplateKind) Valid() bool {
	for _, t := range TemplateKinds {
		if k == t {
			return true
		}
	}
	return false
}

// Template returns a new draft from template kind in lang, filled with
// what is known of the incident: its reference, title, type, when it was
// detected and became known, its phase and severity, the description and
// who and what is affected. The person edits it before submitting it.
//
// Errors: Forbidden; NotFound (incident); Invalid for an unknown template
// or language.
func (s *Service) Template(ctx context.Context, a Actor, incidentID int64, kind TemplateKind, lang i18n.Lang) (MessageInput, error) {
	if err := needFull(a); err != nil {
		return MessageInput{}, err
	}
	var c checker
	if !kind.Valid() {
		c.add("template", "comms.template_invalid")
	}
	if !lang.Valid() {
		c.add("lang", "comms.lang_invalid")
	}
	if err := c.errs.Err(); err != nil {
		return MessageInput{}, err
	}
	d, err := s.detail(ctx, a, incidentID)
	if err != nil {
		return MessageInput{}, wrap(err, "template for incident", incidentID)
	}
	f := s.facts(lang, d)
	args := []any{"ref", d.Ref, "title", d.Title, "type", f.typ, "aware", f.aware, "detected", f.detected,
		"phase", f.phase, "severity", f.severity, "description", f.description, "affected", f.affected,
		"people", f.people, "now", s.timeText(lang, s.nowUTC())}
	key := "comms.template." + string(kind)
	ch := ChannelEmail
	if kind == TemplatePress {
		ch = ChannelWebForm
	}
	return MessageInput{Draft: true, Direction: DirectionOut, Channel: ch, Template: kind, Lang: lang,
		Subject: s.cat.T(lang, key+".subject", args...), Body: s.cat.T(lang, key+".body", args...)}, nil
}

// facts are an incident's facts as text in one language, for templates
// and report drafts.
type facts struct {
	typ, aware, detected, phase, status, severity, description, affected, people string
}

func (s *Service) facts(lang i18n.Lang, d incident.Detail) facts {
	t := func(id string, args ...any) string { return s.cat.T(lang, id, args...) }
	f := facts{typ: t("incident.type." + string(d.Type)), aware: s.timeText(lang, d.AwareAt),
		detected: s.timeText(lang, d.DetectedAt), phase: t("incident.phase." + string(d.Phase)),
		status: t("incident.status." + string(d.Status)), description: d.Description}
	if f.description == "" {
		f.description = t("comms.prefill.unknown")
	}
	f.severity = t("comms.prefill.unassessed")
	if d.Severity != "" {
		f.severity = t("incident.severity.level." + string(d.Severity))
	}
	var aff []string
	aff = append(aff, d.AffectedUsers...)
	aff = append(aff, d.AffectedAssets...)
	f.affected = strings.Join(aff, t("comms.prefill.sep"))
	if f.affected == "" {
		f.affected = t("comms.prefill.unknown")
	}
	f.people = t("comms.prefill.unknown")
	if n := d.Assessment.Impact.People; n > 0 {
		f.people = t("comms.prefill.people", "count", groupDigits(n))
	} else if d.Flags.Over1000 {
		f.people = t("comms.prefill.people_over1000")
	}
	return f
}

// timeText writes a time in the service's zone to the minute, as Japanese
// or English text; "" for the zero time.
func (s *Service) timeText(lang i18n.Lang, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	t = t.In(s.loc)
	zone, _ := t.Zone()
	if lang == i18n.Japanese {
		return t.Format("2006年1月2日 15:04") + " (" + zone + ")"
	}
	return t.Format("2006-01-02 15:04") + " " + zone
}

// groupDigits writes n with thousands separators: 1,234.
func groupDigits(n int64) string {
	s := strconv.FormatInt(n, 10)
	if n < 0 {
		return "-" + groupDigits(-n)
	}
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}
