// SPDX-License-Identifier: Apache-2.0

package store

import (
	"context"
	"fmt"

	"github.com/koban-csirt/koban/internal/incident"
)

// Custom playbooks: the YAML text admins saved and its state. Parsing,
// validation and the rules of replacing built-in playbooks live in
// incident.Service (playbook_custom.go).

// The incident service keeps its custom playbooks here.
var _ incident.PlaybookStore = (*DB)(nil)

const customPlaybookColumns = `id, source, copied_from, disabled, version, created_by, created_by_id, created_at,
	updated_by, updated_by_id, updated_at`

func scanCustomPlaybook(s scanner) (incident.CustomPlaybook, error) {
	var p incident.CustomPlaybook
	var created, updated int64
	err := s.Scan(&p.ID, &p.Source, &p.CopiedFrom, &p.Disabled, &p.Version, &p.CreatedBy, &p.CreatedByID, &created,
		&p.UpdatedBy, &p.UpdatedByID, &updated)
	if err != nil {
		return incident.CustomPlaybook{}, mapErr(err)
	}
	p.CreatedAt, p.UpdatedAt = fromMicros(created), fromMicros(updated)
	return p, nil
}

// CustomPlaybooks returns every custom playbook, by id.
func (db *DB) CustomPlaybooks(ctx context.Context) ([]incident.CustomPlaybook, error) {
	return queryAll(ctx, db, "custom playbooks", scanCustomPlaybook,
		`SELECT `+customPlaybookColumns+` FROM custom_playbooks ORDER BY id`)
}

// CustomPlaybook returns the custom playbook with id, or NotFound.
func (db *DB) CustomPlaybook(ctx context.Context, id string) (incident.CustomPlaybook, error) {
	p, err := scanCustomPlaybook(db.queryRow(ctx, `SELECT `+customPlaybookColumns+` FROM custom_playbooks WHERE id = ?`, id))
	if err != nil {
		return incident.CustomPlaybook{}, fmt.Errorf("store: custom playbook %q: %w", id, err)
	}
	return p, nil
}

const createCustomPlaybookSQL = `INSERT INTO custom_playbooks (` + customPlaybookColumns + `)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// CreateCustomPlaybook inserts p; Conflict when its id is taken.
func (db *DB) CreateCustomPlaybook(ctx context.Context, p incident.CustomPlaybook) error {
	_, err := db.exec(ctx, createCustomPlaybookSQL, p.ID, p.Source, p.CopiedFrom, p.Disabled, p.Version, p.CreatedBy,
		p.CreatedByID, micros(p.CreatedAt), p.UpdatedBy, p.UpdatedByID, micros(p.UpdatedAt))
	if err != nil {
		return fmt.Errorf("store: create custom playbook %q: %w", p.ID, err)
	}
	return nil
}

const updateCustomPlaybookSQL = `UPDATE custom_playbooks SET source = ?, disabled = ?, version = ?, updated_by = ?,
	updated_by_id = ?, updated_at = ? WHERE id = ? AND version = ?`

// UpdateCustomPlaybook stores p's text, state, version and update fields
// if the row's version is still prevVersion; NotFound otherwise.
func (db *DB) UpdateCustomPlaybook(ctx context.Context, p incident.CustomPlaybook, prevVersion int64) error {
	r, err := db.exec(ctx, updateCustomPlaybookSQL, p.Source, p.Disabled, p.Version, p.UpdatedBy, p.UpdatedByID,
		micros(p.UpdatedAt), p.ID, prevVersion)
	if err == nil {
		err = affected(r)
	}
	if err != nil {
		return fmt.Errorf("store: update custom playbook %q: %w", p.ID, err)
	}
	return nil
}

// DeleteCustomPlaybook removes the custom playbook with id if its version
// is still prevVersion; NotFound otherwise.
func (db *DB) DeleteCustomPlaybook(ctx context.Context, id string, prevVersion int64) error {
	r, err := db.exec(ctx, `DELETE FROM custom_playbooks WHERE id = ? AND version = ?`, id, prevVersion)
	if err == nil {
		err = affected(r)
	}
	if err != nil {
		return fmt.Errorf("store: delete custom playbook %q: %w", id, err)
	}
	return nil
}
