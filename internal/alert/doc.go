// SPDX-License-Identifier: Apache-2.0

// Package alert is the last pipeline stage: it turns detections (from Sigma
// rules, IOC matches, baselines and correlations) into alerts people triage.
//
// It owns grouping (one open alert per tenant, rule, host and user within a
// window, with a count and linked events instead of a flood), the triage
// state machine (see the transitions table in triage.go), assignment,
// per-alert history, exclusions ("suppress similar", the rule tuning the
// Sigma engine also compiles) with hit counters, the queue's queries, and
// notification routing by level with rate limits and digests (Router).
//
// Alerts are stored before anything is sent: Record commits first and only
// then reports whether the alert is new or escalated, and Router takes stored
// alerts only. The package never talks SQL, HTTP or SMTP: internal/store
// implements its Store, internal/notify its Sender, and internal/app wires
// detect → Service.Record → Router.Notify.
package alert
