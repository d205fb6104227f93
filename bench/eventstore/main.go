// SPDX-License-Identifier: Apache-2.0

// Command eventstore benchmarks the DuckDB event store: it generates
// synthetic but realistic events (Windows process creation, network
// connections and logons; Linux syslog) with a fixed seed, loads them
// through Insert in journal-sized batches, and times the queries the search
// page and hunting run: a filter with a count-by, substring searches,
// histograms, top values, a regex and a CIDR filter.
//
//	go run ./bench/eventstore -n 10000000 -dir /tmp/koban-events
//
// The directory must be empty or missing, unless -load=false reuses the
// events an earlier run left there (with -keep).
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/koban-csirt/koban/internal/event"
	"github.com/koban-csirt/koban/internal/eventstore/duckdb"
	"github.com/koban-csirt/koban/internal/search"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

// columns stands in for normalize.CommonFields(): the Sigma fields of
// Windows and Linux rules that are queried most.
var columns = []string{
	"EventID", "Channel", "Provider_Name", "Computer", "Image", "CommandLine", "ParentImage", "ParentCommandLine",
	"OriginalFileName", "User", "IntegrityLevel", "Hashes", "CurrentDirectory", "ProcessId", "ParentProcessId",
	"LogonId", "TargetUserName", "TargetDomainName", "SubjectUserName", "SubjectDomainName", "LogonType",
	"IpAddress", "IpPort", "WorkstationName", "Status", "SubStatus", "SourceIp", "SourcePort", "DestinationIp",
	"DestinationPort", "DestinationHostname", "Protocol", "Initiated", "QueryName", "TargetFilename",
	"TargetObject", "Details", "ServiceName", "ImagePath", "ScriptBlockText", "program", "pid", "message",
}

var aliases = map[string]string{
	"process.command_line": "CommandLine", "process.executable": "Image", "user.name": "User",
	"source.ip": "SourceIp", "destination.ip": "DestinationIp", "event.code": "EventID",
}

