// SPDX-License-Identifier: Apache-2.0

package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/koban-csirt/koban/internal/reportdesk"
)

// The employee report desk's reports and attachments (migration 0010). The
// rules (who may read which report, what may change) live in
// internal/reportdesk.

// The report desk runs on this store.
var _ reportdesk.Store = (*DB)(nil)

// NextDeskReportNumber returns the next number of a tenant's reports of
// year, from 1; a rolled-back transaction gives its number back.
func (db *DB) NextDeskReportNumber(ctx context.Context, tenant string, year int) (int, error) {
	var n int
	err := db.queryRow(ctx, `INSERT INTO desk_report_counters (tenant, year, last_number) VALUES (?, ?, 1)
		ON CONFLICT (tenant, year) DO UPDATE SET last_number = desk_report_counters.last_number + 1
		RETURNING last_number`, tenant, year).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: next report number %d: %w", year, mapErr(err))
	}
	return n, nil
}

const deskReportColumns = `id, tenant, ref, kind, what, when_text, where_text, contact, reporter_id, reporter,
	token_hash, status, handler_id, handler, note, COALESCE(incident_id, 0), incident_ref, version, created_at,
	updated_at, decided_at`

func scanDeskReport(s scanner) (reportdesk.Report, error) {
	var r reportdesk.Report
	var kind, status string
	var created, updated, decided int64
	err := s.Scan(&r.ID, &r.Tenant, &r.Ref, &kind, &r.What, &r.When, &r.Where, &r.Contact, &r.ReporterID, &r.Reporter,
		&r.TokenHash, &status, &r.HandlerID, &r.Handler, &r.Note, &r.IncidentID, &r.IncidentRef, &r.Version, &created,
		&updated, &decided)
	if err != nil {
		return reportdesk.Report{}, mapErr(err)
	}
	r.Kind, r.Status = reportdesk.Kind(kind), reportdesk.Status(status)
	r.CreatedAt, r.UpdatedAt, r.DecidedAt = fromMicros(created), fromMicros(updated), fromMicros(decided)
	return r, nil
}

// nullID stores 0 as NULL, for optional foreign keys.
func nullID(id int64) sql.NullInt64 { return sql.NullInt64{Int64: id, Valid: id != 0} }

const createDeskReportSQL = `INSERT INTO desk_reports (tenant, ref, kind, what, when_text, where_text, contact,
	reporter_id, reporter, token_hash, status, handler_id, handler, note, incident_id, incident_ref, version,
	created_at, updated_at, decided_at)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`

const createDeskAttachmentSQL = `INSERT INTO desk_report_attachments (report_id, name, size, sha256, sha1, md5,
	evidence_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`

// CreateDeskReport inserts r and its attachments in one transaction and
// returns them with their ids; Conflict when the tenant has a report with
// its reference, or one with its token hash.
func (db *DB) CreateDeskReport(ctx context.Context, r reportdesk.Report) (reportdesk.Report, error) {
	err := db.Tx(ctx, func(ctx context.Context) error {
		err := db.queryRow(ctx, createDeskReportSQL, r.Tenant, r.Ref, string(r.Kind), r.What, r.When, r.Where,
			r.Contact, r.ReporterID, r.Reporter, r.TokenHash, string(r.Status), r.HandlerID, r.Handler, r.Note,
			nullID(r.IncidentID), r.IncidentRef, r.Version, micros(r.CreatedAt), micros(r.UpdatedAt),
			micros(r.DecidedAt)).Scan(&r.ID)
		if err != nil {
			return mapErr(err)
		}
		r.Attachments = append([]reportdesk.Attachment(nil), r.Attachments...)
		for i := range r.Attachments {
			a := &r.Attachments[i]
			a.ReportID = r.ID
			err := db.queryRow(ctx, createDeskAttachmentSQL, a.ReportID, a.Name, a.Size, a.SHA256, a.SHA1, a.MD5,
				nullID(a.EvidenceID), micros(a.CreatedAt)).Scan(&a.ID)
			if err != nil {
				return mapErr(err)
			}
		}
		return nil
	})
	if err != nil {
		return reportdesk.Report{}, fmt.Errorf("store: create report %s: %w", r.Ref, err)
	}
	return r, nil
}

const updateDeskReportSQL = `UPDATE desk_reports SET status = ?, handler_id = ?, handler = ?, note = ?,
	incident_id = ?, incident_ref = ?, version = ?, updated_at = ?, decided_at = ? WHERE id = ? AND version = ?`

