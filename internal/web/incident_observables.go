// SPDX-License-Identifier: Apache-2.0

package web

// registerObservables registers the routes of observables and alerts → incidents.
func (s *Server) registerObservables() {}
