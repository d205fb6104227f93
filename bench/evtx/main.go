// SPDX-License-Identifier: Apache-2.0

//go:build unix

// Command evtx parses EVTX files with internal/evtx and reports throughput,
// or prints the records. Run it from the repository root:
//
//	go run ./bench/evtx [-dump] [-cpuprofile FILE] [-n ROUNDS] PATH…
//
// A PATH may be a directory: every *.evtx below it is read. Without -dump it
// prints records, warnings, bytes and MB/s of CPU time on one goroutine; with
// -dump it prints each record as one JSON object per line.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/koban-csirt/koban/internal/evtx"
)

func main() {
	dump := flag.Bool("dump", false, "print every record as a JSON line")
	rounds := flag.Int("n", 1, "walk the files this many times")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile to this file")
	flag.Parse()
	if err := run(flag.Args(), *dump, *rounds, *cpuprofile); err != nil {
		fmt.Fprintln(os.Stderr, "evtx:", err)
		os.Exit(1)
	}
}

func run(args []string, dump bool, rounds int, cpuprofile string) error {
	var files []string
	for _, a := range args {
		err := filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && (p == a || strings.EqualFold(filepath.Ext(p), ".evtx")) {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	// Read the files into memory first so that the figure is parsing only.
	data := make([][]byte, len(files))
	var total int64
	for i, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		data[i] = b
		total += int64(len(b))
	}
	if cpuprofile != "" {
		f, err := os.Create(cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	out := json.NewEncoder(os.Stdout)
	var records, warnings int
	cpu0, wall0 := cpuTime(), time.Now()
	for range rounds {
		for i, b := range data {
			r, err := evtx.NewReader(bytes.NewReader(b), int64(len(b)))
			if err != nil {
				return fmt.Errorf("%s: %w", files[i], err)
			}
			err = r.Records(func(rec *evtx.Record) error {
				records++
				if dump {
					m := map[string]any{"_file": files[i], "_id": rec.ID, "_time": time.Unix(0, rec.Time).UTC()}
					for _, f := range rec.Fields {
						m[f.Name] = f.Value
					}
					return out.Encode(m)
				}
				return nil
			}, func(w *evtx.Warning) {
				warnings++
				fmt.Fprintf(os.Stderr, "%s: %v\n", files[i], w)
			})
			if err != nil {
				return fmt.Errorf("%s: %w", files[i], err)
			}
		}
	}
	cpu, wall := cpuTime()-cpu0, time.Since(wall0)
	if !dump {
		mb := float64(total) * float64(rounds) / 1e6
		fmt.Printf("files %d, bytes %d, rounds %d, records %d, warnings %d\n", len(files), total, rounds, records, warnings)
		fmt.Printf("cpu %v (%.1f MB/s), wall %v (%.1f MB/s), %.0f records/s of cpu\n",
			cpu.Round(time.Millisecond), mb/cpu.Seconds(), wall.Round(time.Millisecond), mb/wall.Seconds(),
			float64(records)/cpu.Seconds())
	}
	return nil
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
