// SPDX-License-Identifier: Apache-2.0

package app

import (
	"testing"
	"time"

	"github.com/koban-csirt/koban/internal/detect"
	"github.com/koban-csirt/koban/internal/event"
)

// TestMergeDetections: a batch's detections of one rule, host and user
// become one with their count, time span, highest level and event ids;
// other keys and correlations stay apart, in first-seen order.
func TestMergeDetections(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 1, 0, 0, 0, time.UTC)
	mk := func(rule, host, level string, min int, src string) detect.Detection {
		return detect.Detection{Time: t0.Add(time.Duration(min) * time.Minute), Source: src, RuleID: rule, Level: level,
			Host: host, User: "alice", EventIDs: []event.ID{event.NewID(t0.UnixNano() + int64(min))}}
	}
	got := mergeDetections([]detect.Detection{
		mk("r1", "h1", "low", 5, detect.SourceSigma),
		mk("r2", "h1", "high", 1, detect.SourceSigma),
		mk("r1", "h1", "medium", 2, detect.SourceSigma),
		mk("r1", "h2", "low", 3, detect.SourceSigma),
		mk("c1", "h1", "high", 4, detect.SourceCorrelation),
		mk("c1", "h1", "high", 6, detect.SourceCorrelation),
		mk("r1", "h1", "low", 9, detect.SourceSigma),
	})
	if len(got) != 5 {
		t.Fatalf("%d detections, want 5: %+v", len(got), got)
	}
	r1 := got[0]
	if r1.RuleID != "r1" || r1.Host != "h1" || r1.Count != 3 || !r1.Time.Equal(t0.Add(2*time.Minute)) ||
		!r1.Last.Equal(t0.Add(9*time.Minute)) || r1.Level != "medium" || len(r1.EventIDs) != 3 {
		t.Errorf("merged r1: %+v", r1)
	}
	if got[1].RuleID != "r2" || got[2].Host != "h2" || got[3].RuleID != "c1" || got[4].RuleID != "c1" {
		t.Errorf("order or separation wrong: %+v", got)
	}
}
