// SPDX-License-Identifier: Apache-2.0

package app

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/koban-csirt/koban/internal/config"
	"github.com/koban-csirt/koban/internal/event"
	"github.com/koban-csirt/koban/internal/intake/file"
	"github.com/koban-csirt/koban/internal/journal"
	"github.com/koban-csirt/koban/internal/normalize"
)

// maxListed bounds the skipped lines, warnings and failures printed.
const maxListed = 20

// runImport takes in log files: each is read (its format detected unless
// --format says it), normalised and appended to the journal, from which
// "koban serve" (running now or started later) moves the events into the
// event store.
func runImport(ctx context.Context, args []string, env Env) error {
	formats := make([]string, len(file.Formats))
	for i, f := range file.Formats {
		formats[i] = string(f)
	}
	fs := newFlags("import", "import [--source NAME] [--format FORMAT] FILE|DIR…", env)
	cf := config.AddFlags(fs)
	source := fs.String("source", "", "the events' source (default: import:<file name>)")
	format := fs.String("format", "", "the files' format, one of "+strings.Join(formats, ", ")+" (default: detected per file)")
	pos, c, err := prepare(fs, cf, args, env, func(pos []string) string {
		if len(pos) == 0 {
			return "name at least one file or directory"
		}
		if *format != "" && !file.Format(*format).Valid() {
			return fmt.Sprintf("unknown --format %q: say one of %s", *format, strings.Join(formats, ", "))
		}
		return ""
	})
	if err != nil {
		return done(err)
	}
	log := newLogger(c.Log, env.Stderr, env.Terminal)
	j, err := journal.Open(filepath.Join(c.DataDir, "journal"), journal.Options{
		SegmentBytes: c.Journal.SegmentBytes, MaxBytes: c.Journal.MaxBytes, QueueEvents: c.Journal.QueueEvents,
		Log: log.With("component", "journal"),
	})
	if err != nil {
		return err
	}
	im := &importRun{env: env, sink: normalize.New().Sink(j), opts: file.Options{Source: *source, Format: file.Format(*format)}}
	im.run(ctx, pos)
	if err := j.Close(); err != nil {
		im.failed = append(im.failed, err)
	}
	return im.report(ctx)
}

// importRun is one "koban import": its files, results and progress display.
type importRun struct {
	env    Env
	sink   event.Sink
	opts   file.Options
	start  time.Time
	files  []fileResult
	failed []error // paths not imported; each error names its path
	total  file.Summary

	// progress bar state
	name     string
	size     int64
	fileFrom time.Time
	drawn    bool
}

type fileResult struct {
	path string
	sum  file.Summary
}

// run imports the files and directories in paths, in order; a directory's
// files are taken in name order, hidden ones (".name") left out.
func (r *importRun) run(ctx context.Context, paths []string) {
	r.start = time.Now()
	for _, p := range paths {
		if ctx.Err() != nil {
			return
		}
		files, err := listFiles(p)
		if err != nil {
			r.fail(err)
		}
		for _, f := range files {
			if ctx.Err() != nil {
				return
			}
			r.importFile(ctx, f)
		}
	}
}

// listFiles returns path itself for a file, or the files under a
// directory. Unreadable parts of a directory are returned as an error
// together with the files that could be listed.
func listFiles(path string) ([]string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return []string{path}, nil
	}
	var files []string
	var errs []error
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			errs = append(errs, err)
			if d != nil && d.IsDir() && p != path {
				return fs.SkipDir
			}
			return nil
		}
		if p != path && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		errs = append(errs, err)
	}
	sort.Strings(files) // WalkDir is lexical already; keep it explicit
	return files, errors.Join(errs...)
}

func (r *importRun) fail(err error) {
	r.failed = append(r.failed, err)
	r.clearBar()
	fmt.Fprintf(r.env.Stderr, "failed    %v\n", err)
}

