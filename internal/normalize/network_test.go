// SPDX-License-Identifier: Apache-2.0

package normalize

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/koban-csirt/koban/internal/event"
	"github.com/koban-csirt/koban/internal/shareddata"
)

// TestZeekJSON normalises the first records of every WRCCDC Zeek JSON log
// with no hint from an importer: the _path field must give the service.
func TestZeekJSON(t *testing.T) {
	t.Parallel()
	n := New()
	files, err := filepath.Glob(filepath.Join(shareddata.Path(t, "zeek-wrccdc-2018/zeek-json"), "*.json.gz"))
	if err != nil || len(files) < 30 {
		t.Fatalf("Zeek JSON logs: %v, %d files", err, len(files))
	}
	for _, f := range files {
		path := strings.TrimSuffix(filepath.Base(f), ".json.gz")
		for i, doc := range readDocsN(t, f, 300) {
			e := jsonEvent(doc)
			n.Event(e)
			wantCat := map[string]string{"dns": "dns", "http": "proxy"}[path]
			if e.Log != (event.LogSource{Product: "zeek", Category: wantCat, Service: path}) {
				t.Fatalf("%s record %d: Log %+v", path, i, e.Log)
			}
			// loaded_scripts records carry only _write_ts, at the epoch:
			// the clock check must replace it.
			if wantFlags := map[bool]event.Flag{true: event.FlagTimeSkew}[path == "loaded_scripts"]; e.Flags != wantFlags {
				t.Fatalf("%s record %d: flags %v: %s", path, i, e.Flags.Names(), e.Reason)
			}
			f := fields(e)
			if ts, _ := parseTime(f["ts"]); f["ts"] != "" && e.Time != ts {
				t.Fatalf("%s record %d: Time %v, ts %q", path, i, e.TimeOf(), f["ts"])
			}
			if path == "dns" && (f["query"] == "" && f["qtype_name"] != "" || f["record_type"] != f["qtype_name"]) {
				t.Fatalf("dns record %d: %v", i, f)
			}
		}
	}
}

// TestZeekApt29 reads the OTRF APT29 Zeek logs, written by a Zeek whose
// JSON writer names the path "@stream" and the connection "id_orig_h".
func TestZeekApt29(t *testing.T) {
	t.Parallel()
	n := New()
	dir := shareddata.Path(t, "zeek-otrf-apt29/datasets/compound/apt29/day1/zeek/individual_zeek_logs")
	for _, name := range []string{"SCRANTON_http.log", "SCRANTON_dns.log", "NASHUA_conn.log", "SCRANTON_smb_files.log"} {
		svc := strings.TrimSuffix(name[strings.IndexByte(name, '_')+1:], ".log")
		for i, doc := range readDocsN(t, filepath.Join(dir, name), 200) {
			e := jsonEvent(doc)
			n.Event(e)
			if e.Log.Product != "zeek" || e.Log.Service != svc || e.Flags != 0 {
				t.Fatalf("%s record %d: Log %+v flags %v %s", name, i, e.Log, e.Flags.Names(), e.Reason)
			}
			f := fields(e)
			if f["id_orig_h"] != "" || f["@stream"] != "" || f["_path"] != svc {
				t.Fatalf("%s record %d: underscore names not renamed: %v", name, i, f)
			}
			if svc != "smb_files" && f["id.orig_h"] == "" {
				t.Fatalf("%s record %d: no id.orig_h: %v", name, i, f)
			}
			if e.Host == "" {
				t.Fatalf("%s record %d: no host (the sensor, @system)", name, i)
			}
			if svc == "http" {
				if e.Log.Category != "proxy" || f["c-uri"] != f["uri"] || f["cs-method"] != f["method"] ||
					f["c-useragent"] != f["user_agent"] || f["cs-host"] != f["host"] {
					t.Fatalf("http record %d: proxy names: %v", i, f)
				}
			}
		}
	}
}

func TestZeekImporterHint(t *testing.T) {
	t.Parallel()
	// The TSV importer sets product and service; records have no _path.
	e := newEvent("ts", "1521911720.865716", "uid", "CqKst53mF3det3eDV9", "id.orig_h", "10.47.1.100",
		"query", "ise.wrccdc.org", "qtype_name", "A", "answers", "ise.wrccdc.cpp.edu,134.71.3.16")
	e.Log = event.LogSource{Product: "zeek", Service: "dns"}
	New().Event(e)
	if e.Log != (event.LogSource{Product: "zeek", Category: "dns", Service: "dns"}) {
		t.Errorf("Log %+v", e.Log)
	}
	checkFields(t, e, map[string]string{"record_type": "A", "answer": "ise.wrccdc.cpp.edu,134.71.3.16"})
	if got, want := e.Time, int64(1521911720865716000); got != want {
		t.Errorf("Time = %d, want %d", got, want)
	}
}

