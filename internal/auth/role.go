// SPDX-License-Identifier: Apache-2.0

package auth

// Role is what a person or token may do in koban. Roles follow the CSIRT roles
// of the Nippon CSIRT Association, folded for small teams.
type Role string

// The roles, from most to least powerful.
const (
	// RoleAdmin manages users, tokens and settings, and can do everything.
	RoleAdmin Role = "admin"
	// RoleResponder runs incidents and containment actions.
	RoleResponder Role = "responder"
	// RoleAnalyst triages alerts, hunts and manages intel.
	RoleAnalyst Role = "analyst"
	// RoleViewer is management: dashboards and reports, read only.
	RoleViewer Role = "viewer"
	// RoleReporter is any employee: the incident report form only.
	RoleReporter Role = "reporter"
)

// Roles lists every role, most powerful first.
var Roles = []Role{RoleAdmin, RoleResponder, RoleAnalyst, RoleViewer, RoleReporter}

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	for _, k := range Roles {
		if r == k {
			return true
		}
	}
	return false
}

// rank orders the roles; each holds every permission of the roles ranked
// below it (a test checks the grants keep it so).
func (r Role) rank() int {
	for i, k := range Roles {
		if r == k {
			return len(Roles) - i
		}
	}
	return 0
}

// Lower returns the less powerful of two roles; an unknown role is the
// least powerful of all.
func Lower(a, b Role) Role {
	if a.rank() <= b.rank() {
		return a
	}
	return b
}

// Permission names a capability that routes, commands and services check.
type Permission string

// The permissions. Later issues add their own here, with their row in
// grants below.
const (
	// PermSelf: sign out, own settings, own password and TOTP.
	PermSelf Permission = "self"
	// PermDashboard: the overview page.
	PermDashboard Permission = "dashboard.view"
	// PermReports: management reports.
	PermReports Permission = "reports.view"
	// PermTraining: drills, training records and exercises.
	PermTraining Permission = "training.view"
	// PermAlerts: the alert queue, and reading the detection rules.
	PermAlerts Permission = "alerts.view"
	// PermRules: changing detection content — turning rules off and on,
	// writing and deleting custom rules.
	PermRules Permission = "rules.manage"
	// PermIncidents: incident cases: reading them in full and working on
	// them (tasks, evidence, reports, communication).
	PermIncidents Permission = "incidents.view"
	// PermIncidentSummaries: the incident list and each incident's summary
	// (status, severity, clocks), without its evidence, timeline or
	// observables: what management reads.
	PermIncidentSummaries Permission = "incidents.summary"
	// PermReportDesk: the employee report form (報告窓口) and one's own
	// reports. Every role holds it: anyone may report.
	PermReportDesk Permission = "reportdesk.submit"
	// PermPlaybooks: copying and editing the incident playbooks.
	PermPlaybooks Permission = "playbooks.manage"
	// PermHunting: event search and threat hunting.
	PermHunting Permission = "hunting.use"
	// PermIntel: threat intelligence.
	PermIntel Permission = "intel.view"
	// PermAssets: the asset register.
	PermAssets Permission = "assets.view"
	// PermVulns: vulnerabilities.
	PermVulns Permission = "vulns.view"
	// PermSettings: koban-wide settings.
	PermSettings Permission = "settings.view"
	// PermUsers: users, their roles and their sessions.
	PermUsers Permission = "users.manage"
	// PermTokens: API tokens.
	PermTokens Permission = "tokens.manage"
	// PermAudit: reading the audit trail.
	PermAudit Permission = "audit.view"
	// PermMetrics: reading /metrics with an API token.
	PermMetrics Permission = "metrics.view"
)

// grants is the one place that says which role holds which permission.
var grants = map[Permission][]Role{
	PermSelf:      Roles,
	PermDashboard: {RoleAdmin, RoleResponder, RoleAnalyst, RoleViewer},
	PermReports:   {RoleAdmin, RoleResponder, RoleAnalyst, RoleViewer},
	PermTraining:  {RoleAdmin, RoleResponder, RoleAnalyst, RoleViewer},
	PermAlerts:    {RoleAdmin, RoleResponder, RoleAnalyst},
	// Tuning detection is the analysts' work. Responders triage alerts
	// and run incidents rather than edit detection content, but roles are
	// nested (a token's role is capped with Lower, which assumes every
	// role holds what the roles below it hold): leaving responders out
	// while analysts have it would let a responder mint an analyst token
	// that can change rules. So the grant follows the nesting; a separate
	// permission still lets routes say "changes detection" and lets a
	// later role split narrow it in this one place.
	PermRules:     {RoleAdmin, RoleResponder, RoleAnalyst},
	PermIncidents: {RoleAdmin, RoleResponder, RoleAnalyst},
	// Viewers are management: they follow incidents without the details
	// that only the people handling them need.
	PermIncidentSummaries: {RoleAdmin, RoleResponder, RoleAnalyst, RoleViewer},
	PermReportDesk:        Roles,
	PermPlaybooks:         {RoleAdmin},
	PermHunting:           {RoleAdmin, RoleResponder, RoleAnalyst},
	PermIntel:             {RoleAdmin, RoleResponder, RoleAnalyst},
	PermAssets:            {RoleAdmin, RoleResponder, RoleAnalyst},
	PermVulns:             {RoleAdmin, RoleResponder, RoleAnalyst},
	PermSettings:          {RoleAdmin},
	PermUsers:             {RoleAdmin},
	PermTokens:            {RoleAdmin},
	PermAudit:             {RoleAdmin},
	PermMetrics:           {RoleAdmin},
}

// Can reports whether role r holds permission p. An unknown permission is
// held by nobody.
func Can(r Role, p Permission) bool {
	for _, g := range grants[p] {
		if g == r {
			return true
		}
	}
	return false
}

// Permissions lists every permission that has a grant row.
func Permissions() []Permission {
	ps := make([]Permission, 0, len(grants))
	for p := range grants {
		ps = append(ps, p)
	}
	return ps
}
