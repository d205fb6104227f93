// SPDX-License-Identifier: Apache-2.0

package comms

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/koban-csirt/koban/internal/audit"
	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/i18n"
	"github.com/koban-csirt/koban/internal/incident"
)

// ReportKind names a kind of report draft, stored as-is.
type ReportKind string

// The report kinds.
const (
	// ReportPPC is the 漏えい等報告 to the Personal Information Protection
	// Commission, with the nine items of 施行規則 8条.
	ReportPPC ReportKind = "ppc"
	// ReportJPCERT is an incident report to JPCERT/CC, after its
	// コンピュータセキュリティインシデント報告様式 and comparable CSIRT forms.
	ReportJPCERT ReportKind = "jpcert"
	// ReportIPA is IPA's コンピュータ不正アクセス届出.
	ReportIPA ReportKind = "ipa"
	// ReportManagement is an incident summary for management.
	ReportManagement ReportKind = "management"
)

// ReportKinds lists the kinds, in the order forms offer them.
var ReportKinds = []ReportKind{ReportPPC, ReportJPCERT, ReportIPA, ReportManagement}

// Valid reports whether k is a report kind.
func (k ReportKind) Valid() bool { return slices.Contains(ReportKinds, k) }

// DefaultLang is the language a draft of the kind is written in unless
// the person chooses: Japanese for the Japanese authorities.
func (k ReportKind) DefaultLang() i18n.Lang { return i18n.Japanese }

// Stage is which PPC report a draft is, stored as-is; "" for other kinds.
type Stage string

// The PPC report stages.
const (
	// StagePreliminary is the 速報, due about 3–5 days after awareness; it
	// may hold only what is known by then.
	StagePreliminary Stage = "preliminary"
	// StageFinal is the 確報, due within 30 days (60 when malicious intent
	// is suspected).
	StageFinal Stage = "final"
)

// reportFields are the fields of each kind, in the form's order. The PPC
// ones are 施行規則 8条's nine items: 概要; 漏えい等した個人データの項目; 本人の数;
// 原因; 二次被害又はそのおそれの有無及びその内容; 本人への対応の実施状況; 公表の実施状況;
// 再発防止のための措置; その他参考となる事項.
var reportFields = map[ReportKind][]string{
	ReportPPC: {"summary", "data_items", "people", "cause", "secondary_harm", "subjects_response", "publication",
		"prevention", "other"},
	ReportJPCERT: {"reporter", "purpose", "incident_type", "systems", "discovery", "discovered_at", "source",
		"time_info", "details", "damage", "actions", "requests"},
	ReportIPA: {"reporter", "discovered_at", "systems", "environment", "discovery", "damage", "cause", "actions",
		"other"},
	ReportManagement: {"overview", "impact", "response", "deadlines", "prevention", "decisions"},
}

// Fields returns the keys of a kind's fields, in order (message
// comms.report.<kind>.<key> labels each).
func (k ReportKind) Fields() []string { return slices.Clone(reportFields[k]) }

// Field is one field of a report draft.
type Field struct {
	Key   string
	Value string
	// Prefill is what koban last wrote into the field; the field was edited
	// when Value differs from it.
	Prefill string
	// Suggested is a newer pre-fill for an edited field, which refreshing
	// the draft found and did not write over the person's text; "" when
	// there is none.
	Suggested string
}

// Edited reports whether a person changed the field's pre-filled text.
func (f Field) Edited() bool { return f.Value != f.Prefill }

// Report is a report draft of an incident.
type Report struct {
	ID         int64
	IncidentID int64
	Kind       ReportKind
	Stage      Stage // PPC only
	Lang       i18n.Lang
	Fields     []Field // in the kind's order
	Version    int64
	CreatedAt  time.Time
	CreatedBy  string
	UpdatedAt  time.Time
	UpdatedBy  string
}

// Field returns the field with key, and whether there is one.
func (r Report) Field(key string) (Field, bool) {
	for _, f := range r.Fields {
		if f.Key == key {
			return f, true
		}
	}
	return Field{}, false
}

