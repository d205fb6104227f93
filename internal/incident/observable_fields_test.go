// SPDX-License-Identifier: Apache-2.0

package incident

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/koban-csirt/koban/internal/alert"
	"github.com/koban-csirt/koban/internal/event"
	"github.com/koban-csirt/koban/internal/intake/file"
	"github.com/koban-csirt/koban/internal/normalize"
	"github.com/koban-csirt/koban/internal/shareddata"
)

// An alert's key fields convert one by one.
var _ = AlertField(alert.KV{Name: "SourceIp", Value: "192.0.2.1"})

// fieldList builds alert fields from name, value pairs.
func fieldList(nv ...string) []AlertField {
	var out []AlertField
	for i := 0; i+1 < len(nv); i += 2 {
		out = append(out, AlertField{Name: nv[i], Value: nv[i+1]})
	}
	return out
}

// kvn is an expected observable with the field it came from.
type kvn struct {
	Kind  ObservableKind
	Value string
	Note  string
}

func TestObservableFromAlertFields(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		fields []AlertField
		want   []kvn
	}{
		{"sysmon process creation", fieldList(
			"EventID", "1", "Computer", "WS-FIN-03.corp.example.local", "User", `CORP\taro.yamada`,
			"Image", `C:\Users\taro.yamada\AppData\Local\Temp\upd.exe`,
			"CommandLine", `"C:\Users\taro.yamada\AppData\Local\Temp\upd.exe" -u hxxp://203.0.113.50/gate[.]php`,
			"ParentImage", `C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE`,
			"Hashes", "SHA1=5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8,MD5=0CC175B9C0F1B6A831C399E269772661,SHA256=E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855,IMPHASH=F34D5F2D4577ED6D9CEEC516C1F5A744",
			"md5", "0CC175B9C0F1B6A831C399E269772661", "IntegrityLevel", "Medium"),
			[]kvn{
				{ObservableHost, "ws-fin-03.corp.example.local", "Computer"},
				{ObservableUser, `CORP\taro.yamada`, "User"},
				{ObservableFilename, `C:\Users\taro.yamada\AppData\Local\Temp\upd.exe`, "Image"},
				{ObservableFilename, "upd.exe", "CommandLine"},
				{ObservableURL, "http://203.0.113.50/gate.php", "CommandLine"},
				{ObservableIP, "203.0.113.50", "CommandLine"},
				{ObservableFilename, `C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE`, "ParentImage"},
				{ObservableSHA1, "5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8", "Hashes"},
				{ObservableMD5, "0cc175b9c0f1b6a831c399e269772661", "Hashes"},
				{ObservableSHA256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "Hashes"},
			}},
		{"sysmon network connection", fieldList(
			"EventID", "3", "Computer", "WS01", "SourceIp", "10.0.0.5", "SourceHostname", "WS01",
			"SourcePort", "50123", "DestinationIp", "203.0.113.9", "DestinationHostname", "c2.example.net",
			"DestinationPort", "443"),
			[]kvn{
				{ObservableHost, "ws01", "Computer"},
				{ObservableIP, "10.0.0.5", "SourceIp"},
				{ObservableIP, "203.0.113.9", "DestinationIp"},
				{ObservableDomain, "c2.example.net", "DestinationHostname"},
			}},
		{"sysmon dns query", fieldList(
			"EventID", "22", "QueryName", "evil.example", "QueryResults", "type:  5 cdn.example.net;::ffff:198.51.100.7;",
			"Image", `C:\Windows\System32\svchost.exe`),
			[]kvn{
				{ObservableDomain, "evil.example", "QueryName"},
				{ObservableDomain, "cdn.example.net", "QueryResults"},
				{ObservableIP, "198.51.100.7", "QueryResults"},
				{ObservableFilename, `C:\Windows\System32\svchost.exe`, "Image"},
			}},
		{"security 4625 failed logon", fieldList(
			"EventID", "4625", "Computer", "FS03.offsec.lan", "SubjectUserName", "-", "SubjectDomainName", "-",
			"TargetUserName", "administrator", "TargetDomainName", "OFFSEC", "WorkstationName", "KALI",
			"IpAddress", "198.51.100.20", "IpPort", "0", "ProcessName", "-"),
			[]kvn{
				{ObservableHost, "fs03.offsec.lan", "Computer"},
				{ObservableUser, `OFFSEC\administrator`, "TargetUserName"},
				{ObservableHost, "kali", "WorkstationName"},
				{ObservableIP, "198.51.100.20", "IpAddress"},
			}},
		{"security 4624 built-in accounts", fieldList(
			"EventID", "4624", "SubjectUserName", "WS01$", "SubjectDomainName", "CORP",
			"TargetUserName", "SYSTEM", "TargetDomainName", "NT AUTHORITY", "IpAddress", "::1",
			"User", `Window Manager\DWM-1`),
			[]kvn{
				{ObservableUser, `CORP\WS01$`, "SubjectUserName"},
			}},
		{"proxy log", fieldList(
			"c-ip", "10.0.0.9", "cs-method", "GET", "cs-host", "evil.example", "c-uri", "/gate.php?id=1",
			"cs-username", "taro", "cs-referer", "-"),
			[]kvn{
				{ObservableIP, "10.0.0.9", "c-ip"},
				{ObservableDomain, "evil.example", "cs-host"},
				{ObservableURL, "http://evil.example/gate.php?id=1", "c-uri"},
				{ObservableUser, "taro", "cs-username"},
			}},
		{"zeek http", fieldList(
			"id.orig_h", "10.0.0.7", "id.resp_h", "203.0.113.80", "host", "dl.example.com", "uri", "/x.exe",
			"referrer", "http://portal.example.com/"),
			[]kvn{
				{ObservableIP, "10.0.0.7", "id.orig_h"},
				{ObservableIP, "203.0.113.80", "id.resp_h"},
				{ObservableDomain, "dl.example.com", "host"},
				{ObservableURL, "http://dl.example.com/x.exe", "uri"},
				{ObservableURL, "http://portal.example.com/", "referrer"},
			}},
		{"suricata and e-mail", fieldList(
			"src_ip", "192.0.2.10", "dest_ip", "198.51.100.1", "tls.sni", "login.example.net",
			"from", `"Taro" <taro@evil.example>`, "to", "a@corp.example, b@corp.example; a@corp.example",
			"fileinfo.sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
			[]kvn{
				{ObservableIP, "192.0.2.10", "src_ip"},
				{ObservableIP, "198.51.100.1", "dest_ip"},
				{ObservableDomain, "login.example.net", "tls.sni"},
				{ObservableEmail, "taro@evil.example", "from"},
				{ObservableEmail, "a@corp.example", "to"},
				{ObservableEmail, "b@corp.example", "to"},
				{ObservableSHA256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "fileinfo.sha256"},
			}},
		{"ECS names and other spellings", fieldList(
			"source.ip", "192.0.2.30:51000", "destination.domain", "c2.example.org", "host.name", "LAPTOP-7",
			"user.name", "hanako", "user.domain", "CORP", "process.executable", "/usr/bin/curl",
			"sourceip", "192.0.2.31", "COMPUTER", "Srv-2", "url.full", "https://c2.example.org/a"),
			[]kvn{
				{ObservableIP, "192.0.2.30", "source.ip"},
				{ObservableDomain, "c2.example.org", "destination.domain"},
				{ObservableHost, "laptop-7", "host.name"},
				{ObservableUser, `CORP\hanako`, "user.name"},
				{ObservableFilename, "/usr/bin/curl", "process.executable"},
				{ObservableIP, "192.0.2.31", "sourceip"},
				{ObservableHost, "srv-2", "COMPUTER"},
				{ObservableURL, "https://c2.example.org/a", "url.full"},
			}},
		{"placeholders and junk", fieldList(
			"SourceIp", "-", "DestinationIp", "127.0.0.1", "IpAddress", "0.0.0.0", "QueryName", "N/A",
			"User", "(null)", "Computer", "", "md5", "not-a-hash", "Image", "   ", "Unknown", "192.0.2.99",
			"TargetFilename", "C:\\Temp\\", "Hashes", "IMPHASH=F34D5F2D4577ED6D9CEEC516C1F5A744"),
			nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := FromAlertFields(tc.fields)
			var gotKV []kvn
			for _, o := range got {
				gotKV = append(gotKV, kvn{o.Kind, o.Value, o.Note})
				if o.Source != ObservableSourceAlert || o.IOC {
					t.Errorf("FromAlertFields: %s %q has Source %q, IOC %v; want alert, false", o.Kind, o.Value, o.Source, o.IOC)
				}
				if err := o.Validate(); err != nil {
					t.Errorf("FromAlertFields: %s %q does not validate: %v", o.Kind, o.Value, err)
				}
			}
			if diff := cmp.Diff(tc.want, gotKV); diff != "" {
				t.Errorf("FromAlertFields(%v) (-want +got):\n%s", tc.fields, diff)
			}
		})
	}
}

