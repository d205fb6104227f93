// SPDX-License-Identifier: Apache-2.0

package syslog

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/koban-csirt/koban/internal/event"
)

// tool finds a program the real-sender tests need; without it they skip,
// unless KOBAN_TEST_STRICT=1 asks that everything run.
func tool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/" + name); serr == nil {
			return "/usr/sbin/" + name
		}
		msg := fmt.Sprintf("%s not found (Debian package %s): the test with this real sender did not run", name, pkg)
		if os.Getenv("KOBAN_TEST_STRICT") == "1" {
			t.Fatal(msg + "; KOBAN_TEST_STRICT=1 requires it")
		}
		t.Skip(msg)
	}
	return p
}

// logger runs util-linux logger with TZ=UTC, so that its zone-less RFC 3164
// times are UTC as Parse assumes.
func logger(t *testing.T, args ...string) {
	t.Helper()
	cmd := exec.Command(tool(t, "logger", "bsdutils"), args...)
	cmd.Env = append(os.Environ(), "TZ=UTC")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("logger %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func port(l *Listener) string {
	_, p, _ := net.SplitHostPort(l.Addr().String())
	return p
}

// checkEvent asserts the fields every real-sender event must carry.
func checkEvent(t *testing.T, ev event.Event, want map[string]string) {
	t.Helper()
	for k, w := range want {
		if got, _ := ev.Lookup(k); got != w {
			t.Errorf("%s = %q, want %q (raw %q)", k, got, w, ev.Raw)
		}
	}
	if h, _ := ev.Lookup("hostname"); h == "" || ev.Host != h {
		t.Errorf("hostname %q, Host %q (raw %q)", h, ev.Host, ev.Raw)
	}
	// A sanity bound on the parsed time (zone handling), not a timing test.
	if d := time.Duration(ev.Time - ev.Received).Abs(); d > time.Hour || ev.Flags != 0 {
		t.Errorf("time %s for received %s, flags %v %s (raw %q)", ev.TimeOf(), time.Unix(0, ev.Received).UTC(), ev.Flags.Names(), ev.Reason, ev.Raw)
	}
}

// TestLogger sends with util-linux logger over TCP (both framings) and UDP
// in both formats.
func TestLogger(t *testing.T) {
	tool(t, "logger", "bsdutils")
	tcp := listen(t, "tcp", nil)
	udp := listen(t, "udp", nil)
	type run struct {
		name string
		tl   testListener
		args []string
	}
	var runs []run
	for _, format := range []string{"--rfc5424", "--rfc3164"} {
		runs = append(runs,
			run{"tcp" + format, tcp, []string{"--tcp", format}},
			run{"tcp-octet-count" + format, tcp, []string{"--tcp", "--octet-count", format}},
			run{"udp" + format, udp, []string{"--udp", format}})
	}
	for _, r := range runs {
		t.Run(r.name, func(t *testing.T) {
			before := len(r.tl.sink.events())
			msg := "logger " + r.name + " ログイン失敗 for user=alice"
			args := append(r.args, "-n", "127.0.0.1", "-P", port(r.tl.Listener), "-t", "koban-test", "--id=4242", "-p", "auth.err")
			rfc5424 := strings.HasSuffix(r.name, "--rfc5424")
			if rfc5424 {
				args = append(args, "--msgid", "ID7", "--sd-id", "test@32473", "--sd-param", `k="v w"`)
			}
			logger(t, append(args, msg)...)
			ev := r.tl.sink.wait(t, before+1)[before]
			want := map[string]string{"facility": "auth", "severity": "err", "priority": "35", "program": "koban-test", "pid": "4242", "message": msg, "sender_ip": "127.0.0.1"}
			if rfc5424 {
				want["msgid"] = "ID7"
				want["sd.test@32473.k"] = "v w"
			}
			checkEvent(t, ev, want)
		})
	}
}

// TestRsyslogForwarding runs a private rsyslogd that takes messages from
// logger over TCP and forwards each to our listeners three ways: TCP in
// rsyslog's forwarding format (RFC 3339 time in an RFC 3164 line), TCP as
// RFC 5424 with octet counting, and UDP in the traditional RFC 3164 format.
func TestRsyslogForwarding(t *testing.T) {
	rsyslogd := tool(t, "rsyslogd", "rsyslog")
	tool(t, "logger", "bsdutils")
	tcp := listen(t, "tcp", nil)
	udp := listen(t, "udp", nil)
	in := freePort(t)
	dir := t.TempDir()
	conf := fmt.Sprintf(`global(workDirectory=%q)
module(load="imtcp")
input(type="imtcp" address="127.0.0.1" port="%s" ruleset="fwd")
ruleset(name="fwd") {
  action(type="omfwd" target="127.0.0.1" port="%s" protocol="tcp" template="RSYSLOG_ForwardFormat")
  action(type="omfwd" target="127.0.0.1" port="%s" protocol="tcp" tcp_framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format")
  action(type="omfwd" target="127.0.0.1" port="%s" protocol="udp" template="RSYSLOG_TraditionalForwardFormat")
}
`, dir, in, port(tcp.Listener), port(tcp.Listener), port(udp.Listener))
	startRsyslog(t, rsyslogd, dir, conf, in)

	const n = 5
	for i := range n {
		logger(t, "--tcp", "--rfc3164", "-n", "127.0.0.1", "-P", in, "-t", "fwdtest", "--id=77", "-p", "local3.warning", fmt.Sprintf("forwarded %d: Failed password for root", i))
	}
	tcpEvs := tcp.sink.wait(t, 2*n)
	udpEvs := udp.sink.wait(t, n)
	var forward, protocol23 int
	for _, ev := range append(tcpEvs, udpEvs...) {
		if strings.HasPrefix(string(ev.Raw), "<156>1 ") {
			protocol23++
		} else if len(ev.Raw) > 9 && ev.Raw[9] == '-' { // "<156>2026-…"
			forward++
		}
		m, _ := ev.Lookup("message")
		if !strings.HasPrefix(m, "forwarded ") || !strings.HasSuffix(m, ": Failed password for root") {
			t.Errorf("message %q (raw %q)", m, ev.Raw)
		}
		checkEvent(t, ev, map[string]string{"facility": "local3", "severity": "warning", "priority": "156", "program": "fwdtest", "pid": "77"})
	}
	if forward != n || protocol23 != n || len(tcpEvs) != 2*n || len(udpEvs) != n {
		t.Errorf("forwarding format %d, RFC 5424 %d, TCP %d, UDP %d events; want %d, %d, %d, %d", forward, protocol23, len(tcpEvs), len(udpEvs), n, n, 2*n, n)
	}
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return port2(ln.Addr())
}

func port2(a net.Addr) string {
	_, p, _ := net.SplitHostPort(a.String())
	return p
}

// startRsyslog runs rsyslogd in the foreground with only our config (no
// system inputs, no port 514), waits until it listens on port, and stops it
// by its pid at the end of the test.
func startRsyslog(t testing.TB, rsyslogd, dir, conf, port string) {
	t.Helper()
	confPath := filepath.Join(dir, "rsyslog.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "rsyslogd.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(rsyslogd, "-n", "-f", confPath, "-i", filepath.Join(dir, "rsyslogd.pid"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("start rsyslogd: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM) // it may have exited already
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill() // it did not stop in time
			<-exited
		}
		logf.Close()
	})
	deadline := time.Now().Add(waitLimit)
	for {
		c, err := net.Dial("tcp", "127.0.0.1:"+port)
		if err == nil {
			c.Close()
			return
		}
		select {
		case err := <-exited:
			out, _ := os.ReadFile(logPath)
			t.Fatalf("rsyslogd exited: %v\n%s", err, out)
		default:
		}
		if time.Now().After(deadline) {
			out, _ := os.ReadFile(logPath)
			t.Fatalf("rsyslogd does not listen on %s after %v\n%s", port, waitLimit, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
