// SPDX-License-Identifier: Apache-2.0

package app

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/koban-csirt/koban/internal/config"
	"github.com/koban-csirt/koban/internal/event"
	"github.com/koban-csirt/koban/internal/search"
)

const intakeToken = "intake-test-token-0123456789"

// intakeConfig writes a configuration with HTTP intake and syslog over TCP
// on free ports, and returns its path.
func intakeConfig(t *testing.T, dataDir string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "koban.yaml")
	yaml := fmt.Sprintf(`data_dir: %q
listen: 127.0.0.1:0
intake:
  syslog:
    tcp: 127.0.0.1:0
  http:
    listen: 127.0.0.1:0
  sources:
    - name: crash-test
      token: %s
`, dataDir, intakeToken)
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// child is koban serve running as a separate process.
type child struct {
	cmd        *exec.Cmd
	httpIntake string // host:port
	syslogTCP  string
	stderr     *syncBuffer
}

var (
	httpIntakeLine = regexp.MustCompile(`"msg":"HTTP intake started","addr":"([0-9.:]+)"`)
	syslogTCPLine  = regexp.MustCompile(`"msg":"syslog listener started".*"network":"tcp","addr":"([0-9.:]+)"`)
)

func startChild(t *testing.T, cfgPath string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "serve", "--config", cfgPath)
	cmd.Env = append(os.Environ(), "KOBAN_TEST_AS_PROGRAM=1", "KOBAN_LOG_FORMAT=json")
	errb := &syncBuffer{}
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, stderr: errb}
	type addrs struct{ http, syslog string }
	found := make(chan addrs, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		var a addrs
		sent := false
		for sc.Scan() {
			line := sc.Text()
			errb.Write([]byte(line + "\n"))
			if m := httpIntakeLine.FindStringSubmatch(line); m != nil {
				a.http = m[1]
			}
			if m := syslogTCPLine.FindStringSubmatch(line); m != nil {
				a.syslog = m[1]
			}
			if a.http != "" && a.syslog != "" && !sent {
				found <- a
				sent = true
			}
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		pw.Close()
	})
	select {
	case a := <-found:
		c.httpIntake, c.syslogTCP = a.http, a.syslog
	case <-time.After(60 * time.Second):
		t.Fatalf("koban serve did not start its listeners within 60s\nstderr: %s", errb)
	}
	return c
}

// stop sends SIGTERM and waits for a clean exit.
func (c *child) stop(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("koban serve exited with %v\nstderr: %s", err, c.stderr)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("koban serve did not stop within 60s\nstderr: %s", c.stderr)
	}
}

