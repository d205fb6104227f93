// SPDX-License-Identifier: Apache-2.0

package web

// registerEvidence registers the routes of the evidence locker.
func (s *Server) registerEvidence() {}
