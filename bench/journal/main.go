// SPDX-License-Identifier: Apache-2.0

// Command journal measures the durable journal's append rate and CPU cost:
// concurrent appenders send batches of ~330-byte syslog-like events and
// wait for each to be written and fsync'd, as intake does before it
// acknowledges a sender. Run it from the repository root:
//
//	go run ./bench/journal [-events 2000000] [-batch 500] [-appenders 8] [-dir DIR]
//
// With -dump FILE it also writes the encoded events (each as a uint32
// little-endian length and event.AppendBinary's bytes), so that another
// system can be fed exactly the same bytes (ADR 0006 did so for NATS
// JetStream). Linux only (getrusage, fdatasync).
package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/koban-csirt/koban/internal/event"
	"github.com/koban-csirt/koban/internal/journal"
)

func main() {
	events := flag.Int("events", 2_000_000, "events to append")
	size := flag.Int("batch", 500, "events per Append")
	appenders := flag.Int("appenders", 8, "concurrent appenders")
	dir := flag.String("dir", "", "journal directory (default: a new temporary one, removed after)")
	dump := flag.String("dump", "", "also write the encoded events to this file")
	flag.Parse()
	if err := run(*events, *size, *appenders, *dir, *dump); err != nil {
		fmt.Fprintln(os.Stderr, "journal bench:", err)
		os.Exit(1)
	}
}

func run(n, size, appenders int, dir, dump string) error {
	if dir == "" {
		d, err := os.MkdirTemp("", "koban-journal-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	evs := make([]event.Event, n)
	for i := range evs {
		evs[i] = sample(i)
	}
	if dump != "" {
		if err := writeDump(dump, evs); err != nil {
			return err
		}
	}
	j, err := journal.Open(dir, journal.Options{SegmentBytes: 64 << 20, MaxBytes: 64 << 30, QueueEvents: 1 << 20})
	if err != nil {
		return err
	}
	defer j.Close()

	cpu0 := cpuTime()
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, appenders)
	for range appenders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				from := int(next.Add(int64(size))) - size
				if from >= n {
					return
				}
				if err := j.Append(context.Background(), evs[from:min(from+size, n)]); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu := cpuTime() - cpu0
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	st := j.Stats()
	fmt.Printf("journal: %d events in batches of %d, %d appenders\n", n, size, appenders)
	fmt.Printf("  %.2f s, %.0f events/s, %.1f MB/s on disk\n", elapsed.Seconds(), float64(n)/elapsed.Seconds(), float64(st.Bytes)/elapsed.Seconds()/1e6)
	fmt.Printf("  CPU %.2f s (user+sys), %.2f µs per event, %.0f events per CPU-second\n", cpu.Seconds(), float64(cpu.Microseconds())/float64(n), float64(n)/cpu.Seconds())
	fmt.Printf("  %d bytes in %d segments\n", st.Bytes, st.Segments)
	return nil
}

// sample returns event i: an sshd failure as syslog intake produces it.
func sample(i int) event.Event {
	key := "bench/" + strconv.Itoa(i)
	e := event.Event{
		ID:       event.DeriveID(1_700_000_000_000_000_000+int64(i), []byte(key)),
		Time:     1_700_000_000_000_000_000 + int64(i),
		Received: 1_700_000_000_500_000_000 + int64(i),
		Source:   "syslog-tcp",
		Host:     "web01.example.jp",
		Log:      event.LogSource{Product: "linux", Service: "sshd"},
		Raw:      fmt.Appendf(nil, "<38>1 2023-11-14T22:13:20.%06dZ web01.example.jp sshd 4242 - - Failed password for invalid user admin from 203.0.113.%d port %d ssh2", i%1000000, i%256, 1024+i%60000),
	}
	e.Add("seq", key)
	e.Add("process.name", "sshd")
	e.Add("process.pid", "4242")
	e.Add("source.ip", "203.0.113."+strconv.Itoa(i%256))
	e.Add("user.name", "admin")
	e.Add("event.outcome", "failure")
	return e
}

func writeDump(path string, evs []event.Event) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var b []byte
	for i := range evs {
		b = evs[i].AppendBinary(b[:0])
		if err := binary.Write(w, binary.LittleEndian, uint32(len(b))); err != nil {
			return err
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
