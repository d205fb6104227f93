// SPDX-License-Identifier: Apache-2.0

package web

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/koban-csirt/koban/internal/auth"
	"github.com/koban-csirt/koban/internal/incident"
)

var _ = addRouteRules(map[string]rule{
	"GET /playbooks/{id}":                {Session, analysts},
	"GET /admin/playbooks":               {Session, admins},
	"GET /admin/playbooks/{id}/copy":     {Session, admins},
	"POST /admin/playbooks/{id}/copy":    {Session, admins},
	"GET /admin/playbooks/{id}/edit":     {Session, admins},
	"POST /admin/playbooks/{id}/edit":    {Session, admins},
	"POST /admin/playbooks/{id}/disable": {Session, admins},
	"POST /admin/playbooks/{id}/enable":  {Session, admins},
	"POST /admin/playbooks/{id}/delete":  {Session, admins},
})

// playbookEnv is a server with incidents, an admin and a responder signed
// in.
type playbookEnv struct {
	*incidentEnv
	admin string
}

func newPlaybookEnv(t *testing.T) *playbookEnv {
	e := newIncidentEnv(t)
	e.user("boss", auth.RoleAdmin)
	return &playbookEnv{incidentEnv: e, admin: e.testEnv.session("boss")}
}

// customVersion returns the stored version of custom playbook id.
func (e *playbookEnv) customVersion(id string) int64 {
	e.t.Helper()
	c, err := e.db.CustomPlaybook(context.Background(), id)
	if err != nil {
		e.t.Fatalf("CustomPlaybook(%s): %v", id, err)
	}
	return c.Version
}

func playbookStatus(t *testing.T, what string, resp *http.Response, status int) string {
	t.Helper()
	body := bodyOf(t, resp)
	if resp.StatusCode != status {
		t.Fatalf("%s: status %d, want %d\n%.2000s", what, resp.StatusCode, status, body)
	}
	return body
}

