// SPDX-License-Identifier: Apache-2.0

package app

import (
	"cmp"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/koban-csirt/koban/internal/config"
	"github.com/koban-csirt/koban/internal/detect"
	"github.com/koban-csirt/koban/internal/event"
	"github.com/koban-csirt/koban/internal/intake/file"
	"github.com/koban-csirt/koban/internal/normalize"
	"github.com/koban-csirt/koban/internal/sigma"
)

const scanSynopsis = `scan [--rules PATH…] [--format table|csv|jsonl] [--min-level LEVEL] FILE|DIR…

Runs Sigma rules over log files with no server, as Hayabusa does: Windows
event logs (.evtx) and JSON lines (.jsonl, .ndjson), gzip-compressed too,
found below each directory; a file named on the command line may be in any
format 'koban import' reads. Prints every detection in event-time order
(time in UTC, host, rule id and title, level, ATT&CK tags, key fields), then
detections by level, the top rules and the scan's speed. With csv or jsonl
the timeline goes to standard output and the summary to standard error.

Exit status: 0 when the scan ran, whatever it detected; 1 when rules could
not be loaded or a file could not be read (the others are still scanned and
reported); 2 for a bad command line.`

// Output limits: what one detection keeps of its key fields, and what a
// table line shows of them.
const (
	maxKeyFields    = 8
	maxKeyValue     = 1024 // runes kept per value (csv, jsonl)
	maxTableValue   = 80   // runes per value in the table
	maxTableFields  = 200  // runes of all key fields in the table
	maxTableTitle   = 70
	scanTopRules    = 10
	scanProgressDue = 100 * time.Millisecond
)

// scanFormats are the timeline formats.
var scanFormats = []string{"table", "csv", "jsonl"}

// runScan is "koban scan".
func runScan(ctx context.Context, args []string, env Env) error {
	fs := newFlags("scan", scanSynopsis, env)
	cf := config.AddFlags(fs)
	var paths pathList
	fs.Var(&paths, "rules", "rule files, directories or zips (repeatable; default: the configured rule set)")
	format := fs.String("format", "table", "timeline format: table, csv or jsonl")
	minLevel := fs.String("min-level", "", "lowest rule level to load and show (default: detection.min_level)")
	pos, c, err := prepare(fs, cf, args, env, func(pos []string) string {
		switch {
		case len(pos) == 0:
			return "name at least one file or directory"
		case !slices.Contains(scanFormats, *format):
			return fmt.Sprintf("--format %q: say table, csv or jsonl", *format)
		case *minLevel != "" && sigma.LevelRank(*minLevel) == 0:
			return fmt.Sprintf("--min-level %q: say informational, low, medium, high or critical", *minLevel)
		}
		return ""
	})
	if err != nil {
		return done(err)
	}
	start := time.Now()
	srcs := pathSources(paths)
	if len(paths) == 0 {
		srcs = configuredSources(c)
	}
	if *minLevel != "" {
		c.Detect.MinLevel = *minLevel
	}
	set, err := loadRules(ctx, c, srcs, false)
	if err != nil {
		return err
	}
	if set.rules.Set.Len() == 0 {
		return fmt.Errorf("no rules loaded from %s: nothing to scan with ('koban rules lint' shows what is wrong)", strings.Join(sourceNames(srcs), ", "))
	}
	loaded, quiet := reported(set, c.Detect.MinLevel)
	fmt.Fprintf(env.Stderr, "rules: %d loaded (%d correlations) in %s; %d skipped by the selection, %d below level %s (kept for correlations only), %d with problems ('koban rules lint' lists them)\n",
		len(loaded), corrLen(set.rules), set.took.Round(time.Millisecond), len(set.skipped), len(quiet), c.Detect.MinLevel, len(set.kept)-len(loadedRules(set)))
	r := newScanRun(env, set)
	r.collect(pos)
	r.scan(ctx)
	r.correlate()
	r.elapsed, r.total = time.Since(r.start), time.Since(start)
	if err := r.write(*format); err != nil {
		return err
	}
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("scan interrupted: the timeline above covers what was read")
	case len(r.failed) > 0:
		return fmt.Errorf("%d path(s) could not be scanned", len(r.failed))
	}
	return nil
}

func sourceNames(srcs []detect.Source) []string {
	out := make([]string, len(srcs))
	for i, s := range srcs {
		out[i] = s.Label
	}
	return out
}

// scanExts are the file name endings a directory walk takes.
var scanExts = []string{".evtx", ".jsonl", ".ndjson"}

