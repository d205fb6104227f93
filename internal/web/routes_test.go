// SPDX-License-Identifier: Apache-2.0

package web

import (
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/koban-csirt/koban/internal/auth"
)

// Who may use each route, written here independently of routes.go: a route
// registered without a row in this table fails the test, and so does a row
// whose route is gone. Roles list who passes the permission check.
var (
	everyone   = auth.Roles
	management = []auth.Role{auth.RoleAdmin, auth.RoleResponder, auth.RoleAnalyst, auth.RoleViewer}
	analysts   = []auth.Role{auth.RoleAdmin, auth.RoleResponder, auth.RoleAnalyst}
	admins     = []auth.Role{auth.RoleAdmin}
	// reporters is every role: the report form is for anyone.
	reporters = auth.Roles
)

// addRouteRules adds the rows of an area's routes, from the area's own test
// file (var _ = addRouteRules(...)); a row given twice panics.
func addRouteRules(rules map[string]rule) bool {
	for k, v := range rules {
		if _, dup := routeRules[k]; dup {
			panic("routes_test: two rows for " + k)
		}
		routeRules[k] = v
	}
	return true
}

type rule struct {
	access Access
	roles  []auth.Role
}

var routeRules = map[string]rule{
	"/":                  {Public, nil},
	"GET /signin":        {Public, nil},
	"POST /signin":       {Public, nil},
	"POST /lang":         {Public, nil},
	"GET /static/{file}": {Public, nil},
	"GET /healthz":       {Public, nil},
	"/api/":              {Public, nil},
	"GET /metrics":       {Scrape, admins},

	"GET /signin/totp":  {Pending, nil},
	"POST /signin/totp": {Pending, nil},
	"POST /signout":     {AnySession, nil},

	"GET /{$}":                            {Session, everyone},
	"GET /alerts":                         {Session, analysts},
	"POST /alerts/bulk":                   {Session, analysts},
	"GET /alerts/exclusions":              {Session, analysts},
	"GET /alerts/exclusions/new":          {Session, analysts},
	"POST /alerts/exclusions/new":         {Session, analysts},
	"POST /alerts/exclusions/{id}/delete": {Session, analysts},
	"GET /alerts/{id}":                    {Session, analysts},
	"POST /alerts/{id}/transition":        {Session, analysts},
	"POST /alerts/{id}/assign":            {Session, analysts},
	"POST /alerts/{id}/suppress":          {Session, analysts},
	"GET /rules":                          {Session, analysts},
	"POST /rules/bulk":                    {Session, analysts},
	"GET /rules/new":                      {Session, analysts},
	"POST /rules/new":                     {Session, analysts},
	"GET /rules/{id}":                     {Session, analysts},
	"POST /rules/{id}/enable":             {Session, analysts},
	"POST /rules/{id}/disable":            {Session, analysts},
	"GET /rules/{id}/edit":                {Session, analysts},
	"POST /rules/{id}/edit":               {Session, analysts},
	"POST /rules/{id}/delete":             {Session, analysts},
	"GET /hunting":                        {Session, analysts},
	"GET /events":                         {Session, analysts},
	"GET /events/histogram":               {Session, analysts},
	"GET /events/{id}":                    {Session, analysts},
	"GET /sources":                        {Session, analysts},
	"GET /intel":                          {Session, analysts},
	"GET /assets":                         {Session, analysts},
	"GET /vulnerabilities":                {Session, analysts},
	"GET /training":                       {Session, management},
	"GET /reports":                        {Session, management},

	"GET /settings":                  {Session, everyone},
	"POST /settings/profile":         {Session, everyone},
	"POST /settings/preferences":     {Session, everyone},
	"GET /settings/password":         {Session, everyone},
	"POST /settings/password":        {Session, everyone},
	"POST /settings/sessions/revoke": {Session, everyone},
	"GET /settings/totp":             {Session, everyone},
	"POST /settings/totp/begin":      {Session, everyone},
	"POST /settings/totp/confirm":    {Session, everyone},
	"POST /settings/totp/disable":    {Session, everyone},

	"GET /admin/users":                  {Session, admins},
	"GET /admin/users/new":              {Session, admins},
	"POST /admin/users":                 {Session, admins},
	"GET /admin/users/{id}":             {Session, admins},
	"POST /admin/users/{id}/profile":    {Session, admins},
	"POST /admin/users/{id}/role":       {Session, admins},
	"POST /admin/users/{id}/disable":    {Session, admins},
	"POST /admin/users/{id}/enable":     {Session, admins},
	"POST /admin/users/{id}/password":   {Session, admins},
	"POST /admin/users/{id}/totp/reset": {Session, admins},
	"GET /admin/tokens":                 {Session, admins},
	"POST /admin/tokens":                {Session, admins},
	"POST /admin/tokens/{id}/revoke":    {Session, admins},
	"GET /admin/audit":                  {Session, admins},

	"GET /api/v1/me":                      {Token, everyone},
	"GET /api/v1/users":                   {Token, admins},
	"POST /api/v1/users":                  {Token, admins},
	"GET /api/v1/audit":                   {Token, admins},
	"GET /api/v1/events":                  {Token, analysts},
	"GET /api/v1/alerts":                  {Token, analysts},
	"GET /api/v1/alerts/{id}":             {Token, analysts},
	"POST /api/v1/alerts/{id}/transition": {Token, analysts},
}

