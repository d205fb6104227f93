// SPDX-License-Identifier: Apache-2.0

package alert_test

import (
	"testing"
	"time"

	"github.com/koban-csirt/koban/internal/alert"
)

// TestRecordMerged: a detection that stands for several (Count, Last) adds
// its count and stretches the alert to its last time.
func TestRecordMerged(t *testing.T) {
	t.Parallel()
	e := newEnv(t, alert.Options{})
	d := det("r1", "ws01", "alice", 0, 1)
	d.EventIDs = append(d.EventIDs, evID(2), evID(3))
	d.Count, d.Last = 3, t0.Add(2*time.Minute)
	a, _ := e.record(t, d)
	if a.Count != 3 || !a.FirstSeen.Equal(t0) || !a.LastSeen.Equal(t0.Add(2*time.Minute)) || a.EventRefs != 3 {
		t.Fatalf("first merged record: %+v", a)
	}
	d = det("r1", "ws01", "alice", 5*time.Minute, 4)
	d.Count, d.Last = 5, t0.Add(9*time.Minute)
	a, _ = e.record(t, d)
	if a.Count != 8 || !a.LastSeen.Equal(t0.Add(9*time.Minute)) || a.EventRefs != 4 {
		t.Fatalf("second merged record: %+v", a)
	}
}
