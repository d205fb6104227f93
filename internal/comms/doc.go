// SPDX-License-Identifier: Apache-2.0

// Package comms is what a CSIRT says to the world about an incident, and
// to whom: the contacts directory (JPCERT/CC, IPA, the PPC, the police
// cyber desk, insurers, lawyers, vendors, customers, management, staff) and
// who of them is involved in which incident (contact.go); the
// communication log of each incident, messages in and out, with templates
// in Japanese and English and an approval step before a prepared message is
// released (message.go, template.go); and report drafts pre-filled from the
// incident — the PPC 漏えい等報告 with its nine items (速報 and 確報), a
// JPCERT/CC incident report, an IPA unauthorised-access report and a
// summary for management — editable field by field, with a log of where
// each was sent (report.go, prefill.go).
//
// koban never sends these messages or reports itself: a person sends them
// and records here to whom, how and when. Every change is one transaction
// holding the change, its incident timeline entry (through the incident
// Service's Log, which joins the transaction) and its audit entry.
//
// The package never talks SQL or HTTP and never reads roles: internal/store
// implements its Store, and internal/web turns a principal into an Actor.
package comms