// concrete turns a pattern into a method and a path that reaches it. Ids
// name nothing, so that allowed requests change nothing.
func concrete(pattern string) (string, string) {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok {
		method, path = http.MethodGet, pattern
	}
	switch path {
	case "/":
		path = "/no-such-page"
	case "/api/":
		path = "/api/v9/nothing"
	case "/{$}":
		path = "/"
	}
	path = strings.NewReplacer("{id}", "999999", "{file}", "nothing.css").Replace(path)
	return method, path
}

func isSignInRedirect(resp *http.Response) bool {
	return resp.StatusCode == http.StatusSeeOther && strings.HasPrefix(resp.Header.Get("Location"), "/signin")
}

func TestEveryRouteHasARule(t *testing.T) {
	e := newEnv(t)
	registered := map[string]bool{}
	for _, rt := range e.srv.Routes() {
		registered[rt.Pattern] = true
		want, ok := routeRules[rt.Pattern]
		if !ok {
			t.Errorf("route %q has no row in routeRules: decide who may use it", rt.Pattern)
			continue
		}
		if want.access != rt.Access {
			t.Errorf("route %q: access %s, want %s", rt.Pattern, rt.Access, want.access)
		}
	}
	var gone []string
	for p := range routeRules {
		if !registered[p] {
			gone = append(gone, p)
		}
	}
	sort.Strings(gone)
	for _, p := range gone {
		t.Errorf("routeRules has %q, which is not registered", p)
	}
}

// TestRouteRoleMatrix sends a request to every route as nobody, as a
// browser session of every role, and as an API token of every role, and
// checks who gets through.
func TestRouteRoleMatrix(t *testing.T) {
	e := newEnv(t, withAlerts)
	users := map[auth.Role]auth.User{}
	sessions := map[auth.Role]string{}
	tokens := map[auth.Role]string{}
	for _, r := range auth.Roles {
		users[r] = e.user("u-"+string(r), r)
		sessions[r] = e.session("u-" + string(r))
	}
	for _, r := range auth.Roles {
		tokens[r] = e.token(users[auth.RoleAdmin], r)
	}
	routes := e.srv.Routes()
	sort.Slice(routes, func(i, j int) bool { return routes[i].Pattern < routes[j].Pattern })
	for _, rt := range routes {
		want, ok := routeRules[rt.Pattern]
		if !ok {
			continue // TestEveryRouteHasARule reports it
		}
		method, path := concrete(rt.Pattern)
		t.Run(rt.Pattern, func(t *testing.T) {
			anon := e.do(req{method: method, path: path})
			switch want.access {
			case Public:
				// 401 is allowed: it is how a failed sign-in answers.
				if anon.StatusCode == http.StatusForbidden || isSignInRedirect(anon) {
					t.Errorf("%s %s anonymous: got %d %s, want it open", method, path, anon.StatusCode, anon.Header.Get("Location"))
				}
			case Session, AnySession, Pending:
				if !isSignInRedirect(anon) {
					t.Errorf("%s %s anonymous: got %d %s, want a redirect to /signin", method, path, anon.StatusCode, anon.Header.Get("Location"))
				}
			case Token, Scrape:
				if anon.StatusCode != http.StatusUnauthorized {
					t.Errorf("%s %s anonymous: got %d, want 401", method, path, anon.StatusCode)
				}
			}
			for _, role := range auth.Roles {
				switch want.access {
				case Session:
					resp := e.do(req{method: method, path: path, session: sessions[role]})
					checkAccess(t, method, path, "session of "+string(role), resp, slices.Contains(want.roles, role))
				case Token, Scrape:
					resp := e.do(req{method: method, path: path, token: tokens[role]})
					checkAccess(t, method, path, "token of "+string(role), resp, slices.Contains(want.roles, role))
					// The API never trusts a browser session.
					if want.access == Token {
						if resp := e.do(req{method: method, path: path, session: sessions[role]}); resp.StatusCode != http.StatusUnauthorized {
							t.Errorf("%s %s with only a session cookie of %s: got %d, want 401", method, path, role, resp.StatusCode)
						}
					}
				case Pending:
					if resp := e.do(req{method: method, path: path, session: sessions[role]}); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
						t.Errorf("%s %s with a full session of %s: got %d %s, want a redirect to /", method, path, role, resp.StatusCode, resp.Header.Get("Location"))
					}
				case AnySession:
					// Sign-out ends the session: use one of its own, and
					// expect the signed-out notice, not a demand to sign in.
					resp := e.do(req{method: method, path: path, session: e.session("u-" + string(role))})
					if loc := resp.Header.Get("Location"); loc != "/signin?m=signin.signed_out" {
						t.Errorf("%s %s as session of %s: got %d %s, want signed out", method, path, role, resp.StatusCode, loc)
					}
				}
			}
		})
	}
}

func checkAccess(t *testing.T, method, path, who string, resp *http.Response, allowed bool) {
	t.Helper()
	denied := resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusUnauthorized || isSignInRedirect(resp)
	if allowed && denied {
		t.Errorf("%s %s as %s: got %d %s, want it allowed", method, path, who, resp.StatusCode, resp.Header.Get("Location"))
	}
	if !allowed && resp.StatusCode != http.StatusForbidden {
		t.Errorf("%s %s as %s: got %d %s, want 403", method, path, who, resp.StatusCode, resp.Header.Get("Location"))
	}
}