func TestPlaybookCopyEditDelete(t *testing.T) {
	e := newPlaybookEnv(t)

	// The library lists koban's own playbooks with types, phases and
	// task counts.
	body := playbookStatus(t, "GET /admin/playbooks", e.do(req{path: "/admin/playbooks", session: e.admin}), http.StatusOK)
	lib, _ := incident.Library()
	for _, pb := range lib {
		if !strings.Contains(body, `id="playbook-`+pb.ID+`"`) {
			t.Errorf("the library does not list %s", pb.ID)
		}
	}
	ransom := lib[playbookIndex(lib, "ransomware")]
	row := body[strings.Index(body, `id="playbook-ransomware"`):]
	row = row[:strings.Index(row, "</tr>")]
	if want := `<td class="num">` + strconv.Itoa(len(ransom.Tasks(time.Time{}))) + `</td>`; !strings.Contains(row, want) ||
		!strings.Contains(row, "Triage → Analysis") || !strings.Contains(row, "Ransomware, Malware infection") {
		t.Errorf("the ransomware row lacks its task count, phases or types:\n%s", row)
	}

	// Copy: the form suggests ransomware-custom; the copy opens in the
	// editor.
	body = playbookStatus(t, "GET copy form", e.do(req{path: "/admin/playbooks/ransomware/copy", session: e.admin}), http.StatusOK)
	if !strings.Contains(body, `value="ransomware-custom"`) {
		t.Errorf("the copy form does not suggest ransomware-custom")
	}
	resp := e.do(req{method: "POST", path: "/admin/playbooks/ransomware/copy", session: e.admin, form: url.Values{"id": {"ransomware-custom"}}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/playbooks/ransomware-custom/edit?done=copied" {
		t.Fatalf("POST copy: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp = e.do(req{method: "POST", path: "/admin/playbooks/ransomware/copy", session: e.admin, form: url.Values{"id": {"ransomware-custom"}}})
	body = playbookStatus(t, "POST copy to a taken id", resp, http.StatusConflict)
	if !strings.Contains(body, `id="id-error"`) {
		t.Error("a taken id is not shown beside the field")
	}

	body = playbookStatus(t, "GET editor", e.do(req{path: "/admin/playbooks/ransomware-custom/edit?done=copied", session: e.admin}), http.StatusOK)
	src, _ := incident.PlaybookSource("ransomware")
	text := strings.Replace(string(src), "id: ransomware\n", "id: ransomware-custom\n", 1)
	if !strings.Contains(body, html.EscapeString(text)) {
		t.Error("the editor does not hold the copy's text")
	}

	// Invalid YAML: 422, the problem with its line beside the editor,
	// the text kept as typed.
	broken := strings.Replace(text, "role: it_admin", "role: <plumber>", 1)
	line := 1 + strings.Count(broken[:strings.Index(broken, "role: <plumber>")], "\n")
	v := strconv.FormatInt(e.customVersion("ransomware-custom"), 10)
	resp = e.do(req{method: "POST", path: "/admin/playbooks/ransomware-custom/edit", session: e.admin,
		form: url.Values{"yaml": {broken}, "version": {v}}})
	body = playbookStatus(t, "POST invalid YAML", resp, http.StatusUnprocessableEntity)
	if !strings.Contains(body, `href="#L`+strconv.Itoa(line)+`"`) || !strings.Contains(body, `<tr id="L`+strconv.Itoa(line)+`" class="marked">`) {
		t.Errorf("the problem on line %d is not shown with its line", line)
	}
	if !strings.Contains(body, "Unknown role &#34;&lt;plumber&gt;&#34;") {
		t.Error("the problem's message is missing or not escaped")
	}
	if !strings.Contains(body, html.EscapeString(broken)) || strings.Contains(body, "<plumber>") {
		t.Error("the editor does not keep the text as typed, escaped")
	}

	// YAML that is not even YAML.
	resp = e.do(req{method: "POST", path: "/admin/playbooks/ransomware-custom/edit", session: e.admin,
		form: url.Values{"yaml": {"id: ransomware-custom\ntitle: [unclosed\n"}, "version": {v}}})
	body = playbookStatus(t, "POST broken YAML", resp, http.StatusUnprocessableEntity)
	if !strings.Contains(body, `class="lint-pos"`) {
		t.Error("a YAML syntax error has no line")
	}

	// A valid edit saves and shows on the playbook's page.
	edited := strings.Replace(text, "Ransomware (files encrypted, ransom demanded)", "Ransomware, our way", 1)
	resp = e.do(req{method: "POST", path: "/admin/playbooks/ransomware-custom/edit", session: e.admin,
		form: url.Values{"yaml": {edited}, "version": {v}}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/playbooks/ransomware-custom?done=saved" {
		t.Fatalf("POST valid edit: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	// The same form again is stale.
	resp = e.do(req{method: "POST", path: "/admin/playbooks/ransomware-custom/edit", session: e.admin,
		form: url.Values{"yaml": {edited + "# again\n"}, "version": {v}}})
	body = playbookStatus(t, "POST stale edit", resp, http.StatusConflict)
	if !strings.Contains(body, "Someone changed the playbook") {
		t.Error("a stale edit does not say someone else changed it")
	}
	pbs, err := e.srv.playbookLibrary(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if i := playbookIndex(pbs, "ransomware-custom"); i < 0 || pbs[i].Title["en"] != "Ransomware, our way" {
		t.Error("playbookLibrary does not offer the edited copy")
	}

	// Disable, enable, delete.
	v = strconv.FormatInt(e.customVersion("ransomware-custom"), 10)
	resp = e.do(req{method: "POST", path: "/admin/playbooks/ransomware-custom/disable", session: e.admin, form: url.Values{"version": {v}}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST disable: %d", resp.StatusCode)
	}
	pbs, _ = e.srv.playbookLibrary(context.Background())
	if playbookIndex(pbs, "ransomware-custom") >= 0 {
		t.Error("a disabled playbook is offered")
	}
	v = strconv.FormatInt(e.customVersion("ransomware-custom"), 10)
	resp = e.do(req{method: "POST", path: "/admin/playbooks/ransomware-custom/delete", session: e.admin, form: url.Values{"version": {v}}})
	body = playbookStatus(t, "POST delete unconfirmed", resp, http.StatusBadRequest)
	if !strings.Contains(body, "Tick the box") {
		t.Error("an unconfirmed delete does not say why")
	}
	resp = e.do(req{method: "POST", path: "/admin/playbooks/ransomware-custom/delete", session: e.admin,
		form: url.Values{"version": {v}, "confirm": {"yes"}}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/playbooks?done=deleted" {
		t.Fatalf("POST delete: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	playbookStatus(t, "GET deleted", e.do(req{path: "/playbooks/ransomware-custom", session: e.admin}), http.StatusNotFound)
}

func playbookIndex(pbs []*incident.Playbook, id string) int {
	for i, pb := range pbs {
		if pb.ID == id {
			return i
		}
	}
	return -1
}

func TestPlaybookReadAndReplace(t *testing.T) {
	e := newPlaybookEnv(t)
	// A responder reads a playbook in Japanese, but may not use the
	// admin pages.
	u, _ := e.db.UserByName(context.Background(), "resp")
	u.Lang = "ja"
	if err := e.db.UpdateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	body := playbookStatus(t, "GET /playbooks/phishing-bec as a responder", e.do(req{path: "/playbooks/phishing-bec", session: e.session}), http.StatusOK)
	for _, want := range []string{"フィッシングメール・ビジネスメール詐欺（BEC）", "やること", `id="playbook-do-not"`, `id="playbook-evidence"`, "担当: "} {
		if !strings.Contains(body, want) {
			t.Errorf("the Japanese playbook page lacks %q", want)
		}
	}
	if strings.Contains(body, `id="playbook-copy"`) {
		t.Error("a responder is offered the copy button")
	}
	for _, path := range []string{"/admin/playbooks", "/admin/playbooks/phishing-bec/copy", "/admin/playbooks/phishing-bec/edit"} {
		if resp := e.do(req{path: path, session: e.session}); resp.StatusCode != http.StatusForbidden {
			t.Errorf("GET %s as a responder: %d, want 403", path, resp.StatusCode)
		}
	}
	resp := e.do(req{method: "POST", path: "/admin/playbooks/phishing-bec/copy", session: e.session, form: url.Values{"id": {"x"}}})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("POST copy as a responder: %d, want 403", resp.StatusCode)
	}

	// An admin copies phishing-bec under its own id: it replaces the
	// built-in, and the pages say so.
	resp = e.do(req{method: "POST", path: "/admin/playbooks/phishing-bec/copy", session: e.admin, form: url.Values{"id": {"phishing-bec"}}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST copy under the built-in's id: %d", resp.StatusCode)
	}
	body = playbookStatus(t, "GET /playbooks/phishing-bec", e.do(req{path: "/playbooks/phishing-bec", session: e.admin}), http.StatusOK)
	if !strings.Contains(body, `id="playbook-custom"`) || !strings.Contains(body, "replaces koban&#39;s own playbook") {
		t.Error("the page of a replacing playbook does not say it replaces koban's own")
	}
	body = playbookStatus(t, "GET /admin/playbooks", e.do(req{path: "/admin/playbooks", session: e.admin}), http.StatusOK)
	if !strings.Contains(body, "Replaced by a custom playbook") || !strings.Contains(body, `id="playbook-phishing-bec-custom"`) {
		t.Error("the library does not show the built-in replaced and the custom one")
	}
	pbs, _ := e.srv.playbookLibrary(context.Background())
	n := 0
	for _, pb := range pbs {
		if pb.ID == "phishing-bec" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("playbookLibrary offers phishing-bec %d times, want once", n)
	}
}