func scannable(name string) bool {
	name = strings.TrimSuffix(strings.ToLower(name), ".gz")
	return slices.ContainsFunc(scanExts, func(ext string) bool { return strings.HasSuffix(name, ext) })
}

// scanHit is one line of the timeline.
type scanHit struct {
	Time  int64
	Host  string
	Rule  *sigma.Rule
	Keys  []keyValue
	File  string
	Count float64 // a correlation's count; 0 for a scanHit rule
	Corr  bool
}

type keyValue struct{ Name, Value string }

// corrInput is a match of a rule that correlations refer to, kept (with
// the fields correlations read) until every file is read, so that the
// correlations see the matches of all files in event-time order.
type corrInput struct {
	m  sigma.Match
	ev event.Event
}

// scanRun is one "koban scan".
type scanRun struct {
	env     Env
	set     *compiledRules
	minRank int
	norm    *normalize.Normalizer
	refd    map[*sigma.Rule]bool // rules correlations refer to
	cfields map[string]bool      // fields correlations read

	files      []string
	sizes      []int64
	totalBytes int64
	start      time.Time

	mu      sync.Mutex // guards what workers add below
	dets    []scanHit
	pending []corrInput
	failed  []error
	sum     file.Summary
	scanned int // files read to the end

	barMu      sync.Mutex
	bar        *importRun // its progress line, drawn over all files
	doneBytes  int64
	doneEvents int64
	doneFiles  int
	cur        []scanProgress // per worker
	lastDraw   time.Time

	elapsed, total time.Duration
}

type scanProgress struct{ read, events int64 }

func newScanRun(env Env, set *compiledRules) *scanRun {
	r := &scanRun{env: env, set: set, minRank: max(set.rules.MinLevel, 1), norm: normalize.New(),
		refd: map[*sigma.Rule]bool{}, cfields: map[string]bool{}}
	refs := map[string][]*sigma.Rule{}
	for _, k := range set.kept {
		for _, n := range []string{k.ID, k.Name} {
			if n != "" {
				refs[n] = append(refs[n], k)
			}
		}
	}
	for _, k := range set.kept {
		c := k.Correlation
		if k.Kind != sigma.KindCorrelation || c == nil {
			continue
		}
		for _, ref := range c.Rules {
			for _, t := range refs[ref] {
				r.refd[t] = true
			}
		}
		for _, f := range c.GroupBy {
			r.cfields[f] = true
		}
		if c.Field != "" {
			r.cfields[c.Field] = true
		}
		for _, byRule := range c.Aliases {
			for _, f := range byRule {
				r.cfields[f] = true
			}
		}
	}
	return r
}

// collect lists the files to scan: a named file as it is, the scannable
// files below a directory.
func (r *scanRun) collect(paths []string) {
	for _, p := range paths {
		files, err := listFiles(p)
		if err != nil {
			r.failed = append(r.failed, err)
			fmt.Fprintf(r.env.Stderr, "failed    %v\n", err)
		}
		for _, f := range files {
			if f != p && !scannable(f) {
				continue
			}
			var size int64
			if fi, err := os.Stat(f); err == nil {
				size = fi.Size()
			}
			r.files = append(r.files, f)
			r.sizes = append(r.sizes, size)
			r.totalBytes += size
		}
	}
}

// scan reads the files, one worker per core, each with its own matcher.
func (r *scanRun) scan(ctx context.Context) {
	r.start = time.Now()
	workers := max(1, min(runtime.GOMAXPROCS(0), len(r.files)))
	r.cur = make([]scanProgress, workers)
	if r.env.Terminal {
		r.bar = &importRun{env: r.env, size: r.totalBytes, fileFrom: r.start}
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() { r.worker(ctx, w, next) })
	}
feed:
	for i := range r.files {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if r.bar != nil {
		r.bar.clearBar()
	}
}

