// SPDX-License-Identifier: Apache-2.0

// Command syslog measures syslog TCP intake: a koban listener on 127.0.0.1
// fed by a loopback load generator, then rsyslogd (its own temporary config:
// imtcp → omfile) fed the same lines the same way, and prints both rates
// and their ratio. Run it from the repository root:
//
//	go run ./bench/syslog -n 3000000 -conns 4
//
// The rate is events from the first byte sent to the last event accepted by
// the sink (koban) or written to the file (rsyslog). Lines alternate between
// RFC 3164 and RFC 5424, about 150 bytes each, newline-framed.
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/koban-csirt/koban/internal/event"
	"github.com/koban-csirt/koban/internal/intake"
	"github.com/koban-csirt/koban/internal/intake/syslog"
	"github.com/koban-csirt/koban/internal/journal"
	"github.com/koban-csirt/koban/internal/normalize"
)

func main() {
	n := flag.Int("n", 3_000_000, "events to send (bounded: at most 50,000,000)")
	conns := flag.Int("conns", 4, "TCP connections the load generator uses")
	rsyslog := flag.Bool("rsyslog", true, "also measure rsyslogd (skipped with a note when it is not installed)")
	timeout := flag.Duration("timeout", 10*time.Minute, "give up on a run after this long")
	flag.Parse()
	if *n <= 0 || *n > 50_000_000 || *conns <= 0 || *conns > 256 {
		fmt.Fprintln(os.Stderr, "syslog bench: -n must be in 1..50000000 and -conns in 1..256")
		os.Exit(2)
	}
	if err := run(*n, *conns, *rsyslog, *timeout); err != nil {
		fmt.Fprintln(os.Stderr, "syslog bench:", err)
		os.Exit(1)
	}
}