// TestSuricata normalises the Suricata EVE samples.
func TestSuricata(t *testing.T) {
	t.Parallel()
	n := New()
	counts := map[event.LogSource]int{}
	for _, rel := range []string{"suricata-eve/surevego/testdata/eve.json", "suricata-eve/elastic-integrations/test-eve-small.log",
		"suricata-eve/elastic-integrations/test-eve-6-0.log"} {
		for i, doc := range readDocs(t, shareddata.Path(t, rel)) {
			e := jsonEvent(doc)
			n.Event(e)
			f := fields(e)
			if e.Log.Product != "suricata" || e.Log.Service != f["event_type"] || e.Flags != 0 {
				t.Fatalf("%s record %d: Log %+v flags %v %s", rel, i, e.Log, e.Flags.Names(), e.Reason)
			}
			if ts, _ := parseTime(f["timestamp"]); ts != e.Time {
				t.Fatalf("%s record %d: Time %v, timestamp %q", rel, i, e.TimeOf(), f["timestamp"])
			}
			counts[e.Log]++
			switch e.Log.Category {
			case "dns":
				if f["query"] != f["dns.rrname"] {
					t.Errorf("%s record %d: query %q, rrname %q", rel, i, f["query"], f["dns.rrname"])
				}
			case "proxy":
				if f["c-uri"] == "" || f["c-uri"] != f["http.url"] || f["cs-host"] != f["http.hostname"] {
					t.Errorf("%s record %d: proxy names: %v", rel, i, f)
				}
			}
			if f["fileinfo.md5"] != "" {
				t.Errorf("fileinfo.md5 not renamed to md5")
			}
		}
	}
	t.Logf("Suricata logsources: %v", counts)
	for _, ls := range []event.LogSource{
		{Product: "suricata", Category: "dns", Service: "dns"},
		{Product: "suricata", Category: "proxy", Service: "http"},
		{Product: "suricata", Service: "alert"},
		{Product: "suricata", Service: "fileinfo"},
		{Product: "suricata", Service: "flow"},
		{Product: "suricata", Service: "stats"},
	} {
		if counts[ls] == 0 {
			t.Errorf("no event got %+v", ls)
		}
	}
}

func TestSuricataHashes(t *testing.T) {
	t.Parallel()
	e := newEvent("timestamp", "2018-07-05T15:43:47.690014-0400", "flow_id", "1", "event_type", "fileinfo",
		"src_ip", "192.168.86.28", "fileinfo.md5", "d41d8cd98f00b204e9800998ecf8427e", "fileinfo.sha256", "e3b0")
	New().Event(e)
	checkFields(t, e, map[string]string{"md5": "d41d8cd98f00b204e9800998ecf8427e", "sha256": "e3b0", "fileinfo.md5": "<absent>"})
	if got, want := e.Time, int64(1530819827690014000); got != want {
		t.Errorf("Time = %d, want %d (-0400 offset)", got, want)
	}
}

func TestFortigate(t *testing.T) {
	t.Parallel()
	e := newEvent("program", "", "hostname", "fw1", "date", "2024-01-02", "time", "10:11:12", "devname", "FGT60F",
		"devid", "FGT60FTK1234", "logid", "0000000013", "type", "traffic", "subtype", "forward", "srcip", "10.0.0.5",
		"srcport", "51000", "dstip", "203.0.113.9", "dstport", "443", "action", "accept", "eventtime", "1704190272000000000")
	New().Event(e)
	if e.Log != (event.LogSource{Product: "fortigate", Category: "firewall", Service: "traffic"}) || e.Host != "FGT60F" {
		t.Errorf("Log %+v Host %q", e.Log, e.Host)
	}
	checkFields(t, e, map[string]string{"src_ip": "10.0.0.5", "dst_ip": "203.0.113.9", "dst_port": "443", "srcip": "<absent>"})
	if e.Time != 1704190272000000000 {
		t.Errorf("Time = %d", e.Time)
	}
	cfg := newEvent("devid", "FGT60FTK1234", "type", "event", "subtype", "system", "action", "Edit", "cfgpath", "system.admin")
	cfg.Time = received
	New().Event(cfg)
	if cfg.Log != (event.LogSource{Product: "fortigate", Service: "event"}) {
		t.Errorf("config change Log %+v", cfg.Log)
	}
}