// worker scans the files whose indexes it receives.
func (r *scanRun) worker(ctx context.Context, w int, next <-chan int) {
	var dets []scanHit
	var pending []corrInput
	var path string
	rs, cr := r.set.rules.Set, r.set.rules.Correlator
	sink := newMatchSink(r.norm, rs, func(ev *event.Event, m sigma.Match) {
		rule := m.Rule
		if r.refd[rule] {
			pending = append(pending, corrInput{m: m, ev: r.corrCopy(ev)})
		}
		if cr != nil && cr.Silent(rule) || max(sigma.LevelRank(rule.Level), 1) < r.minRank {
			return
		}
		dets = append(dets, scanHit{Time: ev.Time, Host: strings.Clone(ev.Host), Rule: rule,
			Keys: keyValues(ev, rs.KeyFields(m.Index)), File: path})
	})
	for i := range next {
		path = r.files[i]
		o := file.Options{Source: "scan"}
		if r.bar != nil {
			o.Progress = func(read, events int64) { r.progress(w, read, events) }
		}
		sum, err := file.Import(ctx, path, sink, o)
		failed := err != nil && ctx.Err() == nil
		r.mu.Lock()
		r.sum.Add(sum)
		if failed {
			r.failed = append(r.failed, err)
		} else if err == nil {
			r.scanned++
		}
		r.mu.Unlock()
		r.barMu.Lock()
		if failed {
			if r.bar != nil {
				r.bar.clearBar()
			}
			fmt.Fprintf(r.env.Stderr, "failed    %v\n", err)
		}
		r.doneBytes += r.sizes[i]
		r.doneEvents += sum.Events
		r.doneFiles++
		r.cur[w] = scanProgress{}
		r.draw()
		r.barMu.Unlock()
	}
	r.mu.Lock()
	r.dets = append(r.dets, dets...)
	r.pending = append(r.pending, pending...)
	r.mu.Unlock()
}

// progress records worker w's position in its file and redraws the bar.
func (r *scanRun) progress(w int, read, events int64) {
	r.barMu.Lock()
	r.cur[w] = scanProgress{read, events}
	r.draw()
	r.barMu.Unlock()
}

// draw shows the progress over all files: bytes read of the total,
// events, events per second. At most every scanProgressDue; barMu held.
func (r *scanRun) draw() {
	if r.bar == nil || time.Since(r.lastDraw) < scanProgressDue {
		return
	}
	r.lastDraw = time.Now()
	read, events := r.doneBytes, r.doneEvents
	for _, c := range r.cur {
		read += c.read
		events += c.events
	}
	r.bar.name = fmt.Sprintf("scan: %d/%d files", r.doneFiles, len(r.files))
	r.bar.drawBar(read, events)
}

// corrCopy keeps what correlations read of an event: its id, time, host
// and the fields they name (group-by, condition field, aliases).
func (r *scanRun) corrCopy(ev *event.Event) event.Event {
	c := event.Event{ID: ev.ID, Time: ev.Time, Host: strings.Clone(ev.Host), Log: ev.Log}
	for _, f := range ev.Fields {
		if r.cfields[f.Name()] {
			c.Fields = append(c.Fields, event.Field{ID: f.ID, Value: strings.Clone(f.Value)})
		}
	}
	return c
}

// keyValues returns the values ev has for names, cut to maxKeyValue
// runes and copied (the event's storage is reused).
func keyValues(ev *event.Event, names []string) []keyValue {
	var out []keyValue
	for _, n := range names {
		if len(out) == maxKeyFields {
			break
		}
		if v, ok := ev.Lookup(n); ok && v != "" && !slices.ContainsFunc(out, func(k keyValue) bool { return k.Name == n }) {
			out = append(out, keyValue{n, strings.Clone(truncate(v, maxKeyValue))})
		}
	}
	return out
}

// truncate cuts s to n runes, marking the cut with "…".
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := 0
	for j := range s {
		if i == n-1 {
			return s[:j] + "…"
		}
		i++
	}
	return s
}

// correlate feeds the kept matches to the correlations in event-time
// order, then closes every window: each firing is a detection.
func (r *scanRun) correlate() {
	cr := r.set.rules.Correlator
	if cr == nil {
		return
	}
	slices.SortStableFunc(r.pending, func(a, b corrInput) int { return cmp.Compare(a.ev.Time, b.ev.Time) })
	host := ""
	fire := func(cm sigma.CorrelationMatch) {
		if max(sigma.LevelRank(cm.Rule.Level), 1) < r.minRank {
			return
		}
		d := scanHit{Time: cm.Last, Host: host, Rule: cm.Rule, Count: cm.Count, Corr: true}
		for i, v := range cm.Group {
			if i < len(cm.Rule.Correlation.GroupBy) {
				d.Keys = append(d.Keys, keyValue{cm.Rule.Correlation.GroupBy[i], v})
			}
		}
		d.Keys = append(d.Keys, keyValue{"count", strconv.FormatFloat(cm.Count, 'f', -1, 64)})
		r.dets = append(r.dets, d)
	}
	for i := range r.pending {
		in := &r.pending[i]
		host = in.ev.Host
		cr.Observe(in.m, &in.ev, fire)
	}
	host = ""
	cr.Advance(math.MaxInt64, fire)
	r.pending = nil
}