func TestObservableFromAlertFieldsBounded(t *testing.T) {
	t.Parallel()
	var fields []AlertField
	for i := range 3000 {
		fields = append(fields, AlertField{Name: "DestinationIp", Value: fmt.Sprintf("10.%d.%d.1", i/256, i%256)})
	}
	if got := FromAlertFields(fields); len(got) != MaxExtracted {
		t.Errorf("FromAlertFields(3000 addresses): %d observables, want %d", len(got), MaxExtracted)
	}
}

// obsSink is an event.Sink that normalises events and keeps copies.
type obsSink struct {
	n      *normalize.Normalizer
	events []event.Event
}

func (c *obsSink) Append(_ context.Context, events []event.Event) error {
	for i := range events {
		e := events[i]
		e.Fields = append([]event.Field(nil), e.Fields...)
		c.n.Event(&e)
		c.events = append(c.events, e)
	}
	return nil
}

// TestObservableFromAlertFieldsRealEvents reads real Windows, Zeek and Suricata samples
// through intake and the normaliser, as detection sees them, and checks
// FromAlertFields on every event's fields: each result is canonical, the
// values of fields with one clear meaning are all found (worked out here
// without FromAlertFields' code), and each sample yields the kinds it must.
func TestObservableFromAlertFieldsRealEvents(t *testing.T) {
	t.Parallel()
	tests := []struct {
		rel   string
		kinds []ObservableKind // each must appear at least once
	}{
		{"evtx-attack-samples/Execution/exec_wmic_xsl_internet_sysmon_3_1_11.evtx",
			[]ObservableKind{ObservableHost, ObservableUser, ObservableFilename, ObservableURL, ObservableDomain, ObservableSHA256, ObservableMD5, ObservableSHA1}},
		{"evtx-attack-samples/Command and Control/tunna_iis_rdp_smb_tunneling_sysmon_3.evtx",
			[]ObservableKind{ObservableHost, ObservableIP, ObservableFilename}},
		{"evtx-to-mitre-attack/TA0001-Initial access/T1078-Valid accounts/ID4625-failed login with denied access due to account restriction.evtx",
			[]ObservableKind{ObservableHost, ObservableIP, ObservableUser, ObservableFilename}},
		{"zeek-otrf-apt29/datasets/compound/apt29/day1/zeek/individual_zeek_logs/SCRANTON_http.log",
			[]ObservableKind{ObservableIP, ObservableURL}}, // its Host headers are addresses
		{"zeek-otrf-apt29/datasets/compound/apt29/day1/zeek/individual_zeek_logs/SCRANTON_dns.log",
			[]ObservableKind{ObservableIP, ObservableDomain}},
		{"suricata-eve/surevego/testdata/eve.json",
			[]ObservableKind{ObservableIP, ObservableDomain}},
	}
	for _, tc := range tests {
		t.Run(tc.rel, func(t *testing.T) {
			t.Parallel()
			c := &obsSink{n: normalize.New()}
			if _, err := file.Import(context.Background(), shareddata.Path(t, tc.rel), c, file.Options{}); err != nil {
				t.Fatalf("import %s: %v", tc.rel, err)
			}
			if len(c.events) == 0 {
				t.Fatalf("import %s: no events", tc.rel)
			}
			seenKinds := map[ObservableKind]int{}
			failures := 0
			fail := func(format string, args ...any) {
				if failures++; failures <= 10 {
					t.Errorf(format, args...)
				}
			}
			for i := range c.events {
				var fields []AlertField
				for _, f := range c.events[i].Fields {
					fields = append(fields, AlertField{Name: f.Name(), Value: f.Value})
				}
				got := FromAlertFields(fields)
				have := map[kv]bool{}
				for _, o := range got {
					have[kv{o.Kind, o.Value}] = true
					seenKinds[o.Kind]++
					if err := o.Validate(); err != nil {
						fail("event %d: %s %q from %s does not validate: %v", i, o.Kind, o.Value, o.Note, err)
					}
				}
				for _, w := range plainExpectations(fields) {
					if !have[w] {
						fail("event %d: FromAlertFields lacks %s %q (has %v)", i, w.Kind, w.Value, kinds(got))
					}
				}
			}
			for _, k := range tc.kinds {
				if seenKinds[k] == 0 {
					t.Errorf("%d events gave no %s observable (by kind: %v)", len(c.events), k, seenKinds)
				}
			}
			t.Logf("%d events, observables by kind: %v", len(c.events), seenKinds)
		})
	}
}