func (r *importRun) importFile(ctx context.Context, path string) {
	r.name, r.size, r.fileFrom = path, 0, time.Now()
	if fi, err := os.Stat(path); err == nil {
		r.size = fi.Size()
	}
	o := r.opts
	if r.env.Terminal {
		o.Progress = r.drawBar
	}
	sum, err := file.Import(ctx, path, r.sink, o)
	if sum.Files > 0 {
		r.files = append(r.files, fileResult{path, sum})
		r.total.Add(sum)
	}
	r.clearBar()
	if err != nil {
		if ctx.Err() != nil {
			return // reported once, at the end
		}
		r.fail(err)
		return
	}
	fmt.Fprintf(r.env.Stderr, "imported  %s: %s, %d events (%d flagged, %d skipped) in %s\n",
		path, sum.Format, sum.Events, sum.Flagged, sum.SkippedTotal, sum.Elapsed.Round(time.Millisecond))
}

// drawBar shows one line of progress on the terminal: file, share of its
// bytes read, events, events per second, time taken.
func (r *importRun) drawBar(read, events int64) {
	el := time.Since(r.fileFrom)
	pct := 100.0
	if r.size > 0 {
		pct = min(100, 100*float64(read)/float64(r.size))
	}
	rate := 0.0
	if s := el.Seconds(); s > 0 {
		rate = float64(events) / s
	}
	const width = 20
	filled := int(pct / 100 * width)
	bar := strings.Repeat("#", filled) + strings.Repeat(".", width-filled)
	fmt.Fprintf(r.env.Stderr, "\r\x1b[K%s [%s] %3.0f%%  %d events  %.0f events/s  %s",
		shorten(r.name, 40), bar, pct, events, rate, el.Round(100*time.Millisecond))
	r.drawn = true
}

func (r *importRun) clearBar() {
	if r.drawn {
		fmt.Fprint(r.env.Stderr, "\r\x1b[K")
		r.drawn = false
	}
}

// shorten keeps the end of a long path, which names the file.
func shorten(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return "…" + string(r[len(r)-n+1:])
	}
	return s
}

// report prints the summary table, the skipped lines, the warnings and
// the failures, and returns an error when some file could not be read or
// the import was interrupted.
func (r *importRun) report(ctx context.Context) error {
	w := r.env.Stdout
	elapsed := time.Since(r.start)
	if len(r.files) > 0 {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "FILE\tFORMAT\tEVENTS\tFLAGGED\tSKIPPED\tTIME")
		for _, f := range r.files {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\n", f.path, f.sum.Format, f.sum.Events, f.sum.Flagged, f.sum.SkippedTotal, f.sum.Elapsed.Round(time.Millisecond))
		}
		fmt.Fprintf(tw, "TOTAL\t\t%d\t%d\t%d\t%s\n", r.total.Events, r.total.Flagged, r.total.SkippedTotal, elapsed.Round(time.Millisecond))
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	rate := 0.0
	if s := elapsed.Seconds(); s > 0 {
		rate = float64(r.total.Events) / s
	}
	fmt.Fprintf(w, "\n%d file(s) read, %d event(s) journaled (%d flagged), %d line(s) skipped, in %s (%.0f events/s)\n",
		len(r.files), r.total.Events, r.total.Flagged, r.total.SkippedTotal, elapsed.Round(time.Millisecond), rate)
	if r.total.SkippedTotal > 0 {
		fmt.Fprintln(w, "\nSkipped:")
		for i, s := range r.total.Skipped {
			if i == maxListed {
				break
			}
			fmt.Fprintf(w, "  %s:%d: %s\n", s.File, s.Line, s.Reason)
		}
		if more := r.total.SkippedTotal - int64(min(len(r.total.Skipped), maxListed)); more > 0 {
			fmt.Fprintf(w, "  … and %d more\n", more)
		}
	}
	if len(r.total.Warnings) > 0 {
		fmt.Fprintln(w, "\nWarnings:")
		for i, s := range r.total.Warnings {
			if i == maxListed {
				fmt.Fprintf(w, "  … and %d more\n", len(r.total.Warnings)-maxListed)
				break
			}
			fmt.Fprintf(w, "  %s\n", s)
		}
	}
	if len(r.failed) > 0 {
		fmt.Fprintf(w, "\nNot imported (%d):\n", len(r.failed))
		for _, f := range r.failed {
			fmt.Fprintf(w, "  %v\n", f)
		}
	}
	switch {
	case ctx.Err() != nil:
		fmt.Fprintln(w, "\nInterrupted: the events counted above are in the journal; the rest were not imported.")
		return fmt.Errorf("import interrupted")
	case len(r.failed) > 0:
		return fmt.Errorf("%d path(s) could not be imported", len(r.failed))
	}
	return nil
}