// postEvents sends events seq from..from+n-1 as NDJSON and reports whether
// koban acknowledged them.
func postEvents(client *http.Client, addr string, from, n int) bool {
	var body bytes.Buffer
	for i := from; i < from+n; i++ {
		fmt.Fprintf(&body, `{"seq":"%d","message":"crash test event %d","host":{"name":"sender"}}`+"\n", i, i)
	}
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/ingest/v1/events", &body)
	if err != nil {
		return false
	}
	req.Header.Set("Authorization", "Bearer "+intakeToken)
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var ack struct {
		Accepted int `json:"accepted"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&ack) != nil {
		return false
	}
	return ack.Accepted == n
}

// storedCounts opens the event store of a stopped koban and counts its
// events of the last hour by key, reading every event.
func storedCounts(t *testing.T, cfgPath string, key func(*event.Event) string) map[string]int64 {
	t.Helper()
	c, err := config.AddFlags(flag.NewFlagSet("test", flag.ContinueOnError)).Load(func(k string) string {
		if k == "KOBAN_CONFIG" {
			return cfgPath
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	es, err := openEvents(c, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer es.Close()
	now := time.Now()
	q := search.Query{From: now.Add(-time.Hour), To: now.Add(time.Hour), Limit: 10_000}
	out := make(map[string]int64)
	for {
		page, err := es.Search(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		for i := range page.Events {
			out[key(&page.Events[i])]++
		}
		if page.Next == nil {
			return out
		}
		q.After = page.Next
	}
}

// field returns a key function that reads one field.
func field(name string) func(*event.Event) string {
	return func(e *event.Event) string {
		v, _ := e.Lookup(name)
		return v
	}
}

// TestCrashDuringIntake kills koban with SIGKILL while senders stream
// events over HTTP, restarts it, and checks that every event a sender saw
// acknowledged is in the event store exactly once.
func TestCrashDuringIntake(t *testing.T) {
	dataDir := t.TempDir()
	cfgPath := intakeConfig(t, dataDir)
	c := startChild(t, cfgPath)

	const senders, batch = 4, 200
	var (
		mu    sync.Mutex
		acked []int
		next  int
		wg    sync.WaitGroup
	)
	stopSending := make(chan struct{})
	for range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 10 * time.Second}
			for {
				select {
				case <-stopSending:
					return
				default:
				}
				mu.Lock()
				from := next
				next += batch
				mu.Unlock()
				if postEvents(client, c.httpIntake, from, batch) {
					mu.Lock()
					for i := from; i < from+batch; i++ {
						acked = append(acked, i)
					}
					mu.Unlock()
				}
			}
		}()
	}
	// Let intake run, then kill koban in the middle of it.
	deadline := time.Now().Add(15 * time.Second)
	for {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 10_000 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := c.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = c.cmd.Wait()
	close(stopSending)
	wg.Wait()
	if len(acked) == 0 {
		t.Fatalf("no batch was acknowledged before the kill\nstderr: %s", c.stderr)
	}

	// Restart: the event store catches up with the journal; a clean stop
	// drains it.
	c2 := startChild(t, cfgPath)
	c2.stop(t)

	counts := storedCounts(t, cfgPath, field("seq"))
	missing, twice := 0, 0
	for _, seq := range acked {
		switch n := counts[strconv.Itoa(seq)]; {
		case n == 0:
			missing++
		case n > 1:
			twice++
		}
	}
	for seq, n := range counts {
		if n > 1 {
			t.Errorf("event seq %s stored %d times", seq, n)
		}
	}
	t.Logf("%d events acknowledged before SIGKILL, %d events stored (unacknowledged ones may be stored too)", len(acked), len(counts))
	if missing > 0 || twice > 0 {
		t.Fatalf("of %d acknowledged events, %d are missing and %d stored more than once", len(acked), missing, twice)
	}
}

// TestSyslogIntoSearch sends syslog over TCP to a running koban and finds
// the events, normalised, in the event store after a clean stop.
func TestSyslogIntoSearch(t *testing.T) {
	dataDir := t.TempDir()
	cfgPath := intakeConfig(t, dataDir)
	c := startChild(t, cfgPath)
	conn, err := net.Dial("tcp", c.syslogTCP)
	if err != nil {
		t.Fatal(err)
	}
	ts := time.Now().UTC().Format(time.RFC3339)
	lines := ""
	for i := range 100 {
		lines += fmt.Sprintf("<38>1 %s web01 sshd %d - - Failed password for user%d from 192.0.2.%d port 22 ssh2\n", ts, 1000+i, i%5, i%7)
	}
	if _, err := io.WriteString(conn, lines); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	time.Sleep(500 * time.Millisecond) // TCP has no acknowledgement: give the listener time
	c.stop(t)

	users := storedCounts(t, cfgPath, field("User"))
	for i := range 5 {
		if n := users[fmt.Sprintf("user%d", i)]; n != 20 {
			t.Errorf("user%d: %d events, want 20 (all: %v)", i, n, users)
		}
	}
	products := storedCounts(t, cfgPath, func(e *event.Event) string { return e.Log.Product + "/" + e.Log.Service })
	if products["linux/sshd"] != 100 {
		t.Errorf("service counts %v, want 100 sshd events", products)
	}
}

// TestPipelineMetrics checks that /metrics publishes the journal's and the
// intake sources' figures.
func TestPipelineMetrics(t *testing.T) {
	dir := t.TempDir()
	s := startServe(t, dir, map[string]string{"KOBAN_INTAKE_SYSLOG_UDP": "127.0.0.1:0"})
	// The event store's reader opens as serve starts; give it a moment.
	var b []byte
	for range 50 {
		resp, err := http.Get(s.url + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		// Both readers (event store, detection) register as serve starts.
		if bytes.Contains(b, []byte(`koban_journal_reader_lag_bytes{reader="eventstore"}`)) &&
			bytes.Contains(b, []byte(`koban_journal_reader_lag_bytes{reader="detect"}`)) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	// No event has arrived and nobody searched: the event store is not
	// opened (it costs tens of megabytes of memory).
	if _, err := os.Stat(filepath.Join(dir, "events")); !os.IsNotExist(err) {
		t.Errorf("the event store was opened with nothing to store: %v", err)
	}
	for _, want := range []string{"koban_journal_bytes ", "koban_journal_reader_lag_bytes{reader=\"eventstore\"}",
		"koban_journal_reader_lag_bytes{reader=\"detect\"}",
		"koban_intake_events_total{kind=\"syslog-udp\",source=\"syslog-udp\"} 0"} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
