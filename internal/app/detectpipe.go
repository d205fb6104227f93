// SPDX-License-Identifier: Apache-2.0

package app

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"

	"github.com/koban-csirt/koban/internal/alert"
	"github.com/koban-csirt/koban/internal/detect"
	"github.com/koban-csirt/koban/internal/event"
	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/journal"
)

// detectReader is the journal reader that feeds detection.
const detectReader = "detect"

// detectBatch is how many events detection reads at a time.
const detectBatch = 2000

// detection runs the detector over the journal and records what it finds
// as alerts, notifying after each alert is stored (DESIGN.md §4). It reads
// the journal on its own, so a slow event store does not delay alerts. A
// batch's journal position is committed after its alerts are stored: a
// crash replays the batch, and the alert service recognises detections
// whose events an alert already links.
type detection struct {
	journal *journal.Journal
	det     *detect.Detector
	alerts  *alert.Service
	notify  func(ctx context.Context, a alert.Alert) // nil: no notifications
	log     *slog.Logger

	events, detections, alertsNew, suppressed atomic.Int64
}

func (d *detection) run(ctx context.Context) error {
	r, err := d.journal.Reader(detectReader)
	if err != nil {
		return err
	}
	defer r.Close()
	var found []detect.Detection
	for {
		evs, pos, err := r.Next(ctx, detectBatch)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("detection: journal: %w", err)
		}
		found = found[:0]
		for i := range evs {
			d.det.Event(&evs[i], func(x detect.Detection) { found = append(found, x) })
		}
		d.events.Add(int64(len(evs)))
		for _, x := range found {
			if err := d.record(ctx, x); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
		}
		if err := r.Commit(pos); err != nil {
			d.log.Warn("journal reader commit failed", "reader", detectReader, "error", err)
		}
	}
}

// record stores one detection as an alert and notifies when it is new or
// escalated. A detection the alert service refuses as invalid is logged
// and dropped; a store failure stops detection (the batch is replayed at
// the next start).
func (d *detection) record(ctx context.Context, x detect.Detection) error {
	d.detections.Add(1)
	a, outcome, err := d.alerts.Record(ctx, alertDetection(x))
	if err != nil {
		if fault.Is(err, fault.Invalid) {
			d.log.Warn("detection dropped", "rule", x.RuleID, "error", err)
			return nil
		}
		return err
	}
	switch outcome {
	case alert.OutcomeCreated:
		d.alertsNew.Add(1)
	case alert.OutcomeSuppressed:
		d.suppressed.Add(1)
	}
	if outcome.Notify() && d.notify != nil {
		d.notify(ctx, a)
	}
	return nil
}

// alertDetection turns a detector's finding into the alert service's
// input.
func alertDetection(x detect.Detection) alert.Detection {
	out := alert.Detection{
		Tenant: x.Tenant, Time: x.Time, Source: x.Source, RuleID: x.RuleID, RuleTitle: x.RuleTitle,
		Level: alert.Level(x.Level), Tags: x.Tags, Host: x.Host, User: x.User,
	}
	for _, f := range x.Fields {
		out.Fields = append(out.Fields, alert.KV{Name: f.Name, Value: f.Value})
	}
	for _, id := range x.EventIDs {
		if id != (event.ID{}) {
			out.EventIDs = append(out.EventIDs, id.String())
		}
	}
	return out
}
