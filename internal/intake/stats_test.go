// SPDX-License-Identifier: Apache-2.0

package intake

import (
	"testing"
	"time"

	"github.com/koban-csirt/koban/internal/event"
)

func TestCounters(t *testing.T) {
	now := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	r := NewRegistry()
	r.now = func() time.Time { return now }
	c := r.Source("fw", "syslog-udp")
	if r.Source("fw", "syslog-udp") != c {
		t.Fatal("Source made a second counter for one name")
	}
	// Host a sends every 10 minutes, b every minute.
	for range 5 {
		c.Accepted([]event.Event{{Host: "a"}, {Host: "b", Flags: event.FlagParseError}})
		for range 9 {
			now = now.Add(time.Minute)
			c.Accepted([]event.Event{{Host: "b"}})
		}
		now = now.Add(time.Minute)
	}
	c.Accepted([]event.Event{{Host: "b"}})
	c.Dropped(3, "queue full")
	c.Rejected("address not allowed")
	s := r.Snapshot()[0]
	if s.Events != 56 || s.ParseErrors != 5 || s.Dropped != 3 || s.Rejected != 1 || s.LastProblem != "address not allowed" {
		t.Errorf("snapshot %+v", s)
	}
	if s.PerSecond != 1.0/60 {
		t.Errorf("per second = %v, want one event in the last minute", s.PerSecond)
	}
	// Twelve minutes of silence: b (1-minute gap) is silent, a (10-minute
	// gap) is not.
	now = now.Add(12 * time.Minute)
	s = r.Snapshot()[0]
	if len(s.Hosts) != 2 || s.Hosts[0].Host != "b" || !s.Hosts[0].Silent || s.Hosts[1].Silent {
		t.Errorf("hosts %+v", s.Hosts)
	}
	if s.Hosts[1].UsualGap < 9*time.Minute {
		t.Errorf("a's usual gap %v, want about 10 minutes", s.Hosts[1].UsualGap)
	}
}
