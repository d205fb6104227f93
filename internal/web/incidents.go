// SPDX-License-Identifier: Apache-2.0

package web

// registerIncidents registers the routes of list, new, overview, lifecycle.
func (s *Server) registerIncidents() {}
