// SPDX-License-Identifier: Apache-2.0

package normalize

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/koban-csirt/koban/internal/event"
	"github.com/koban-csirt/koban/internal/shareddata"
)

func TestMatches(t *testing.T) {
	t.Parallel()
	ls := func(p, c, s string) event.LogSource { return event.LogSource{Product: p, Category: c, Service: s} }
	tests := []struct {
		rule, ev event.LogSource
		want     bool
	}{
		{ls("windows", "process_creation", ""), ls("windows", "process_creation", "sysmon"), true},
		{ls("windows", "process_creation", ""), ls("windows", "process_creation", "security"), true},
		{ls("windows", "", "security"), ls("windows", "process_creation", "security"), true},
		{ls("windows", "", "sysmon"), ls("windows", "registry_set", "sysmon"), true},
		{ls("windows", "registry_event", ""), ls("windows", "registry_set", "sysmon"), true},
		{ls("windows", "registry_event", ""), ls("windows", "registry_add", "sysmon"), true},
		{ls("windows", "registry_set", ""), ls("windows", "registry_add", "sysmon"), false},
		{ls("windows", "process_creation", ""), ls("linux", "process_creation", "sysmon"), false},
		{ls("linux", "process_creation", ""), ls("linux", "process_creation", "sysmon"), true},
		{ls("", "webserver", ""), ls("", "webserver", "apache"), true},
		{ls("", "", "apache"), ls("linux", "webserver", "apache"), true},
		{ls("", "antivirus", ""), ls("windows", "antivirus", "windefend"), true},
		{ls("windows", "", "windefend"), ls("windows", "antivirus", "windefend"), true},
		{ls("", "dns", ""), ls("zeek", "dns", "dns"), true},
		{ls("zeek", "", "dns"), ls("zeek", "dns", "dns"), true},
		{ls("", "proxy", ""), ls("suricata", "proxy", "http"), true},
		{ls("linux", "", "auth"), ls("linux", "", "sshd"), true},
		{ls("linux", "", "syslog"), ls("linux", "", "sudo"), true},
		{ls("linux", "", "syslog"), ls("linux", "", "auditd"), false},
		{ls("linux", "", "sshd"), ls("linux", "", "auth"), false},
		{ls("linux", "", ""), ls("linux", "", "auditd"), true},
		{ls("windows", "", "microsoft-servicebus-client"), ls("windows", "", "servicebus-client"), true},
		{ls("windows", "", "system"), ls("windows", "", "security"), false},
		{ls("", "", ""), ls("zeek", "", "conn"), true},
	}
	for _, tt := range tests {
		if got := Matches(tt.rule, tt.ev); got != tt.want {
			t.Errorf("Matches(%+v, %+v) = %v, want %v", tt.rule, tt.ev, got, tt.want)
		}
	}
}

