// SPDX-License-Identifier: Apache-2.0

package web

// registerIncidentWork registers the routes of tasks, timeline, playbooks applied.
func (s *Server) registerIncidentWork() {}
