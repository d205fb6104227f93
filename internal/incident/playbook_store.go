// SPDX-License-Identifier: Apache-2.0

package incident

import (
	"context"
	"time"
)

// CustomPlaybook is a playbook an admin copied and edited, as stored: its
// YAML text exactly as written (comments included) and who changed it when.
// The text always parsed and validated when it was saved.
type CustomPlaybook struct {
	// ID is the playbook's id, the same as the id in Source. A custom
	// playbook with the id of a built-in one replaces it.
	ID string
	// Source is the YAML text.
	Source string
	// CopiedFrom is the id of the playbook it was copied from.
	CopiedFrom string
	// Disabled custom playbooks are kept but not offered; one that
	// replaces a built-in gives the built-in back while disabled.
	Disabled bool
	// Version counts changes of the row, from 1, for optimistic locking.
	Version     int64
	CreatedByID int64
	CreatedBy   string
	CreatedAt   time.Time
	UpdatedByID int64
	UpdatedBy   string
	UpdatedAt   time.Time
}

// PlaybookStore keeps the playbooks admins copied and edited. Every method
// may return Internal.
type PlaybookStore interface {
	// CustomPlaybooks returns every custom playbook, by id.
	CustomPlaybooks(ctx context.Context) ([]CustomPlaybook, error)
	// CustomPlaybook returns the custom playbook with id; NotFound if
	// there is none.
	CustomPlaybook(ctx context.Context, id string) (CustomPlaybook, error)
	// CreateCustomPlaybook inserts p; Conflict when a custom playbook
	// with its id exists.
	CreateCustomPlaybook(ctx context.Context, p CustomPlaybook) error
	// UpdateCustomPlaybook stores p's text, state, version and update
	// fields, provided the row's version is still prevVersion; NotFound
	// otherwise.
	UpdateCustomPlaybook(ctx context.Context, p CustomPlaybook, prevVersion int64) error
	// DeleteCustomPlaybook removes the custom playbook with id, provided
	// its version is still prevVersion; NotFound otherwise.
	DeleteCustomPlaybook(ctx context.Context, id string, prevVersion int64) error
}