func run(n, conns int, withRsyslog bool, timeout time.Duration) error {
	printMachine()
	block := lines(10_000)
	fmt.Printf("load: %d events over %d TCP connections, %d-byte lines on average\n\n", n, conns, len(block)/10_000)

	dir, err := os.MkdirTemp("", "koban-bench-syslog-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	kRate, err := benchKoban(filepath.Join(dir, "koban"), block, n, conns, timeout)
	if err != nil {
		return fmt.Errorf("koban: %w", err)
	}
	if !withRsyslog {
		return nil
	}
	rsyslogd, err := findRsyslogd()
	if err != nil {
		fmt.Println("rsyslog: skipped:", err)
		return nil
	}
	rRate, err := benchRsyslog(rsyslogd, filepath.Join(dir, "rsyslog"), block, n, conns, timeout)
	if err != nil {
		return fmt.Errorf("rsyslog: %w", err)
	}
	fmt.Printf("\nkoban/rsyslog: %.2f\n", kRate/rRate)
	return nil
}

// newSink returns the sink koban's listener feeds in this benchmark, and a
// function that closes it: normalisation, then the journal opened in dir,
// as koban serve runs it (each batch written and fsync'd before the
// listener reads on). With -sink=discard it only counts (listener and
// parsing only).
func newSink(dir string) (event.Sink, func() error) {
	if *sinkKind == "discard" {
		return discard{}, func() error { return nil }
	}
	j, err := journal.Open(filepath.Join(dir, "journal"), journal.Options{
		SegmentBytes: 64 << 20, MaxBytes: 8 << 30, QueueEvents: 100_000,
		Log: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "journal:", err)
		os.Exit(1)
	}
	return normalize.New().Sink(j), j.Close
}

var sinkKind = flag.String("sink", "journal", "what the listener feeds: journal (normalise + journal, as koban serve) or discard")

type discard struct{}

func (discard) Append(context.Context, []event.Event) error { return nil }

// counting wraps the sink under test and notes when it has taken n events.
type counting struct {
	inner  event.Sink
	n      int64
	count  atomic.Int64
	errors atomic.Int64 // parse errors seen
	done   chan struct{}
	once   sync.Once
}

func (c *counting) Append(ctx context.Context, evs []event.Event) error {
	if err := c.inner.Append(ctx, evs); err != nil {
		return err
	}
	for i := range evs {
		if evs[i].Flags.Has(event.FlagParseError) {
			c.errors.Add(1)
		}
	}
	if c.count.Add(int64(len(evs))) >= c.n {
		c.once.Do(func() { close(c.done) })
	}
	return nil
}

func benchKoban(dir string, block []byte, n, conns int, timeout time.Duration) (float64, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, err
	}
	sink, closeSink := newSink(dir)
	cs := &counting{inner: sink, n: int64(n), done: make(chan struct{})}
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	l, err := syslog.Listen(context.Background(), syslog.Config{
		Name: "bench", Network: "tcp", Addr: "127.0.0.1:0", Sink: cs,
		Stats: intake.NewRegistry().Source("bench", "syslog-tcp"),
	})
	if err != nil {
		return 0, err
	}
	start := time.Now()
	sendErr := make(chan error, 1)
	go func() { sendErr <- send(l.Addr().String(), block, n, conns) }()
	select {
	case <-cs.done:
	case err := <-sendErr:
		if err != nil {
			l.Close()
			return 0, err
		}
		select {
		case <-cs.done:
		case <-time.After(timeout):
			l.Close()
			return 0, fmt.Errorf("%d of %d events after %v", cs.count.Load(), n, timeout)
		}
	case <-time.After(timeout):
		l.Close()
		return 0, fmt.Errorf("%d of %d events after %v", cs.count.Load(), n, timeout)
	}
	elapsed := time.Since(start)
	if err := l.Close(); err != nil {
		return 0, err
	}
	if err := closeSink(); err != nil {
		return 0, err
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	rate := float64(n) / elapsed.Seconds()
	fmt.Printf("koban:   %10.0f events/s  (%d events in %v, %d parse errors, %d GC cycles)\n",
		rate, cs.count.Load(), elapsed.Round(time.Millisecond), cs.errors.Load(), after.NumGC-before.NumGC)
	return rate, nil
}

func benchRsyslog(rsyslogd, dir string, block []byte, n, conns int, timeout time.Duration) (float64, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, err
	}
	port, err := freePort()
	if err != nil {
		return 0, err
	}
	out := filepath.Join(dir, "out.log")
	conf := fmt.Sprintf(`global(workDirectory=%q)
module(load="imtcp")
input(type="imtcp" address="127.0.0.1" port="%s" ruleset="bench")
ruleset(name="bench") {
  action(type="omfile" file=%q)
}
`, dir, port, out)
	stop, err := startRsyslog(rsyslogd, dir, conf, port)
	if err != nil {
		return 0, err
	}
	defer stop()
	start := time.Now()
	sendErr := make(chan error, 1)
	go func() { sendErr <- send("127.0.0.1:"+port, block, n, conns) }()
	got, err := waitLines(out, n, timeout, sendErr)
	if err != nil {
		return 0, fmt.Errorf("%d of %d lines in %s: %w", got, n, out, err)
	}
	elapsed := time.Since(start)
	rate := float64(n) / elapsed.Seconds()
	fmt.Printf("rsyslog: %10.0f events/s  (%d lines in %v)\n", rate, got, elapsed.Round(time.Millisecond))
	return rate, nil
}

