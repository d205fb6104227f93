// SPDX-License-Identifier: Apache-2.0

// Command overload measures koban serve's memory under sustained overload:
// it starts koban as its own process with syslog over TCP and UDP on
// 127.0.0.1, measures what TCP intake sustains for a few seconds, then for
// -duration sends twice that: TCP senders as fast as koban reads (koban
// pushes back by not reading) plus UDP datagrams at the measured rate (which
// koban must drop and count when full). It samples koban's resident memory
// and prints the peak.
//
//	go run ./bench/overload -duration 60s
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	duration := flag.Duration("duration", 60*time.Second, "how long to overload koban")
	conns := flag.Int("conns", 4, "TCP connections")
	bin := flag.String("koban", "", "koban binary (default: build ./cmd/koban)")
	flag.Parse()
	if err := run(*duration, *conns, *bin); err != nil {
		fmt.Fprintln(os.Stderr, "overload:", err)
		os.Exit(1)
	}
}

func freePort(network string) (string, error) {
	if network == "udp" {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return "", err
		}
		defer c.Close()
		return c.LocalAddr().String(), nil
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func run(duration time.Duration, conns int, bin string) error {
	dir, err := os.MkdirTemp("", "koban-overload-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if bin == "" {
		bin = filepath.Join(dir, "koban")
		build := exec.Command("go", "build", "-o", bin, "./cmd/koban")
		build.Stderr = os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("build: %w", err)
		}
	}
	tcpAddr, err := freePort("tcp")
	if err != nil {
		return err
	}
	udpAddr, err := freePort("udp")
	if err != nil {
		return err
	}
	cmd := exec.Command(bin, "serve", "--listen", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "KOBAN_DATA_DIR="+filepath.Join(dir, "data"), "KOBAN_LOG_FORMAT=json",
		"KOBAN_INTAKE_SYSLOG_TCP="+tcpAddr, "KOBAN_INTAKE_SYSLOG_UDP="+udpAddr)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() }()
	started := make(chan struct{})
	var logTail atomic.Value
	go func() {
		sc := bufio.NewScanner(stderr)
		once := sync.Once{}
		for sc.Scan() {
			logTail.Store(sc.Text())
			if strings.Contains(sc.Text(), `"network":"udp"`) {
				once.Do(func() { close(started) })
			}
		}
	}()
	select {
	case <-started:
	case <-time.After(60 * time.Second):
		return fmt.Errorf("koban did not start; its last log line: %v", logTail.Load())
	}

	fmt.Printf("machine: %d cores, %s %s/%s\n", runtime.NumCPU(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	// Phase 1: what TCP intake sustains.
	var sent atomic.Int64
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	sendTCP(ctx, tcpAddr, conns, &sent)
	cancel()
	capacity := float64(sent.Load()) / 5
	fmt.Printf("TCP capacity: %.0f events/s (5 s, %d connections)\n", capacity, conns)

	// Phase 2: TCP flat out plus UDP at the same rate, for duration.
	var tcpSent, udpSent atomic.Int64
	var peak, rss int64
	ctx, cancel = context.WithTimeout(context.Background(), duration)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); sendTCP(ctx, tcpAddr, conns, &tcpSent) }()
	go func() { defer wg.Done(); sendUDP(ctx, udpAddr, capacity, &udpSent) }()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	began := time.Now()
	nextReport := 10 * time.Second
	for ctx.Err() == nil {
		<-tick.C
		if r := residentKiB(cmd.Process.Pid); r > 0 {
			rss = r
			peak = max(peak, r)
		}
		if el := time.Since(began); el >= nextReport {
			fmt.Printf("  %3.0f s: resident %.1f MiB, peak so far %.1f MiB, TCP sent %d, UDP sent %d\n",
				el.Seconds(), float64(rss)/1024, float64(peak)/1024, tcpSent.Load(), udpSent.Load())
			nextReport += 10 * time.Second
		}
	}
	wg.Wait()
	fmt.Printf("overload: %s; TCP sent %d (%.0f/s), UDP sent %d (%.0f/s)\n", duration,
		tcpSent.Load(), float64(tcpSent.Load())/duration.Seconds(), udpSent.Load(), float64(udpSent.Load())/duration.Seconds())
	fmt.Printf("koban resident memory: peak %.1f MiB, at the end %.1f MiB (VmHWM %.1f MiB)\n",
		float64(peak)/1024, float64(rss)/1024, float64(statusKiB(cmd.Process.Pid, "VmHWM:"))/1024)
	return nil
}

func line(i int64) string {
	return fmt.Sprintf("<38>1 %s web%02d sshd %d - - Failed password for user%d from 192.0.2.%d port 22 ssh2\n",
		time.Now().UTC().Format(time.RFC3339), i%50, 1000+i%9000, i%97, i%250)
}

func sendTCP(ctx context.Context, addr string, conns int, sent *atomic.Int64) {
	var wg sync.WaitGroup
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", addr)
			if err != nil {
				return
			}
			defer c.Close()
			w := bufio.NewWriterSize(c, 64<<10)
			var i int64
			for ctx.Err() == nil {
				for range 256 {
					w.WriteString(line(i))
					i++
				}
				_ = c.SetWriteDeadline(time.Now().Add(time.Second))
				if err := w.Flush(); err != nil && ctx.Err() == nil {
					if ne, ok := err.(net.Error); ok && ne.Timeout() {
						w.Reset(c)
						continue
					}
					return
				}
				sent.Add(256)
			}
		}()
	}
	wg.Wait()
}

func sendUDP(ctx context.Context, addr string, rate float64, sent *atomic.Int64) {
	c, err := net.Dial("udp", addr)
	if err != nil {
		return
	}
	defer c.Close()
	start := time.Now()
	var i int64
	for ctx.Err() == nil {
		due := int64(time.Since(start).Seconds() * rate)
		for i < due && ctx.Err() == nil {
			_, _ = c.Write([]byte(line(i)))
			i++
		}
		sent.Store(i)
		time.Sleep(time.Millisecond)
	}
}

func residentKiB(pid int) int64 { return statusKiB(pid, "VmRSS:") }

func statusKiB(pid int, key string) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, key) {
			f := strings.Fields(l)
			if len(f) >= 2 {
				n, _ := strconv.ParseInt(f[1], 10, 64)
				return n
			}
		}
	}
	return 0
}
