// SPDX-License-Identifier: Apache-2.0

package comms_test

import (
	"context"
	"strings"
	"testing"

	"github.com/koban-csirt/koban/internal/comms"
	"github.com/koban-csirt/koban/internal/i18n"
)

// TestDraftTimelineLabels: the timeline a draft quotes names severities,
// phases and statuses in the draft's language, not as koban stores them.
func TestDraftTimelineLabels(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	inc := e.prepared(t)
	for _, lang := range []i18n.Lang{i18n.Japanese, i18n.English} {
		r, err := e.svc.CreateReport(ctx, e.resp, inc.ID, comms.ReportPPC, "", lang)
		if err != nil {
			t.Fatalf("CreateReport(ppc, %s): %v", lang, err)
		}
		other := r.Fields[len(r.Fields)-1]
		want := e.cat.T(lang, "incident.timeline.assessed", "severity", e.cat.T(lang, "incident.severity.level."+string(inc.Severity)))
		if other.Key != "other" || !strings.Contains(other.Value, want) {
			t.Errorf("%s draft's other information %q lacks %q", lang, other.Value, want)
		}
	}
}
