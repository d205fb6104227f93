// SPDX-License-Identifier: Apache-2.0

package file

import (
	"context"
	"os"
	"testing"

	"github.com/koban-csirt/koban/internal/event"
	"github.com/koban-csirt/koban/internal/shareddata"
)

// countSink counts events and keeps nothing.
type countSink struct{ n int64 }

func (c *countSink) Append(_ context.Context, evs []event.Event) error {
	c.n += int64(len(evs))
	return nil
}

// BenchmarkImport reads sample files of each format into a sink that only
// counts: the importer's own cost, without normalisation or the journal.
func BenchmarkImport(b *testing.B) {
	for _, c := range []struct{ name, rel string }{
		{"syslog", "loghub/OpenSSH/OpenSSH_2k.log"},
		{"csv", "loghub/Linux/Linux_2k.log_structured.csv"},
		{"zeek-tsv-gz", "zeek-wrccdc-2018/zeek-default/dns.log.gz"},
		{"zeek-json-gz", "zeek-wrccdc-2018/zeek-json/dns.json.gz"},
		{"suricata", "suricata-eve/surevego/testdata/eve.json"},
		{"evtx", "evtx-attack-samples/AutomatedTestingTools/PanacheSysmon_vs_AtomicRedTeam01.evtx"},
	} {
		b.Run(c.name, func(b *testing.B) {
			path := shareddata.Path(b, c.rel)
			fi, err := os.Stat(path)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(fi.Size())
			var events int64
			for b.Loop() {
				s := &countSink{}
				if _, err := Import(context.Background(), path, s, Options{}); err != nil {
					b.Fatal(err)
				}
				events += s.n
			}
			b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
