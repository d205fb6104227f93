// SPDX-License-Identifier: Apache-2.0

package duckdb

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/koban-csirt/koban/internal/event"
)

func TestRetention(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	o := testOptions()
	o.MaxAge = 3 * 24 * time.Hour
	s := openStore(t, t.TempDir(), o)
	var evs []event.Event
	for d := range 6 {
		for i := range 50 {
			evs = append(evs, mk(fmt.Sprintf("d%d-%d", d, i), time.Duration(d)*24*time.Hour+time.Duration(i)*time.Minute,
				"CommandLine", strings.Repeat(fmt.Sprintf("payload %d %d ", d, i), 20)))
		}
	}
	insert(t, s, "cp", evs...)
	st, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Days) != 6 || st.Events != 300 || st.Bytes <= 0 || st.BytesPerEvent() <= 0 {
		t.Fatalf("Stats = %d days, %d events, %d bytes", len(st.Days), st.Events, st.Bytes)
	}
	// Now is day 5 at noon: days 0 and 1 ended more than 3 days ago.
	r, err := s.Retain(ctx, day0.Add(5*24*time.Hour+12*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Dropped) != 2 || !r.Dropped[0].Day.Equal(day0) || !r.Dropped[1].Day.Equal(day0.Add(24*time.Hour)) || r.Events != 100 {
		t.Errorf("Retain by age dropped %v (%d events)", r.Dropped, r.Events)
	}
	if got := names(t, s, "d1-0 OR d2-0"); !cmp.Equal(got, []string{"d2-0"}) {
		t.Errorf("after retention by age, found %v", got)
	}
	// By size: allow a little more than two of the four days left; the
	// oldest go, whole.
	st, err = s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s.maxAge = 0
	s.maxBytes = st.Days[2].Bytes + st.Days[3].Bytes + st.Days[3].Bytes/4
	r, err = s.Retain(ctx, day0.Add(5*24*time.Hour+12*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Dropped) != 2 || !r.Dropped[0].Day.Equal(day0.Add(48*time.Hour)) {
		t.Errorf("Retain by size (max %d of %d) dropped %v", s.maxBytes, st.Bytes, r.Dropped)
	}
	st, err = s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Days) != 2 || st.Events != 100 || !st.Days[0].Day.Equal(day0.Add(4*24*time.Hour)) {
		t.Errorf("after retention by size: %d days from %v, %d events", len(st.Days), st.Days, st.Events)
	}
	// The newest day is never dropped for size.
	s.maxBytes = 1
	if _, err := s.Retain(ctx, day0.Add(6*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.Count(ctx, all(nil)); n != 50 {
		t.Errorf("after retention to 1 byte, %d events left, want the newest day's 50", n)
	}
	// New events for a dropped day make it again.
	insert(t, s, "cp2", mk("again", time.Hour))
	if got := names(t, s, "again"); !cmp.Equal(got, []string{"again"}) {
		t.Errorf("an event for a dropped day: found %v", got)
	}
}
