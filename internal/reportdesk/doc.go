// SPDX-License-Identifier: Apache-2.0

// Package reportdesk is the employee report desk (報告窓口): where anyone in
// the company reports a suspicious e-mail, a lost or stolen device or a PC
// or account behaving strangely, with attachments such as the .eml, and
// follows what became of the report.
//
// It owns the report record (report.go: kinds, the statuses received → in
// triage → incident opened or not an incident, references RPT-<year>-<n>),
// the Service (service.go: submitting, the reporter's own reports, the
// responders' triage queue, taking and dismissing; open.go: opening an
// incident from a report, in one transaction with the incident and the
// attachments moved into its evidence locker), the in-memory rate limit of
// anonymous reports (limit.go) and a guard over the evidence content store
// so that content a report still needs is never removed (blobs.go).
//
// Attachments live in the evidence locker's content store (incident.Blobs),
// addressed by SHA-256, under a size limit. Anonymous reports carry no user
// and no client address: their reporter follows them with a secret status
// link whose token is stored only as a hash.
//
// The package never talks SQL or HTTP and never reads roles: internal/store
// implements its Store, and internal/web turns a principal into an
// incident.Actor (AccessFull for responders, who triage; anyone may report
// and read their own reports). internal/app builds the Service.
package reportdesk