// DeadlineKind returns the clock a PPC draft answers to, or "".
func (r Report) DeadlineKind() incident.DeadlineKind {
	switch {
	case r.Kind != ReportPPC:
		return ""
	case r.Stage == StageFinal:
		return incident.DeadlinePPCFinal
	}
	return incident.DeadlinePPCPreliminary
}

// ReportRef names a report draft and the version the person saw.
type ReportRef struct {
	ID      int64
	Version int64
}

// Send is one entry of a report's sent log: to whom it went, how, when,
// and the reference number the recipient gave back.
type Send struct {
	ID         int64
	ReportID   int64
	ContactID  int64  // 0 when the recipient is not in the directory
	To         string // the contact's label at the time, or who else
	Channel    Channel
	At         time.Time
	Reference  string // 受付番号 or ticket number received
	Note       string
	ByID       int64
	By         string
	RecordedAt time.Time
}

// SendInput is what a person records about sending a report.
type SendInput struct {
	ContactID int64
	To        string
	Channel   Channel
	At        time.Time // zero: now; not in the future
	Reference string
	Note      string
}

// Reports returns an incident's report drafts in the order they were made.
//
// Errors: Forbidden.
func (s *Service) Reports(ctx context.Context, a Actor, incidentID int64) ([]Report, error) {
	if err := needFull(a); err != nil {
		return nil, err
	}
	rs, err := s.store.IncidentReports(ctx, incidentID)
	if err != nil {
		return nil, wrap(err, "reports of incident", incidentID)
	}
	return rs, nil
}

// Report returns one report draft of an incident; NotFound
// "comms.report_not_found" when it is not that incident's.
func (s *Service) Report(ctx context.Context, a Actor, incidentID, id int64) (Report, error) {
	if err := needFull(a); err != nil {
		return Report{}, err
	}
	r, err := s.report(ctx, incidentID, id)
	if err != nil {
		return Report{}, wrap(err, "report", id)
	}
	return r, nil
}

func (s *Service) report(ctx context.Context, incidentID, id int64) (Report, error) {
	r, err := s.store.Report(ctx, id)
	if fault.Is(err, fault.NotFound) || (err == nil && r.IncidentID != incidentID) {
		return Report{}, fault.New(fault.NotFound, "comms.report_not_found")
	}
	return r, err
}

// CreateReport starts a report draft of kind for an incident, in lang (""
// for the kind's default), pre-filled from the incident: its description,
// flags, assessment, review, prevention actions, timeline and the messages
// already released. A PPC draft is a 速報 (StagePreliminary, the default)
// or a 確報 (StageFinal).
//
// Errors: Forbidden; NotFound (incident); Invalid for an unknown kind,
// stage or language.
func (s *Service) CreateReport(ctx context.Context, a Actor, incidentID int64, kind ReportKind, stage Stage, lang i18n.Lang) (Report, error) {
	if err := needFull(a); err != nil {
		return Report{}, err
	}
	var c checker
	if !kind.Valid() {
		c.add("kind", "comms.report_kind_invalid")
	}
	switch {
	case kind != ReportPPC && stage != "":
		c.add("stage", "comms.stage_invalid")
	case kind == ReportPPC && stage == "":
		stage = StagePreliminary
	case kind == ReportPPC && stage != StagePreliminary && stage != StageFinal:
		c.add("stage", "comms.stage_invalid")
	}
	if lang == "" {
		lang = kind.DefaultLang()
	}
	if !lang.Valid() {
		c.add("lang", "comms.lang_invalid")
	}
	if err := c.errs.Err(); err != nil {
		return Report{}, err
	}
	now := s.nowUTC()
	r := Report{IncidentID: incidentID, Kind: kind, Stage: stage, Lang: lang, Version: 1, CreatedAt: now,
		CreatedBy: a.Name, UpdatedAt: now, UpdatedBy: a.Name}
	err := s.store.Tx(ctx, func(ctx context.Context) error {
		values, err := s.prefillFor(ctx, a, r)
		if err != nil {
			return err
		}
		for _, k := range kind.Fields() {
			r.Fields = append(r.Fields, Field{Key: k, Value: values[k], Prefill: values[k]})
		}
		if r, err = s.store.CreateReport(ctx, r); err != nil {
			return err
		}
		return s.record(ctx, a, incidentID, incident.EntryReport, now, "comms.report.create",
			audit.Object("report", r.ID), nil, r, "comms.timeline.report_created", "report",
			strconv.FormatInt(r.ID, 10), "kind", string(kind), "stage", string(stage))
	})
	if err != nil {
		return Report{}, wrap(err, "create report for incident", incidentID)
	}
	return r, nil
}

