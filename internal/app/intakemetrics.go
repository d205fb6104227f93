// SPDX-License-Identifier: Apache-2.0

package app

import (
	"github.com/prometheus/client_golang/prometheus"
)

// pipelineCollector publishes the journal's and the intake sources'
// figures on /metrics, read when scraped.
type pipelineCollector struct {
	p *pipeline

	journalBytes, journalQueued, journalFull, journalCorrupt, readerLag *prometheus.Desc
	events, parseErrors, dropped, rejected                              *prometheus.Desc
}

func newPipelineCollector(p *pipeline) *pipelineCollector {
	src := []string{"source", "kind"}
	return &pipelineCollector{
		p:              p,
		journalBytes:   prometheus.NewDesc("koban_journal_bytes", "Bytes in journal segment files.", nil, nil),
		journalQueued:  prometheus.NewDesc("koban_journal_queued_events", "Events waiting to be written to the journal.", nil, nil),
		journalFull:    prometheus.NewDesc("koban_journal_full_rejections_total", "Appends refused because the journal was full.", nil, nil),
		journalCorrupt: prometheus.NewDesc("koban_journal_corrupt_records_total", "Corrupt or torn journal records skipped.", nil, nil),
		readerLag:      prometheus.NewDesc("koban_journal_reader_lag_bytes", "Journal bytes a reader has yet to consume.", []string{"reader"}, nil),
		events:         prometheus.NewDesc("koban_intake_events_total", "Events accepted by an intake source.", src, nil),
		parseErrors:    prometheus.NewDesc("koban_intake_parse_errors_total", "Accepted events flagged as parse errors.", src, nil),
		dropped:        prometheus.NewDesc("koban_intake_dropped_total", "Events dropped before the journal (UDP when full).", src, nil),
		rejected:       prometheus.NewDesc("koban_intake_rejected_total", "Requests or connections refused (token, address, size).", src, nil),
	}
}

// Describe sends the descriptors.
func (c *pipelineCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.journalBytes, c.journalQueued, c.journalFull, c.journalCorrupt, c.readerLag,
		c.events, c.parseErrors, c.dropped, c.rejected} {
		ch <- d
	}
}

// Collect reads the current figures.
func (c *pipelineCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.p.journal.Stats()
	ch <- prometheus.MustNewConstMetric(c.journalBytes, prometheus.GaugeValue, float64(st.Bytes))
	ch <- prometheus.MustNewConstMetric(c.journalQueued, prometheus.GaugeValue, float64(st.Queued))
	ch <- prometheus.MustNewConstMetric(c.journalFull, prometheus.CounterValue, float64(st.FullRejections))
	ch <- prometheus.MustNewConstMetric(c.journalCorrupt, prometheus.CounterValue, float64(st.Corrupt))
	for _, r := range st.Readers {
		ch <- prometheus.MustNewConstMetric(c.readerLag, prometheus.GaugeValue, float64(r.LagBytes), r.Name)
	}
	for _, s := range c.p.registry.Snapshot() {
		ch <- prometheus.MustNewConstMetric(c.events, prometheus.CounterValue, float64(s.Events), s.Name, s.Kind)
		ch <- prometheus.MustNewConstMetric(c.parseErrors, prometheus.CounterValue, float64(s.ParseErrors), s.Name, s.Kind)
		ch <- prometheus.MustNewConstMetric(c.dropped, prometheus.CounterValue, float64(s.Dropped), s.Name, s.Kind)
		ch <- prometheus.MustNewConstMetric(c.rejected, prometheus.CounterValue, float64(s.Rejected), s.Name, s.Kind)
	}
}