// UpdateDeskReport stores r's state provided the row's version is still
// prevVersion; NotFound otherwise.
func (db *DB) UpdateDeskReport(ctx context.Context, r reportdesk.Report, prevVersion int64) error {
	res, err := db.exec(ctx, updateDeskReportSQL, string(r.Status), r.HandlerID, r.Handler, r.Note, nullID(r.IncidentID),
		r.IncidentRef, r.Version, micros(r.UpdatedAt), micros(r.DecidedAt), r.ID, prevVersion)
	if err == nil {
		err = affected(res)
	}
	if err != nil {
		return fmt.Errorf("store: update report %d: %w", r.ID, err)
	}
	return nil
}

// SetDeskAttachmentEvidence records the evidence item an attachment became;
// NotFound when there is no such attachment, Invalid when there is no such
// item.
func (db *DB) SetDeskAttachmentEvidence(ctx context.Context, attachmentID, evidenceID int64) error {
	res, err := db.exec(ctx, `UPDATE desk_report_attachments SET evidence_id = ? WHERE id = ?`, nullID(evidenceID), attachmentID)
	if err == nil {
		err = affected(res)
	}
	if err != nil {
		return fmt.Errorf("store: attachment %d to evidence %d: %w", attachmentID, evidenceID, err)
	}
	return nil
}

// DeskReport returns the report with id and its attachments.
func (db *DB) DeskReport(ctx context.Context, id int64) (reportdesk.Report, error) {
	return db.deskReport(ctx, fmt.Sprint(id), `id = ?`, id)
}

// DeskReportByRef returns a tenant's report with a reference and its
// attachments.
func (db *DB) DeskReportByRef(ctx context.Context, tenant, ref string) (reportdesk.Report, error) {
	return db.deskReport(ctx, ref, `tenant = ? AND ref = ?`, tenant, ref)
}

// DeskReportByToken returns the report whose status token has this hash,
// and its attachments.
func (db *DB) DeskReportByToken(ctx context.Context, tokenHash string) (reportdesk.Report, error) {
	if tokenHash == "" {
		return reportdesk.Report{}, fmt.Errorf("store: report by token: %w", mapErr(sql.ErrNoRows))
	}
	return db.deskReport(ctx, "by token", `token_hash = ?`, tokenHash)
}

func (db *DB) deskReport(ctx context.Context, which, where string, args ...any) (reportdesk.Report, error) {
	r, err := scanDeskReport(db.queryRow(ctx, `SELECT `+deskReportColumns+` FROM desk_reports WHERE `+where, args...))
	if err != nil {
		return reportdesk.Report{}, fmt.Errorf("store: report %s: %w", which, err)
	}
	r.Attachments, err = queryAll(ctx, db, "report attachments", scanDeskAttachment, `SELECT id, report_id, name, size,
		sha256, sha1, md5, COALESCE(evidence_id, 0), created_at FROM desk_report_attachments WHERE report_id = ?
		ORDER BY id`, r.ID)
	if err != nil {
		return reportdesk.Report{}, fmt.Errorf("store: report %s: %w", which, err)
	}
	return r, nil
}

func scanDeskAttachment(s scanner) (reportdesk.Attachment, error) {
	var a reportdesk.Attachment
	var created int64
	if err := s.Scan(&a.ID, &a.ReportID, &a.Name, &a.Size, &a.SHA256, &a.SHA1, &a.MD5, &a.EvidenceID, &created); err != nil {
		return reportdesk.Attachment{}, mapErr(err)
	}
	a.CreatedAt = fromMicros(created)
	return a, nil
}

// DeskReports returns the reports f selects, highest id first, at most
// f.Limit (all when it is 0), without their attachments.
func (db *DB) DeskReports(ctx context.Context, f reportdesk.Filter) ([]reportdesk.Report, error) {
	where := []string{"tenant = ?"}
	args := []any{f.Tenant}
	if f.ReporterID != 0 {
		where, args = append(where, "reporter_id = ?"), append(args, f.ReporterID)
	}
	where, args = whereIn(where, args, "status", f.Statuses)
	q := `SELECT ` + deskReportColumns + ` FROM desk_reports WHERE ` + strings.Join(where, " AND ") + ` ORDER BY id DESC`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	return queryAll(ctx, db, "reports", scanDeskReport, q, args...)
}

// CountDeskAttachments counts the attachments with this SHA-256 not yet
// moved into an incident's evidence.
func (db *DB) CountDeskAttachments(ctx context.Context, sha256 string) (int, error) {
	var n int
	err := db.queryRow(ctx, `SELECT COUNT(*) FROM desk_report_attachments WHERE sha256 = ? AND evidence_id IS NULL`,
		sha256).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: count report attachments %s: %w", sha256, mapErr(err))
	}
	return n, nil
}
