// SPDX-License-Identifier: Apache-2.0

package web

// registerPlaybookAdmin registers the routes of copying and editing playbooks.
func (s *Server) registerPlaybookAdmin() {}
