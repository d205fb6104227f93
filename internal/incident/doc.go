// SPDX-License-Identifier: Apache-2.0

// Package incident is case management: the job the CSIRT exists for.
//
// It owns the incident record (taxonomy.go: types aligned with IPA and
// JPCERT/CC categories; incident.go: status, the phases triage → analysis →
// containment → eradication → recovery → review → closed beside IPA's three
// steps), severity from impact (severity.go: a short questionnaire whose
// reasoning is shown, overridable with a reason), tasks with owners, due
// times and checklists (task.go), the timeline of automatic and
// hand-written entries and its export (timeline.go), links between
// incidents (link.go), the post-incident review and its prevention actions
// (review.go), and the rules of the lifecycle (service.go, lifecycle.go):
// no closing with required tasks open, no editing a closed incident until it
// is reopened with a reason, no closing a high or critical incident without
// a completed review, optimistic versions so that nobody overwrites
// another's edit unseen. query.go lists and reads; clean.go cleans what
// people write.
//
// Also here: the playbook library for non-specialists (playbook*.go and the
// embedded playbooks/*.yaml, in Japanese and English, with the "what to do
// next" steps; playbook_custom.go: the copies admins edit, which may replace
// a built-in one); the regulatory and SLA clocks (clock.go: PPC 速報 and 確報
// counted in Asia/Tokyo days, GDPR 72 hours, acknowledge and contain SLAs;
// reminder*.go: which reminders are due, each sent once per recipient);
// observables (observable*.go: extraction from text and alert fields,
// validation, defanged display, stored per incident; incidents sharing a
// kind and value are related); incidents made from alerts or joined by them
// (fromalerts.go, taking the alerts as plain AlertInput so that this package
// never imports internal/alert); and the evidence locker (evidence*.go: content-addressed,
// never modified, with a chain of custody, legal hold and retention).
//
// Every change is one transaction holding the change, its timeline entries
// and its audit entry, so nothing is ever half-saved. Text people write is
// stored as written, HTML included (escaping is the web's job), with control
// characters removed and lengths bounded.
//
// The package never talks SQL or HTTP and never reads roles: internal/store
// implements its Store, and the caller (internal/web, internal/app) turns a
// principal into an Actor with the Access its role grants.
package incident