// matchSink normalises events and runs them through a rule matcher,
// calling onMatch for each match: the event.Sink that file.Import feeds
// in "koban scan" and "koban rules test". Not safe for concurrent use.
type matchSink struct {
	norm    *normalize.Normalizer
	m       *sigma.Matcher
	onMatch func(ev *event.Event, m sigma.Match)
	cur     *event.Event
	cb      func(sigma.Match)
}

func newMatchSink(norm *normalize.Normalizer, rs *sigma.Ruleset, onMatch func(*event.Event, sigma.Match)) *matchSink {
	s := &matchSink{norm: norm, m: rs.NewMatcher(), onMatch: onMatch}
	s.cb = func(m sigma.Match) { s.onMatch(s.cur, m) }
	return s
}

// Append implements event.Sink.
func (s *matchSink) Append(_ context.Context, evs []event.Event) error {
	for i := range evs {
		s.cur = &evs[i]
		s.norm.Event(s.cur)
		s.m.Match(s.cur, s.cb)
	}
	s.cur = nil
	return nil
}

// write sorts the timeline by event time and prints it with the summary.
func (r *scanRun) write(format string) error {
	slices.SortStableFunc(r.dets, func(a, b scanHit) int {
		return cmp.Or(cmp.Compare(a.Time, b.Time), strings.Compare(a.Host, b.Host),
			cmp.Compare(sigma.LevelRank(b.Rule.Level), sigma.LevelRank(a.Rule.Level)), strings.Compare(a.Rule.Title, b.Rule.Title))
	})
	out, sumOut := r.env.Stdout, r.env.Stderr
	var err error
	switch format {
	case "csv":
		err = r.writeCSV(out)
	case "jsonl":
		err = r.writeJSONL(out)
	default:
		err, sumOut = r.writeTable(out), out
		fmt.Fprintln(out)
	}
	if err != nil {
		return err
	}
	return r.writeSummary(sumOut)
}

func timeText(t int64) string { return time.Unix(0, t).UTC().Format(time.RFC3339) }

// printable replaces control characters (line breaks, tabs, terminal
// escapes) so that a value from a log cannot break a table line or drive
// the terminal.
func printable(s string) string {
	if !strings.ContainsFunc(s, unicode.IsControl) {
		return s
	}
	return strings.Map(func(c rune) rune {
		switch {
		case c == '\t' || c == '\n' || c == '\r':
			return ' '
		case unicode.IsControl(c):
			return '\uFFFD'
		}
		return c
	}, s)
}

// keyText renders key fields as Hayabusa does: "Name: value ¦ Name: value",
// each value cut to per runes and the whole to all (0: no limits).
func keyText(keys []keyValue, per, all int) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		v := k.Value
		if per > 0 {
			v = truncate(printable(v), per)
		}
		parts[i] = k.Name + ": " + v
	}
	s := strings.Join(parts, " ¦ ")
	if all > 0 {
		s = truncate(s, all)
	}
	return s
}

func (r *scanRun) writeTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME (UTC)\tHOST\tRULE ID\tTITLE\tLEVEL\tATT&CK\tKEY FIELDS")
	for _, d := range r.dets {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", timeText(d.Time), or(printable(d.Host), "-"), d.Rule.Ref(),
			truncate(printable(d.Rule.Title), maxTableTitle), or(d.Rule.Level, "-"), or(strings.Join(attackTags(d.Rule.Tags), ","), "-"),
			keyText(d.Keys, maxTableValue, maxTableFields))
	}
	return tw.Flush()
}

func (r *scanRun) writeCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"time", "host", "rule_id", "rule_title", "level", "attack", "key_fields", "file", "correlation_count"}) // errors surface at Flush
	for _, d := range r.dets {
		count := ""
		if d.Corr {
			count = strconv.FormatFloat(d.Count, 'f', -1, 64)
		}
		_ = cw.Write([]string{timeText(d.Time), d.Host, d.Rule.Ref(), d.Rule.Title, d.Rule.Level,
			strings.Join(attackTags(d.Rule.Tags), ","), keyText(d.Keys, 0, 0), d.File, count})
	}
	cw.Flush()
	return cw.Error()
}

