// SPDX-License-Identifier: Apache-2.0

package baseline

import (
	"testing"

	"github.com/koban-csirt/koban/internal/event"
)

// BenchmarkObserve replays real events (EVTX samples and the OpenSSH log,
// normalised) through the built-in definitions, one event per iteration,
// round and round. "all" is the whole mix; "observed" only the events some
// definition observes (process creations, logons, services, failures);
// "unobserved" the rest. The first pass learns, later ones mostly see known
// values, as a running engine does.
func BenchmarkObserve(b *testing.B) {
	evs := realEvents(b)
	probe := mustNew(b, Defaults(), Options{Now: fixedNow})
	var observed, unobserved []event.Event
	for i := range evs {
		before := probe.Stats().Definitions
		probe.Observe(&evs[i], nil)
		after := probe.Stats().Definitions
		hit := false
		for j := range after {
			hit = hit || after[j].Observed != before[j].Observed
		}
		if hit {
			observed = append(observed, evs[i])
		} else {
			unobserved = append(unobserved, evs[i])
		}
	}
	for _, bc := range []struct {
		name string
		evs  []event.Event
	}{{"all", evs}, {"observed", observed}, {"unobserved", unobserved}} {
		b.Run(bc.name, func(b *testing.B) {
			e := mustNew(b, Defaults(), Options{Now: fixedNow})
			n := 0
			b.ReportAllocs()
			for b.Loop() {
				e.Observe(&bc.evs[n], func(Finding) {})
				if n++; n == len(bc.evs) {
					n = 0
				}
			}
			b.ReportMetric(float64(len(bc.evs)), "events")
		})
	}
}