// SaveReport writes the fields of a draft that values names (key to
// text); fields it leaves out keep their text. Taking a field's suggested
// pre-fill as its value also takes it as its pre-fill.
//
// Errors: Forbidden; NotFound; Conflict "comms.report_changed"; Invalid
// for an unknown field or too long a text, field by field.
func (s *Service) SaveReport(ctx context.Context, a Actor, incidentID int64, ref ReportRef, values map[string]string) (Report, error) {
	return s.changeReport(ctx, a, incidentID, ref, "comms.report.update", func(_ context.Context, r *Report) (bool, error) {
		var c checker
		changed := false
		for k, v := range values {
			i := slices.IndexFunc(r.Fields, func(f Field) bool { return f.Key == k })
			if i < 0 {
				c.add(k, "comms.report_field_unknown", "field", scrub(k, false))
				continue
			}
			v = c.text(k, v, maxBodyLen, true, false)
			f := &r.Fields[i]
			if f.Suggested != "" && v == f.Suggested {
				f.Prefill, f.Suggested = v, ""
				changed = true
			}
			if f.Value != v {
				f.Value, changed = v, true
			}
		}
		return changed, c.errs.Err()
	})
}

// RefreshReport pre-fills a draft again from the incident as it is now,
// without writing over what people wrote: a field nobody edited (or left
// empty) takes the new text; an edited field whose pre-fill changed keeps
// its text and gets the new one as Suggested, for the person to take or
// leave. It returns the keys of the fields it changed and of those it
// only suggested for.
//
// Errors: Forbidden; NotFound; Conflict "comms.report_changed".
func (s *Service) RefreshReport(ctx context.Context, a Actor, incidentID int64, ref ReportRef) (r Report, filled, suggested []string, err error) {
	r, err = s.changeReport(ctx, a, incidentID, ref, "comms.report.refresh", func(ctx context.Context, r *Report) (bool, error) {
		values, err := s.prefillFor(ctx, a, *r)
		if err != nil {
			return false, err
		}
		for i := range r.Fields {
			f := &r.Fields[i]
			nv := values[f.Key]
			switch {
			case !f.Edited() || f.Value == "":
				if f.Value != nv || f.Prefill != nv {
					filled = append(filled, f.Key)
				}
				f.Value, f.Prefill, f.Suggested = nv, nv, ""
			case nv != f.Prefill && nv != f.Value:
				if f.Suggested != nv {
					suggested = append(suggested, f.Key)
				}
				f.Suggested = nv
			case nv == f.Value:
				// The person wrote what koban now says.
				f.Prefill, f.Suggested = nv, ""
			}
		}
		return len(filled) > 0 || len(suggested) > 0, nil
	})
	return r, filled, suggested, err
}

// changeReport runs one change of a draft in a transaction, with its
// version check, timeline and audit entries. change reports whether it
// changed anything; a change that changes nothing stores nothing.
func (s *Service) changeReport(ctx context.Context, a Actor, incidentID int64, ref ReportRef, action string,
	change func(ctx context.Context, r *Report) (bool, error)) (Report, error) {
	if err := needFull(a); err != nil {
		return Report{}, err
	}
	now := s.nowUTC()
	var r Report
	err := s.store.Tx(ctx, func(ctx context.Context) error {
		before, err := s.report(ctx, incidentID, ref.ID)
		if err != nil {
			return err
		}
		if before.Version != ref.Version {
			return fault.New(fault.Conflict, "comms.report_changed")
		}
		r = before
		r.Fields = slices.Clone(before.Fields)
		changed, err := change(ctx, &r)
		if err != nil || !changed {
			return err
		}
		r.Version, r.UpdatedAt, r.UpdatedBy = before.Version+1, now, a.Name
		if err := s.store.UpdateReport(ctx, r, before.Version); err != nil {
			if fault.Is(err, fault.NotFound) {
				return fault.Wrap(fault.Conflict, err, "comms.report_changed")
			}
			return err
		}
		msg := "comms.timeline.report_edited"
		if action == "comms.report.refresh" {
			msg = "comms.timeline.report_refreshed"
		}
		return s.record(ctx, a, incidentID, incident.EntryReport, now, action, audit.Object("report", r.ID),
			before, r, msg, "report", strconv.FormatInt(r.ID, 10), "kind", string(r.Kind))
	})
	if err != nil {
		return Report{}, wrap(err, action, ref.ID)
	}
	return r, nil
}

