// SPDX-License-Identifier: Apache-2.0

package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/koban-csirt/koban/internal/alert"
	"github.com/koban-csirt/koban/internal/config"
	"github.com/koban-csirt/koban/internal/detect"
	"github.com/koban-csirt/koban/internal/detect/baseline"
	"github.com/koban-csirt/koban/internal/event"
	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/i18n"
	"github.com/koban-csirt/koban/internal/intel"
	"github.com/koban-csirt/koban/internal/journal"
	"github.com/koban-csirt/koban/internal/notify"
	"github.com/koban-csirt/koban/internal/sigma"
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
	// stateDir keeps the baselines' and correlations' state across
	// restarts; saved every stateEvery and when detection stops.
	stateDir string
	base     *baseline.Engine
	// reload takes newly compiled rules; run swaps them in between
	// batches, carrying the correlation windows over.
	reload chan *detect.Rules

	events, detections, alertsNew, suppressed atomic.Int64
}

func (d *detection) run(ctx context.Context) error {
	r, err := d.journal.Reader(detectReader)
	if err != nil {
		return err
	}
	defer r.Close()
	d.loadState()
	defer d.saveState()
	lastSave := time.Now()
	var found []detect.Detection
	for {
		if time.Since(lastSave) >= stateEvery {
			d.saveState()
			lastSave = time.Now()
		}
		select {
		case nr := <-d.reload:
			d.swap(nr)
		default:
		}
		wctx, cancel := context.WithTimeout(ctx, advanceEvery)
		evs, pos, err := r.Next(wctx, detectBatch)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, context.DeadlineExceeded) {
				// Quiet: close correlation windows that have ended.
				if err := d.advance(ctx, time.Now().UnixNano()); err != nil {
					return err
				}
				continue
			}
			return fmt.Errorf("detection: journal: %w", err)
		}
		// Rules changed while waiting apply to this batch already (a rule
		// just turned off must not fire on it).
		select {
		case nr := <-d.reload:
			d.swap(nr)
		default:
		}
		found = found[:0]
		for i := range evs {
			d.det.Event(&evs[i], func(x detect.Detection) { found = append(found, x) })
		}
		d.events.Add(int64(len(evs)))
		for _, x := range mergeDetections(found) {
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

// swap puts new rules in place, keeping the windows of correlations that
// are still there (the snapshot is keyed by correlation id).
func (d *detection) swap(nr *detect.Rules) {
	if old := d.det.Rules(); old != nil && old.Correlator != nil && nr.Correlator != nil {
		var buf bytes.Buffer
		if err := old.Correlator.Snapshot(&buf); err == nil {
			if err := nr.Correlator.Restore(&buf); err != nil {
				d.log.Warn("correlation windows not carried over to the new rules", "error", err)
			}
		}
	}
	d.det.Swap(nr)
	d.log.Info("rules reloaded", "rules", nr.Set.Len(), "correlations", corrLen(nr))
}

// advanceEvery is how long detection waits for events before it lets the
// correlations' clock move on by the wall clock.
const advanceEvery = 30 * time.Second

// advance closes correlation windows that ended by now (windows with an
// upper bound, such as "fewer than 3 in 1h", are decided when they end)
// and records what fires.
func (d *detection) advance(ctx context.Context, now int64) error {
	r := d.det.Rules()
	if r == nil || r.Correlator == nil {
		return nil
	}
	var found []detect.Detection
	r.Correlator.Advance(now, func(cm sigma.CorrelationMatch) { found = append(found, detect.CorrelationDetection(cm, nil)) })
	for _, x := range mergeDetections(found) {
		if err := d.record(ctx, x); err != nil {
			return err
		}
	}
	return nil
}

// stateEvery is how often detection state is saved while running.
const stateEvery = 5 * time.Minute

func (d *detection) baselinePath() string    { return filepath.Join(d.stateDir, "baselines.bin") }
func (d *detection) correlationPath() string { return filepath.Join(d.stateDir, "correlations.bin") }

// loadState restores the baselines and correlation windows saved at the
// last stop; a missing file is a first start, a damaged one is logged and
// detection starts afresh.
func (d *detection) loadState() {
	if d.stateDir == "" {
		return
	}
	if d.base != nil {
		if err := d.base.LoadFile(d.baselinePath()); err != nil && !errors.Is(err, fs.ErrNotExist) {
			d.log.Warn("baselines not restored; learning again", "error", err)
		}
	}
	if r := d.det.Rules(); r != nil && r.Correlator != nil {
		f, err := os.Open(d.correlationPath())
		if err == nil {
			if err := r.Correlator.Restore(f); err != nil {
				d.log.Warn("correlation windows not restored; starting empty", "error", err)
			}
			f.Close()
		} else if !errors.Is(err, fs.ErrNotExist) {
			d.log.Warn("correlation windows not restored; starting empty", "error", err)
		}
	}
}

// saveState writes the baselines and correlation windows, each file
// replaced atomically.
func (d *detection) saveState() {
	if d.stateDir == "" {
		return
	}
	if err := os.MkdirAll(d.stateDir, 0o700); err != nil {
		d.log.Warn("detection state not saved", "error", err)
		return
	}
	if d.base != nil {
		if err := d.base.SaveFile(d.baselinePath()); err != nil {
			d.log.Warn("baselines not saved", "error", err)
		}
	}
	if r := d.det.Rules(); r != nil && r.Correlator != nil {
		var buf bytes.Buffer
		err := r.Correlator.Snapshot(&buf)
		if err == nil {
			err = writeFileAtomic(d.correlationPath(), buf.Bytes())
		}
		if err != nil {
			d.log.Warn("correlation windows not saved", "error", err)
		}
	}
}

// writeFileAtomic replaces path with data: a crash leaves the old file or
// the new one, never half of either.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// maxMergedEvents bounds the event ids one merged detection carries; the
// alert links at most alerts.max_events anyway, and Count keeps the total.
const maxMergedEvents = 200

// mergeDetections folds a batch's detections of the same source, rule,
// tenant, host and user into one, in the order each first appeared: a
// noisy rule costs one alert update per batch instead of one per event.
// Correlation detections are kept apart (each firing is its own finding).
func mergeDetections(found []detect.Detection) []alert.Detection {
	type key struct{ tenant, source, rule, host, user string }
	out := make([]alert.Detection, 0, len(found))
	at := map[key]int{}
	for _, x := range found {
		d := alertDetection(x)
		if x.Source == detect.SourceCorrelation {
			out = append(out, d)
			continue
		}
		k := key{d.Tenant, d.Source, d.RuleID, d.Host, d.User}
		i, ok := at[k]
		if !ok {
			at[k] = len(out)
			d.Count, d.Last = 1, d.Time
			out = append(out, d)
			continue
		}
		m := &out[i]
		m.Count++
		if d.Time.Before(m.Time) {
			m.Time = d.Time
		}
		if d.Time.After(m.Last) {
			m.Last = d.Time
		}
		if alert.Level(d.Level).Compare(m.Level) > 0 {
			m.Level = d.Level
		}
		if room := maxMergedEvents - len(m.EventIDs); room > 0 {
			m.EventIDs = append(m.EventIDs, d.EventIDs[:min(room, len(d.EventIDs))]...)
		}
	}
	return out
}

// record stores one detection as an alert and notifies when it is new or
// escalated. A detection the alert service refuses as invalid is logged
// and dropped; a store failure stops detection (the batch is replayed at
// the next start).
func (d *detection) record(ctx context.Context, x alert.Detection) error {
	d.detections.Add(int64(max(x.Count, 1)))
	a, outcome, err := d.alerts.Record(ctx, x)
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

// newDetection builds detection from the configuration: the rules, the
// indicator list, the baselines, and the notification router (nil when no
// channel is configured).
func newDetection(ctx context.Context, c config.Config, j *journal.Journal, alerts *alert.Service, cat *i18n.Catalog, baseURL string, log *slog.Logger) (*detection, *alert.Router, error) {
	cr, err := compileRules(ctx, c, configuredSources(c))
	if err != nil {
		return nil, nil, err
	}
	logRules(log, cr)
	o := detect.Options{Rules: cr.rules, Catalog: cat}
	if c.Detect.Indicators != "" {
		live, err := loadIndicators(c.Detect.Indicators, log)
		if err != nil {
			return nil, nil, err
		}
		o.Indicators = live
	}
	base, err := baseline.New(baseline.Defaults(), baseline.Options{})
	if err != nil {
		return nil, nil, fmt.Errorf("baselines: %w", err)
	}
	o.Baselines = base
	d := &detection{journal: j, det: detect.New(o), alerts: alerts, log: log, stateDir: filepath.Join(c.DataDir, "state"), base: base,
		reload: make(chan *detect.Rules, 1)}
	n, routes, err := newNotifier(c, cat, baseURL)
	if err != nil {
		return nil, nil, err
	}
	if n == nil {
		return d, nil, nil
	}
	router, err := alert.NewRouter(n, routes, alert.RouterOptions{Retryable: notify.Retryable, Log: log.With("component", "notify")})
	if err != nil {
		return nil, nil, err
	}
	d.notify = router.Notify
	return d, router, nil
}

// loadIndicators reads the indicator list file; bad lines are logged and
// left out.
func loadIndicators(path string, log *slog.Logger) (*intel.Live, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("detection.indicators: %w", err)
	}
	defer f.Close()
	list, errs := intel.Load(f, path)
	set, serrs := intel.NewSet(list)
	errs = append(errs, serrs...)
	for i, e := range errs {
		if i == 10 {
			log.Warn("more indicator problems not shown", "count", len(errs)-10)
			break
		}
		log.Warn("indicator left out", "problem", e.Error())
	}
	log.Info("indicators loaded", "file", path, "count", set.Len())
	return intel.NewLive(set), nil
}

// reloadRules compiles the configured rules again and hands them to
// detection; a reload that fails keeps the rules in use.
func (d *detection) reloadRules(ctx context.Context, c config.Config) {
	cr, err := compileRules(ctx, c, configuredSources(c))
	if err != nil {
		d.log.Error("rules not reloaded", "error", err)
		return
	}
	logRules(d.log, cr)
	select {
	case <-d.reload: // a reload not yet applied is replaced
	default:
	}
	d.reload <- cr.rules
}
