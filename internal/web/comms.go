// SPDX-License-Identifier: Apache-2.0

package web

// registerComms registers the routes of contacts, the communication log and report drafts.
func (s *Server) registerComms() {}
