// SPDX-License-Identifier: Apache-2.0

package web

import (
	"net/http"

	"github.com/koban-csirt/koban/internal/auth"
	"github.com/koban-csirt/koban/internal/fault"
)

// sectionInfo is one card of the dashboard and the body of a section page
// whose feature is still to come.
type sectionInfo struct {
	Key  string
	Href string
}

type dashboardPage struct {
	*Page
	Sections  []sectionInfo
	StoreKind string
	// Incidents is the card of open incidents and their next deadlines;
	// nil when the reader may not see incidents.
	Incidents *incDashboard
}

// home is the dashboard for those who may see it; reporters, who may not,
// land on the report form.
func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	if !p.Can(auth.PermDashboard) {
		http.Redirect(w, r, "/report", http.StatusSeeOther)
		return
	}
	d := dashboardPage{Page: s.page(r, "dashboard", "nav.dashboard"), StoreKind: s.opts.StoreKind}
	d.Incidents = s.incidentsDashboard(r, d.Page)
	for _, it := range d.Nav {
		if it.Group == "main" && it.Key != "dashboard" {
			d.Sections = append(d.Sections, sectionInfo{Key: it.Key, Href: it.Href})
		}
	}
	s.render(w, r, http.StatusOK, "dashboard", d)
}

type sectionPage struct {
	*Page
	Key string
}

// section renders a part of the product that a later version fills: it says
// what will be there, so no link is dead.
func (s *Server) section(key string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.render(w, r, http.StatusOK, "section", sectionPage{Page: s.page(r, key, "nav."+key), Key: key})
	}
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.fail(w, r, fault.New(fault.NotFound, "error.not_found"))
}

func (s *Server) apiNotFound(w http.ResponseWriter, r *http.Request) {
	info(r).api = true
	s.fail(w, r, fault.New(fault.NotFound, "error.not_found"))
}