// waitLines follows file until it holds n lines.
func waitLines(file string, n int, timeout time.Duration, sendErr <-chan error) (int, error) {
	deadline := time.Now().Add(timeout)
	var f *os.File
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	got := 0
	buf := make([]byte, 1<<20)
	for {
		select {
		case err := <-sendErr:
			if err != nil {
				return got, err
			}
		default:
		}
		if f == nil {
			f, _ = os.Open(file) // not there until rsyslog writes the first line
		}
		if f != nil {
			for {
				k, err := f.Read(buf)
				got += bytes.Count(buf[:k], []byte{'\n'})
				if err != nil || k == 0 {
					break
				}
			}
		}
		if got >= n {
			return got, nil
		}
		if time.Now().After(deadline) {
			return got, errors.New("timed out")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// send writes n lines from block, round robin, over conns connections.
func send(addr string, block []byte, n, conns int) error {
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for i := range conns {
		share := n / conns
		if i < n%conns {
			share++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := sendLines(addr, block, share); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

func sendLines(addr string, block []byte, n int) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	perBlock := bytes.Count(block, []byte{'\n'})
	for n >= perBlock {
		if _, err := c.Write(block); err != nil {
			return err
		}
		n -= perBlock
	}
	rest := block
	for i := 0; i < n; i++ {
		j := bytes.IndexByte(rest, '\n')
		rest = rest[j+1:]
	}
	if _, err := c.Write(block[:len(block)-len(rest)]); err != nil {
		return err
	}
	return nil
}

// lines returns k newline-framed messages alternating RFC 3164 and 5424.
func lines(k int) []byte {
	var b bytes.Buffer
	users := []string{"root", "admin", "alice", "oracle", "test"}
	for i := range k {
		u := users[i%len(users)]
		ip := fmt.Sprintf("203.0.113.%d", i%250+1)
		if i%2 == 0 {
			fmt.Fprintf(&b, "<38>Nov 22 10:%02d:%02d web%02d.tokyo.corp.example.jp sshd[%d]: Failed password for invalid user %s from %s port %d ssh2\n",
				i/60%60, i%60, i%20, 1000+i%5000, u, ip, 40000+i%20000)
		} else {
			fmt.Fprintf(&b, "<86>1 2026-11-22T10:%02d:%02d.%06dZ web%02d.tokyo.corp.example.jp sshd %d - - Accepted publickey for %s from %s port %d ssh2: ED25519\n",
				i/60%60, i%60, i, i%20, 1000+i%5000, u, ip, 40000+i%20000)
		}
	}
	return b.Bytes()
}

func printMachine() {
	model := "unknown"
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	fmt.Printf("machine: %d cores (%s), GOMAXPROCS %d, %s %s/%s\n", runtime.NumCPU(), model, runtime.GOMAXPROCS(0), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if p, err := findRsyslogd(); err == nil {
		if out, err := exec.Command(p, "-v").Output(); err == nil {
			fmt.Printf("rsyslog: %s\n", strings.SplitN(string(out), "\n", 2)[0])
		}
	}
}

func findRsyslogd() (string, error) {
	if p, err := exec.LookPath("rsyslogd"); err == nil {
		return p, nil
	}
	if _, err := os.Stat("/usr/sbin/rsyslogd"); err == nil {
		return "/usr/sbin/rsyslogd", nil
	}
	return "", errors.New("rsyslogd not found (Debian package rsyslog)")
}

func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	_, p, err := net.SplitHostPort(ln.Addr().String())
	return p, err
}

// startRsyslog runs rsyslogd in the foreground with only conf (no system
// inputs, no port 514) and waits until it listens on port. stop ends it by
// its pid.
func startRsyslog(rsyslogd, dir, conf, port string) (stop func(), err error) {
	confPath := filepath.Join(dir, "rsyslog.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(dir, "rsyslogd.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(rsyslogd, "-n", "-f", confPath, "-i", filepath.Join(dir, "rsyslogd.pid"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }() // its exit status does not matter once stopped
	stop = func() {
		_ = cmd.Process.Signal(syscall.SIGTERM) // it may have exited already
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill() // it did not stop in time
			<-exited
		}
		logf.Close()
	}
	for deadline := time.Now().Add(20 * time.Second); ; {
		c, err := net.Dial("tcp", "127.0.0.1:"+port)
		if err == nil {
			c.Close()
			return stop, nil
		}
		select {
		case <-exited:
			stop()
			out, _ := os.ReadFile(filepath.Join(dir, "rsyslogd.log"))
			return nil, fmt.Errorf("rsyslogd exited at start:\n%s", out)
		default:
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("rsyslogd does not listen on %s", port)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