// RecordSend records that a report was sent: to a contact of the
// directory or someone else, how, when, and the reference number received.
//
// Errors: Forbidden; NotFound (report); Invalid field by field (no
// recipient, unknown channel, a time in the future, text too long).
func (s *Service) RecordSend(ctx context.Context, a Actor, incidentID, reportID int64, in SendInput) (Send, error) {
	if err := needFull(a); err != nil {
		return Send{}, err
	}
	now := s.nowUTC()
	var sd Send
	err := s.store.Tx(ctx, func(ctx context.Context) error {
		d, err := s.detail(ctx, a, incidentID)
		if err != nil {
			return err
		}
		r, err := s.report(ctx, incidentID, reportID)
		if err != nil {
			return err
		}
		m, label, err := s.cleanMessage(ctx, d.Tenant, MessageInput{Direction: DirectionOut, Channel: in.Channel,
			ContactID: in.ContactID, Party: in.To, Subject: "-", At: in.At}, now)
		var c checker
		ref := c.text("reference", in.Reference, maxLineLen, false, false)
		note := c.text("note", in.Note, maxNoteLen, true, false)
		if err != nil {
			if fs := fault.Faults(err); len(fs) > 0 && fault.KindOf(err) == fault.Invalid {
				c.errs = append(fault.List(fs), c.errs...)
			} else {
				return err
			}
		}
		if err := c.errs.Err(); err != nil {
			return err
		}
		sd = Send{ReportID: r.ID, ContactID: m.ContactID, To: label, Channel: m.Channel, At: m.At, Reference: ref,
			Note: note, ByID: a.UserID, By: a.Name, RecordedAt: now}
		if sd, err = s.store.AddReportSend(ctx, sd); err != nil {
			return err
		}
		return s.record(ctx, a, incidentID, incident.EntryReport, sd.At, "comms.report.send",
			audit.Object("report", r.ID), nil, sd, "comms.timeline.report_sent", "report",
			strconv.FormatInt(r.ID, 10), "kind", string(r.Kind), "to", label, "channel", string(sd.Channel),
			"reference", ref)
	})
	if err != nil {
		return Send{}, wrap(err, "record send of report", reportID)
	}
	return sd, nil
}

// Sends returns a report's sent log in the order recorded.
//
// Errors: Forbidden; NotFound (report).
func (s *Service) Sends(ctx context.Context, a Actor, incidentID, reportID int64) ([]Send, error) {
	if err := needFull(a); err != nil {
		return nil, err
	}
	if _, err := s.report(ctx, incidentID, reportID); err != nil {
		return nil, wrap(err, "sends of report", reportID)
	}
	ss, err := s.store.ReportSends(ctx, reportID)
	if err != nil {
		return nil, wrap(err, "sends of report", reportID)
	}
	return ss, nil
}

// Deadline returns the regulatory clock a PPC draft answers to, computed
// from the incident under policy, and whether there is one (the incident
// may not be PPC-reportable, or the draft not a PPC one).
func Deadline(d incident.Detail, r Report, p incident.Policy) (incident.Deadline, bool) {
	k := r.DeadlineKind()
	if k == "" {
		return incident.Deadline{}, false
	}
	for _, dl := range incident.Deadlines(d.AwareAt, d.Flags, d.Severity, p) {
		if dl.Kind == k {
			return dl, true
		}
	}
	return incident.Deadline{}, false
}