func run() error {
	n := flag.Int("n", 1_000_000, "events to generate and load")
	dir := flag.String("dir", "", "directory for the store (required)")
	seed := flag.Uint64("seed", 1, "random seed")
	batch := flag.Int("batch", 10_000, "events per Insert")
	days := flag.Int("days", 7, "days the events span")
	mem := flag.Int64("mem", 1<<30, "the store's MemoryBytes")
	threads := flag.Int("threads", 0, "DuckDB threads (0: one per CPU)")
	load := flag.Bool("load", true, "generate and load events (false: query what -dir holds)")
	keep := flag.Bool("keep", false, "keep the directory afterwards")
	runs := flag.Int("runs", 3, "times each query runs (the first is cold)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the load to this file")
	flag.Parse()
	if *dir == "" {
		return fmt.Errorf("-dir is required")
	}
	if *load {
		if entries, err := os.ReadDir(*dir); err == nil && len(entries) > 0 {
			return fmt.Errorf("%s is not empty; use another directory or -load=false", *dir)
		}
	}
	if !*keep {
		defer os.RemoveAll(*dir)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	st, err := duckdb.Open(*dir, duckdb.Options{
		Columns:     columns,
		Canonical:   func(s string) (string, bool) { c, ok := aliases[s]; return c, ok },
		MemoryBytes: *mem, Threads: *threads, Log: log,
	})
	if err != nil {
		return err
	}
	defer st.Close()
	ctx := context.Background()
	start := time.Date(2025, 6, 2, 0, 0, 0, 0, time.UTC)
	end := start.Add(time.Duration(*days) * 24 * time.Hour)
	fmt.Printf("koban event store benchmark: %d CPUs, GOMAXPROCS %d, store MemoryBytes %d MiB, %s\n",
		runtime.NumCPU(), runtime.GOMAXPROCS(0), *mem>>20, time.Now().UTC().Format(time.RFC3339))

	if *load {
		if *cpuProfile != "" {
			f, err := os.Create(*cpuProfile)
			if err != nil {
				return err
			}
			if err := pprof.StartCPUProfile(f); err != nil {
				return err
			}
		}
		g := newGen(*seed, start, end, *n)
		var genTime, insTime time.Duration
		evs := make([]event.Event, 0, *batch)
		t0 := time.Now()
		for done := 0; done < *n; {
			k := min(*batch, *n-done)
			tg := time.Now()
			evs = evs[:0]
			for range k {
				evs = append(evs, g.next())
			}
			genTime += time.Since(tg)
			ti := time.Now()
			if err := st.Insert(ctx, evs, "bench:"+strconv.Itoa(done+k)); err != nil {
				return err
			}
			insTime += time.Since(ti)
			if os.Getenv("BENCH_TRACE") != "" {
				fmt.Fprintf(os.Stderr, "batch %d: %s\n", done/k, time.Since(ti))
			}
			done += k
			if done%(*batch*100) == 0 || done == *n {
				fmt.Fprintf(os.Stderr, "\rloaded %d/%d (%.0f events/s)", done, *n, float64(done)/insTime.Seconds())
			}
		}
		fmt.Fprintln(os.Stderr)
		// Retain with no limits only checkpoints: the WAL goes into the
		// compressed database file, as DuckDB does on its own every
		// few inserts, so that the sizes below are the stored ones.
		tc := time.Now()
		if _, err := st.Retain(ctx, end); err != nil {
			return err
		}
		insTime += time.Since(tc)
		pprof.StopCPUProfile()
		total := time.Since(t0)
		fmt.Printf("load: %d events in %s: Insert %.0f events/s (%s in Insert and the final checkpoint %s, %s generating)\n",
			*n, total.Round(time.Millisecond), float64(*n)/insTime.Seconds(), insTime.Round(time.Millisecond), time.Since(tc).Round(time.Millisecond), genTime.Round(time.Millisecond))
		fmt.Printf("events per Insert: %d\n", *batch)
	}
	stats, err := st.Stats(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("stored: %d events in %d days, %s in use, %s on disk, %.1f bytes/event\n",
		stats.Events, len(stats.Days), mib(stats.Bytes), mib(stats.FileBytes), stats.BytesPerEvent())

	q := func(text string) search.Query {
		x, err := search.Parse(text)
		if err != nil {
			panic(err) // the queries below are fixed and valid
		}
		return search.Query{From: start, To: end, Where: x, Limit: 100}
	}
	type bench struct {
		name, target string
		fn           func() (string, error)
	}
	benches := []bench{
		{"filter + count by: EventID:4625 by TargetUserName, host", "≤ 1 s", func() (string, error) {
			g, err := st.CountBy(ctx, q("EventID:4625"), []string{"TargetUserName", "host"}, 10)
			if err != nil || len(g) == 0 {
				return "", err
			}
			return fmt.Sprintf("%d groups, top %v × %d", len(g), g[0].Values, g[0].Count), nil
		}},
		{"filter + count: EventID:4625 AND LogonType:3", "≤ 1 s", func() (string, error) {
			c, err := st.Count(ctx, q("EventID:4625 AND LogonType:3"))
			return fmt.Sprintf("%d events", c), err
		}},
		{"substring, typed column: count CommandLine:*mimikatz*", "≤ 3 s", func() (string, error) {
			c, err := st.Count(ctx, q("CommandLine:*mimikatz*"))
			return fmt.Sprintf("%d events", c), err
		}},
		{"substring, typed column: search CommandLine:*mimikatz* (page of 100)", "≤ 3 s", func() (string, error) {
			pg, err := st.Search(ctx, q("CommandLine:*mimikatz*"))
			return fmt.Sprintf("%d events", len(pg.Events)), err
		}},
		{"substring, raw text: count \"invoke-mimikatz\"", "≤ 3 s", func() (string, error) {
			c, err := st.Count(ctx, q(`"invoke-mimikatz"`))
			return fmt.Sprintf("%d events", c), err
		}},
		{"substring, map field: count FailureReason:*password*", "", func() (string, error) {
			c, err := st.Count(ctx, q("FailureReason:*password*"))
			return fmt.Sprintf("%d events", c), err
		}},
		{"search, newest 100, no filter", "", func() (string, error) {
			pg, err := st.Search(ctx, q(""))
			return fmt.Sprintf("%d events", len(pg.Events)), err
		}},
		{"histogram, 1 h buckets, no filter", "", func() (string, error) {
			h, err := st.Histogram(ctx, q(""), time.Hour)
			return fmt.Sprintf("%d buckets", len(h)), err
		}},
		{"histogram, 1 h buckets, EventID:4625", "", func() (string, error) {
			h, err := st.Histogram(ctx, q("EventID:4625"), time.Hour)
			return fmt.Sprintf("%d buckets", len(h)), err
		}},
		{"top 10 host", "", func() (string, error) {
			v, err := st.Top(ctx, q(""), "host", 10, false)
			return fmt.Sprintf("%d values", len(v)), err
		}},
		{"top 10 Image", "", func() (string, error) {
			v, err := st.Top(ctx, q(""), "Image", 10, false)
			return fmt.Sprintf("%d values", len(v)), err
		}},
		{"rare 10 ParentImage for EventID:1", "", func() (string, error) {
			v, err := st.Top(ctx, q("EventID:1"), "ParentImage", 10, true)
			return fmt.Sprintf("%d values", len(v)), err
		}},
		{"regex: CommandLine:/(?i)-enc(odedcommand)? [a-z0-9+\\/=]{40,}/", "", func() (string, error) {
			c, err := st.Count(ctx, q(`CommandLine:/(?i)-enc(odedcommand)? [a-z0-9+\/=]{40,}/`))
			return fmt.Sprintf("%d events", c), err
		}},
		{"cidr: DestinationIp:203.0.113.0/24", "", func() (string, error) {
			c, err := st.Count(ctx, q("DestinationIp:203.0.113.0/24"))
			return fmt.Sprintf("%d events", c), err
		}},
	}
	fmt.Printf("queries over %s … %s (%d runs each; first is cold):\n", start.Format(time.DateOnly), end.Format(time.DateOnly), *runs)
	for _, b := range benches {
		var times []string
		best := time.Duration(math.MaxInt64)
		var res string
		for range *runs {
			t0 := time.Now()
			r, err := b.fn()
			d := time.Since(t0)
			if err != nil {
				return fmt.Errorf("%s: %w", b.name, err)
			}
			res = r
			best = min(best, d)
			times = append(times, ms(d))
		}
		target := ""
		if b.target != "" {
			target = " (target " + b.target + ")"
		}
		fmt.Printf("  %-70s best %8s  runs %s  %s%s  [peak RSS so far %s]\n", b.name, ms(best), strings.Join(times, " "), res, target, peakRSS())
	}
	fmt.Printf("peak RSS: %s\n", peakRSS())
	return nil
}

func ms(d time.Duration) string { return strconv.FormatFloat(d.Seconds()*1000, 'f', 1, 64) + "ms" }

func mib(b int64) string { return strconv.FormatFloat(float64(b)/(1<<20), 'f', 1, 64) + " MiB" }

// peakRSS reads the process's peak resident memory from /proc (Linux).
func peakRSS() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}
