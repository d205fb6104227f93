// SPDX-License-Identifier: Apache-2.0

package httpin

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/koban-csirt/koban/internal/event"
)

// These tests run real Elasticsearch clients against the handler: rsyslog's
// omelasticsearch output and the Python Elasticsearch client, both Debian
// packages (rsyslog-elasticsearch, python3-elasticsearch). Fluent Bit,
// Filebeat, Vector and Logstash are not packaged by Debian, so their
// request shapes are replayed from fixtures instead (shippers_test.go).
// A missing tool skips the test, or fails it under KOBAN_TEST_STRICT=1.

func needTool(t *testing.T, what string, ok bool) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv("KOBAN_TEST_STRICT") == "1" {
		t.Fatalf("%s is not installed and KOBAN_TEST_STRICT=1: install it (scripts/testenv.sh ensure-packages)", what)
	}
	t.Skipf("%s is not installed", what)
}

// waitEvents waits until the sink holds n events.
func waitEvents(t *testing.T, s *memSink, n int, timeout time.Duration, logs func() string) []event.Event {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		evs := s.all()
		if len(evs) >= n {
			return evs
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v the sink holds %d events, want %d\n%s", timeout, len(evs), n, logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestRsyslogOmelasticsearch(t *testing.T) {
	t.Parallel()
	rsyslogd, err := exec.LookPath("rsyslogd")
	if err != nil {
		rsyslogd = "/usr/sbin/rsyslogd"
	}
	mods, _ := filepath.Glob("/usr/lib/*/rsyslog/omelasticsearch.so")
	more, _ := filepath.Glob("/usr/lib/rsyslog/omelasticsearch.so")
	_, statErr := os.Stat(rsyslogd)
	needTool(t, "rsyslog with omelasticsearch (Debian rsyslog-elasticsearch)", statErr == nil && len(mods)+len(more) > 0)

	const token = "rsyslog-token-42"
	e := newEnv(t, func(c *Config) { c.Sources = append(c.Sources, Source{Name: "rsyslog", Token: token}) })
	port := e.srv.Listener.Addr().String()[strings.LastIndexByte(e.srv.Listener.Addr().String(), ':')+1:]

	dir := t.TempDir()
	lines := []string{
		"first line from rsyslog",
		`quotes "inside" and a back\slash`,
		"日本語のログ行",
	}
	if err := os.WriteFile(filepath.Join(dir, "in.log"), []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// searchType is left at its default, so rsyslog sends "_type":"events"
	// as it does for pre-8 servers: koban must not mind.
	conf := fmt.Sprintf(`
global(workDirectory=%[1]q)
module(load="imfile" mode="polling" pollingInterval="1")
module(load="omelasticsearch")
input(type="imfile" file=%[2]q tag="koban-test:" freshStartTail="off")
template(name="doc" type="list" option.json="on") {
  constant(value="{\"@timestamp\":\"") property(name="timereported" dateFormat="rfc3339")
  constant(value="\",\"host\":\"") property(name="hostname")
  constant(value="\",\"message\":\"") property(name="msg")
  constant(value="\"}")
}
action(type="omelasticsearch" server="127.0.0.1" serverport=%[3]q searchIndex="rsyslog-koban"
       template="doc" bulkmode="on" uid="rsyslog" pwd=%[4]q errorFile=%[5]q)
`, dir, filepath.Join(dir, "in.log"), port, token, filepath.Join(dir, "es-errors.json"))
	confPath := filepath.Join(dir, "rsyslog.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(rsyslogd, "-N1", "-f", confPath).CombinedOutput(); err != nil {
		t.Fatalf("rsyslogd -N1: %v\n%s", err, out)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, rsyslogd, "-n", "-f", confPath, "-i", filepath.Join(dir, "rsyslogd.pid"))
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()       // kills this rsyslogd, and only it
		_ = cmd.Wait() // killed: its exit status says so
	})
	evs := waitEvents(t, e.sink, len(lines), 60*time.Second, func() string {
		b, _ := os.ReadFile(filepath.Join(dir, "es-errors.json"))
		return "rsyslogd output:\n" + out.String() + "\nerror file:\n" + string(b)
	})
	for i, ev := range evs {
		msg, _ := ev.Lookup("message")
		idx, _ := ev.Lookup("_index")
		if msg != lines[i] || idx != "rsyslog-koban" || ev.Source != "rsyslog" || ev.Time == 0 || ev.Flags != 0 {
			t.Errorf("event %d: message %q index %q source %q time %d flags %v; want %q from rsyslog into rsyslog-koban",
				i, msg, idx, ev.Source, ev.Time, ev.Flags.Names(), lines[i])
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "es-errors.json")); err == nil && len(b) > 0 {
		t.Errorf("rsyslog recorded bulk errors: %s", b)
	}
}

// The Python client (7.17) checks the product (GET / and X-Elastic-Product)
// before any other call, and its bulk helper reads the items.
const pythonClient = `
import json, sys
from elasticsearch import Elasticsearch, helpers
es = Elasticsearch([sys.argv[1]], api_key=(sys.argv[2], sys.argv[3]))
info = es.info()
actions = [{"_index": "py-koban", "_source": {"@timestamp": "2024-05-01T12:00:0%dZ" % i, "message": "python %d" % i}} for i in range(5)]
actions.append({"_op_type": "create", "_index": "logs-py-default", "_source": {"@timestamp": "2024-05-01T12:01:00Z", "message": "created"}})
actions.append({"_op_type": "delete", "_index": "py-koban", "_id": "1"})
ok, errors = helpers.bulk(es, actions, raise_on_error=False)
print(json.dumps({"number": info["version"]["number"], "ok": ok, "errors": len(errors)}))
`

func TestPythonElasticsearchClient(t *testing.T) {
	t.Parallel()
	const python = "/usr/bin/python3" // Debian's, where python3-elasticsearch installs
	have := exec.Command(python, "-c", "import elasticsearch").Run() == nil
	needTool(t, "the Python Elasticsearch client (Debian python3-elasticsearch)", have)

	e := newEnv(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, python, "-c", pythonClient, e.srv.URL, "some-id", tokenA).CombinedOutput()
	if err != nil {
		t.Fatalf("python client: %v\n%s", err, out)
	}
	var got struct {
		Number     string
		OK, Errors int
	}
	if err := json.Unmarshal(out[strings.LastIndexByte(strings.TrimSpace(string(out)), '\n')+1:], &got); err != nil {
		t.Fatalf("python client printed %s: %v", out, err)
	}
	if !strings.HasPrefix(got.Number, "8.") || got.OK != 6 || got.Errors != 1 {
		t.Errorf("python client: %+v, want version 8.x, 6 documents stored, the delete refused", got)
	}
	evs := e.sink.all()
	if len(evs) != 6 {
		t.Fatalf("stored %d events, want 6", len(evs))
	}
	if idx, _ := evs[5].Lookup("_index"); idx != "logs-py-default" {
		t.Errorf("last event index %q", idx)
	}
}