// plainExpectations lists what fields with one plain meaning must give:
// Image is a file, Computer a host (lower case), a non-loopback address in
// an address field an ip, a Sysmon SHA256= a sha256.
func plainExpectations(fields []AlertField) []kv {
	var out []kv
	for _, f := range fields {
		v := strings.TrimSpace(f.Value)
		switch f.Name {
		case "Image", "ParentImage", "TargetFilename":
			if v != "" && v != "-" && !strings.HasSuffix(v, `\`) {
				out = append(out, kv{ObservableFilename, v})
			}
		case "Computer":
			if v != "" && !strings.ContainsAny(v, " ,") {
				if a, err := netip.ParseAddr(v); err == nil {
					out = append(out, kv{ObservableIP, a.String()})
				} else {
					out = append(out, kv{ObservableHost, strings.ToLower(strings.TrimSuffix(v, "."))})
				}
			}
		case "SourceIp", "DestinationIp", "IpAddress", "id.orig_h", "id.resp_h", "src_ip", "dest_ip":
			if a, err := netip.ParseAddr(v); err == nil && a.Zone() == "" && !a.IsLoopback() && !a.IsUnspecified() {
				out = append(out, kv{ObservableIP, a.Unmap().String()})
			}
		case "Hashes":
			for _, p := range strings.Split(v, ",") {
				if h, ok := strings.CutPrefix(p, "SHA256="); ok {
					out = append(out, kv{ObservableSHA256, strings.ToLower(h)})
				}
			}
		}
	}
	return out
}
