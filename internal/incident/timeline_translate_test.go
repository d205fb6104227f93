// SPDX-License-Identifier: Apache-2.0

package incident_test

import (
	"strings"
	"testing"

	"github.com/koban-csirt/koban/internal/i18n"
	"github.com/koban-csirt/koban/internal/incident"
)

func TestTimelineTranslateLabels(t *testing.T) {
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		lang i18n.Lang
		msg  string
		args []any
		want string
	}{
		{i18n.English, "incident.timeline.phase", []any{"from", "triage", "to", "containment", "reason", ""},
			"Phase changed from Triage to Containment."},
		{i18n.Japanese, "incident.timeline.assessed", []any{"severity", "high"},
			cat.T(i18n.Japanese, "incident.timeline.assessed", "severity", cat.T(i18n.Japanese, "incident.severity.level.high"))},
		{i18n.English, "incident.timeline.changed_flags", []any{"to", "personal_data, over_1000"},
			"Regulatory flags now: Personal data involved, More than 1,000 people affected"},
		{i18n.English, "incident.timeline.changed_flags", []any{"to", ""}, "Regulatory flags now:"},
		{i18n.English, "incidentobs.timeline.alert", []any{"id", "7", "title", "t", "level", "medium", "host", "web01", "count", "1"},
			"Alert #7 (Medium) taken in: t on web01, 1 detection."},
		{i18n.English, "comms.timeline.report_created", []any{"report", "1", "kind", "ppc", "stage", "preliminary"},
			"Report draft #1 (Report to the PPC (漏えい等報告)) started."},
		// A word without a label is shown as stored; an unknown message as
		// its id and arguments.
		{i18n.English, "comms.timeline.report_created", []any{"report", "2", "kind", "bogus"}, "Report draft #2 (bogus) started."},
		{i18n.English, "nobody.knows.this", []any{"a", "b"}, "nobody.knows.this a b"},
	} {
		if got := incident.TimelineTranslate(cat, c.lang)(c.msg, c.args...); got != c.want {
			t.Errorf("%s %s %v: got %q, want %q", c.lang, c.msg, c.args, got, c.want)
		}
	}
	ja := incident.TimelineTranslate(cat, i18n.Japanese)("incident.timeline.changed_flags", "to", "personal_data, malicious_intent")
	if strings.Contains(ja, "personal_data") || strings.Contains(ja, "malicious_intent") || !strings.Contains(ja, cat.T(i18n.Japanese, "incidentclock.flag.personal_data")) {
		t.Errorf("flags in Japanese: %q", ja)
	}
}
