// SPDX-License-Identifier: Apache-2.0

package normalize

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/koban-csirt/koban/internal/event"
	"github.com/koban-csirt/koban/internal/shareddata"
)

func TestWindows(t *testing.T) {
	t.Parallel()
	n := New()
	sysmon := func(id string, kv ...string) []string {
		return append([]string{"EventID", id, "Channel", "Microsoft-Windows-Sysmon/Operational",
			"Provider_Name", "Microsoft-Windows-Sysmon", "Computer", "ws1.corp.example",
			"TimeCreated", "2025-11-27T07:40:10.165324Z"}, kv...)
	}
	tests := []struct {
		name    string
		product string // what the importer set
		in      []string
		want    event.LogSource
		host    string
		time    string
		fields  map[string]string
	}{
		{
			name: "sysmon process creation", product: "windows",
			in: sysmon("1", "Image", `C:\Windows\System32\cmd.exe`,
				"Hashes", "SHA1=5E4F2C531C549BB72A658ED9DD16D491EDDBB286,MD5=FAB4B30C1C4F0A9202A7B42DCF1729DC,SHA256=1B48A4F8D20026E6C56E3AB4CC4788FA6425C8A75F8D91C2869FA533DE6B209E,IMPHASH=C324AAAC01F0F75C811E1F80C41B860C"),
			want: event.LogSource{Product: "windows", Category: "process_creation", Service: "sysmon"},
			host: "ws1.corp.example", time: "2025-11-27T07:40:10.165324Z",
			fields: map[string]string{
				"md5":     "FAB4B30C1C4F0A9202A7B42DCF1729DC",
				"sha1":    "5E4F2C531C549BB72A658ED9DD16D491EDDBB286",
				"sha256":  "1B48A4F8D20026E6C56E3AB4CC4788FA6425C8A75F8D91C2869FA533DE6B209E",
				"imphash": "C324AAAC01F0F75C811E1F80C41B860C",
			},
		},
		{name: "sysmon network", product: "windows", in: sysmon("3"),
			want: event.LogSource{Product: "windows", Category: "network_connection", Service: "sysmon"}},
		{name: "sysmon registry create key", product: "windows", in: sysmon("12", "EventType", "CreateKey"),
			want: event.LogSource{Product: "windows", Category: "registry_add", Service: "sysmon"}},
		{name: "sysmon registry delete value", product: "windows", in: sysmon("12", "EventType", "DeleteValue"),
			want: event.LogSource{Product: "windows", Category: "registry_delete", Service: "sysmon"}},
		{name: "sysmon registry 12 other", product: "windows", in: sysmon("12", "EventType", "INFO"),
			want: event.LogSource{Product: "windows", Category: "registry_event", Service: "sysmon"}},
		{name: "sysmon registry set", product: "windows", in: sysmon("13", "EventType", "SetValue"),
			want: event.LogSource{Product: "windows", Category: "registry_set", Service: "sysmon"}},
		{name: "sysmon registry rename", product: "windows", in: sysmon("14"),
			want: event.LogSource{Product: "windows", Category: "registry_rename", Service: "sysmon"}},
		{name: "sysmon pipe connected", product: "windows", in: sysmon("18"),
			want: event.LogSource{Product: "windows", Category: "pipe_created", Service: "sysmon"}},
		{name: "sysmon wmi", product: "windows", in: sysmon("21"),
			want: event.LogSource{Product: "windows", Category: "wmi_event", Service: "sysmon"}},
		{name: "sysmon dns", product: "windows", in: sysmon("22"),
			want: event.LogSource{Product: "windows", Category: "dns_query", Service: "sysmon"}},
		{name: "sysmon file block", product: "windows", in: sysmon("27"),
			want: event.LogSource{Product: "windows", Category: "file_block_executable", Service: "sysmon"}},
		{name: "sysmon stream hash", product: "windows", in: sysmon("15", "Hash", "SHA256=AB,IMPHASH=00"),
			want:   event.LogSource{Product: "windows", Category: "create_stream_hash", Service: "sysmon"},
			fields: map[string]string{"sha256": "AB", "imphash": "00"}},
		{name: "sysmon status", product: "windows", in: sysmon("16"),
			want: event.LogSource{Product: "windows", Category: "sysmon_status", Service: "sysmon"}},
		{name: "sysmon unknown id", product: "windows", in: sysmon("99"),
			want: event.LogSource{Product: "windows", Service: "sysmon"}},
		{
			name: "security 4688 renames as thor.yml maps", product: "windows",
			in: []string{"EventID", "4688", "Channel", "Security", "Provider_Name", "Microsoft-Windows-Security-Auditing",
				"Computer", "dc1", "NewProcessName", `C:\Windows\System32\whoami.exe`,
				"ParentProcessName", `C:\Windows\System32\cmd.exe`, "SubjectUserName", "alice",
				"CommandLine", "whoami /all", "TimeCreated", "2024-01-02T03:04:05.123456Z"},
			want: event.LogSource{Product: "windows", Category: "process_creation", Service: "security"},
			host: "dc1", time: "2024-01-02T03:04:05.123456Z",
			fields: map[string]string{
				"Image":          `C:\Windows\System32\whoami.exe`,
				"ParentImage":    `C:\Windows\System32\cmd.exe`,
				"NewProcessName": "<absent>", "ParentProcessName": "<absent>",
				"SubjectUserName": "alice", "User": "<absent>",
			},
		},
		{name: "security logon", product: "windows",
			in:   []string{"EventID", "4624", "Channel", "Security", "Provider_Name", "Microsoft-Windows-Security-Auditing"},
			want: event.LogSource{Product: "windows", Service: "security"}},
		{name: "powershell script block", product: "windows",
			in:   []string{"EventID", "4104", "Channel", "Microsoft-Windows-PowerShell/Operational", "Provider_Name", "Microsoft-Windows-PowerShell"},
			want: event.LogSource{Product: "windows", Category: "ps_script", Service: "powershell"}},
		{name: "powershell module", product: "windows",
			in:   []string{"EventID", "4103", "Channel", "Microsoft-Windows-PowerShell/Operational"},
			want: event.LogSource{Product: "windows", Category: "ps_module", Service: "powershell"}},
		{name: "powershell core", product: "windows",
			in:   []string{"EventID", "4104", "Channel", "PowerShellCore/Operational"},
			want: event.LogSource{Product: "windows", Category: "ps_script", Service: "powershell"}},
		{name: "powershell classic start", product: "windows",
			in:   []string{"EventID", "400", "Channel", "Windows PowerShell", "Provider_Name", "PowerShell"},
			want: event.LogSource{Product: "windows", Category: "ps_classic_start", Service: "powershell-classic"}},
		{name: "powershell classic provider", product: "windows",
			in:   []string{"EventID", "600", "Channel", "Windows PowerShell"},
			want: event.LogSource{Product: "windows", Category: "ps_classic_provider_start", Service: "powershell-classic"}},
		{
			name: "defender detection is antivirus", product: "windows",
			in: []string{"EventID", "1116", "Channel", "Microsoft-Windows-Windows Defender/Operational",
				"Threat Name", "x", "ThreatName", "Virus:DOS/EICAR_Test_File", "Path", `file:_C:\eicar.com`},
			want: event.LogSource{Product: "windows", Category: "antivirus", Service: "windefend"},
			fields: map[string]string{"Signature": "Virus:DOS/EICAR_Test_File", "Filename": `file:_C:\eicar.com`,
				"ThreatName": "Virus:DOS/EICAR_Test_File", "Path": `file:_C:\eicar.com`},
		},
		{name: "defender config change", product: "windows",
			in:   []string{"EventID", "5007", "Channel", "Microsoft-Windows-Windows Defender/Operational"},
			want: event.LogSource{Product: "windows", Service: "windefend"}},
		{name: "task scheduler", product: "windows",
			in:   []string{"EventID", "106", "Channel", "Microsoft-Windows-TaskScheduler/Operational"},
			want: event.LogSource{Product: "windows", Service: "taskscheduler"}},
		{name: "system", product: "windows",
			in:   []string{"EventID", "7045", "Channel", "System", "Provider_Name", "Service Control Manager"},
			want: event.LogSource{Product: "windows", Service: "system"}},
		{name: "channel case differs", product: "windows",
			in:   []string{"EventID", "1", "Channel", "microsoft-windows-sysmon/operational"},
			want: event.LogSource{Product: "windows", Category: "process_creation", Service: "sysmon"}},
		{name: "provider without channel", product: "windows",
			in:   []string{"EventID", "1", "Provider_Name", "Microsoft-Windows-Sysmon"},
			want: event.LogSource{Product: "windows", Category: "process_creation", Service: "sysmon"}},
		{name: "unknown channel", product: "windows",
			in:   []string{"EventID", "1", "Channel", "Microsoft-Windows-Foo/Operational"},
			want: event.LogSource{Product: "windows"}},
		{
			// OTRF schtask_create, first record, trimmed.
			name: "OTRF JSON", product: "",
			in: []string{"SourceName", "Microsoft-Windows-Security-Auditing", "ProviderGuid", "{54849625-5478-4994-a5ba-3e3b0328c30d}",
				"Level", "0", "Keywords", "0x8020000000000000", "Channel", "Security", "Hostname", "WORKSTATION5.theshire.local",
				"TimeCreated", "2020-12-19T06:59:28.410Z", "@timestamp", "2020-12-19T06:59:28.410Z", "EventID", "4688",
				"NewProcessName", `C:\Windows\System32\schtasks.exe`},
			want: event.LogSource{Product: "windows", Category: "process_creation", Service: "security"},
			host: "WORKSTATION5.theshire.local", time: "2020-12-19T06:59:28.41Z",
			fields: map[string]string{"Provider_Name": "Microsoft-Windows-Security-Auditing", "Computer": "WORKSTATION5.theshire.local",
				"Provider_Guid": "{54849625-5478-4994-a5ba-3e3b0328c30d}", "Image": `C:\Windows\System32\schtasks.exe`,
				"SourceName": "<absent>", "Hostname": "<absent>"},
		},
		{
			// OTRF mimikatz (NXLog): Sysmon's EventType overwrote NXLog's.
			name: "NXLog JSON", product: "",
			in: []string{"EventType", "CreateKey", "ThreadID", "4364", "EventTime", "2020-08-07 10:32:22",
				"Channel", "Microsoft-Windows-Sysmon/Operational", "EventTypeOrignal", "INFO", "SourceName", "Microsoft-Windows-Sysmon",
				"Hostname", "WORKSTATION5.theshire.local", "@timestamp", "2020-08-07T14:32:25.359Z", "ProcessId", "1648",
				"ExecutionProcessID", "3284", "EventID", "12", "UserID", "S-1-5-18", "RecordNumber", "725640"},
			want: event.LogSource{Product: "windows", Category: "registry_add", Service: "sysmon"},
			host: "WORKSTATION5.theshire.local", time: "2020-08-07T14:32:25.359Z",
			fields: map[string]string{"Execution_ProcessID": "3284", "Execution_ThreadID": "4364", "Security_UserID": "S-1-5-18",
				"EventRecordID": "725640", "ProcessId": "1648"},
		},
		{
			name: "Winlogbeat 8", product: "",
			in: []string{"@timestamp", "2024-05-01T10:00:00.5Z", "agent.type", "winlogbeat", "ecs.version", "8.0.0",
				"event.code", "1", "event.provider", "Microsoft-Windows-Sysmon", "event.kind", "event",
				"host.name", "ws2", "log.level", "information", "message", "Process Create:",
				"process.command_line", "powershell -enc AAAA", "process.executable", `C:\x\powershell.exe`,
				"process.pid", "4242", "user.name", "bob", "process.hash.sha256", "AB12",
				"winlog.channel", "Microsoft-Windows-Sysmon/Operational", "winlog.computer_name", "ws2.corp.example",
				"winlog.event_data.CommandLine", "powershell -enc AAAA", "winlog.event_data.Image", `C:\x\powershell.exe`,
				"winlog.event_data.ProcessId", "4242", "winlog.event_data.User", `CORP\bob`,
				"winlog.event_data.Hashes", "SHA256=AB12", "winlog.event_id", "1", "winlog.provider_name", "Microsoft-Windows-Sysmon",
				"winlog.record_id", "99", "winlog.process.pid", "3000", "winlog.user.identifier", "S-1-5-18",
				"winlog.user.name", "SYSTEM"},
			want: event.LogSource{Product: "windows", Category: "process_creation", Service: "sysmon"},
			host: "ws2.corp.example", time: "2024-05-01T10:00:00.5Z",
			fields: map[string]string{
				"EventID": "1", "Channel": "Microsoft-Windows-Sysmon/Operational", "Provider_Name": "Microsoft-Windows-Sysmon",
				"Computer": "ws2.corp.example", "EventRecordID": "99", "Execution_ProcessID": "3000", "Security_UserID": "S-1-5-18",
				"CommandLine": "powershell -enc AAAA", "Image": `C:\x\powershell.exe`, "User": `CORP\bob`, "ProcessId": "4242",
				"sha256": "AB12", "message": "Process Create:", "winlog.user.name": "SYSTEM", "agent.type": "winlogbeat",
				"process.command_line": "<absent>", "process.executable": "<absent>", "user.name": "<absent>",
				"host.name": "<absent>", "event.code": "<absent>", "winlog.event_data.Image": "<absent>",
				"process.hash.sha256": "<absent>",
			},
		},
		{
			name: "Winlogbeat ECS only field is renamed", product: "",
			in: []string{"@timestamp", "2024-05-01T10:00:00Z", "winlog.channel", "Security", "winlog.event_id", "4688",
				"winlog.event_data.NewProcessName", `C:\a.exe`, "winlog.event_data.SubjectUserName", "alice",
				"user.name", "alice", "process.parent.executable", `C:\p.exe`},
			want: event.LogSource{Product: "windows", Category: "process_creation", Service: "security"},
			fields: map[string]string{"Image": `C:\a.exe`, "ParentImage": `C:\p.exe`, "SubjectUserName": "alice",
				"User": "<absent>", "user.name": "<absent>"},
		},
		{
			// OTRF empire_wdigest_downgrade (Winlogbeat 6.7).
			name: "Winlogbeat 6", product: "",
			in: []string{"@timestamp", "2019-05-18T20:19:20.052Z", "computer_name", "HFDC01.shire.com", "event_id", "4103",
				"log_name", "Microsoft-Windows-PowerShell/Operational", "source_name", "Microsoft-Windows-PowerShell",
				"record_number", "5", "level", "Information", "event_data.Payload", "CommandInvocation(Start-Sleep)",
				"event_data.ContextInfo", "Severity = Informational", "version", "1"},
			want: event.LogSource{Product: "windows", Category: "ps_module", Service: "powershell"},
			host: "HFDC01.shire.com", time: "2019-05-18T20:19:20.052Z",
			fields: map[string]string{"Payload": "CommandInvocation(Start-Sleep)", "ContextInfo": "Severity = Informational",
				"Version": "1", "EventRecordID": "5", "Channel": "Microsoft-Windows-PowerShell/Operational"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEvent(tt.in...)
			e.Log.Product = tt.product
			n.Event(e)
			if e.Log != tt.want {
				t.Errorf("Event(%v).Log = %+v, want %+v", tt.in, e.Log, tt.want)
			}
			if tt.host != "" && e.Host != tt.host {
				t.Errorf("Host = %q, want %q", e.Host, tt.host)
			}
			if tt.time != "" {
				want, _ := time.Parse(time.RFC3339Nano, tt.time)
				if e.Time != want.UnixNano() {
					t.Errorf("Time = %v, want %v", e.TimeOf(), want)
				}
				if e.Flags != 0 {
					t.Errorf("Flags = %v (%s)", e.Flags.Names(), e.Reason)
				}
			}
			checkFields(t, e, tt.fields)
			checkUnique(t, e)
		})
	}
}