// samples returns one event of each source kind the tests know.
func samples() map[string][]string {
	return map[string][]string{
		"sysmon": {"EventID", "1", "Channel", "Microsoft-Windows-Sysmon/Operational", "Provider_Name", "Microsoft-Windows-Sysmon",
			"Computer", "ws1", "TimeCreated", "2025-11-27T07:40:10.165324Z", "Image", `C:\Windows\System32\cmd.exe`,
			"CommandLine", "cmd /c whoami", "ParentImage", `C:\Windows\explorer.exe`, "User", `CORP\bob`,
			"Hashes", "SHA1=5E4F2C531C549BB72A658ED9DD16D491EDDBB286,MD5=FAB4B30C1C4F0A9202A7B42DCF1729DC,SHA256=1B48A4F8D20026E6C56E3AB4CC4788FA6425C8A75F8D91C2869FA533DE6B209E,IMPHASH=C324AAAC01F0F75C811E1F80C41B860C",
			"ProcessId", "4460", "ProcessGuid", "{0197231E-005A-6928-A50B-000000000D00}", "IntegrityLevel", "High",
			"EventRecordID", "571146", "Execution_ProcessID", "3544", "Execution_ThreadID", "4272", "Security_UserID", "S-1-5-18",
			"Level", "4", "Task", "1", "Keywords", "0x8000000000000000", "Version", "5", "Opcode", "0"},
		"security4688": {"EventID", "4688", "Channel", "Security", "Provider_Name", "Microsoft-Windows-Security-Auditing",
			"Computer", "dc1", "TimeCreated", "2024-01-02T03:04:05.123456Z", "NewProcessName", `C:\a.exe`, "ParentProcessName", `C:\b.exe`},
		"winlogbeat": {"@timestamp", "2024-05-01T10:00:00.5Z", "winlog.channel", "Microsoft-Windows-Sysmon/Operational",
			"winlog.event_id", "1", "event.code", "1", "winlog.event_data.Image", `C:\x.exe`, "process.executable", `C:\x.exe`,
			"winlog.computer_name", "ws2", "host.name", "ws2", "user.name", "bob", "winlog.event_data.Hashes", "MD5=AA"},
		"nxlog": {"EventType", "AUDIT_SUCCESS", "SourceName", "Microsoft-Windows-Security-Auditing", "Channel", "Security",
			"EventID", "4624", "Hostname", "dc1", "@timestamp", "2020-08-07T14:32:29.369Z", "ThreadID", "3392"},
		"syslog-sshd": {"facility", "authpriv", "severity", "info", "priority", "86", "hostname", "LabSZ", "program", "sshd",
			"pid", "24200", "message", "Failed password for invalid user webmaster from 173.234.31.186 port 38926 ssh2"},
		"syslog-line": {"message", "Dec 10 06:55:46 LabSZ sshd[24200]: Accepted password for bob from 10.0.0.1 port 22 ssh2"},
		"filebeat": {"@timestamp", "2025-12-10T06:55:46.123Z", "host.name", "labsz", "log.file.path", "/var/log/auth.log",
			"message", "Dec 10 06:55:46 LabSZ sudo: alice : TTY=pts/0 ; PWD=/ ; USER=root ; COMMAND=/bin/id"},
		"sudo":   {"program", "sudo", "message", "alice : TTY=pts/0 ; PWD=/ ; USER=root ; COMMAND=/bin/id"},
		"auditd": {"message", `type=EXECVE msg=audit(1604994496.155:92733): argc=2 a0="arp" a1=2D61`},
		"linux-sysmon": {"program", "sysmon", "hostname", "u5", "message",
			`<Event><System><Provider Name="Linux-Sysmon" Guid="{ff032593}"/><EventID>1</EventID><TimeCreated SystemTime="2022-05-11T18:10:20.399931000Z"/><Channel>Linux-Sysmon/Operational</Channel><Computer>u5</Computer></System><EventData><Data Name="Image">/usr/bin/id</Data><Data Name="CommandLine">id &amp;&amp; ls</Data><Data Name="Empty"/></EventData></Event>`},
		"zeek-http": {"_path", "http", "ts", "1588206738.09551", "uid", "ChOJ", "id.orig_h", "10.0.1.4", "id.orig_p", "60757",
			"id.resp_h", "192.168.0.4", "id.resp_p", "80", "method", "GET", "host", "192.168.0.4", "uri", "/a/b.exe?x=1",
			"user_agent", "DavClnt", "status_code", "200"},
		"suricata-dns": {"timestamp", "2017-01-30T16:12:26.985026+0100", "flow_id", "955054024165314", "event_type", "dns",
			"src_ip", "172.17.0.2", "src_port", "55645", "dest_ip", "172.21.3.254", "dest_port", "53", "proto", "UDP",
			"dns.type", "query", "dns.rrname", "security.debian.org", "dns.rrtype", "A"},
		"access-log": {"message", `203.0.113.7 - bob [10/Oct/2000:13:55:36 -0700] "GET /a.php?x=1 HTTP/1.1" 200 2326 "-" "curl/8"`},
		"generic":    {"time", "2024-01-02T03:04:05Z", "host", "app1", "level", "warn", "msg", "disk full"},
		"fortigate":  {"devid", "FGT", "devname", "fw", "type", "traffic", "srcip", "10.0.0.1", "dstip", "10.0.0.2", "dstport", "443"},
	}
}

// TestIdempotent normalises each sample twice: the second pass must change
// nothing, so a sink may retry a batch.
func TestIdempotent(t *testing.T) {
	t.Parallel()
	n := New()
	for name, kv := range samples() {
		e := newEvent(kv...)
		n.Event(e)
		once := *e
		once.Fields = append([]event.Field(nil), e.Fields...)
		n.Event(e)
		if diff := cmp.Diff(eventView(&once), eventView(e)); diff != "" {
			t.Errorf("%s: second Event changed the event (-once +twice):\n%s", name, diff)
		}
		if e.Log == (event.LogSource{}) && name != "generic" {
			t.Errorf("%s: no logsource", name)
		}
		checkUnique(t, e)
	}
}