var methodRE = regexp.MustCompile(`\] "[A-Z]+ `)

// TestWebLogs reads the Tomcat access log of EVTX-ATTACK-SAMPLES (Common Log
// Format, as file lines) and IIS W3C records.
func TestWebLogs(t *testing.T) {
	t.Parallel()
	n := New()
	lines := readLines(t, shareddata.Path(t, "evtx-attack-samples/Command and Control/web_attack_and_isp_webshell_localhost_access_log.txt"))
	for i, line := range lines {
		e := newEvent("message", line)
		n.Event(e)
		f := fields(e)
		// Some requests are TLS bytes sent to the plain port, or "-" (one at
		// 01/Jan/1970, whose time the clock check must replace).
		request := methodRE.MatchString(line)
		epoch := strings.Contains(line, "/1970:")
		if e.Log != (event.LogSource{Category: "webserver"}) || (e.Flags == event.FlagTimeSkew) != epoch || f["c-ip"] == "" ||
			f["sc-status"] == "" || (f["cs-method"] != "") != request || !strings.HasPrefix(f["cs-uri-query"], f["cs-uri-stem"]) {
			t.Fatalf("line %d %q: Log %+v flags %v: %v", i+1, line, e.Log, e.Flags.Names(), f)
		}
	}
	tests := []struct {
		line string
		want map[string]string
		time int64
	}{
		{`192.168.105.83 - - [11/Jul/2018:08:41:29 +0300] "GET /manager/html;jsessionid=79?org.apache.catalina.filters.CSRF_NONCE=A0 HTTP/1.1" 401 2550`,
			map[string]string{"c-ip": "192.168.105.83", "cs-method": "GET", "cs-uri-stem": "/manager/html;jsessionid=79",
				"cs-uri-query": "/manager/html;jsessionid=79?org.apache.catalina.filters.CSRF_NONCE=A0", "cs-version": "HTTP/1.1",
				"sc-status": "401", "sc-bytes": "2550", "cs-username": "<absent>"}, 1531287689e9},
		{`www.example.com:443 203.0.113.7 - bob [10/Oct/2000:13:55:36 -0700] "POST /login.php HTTP/1.1" 200 2326 "http://r.example/" "Mozilla/5.0 (X11) \"q\""`,
			map[string]string{"cs-host": "www.example.com", "c-ip": "203.0.113.7", "cs-username": "bob", "cs-referer": "http://r.example/",
				"cs-user-agent": `Mozilla/5.0 (X11) \"q\"`, "sc-bytes": "2326"}, 971211336e9},
		{`198.51.100.1 - - [10/Oct/2000:13:55:36 +0000] "\x16\x03\x01" 400 226 "-" "-"`,
			map[string]string{"c-ip": "198.51.100.1", "sc-status": "400", "cs-method": "<absent>", "cs-referer": "-"}, 971186136e9},
	}
	for _, tt := range tests {
		e := newEvent("message", tt.line)
		n.Event(e)
		if e.Log.Category != "webserver" || e.Time != tt.time {
			t.Errorf("%q: Log %+v Time %d, want %d", tt.line, e.Log, e.Time, tt.time)
		}
		checkFields(t, e, tt.want)
	}

	// IIS (a record of EVTX-ATTACK-SAMPLES' Tunna_rdp_tunnel_IIS.log): the
	// W3C reader gives the #Fields names.
	e := newEvent("date", "2019-09-03", "time", "10:13:36", "s-ip", "10.0.2.15", "cs-method", "GET", "cs-uri-stem", "/erp/conn.aspx",
		"cs-uri-query", "proxy&port=3389&ip=127.0.0.1", "s-port", "80", "cs-username", "-", "c-ip", "10.0.2.17",
		"cs(User-Agent)", "-", "cs(Referer)", "-", "sc-status", "200")
	n.Event(e)
	if e.Log != (event.LogSource{Category: "webserver"}) || e.Time != 1567505616e9 || e.Flags != 0 {
		t.Errorf("IIS: Log %+v Time %v flags %v", e.Log, e.TimeOf(), e.Flags.Names())
	}
	checkFields(t, e, map[string]string{"cs-user-agent": "-", "cs-referer": "-", "cs(User-Agent)": "<absent>"})
}
