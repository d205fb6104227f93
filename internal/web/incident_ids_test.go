// SPDX-License-Identifier: Apache-2.0

package web

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"testing"

	"github.com/koban-csirt/koban/internal/incident"
)

var idAttr = regexp.MustCompile(`\sid="([^"]+)"`)

// duplicateIDs lists the ids a page gives to more than one element.
func duplicateIDs(page string) []string {
	seen := map[string]int{}
	for _, m := range idAttr.FindAllStringSubmatch(page, -1) {
		seen[m[1]]++
	}
	var out []string
	for id, n := range seen {
		if n > 1 {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// TestIncidentPagesUniqueIDs: every id on an incident's pages names one
// element, so that each label points at its own field (a task's edit form
// once shared its ids with the task's facts: the label "Due" pointed at
// the due time shown, not at the field to change it).
func TestIncidentPagesUniqueIDs(t *testing.T) {
	w := newWorkEnv(t, 0)
	inc := w.create("Phishing at sales", incident.TypePhishing)
	base := "/incidents/" + inc.Ref
	resp, body := w.post(base+"/tasks", url.Values{"title": {"Block the sender"}, "why": {"Stops more mail"},
		"phase": {"containment"}, "owner": {"role:it_admin"}, "due": {"2026-11-23T09:00"}, "required": {"1"},
		"checklist": {"Rule added\nBlocked in proxy"}})
	wantStatus(t, "add task", resp, body, http.StatusSeeOther)
	for _, tab := range []string{"", "/tasks", "/timeline", "/evidence", "/review"} {
		resp, page := w.get(base + tab)
		wantStatus(t, "GET "+base+tab, resp, page, http.StatusOK)
		if d := duplicateIDs(page); len(d) > 0 {
			t.Errorf("GET %s: ids used more than once: %v", base+tab, d)
		}
	}
}
