// SPDX-License-Identifier: Apache-2.0

package web

import (
	"net/http"
	"strings"
	"testing"

	"github.com/koban-csirt/koban/internal/incident"
)

// TestIncidentTabsShowNoticeOnce: the layout shows the notice after a
// redirect; a tab that shows it too would say it twice, under one id.
func TestIncidentTabsShowNoticeOnce(t *testing.T) {
	w := newWorkEnv(t, 0)
	inc := w.create("Ransom note on the file server", incident.TypeRansomware)
	for _, tab := range []struct{ path, done string }{
		{"", "inc_flags"},
		{"/tasks", "inc_flags"},
		{"/timeline", "inc_flags"},
		{"/evidence", "inc_flags"},
		{"/observables", "incident_from_alerts"},
		{"/review", "incident_review_saved"},
	} {
		path := "/incidents/" + inc.Ref + tab.path + "?done=" + tab.done
		resp, body := w.get(path)
		wantStatus(t, path, resp, body, http.StatusOK)
		if n := strings.Count(body, `id="flash"`); n != 1 {
			t.Errorf("%s shows the notice %d times, want once", path, n)
		}
	}
}
