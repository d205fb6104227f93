// SPDX-License-Identifier: Apache-2.0

package app

import (
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/koban-csirt/koban/internal/auth"
	"github.com/koban-csirt/koban/internal/comms"
	"github.com/koban-csirt/koban/internal/config"
	"github.com/koban-csirt/koban/internal/i18n"
	"github.com/koban-csirt/koban/internal/incident"
	"github.com/koban-csirt/koban/internal/reportdesk"
	"github.com/koban-csirt/koban/internal/store"
)

// incidents is the incident side of a running koban: cases, the evidence
// locker, communication and report drafts, and the clock policy.
type incidents struct {
	svc    *incident.Service
	locker *incident.Locker
	comms  *comms.Service
	desk   *reportdesk.Service
	blobs  *store.Blobs
	policy incident.Policy
}

// newIncidents builds the incident services over db, with the evidence
// locker's files in the data directory's evidence folder.
func newIncidents(c config.Config, db *store.DB, cat *i18n.Catalog, log *slog.Logger) (*incidents, error) {
	policy, err := clockPolicy(c.Incidents)
	if err != nil {
		return nil, err
	}
	blobs, err := store.OpenBlobs(filepath.Join(c.DataDir, "evidence"))
	if err != nil {
		return nil, fmt.Errorf("evidence locker: %w", err)
	}
	svc := incident.New(db, incident.Options{Log: log.With("component", "incidents"),
		Assignable: func(role string) bool { return auth.Can(auth.Role(role), auth.PermIncidents) }})
	// Content a report attachment still holds is kept when no evidence
	// item refers to it any more.
	locker := incident.NewLocker(db, reportdesk.KeepReported(blobs, db), incident.LockerOptions{MaxSize: c.Incidents.EvidenceMaxBytes,
		Retention: c.Incidents.EvidenceRetention.D(), Log: log.With("component", "evidence")})
	cm := comms.New(db, svc, cat, comms.Options{Policy: policy, Log: log.With("component", "comms")})
	desk := reportdesk.New(db, svc, locker, blobs, reportdesk.Options{Anonymous: c.Incidents.AnonymousReports,
		MaxAttachmentSize: min(25<<20, c.Incidents.EvidenceMaxBytes), Log: log.With("component", "reportdesk")})
	return &incidents{svc: svc, locker: locker, comms: cm, desk: desk, blobs: blobs, policy: policy}, nil
}

// clockPolicy turns the incidents settings into the clocks' policy.
func clockPolicy(c config.Incidents) (incident.Policy, error) {
	p := incident.DefaultPolicy()
	if c.PPCPreliminaryDays != 0 {
		p.PPCPreliminaryDays = c.PPCPreliminaryDays
	}
	for _, s := range c.SLA {
		p.SLA[incident.Severity(s.Severity)] = incident.SLA{Acknowledge: s.Acknowledge.D(), Contain: s.Contain.D()}
	}
	if err := p.Validate(); err != nil {
		return incident.Policy{}, fmt.Errorf("incidents: %w", err)
	}
	return p, nil
}
