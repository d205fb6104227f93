// SPDX-License-Identifier: Apache-2.0

package app

import (
	"testing"
	"time"

	"github.com/koban-csirt/koban/internal/config"
	"github.com/koban-csirt/koban/internal/incident"
)

// TestClockPolicy: the incidents settings reach the clocks, and a severity
// the settings leave out keeps koban's default.
func TestClockPolicy(t *testing.T) {
	t.Parallel()
	c := config.Default().Incidents
	c.PPCPreliminaryDays = 5
	c.SLA = []config.IncidentSLA{{Severity: "critical", Acknowledge: config.Duration(5 * time.Minute), Contain: config.Duration(2 * time.Hour)}}
	p, err := clockPolicy(c)
	if err != nil {
		t.Fatal(err)
	}
	if p.PPCPreliminaryDays != 5 {
		t.Errorf("PPCPreliminaryDays = %d, want 5", p.PPCPreliminaryDays)
	}
	if got := p.SLA[incident.SeverityCritical]; got.Acknowledge != 5*time.Minute || got.Contain != 2*time.Hour {
		t.Errorf("critical SLA = %+v", got)
	}
	if got, want := p.SLA[incident.SeverityLow], incident.DefaultSLA()[incident.SeverityLow]; got != want {
		t.Errorf("low SLA = %+v, want the default %+v", got, want)
	}
	if p.Location == nil || p.Location.String() != "Asia/Tokyo" {
		t.Errorf("Location = %v, want Asia/Tokyo", p.Location)
	}
}
