// SPDX-License-Identifier: Apache-2.0

package web

import (
	"net/http"

	"github.com/koban-csirt/koban/internal/auth"
	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/incident"
)

// The pages of one incident share a header and a row of tabs; each area
// (tasks, evidence, communication …) is its own page under
// /incidents/{ref}/, in its own file.

// incidentTabs are the tabs of an incident's pages, in order: key, path
// under /incidents/{ref}, and whether summary readers (viewers) see it.
var incidentTabs = []struct {
	Key, Path string
	Summary   bool
}{
	{"overview", "", true},
	{"tasks", "/tasks", false},
	{"timeline", "/timeline", false},
	{"evidence", "/evidence", false},
	{"observables", "/observables", false},
	{"comms", "/comms", false},
	{"reports", "/reports", false},
	{"review", "/review", false},
}

// incidentTab is one tab as the header shows it.
type incidentTab struct {
	Key, Href, Label string
	Current          bool
}

// incidentHead is what every page of an incident shows on top. Texts are
// escaped by the template.
type incidentHead struct {
	Ref, Title, Href string
	Type             incident.Type
	Status           incident.Status
	Phase            incident.Phase
	Severity         incident.Severity
	Closed           bool
	// Full: the reader may see and change everything (PermIncidents);
	// otherwise only the summary.
	Full bool
	Tabs []incidentTab
}

// incidentActor is the request's principal as the incident services take
// it, with the access its role grants.
func incidentActor(r *http.Request) incident.Actor {
	a := incident.Actor{Actor: actor(r)}
	if p := principal(r); p != nil {
		switch {
		case p.Can(auth.PermIncidents):
			a.Access = incident.AccessFull
		case p.Can(auth.PermIncidentSummaries):
			a.Access = incident.AccessSummary
		}
	}
	return a
}

// incidentHref is the address of an incident's page, or of one of its tabs
// (tab "" or "overview" for the overview).
func incidentHref(ref, tab string) string {
	for _, t := range incidentTabs {
		if t.Key == tab {
			return "/incidents/" + ref + t.Path
		}
	}
	return "/incidents/" + ref
}

// headOf builds the header of incident inc's page showing tab.
func headOf(p *Page, inc incident.Incident, tab string, full bool) incidentHead {
	h := incidentHead{Ref: inc.Ref, Title: inc.Title, Href: incidentHref(inc.Ref, ""), Type: inc.Type,
		Status: inc.Status, Phase: inc.Phase, Severity: inc.Severity, Closed: inc.Closed(), Full: full}
	for _, t := range incidentTabs {
		if !full && !t.Summary {
			continue
		}
		h.Tabs = append(h.Tabs, incidentTab{Key: t.Key, Href: "/incidents/" + inc.Ref + t.Path,
			Label: p.T("incidents.tab." + t.Key), Current: t.Key == tab})
	}
	return h
}

// incidentDetail reads the incident the request's {ref} names, in full,
// or writes the error page and returns false: NotFound when there is none
// (or the service is off), Forbidden for a summary reader.
func (s *Server) incidentDetail(w http.ResponseWriter, r *http.Request) (incident.Detail, bool) {
	if s.opts.Incidents == nil {
		s.fail(w, r, fault.New(fault.NotFound, "incident.ref_not_found", "ref", r.PathValue("ref")))
		return incident.Detail{}, false
	}
	d, err := s.opts.Incidents.IncidentByRef(r.Context(), incidentActor(r), tenantOf(r), r.PathValue("ref"))
	if err != nil {
		s.fail(w, r, err)
		return incident.Detail{}, false
	}
	return d, true
}

// tenantOf is the tenant the request works in: "" until koban serves
// several tenants.
func tenantOf(*http.Request) string { return "" }
