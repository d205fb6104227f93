// SPDX-License-Identifier: Apache-2.0

package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/koban-csirt/koban/internal/alert"
	"github.com/koban-csirt/koban/internal/audit"
	"github.com/koban-csirt/koban/internal/auth"
)

func TestAlertsAPI(t *testing.T) {
	e := newAlertEnv(t)
	tok := e.token(e.ana, auth.RoleAnalyst)
	now := e.clock.now()
	a1 := e.record(det("r-1", "web01", "alice", alert.LevelHigh, now.Add(-3*time.Minute), 1))
	a2 := e.record(det("r-2", "web01", "", alert.LevelLow, now.Add(-2*time.Minute), 2))
	a3 := e.record(det("r-3", "db01", "", alert.LevelLow, now.Add(-time.Minute), 3))
	api := func(method, path, body string) (*http.Response, string) {
		resp := e.do(req{method: method, path: path, token: tok, body: body,
			header: map[string]string{"Content-Type": "application/json"}})
		return resp, bodyOf(t, resp)
	}
	type page struct {
		Alerts []alertJSON `json:"alerts"`
		Next   string      `json:"next"`
	}
	var got []int64
	path := "/api/v1/alerts?host=web01&limit=1"
	for i := 0; ; i++ {
		resp, body := api(http.MethodGet, path, "")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
		}
		var p page
		if err := json.Unmarshal([]byte(body), &p); err != nil {
			t.Fatal(err)
		}
		for _, a := range p.Alerts {
			got = append(got, a.ID)
		}
		if p.Next == "" || i > 3 {
			break
		}
		path = "/api/v1/alerts?host=web01&limit=1&after=" + p.Next
	}
	if diff := cmp.Diff([]int64{a2.ID, a1.ID}, got); diff != "" {
		t.Errorf("API pages (-want +got):\n%s", diff)
	}
	_, body := api(http.MethodGet, "/api/v1/alerts?level=low&state=all", "")
	var p page
	if err := json.Unmarshal([]byte(body), &p); err != nil || len(p.Alerts) != 2 || p.Alerts[0].ID != a3.ID {
		t.Errorf("API level filter: %v %s", err, body)
	}
	if resp, body := api(http.MethodGet, "/api/v1/alerts?level=severe", ""); resp.StatusCode != http.StatusBadRequest ||
		!strings.Contains(body, `"field": "level"`) {
		t.Errorf("API bad level: %d %s", resp.StatusCode, body)
	}

	resp, body := api(http.MethodGet, fmt.Sprintf("/api/v1/alerts/%d", a1.ID), "")
	var d alertDetailJSON
	if err := json.Unmarshal([]byte(body), &d); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET alert: %d %v %s", resp.StatusCode, err, body)
	}
	if d.RuleID != "r-1" || d.Level != alert.LevelHigh || d.Host != "web01" || d.Version != 1 ||
		!cmp.Equal(d.Techniques, []string{"T1059.001"}) || !cmp.Equal(d.Tactics, []string{"execution"}) ||
		len(d.EventIDs) != 1 || len(d.History) != 1 || d.History[0].Action != alert.ActionCreated ||
		!cmp.Equal(d.Fields[1], kvJSON{Name: "CommandLine", Value: "cmd /c whoami"}) {
		t.Errorf("GET alert: %+v", d)
	}

	tr := fmt.Sprintf("/api/v1/alerts/%d/transition", a1.ID)
	for _, c := range []struct {
		name, body string
		status     int
		want       string
	}{
		{"no reason", `{"state": "closed", "version": 1}`, http.StatusBadRequest, `"field": "reason"`},
		{"bad state", `{"state": "gone"}`, http.StatusBadRequest, `"field": "state"`},
		{"unknown field", `{"state": "closed", "why": "x"}`, http.StatusBadRequest, `"code": "invalid"`},
		{"stale", `{"state": "acknowledged", "version": 7}`, http.StatusConflict, "was changed by someone else"},
		{"ok", `{"state": "closed", "reason": "known scanner", "version": 1}`, http.StatusOK, `"state": "closed"`},
		{"again", `{"state": "closed", "reason": "known scanner"}`, http.StatusOK, `"changed": false`},
		{"not allowed", `{"state": "in_progress"}`, http.StatusConflict, "cannot be moved"},
	} {
		resp, body := api(http.MethodPost, tr, c.body)
		if resp.StatusCode != c.status || !strings.Contains(body, c.want) {
			t.Errorf("%s: POST %s %s: %d %s, want %d with %q", c.name, tr, c.body, resp.StatusCode, body, c.status, c.want)
		}
	}
	if resp, _ := api(http.MethodGet, "/api/v1/alerts/999999", ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET unknown alert: %d, want 404", resp.StatusCode)
	}
	// The audit trail names the token.
	es, err := e.db.AuditEntries(context.Background(), audit.Filter{Action: "alert.transition"})
	if err != nil || len(es) != 1 || es[0].Via != audit.ViaAPI || es[0].Actor != "ana" {
		t.Errorf("audit of the API transition: %v %+v", err, es)
	}
}