// eventView is an event with field names for comparing.
func eventView(e *event.Event) map[string]any {
	return map[string]any{"time": e.Time, "host": e.Host, "log": e.Log, "flags": e.Flags, "reason": e.Reason, "fields": fields(e),
		"order": fieldOrder(e)}
}

func fieldOrder(e *event.Event) string {
	var b strings.Builder
	for _, f := range e.Fields {
		b.WriteString(f.Name())
		b.WriteByte(' ')
	}
	return b.String()
}

type recordSink struct {
	mu     sync.Mutex
	events []event.Event
	err    error
}

func (s *recordSink) Append(_ context.Context, events []event.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	s.events = append(s.events, events...)
	return nil
}

func TestSink(t *testing.T) {
	t.Parallel()
	n := New()
	next := &recordSink{err: fmt.Errorf("journal: %w", event.ErrFull)}
	sink := n.Sink(next)
	batch := []event.Event{*newEvent(samples()["sysmon"]...), *newEvent(samples()["syslog-sshd"]...)}
	if err := sink.Append(context.Background(), batch); !errors.Is(err, event.ErrFull) {
		t.Fatalf("Append with a full next sink = %v, want ErrFull", err)
	}
	next.err = nil
	if err := sink.Append(context.Background(), batch); err != nil { // the retry
		t.Fatal(err)
	}
	if len(next.events) != 2 || next.events[0].Log.Category != "process_creation" || next.events[1].Log.Service != "sshd" {
		t.Fatalf("next got %+v", next.events)
	}
	checkUnique(t, &next.events[0])
}

// TestConcurrent normalises from several goroutines with one Normalizer
// (run with -race).
func TestConcurrent(t *testing.T) {
	t.Parallel()
	n := New()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 200 {
				for name, kv := range samples() {
					e := newEvent(append(kv, fmt.Sprintf("extra%d", (g*7+i)%50), "x")...)
					n.Event(e)
					if e.Log == (event.LogSource{}) && name != "generic" {
						t.Errorf("%s: no logsource", name)
						return
					}
				}
			}
		})
	}
	wg.Wait()
}

// TestOTRFWindows normalises the OTRF Windows host datasets (Sysmon,
// Security, PowerShell and more, as NXLog/Logstash and Winlogbeat 6 JSON).
func TestOTRFWindows(t *testing.T) {
	t.Parallel()
	n := New()
	base := "otrf-security-datasets/datasets/atomic/windows/"
	for _, rel := range []string{
		"lateral_movement/host/schtask_create.zip",
		"credential_access/host/psh_lsass_memory_dump_comsvcs.zip",
		"execution/host/empire_launcher_vbs.zip",
		"persistence/host/empire_persistence_registry_modification_run_keys_elevated_user.zip",
	} {
		b := zipFile(t, shareddata.Path(t, base+rel))
		counts := map[event.LogSource]int{}
		docs := decodeAll(t, strings.NewReader(string(b)))
		for i, doc := range docs {
			e := jsonEvent(doc)
			n.Event(e)
			f := fields(e)
			if e.Log.Product != "windows" || e.Host == "" || e.Flags != 0 || f["EventID"] == "" || f["Provider_Name"] == "" {
				t.Fatalf("%s record %d: Log %+v host %q flags %v %s: %v", rel, i, e.Log, e.Host, e.Flags.Names(), e.Reason, f)
			}
			if e.Log.Category == "process_creation" && (f["Image"] == "" || f["NewProcessName"] != "") {
				t.Errorf("%s record %d: process_creation without Image: %v", rel, i, f)
			}
			checkUnique(t, e)
			counts[e.Log]++
		}
		known := 0
		for ls, c := range counts {
			if ls.Service != "" {
				known += c
			}
		}
		t.Logf("%s: %d events, %d with a known service; %v", rel, len(docs), known, counts)
		if known < len(docs)*9/10 {
			t.Errorf("%s: only %d of %d events have a service", rel, known, len(docs))
		}
	}
}