// checkUnique fails t when a field name appears twice.
func checkUnique(t *testing.T, e *event.Event) {
	t.Helper()
	seen := map[event.FieldID]bool{}
	for _, f := range e.Fields {
		if seen[f.ID] {
			t.Errorf("field %s appears twice", f.Name())
		}
		seen[f.ID] = true
	}
}

// TestRegression normalises every event of SigmaHQ's regression cases (the
// .json renderings beside each .evtx, flattened as the EVTX parser renders
// records) and checks that at least the rule's match count of them get a
// logsource the rule applies to. The rule is found from the case folder,
// which mirrors the rule's path.
func TestRegression(t *testing.T) {
	t.Parallel()
	dir := shareddata.Path(t, "sigma")
	var infos []string
	err := filepath.WalkDir(filepath.Join(dir, "regression_data"), func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Name() == "info.yml" {
			infos = append(infos, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	n := New()
	var cases, matched, events int
	for _, info := range infos {
		var meta struct {
			Tests []testInfo `yaml:"regression_tests_info"`
			Rules []struct {
				ID string `yaml:"id"`
			} `yaml:"rule_metadata"`
		}
		readYAML(t, info, &meta)
		if !slices.ContainsFunc(meta.Tests, func(tc testInfo) bool { return tc.Type == "evtx" }) {
			continue // the inactive Cisco case: its tests are commented out
		}
		caseDir := filepath.Dir(info)
		rel, _ := filepath.Rel(filepath.Join(dir, "regression_data"), caseDir)
		rulePath := filepath.Join(dir, rel+".yml")
		if _, err := os.Stat(rulePath); err != nil {
			rulePath = filepath.Join(dir, rel+".yml.yml") // one upstream rule file is named so
		}
		if _, err := os.Stat(rulePath); err != nil && len(meta.Rules) > 0 {
			// The rule was renamed after its test folder was made.
			rulePath = findRule(t, dir, meta.Rules[0].ID)
		}
		var rule struct {
			LogSource struct {
				Product  string `yaml:"product"`
				Category string `yaml:"category"`
				Service  string `yaml:"service"`
			} `yaml:"logsource"`
		}
		readYAML(t, rulePath, &rule)
		rls := event.LogSource(rule.LogSource)
		for _, tc := range meta.Tests {
			if tc.Type != "evtx" {
				continue
			}
			cases++
			jsonPath := filepath.Join(dir, strings.TrimSuffix(tc.Path, ".evtx")+".json")
			hits := 0
			var logs []event.LogSource
			for _, doc := range readDocs(t, jsonPath) {
				e := evtxEvent(doc)
				n.Event(e)
				events++
				logs = append(logs, e.Log)
				if Matches(rls, e.Log) {
					hits++
				}
				if e.Flags != 0 {
					t.Errorf("%s: flags %v: %s", rel, e.Flags.Names(), e.Reason)
				}
			}
			if hits >= max(1, tc.MatchCount) {
				matched++
			} else {
				t.Errorf("%s: %d events match rule logsource %+v, want %d; event logsources %+v",
					rel, hits, rls, max(1, tc.MatchCount), logs)
			}
		}
	}
	t.Logf("regression cases: %d of %d (%d events) get the rule's logsource", matched, cases, events)
	if cases < 150 {
		t.Errorf("found %d regression cases, want the ~162 shared ones", cases)
	}
}

// findRule returns the path of the rule file with id under dir's rules*
// folders.
func findRule(t *testing.T, dir, id string) string {
	t.Helper()
	roots, _ := filepath.Glob(filepath.Join(dir, "rules*"))
	for _, root := range roots {
		var found string
		_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil || found != "" || d.IsDir() || !strings.HasSuffix(p, ".yml") {
				return err
			}
			b, err := os.ReadFile(p)
			if err == nil && strings.Contains(string(b), "\nid: "+id+"\n") {
				found = p
			}
			return err
		})
		if found != "" {
			return found
		}
	}
	t.Fatalf("no rule with id %s under %s", id, dir)
	return ""
}

type testInfo struct {
	Type       string `yaml:"type"`
	Path       string `yaml:"path"`
	MatchCount int    `yaml:"match_count"`
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
