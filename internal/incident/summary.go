// SPDX-License-Identifier: Apache-2.0

package incident

import (
	"context"
	"strings"

	"github.com/koban-csirt/koban/internal/fault"
)

// IncidentSummary returns a tenant's incident by its reference
// (INC-2026-0001) without its tasks, timeline, links or review: what the
// summary page, the clocks and a link to another incident need. An actor
// with AccessSummary (management, viewers) gets it in brief
// (Incident.Brief); one with AccessFull gets it whole.
//
// Errors: Forbidden below AccessSummary; NotFound "incident.ref_not_found".
func (s *Service) IncidentSummary(ctx context.Context, a Actor, tenant, ref string) (Incident, error) {
	if err := a.needSummary(); err != nil {
		return Incident{}, err
	}
	ref = strings.ToUpper(cleanLine(ref, maxIDLen))
	inc, err := s.store.IncidentByRef(ctx, tenant, ref)
	if fault.Is(err, fault.NotFound) {
		return Incident{}, fault.Wrap(fault.NotFound, err, "incident.ref_not_found", "ref", ref)
	} else if err != nil {
		return Incident{}, wrap(err, "summary "+ref)
	}
	if a.Access < AccessFull {
		inc = inc.Brief()
	}
	return inc, nil
}
