// SPDX-License-Identifier: Apache-2.0

//go:build unix

// Command sigma measures koban's Sigma engine: rule pack load time and
// memory, then events per second on one goroutine with 100, 1,000 and all
// rules, replaying decoded events. Run it from the repository root:
//
//	go run ./bench/sigma [-rules DIR,…] [-events DIR,…] [-seconds N] [-cpuprofile FILE]
//
// The defaults are SigmaHQ's Windows rules (rules/windows,
// rules-emerging-threats, rules-threat-hunting) and every EVTX sample of the
// shared data (attack samples, Hayabusa's, DeepBlueCLI's and the SigmaHQ
// regression samples), decoded and normalised before timing starts.
package main

import (
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/koban-csirt/koban/internal/event"
	"github.com/koban-csirt/koban/internal/evtx"
	"github.com/koban-csirt/koban/internal/normalize"
	"github.com/koban-csirt/koban/internal/sigma"
)

func main() {
	data := "../shared/data"
	rules := flag.String("rules", strings.Join([]string{data + "/sigma/rules/windows", data + "/sigma/rules-emerging-threats", data + "/sigma/rules-threat-hunting"}, ","), "comma-separated rule directories")
	events := flag.String("events", strings.Join([]string{data + "/evtx-attack-samples", data + "/hayabusa-sample-evtx", data + "/deepbluecli-evtx", data + "/sigma/regression_data"}, ","), "comma-separated EVTX directories")
	seconds := flag.Float64("seconds", 5, "how long to replay per rule count")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the all-rules run to this file")
	flag.Parse()
	if err := run(strings.Split(*rules, ","), strings.Split(*events, ","), time.Duration(*seconds*float64(time.Second)), *cpuprofile); err != nil {
		fmt.Fprintln(os.Stderr, "sigma:", err)
		os.Exit(1)
	}
}

func files(dirs []string, ext ...string) ([]string, error) {
	var out []string
	for _, d := range dirs {
		err := filepath.WalkDir(d, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			for _, x := range ext {
				if !e.IsDir() && strings.EqualFold(filepath.Ext(p), x) {
					out = append(out, p)
				}
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("%s: %w (is the shared data at %s?)", d, err, d)
		}
	}
	sort.Strings(out)
	return out, nil
}

func heap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

func cpu() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func run(ruleDirs, eventDirs []string, per time.Duration, cpuprofile string) error {
	evs, bytes, err := loadEvents(eventDirs)
	if err != nil {
		return err
	}
	fmt.Printf("events: %d decoded events, %.1f MB of field values\n", len(evs), float64(bytes)/1e6)

	rfiles, err := files(ruleDirs, ".yml", ".yaml")
	if err != nil {
		return err
	}
	h0 := heap()
	t0, c0 := time.Now(), cpu()
	var rules []*sigma.Rule
	for _, f := range rfiles {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		rs, _ := sigma.Parse(f, b)
		for _, r := range rs {
			if r.LogSource.Product == "windows" || r.Kind != sigma.KindRule {
				rules = append(rules, r)
			}
		}
	}
	parsed := time.Since(t0)
	all, probs := sigma.Compile(rules, sigma.Options{Applies: normalize.Matches})
	load, loadCPU := time.Since(t0), cpu()-c0
	h1 := heap()
	st := all.Stats()
	fmt.Printf("load: %d files, %d rules compiled (%d skipped), parse %v, parse+compile %v (CPU %v), heap %.1f MB (automata and tries %.1f MB)\n",
		len(rfiles), all.Len(), len(probs), parsed.Round(time.Millisecond), load.Round(time.Millisecond), loadCPU.Round(time.Millisecond),
		float64(h1-h0)/1e6, float64(st.AutomatonBytes)/1e6)
	fmt.Printf("compiled: %+v\n", st)
	runtime.KeepAlive(rules)

	for _, n := range []int{100, 1000, len(rules)} {
		var sub []*sigma.Rule
		step := float64(len(rules)) / float64(n)
		for i := 0.0; int(i) < len(rules) && len(sub) < n; i += step {
			sub = append(sub, rules[int(i)])
		}
		rs, _ := sigma.Compile(sub, sigma.Options{Applies: normalize.Matches})
		if n == len(rules) && cpuprofile != "" {
			f, err := os.Create(cpuprofile)
			if err != nil {
				return err
			}
			pprof.StartCPUProfile(f)
		}
		m := rs.NewMatcher()
		matches, done := 0, 0
		var c0 = cpu()
		start := time.Now()
		for time.Since(start) < per {
			for i := range evs {
				m.Match(&evs[i], func(sigma.Match) { matches++ })
			}
			done += len(evs)
		}
		wall, used := time.Since(start), cpu()-c0
		if n == len(rules) && cpuprofile != "" {
			pprof.StopCPUProfile()
		}
		fmt.Printf("rules=%d: %.0f events/s per core (CPU time), %.0f events/s wall, %.0f MB/s of field values, %d matches per pass\n",
			rs.Len(), float64(done)/used.Seconds(), float64(done)/wall.Seconds(),
			float64(bytes)*float64(done)/float64(len(evs))/used.Seconds()/1e6, matches*len(evs)/max(done, 1))
	}
	return nil
}

func loadEvents(dirs []string) ([]event.Event, int64, error) {
	fs, err := files(dirs, ".evtx")
	if err != nil {
		return nil, 0, err
	}
	n := normalize.New()
	var evs []event.Event
	var bytes int64
	for _, p := range fs {
		f, err := os.Open(p)
		if err != nil {
			return nil, 0, err
		}
		fi, _ := f.Stat()
		r, err := evtx.NewReader(f, fi.Size())
		if err != nil {
			f.Close()
			continue // not an EVTX file after all; the parser's tests cover that
		}
		r.Records(func(rec *evtx.Record) error {
			var ev event.Event
			ev.Log.Product = "windows"
			ev.Time = rec.Time
			for _, fl := range rec.Fields {
				ev.Add(fl.Name, strings.Clone(fl.Value))
				if fl.Name == "Computer" {
					ev.Host = strings.Clone(fl.Value)
				}
			}
			n.Event(&ev)
			for _, f := range ev.Fields {
				bytes += int64(len(f.Value))
			}
			evs = append(evs, ev)
			return nil
		}, func(*evtx.Warning) {})
		f.Close()
	}
	return evs, bytes, nil
}
