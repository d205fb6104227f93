// SPDX-License-Identifier: Apache-2.0

package web

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestRedirectDoneFragment: the notice's query goes before a fragment, so
// that the browser sends it and the page shows the notice.
func TestRedirectDoneFragment(t *testing.T) {
	for _, c := range []struct{ path, done, want string }{
		{"/incidents/INC-2026-0001/tasks#task-6", "inctask_saved", "/incidents/INC-2026-0001/tasks?done=inctask_saved#task-6"},
		{"/incidents/INC-2026-0001/review#actions", "incident_action_added", "/incidents/INC-2026-0001/review?done=incident_action_added#actions"},
		{"/settings", "password_changed", "/settings?done=password_changed"},
		{"/incidents/INC-2026-0001#x", "", "/incidents/INC-2026-0001#x"},
	} {
		w := httptest.NewRecorder()
		redirectDone(w, httptest.NewRequest(http.MethodPost, "/x", nil), c.path, c.done)
		if got := w.Header().Get("Location"); got != c.want || w.Code != http.StatusSeeOther {
			t.Errorf("redirectDone(%q, %q): %d %q, want 303 %q", c.path, c.done, w.Code, got, c.want)
		}
	}
}
