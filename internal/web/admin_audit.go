// SPDX-License-Identifier: Apache-2.0

package web

import (
	"net/http"
	"strconv"

	"github.com/koban-csirt/koban/internal/audit"
)

const auditPageSize = 50

type auditPage struct {
	*Page
	Filter  audit.Filter
	Entries []audit.Entry
	// More is the Before of the next page, or 0 at the end.
	More int64
	// MoreURL is the next page; MorePart is its rows alone, for htmx.
	MoreURL, MorePart string
}

func auditFilter(r *http.Request) audit.Filter {
	q := r.URL.Query()
	before, _ := strconv.ParseInt(q.Get("before"), 10, 64) // a bad number means the newest page
	limit, _ := strconv.Atoi(q.Get("limit"))               // out-of-range limits mean the default
	return audit.Filter{Before: before, Limit: limit, Actor: q.Get("actor"), Action: q.Get("action"), Object: q.Get("object")}
}

func (s *Server) auditLog(w http.ResponseWriter, r *http.Request) {
	f := auditFilter(r)
	f.Limit = auditPageSize
	es, err := s.opts.Audit.AuditEntries(r.Context(), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := auditPage{Page: s.page(r, "audit", "audit.title"), Filter: f, Entries: es}
	if len(es) == auditPageSize {
		d.More = es[len(es)-1].Seq
		q := r.URL.Query()
		q.Set("before", strconv.FormatInt(d.More, 10))
		q.Del("part")
		d.MoreURL = "/admin/audit?" + q.Encode()
		q.Set("part", "rows")
		d.MorePart = "/admin/audit?" + q.Encode()
	}
	if r.URL.Query().Get("part") == "rows" {
		// htmx asks for the next rows only.
		s.renderPart(w, r, "audit", "audit_rows", d)
		return
	}
	s.render(w, r, http.StatusOK, "audit", d)
}
