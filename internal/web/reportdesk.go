// SPDX-License-Identifier: Apache-2.0

package web

// registerReportDesk registers the routes of the employee report form (報告窓口) and its triage queue.
func (s *Server) registerReportDesk() {}