// scanRecord is one line of the jsonl timeline.
type scanRecord struct {
	Time        string            `json:"time"`
	Host        string            `json:"host"`
	RuleID      string            `json:"rule_id"`
	RuleTitle   string            `json:"rule_title"`
	Level       string            `json:"level"`
	Attack      []string          `json:"attack"`
	Fields      map[string]string `json:"fields"`
	File        string            `json:"file,omitempty"`
	Correlation bool              `json:"correlation,omitempty"`
	Count       float64           `json:"count,omitempty"`
}

func (r *scanRun) writeJSONL(w io.Writer) error {
	enc := json.NewEncoder(w)
	for _, d := range r.dets {
		rec := scanRecord{Time: timeText(d.Time), Host: d.Host, RuleID: d.Rule.Ref(), RuleTitle: d.Rule.Title, Level: d.Rule.Level,
			Attack: attackTags(d.Rule.Tags), Fields: map[string]string{}, File: d.File, Correlation: d.Corr, Count: d.Count}
		if rec.Attack == nil {
			rec.Attack = []string{}
		}
		for _, k := range d.Keys {
			rec.Fields[k.Name] = k.Value
		}
		if err := enc.Encode(rec); err != nil {
			return err
		}
	}
	return nil
}

// writeSummary prints detections by level, the top rules, what was
// scanned and how fast, warnings and failures.
func (r *scanRun) writeSummary(w io.Writer) error {
	byLevel := map[string]int{}
	for _, d := range r.dets {
		byLevel[or(d.Rule.Level, "informational")]++
	}
	var lv []string
	for _, l := range levelNames {
		lv = append(lv, fmt.Sprintf("%s %d", l, byLevel[l]))
	}
	fmt.Fprintf(w, "Detections: %d (%s)\n", len(r.dets), strings.Join(lv, ", "))
	if err := r.writeTopRules(w); err != nil {
		return err
	}
	secs := max(r.total.Seconds(), 1e-9)
	mb := float64(r.doneBytes) / 1e6
	fmt.Fprintf(w, "\nScanned %d file(s), %.1f MB, %d event(s) in %s (rules %s, reading and matching %s): %.1f MB/s, %.0f events/s end to end\n",
		r.scanned, mb, r.sum.Events, r.total.Round(time.Millisecond), r.set.took.Round(time.Millisecond),
		r.elapsed.Round(time.Millisecond), mb/secs, float64(r.sum.Events)/secs)
	if n := len(r.sum.Warnings); n > 0 {
		fmt.Fprintf(w, "\nWarnings (%d; parts of files that could not be read):\n", n)
		for i, s := range r.sum.Warnings {
			if i == maxListed {
				fmt.Fprintf(w, "  … and %d more\n", n-maxListed)
				break
			}
			fmt.Fprintf(w, "  %s\n", s)
		}
	}
	if len(r.failed) > 0 {
		fmt.Fprintf(w, "\nNot scanned (%d):\n", len(r.failed))
		for _, f := range r.failed {
			fmt.Fprintf(w, "  %v\n", f)
		}
	}
	return nil
}

// writeTopRules prints the rules that fired most, with on how many hosts.
func (r *scanRun) writeTopRules(w io.Writer) error {
	type ruleCount struct {
		rule *sigma.Rule
		n    int
		host map[string]bool
	}
	byRule := map[*sigma.Rule]*ruleCount{}
	var top []*ruleCount
	for _, d := range r.dets {
		rc := byRule[d.Rule]
		if rc == nil {
			rc = &ruleCount{rule: d.Rule, host: map[string]bool{}}
			byRule[d.Rule] = rc
			top = append(top, rc)
		}
		rc.n++
		rc.host[d.Host] = true
	}
	if len(top) == 0 {
		return nil
	}
	slices.SortStableFunc(top, func(a, b *ruleCount) int {
		return cmp.Or(cmp.Compare(b.n, a.n), cmp.Compare(sigma.LevelRank(b.rule.Level), sigma.LevelRank(a.rule.Level)))
	})
	fmt.Fprintln(w, "\nTop rules:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  COUNT\tHOSTS\tLEVEL\tRULE ID\tTITLE")
	for _, rc := range top[:min(scanTopRules, len(top))] {
		fmt.Fprintf(tw, "  %d\t%d\t%s\t%s\t%s\n", rc.n, len(rc.host), or(rc.rule.Level, "-"), rc.rule.Ref(), printable(rc.rule.Title))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(top) > scanTopRules {
		fmt.Fprintf(w, "  … and %d more rules\n", len(top)-scanTopRules)
	}
	return nil
}
