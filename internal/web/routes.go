// SPDX-License-Identifier: Apache-2.0

package web

import (
	"net/http"

	"github.com/koban-csirt/koban/internal/auth"
)

// Access says who may reach a route before its permission is checked.
type Access string

// The kinds of access.
const (
	// Public routes need nobody signed in (sign-in, static files, health).
	Public Access = "public"
	// Pending routes serve a session whose TOTP code is still due.
	Pending Access = "pending"
	// AnySession routes serve any session, pending or not (sign-out).
	AnySession Access = "any-session"
	// Session routes need a signed-in browser holding the route's permission.
	Session Access = "session"
	// Token routes are the JSON API: an API token holding the permission.
	// They never trust cookies.
	Token Access = "token"
	// Scrape is /metrics: loopback clients, the metrics token, or an API
	// token holding the permission.
	Scrape Access = "scrape"
)

// Route is one registered route and the rule that guards it.
type Route struct {
	Pattern string // method and path, as http.ServeMux takes it
	Access  Access
	Perm    auth.Permission // for Session, Token and Scrape routes
	// MaxBody bounds the request body; 0 means Options.MaxBodyBytes.
	// Uploads (evidence, report attachments) set their own.
	MaxBody int64
}

// register declares every route: one line each, with its rule.
func (s *Server) register() {
	// Anyone.
	s.handle(Public, "", "/", s.notFound)
	s.handle(Public, "", "GET /signin", s.signinForm)
	s.handle(Public, "", "POST /signin", s.signin)
	s.handle(Public, "", "POST /lang", s.setLang)
	s.handle(Public, "", "GET /static/{file}", s.static)
	s.handle(Public, "", "GET /healthz", s.healthz)
	s.handle(Public, "", "/api/", s.apiNotFound)
	s.handle(Scrape, auth.PermMetrics, "GET /metrics", s.serveMetrics)

	// Sign-in steps and sign-out.
	s.handle(Pending, "", "GET /signin/totp", s.totpForm)
	s.handle(Pending, "", "POST /signin/totp", s.totpSubmit)
	s.handle(AnySession, "", "POST /signout", s.signout)

	// The product's sections.
	s.handle(Session, auth.PermSelf, "GET /{$}", s.home)
	s.handle(Session, auth.PermAlerts, "GET /alerts", s.alerts)
	s.handle(Session, auth.PermAlerts, "POST /alerts/bulk", s.alertsBulk)
	s.handle(Session, auth.PermAlerts, "GET /alerts/exclusions", s.exclusions)
	s.handle(Session, auth.PermRules, "GET /alerts/exclusions/new", s.exclusionNew)
	s.handle(Session, auth.PermRules, "POST /alerts/exclusions/new", s.exclusionNewPost)
	s.handle(Session, auth.PermAlerts, "POST /alerts/exclusions/{id}/delete", s.deleteExclusion)
	s.handle(Session, auth.PermAlerts, "GET /alerts/{id}", s.alertDetail)
	s.handle(Session, auth.PermAlerts, "POST /alerts/{id}/transition", s.alertTransition)
	s.handle(Session, auth.PermAlerts, "POST /alerts/{id}/assign", s.alertAssign)
	s.handle(Session, auth.PermAlerts, "POST /alerts/{id}/suppress", s.alertSuppress)
	s.handle(Session, auth.PermAlerts, "GET /rules", s.rules)
	s.handle(Session, auth.PermRules, "POST /rules/bulk", s.rulesBulk)
	s.handle(Session, auth.PermRules, "GET /rules/new", s.ruleNew)
	s.handle(Session, auth.PermRules, "POST /rules/new", s.ruleNewPost)
	s.handle(Session, auth.PermAlerts, "GET /rules/{id}", s.ruleDetail)
	s.handle(Session, auth.PermRules, "POST /rules/{id}/enable", s.ruleEnable)
	s.handle(Session, auth.PermRules, "POST /rules/{id}/disable", s.ruleDisable)
	s.handle(Session, auth.PermRules, "GET /rules/{id}/edit", s.ruleEdit)
	s.handle(Session, auth.PermRules, "POST /rules/{id}/edit", s.ruleEditPost)
	s.handle(Session, auth.PermRules, "POST /rules/{id}/delete", s.ruleDelete)
	s.handle(Session, auth.PermHunting, "GET /hunting", s.hunting)
	s.handle(Session, auth.PermHunting, "GET /events", s.events)
	s.handle(Session, auth.PermHunting, "GET /events/histogram", s.eventsHistogram)
	s.handle(Session, auth.PermHunting, "GET /events/{id}", s.eventDetail)
	s.handle(Session, auth.PermHunting, "GET /sources", s.sources)
	s.handle(Session, auth.PermIntel, "GET /intel", s.section("intel"))
	s.handle(Session, auth.PermAssets, "GET /assets", s.section("assets"))
	s.handle(Session, auth.PermVulns, "GET /vulnerabilities", s.section("vulnerabilities"))
	s.handle(Session, auth.PermTraining, "GET /training", s.section("training"))
	s.handle(Session, auth.PermReports, "GET /reports", s.section("reports"))

	// Incidents, each area in its own file.
	s.registerIncidents()     // incidents.go: list, new, overview, lifecycle
	s.registerIncidentWork()  // incident_tasks.go: tasks, timeline, playbooks applied
	s.registerEvidence()      // incident_evidence.go: the evidence locker
	s.registerReview()        // incident_review.go: post-incident review, prevention actions
	s.registerObservables()   // incident_observables.go: observables, alerts → incidents
	s.registerComms()         // comms.go: contacts, communication log, report drafts
	s.registerReportDesk()    // reportdesk.go: the employee report form and its queue
	s.registerPlaybookAdmin() // playbooks.go: copying and editing playbooks

	// Own settings.
	s.handle(Session, auth.PermSelf, "GET /settings", s.settings)
	s.handle(Session, auth.PermSelf, "POST /settings/profile", s.saveProfile)
	s.handle(Session, auth.PermSelf, "POST /settings/preferences", s.savePreferences)
	s.handle(Session, auth.PermSelf, "GET /settings/password", s.passwordForm)
	s.handle(Session, auth.PermSelf, "POST /settings/password", s.changePassword)
	s.handle(Session, auth.PermSelf, "POST /settings/sessions/revoke", s.revokeOtherSessions)
	s.handle(Session, auth.PermSelf, "GET /settings/totp", s.totpSettings)
	s.handle(Session, auth.PermSelf, "POST /settings/totp/begin", s.totpBegin)
	s.handle(Session, auth.PermSelf, "POST /settings/totp/confirm", s.totpConfirm)
	s.handle(Session, auth.PermSelf, "POST /settings/totp/disable", s.totpDisable)

	// Administration.
	s.handle(Session, auth.PermUsers, "GET /admin/users", s.users)
	s.handle(Session, auth.PermUsers, "GET /admin/users/new", s.newUserForm)
	s.handle(Session, auth.PermUsers, "POST /admin/users", s.createUser)
	s.handle(Session, auth.PermUsers, "GET /admin/users/{id}", s.userDetail)
	s.handle(Session, auth.PermUsers, "POST /admin/users/{id}/profile", s.updateUser)
	s.handle(Session, auth.PermUsers, "POST /admin/users/{id}/role", s.setRole)
	s.handle(Session, auth.PermUsers, "POST /admin/users/{id}/disable", s.disableUser)
	s.handle(Session, auth.PermUsers, "POST /admin/users/{id}/enable", s.enableUser)
	s.handle(Session, auth.PermUsers, "POST /admin/users/{id}/password", s.resetPassword)
	s.handle(Session, auth.PermUsers, "POST /admin/users/{id}/totp/reset", s.resetTOTP)
	s.handle(Session, auth.PermTokens, "GET /admin/tokens", s.tokens)
	s.handle(Session, auth.PermTokens, "POST /admin/tokens", s.createToken)
	s.handle(Session, auth.PermTokens, "POST /admin/tokens/{id}/revoke", s.revokeToken)
	s.handle(Session, auth.PermAudit, "GET /admin/audit", s.auditLog)

	// JSON API.
	s.handle(Token, auth.PermSelf, "GET /api/v1/me", s.apiMe)
	s.handle(Token, auth.PermUsers, "GET /api/v1/users", s.apiUsers)
	s.handle(Token, auth.PermUsers, "POST /api/v1/users", s.apiCreateUser)
	s.handle(Token, auth.PermAudit, "GET /api/v1/audit", s.apiAudit)
	s.handle(Token, auth.PermHunting, "GET /api/v1/events", s.apiEvents)
	s.handle(Token, auth.PermAlerts, "GET /api/v1/alerts", s.apiAlerts)
	s.handle(Token, auth.PermAlerts, "GET /api/v1/alerts/{id}", s.apiAlert)
	s.handle(Token, auth.PermAlerts, "POST /api/v1/alerts/{id}/transition", s.apiAlertTransition)
}

// handle registers a route behind its guard and records its rule.
func (s *Server) handle(a Access, p auth.Permission, pattern string, h http.HandlerFunc) {
	s.handleRoute(Route{Pattern: pattern, Access: a, Perm: p}, h)
}

// handleUpload registers a route whose body may be up to max bytes, for
// uploads larger than the usual form.
func (s *Server) handleUpload(a Access, p auth.Permission, pattern string, max int64, h http.HandlerFunc) {
	s.handleRoute(Route{Pattern: pattern, Access: a, Perm: p, MaxBody: max}, h)
}

func (s *Server) handleRoute(rt Route, h http.HandlerFunc) {
	s.routes = append(s.routes, rt)
	s.mux.Handle(rt.Pattern, s.guard(rt, h))
}
