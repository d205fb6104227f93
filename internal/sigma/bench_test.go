// SPDX-License-Identifier: Apache-2.0

package sigma_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/koban-csirt/koban/internal/event"
	"github.com/koban-csirt/koban/internal/shareddata"
	"github.com/koban-csirt/koban/internal/sigma"
)

// windowsRules returns SigmaHQ's Windows rules: rules/windows and the
// Windows rules of the emerging-threats and threat-hunting packs.
func windowsRules(tb testing.TB) []*sigma.Rule {
	base := shareddata.Path(tb, "sigma")
	files := ruleFiles(tb, filepath.Join(base, "rules", "windows"), filepath.Join(base, "rules-emerging-threats"), filepath.Join(base, "rules-threat-hunting"))
	rules, _ := loadRules(tb, files)
	var out []*sigma.Rule
	for _, r := range rules {
		if r.LogSource.Product == "windows" {
			out = append(out, r)
		}
	}
	return out
}

// sampleEvents decodes every EVTX sample of the shared data.
func sampleEvents(tb testing.TB) []event.Event {
	base := shareddata.Dir(tb)
	var evs []event.Event
	for _, dir := range []string{"evtx-attack-samples", "hayabusa-sample-evtx", "deepbluecli-evtx", "sigma/regression_data"} {
		for _, f := range evtxFilesIn(tb, filepath.Join(base, dir)) {
			evs = append(evs, evtxEvents(tb, f)...)
		}
	}
	return evs
}

func BenchmarkMatch(b *testing.B) {
	rules := windowsRules(b)
	evs := sampleEvents(b)
	var bytes int64
	for i := range evs {
		for _, f := range evs[i].Fields {
			bytes += int64(len(f.Value))
		}
	}
	for _, n := range []int{100, 1000, len(rules)} {
		// Every k-th rule, so smaller sets keep the pack's mix.
		var sub []*sigma.Rule
		step := float64(len(rules)) / float64(n)
		for i := 0.0; int(i) < len(rules) && len(sub) < n; i += step {
			sub = append(sub, rules[int(i)])
		}
		rs, _ := sigma.Compile(sub, sigma.Options{Applies: applies})
		b.Run(fmt.Sprintf("rules=%d", rs.Len()), func(b *testing.B) {
			m := rs.NewMatcher()
			matches := 0
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				m.Match(&evs[i%len(evs)], func(sigma.Match) { matches++ })
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
			_ = matches
		})
	}
	_ = bytes
}

func evtxFilesIn(tb testing.TB, dir string) []string { return ruleFilesExt(tb, dir, ".evtx") }

func ruleFilesExt(tb testing.TB, dir, ext string) []string {
	tb.Helper()
	var out []string
	for _, f := range allFiles(tb, dir) {
		if strings.HasSuffix(f, ext) {
			out = append(out, f)
		}
	}
	return out
}
